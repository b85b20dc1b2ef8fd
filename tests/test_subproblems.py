"""Local sub-problem solvers: exact and Krylov paths against dense NumPy algebra."""

import math

import numpy as np
import pytest

from _references import dense_objective
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import ShardData
from sklearn_dingo._shard._subproblems import (
    ExactSolver,
    KrylovSolver,
    SubproblemConfig,
    choose_method,
    make_solver,
)

PHI = 1e-6
TIGHT = SubproblemConfig(rtol=1e-10, max_iter=1000)

# name: (model, n_rows, n_features, fit_intercept, C); "singular" problems have
# a singular local Hessian (ALGORITHM.md §1, curvature facts).
SHARD_CASES = {
    "binary-icpt-C1": ("binary", 80, 6, True, 1.0),
    "softmax-noicpt-C1": ("softmax", 80, 5, False, 1.0),
    "softmax-icpt-C1-singular": ("softmax", 80, 5, True, 1.0),
    "softmax-noicpt-Cinf-singular": ("softmax", 80, 4, False, math.inf),
    "binary-Cinf-few-rows-singular": ("binary", 5, 9, True, math.inf),
}


class ShardProblem:
    def __init__(self, model, n, d, fit_intercept, C, seed=0):
        rng = np.random.default_rng(seed)
        K = 1 if model == "binary" else 3
        X = rng.normal(size=(n, d))
        y = rng.integers(0, 2 if model == "binary" else K, size=n)
        s = rng.uniform(0.5, 2.0, size=n)
        S = 2.0 * s.sum()  # the shard is half of the data
        if model == "binary":
            obj = BinaryLogistic(n_features=d, fit_intercept=fit_intercept, C=C, total_weight=S)
        else:
            obj = MultinomialSoftmax(n_features=d, n_classes=K, fit_intercept=fit_intercept, C=C, total_weight=S)
        self.objective = obj
        self.shard = ShardData(X, obj.encode_targets(y), s, float(s.sum()))
        self.w = 0.3 * rng.normal(size=obj.n_params)
        _, self.g, self.H = dense_objective(
            X, y, s, self.w, n_outputs=K, fit_intercept=fit_intercept, C=C, total_weight=S
        )
        # a direction that is generally not in the range of a singular H
        self.r = rng.normal(size=obj.n_params)
        self.curvature = obj.curvature(self.shard, obj.margins(X, self.w))
        D = obj.n_params
        self.D = D
        self.rank = np.linalg.matrix_rank(self.H, tol=D * np.finfo(float).eps * np.abs(self.H).max())

    def pinv(self, b):
        D = self.D
        return np.linalg.pinv(self.H, rcond=D * np.finfo(float).eps, hermitian=True) @ b

    def damped(self, b):
        """argmin ‖H x − b‖² + φ²‖x‖² by dense least squares on [H; φI]."""
        A = np.vstack([self.H, PHI * np.eye(self.D)])
        return np.linalg.lstsq(A, np.concatenate([b, np.zeros(self.D)]), rcond=None)[0]

    def damped_normal(self, r):
        """(H² + φ²I)⁻¹ r by the dense eigendecomposition of H."""
        lam, Q = np.linalg.eigh(self.H)
        return Q @ ((Q.T @ r) / (lam**2 + PHI**2))

    def range_part(self, x):
        """Projection onto the range of H.

        For singular H, the null-space part of (H² + φ²I)⁻¹ r is r_null / φ²:
        rounding-level noise in r (≈1e-17) becomes ≈1e-5 there, so only the
        range part of q is defined to solver tolerance.
        """
        lam, Q = np.linalg.eigh(self.H)
        Qr = Q[:, np.abs(lam) > 1e-10 * np.abs(lam).max()]
        return Qr @ (Qr.T @ x)


@pytest.fixture(params=list(SHARD_CASES), scope="module")
def shard_problem(request):
    problem = ShardProblem(*SHARD_CASES[request.param])
    problem.name = request.param
    return problem


def _exact(p):
    return ExactSolver(p.objective.hessian(p.shard, p.curvature), PHI)


def _krylov(p):
    return KrylovSolver(
        lambda v: p.objective.hessp(p.shard, p.curvature, v), PHI, TIGHT.rtol, TIGHT.max_iter
    )


def test_singular_cases_are_singular(shard_problem):
    p = shard_problem
    assert (p.rank < p.D) == ("singular" in p.name)


def test_dense_references_are_consistent(shard_problem):
    """Sanity of the references themselves: v = (H² + φ²I)⁻¹ H g = argmin ‖Hx − g‖² + φ²‖x‖²."""
    p = shard_problem
    v = p.damped(p.g)
    np.testing.assert_allclose(p.range_part(p.damped_normal(p.H @ p.g)), p.range_part(v), rtol=1e-8, atol=1e-10)
    H2 = p.H @ p.H + PHI**2 * np.eye(p.D)
    np.testing.assert_allclose(H2 @ v, p.H @ p.g, rtol=1e-6, atol=1e-12)


