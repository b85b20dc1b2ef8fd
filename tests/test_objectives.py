"""Per-shard objectives against finite differences, dense algebra and scikit-learn."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from _references import (
    central_hessp,
    dense_objective,
    five_point_gradient,
    log_loss_objective,
    sklearn_objective,
)
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import ShardData

N_SAMPLES, N_FEATURES, N_CLASSES = 40, 4, 3


def make_objective(model, *, n_features, fit_intercept, C, total_weight, n_classes=N_CLASSES):
    if model == "binary":
        return BinaryLogistic(
            n_features=n_features, fit_intercept=fit_intercept, C=C, total_weight=total_weight
        )
    return MultinomialSoftmax(
        n_features=n_features,
        n_classes=n_classes,
        fit_intercept=fit_intercept,
        C=C,
        total_weight=total_weight,
    )


class Problem:
    """One shard, its objective, a point and the reference keyword arguments."""

    def __init__(self, model, fit_intercept, weighted, sparse, C, *, shard_fraction, seed=0):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(N_SAMPLES, N_FEATURES))
        if sparse:
            X[rng.random(X.shape) < 0.5] = 0.0
            X = sp.csr_matrix(X)
        n_out = 1 if model == "binary" else N_CLASSES
        y = rng.integers(0, 2 if model == "binary" else N_CLASSES, size=N_SAMPLES)
        s = rng.uniform(0.2, 3.0, size=N_SAMPLES) if weighted else np.ones(N_SAMPLES)
        S_j = float(s.sum())
        # the shard is a fraction of the data: the penalty uses the global S
        S = S_j / shard_fraction
        self.objective = make_objective(
            model, n_features=N_FEATURES, fit_intercept=fit_intercept, C=C, total_weight=S
        )
        self.shard = ShardData(X, self.objective.encode_targets(y), s, S_j)
        self.X, self.y, self.s = X, y, s
        self.w = 0.7 * rng.normal(size=self.objective.n_params)
        self.v = rng.normal(size=self.objective.n_params)
        self.ref = dict(n_outputs=n_out, fit_intercept=fit_intercept, C=C, total_weight=S)
        self.sk = dict(n_outputs=n_out, fit_intercept=fit_intercept, C=C)

    def reference(self, w):
        return dense_objective(self.X, self.y, self.s, w, **self.ref)


PROBLEM_GRID = [
    (model, fit_intercept, weighted, sparse, C)
    for model in ("binary", "softmax")
    for fit_intercept in (True, False)
    for weighted in (False, True)
    for sparse in (False, True)
    for C in (0.3, math.inf)
]


def _problem_id(params):
    model, fi, weighted, sparse, C = params
    return "-".join(
        [model, "icpt" if fi else "noicpt", "sw" if weighted else "unit", "csr" if sparse else "dense", f"C{C}"]
    )


@pytest.fixture(params=PROBLEM_GRID, ids=[_problem_id(p) for p in PROBLEM_GRID])
def problem(request):
    return Problem(*request.param, shard_fraction=0.4)


@pytest.fixture(params=PROBLEM_GRID, ids=[_problem_id(p) for p in PROBLEM_GRID])
def whole_data_problem(request):
    return Problem(*request.param, shard_fraction=1.0, seed=1)


def test_layout(problem):
    obj = problem.objective
    K = 1 if isinstance(obj, BinaryLogistic) else N_CLASSES
    assert obj.n_outputs == K
    assert obj.n_rows == N_FEATURES + int(obj.fit_intercept)
    assert obj.n_params == (N_FEATURES + int(obj.fit_intercept)) * K
    # margins follow the (d + fit_intercept, K) C-order layout, intercept last row
    W = problem.w.reshape(obj.n_rows, K)
    Xd = problem.X.toarray() if sp.issparse(problem.X) else problem.X
    expected = Xd @ W[:N_FEATURES] + (W[N_FEATURES] if obj.fit_intercept else 0.0)
    np.testing.assert_allclose(obj.margins(problem.X, problem.w), expected, rtol=1e-13, atol=1e-13)


def test_loss_gradient_matches_dense_reference(problem):
    loss, grad = problem.objective.loss_gradient(problem.shard, problem.w)
    ref_loss, ref_grad, _ = problem.reference(problem.w)
    assert isinstance(loss, float)
    assert grad.shape == (problem.objective.n_params,)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)


def test_gradient_matches_five_point_stencil(problem):
    obj, shard = problem.objective, problem.shard
    _, grad = obj.loss_gradient(shard, problem.w)
    fd = five_point_gradient(lambda w: obj.loss_gradient(shard, w)[0], problem.w, h=1e-3)
    np.testing.assert_allclose(grad, fd, rtol=1e-8, atol=1e-10)


def test_hessp_matches_differences_of_gradient(problem):
    obj, shard = problem.objective, problem.shard
    curvature = obj.curvature(shard, obj.margins(shard.X, problem.w))
    Hv = obj.hessp(shard, curvature, problem.v)
    fd = central_hessp(lambda w: obj.loss_gradient(shard, w)[1], problem.w, problem.v, h=1e-5)
    np.testing.assert_allclose(Hv, fd, rtol=1e-6, atol=1e-8)


def test_hessp_and_hessian_match_dense_reference(problem):
    obj, shard = problem.objective, problem.shard
    curvature = obj.curvature(shard, obj.margins(shard.X, problem.w))
    _, _, H_ref = problem.reference(problem.w)
    H = obj.hessian(shard, curvature)
    assert H.shape == (obj.n_params, obj.n_params)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-15)
    np.testing.assert_allclose(H, H_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(obj.hessp(shard, curvature, problem.v), H_ref @ problem.v, rtol=1e-12, atol=1e-13)


def test_value_is_scikit_learn_objective(whole_data_problem):
    """With one shard holding all data, f is LogisticRegression's objective."""
    p = whole_data_problem
    loss, _ = p.objective.loss_gradient(p.shard, p.w)
    assert loss == pytest.approx(sklearn_objective(p.X, p.y, p.s, p.w, **p.sk), rel=1e-12)
    assert loss == pytest.approx(log_loss_objective(p.X, p.y, p.s, p.w, **p.sk), rel=1e-10)


