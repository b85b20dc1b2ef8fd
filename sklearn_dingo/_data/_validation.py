"""Input checks, in scikit-learn's words.

Estimator parameters are checked by scikit-learn's own machinery (each
estimator's ``_parameter_constraints``); inputs here. The scikit-learn
helpers behind them are private: they are reached through :mod:`.._compat`.
"""


import numpy as np
import scipy.sparse as sp
from sklearn import get_config

from .._array_api import get_namespace
from .._compat import check_sample_weight, feature_names_of

__all__ = [
    "check_sample_weight",
    "feature_names_of",
    "input_namespace",
]


def input_namespace(X):
    """The array API namespace X stays in: its own under array API dispatch, else NumPy."""
    if get_config()["array_api_dispatch"] and not sp.issparse(X) and hasattr(X, "__array_namespace__"):
        return get_namespace(X)
    return np