def _assert_q(p, q, ref):
    if "singular" in p.name:
        q, ref = p.range_part(q), p.range_part(ref)
    np.testing.assert_allclose(q, ref, rtol=1e-6, atol=1e-6 * np.linalg.norm(ref))


@pytest.mark.parametrize("solver_factory", [_exact, _krylov], ids=["exact", "krylov"])
def test_solver_matches_dense_algebra(shard_problem, solver_factory):
    p = shard_problem
    solver = solver_factory(p)
    Hg = p.H @ p.g
    np.testing.assert_allclose(solver.hess_vec(p.g), Hg, rtol=1e-12, atol=1e-15)
    u = solver.pinv(p.g)
    np.testing.assert_allclose(u, p.pinv(p.g), rtol=1e-6, atol=1e-6 * np.linalg.norm(u))
    v = solver.damped(p.g)
    np.testing.assert_allclose(v, p.damped(p.g), rtol=1e-6, atol=1e-6 * np.linalg.norm(v))
    # q for a right-hand side in the range of H, and for a generic one (case 3
    # sends the global Hg, which need not lie in the range of H_j)
    _assert_q(p, solver.damped_normal(Hg), p.damped_normal(Hg))
    if "singular" not in p.name:
        _assert_q(p, solver.damped_normal(p.r), p.damped_normal(p.r))


@pytest.mark.parametrize("solver_factory", [_exact, _krylov], ids=["exact", "krylov"])
def test_pinv_is_minimum_norm_least_squares_for_any_rhs(shard_problem, solver_factory):
    """u = H⁺ r also for r outside the range of a singular H (inconsistent system)."""
    p = shard_problem
    u = solver_factory(p).pinv(p.r)
    ref = p.pinv(p.r)
    np.testing.assert_allclose(u, ref, rtol=1e-6, atol=1e-6 * np.linalg.norm(ref))


def test_exact_and_krylov_agree(shard_problem):
    p = shard_problem
    exact, krylov = _exact(p), _krylov(p)
    Hg = exact.hess_vec(p.g)
    for name in ("hess_vec", "pinv", "damped"):
        a, b = getattr(exact, name)(p.g), getattr(krylov, name)(p.g)
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6 * np.linalg.norm(a), err_msg=name)
    _assert_q(p, krylov.damped_normal(Hg), exact.damped_normal(Hg))


def test_softmax_intercept_pinv_is_orthogonal_to_null_space():
    """The minimum-norm u has no component along the intercept shift."""
    p = ShardProblem(*SHARD_CASES["softmax-icpt-C1-singular"], seed=4)
    null = np.zeros(p.D)
    null[-3:] = 1.0 / math.sqrt(3.0)
    np.testing.assert_allclose(p.H @ null, 0.0, atol=1e-14)
    for solver in (_exact(p), _krylov(p)):
        u = solver.pinv(p.g)
        assert abs(u @ null) <= 1e-8 * np.linalg.norm(u)
        np.testing.assert_allclose(p.H @ u, p.g, rtol=1e-6, atol=1e-8 * np.linalg.norm(p.g))


