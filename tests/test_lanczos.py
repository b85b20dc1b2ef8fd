"""lanczos_solves: H b, H^† b and (H² + φ²I)⁻¹ H b from one run, against dense algebra."""

import functools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from _references import MINRES_QLP_PINV_ERR
from sklearn_dingo._linalg import lanczos_solves, lsmr, minres_qlp

PHI = 1e-3


@functools.lru_cache
def _spectral_problem(kind, seed=0, n=40):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = {
        "spd": np.logspace(-3, 1, n),
        "indefinite": np.linspace(-2.0, 3.0, n) + 0.013,
        "singular": np.r_[np.zeros(10), np.logspace(-2, 1, n - 10)],
        "near_singular_pd": np.r_[np.full(5, 1e-8), np.logspace(-3, 1, n - 5)],
    }[kind]
    return Q, lam


def _dense(kind, rhs):
    """A = Q Λ Qᵀ and the reference solutions computed from the exact spectrum."""
    Q, lam = _spectral_problem(kind)
    A = (Q * lam) @ Q.T
    A = (A + A.T) / 2
    c = Q.T @ rhs
    pinv = Q @ (np.where(lam != 0, 1.0 / np.where(lam != 0, lam, 1.0), 0.0) * c)
    damped = Q @ (lam / (lam**2 + PHI**2) * c)
    return A, pinv, damped


def _rhs(kind, consistent, seed=1):
    Q, lam = _spectral_problem(kind)
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(Q.shape[0])
    if consistent:
        b = (Q * (lam != 0)) @ (Q.T @ b)  # project onto the range
    return b


CASES = [
    ("spd", True),
    ("indefinite", True),
    ("singular", True),
    ("singular", False),  # inconsistent: b has a null-space component
    ("near_singular_pd", True),
]


@pytest.mark.parametrize("kind, consistent", CASES)
def test_matches_dense_spectral_solutions(xp, kind, consistent):
    b = _rhs(kind, consistent)
    A, pinv_ref, damped_ref = _dense(kind, b)
    A_xp = xp.asarray(A)
    result = lanczos_solves(lambda v: A_xp @ v, xp.asarray(b), damp=PHI, rtol=1e-12, maxiter=80)
    assert result.reason in ("converged", "invariant_subspace")
    assert_allclose(np.asarray(result.hess_b), A @ b, rtol=1e-12, atol=1e-12)
    assert np.linalg.norm(np.asarray(result.pinv) - pinv_ref) <= 1e-7 * np.linalg.norm(pinv_ref)
    assert np.linalg.norm(np.asarray(result.damped) - damped_ref) <= 1e-7 * np.linalg.norm(damped_ref)
    assert type(result.pinv) is type(xp.asarray(b))


# Not "near_singular_pd": there ‖H^† b‖ ~ 1e8 exceeds MINRES-QLP's default
# bound on ‖x‖ (maxxnorm = 1e7), where it stops by design; the dense
# comparison above covers that case.
@pytest.mark.parametrize("kind, consistent", CASES[:4])
def test_agrees_with_minres_qlp_and_lsmr(kind, consistent):
    """The one-run solutions are the ones the separate solvers converge to."""
    b = _rhs(kind, consistent, seed=5)
    A, _, _ = _dense(kind, b)
    matvec = functools.partial(np.dot, A)
    joint = lanczos_solves(matvec, b, damp=PHI, rtol=1e-12, maxiter=80)
    u = minres_qlp(matvec, b, rtol=1e-12, maxiter=400).x
    v = lsmr(matvec, b, damp=PHI, atol=1e-14, btol=1e-14, maxiter=4000).x
    # MINRES-QLP's own error floor on singular systems (_references.py: up to
    # 2.8e-7 relative to pinv over 100 seeds) bounds the agreement; LSMR
    # solves the damped problem to ~1e-13.
    assert np.linalg.norm(joint.pinv - u) <= MINRES_QLP_PINV_ERR * np.linalg.norm(u)
    assert np.linalg.norm(joint.damped - v) <= 1e-8 * np.linalg.norm(v)


def test_one_product_per_step_and_iteration_cap():
    A, _, _ = _dense("spd", _rhs("spd", True))
    calls = []

    def matvec(v):
        calls.append(1)
        return A @ v

    result = lanczos_solves(matvec, _rhs("spd", True), damp=PHI, rtol=1e-14, maxiter=7)
    assert result.reason == "max_iter" and result.n_iter == 7 and len(calls) == 7


def test_zero_rhs():
    result = lanczos_solves(lambda v: v, np.zeros(5), damp=PHI)
    assert result.reason == "zero_rhs"
    assert not np.any(result.pinv) and not np.any(result.damped) and not np.any(result.hess_b)


def test_loose_tolerance_stops_early_with_usable_directions():
    """At DINGO's rtol the solutions are inexact but point the right way."""
    b = _rhs("near_singular_pd", True)
    A, pinv_ref, damped_ref = _dense("near_singular_pd", b)
    result = lanczos_solves(functools.partial(np.dot, A), b, damp=PHI, rtol=1e-4, maxiter=50)
    assert result.n_iter < 40
    assert float(result.pinv @ (A @ b)) > 0.5 * float(pinv_ref @ (A @ b))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_round_a_krylov_equals_exact_on_a_softmax_shard(fit_intercept):
    """Round A's three vectors by one Lanczos run equal the eigendecomposition's.

    With an intercept the softmax Hessian is singular (a constant added to
    every class intercept changes nothing): the minimum-norm solutions must
    still agree.
    """
    from sklearn_dingo._objectives import MultinomialSoftmax
    from sklearn_dingo._shard import ShardData
    from sklearn_dingo._shard._rounds import initial_round, round_a
    from sklearn_dingo._shard._subproblems import SubproblemConfig

    rng = np.random.default_rng(3)
    n, d, K = 300, 5, 3
    X = rng.standard_normal((n, d))
    objective = MultinomialSoftmax(n_features=d, n_classes=K, fit_intercept=fit_intercept, C=10.0, total_weight=2 * n)
    shard = ShardData(X, objective.encode_targets(rng.integers(0, K, n)), np.ones(n), float(n))
    (_, g), state = initial_round(shard, None, objective=objective)
    replies = [
        round_a(
            shard, state, g, 0.0, objective=objective, subproblem=SubproblemConfig(method=m, rtol=1e-12, max_iter=100)
        )[0]
        for m in ("exact", "krylov")
    ]
    for exact, krylov in zip(*replies):
        assert np.linalg.norm(krylov - exact) <= 1e-8 * np.linalg.norm(exact)
