"""Result type and helpers shared by the Krylov solvers.

The solvers keep every scalar of their recurrences as a Python ``float``
(double precision) and touch arrays only through the array API namespace of
the right-hand side, so that one implementation serves NumPy, CuPy and any
other array API compatible library.
"""

import math
import sys
from dataclasses import dataclass
from typing import Any

from array_api_compat import array_namespace, device

__all__ = ["KrylovResult"]

# Smallest positive normal double: the Python scalars of the recurrences are
# always doubles, whatever the dtype of the vectors.
_REALMIN = sys.float_info.min


@dataclass(frozen=True)
class KrylovResult:
    """Outcome of a Krylov solve.

    Attributes
    ----------
    x : array
        Approximate solution, in the array namespace and on the device of the
        right-hand side.
    n_iter : int
        Number of iterations performed (see each solver for the exact count
        on early exits).
    reason : str
        Named reason for stopping. Each solver documents its set of reasons.
    residual_norm : float
        Norm of the residual of the returned ``x``; each solver states which
        residual (recurred or recomputed, damped or undamped).
    """

    x: Any
    n_iter: int
    reason: str
    residual_norm: float


def _prepare_rhs(b):
    """Return ``(xp, b, eps)`` with ``b`` as a real floating 1-D array.

    Integer and boolean right-hand sides are promoted to float64 because the
    recurrences divide; the machine precision used by the stopping tests is
    that of the working dtype so that float32 inputs do not iterate for
    accuracy they cannot reach.
    """
    xp = array_namespace(b)
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-D vector, got shape {tuple(b.shape)}")
    if xp.isdtype(b.dtype, "complex floating"):
        raise TypeError("complex right-hand sides are not supported")
    if not xp.isdtype(b.dtype, "real floating"):
        b = xp.astype(b, xp.float64)
    eps = float(xp.finfo(b.dtype).eps)
    return xp, b, eps


def _zeros_like_rhs(xp, b, n):
    return xp.zeros(n, dtype=b.dtype, device=device(b))


def _norm(xp, v):
    return float(xp.linalg.vector_norm(v))


def _dot(xp, u, v):
    return float(xp.vecdot(u, v))


def _sym_ortho(a, b):
    """Stable 2x2 reflection ``[c s; s -c] [a; b] = [r; 0]`` with ``r >= 0``.

    This is SymOrtho of Choi, Paige & Saunders (Golub & Van Loan, Alg. 5.1.3
    made robust): it never forms ``a**2 + b**2``, so neither overflows nor
    loses accuracy for badly scaled pairs, and for ``a == b == 0`` it returns
    the identity-like ``c = 1`` instead of dividing by zero.

    Returns
    -------
    c, s, r : float
    """
    abs_a = abs(a)
    abs_b = abs(b)
    if abs_b <= _REALMIN:
        c = 1.0 if a == 0.0 else math.copysign(1.0, a)
        return c, 0.0, abs_a
    if abs_a <= _REALMIN:
        return 0.0, math.copysign(1.0, b), abs_b
    if abs_b > abs_a:
        t = a / b
        s = math.copysign(1.0, b) / math.sqrt(1.0 + t * t)
        c = s * t
        # b / s is more accurate than a / c here because |c| <= |s|.
        return c, s, b / s
    t = b / a
    c = math.copysign(1.0, a) / math.sqrt(1.0 + t * t)
    s = c * t
    return c, s, a / c


def _check_maxiter(maxiter, default):
    if maxiter is None:
        return default
    maxiter = int(maxiter)
    if maxiter < 0:
        raise ValueError(f"maxiter must be non-negative, got {maxiter}")
    return maxiter