def test_exact_rcond_cutoff():
    """Eigenvalues with |λ| ≤ rcond·max|λ| count as zero in H⁺; the damped solves keep them."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    lam = np.array([2.0, 1e-3, 1e-6, 0.0, -0.5])
    H = (Q * lam) @ Q.T
    H = (H + H.T) / 2
    b = rng.normal(size=5)
    coef = Q.T @ b
    default = ExactSolver(H, 1e-6)  # cut-off 5·eps·2 ≈ 2.2e-15: keeps 1e-6, drops 0
    loose = ExactSolver(H, 1e-6, rcond=1e-2)  # also drops 1e-3 and 1e-6
    inv_default = np.array([0.5, 1e3, 1e6, 0.0, -2.0])
    np.testing.assert_allclose(default.pinv(b), Q @ (inv_default * coef), rtol=1e-6)
    inv_loose = np.array([0.5, 0.0, 0.0, 0.0, -2.0])
    np.testing.assert_allclose(loose.pinv(b), Q @ (inv_loose * coef), rtol=1e-10, atol=1e-14)
    damped = lam / (lam**2 + 1e-12)
    np.testing.assert_allclose(loose.damped(b), Q @ (damped * coef), rtol=1e-6)
    np.testing.assert_allclose(
        loose.hess_vec(b), H @ b, rtol=1e-12, atol=1e-15
    )


# -- make_solver -------------------------------------------------------------------


def _softmax_shard(n, d, K, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, K, size=n)
    obj = MultinomialSoftmax(n_features=d, n_classes=K, fit_intercept=False, C=1.0, total_weight=float(n))
    shard = ShardData(X, obj.encode_targets(y), np.ones(n), float(n))
    curvature = obj.curvature(shard, obj.margins(X, np.zeros(obj.n_params)))
    return obj, shard, curvature


def _centring(obj):
    """P = I ⊗ (I_K − 11ᵀ/K): centres each row of the parameter matrix across classes."""
    K = obj.n_outputs
    return np.kron(np.eye(obj.n_rows), np.eye(K) - np.ones((K, K)) / K)


def test_auto_picks_exact_for_small_D():
    obj, shard, curvature = _softmax_shard(200, 5, 3)  # D = 15
    config = SubproblemConfig(method="auto")
    assert choose_method(obj, shard, config) == "exact"
    solver = make_solver(obj, shard, curvature, config)
    assert isinstance(solver, ExactSolver)
    # The solver sees H on the parameters centred across classes (the softmax
    # model's identifiable subspace): P H P.
    P = _centring(obj)
    H = obj.hessian(shard, curvature)
    np.testing.assert_allclose(solver.eigenvalues, np.linalg.eigvalsh(P @ H @ P), rtol=1e-10, atol=1e-14)


def test_auto_picks_krylov_for_large_D_and_few_rows():
    obj, shard, curvature = _softmax_shard(50, 100, 10)  # D = 1000, 50 rows
    config = SubproblemConfig(method="auto", phi=1e-5, rtol=1e-3, max_iter=7)
    assert choose_method(obj, shard, config) == "krylov"
    solver = make_solver(obj, shard, curvature, config)
    assert isinstance(solver, KrylovSolver)
    assert (solver.phi, solver.rtol, solver.max_iter) == (1e-5, 1e-3, 7)
    v = np.random.default_rng(1).normal(size=obj.n_params)
    # 5,000 entries: too few for "auto" to make float32 products
    assert not config.single_precision(shard, "krylov")
    # H on the centred parameters, P H P (see test_auto_picks_exact_for_small_D)
    P = _centring(obj)
    np.testing.assert_allclose(solver.hess_vec(v), P @ obj.hessp(shard, curvature, P @ v), rtol=1e-12)


@pytest.mark.parametrize(
    "method, precision, rtol, min_entries, single",
    [("krylov", "auto", 1e-4, 5_000, True), ("krylov", "auto", 1e-5, 5_000, True),
     ("krylov", "auto", 1e-6, 5_000, False), ("krylov", "auto", 1e-4, 5_001, False),
     ("krylov", "single", 1e-10, 10**9, True), ("krylov", "full", 1e-2, 0, False),
     # the exact path has no tolerance to respect: only the size counts
     ("exact", "auto", 1e-10, 5_000, True), ("exact", "auto", 1e-4, 5_001, False),
     ("exact", "single", 1e-10, 10**9, True), ("exact", "full", 1e-2, 0, False)],
)
def test_hessian_precision_rule(method, precision, rtol, min_entries, single, monkeypatch):
    monkeypatch.setattr("sklearn_dingo._shard._subproblems.SINGLE_PRECISION_MIN_ENTRIES", min_entries)
    obj, shard, curvature = _softmax_shard(50, 100, 10)  # 5,000 entries
    config = SubproblemConfig(method=method, rtol=rtol, hessian_precision=precision)
    assert config.single_precision(shard, method) is single
    v = np.random.default_rng(2).normal(size=obj.n_params)
    P = _centring(obj)  # the solvers see H on the centred parameters
    exact_product = P @ obj.hessp(shard, curvature, P @ v)
    Hv = make_solver(obj, shard, curvature, config).hess_vec(v)
    error = np.linalg.norm(Hv - exact_product) / np.linalg.norm(exact_product)
    assert bool(error > 1e-12) == single
    assert error < 1e-5


@pytest.mark.parametrize("method", ["exact", "krylov"])
def test_hessian_precision_single_needs_float32_range(method):
    obj, shard, curvature = _softmax_shard(50, 20, 5)
    X = shard.X.copy()
    X[0, 0] = 1e13  # squares beyond float32's range
    shard = ShardData(X, shard.Y, shard.sample_weight, shard.weight_sum)
    assert not SubproblemConfig(hessian_precision="single").single_precision(shard, method)


def test_invalid_hessian_precision():
    with pytest.raises(ValueError, match="hessian_precision must be one of"):
        SubproblemConfig(hessian_precision="half")


@pytest.mark.parametrize("method, cls", [("exact", ExactSolver), ("krylov", KrylovSolver)])
def test_forced_method(method, cls):
    obj, shard, curvature = _softmax_shard(30, 6, 4)
    config = SubproblemConfig(method=method)
    assert choose_method(obj, shard, config) == method
    assert isinstance(make_solver(obj, shard, curvature, config), cls)


def test_invalid_method():
    with pytest.raises(ValueError, match="subproblem_solver"):
        SubproblemConfig(method="cholesky")


def test_krylov_at_iteration_cap_returns_last_iterate():
    """With a tiny cap the solvers still return finite vectors (inexact but usable)."""
    p = ShardProblem(*SHARD_CASES["softmax-noicpt-C1"])
    solver = KrylovSolver(lambda v: p.objective.hessp(p.shard, p.curvature, v), PHI, 1e-14, 2)
    for name in ("pinv", "damped", "damped_normal"):
        x = getattr(solver, name)(p.g)
        assert x.shape == (p.D,) and np.all(np.isfinite(x)) and np.linalg.norm(x) > 0
    # an unconverged q keeps <Hg, q> > 0, which is all case 3 needs
    Hg = p.H @ p.g
    assert Hg @ solver.damped_normal(Hg) > 0
