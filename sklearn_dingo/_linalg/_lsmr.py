"""LSMR (Fong & Saunders) on the array API."""

import math

from ._result import (
    KrylovResult,
    _check_maxiter,
    _norm,
    _prepare_rhs,
    _sym_ortho,
    _zeros_like_rhs,
)

__all__ = ["lsmr"]

# istop codes of the reference implementation -> names reported here.
_REASONS = {
    1: "atol_btol",
    2: "least_squares",
    3: "conlim",
    4: "atol_btol_eps",
    5: "least_squares_eps",
    6: "conlim_eps",
    7: "max_iter",
}


def lsmr(
    matvec,
    b,
    *,
    rmatvec=None,
    n=None,
    damp=0.0,
    atol=1e-6,
    btol=1e-6,
    conlim=1e8,
    maxiter=None,
    callback=None,
):
    """Solve ``min ||A x - b||^2 + damp^2 ||x||^2`` by LSMR.

    A port of LSMR with the stopping rules of the authors' code (as in
    ``scipy.sparse.linalg.lsmr``), written against the array API so that it
    runs on the namespace of ``b``. The iteration starts from ``x = 0``, so
    with ``damp = 0`` it converges to the minimum-norm least-squares
    solution ``pinv(A) @ b``.

    Parameters
    ----------
    matvec : callable
        ``v -> A @ v`` for a vector ``v`` of length ``n``, returning a vector
        of length ``m``.
    b : array of shape (m,)
        Right-hand side. Its array namespace and device are used throughout.
    rmatvec : callable, default=None
        ``u -> A.T @ u``. ``None`` means ``A`` is symmetric and ``matvec`` is
        used.
    n : int, default=None
        Number of columns of ``A``. ``None`` means the length of the first
        ``rmatvec`` output (``m`` when ``rmatvec`` is ``None``).
    damp : float, default=0.0
        Tikhonov damping; ``damp > 0`` solves the regularised problem
        ``min ||[A; damp I] x - [b; 0]||``.
    atol, btol : float, default=1e-6
        Stopping tolerances. With ``r = b - A x`` (damped stack when
        ``damp > 0``), iterations stop when
        ``||r|| <= btol ||b|| + atol ||A|| ||x||`` (compatible systems) or
        ``||A^T r|| <= atol ||A|| ||r||`` (least-squares problems). Roughly,
        ``atol`` is the relative error in ``A`` and ``btol`` that in ``b``.
    conlim : float, default=1e8
        Stop when the estimate of ``cond(A)`` (of the damped stack) exceeds
        ``conlim``; ``conlim <= 0`` disables the test.
    maxiter : int, default=None
        Iteration cap; ``None`` means ``min(m, n)``. Ill-conditioned problems
        may need more in floating point.
    callback : callable, default=None
        Called as ``callback(x)`` after every iteration with the new iterate.

    Returns
    -------
    result : KrylovResult
        ``residual_norm`` is ``||b - A x||`` of the *undamped* system,
        recomputed with one extra ``matvec`` at exit (the recurrences only
        estimate the damped residual). ``reason`` is one of

        - ``"zero_rhs"``: ``b == 0``; ``x = 0`` is exact.
        - ``"zero_normal_rhs"``: ``A^T b == 0``; ``x = 0`` is the
          (minimum-norm, and for ``damp > 0`` the only) solution.
        - ``"atol_btol"``: ``x`` solves ``A x = b`` to the ``atol``/``btol``
          test (SciPy ``istop = 1``).
        - ``"least_squares"``: ``x`` solves the least-squares problem to the
          ``atol`` test (``istop = 2``).
        - ``"conlim"``: the condition estimate exceeded ``conlim``
          (``istop = 3``).
        - ``"atol_btol_eps"``, ``"least_squares_eps"``, ``"conlim_eps"``: the
          same three tests with the tolerances at machine precision, i.e.
          the user's tolerances were too small (``istop = 4, 5, 6``).
        - ``"max_iter"``: ``maxiter`` iterations were done (``istop = 7``).

    References
    ----------
    .. [1] D. C.-L. Fong and M. A. Saunders, "LSMR: An iterative algorithm for
       sparse least-squares problems", SIAM J. Sci. Comput. 33(5),
       2950-2971, 2011. https://doi.org/10.1137/10079687X
    """
    xp, b, eps = _prepare_rhs(b)
    m = b.shape[0]
    if rmatvec is None:
        rmatvec = matvec
        if n is None:
            n = m

    normb = _norm(xp, b)
    if normb == 0.0:
        if n is None:
            # Only the adjoint knows the column count; b == 0 is a free probe.
            n = rmatvec(b).shape[0]
        return KrylovResult(_zeros_like_rhs(xp, b, n), 0, "zero_rhs", 0.0)

    # Golub-Kahan start: beta u = b, alpha v = A^T u.
    beta = normb
    u = b * (1.0 / beta)
    v = rmatvec(u)
    if n is None:
        n = v.shape[0]
    elif v.shape[0] != n:
        raise ValueError(f"rmatvec returned length {v.shape[0]}, expected n={n}")
    maxiter = _check_maxiter(maxiter, min(m, n))
    alpha = _norm(xp, v)
    x = _zeros_like_rhs(xp, b, n)
    if alpha == 0.0:
        # A^T b = 0: b is orthogonal to range(A), x = 0 is optimal.
        return KrylovResult(x, 0, "zero_normal_rhs", normb)
    v = v * (1.0 / alpha)

    zetabar = alpha * beta
    alphabar = alpha
    rho = 1.0
    rhobar = 1.0
    cbar = 1.0
    sbar = 0.0

    h = v
    hbar = _zeros_like_rhs(xp, b, n)

    # Quantities of the estimate of ||r||.
    betadd = beta
    betad = 0.0
    rhodold = 1.0
    tautildeold = 0.0
    thetatilde = 0.0
    zeta = 0.0
    d = 0.0

    # Quantities of the estimates of ||A|| and cond(A).
    normA2 = alpha * alpha
    maxrbar = 0.0
    minrbar = 1e100
    ctol = 1.0 / conlim if conlim > 0 else 0.0

    itn = 0
    istop = 0
    while itn < maxiter:
        itn += 1

        # Next step of the bidiagonalisation:
        #   beta u = A v - alpha u,   alpha v = A^T u - beta v.
        u = matvec(v) - alpha * u
        beta = _norm(xp, u)
        if beta > 0.0:
            u = u * (1.0 / beta)
            v = rmatvec(u) - beta * v
            alpha = _norm(xp, v)
            if alpha > 0.0:
                v = v * (1.0 / alpha)

        # Rotation Qhat_{k,2k+1} folds the damping row into the bidiagonal.
        chat, shat, alphahat = _sym_ortho(alphabar, damp)

        # Rotation Q_i turns B_i into R_i.
        rhoold = rho
        c, s, rho = _sym_ortho(alphahat, beta)
        thetanew = s * alpha
        alphabar = c * alpha

        # Rotation Qbar_i turns R_i^T into Rbar_i.
        rhobarold = rhobar
        zetaold = zeta
        thetabar = sbar * rho
        rhotemp = cbar * rho
        cbar, sbar, rhobar = _sym_ortho(cbar * rho, thetanew)
        zeta = cbar * zetabar
        zetabar = -sbar * zetabar

        # Update hbar, x, h.
        hbar = h - (thetabar * rho / (rhoold * rhobarold)) * hbar
        x = x + (zeta / (rho * rhobar)) * hbar
        h = v - (thetanew / rho) * h

        # Estimate ||r|| of the damped problem from the rotations alone.
        betaacute = chat * betadd
        betacheck = -shat * betadd
        betahat = c * betaacute
        betadd = -s * betaacute

        thetatildeold = thetatilde
        ctildeold, stildeold, rhotildeold = _sym_ortho(rhodold, thetabar)
        thetatilde = stildeold * rhobar
        rhodold = ctildeold * rhobar
        betad = -stildeold * betad + ctildeold * betahat

        tautildeold = (zetaold - thetatildeold * tautildeold) / rhotildeold
        taud = (zeta - thetatilde * tautildeold) / rhodold
        d = d + betacheck * betacheck
        normr = math.sqrt(d + (betad - taud) ** 2 + betadd * betadd)

        # Estimate ||A|| (Frobenius norm of the bidiagonal so far).
        normA2 = normA2 + beta * beta
        normA = math.sqrt(normA2)
        normA2 = normA2 + alpha * alpha

        # Estimate cond(A) from the diagonal of Rbar.
        maxrbar = max(maxrbar, rhobarold)
        if itn > 1:
            minrbar = min(minrbar, rhobarold)
        minr = min(minrbar, rhotemp)
        condA = max(maxrbar, rhotemp) / minr if minr > 0.0 else math.inf

        normar = abs(zetabar)
        normx = _norm(xp, x)

        test1 = normr / normb
        test2 = normar / (normA * normr) if normA * normr != 0.0 else math.inf
        test3 = 1.0 / condA
        t1 = test1 / (1.0 + normA * normx / normb)
        rtol = btol + atol * normA * normx / normb

        # Later tests take precedence, as in the reference code. The eps
        # variants guard against tolerances set below machine precision.
        if itn >= maxiter:
            istop = 7
        if test3 <= eps:
            istop = 6
        if test2 <= eps:
            istop = 5
        if t1 <= eps:
            istop = 4
        if test3 <= ctol:
            istop = 3
        if test2 <= atol:
            istop = 2
        if test1 <= rtol:
            istop = 1

        if callback is not None:
            callback(x)
        if istop > 0:
            break

    if istop == 0:
        # Only reachable with maxiter == 0.
        istop = 7
    residual_norm = _norm(xp, b - matvec(x))
    return KrylovResult(x, itn, _REASONS[istop], residual_norm)
