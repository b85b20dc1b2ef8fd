"""Tests of the array API Krylov solvers in ``sklearn_dingo._linalg``."""

import dataclasses
import functools

import numpy as np
import pytest
from array_api_compat import array_namespace

from _references import MINRES_QLP_PINV_ERR
from sklearn_dingo._linalg import KrylovResult, cg, lsmr, minres_qlp


def _to_numpy(x):
    return np.asarray(x)


def _rel_err(x, ref):
    return np.linalg.norm(_to_numpy(x) - ref) / np.linalg.norm(ref)


def _assert_same_namespace(result, b):
    assert isinstance(result, KrylovResult)
    assert array_namespace(result.x) is array_namespace(b)
    assert result.x.ndim == 1


# --------------------------------------------------------------------------
# Problem table, in the spirit of SciPy's _isolve/tests/test_iterative.py:
# each case is built once (cached) and handed out as copies.


def _symmetric(n, rank, lo, hi, n_neg, seed):
    """Symmetric A with ``rank`` eigenvalues ``+-logspace(lo, hi)``.

    Returns A, an orthonormal basis of its null space and the generator.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    signs = np.ones(rank)
    signs[rng.permutation(rank)[:n_neg]] = -1.0
    lam = np.concatenate([signs * np.logspace(lo, hi, rank), np.zeros(n - rank)])
    A = (Q * lam) @ Q.T
    return (A + A.T) / 2, Q[:, rank:], rng


def _rectangular(m, n, rank, lo, hi, rng):
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (U[:, :rank] * np.logspace(lo, hi, rank)) @ V[:, :rank].T


@functools.cache
def _symmetric_case(name):
    if name == "spd":
        A, N, rng = _symmetric(30, 30, -1, 1, 0, seed=1)
        b = rng.standard_normal(30)
    elif name == "sym_indefinite":
        A, N, rng = _symmetric(30, 30, -1, 1, 10, seed=2)
        b = rng.standard_normal(30)
    elif name == "singular_consistent":
        A, N, rng = _symmetric(40, 30, -2, 1, 10, seed=0)
        rng.standard_normal(40)
        b = A @ rng.standard_normal(40)
    elif name == "singular_inconsistent":
        # Same matrix, b with a sizeable null-space component.
        A, N, rng = _symmetric(40, 30, -2, 1, 10, seed=0)
        b = rng.standard_normal(40)
        assert np.linalg.norm(N.T @ b) > 0.3 * np.linalg.norm(b)
    else:
        raise KeyError(name)
    x_ref = np.linalg.pinv(A) @ b
    return A, b, x_ref, N


def symmetric_case(name):
    return tuple(a.copy() for a in _symmetric_case(name))


@functools.cache
def _rectangular_case(name):
    rng = np.random.default_rng(10)
    if name == "overdetermined":
        A = _rectangular(60, 20, 20, -1, 1, rng)
    elif name == "underdetermined":
        A = _rectangular(20, 60, 20, -1, 1, rng)
    elif name == "rank_deficient":
        A = _rectangular(50, 30, 20, -1, 1, rng)
    else:
        raise KeyError(name)
    b = rng.standard_normal(A.shape[0])
    x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    return A, b, x_ref


def rectangular_case(name):
    return tuple(a.copy() for a in _rectangular_case(name))


SYMMETRIC_CASES = ["spd", "sym_indefinite", "singular_consistent", "singular_inconsistent"]


def test_problem_table_returns_copies():
    A, b, _, _ = symmetric_case("spd")
    A[0, 0] = 1e6
    b[0] = 1e6
    A2, b2, _, _ = symmetric_case("spd")
    assert A2[0, 0] != 1e6 and b2[0] != 1e6


# --------------------------------------------------------------------------
# MINRES-QLP



@pytest.mark.parametrize("case", SYMMETRIC_CASES)
def test_minres_qlp_matches_pinv(xp, case):
    A_np, b_np, x_ref, _ = symmetric_case(case)
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    # An incompatible system is solved in the least-squares sense, whose
    # relative test cannot be pushed far below 1e-8; compatible ones converge
    # like MINRES (measured error at most 1.1e-10 over 100 seeds per case).
    rtol = 1e-8 if case == "singular_inconsistent" else 1e-12
    res = minres_qlp(lambda v: A @ v, b, rtol=rtol)
    _assert_same_namespace(res, b)
    if case == "singular_inconsistent":
        assert res.reason in ("least_squares", "least_squares_eps", "max_xnorm")
        assert _rel_err(res.x, x_ref) < MINRES_QLP_PINV_ERR
    else:
        assert res.reason in ("converged", "converged_eps")
        assert _rel_err(res.x, x_ref) < 1e-8
    x = _to_numpy(res.x)
    assert res.residual_norm == pytest.approx(np.linalg.norm(b_np - A_np @ x), rel=1e-10, abs=1e-12)


def test_minres_qlp_least_squares_properties(xp):
    A_np, b_np, x_ref, N = symmetric_case("singular_inconsistent")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-7)
    # Both return a truncated iterate; 1 seed in 100 of this family ends on
    # the norm cap instead of the least-squares test.
    assert res.reason in ("least_squares", "max_xnorm")
    x = _to_numpy(res.x)
    r = b_np - A_np @ x
    A_norm = np.linalg.norm(A_np, 2)
    # A least-squares solution: A r ~ 0 while r itself stays at ||P_N b||.
    # Measured over 100 seeds: ||A r|| / (||A|| ||r||) <= 1.4e-7, relative
    # deviation of ||r|| <= 5e-12, null-space part of x <= 3.3e-12 ||x||.
    assert np.linalg.norm(A_np @ r) <= 2e-5 * A_norm * np.linalg.norm(r)
    assert np.linalg.norm(r) == pytest.approx(np.linalg.norm(N.T @ b_np), rel=1e-6)
    # The minimum-norm one: no component in the null space. The error left
    # lies in range(A) and is bounded as in test_minres_qlp_matches_pinv.
    assert np.linalg.norm(N.T @ x) <= 1e-9 * np.linalg.norm(x)
    assert _rel_err(res.x, x_ref) < MINRES_QLP_PINV_ERR


def test_minres_qlp_consistent_singular_stays_in_range(xp):
    A_np, b_np, _, N = symmetric_case("singular_consistent")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-10)
    x = _to_numpy(res.x)
    # Measured over 100 seeds: null-space part <= 1.2e-13 ||x||, residual
    # <= 4.7e-10 ||b|| (the test is relative to ||A|| ||x|| + ||b||).
    assert np.linalg.norm(N.T @ x) <= 1e-10 * np.linalg.norm(x)
    assert res.residual_norm <= 1e-7 * np.linalg.norm(b_np)


def test_minres_qlp_max_iter_on_incompatible_returns_truncated_iterate(xp):
    # Out of iterations before any other stop (rtol below eps, no norm cap to
    # speak of): the untruncated iterate has grown along the null space
    # (relative error >= 0.11 over 100 seeds), the truncated one has not
    # (null-space part <= 1.6e-10 ||x||, error <= 9e-6 over the same seeds).
    A_np, b_np, x_ref, N = symmetric_case("singular_inconsistent")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-15, maxiter=60, maxxnorm=1e15)
    assert (res.reason, res.n_iter) == ("max_iter", 60)
    x = _to_numpy(res.x)
    assert np.linalg.norm(N.T @ x) <= 1e-7 * np.linalg.norm(x)
    assert _rel_err(res.x, x_ref) < 1e-3
    assert res.residual_norm == pytest.approx(np.linalg.norm(b_np - A_np @ x), rel=1e-10)


def test_minres_qlp_exact_singular_diagonal(xp):
    # The Krylov space becomes invariant at the singular step: the truncated
    # iterate is exactly pinv(A) b.
    A = xp.asarray(np.diag([1.0, 2.0, 3.0, 0.0]))
    b = xp.asarray([1.0, 2.0, 3.0, 4.0])
    res = minres_qlp(lambda v: A @ v, b)
    assert res.reason == "least_squares"
    np.testing.assert_allclose(_to_numpy(res.x), [1.0, 1.0, 1.0, 0.0], atol=1e-12)
    assert res.residual_norm == pytest.approx(4.0)


def test_minres_qlp_shift(xp):
    A_np, b_np, _, _ = symmetric_case("sym_indefinite")
    shift = 0.37
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-12, shift=shift)
    x_ref = np.linalg.solve(A_np - shift * np.eye(A_np.shape[0]), b_np)
    assert res.reason in ("converged", "converged_eps")
    assert _rel_err(res.x, x_ref) < 1e-8


def test_minres_qlp_shift_to_singular(xp):
    # Shifting by an eigenvalue makes the system singular and incompatible.
    A_np, b_np, _, _ = symmetric_case("sym_indefinite")
    lam = np.linalg.eigvalsh(A_np)
    shift = float(lam[7])
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-8, shift=shift)
    M = A_np - shift * np.eye(A_np.shape[0])
    x_ref = np.linalg.pinv(M, rcond=1e-10) @ b_np
    # Incompatible: the floor of test_minres_qlp_matches_pinv applies
    # (measured over 100 seeds of this family: median 1e-9, maximum 6.4e-8).
    assert _rel_err(res.x, x_ref) < MINRES_QLP_PINV_ERR


def test_minres_qlp_pure_minres_and_pure_qlp_agree(xp):
    A_np, b_np, x_ref, _ = symmetric_case("sym_indefinite")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    for trancond in (1.0, 1e15):
        res = minres_qlp(lambda v: A @ v, b, rtol=1e-12, trancond=trancond)
        assert _rel_err(res.x, x_ref) < 1e-8


def test_minres_qlp_zero_rhs_and_maxiter(xp):
    A_np, b_np, _, _ = symmetric_case("spd")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = minres_qlp(lambda v: A @ v, xp.zeros(b.shape[0], dtype=b.dtype))
    assert (res.reason, res.n_iter, res.residual_norm) == ("zero_rhs", 0, 0.0)
    assert np.all(_to_numpy(res.x) == 0.0)
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-14, maxiter=3)
    assert res.reason == "max_iter" and res.n_iter == 3


def test_minres_qlp_callback(xp):
    A_np, b_np, _, _ = symmetric_case("spd")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    seen = []
    res = minres_qlp(lambda v: A @ v, b, rtol=1e-8, callback=seen.append)
    assert len(seen) == res.n_iter
    assert all(array_namespace(x) is array_namespace(b) for x in seen)


# --------------------------------------------------------------------------
# LSMR


@pytest.mark.parametrize("case", ["overdetermined", "underdetermined", "rank_deficient"])
def test_lsmr_matches_lstsq(xp, case):
    A_np, b_np, x_ref = rectangular_case(case)
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = lsmr(
        lambda v: A @ v,
        b,
        rmatvec=lambda u: A.T @ u,
        atol=1e-12,
        btol=1e-12,
        maxiter=10 * A_np.shape[1],
    )
    _assert_same_namespace(res, b)
    assert res.x.shape == (A_np.shape[1],)
    assert res.reason in ("atol_btol", "least_squares")
    assert _rel_err(res.x, x_ref) < 1e-9
    x = _to_numpy(res.x)
    assert res.residual_norm == pytest.approx(np.linalg.norm(b_np - A_np @ x), rel=1e-10)


def test_lsmr_damped_matches_regularised_normal_equations(xp):
    A_np, b_np, _ = rectangular_case("rank_deficient")
    damp = 0.3
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = lsmr(
        lambda v: A @ v,
        b,
        rmatvec=lambda u: A.T @ u,
        damp=damp,
        atol=1e-12,
        btol=1e-12,
        maxiter=300,
    )
    n = A_np.shape[1]
    x_ref = np.linalg.solve(A_np.T @ A_np + damp**2 * np.eye(n), A_np.T @ b_np)
    assert _rel_err(res.x, x_ref) < 1e-9
    # residual_norm is that of the undamped system.
    x = _to_numpy(res.x)
    assert res.residual_norm == pytest.approx(np.linalg.norm(b_np - A_np @ x), rel=1e-10)


def test_lsmr_symmetric_default_rmatvec_gives_pinv(xp):
    A_np, b_np, x_ref, _ = symmetric_case("singular_inconsistent")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = lsmr(lambda v: A @ v, b, atol=1e-12, btol=1e-12, maxiter=400)
    assert res.reason == "least_squares"
    assert _rel_err(res.x, x_ref) < 1e-9


def test_lsmr_stop_reasons(xp):
    A_np, b_np, _ = rectangular_case("overdetermined")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    matvec, rmatvec = (lambda v: A @ v), (lambda u: A.T @ u)
    res = lsmr(matvec, b, rmatvec=rmatvec, maxiter=3)
    assert (res.reason, res.n_iter) == ("max_iter", 3)
    zero = xp.zeros(A_np.shape[0], dtype=b.dtype)
    res = lsmr(matvec, zero, rmatvec=rmatvec)
    assert res.reason == "zero_rhs" and res.x.shape == (A_np.shape[1],)
    # b orthogonal to range(A): x = 0 is the least-squares solution.
    E = xp.asarray([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    res = lsmr(lambda v: E @ v, xp.asarray([0.0, 0.0, 3.0]), rmatvec=lambda u: E.T @ u)
    assert (res.reason, res.n_iter, res.residual_norm) == ("zero_normal_rhs", 0, 3.0)
    assert res.x.shape == (2,) and np.all(_to_numpy(res.x) == 0.0)
    # Consistent system: stops on the compatible-system test.
    x_true = np.linspace(-1.0, 1.0, A_np.shape[1])
    b_consistent = xp.asarray(A_np @ x_true)
    res = lsmr(matvec, b_consistent, rmatvec=rmatvec, atol=1e-10, btol=1e-10, maxiter=200)
    assert res.reason == "atol_btol"
    assert _rel_err(res.x, x_true) < 1e-8


# --------------------------------------------------------------------------
# CG


def test_cg_matches_solve(xp):
    A_np, b_np, x_ref, _ = symmetric_case("spd")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = cg(lambda v: A @ v, b, rtol=1e-12)
    _assert_same_namespace(res, b)
    assert res.reason == "converged"
    assert _rel_err(res.x, np.linalg.solve(A_np, b_np)) < 1e-10
    assert res.residual_norm <= 1e-12 * np.linalg.norm(b_np) * 1.0001


def test_cg_x0_and_callback(xp):
    A_np, b_np, x_ref, _ = symmetric_case("spd")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    seen = []
    res = cg(lambda v: A @ v, b, x0=xp.asarray(x_ref), rtol=1e-8, callback=seen.append)
    assert res.reason == "converged" and res.n_iter == 0 and seen == []
    x0 = xp.asarray(x_ref + 1e-3)
    res = cg(lambda v: A @ v, b, x0=x0, rtol=1e-10, callback=seen.append)
    assert res.reason == "converged" and len(seen) == res.n_iter > 0
    assert _rel_err(res.x, x_ref) < 1e-8


def test_cg_non_positive_curvature(xp):
    A_np, b_np, _, _ = symmetric_case("sym_indefinite")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = cg(lambda v: A @ v, b, rtol=1e-12)
    assert res.reason == "non_positive_curvature"
    assert np.all(np.isfinite(_to_numpy(res.x)))
    assert np.isfinite(res.residual_norm)
    # Negative definite from the first direction on: the start is returned.
    res = cg(lambda v: -(A @ (A @ v)), b)
    assert (res.reason, res.n_iter) == ("non_positive_curvature", 0)
    assert np.all(_to_numpy(res.x) == 0.0)


def test_cg_max_iter_and_zero_rhs(xp):
    A_np, b_np, _, _ = symmetric_case("spd")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = cg(lambda v: A @ v, b, rtol=1e-14, maxiter=4)
    assert (res.reason, res.n_iter) == ("max_iter", 4)
    assert np.isfinite(res.residual_norm) and res.residual_norm > 0
    res = cg(lambda v: A @ v, xp.zeros(b.shape[0], dtype=b.dtype))
    assert (res.reason, res.n_iter, res.residual_norm) == ("zero_rhs", 0, 0.0)


def test_cg_atol(xp):
    A_np, b_np, _, _ = symmetric_case("spd")
    A, b = xp.asarray(A_np), xp.asarray(b_np)
    res = cg(lambda v: A @ v, b, rtol=0.0, atol=1e-3)
    assert res.reason == "converged" and res.residual_norm <= 1e-3


# --------------------------------------------------------------------------
# Common behaviour


def test_result_is_frozen():
    res = KrylovResult(x=np.zeros(2), n_iter=0, reason="zero_rhs", residual_norm=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_iter = 1


@pytest.mark.parametrize("solver", ["cg", "lsmr", "minres_qlp"])
def test_float32_stays_float32(xp, solver):
    A_np, b_np, x_ref, _ = symmetric_case("spd")
    A = xp.asarray(A_np.astype(np.float32))
    b = xp.asarray(b_np.astype(np.float32))
    matvec = lambda v: A @ v  # noqa: E731
    if solver == "cg":
        res = cg(matvec, b, rtol=1e-5)
    elif solver == "lsmr":
        res = lsmr(matvec, b, atol=1e-6, btol=1e-6, maxiter=200)
    else:
        res = minres_qlp(matvec, b, rtol=1e-5)
    assert res.x.dtype == xp.float32
    assert _rel_err(res.x, x_ref) < 1e-3


def test_rejects_non_vector_rhs():
    with pytest.raises(ValueError):
        cg(lambda v: v, np.ones((2, 2)))
