"""Parameter and input checks; the one place for scikit-learn version shims.

Messages say what was given and what is accepted, in scikit-learn's words
where scikit-learn has words for the same mistake.
"""

import math
import numbers

import numpy as np
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "check_choice",
    "check_positive_int",
    "check_positive_real",
    "check_sample_weight",
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
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        accepted = "an int >= 1" + (" or None" if allow_none else "")
        raise ValueError(f"The '{name}' parameter must be {accepted}. Got {value!r} instead.")
    return int(value)


def check_choice(name, value, options):
    """One of ``options``."""
    if not isinstance(value, str) or value not in options:
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
