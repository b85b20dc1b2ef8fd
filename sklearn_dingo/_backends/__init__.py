"""Execution backends: where shards live and how one round trip runs.

The Dask backend (``_dask``) is imported only when a fit or a prediction
needs it, so that using the package in-process never imports Dask.
"""

import sys

from ._base import ShardBackend
from ._local import LocalBackend, even_row_bounds, split_rows

__all__ = ["LocalBackend", "ShardBackend", "even_row_bounds", "is_dask_input", "split_rows"]


def is_dask_input(*objects):
    """Whether any of ``objects`` is a Dask collection (without importing Dask)."""
    if "dask" not in sys.modules:  # nothing can be a Dask collection yet
        return False
    from dask import is_dask_collection

    return any(is_dask_collection(obj) for obj in objects if obj is not None)
