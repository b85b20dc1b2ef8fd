"""Parameter and input checks; the one place for scikit-learn version shims.

Messages say what was given and what is accepted, in scikit-learn's words
where scikit-learn has words for the same mistake.
"""

import math
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.validation import _check_sample_weight, _get_feature_names

from ._array_api import get_namespace

__all__ = [
    "check_choice",
    "check_int_at_least",
    "check_positive_int",
    "check_positive_real",
    "check_sample_weight",
    "feature_names_of",
    "input_namespace",
]


def check_positive_real(name, value, *, allow_inf=False, allow_none=False):
    """A positive real number (``inf`` only if ``allow_inf``), as float."""
    if value is None and allow_none:
        return None
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
    if valid and math.isinf(value) and not allow_inf:
        valid = False
    if not valid or math.isnan(value):
        accepted = "a positive float" + (" or np.inf" if allow_inf else "")
        accepted += " or None" if allow_none else ""
        raise ValueError(f"The '{name}' parameter must be {accepted}. Got {value!r} instead.")
    return float(value)


def check_positive_int(name, value, *, allow_none=False):
    """A positive integer (not bool), as int."""
    return check_int_at_least(name, value, 1, allow_none=allow_none)


def check_int_at_least(name, value, minimum, *, allow_none=False):
    """An integer (not bool) of at least ``minimum``, as int."""
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        accepted = f"an int >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"The '{name}' parameter must be {accepted}. Got {value!r} instead.")
    return int(value)


def check_choice(name, value, options):
    """One of ``options`` (strings, or also booleans such as ``rebalance``'s)."""
    # Compared by type: `value in options` would take 1 for True and 0 for False.
    known = any(
        (isinstance(option, bool) and isinstance(value, (bool, np.bool_)) and bool(value) is option)
        or (isinstance(option, str) and isinstance(value, str) and value == option)
        for option in options
    )
    if not known:
        raise ValueError(
            f"The '{name}' parameter must be one of {', '.join(map(repr, options))}. "
            f"Got {value!r} instead."
        )
    return value


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
