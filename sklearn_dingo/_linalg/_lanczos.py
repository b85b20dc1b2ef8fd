"""One Lanczos run for both DINGO round-A solves on a symmetric operator.

Round A asks a shard for ``H b``, ``H^† b`` and ``(H² + φ²I)⁻¹ H b``. All three
are functions of H applied to b, so all three live in the Krylov space
``K_k(H, b)``. Running MINRES-QLP for the second and LSMR for the third
costs about ``k_u + 2 k_v`` products with H (LSMR needs H and Hᵀ in every
iteration); one Lanczos run with full reorthogonalisation costs ``k``
products and serves both, because with ``H V_k = V_{k+1} T̄_k`` and
orthonormal ``V``:

    ‖H V_k y − b‖ = ‖T̄_k y − β₁e₁‖,   ‖V_k y‖ = ‖y‖,

so the minimum-norm least-squares solution and the damped least-squares
solution over the Krylov space are those of the small ``(k+1) × k``
problem, obtained from one SVD of ``T̄_k`` per iteration (``k ≤ maxiter`` is
small). Truncating the SVD at ``rcond`` plays the role of MINRES-QLP's rank
revealing in the small space. The first product is ``H b`` itself.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._result import _dot, _norm, _prepare_rhs, _zeros_like_rhs

__all__ = ["LanczosSolves", "lanczos_solves"]


@dataclass(frozen=True)
class LanczosSolves:
    """Outcome of :func:`lanczos_solves`.

    Attributes
    ----------
    hess_b : array
        ``H b`` (the first Lanczos product).
    pinv : array
        Minimum-norm least-squares solution of ``H x = b`` over the Krylov space.
    damped : array
        ``argmin ‖H x − b‖² + damp² ‖x‖²`` over the Krylov space.
    n_iter : int
        Lanczos steps, each one product with H.
    reason : str
        ``"zero_rhs"``, ``"converged"`` (both solutions changed by at most
        ``rtol`` relative in the last step, or ``H x = b`` is solved to
        ``rtol``), ``"invariant_subspace"`` (the Krylov space stopped growing:
        both solutions are exact) or ``"max_iter"``.
    """

    hess_b: Any
    pinv: Any
    damped: Any
    n_iter: int
    reason: str


def lanczos_solves(matvec, b, *, damp, rtol=1e-6, maxiter=None, rcond=None):
    """``H b``, ``H^† b`` and ``(H² + damp² I)⁻¹ H b`` from one Lanczos run.

    Parameters
    ----------
    matvec : callable
        ``v -> H v`` for a symmetric (possibly singular or indefinite) H.
    b : array of shape (n,)
        Right-hand side; its namespace and device are those of the results.
    damp : float
        φ ≥ 0 of the damped problem.
    rtol : float, default=1e-6
        Stop when both solutions change by at most ``rtol`` relative in one
        step, or when ``‖H x − b‖ ≤ rtol ‖b‖`` for the pseudo-inverse solve.
    maxiter : int, optional
        Lanczos steps at most (default ``min(n, 100)``); each keeps one
        vector of size n.
    rcond : float, optional
        Singular values of ``T̄_k`` below ``rcond · max`` count as zero in the
        pseudo-inverse; default ``n`` times the machine epsilon (as
        ``scipy.linalg.pinvh`` for an explicit H).

    Returns
    -------
    LanczosSolves

    References
    ----------
    C. Lanczos, "An iteration method for the solution of the eigenvalue
    problem of linear differential and integral operators", J. Res. Nat. Bur.
    Standards 45 (1950). S.-C. T. Choi, C. C. Paige and M. A. Saunders,
    "MINRES-QLP", SIAM J. Sci. Comput. 33(4), 2011 (the minimum-length
    solution of singular symmetric systems over Krylov spaces).
    """
    xp, b, eps = _prepare_rhs(b)
    n = b.shape[0]
    maxiter = min(n, 100) if maxiter is None else int(maxiter)
    rcond = n * eps if rcond is None else float(rcond)
    beta1 = _norm(xp, b)
    if beta1 == 0.0:
        zero = _zeros_like_rhs(xp, b, n)
        return LanczosSolves(zero, zero, zero, 0, "zero_rhs")

    basis = [b / beta1]
    alphas, betas = [], []
    hess_b = None
    y_pinv = y_damped = np.zeros(0)
    reason = "max_iter"
    for k in range(1, maxiter + 1):
        w = matvec(basis[-1])
        if hess_b is None:
            hess_b = beta1 * w
        alpha = _dot(xp, basis[-1], w)
        # Full reorthogonalisation (twice is enough): keeps V orthonormal so
        # that the small problem's norms are the true ones.
        for _ in range(2):
            for v in basis:
                w = w - _dot(xp, v, w) * v
        beta = _norm(xp, w)
        alphas.append(alpha)
        betas.append(beta)

        T = np.zeros((k + 1, k))
        T[np.arange(k), np.arange(k)] = alphas
        T[np.arange(1, k + 1), np.arange(k)] = betas
        T[np.arange(k - 1), np.arange(1, k)] = betas[:-1]
        U, s, Wt = np.linalg.svd(T, full_matrices=False)
        rhs = beta1 * U[0, :]
        keep = s > rcond * s[0]
        inverse = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
        new_pinv = Wt.T @ (inverse * rhs)
        new_damped = Wt.T @ (s / (s * s + damp * damp) * rhs)

        residual = np.linalg.norm(T @ new_pinv - beta1 * np.eye(k + 1, 1)[:, 0])
        invariant = beta <= eps * max(abs(alpha), s[0])
        moved = max(
            _relative_change(new_pinv, y_pinv),
            _relative_change(new_damped, y_damped),
        )
        y_pinv, y_damped = new_pinv, new_damped
        if invariant:
            reason = "invariant_subspace"
            break
        if residual <= rtol * beta1 or moved <= rtol:
            reason = "converged"
            break
        basis.append(w / beta)

    pinv = _combine(xp, basis, y_pinv, b, n)
    damped = _combine(xp, basis, y_damped, b, n)
    return LanczosSolves(hess_b, pinv, damped, k, reason)


def _relative_change(new, old):
    padded = np.zeros_like(new)
    padded[: old.shape[0]] = old
    scale = np.linalg.norm(new)
    return np.linalg.norm(new - padded) / scale if scale > 0 else 0.0


def _combine(xp, basis, coefficients, b, n):
    x = _zeros_like_rhs(xp, b, n)
    for v, c in zip(basis, coefficients):
        x = x + float(c) * v
    return x
