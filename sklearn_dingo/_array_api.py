"""The one place that asks which array namespace and device arrays live in.

Everything below the estimators is written against the array API standard.
A shard's namespace is found once (here) and passed down; SciPy sparse shards
use NumPy's namespace for their dense companions.
"""

import numpy as np
import scipy.sparse as sp
from array_api_compat import array_namespace, device, is_numpy_namespace
from array_api_compat import numpy as np_compat

from ._compat import move_to_numpy

__all__ = [
    "get_namespace",
    "is_numpy",
    "to_numpy",
    "from_numpy",
    "like_array",
    "device",
    "as_dtype",
]


def get_namespace(*arrays):
    """Array API namespace shared by ``arrays`` (SciPy sparse counts as NumPy).

    ``None`` entries are ignored. Mixing namespaces is a ``TypeError`` raised
    by array-api-compat.
    """
    dense = [a for a in arrays if a is not None and not sp.issparse(a)]
    if not dense:
        return np_compat
    return array_namespace(*dense)


def is_numpy(xp):
    """Whether ``xp`` is NumPy (plain or the compat wrapper)."""
    return is_numpy_namespace(xp)


def to_numpy(x):
    """Host NumPy copy (or view) of an array from any supported namespace and device."""
    if isinstance(x, np.ndarray) or not hasattr(x, "__array_namespace__"):
        return np.asarray(x)
    if type(x).__module__.split(".")[0] == "cupy":  # explicit device-to-host transfer
        return x.get()
    return move_to_numpy(x)


def like_array(x, like):
    """``x`` (of any namespace) in the namespace and on the device of ``like``."""
    xp = get_namespace(like)
    if not is_numpy(xp) and get_namespace(x) is xp:
        return x if device(x) == device(like) else x.to_device(device(like))
    return from_numpy(to_numpy(x), xp, like=like)


def from_numpy(x, xp, like=None):
    """Move a host NumPy array into namespace ``xp`` on the device of ``like``."""
    if is_numpy(xp):
        return np.asarray(x)
    if like is not None:
        return xp.asarray(x, device=device(like))
    return xp.asarray(x)


def as_dtype(xp, x, dtype):
    """``x`` in ``dtype``, converted only when it differs (a block's float32 product)."""
    return x if x.dtype == dtype else xp.astype(x, dtype)