@pytest.mark.parametrize("margins_given", [True, False])
@pytest.mark.parametrize("block_bytes", [1 << 21, 7 * N_FEATURES * 8])
@pytest.mark.parametrize("n_trials", [1, 5])
def test_loss_gradient_batch_matches_dense_reference(problem, n_trials, block_bytes, margins_given, monkeypatch):
    # 7-row blocks leave a short last block (40 rows): every block boundary is exercised
    monkeypatch.setattr("sklearn_dingo._objectives._base._PRODUCT_BLOCK_BYTES", block_bytes)
    obj, shard = problem.objective, problem.shard
    alphas = np.array([1.0, 0.5, 0.0, 2.0**-7, -0.25])[:n_trials]
    eta = obj.margins(shard.X, problem.w)
    W_p = problem.v.reshape(obj.n_rows, obj.n_outputs)
    Xd = problem.X.toarray() if sp.issparse(problem.X) else problem.X
    expected_eta_p = Xd @ W_p[:N_FEATURES] + (W_p[N_FEATURES] if obj.fit_intercept else 0.0)
    given = expected_eta_p if margins_given else None
    losses, grads, eta_p = obj.loss_gradient_batch(shard, problem.w, eta, problem.v, given, alphas)
    assert losses.shape == (n_trials,)
    assert grads.shape == (n_trials, obj.n_params)
    np.testing.assert_allclose(eta_p, expected_eta_p, rtol=1e-13, atol=1e-13)
    for k, alpha in enumerate(alphas):
        loss, grad, _ = problem.reference(problem.w + alpha * problem.v)
        assert losses[k] == pytest.approx(loss, rel=1e-13)
        np.testing.assert_allclose(grads[k], grad, rtol=1e-12, atol=1e-14)


def test_gradient_is_orthogonal_to_intercept_shift_softmax():
    """Softmax with intercept: adding a constant to all intercepts changes nothing."""
    p = Problem("softmax", True, True, False, 0.3, shard_fraction=0.5, seed=3)
    obj, shard = p.objective, p.shard
    shift = np.zeros(obj.n_params)
    shift[-N_CLASSES:] = 1.0
    loss0, grad0 = obj.loss_gradient(shard, p.w)
    loss1, _ = obj.loss_gradient(shard, p.w + 3.0 * shift)
    assert loss1 == pytest.approx(loss0, rel=1e-13)
    assert abs(grad0 @ shift) < 1e-13
    curvature = obj.curvature(shard, obj.margins(shard.X, p.w))
    np.testing.assert_allclose(obj.hessp(shard, curvature, shift), 0.0, atol=1e-14)


# -- saturated margins (ALGORITHM.md §6) ----------------------------------------


def _sigmoid_product(eta):
    """σ(η)σ(−η) in closed form, computed with care for large |η|."""
    a = abs(eta)
    return math.exp(-a - 2.0 * math.log1p(math.exp(-a)))


