"""MINRES-QLP (Choi, Paige & Saunders) on the array API."""

import math

from ._result import KrylovResult, _check_maxiter, _dot, _norm, _prepare_rhs, _sym_ortho, _zeros_like_rhs

__all__ = ["minres_qlp"]

# istop codes of the authors' Fortran 90 implementation -> names reported here.
_REASONS = {
    1: "invariant_subspace",
    2: "eigenvector",
    3: "zero_rhs",
    4: "converged",
    5: "converged_eps",
    6: "least_squares",
    7: "least_squares_eps",
    8: "max_iter",
    12: "max_xnorm",
    13: "acondlim",
    14: "singular_or_inconsistent",
}


def _safe_div(a, b):
    return a / b if b != 0.0 else math.inf


def minres_qlp(
    matvec,
    b,
    *,
    rtol=1e-6,
    maxiter=None,
    shift=0.0,
    callback=None,
    maxxnorm=1e7,
    acondlim=1e15,
    trancond=1e7,
):
    """Minimum-norm solution of a symmetric, possibly singular, system.

    MINRES-QLP solves ``(A - shift I) x = b`` for symmetric ``A``. When the
    shifted matrix is singular and the system inconsistent it returns the
    minimum-norm least-squares solution ``pinv(A - shift I) @ b``, which
    MINRES (and ``scipy.sparse.linalg.minres``) does not. The iteration is
    that of the authors' reference implementation [2]_ without
    preconditioner: Lanczos tridiagonalisation ``T_k``, a QR factorisation
    of ``T_k`` by left reflections ``Q_k`` followed by an LQ factorisation of
    the triangular factor by right reflections ``P_k`` (so ``T_k = Q L P``),
    and cheap MINRES updates of ``x`` while ``T_k`` is well conditioned,
    switching permanently to QLP updates once the condition estimate
    reaches ``trancond``. Variable names follow [2]_ so the code can be
    checked against it.

    Parameters
    ----------
    matvec : callable
        ``v -> A @ v`` for a 1-D array ``v`` of the namespace of ``b``;
        ``A`` must be symmetric (it may be indefinite and singular).
    b : array of shape (n,)
        Right-hand side. Its array namespace and device are used throughout.
    rtol : float, default=1e-6
        Relative tolerance. Stop when ``||r|| / (||A|| ||x|| + ||b||) <= rtol``
        (a solution of a compatible system) or when
        ``||A r|| / (||A|| ||r||) <= rtol`` (a least-squares solution of an
        incompatible one), with ``r = b - (A - shift I) x`` and ``||A||``,
        ``||r||``, ``||A r||`` recurred estimates.
    maxiter : int, default=None
        Iteration cap; ``None`` means ``4 * n`` as in [2]_ (finite-precision
        Lanczos may need more than ``n`` steps).
    shift : float, default=0.0
        Solve with ``A - shift I`` in place of ``A``.
    callback : callable, default=None
        Called as ``callback(x)`` after every iteration with the new iterate.
    maxxnorm : float, default=1e7
        Upper bound on ``||x||``: iterations stop with ``"max_xnorm"`` when
        it would be exceeded, which on singular incompatible systems guards
        against the growth of ``x`` along the null space. Clipped at
        ``1/eps``. Raise it when the solution is legitimately large.
    acondlim : float, default=1e15
        Stop when the estimate of ``cond(A - shift I)`` exceeds this (it is
        also capped at ``0.1/eps``).
    trancond : float, default=1e7
        Condition estimate at which MINRES updates give way to QLP updates:
        ``1`` gives pure MINRES-QLP, ``>= acondlim`` pure MINRES.

    Returns
    -------
    result : KrylovResult
        ``residual_norm`` is ``||b - (A - shift I) x||`` recomputed with one
        extra ``matvec`` at exit. ``n_iter`` follows [2]_: it is one less than
        the number of products with ``A`` when the last iteration only served
        to confirm a least-squares, ``max_xnorm`` or ``acondlim`` stop.
        ``reason`` is one of (codes of [2]_ in brackets)

        - ``"zero_rhs"``: ``b == 0``; ``x = 0`` [3].
        - ``"converged"``: ``x`` solves the (possibly singular) compatible
          system to ``rtol`` [4].
        - ``"converged_eps"``: same with ``rtol`` at machine precision [5].
        - ``"least_squares"``: ``x`` is a least-squares solution of an
          incompatible system to ``rtol``; being built in the Krylov space of
          ``b`` with the QLP truncation it is the minimum-norm one [6].
        - ``"least_squares_eps"``: same at machine precision [7].
        - ``"eigenvector"``: ``||A|| ||x|| eps >= ||b||``, i.e. ``x`` is
          numerically a null vector direction [2].
        - ``"max_xnorm"``: ``||x||`` reached ``maxxnorm`` [12].
        - ``"acondlim"``: the condition estimate reached ``acondlim`` [13].
        - ``"singular_or_inconsistent"``: ``T_k`` became numerically singular
          (the system looks singular and inconsistent) before the
          least-squares test was met; ``x`` is the truncated QLP iterate [14].
        - ``"invariant_subspace"``: the Lanczos vector vanished (``beta_{k+1}
          <= eps ||A||``), so the Krylov space is invariant and ``x`` is the
          best it holds [1].
        - ``"max_iter"``: ``maxiter`` iterations were done [8].

    Notes
    -----
    Departures from [2]_, all for scale invariance or robustness: the
    tests for a vanishing ``gamma_k`` and ``beta_{k+1}`` use
    ``eps * ||A||`` rather than an absolute ``eps``; a MINRES step whose
    ``gamma_k`` is that small is taken as a QLP step instead of being
    skipped; machine precision is that of the dtype of ``b``.

    References
    ----------
    .. [1] S.-C. T. Choi, C. C. Paige and M. A. Saunders, "MINRES-QLP: A
       Krylov subspace method for indefinite or singular symmetric systems",
       SIAM J. Sci. Comput. 33(4), 1810-1836, 2011.
       https://doi.org/10.1137/100787921
    .. [2] S.-C. T. Choi and M. A. Saunders, "Algorithm 937: MINRES-QLP for
       symmetric and Hermitian linear equations and least-squares problems",
       ACM Trans. Math. Softw. 40(2), 16:1-16:12, 2014 (Fortran 90
       ``minresqlpModule.f90`` and Matlab ``minresQLP.m``).
       https://doi.org/10.1145/2527267
    .. [3] S.-C. T. Choi, "Iterative methods for singular linear equations and
       least-squares problems", PhD thesis, ICME, Stanford University, 2006.
    """
    xp, b, eps = _prepare_rhs(b)
    n = b.shape[0]
    maxiter = _check_maxiter(maxiter, 4 * n)
    shift = float(shift)
    maxxnorm = min(float(maxxnorm), 1.0 / eps)
    ieps = 0.1 / eps

    beta1 = _norm(xp, b)
    x = _zeros_like_rhs(xp, b, n)
    if beta1 == 0.0:
        return KrylovResult(x, 0, "zero_rhs", 0.0)
    if maxiter == 0:
        return KrylovResult(x, 0, "max_iter", beta1)

    flag0 = 0
    istop = flag0
    itn = 0
    QLPiter = 0
    lastiter = False

    xnorm = 0.0
    xl2norm = 0.0
    Anorm = 0.0
    Acond = 1.0
    relresl = 0.0
    relAresl = 0.0
    xl2 = x

    tau = taul = taul2 = 0.0
    gmin = gminl = 0.0
    beta = 0.0
    betan = beta1
    dltan = 0.0
    eta = etal = etal2 = 0.0
    vepln = veplnl = veplnl2 = 0.0
    eplnn = 0.0
    gama = gamal = gamal2 = gamal3 = 0.0
    phi = beta1
    cr1, sr1 = -1.0, 0.0
    cr2, sr2 = -1.0, 0.0
    cs, sn = -1.0, 0.0
    ul4 = ul3 = ul2 = ul = u = 0.0
    # Quantities carried from the last MINRES step into the first QLP step.
    gamal_QLP = vepln_QLP = gama_QLP = ul_QLP = u_QLP = 0.0
    rnorm = betan
    relres = rnorm / beta1
    t1 = t2 = 2.0  # "not at machine precision" until first computed

    y = b  # beta_k v_k, unnormalised next Lanczos vector
    r1 = b  # beta_{k-1} v_{k-1}
    r2 = b  # beta_k v_k
    w = _zeros_like_rhs(xp, b, n)
    wl = w
    wl2 = w

    while istop == flag0:
        itn += 1

        # Lanczos: beta_{k+1} v_{k+1} = (A - shift I) v_k - alpha_k v_k
        # - beta_k v_{k-1}; r1, r2 hold the previous two unnormalised vectors.
        betal = beta
        beta = betan
        v = y * (1.0 / beta)
        y = matvec(v)
        if shift != 0.0:
            y = y - shift * v
        if itn >= 2:
            y = y - (beta / betal) * r1
        alfa = _dot(xp, v, y)
        y = y - (alfa / beta) * r2
        r1 = r2
        r2 = y
        betan = _norm(xp, y)
        if itn == 1:
            pnorm = math.hypot(alfa, betan)
        else:
            pnorm = math.sqrt(beta * beta + alfa * alfa + betan * betan)
        # Rank tolerance for the diagonal of L_k and for beta_{k+1}.
        small = eps * max(Anorm, pnorm)

        # Apply the previous left reflection Q_{k-1}:
        #   [dlta_k  epln_{k+1}] = [cs  sn] [dbar_k  0         ]
        #   [gbar_k  dbar_{k+1}]   [sn -cs] [alfa_k  beta_{k+1}]
        dbar = dltan
        dlta = cs * dbar + sn * alfa
        epln = eplnn
        gbar = sn * dbar - cs * alfa
        eplnn = sn * betan
        dltan = -cs * betan
        dlta_QLP = dlta

        # Current left reflection Q_k annihilates beta_{k+1}.
        gamal3 = gamal2
        gamal2 = gamal
        gamal = gama
        cs, sn, gama = _sym_ortho(gbar, betan)
        gama_tmp = gama
        taul2 = taul
        taul = tau
        tau = cs * phi
        phi = sn * phi

        # Apply the previous right reflection P_{k-2,k}.
        if itn > 2:
            veplnl2 = veplnl
            etal2 = etal
            etal = eta
            dlta_tmp = sr2 * vepln - cr2 * dlta
            veplnl = cr2 * vepln + sr2 * dlta
            dlta = dlta_tmp
            eta = sr2 * gama
            gama = -cr2 * gama

        # Current right reflection P_{k-1,k}.
        if itn > 1:
            cr1, sr1, gamal = _sym_ortho(gamal, dlta)
            vepln = sr1 * gama
            gama = -cr1 * gama

        # Forward substitution with L_k for the last three components of
        # u = L_k^{-1} Q_k beta1 e1; x = W_k u with orthonormal W_k, hence
        # ||x|| is recurred without touching vectors.
        ul4 = ul3
        ul3 = ul2
        if itn > 2:
            ul2 = (taul2 - etal2 * ul4 - veplnl2 * ul3) / gamal2
        if itn > 1:
            ul = (taul - etal * ul3 - veplnl * ul2) / gamal
        xnorm_tmp = math.sqrt(xl2norm**2 + ul2**2 + ul**2)
        if abs(gama) > small:
            u = (tau - eta * ul2 - vepln * ul) / gama
            # Only cap ||x|| when the problem behaves like a least-squares
            # one; a compatible system may legitimately need a large x.
            likeLS = relAresl < relresl
            if likeLS and math.hypot(xnorm_tmp, u) > maxxnorm:
                u = 0.0
                istop = 12
        else:
            # Numerically singular L_k: dropping u_k is the QLP truncation
            # that keeps x free of the null-space direction.
            u = 0.0
            istop = 14
        xl2norm = math.hypot(xl2norm, ul2)
        xnorm = math.sqrt(xl2norm**2 + ul**2 + u**2)

        if Acond < trancond and istop == flag0 and QLPiter == 0 and gama_tmp > small:
            # MINRES update: w_k = (v_k - epln_k w_{k-2} - dlta_k w_{k-1}) / gamma_k.
            wl2 = wl
            wl = w
            w = (v - epln * wl2 - dlta_QLP * wl) * (1.0 / gama_tmp)
            if xnorm < maxxnorm:
                x = x + tau * w
            else:
                istop = 12
                lastiter = True
        else:
            # MINRES-QLP update: W_k = V_k P_k, x_k = x_{k-2}^(2) + W_k u_k
            # with only the last three columns of W_k and u_k changing.
            QLPiter += 1
            if QLPiter == 1:
                # Switch from MINRES: rebuild the last three QLP directions
                # from the MINRES directions and the stored L entries.
                xl2 = _zeros_like_rhs(xp, b, n)
                if itn > 1:
                    if itn > 3:
                        wl2 = gamal3 * wl2 + veplnl2 * wl + etal * w
                    if itn > 2:
                        wl = gamal_QLP * wl + vepln_QLP * w
                    w = gama_QLP * w
                    xl2 = x - ul_QLP * wl - u_QLP * w

            if itn == 1:
                wl2 = wl
                wl = sr1 * v
                w = -cr1 * v
            elif itn == 2:
                wl2 = wl
                wl = cr1 * w + sr1 * v
                w = sr1 * w - cr1 * v
            else:
                wl2 = wl
                wl = w
                w = sr2 * wl2 - cr2 * v
                wl2 = cr2 * wl2 + sr2 * v
                v = cr1 * wl + sr1 * w
                w = sr1 * wl - cr1 * w
                wl = v
            xl2 = xl2 + ul2 * wl2
            x = xl2 + ul * wl + u * w

        # Next right reflection P_{k-1,k+1} annihilates epln_{k+1}.
        gamal_tmp = gamal
        cr2, sr2, gamal = _sym_ortho(gamal_tmp, eplnn)

        gamal_QLP = gamal_tmp
        vepln_QLP = vepln
        gama_QLP = gama
        ul_QLP = ul
        u_QLP = u

        # Norm and condition estimates from the entries of T_k and L_k.
        abs_gama = abs(gama)
        Anorm = max(Anorm, pnorm, gamal, abs_gama)
        if itn == 1:
            gmin = gama
            gminl = gmin
        else:
            gminl2 = gminl
            gminl = gmin
            gmin = min(gminl2, gamal, abs_gama)
        Acond = _safe_div(Anorm, gmin)
        relresl = relres
        if istop != 14:
            rnorm = phi
        relres = rnorm / (Anorm * xnorm + beta1)
        # ||A r_{k-1}|| = ||r_{k-1}|| ||[gbar_k, dbar_{k+1}]||, known one
        # step late.
        rootl = math.hypot(gbar, dltan)
        relAresl = _safe_div(rootl, Anorm)

        epsx = Anorm * xnorm * eps
        if istop == flag0 or istop == 14:
            t1 = relres
            t2 = relAresl
        if t1 <= eps:
            istop = 5
        elif t2 <= eps:
            istop = 7
        elif relres <= rtol:
            istop = 4
        elif relAresl <= rtol:
            istop = 6
        elif epsx >= beta1:
            istop = 2
        elif xnorm >= maxxnorm:
            istop = 12
        elif Acond >= acondlim or Acond >= ieps:
            istop = 13
        elif itn >= maxiter:
            istop = 8
        elif betan <= eps * Anorm:
            istop = 1

        if callback is not None:
            callback(x)

    if istop in (6, 7, 12, 13):
        lastiter = True
    if lastiter:
        # The stop was decided from quantities of iteration k - 1.
        itn -= 1
    r = b - matvec(x)
    if shift != 0.0:
        r = r + shift * x
    return KrylovResult(x, itn, _REASONS[istop], _norm(xp, r))
