"""Execution backends: where shards live and how one round trip runs.

- :class:`ShardBackend` (``_base``): the interface the solver talks to;
- :class:`LocalBackend` (``_local``): in-process shards on a thread pool, the
  embedded default, with the row-splitting helpers the training data use;
- :class:`FoldGroup` (``_fold_group``): the folds of a cross-validation as
  backends of their own, sharing the rounds of one real backend;
- ``dask/``: the Dask engine, imported only when a fit or a prediction needs
  it, so that using the package in-process never imports Dask.
"""

import sys

from ._base import RebalanceCost, ShardBackend
from ._fold_group import FoldGroup
from ._local import (
    LocalBackend,
    available_cores,
    even_row_bounds,
    row_indices,
    row_slices,
    shards_and_rows,
    split_rows,
    take_rows,
)

__all__ = [
    "FoldGroup",
    "LocalBackend",
    "RebalanceCost",
    "ShardBackend",
    "available_cores",
    "even_row_bounds",
    "is_dask_input",
    "row_indices",
    "row_slices",
    "shards_and_rows",
    "split_rows",
    "take_rows",
]


def is_dask_input(*objects):
    """Whether any of ``objects`` is a Dask collection (without importing Dask)."""
    if "dask" not in sys.modules:  # nothing can be a Dask collection yet
        return False
    from dask import is_dask_collection

    return any(is_dask_collection(obj) for obj in objects if obj is not None)