def _evaluate_without_warnings(obj, shard, w, alphas):
    """Every entry point at w (batch along p = w), with warnings raised as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = obj.loss_gradient(shard, w)
        margins = obj.margins(shard.X, w)
        curvature = obj.curvature(shard, margins)
        Hv = obj.hessp(shard, curvature, np.ones(obj.n_params))
        H = obj.hessian(shard, curvature)
        losses, grads, _ = obj.loss_gradient_batch(shard, w, margins, w, margins, np.asarray(alphas))
    return loss, grad, curvature, Hv, H, losses, grads


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("scale", [40.0, 50.0, 700.0, 1000.0])
def test_binary_huge_margins_closed_forms(fit_intercept, scale):
    """No overflow warning; loss, gradient and curvature equal their closed forms.

    Rows ±1 with w = scale give margins ±scale; labels make two samples right
    and two wrong. Beyond |η| ≈ 37, p(1 − p) is exactly 0 but σ(η)σ(−η) is not.
    """
    X = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    z = np.array([1, 0, 0, 1])
    s = np.array([1.0, 2.0, 3.0, 4.0])
    obj = BinaryLogistic(n_features=1, fit_intercept=fit_intercept, C=math.inf, total_weight=10.0)
    shard = ShardData(X, obj.encode_targets(z), s, 10.0)
    w = np.array([scale, 0.0]) if fit_intercept else np.array([scale])
    eta = X[:, 0] * scale
    # closed forms: correct samples lose log1p(e^-|η|), wrong ones |η| + log1p(e^-|η|)
    wrong = (eta > 0) != (z == 1)
    point = np.where(wrong, np.abs(eta), 0.0) + np.log1p(np.exp(-np.abs(eta)))
    resid = np.where(eta > 0, 1.0, 0.0) - z + np.sign(-eta) * np.exp(-np.abs(eta)) / (1 + np.exp(-np.abs(eta)))
    c = np.array([_sigmoid_product(e) for e in eta])
    loss, grad, curvature, Hv, H, losses, grads = _evaluate_without_warnings(obj, shard, w, [1.0, 0.5, 0.0])
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert np.all(np.isfinite(H)) and np.all(np.isfinite(losses)) and np.all(np.isfinite(grads))
    assert loss == pytest.approx(s @ point / 10.0, rel=1e-14)
    expected_grad = [X[:, 0] @ (s * resid) / 10.0]
    if fit_intercept:
        expected_grad.append(np.sum(s * resid) / 10.0)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-14)
    np.testing.assert_allclose(curvature.weights[:, 0], c, rtol=1e-12)
    if scale < 745:  # e^-scale is still a double: the curvature must not vanish
        assert np.all(curvature.weights > 0)
    Xt = np.hstack([X, np.ones((4, 1))]) if fit_intercept else X
    expected_H = Xt.T @ (Xt * (s * c)[:, None]) / 10.0
    np.testing.assert_allclose(H, expected_H, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(Hv, H @ np.ones(obj.n_params), rtol=1e-12, atol=1e-300)
    # batch: margins (1 + α)·η
    for k, alpha in enumerate([1.0, 0.5, 0.0]):
        e = eta * (1 + alpha)
        pt = np.where(wrong, np.abs(e), 0.0) + np.log1p(np.exp(-np.abs(e)))
        assert losses[k] == pytest.approx(s @ pt / 10.0, rel=1e-14)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("scale", [50.0, 1000.0])
def test_softmax_huge_margins_closed_forms(fit_intercept, scale):
    """Margins ~1e3: no overflow, loss = max η − η_y + log(1 + Σ e^(η_k − max η))."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
    y = np.array([0, 2, 1, 2])
    s = np.array([1.0, 0.5, 2.0, 1.5])
    K = 3
    obj = MultinomialSoftmax(n_features=2, n_classes=K, fit_intercept=fit_intercept, C=2.0, total_weight=5.0)
    shard = ShardData(X, obj.encode_targets(y), s, 5.0)
    W = scale * np.array([[1.0, -1.0, 0.0], [0.0, 0.5, -1.0]])
    if fit_intercept:
        W = np.vstack([W, [0.0, 0.0, 0.0]])
    w = W.ravel()
    eta = X @ W[:2]
    top = eta.max(axis=1)
    tail = np.exp(eta - top[:, None]).sum(axis=1) - 1.0  # Σ over non-maximal classes
    point = top - eta[np.arange(4), y] + np.log1p(tail)
    P = np.exp(eta - top[:, None]) / (1.0 + tail)[:, None]
    Y = obj.encode_targets(y)
    loss, grad, curvature, Hv, H, losses, grads = _evaluate_without_warnings(obj, shard, w, [1.0, 0.0])
    for arr in (grad, Hv, H, losses, grads):
        assert np.all(np.isfinite(arr))
    lam = 1.0 / (2.0 * 5.0)
    assert loss == pytest.approx(s @ point / 5.0 + 0.5 * lam * np.sum(W[:2] ** 2), rel=1e-14)
    G = X.T @ (s[:, None] * (P - Y)) / 5.0 + lam * W[:2]
    if fit_intercept:
        G = np.vstack([G, np.sum(s[:, None] * (P - Y), axis=0) / 5.0])
    np.testing.assert_allclose(grad, G.ravel(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(curvature.weights, P, rtol=1e-12, atol=1e-300)
    _, _, H_ref = dense_objective(X, y, s, w, n_outputs=K, fit_intercept=fit_intercept, C=2.0, total_weight=5.0)
    np.testing.assert_allclose(H, H_ref, rtol=1e-12, atol=1e-14)
    assert losses[1] == pytest.approx(loss, rel=1e-14)
    e2 = 2.0 * eta
    top2 = e2.max(axis=1)
    point2 = top2 - e2[np.arange(4), y] + np.log1p(np.exp(e2 - top2[:, None]).sum(axis=1) - 1.0)
    assert losses[0] == pytest.approx(s @ point2 / 5.0 + 0.5 * lam * np.sum((2 * W[:2]) ** 2), rel=1e-14)


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [dict(C=0.0, total_weight=1.0), dict(C=-1.0, total_weight=1.0), dict(C=1.0, total_weight=0.0)],
)
def test_invalid_parameters(kwargs):
    with pytest.raises(ValueError):
        BinaryLogistic(n_features=2, fit_intercept=True, **kwargs)


def test_softmax_needs_two_classes():
    with pytest.raises(ValueError, match="n_classes"):
        MultinomialSoftmax(n_features=2, n_classes=1, fit_intercept=True, C=1.0, total_weight=1.0)


def test_infinite_C_has_no_penalty():
    obj = BinaryLogistic(n_features=2, fit_intercept=False, C=math.inf, total_weight=3.0)
    assert obj.penalty == 0.0
    obj = BinaryLogistic(n_features=2, fit_intercept=False, C=4.0, total_weight=3.0)
    assert obj.penalty == pytest.approx(1.0 / 12.0)


@pytest.mark.parametrize("block_bytes", [1 << 21, 7 * N_FEATURES * 8])
def test_hessian_operator_matches_dense_reference(problem, block_bytes, monkeypatch):
    # 7-row blocks leave a short last block (40 rows): every block boundary is exercised
    monkeypatch.setattr("sklearn_dingo._objectives._base._PRODUCT_BLOCK_BYTES", block_bytes)
    obj, shard = problem.objective, problem.shard
    curvature = obj.curvature(shard, obj.margins(shard.X, problem.w))
    _, _, H_ref = problem.reference(problem.w)
    Hv = obj.hessian_operator(shard, curvature)(problem.v)
    assert Hv.dtype == np.float64
    np.testing.assert_allclose(Hv, H_ref @ problem.v, rtol=1e-12, atol=1e-13)


def test_single_precision_hessian_operator_is_float32_accurate(problem):
    obj, shard = problem.objective, problem.shard
    curvature = obj.curvature(shard, obj.margins(shard.X, problem.w))
    _, _, H_ref = problem.reference(problem.w)
    expected = H_ref @ problem.v
    Hv = obj.hessian_operator(shard, curvature, single_precision=True)(problem.v)
    assert Hv.dtype == np.float64
    # float32 products: about 1e-7 relative to |H| |v|, far from exact float64
    error = np.linalg.norm(Hv - expected) / (np.linalg.norm(H_ref, 2) * np.linalg.norm(problem.v))
    assert error < 1e-6
    if sp.issparse(shard.X):
        assert "X_single" not in shard.features.made()  # sparse shards are never copied
        assert error < 1e-13
    else:
        assert error > 1e-12
        assert shard.X_single.dtype == np.float32
        assert shard.X_single is shard.X_single  # one copy per shard, kept


def _entrywise_scaled_error(H, H_ref):
    """max |H - H_ref|_ij / sqrt(|H_ref|_ii |H_ref|_jj), the scale-free rounding error."""
    scale = np.sqrt(np.abs(np.diag(H_ref)))
    return np.max(np.abs(H - H_ref) / np.outer(scale, scale))


def test_single_precision_hessian_is_float32_accurate(problem):
    obj, shard = problem.objective, problem.shard
    curvature = obj.curvature(shard, obj.margins(shard.X, problem.w))
    _, _, H_ref = problem.reference(problem.w)
    H = obj.hessian(shard, curvature, single_precision=True)
    assert H.dtype == np.float64
    np.testing.assert_array_equal(H, H.T)
    error = _entrywise_scaled_error(H, H_ref)
    if sp.issparse(shard.X):
        assert error < 1e-13  # sparse shards ignore it
    else:
        assert 1e-12 < error < 1e-6


@pytest.mark.parametrize("model", ["binary", "softmax"])
def test_single_precision_hessian_keeps_graded_columns(model):
    # column scales over twelve decades: float32 rounding is relative to each
    # entry, so every Hessian entry keeps ~7 digits relative to its row and
    # column scale, and so do the smallest eigenvalues.
    rng = np.random.default_rng(3)
    n, d = 3000, 8
    X = rng.normal(size=(n, d)) * np.logspace(-6, 6, d)
    y = rng.integers(0, 2 if model == "binary" else N_CLASSES, size=n)
    s = np.ones(n)
    obj = make_objective(model, n_features=d, fit_intercept=True, C=1.0, total_weight=float(n))
    shard = ShardData(X, obj.encode_targets(y), s, float(n))
    w = np.zeros(obj.n_params)
    curvature = obj.curvature(shard, obj.margins(X, w))
    K = 1 if model == "binary" else N_CLASSES
    _, _, H_ref = dense_objective(X, y, s, w, n_outputs=K, fit_intercept=True, C=1.0, total_weight=float(n))
    H = obj.hessian(shard, curvature, single_precision=True)
    assert 1e-12 < _entrywise_scaled_error(H, H_ref) < 1e-6
    # Jacobi-scaled eigenvalues: a relative perturbation of 1e-6 moves each by at most that much
    scale = 1.0 / np.sqrt(np.diag(H_ref))
    lam = np.linalg.eigvalsh(H * np.outer(scale, scale))
    lam_ref = np.linalg.eigvalsh(H_ref * np.outer(scale, scale))
    np.testing.assert_allclose(lam, lam_ref, rtol=0, atol=1e-5 * lam_ref.max())


@pytest.mark.parametrize("data_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("model", ["binary", "softmax"])
def test_single_precision_hessian_keeps_the_curvature_between_alike_rows(model, data_dtype):
    # Rows sorted by a feature make each row block a set of alike rows: its
    # Gram block is then nearly rank-deficient, and the curvature between the
    # rows (here 1e-6 of the entries: features 1e3 + N(0, 1)) is what a
    # Newton direction needs. Float32 products of the raw rows keep it to
    # about 6e-8 * 1e6; of the rows less their block's mean, to 7 digits.
    # float64 data ask for float32 Gram blocks (from a centred float32 copy);
    # float32 data get them anyway, centred block by block without a copy.
    rng = np.random.default_rng(5)
    n, d = 6000, 4
    X = (1e3 + rng.normal(size=(n, d))).astype(data_dtype)
    X = X[np.argsort(X[:, 0], kind="stable")]
    y = rng.integers(0, 2 if model == "binary" else N_CLASSES, size=n)
    s = np.ones(n)
    obj = make_objective(model, n_features=d, fit_intercept=True, C=1.0, total_weight=float(n))
    shard = ShardData(X, obj.encode_targets(y), s, float(n))
    w = np.zeros(obj.n_params)
    g = rng.normal(size=obj.n_params)
    K = 1 if model == "binary" else N_CLASSES
    X64 = X.astype(np.float64)  # the same numbers: the reference is float64 arithmetic on them
    _, _, H_ref = dense_objective(X64, y, s, w, n_outputs=K, fit_intercept=True, C=1.0, total_weight=float(n))
    H = obj.hessian(shard, obj.curvature(shard, obj.margins(X, w)), single_precision=data_dtype == np.float64)
    assert H.dtype == np.float64
    p, p_ref = np.linalg.pinv(H, hermitian=True) @ g, np.linalg.pinv(H_ref, hermitian=True) @ g
    assert np.linalg.norm(p - p_ref) <= 1e-4 * np.linalg.norm(p_ref)


@pytest.mark.parametrize(
    "largest, fits", [(1.0, True), (1e12, True), (-1e12, True), (2e12, False), (-2e12, False)]
)
def test_fits_single_precision_checks_the_range(largest, fits):
    X = np.random.default_rng(0).uniform(-1.0, 1.0, size=(30, 3))
    X[7, 1] = largest
    shard = ShardData(X, np.zeros((30, 1)), np.ones(30), 30.0)
    assert shard.fits_single_precision is fits
    assert not ShardData(sp.csr_matrix(X), np.zeros((30, 1)), np.ones(30), 30.0).fits_single_precision
