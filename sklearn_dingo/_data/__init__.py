"""Training data in, predictions out: every input kind answers the same few questions.

- :func:`training_data` wraps ``(X, y, sample_weight)`` of any supported
  kind (NumPy, SciPy sparse, array API arrays, Dask arrays and dataframes)
  in an object that gives the features, classes and class weight sums, and
  builds a backend holding the shards (``_training_data``);
- validation helpers shared by the estimators (``_validation``);
- Dask inputs and lazy predictions (``_dask_collections``) and the grouping
  of row chunks into shards (``_dask_layout``): their names are looked up on
  first use, so that in-process use never imports Dask.
"""

from ._training_data import training_data
from ._validation import check_sample_weight, feature_names_of, input_namespace

# Names of the Dask modules, imported on first access (PEP 562).
_DASK_NAMES = {
    "as_dask_features": "_dask_collections",
    "dask_backend_from_arrays": "_dask_collections",
    "map_rows": "_dask_collections",
    "shard_bounds_for_dask_chunks": "_dask_layout",
}

__all__ = [
    "as_dask_features",
    "check_sample_weight",
    "dask_backend_from_arrays",
    "feature_names_of",
    "input_namespace",
    "map_rows",
    "shard_bounds_for_dask_chunks",
    "training_data",
]


def __getattr__(name):
    if name in _DASK_NAMES:
        import importlib

        module = importlib.import_module(f".{_DASK_NAMES[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
