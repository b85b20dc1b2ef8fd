"""Conjugate gradients on the array API."""

import math

from array_api_compat import device

from ._result import (
    KrylovResult,
    _check_maxiter,
    _dot,
    _norm,
    _prepare_rhs,
    _zeros_like_rhs,
)

__all__ = ["cg"]


def cg(matvec, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, callback=None):
    """Solve ``A x = b`` for symmetric positive (semi)definite ``A`` by CG.

    Parameters
    ----------
    matvec : callable
        ``v -> A @ v`` for a 1-D array ``v`` of the namespace of ``b``.
        ``A`` must be symmetric positive definite, or positive semidefinite
        with ``b`` in its range.
    b : array of shape (n,)
        Right-hand side. Its array namespace and device are used throughout.
    x0 : array of shape (n,), default=None
        Starting point; ``None`` means the zero vector.
    rtol : float, default=1e-5
        Relative tolerance: stop when ``||r|| <= max(rtol * ||b||, atol)``.
    atol : float, default=0.0
        Absolute tolerance of the same test.
    maxiter : int, default=None
        Iteration cap; ``None`` means ``10 * n``.
    callback : callable, default=None
        Called as ``callback(x)`` after every iteration with the new iterate.

    Returns
    -------
    result : KrylovResult
        ``residual_norm`` is the recursively updated ``||b - A x||`` (equal to
        the true residual in exact arithmetic; recomputing it would cost an
        extra product with ``A``). ``reason`` is one of

        - ``"zero_rhs"``: ``b == 0``; ``x`` is the zero vector.
        - ``"converged"``: the residual test above holds.
        - ``"non_positive_curvature"``: a search direction with
          ``p^T A p <= 0`` was met, so ``A`` is not positive definite (or is
          semidefinite and rounding exposed its null space); ``x`` is the last
          iterate before that direction and ``n_iter`` the iterations done.
        - ``"breakdown"``: ``p^T A p`` is not finite; ``x`` is the last
          finite iterate.
        - ``"max_iter"``: ``maxiter`` iterations were done; ``x`` is the last
          iterate.

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for
       solving linear systems", J. Res. Nat. Bur. Standards 49(6), 409-436,
       1952.
    """
    xp, b, _ = _prepare_rhs(b)
    n = b.shape[0]
    maxiter = _check_maxiter(maxiter, 10 * n)

    bnorm = _norm(xp, b)
    if bnorm == 0.0:
        # Any x0 would be worse than the exact answer.
        return KrylovResult(_zeros_like_rhs(xp, b, n), 0, "zero_rhs", 0.0)

    if x0 is None:
        x = _zeros_like_rhs(xp, b, n)
        r = b
    else:
        x = xp.astype(xp.asarray(x0, device=device(b)), b.dtype)
        r = b - matvec(x)

    rho = _dot(xp, r, r)
    rnorm = math.sqrt(rho)
    tol = max(rtol * bnorm, atol)
    if rnorm <= tol:
        return KrylovResult(x, 0, "converged", rnorm)

    p = r
    for k in range(1, maxiter + 1):
        q = matvec(p)
        pAp = _dot(xp, p, q)
        if not math.isfinite(pAp):
            return KrylovResult(x, k - 1, "breakdown", rnorm)
        if pAp <= 0.0:
            return KrylovResult(x, k - 1, "non_positive_curvature", rnorm)
        alpha = rho / pAp
        x = x + alpha * p
        r = r - alpha * q
        rho_new = _dot(xp, r, r)
        rnorm = math.sqrt(rho_new)
        if callback is not None:
            callback(x)
        if rnorm <= tol:
            return KrylovResult(x, k, "converged", rnorm)
        p = r + (rho_new / rho) * p
        rho = rho_new
    return KrylovResult(x, maxiter, "max_iter", rnorm)
