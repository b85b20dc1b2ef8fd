"""Input checks; the one place for scikit-learn shims.

Estimator parameters are checked by scikit-learn's own machinery (each
estimator's ``_parameter_constraints``); inputs here, in scikit-learn's words.
"""


import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.validation import _check_sample_weight, _get_feature_names

from .._array_api import get_namespace

__all__ = [
    "check_sample_weight",
    "feature_names_of",
    "input_namespace",
]


def check_sample_weight(sample_weight, X):
    """Float64 sample weights of X's length: finite, non-negative, not all zero."""
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )


def feature_names_of(X):
    """String column names of X (e.g. a pandas DataFrame) as an array, or None.

    scikit-learn's own rule for ``feature_names_in_``, including its error for
    column names that mix strings and other types.
    """
    return _get_feature_names(X)


def input_namespace(X):
    """The array API namespace X stays in: its own under array API dispatch, else NumPy."""
    if get_config()["array_api_dispatch"] and not sp.issparse(X) and hasattr(X, "__array_namespace__"):
        return get_namespace(X)
    return np
