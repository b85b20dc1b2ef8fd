"""The shard layer and in-process fits in non-NumPy array namespaces.

array-api-strict runs everywhere (CI included) and is the proof that the
per-shard code uses only the array API standard; CuPy tests run only where a
GPU and CuPy are present.
"""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_wine, make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import ShardData
from sklearn_dingo._shard._rounds import initial_round, round_a, round_case3, round_line_search
from sklearn_dingo._shard._subproblems import SubproblemConfig

xp_strict = pytest.importorskip("array_api_strict")
StrictArray = type(xp_strict.asarray(0.0))


def _cupy_with_device():
    # CI has no GPU: these tests need CuPy (the "gpu" extra) and a CUDA device.
    try:
        import cupy
    except ModuleNotFoundError:
        pytest.skip("CuPy is not installed (pip install 'sklearn-dingo[gpu]')")
    except ImportError as exc:  # installed, but its CUDA libraries do not load
        pytest.skip(f"CuPy is installed but cannot be imported: {exc}")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy is installed but no CUDA device is visible")
    except cupy.cuda.runtime.CUDARuntimeError as exc:
        pytest.skip(f"CuPy is installed but CUDA is unusable: {exc}")
    return cupy


@pytest.fixture
def array_api_dispatch(monkeypatch):
    # scikit-learn refuses array API dispatch unless SciPy's switch is set;
    # it reads the variable when dispatch is enabled, and nothing here hands
    # non-NumPy arrays to SciPy.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    with sklearn.config_context(array_api_dispatch=True):
        yield


def _shard_pair(objective, xp, seed=0, n=120, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    labels = rng.integers(0, objective.n_outputs if objective.n_outputs > 1 else 2, n)
    Y = objective.encode_targets(labels)
    s = rng.uniform(0.0, 2.0, n)
    host = ShardData(X, Y, s, float(s.sum()))
    other = ShardData(xp.asarray(X), xp.asarray(Y), xp.asarray(s), float(s.sum()))
    return host, other


OBJECTIVES = {
    "binary": lambda: BinaryLogistic(n_features=6, fit_intercept=True, C=0.5, total_weight=300.0),
    "softmax": lambda: MultinomialSoftmax(n_features=6, n_classes=3, fit_intercept=True, C=2.0, total_weight=300.0),
    "softmax-noint-inf": lambda: MultinomialSoftmax(
        n_features=6, n_classes=3, fit_intercept=False, C=np.inf, total_weight=300.0
    ),
}


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_objective_in_array_api_strict_matches_numpy(name):
    objective = OBJECTIVES[name]()
    host, strict = _shard_pair(objective, xp_strict)
    rng = np.random.default_rng(1)
    w = rng.standard_normal(objective.n_params)
    v = rng.standard_normal(objective.n_params)

    loss_np, grad_np = objective.loss_gradient(host, w)
    loss_xp, grad_xp = objective.loss_gradient(strict, xp_strict.asarray(w))
    assert isinstance(grad_xp, StrictArray)
    assert_allclose(loss_xp, loss_np, rtol=1e-12)
    assert_allclose(np.asarray(grad_xp), grad_np, rtol=1e-10, atol=1e-14)

    curv_np = objective.curvature(host, objective.margins(host.X, w))
    curv_xp = objective.curvature(strict, objective.margins(strict.X, xp_strict.asarray(w)))
    Hv_np = objective.hessp(host, curv_np, v)
    Hv_xp = objective.hessp(strict, curv_xp, xp_strict.asarray(v))
    assert_allclose(np.asarray(Hv_xp), Hv_np, rtol=1e-10, atol=1e-14)
    for single in (False, True):
        Hv_op = objective.hessian_operator(strict, curv_xp, single_precision=single)(xp_strict.asarray(v))
        assert isinstance(Hv_op, StrictArray) and Hv_op.dtype == xp_strict.float64
        error = np.linalg.norm(np.asarray(Hv_op) - Hv_np) / np.linalg.norm(Hv_np)
        assert error < (1e-5 if single else 1e-12)
    assert_allclose(
        np.asarray(objective.hessian(strict, curv_xp)), objective.hessian(host, curv_np), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("method", ["exact", "krylov"])
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_shard_rounds_in_array_api_strict_match_numpy(name, method):
    """Every round a shard runs gives the NumPy numbers, returned as host NumPy."""
    objective = OBJECTIVES[name]()
    host, strict = _shard_pair(objective, xp_strict, seed=2)
    config = SubproblemConfig(method=method, rtol=1e-10, max_iter=200)
    rng = np.random.default_rng(3)
    outputs = []
    for shard in (host, strict):
        reply0, state = initial_round(shard, None, objective=objective)
        g = reply0[1]
        replyA, state = round_a(shard, state, g, 0.0, objective=objective, subproblem=config)
        Hg = replyA[0]
        replyB, state = round_case3(shard, state, Hg, theta=0.5)
        p = rng.standard_normal(objective.n_params) if not outputs else outputs[0][-1]
        replyC, state = round_line_search(shard, state, p, objective=objective, batch_size=3, max_steps=50)
        outputs.append((reply0, replyA, replyB, replyC, p))
    for host_reply, strict_reply in zip(outputs[0][:4], outputs[1][:4]):
        for a, b in zip(host_reply, strict_reply):
            assert isinstance(b, (float, np.ndarray, np.floating))
            assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "Estimator, loader",
    [(DingoLogisticRegression, load_breast_cancer), (DingoSoftmaxRegression, load_wine)],
)
@pytest.mark.parametrize("method", ["exact", pytest.param("krylov", marks=pytest.mark.slow)])  # krylov: seconds
def test_in_process_fit_in_array_api_strict_matches_numpy(Estimator, loader, method, array_api_dispatch):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(C=1.0, tol=1e-10, n_shards=2, subproblem_solver=method, max_iter=300)
    with sklearn.config_context(array_api_dispatch=False):
        reference = Estimator(**params).fit(X, y)
    model = Estimator(**params).fit(xp_strict.asarray(X), xp_strict.asarray(y))
    # scikit-learn's convention: fitted attributes in the input's namespace
    assert isinstance(model.coef_, StrictArray) and isinstance(model.intercept_, StrictArray)
    assert isinstance(model.n_iter_, StrictArray) and int(model.n_iter_[0]) == int(reference.n_iter_[0])
    assert_allclose(np.asarray(model.coef_), reference.coef_, rtol=0, atol=1e-10)
    assert_allclose(np.asarray(model.intercept_), reference.intercept_, rtol=0, atol=1e-10)

    proba = model.predict_proba(xp_strict.asarray(X))
    assert isinstance(proba, StrictArray)
    assert_allclose(np.asarray(proba), reference.predict_proba(X), rtol=0, atol=1e-10)
    labels = model.predict(xp_strict.asarray(X))
    assert isinstance(labels, StrictArray)
    assert_allclose(np.asarray(labels), reference.predict(X))


def test_model_fitted_on_array_api_data_predicts_numpy_data(array_api_dispatch):
    X, y = make_classification(n_samples=400, n_features=5, random_state=0)
    model = DingoLogisticRegression(tol=1e-10).fit(xp_strict.asarray(X), xp_strict.asarray(y))
    with sklearn.config_context(array_api_dispatch=False):
        reference = DingoLogisticRegression(tol=1e-10).fit(X, y)
        assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-10)


# -- GPU: skipped cleanly where there is no CUDA device --------------------------


def test_cupy_in_process_fit_matches_numpy(array_api_dispatch):
    cupy = _cupy_with_device()
    X, y = make_classification(
        n_samples=4000, n_features=20, n_informative=10, n_classes=4, random_state=0
    )
    params = dict(C=10.0, tol=1e-10, n_shards=2)
    with sklearn.config_context(array_api_dispatch=False):
        reference = DingoSoftmaxRegression(**params).fit(X, y)
    model = DingoSoftmaxRegression(**params).fit(cupy.asarray(X), cupy.asarray(y))
    assert isinstance(model.coef_, cupy.ndarray) and isinstance(model.intercept_, cupy.ndarray)
    assert_allclose(model.coef_.get(), reference.coef_, rtol=0, atol=1e-8)
    assert_allclose(model.intercept_.get(), reference.intercept_, rtol=0, atol=1e-8)
    proba = model.predict_proba(cupy.asarray(X))
    assert isinstance(proba, cupy.ndarray)
    assert_allclose(cupy.asnumpy(proba), reference.predict_proba(X), atol=1e-8)


@pytest.mark.parametrize("method", ["exact", "krylov"])
def test_cupy_shard_rounds_match_numpy(method):
    cupy = _cupy_with_device()
    objective = OBJECTIVES["softmax"]()
    host, gpu = _shard_pair(objective, cupy, seed=4)
    config = SubproblemConfig(method=method, rtol=1e-10, max_iter=200)
    replies = []
    for shard in (host, gpu):
        (_, g), state = initial_round(shard, None, objective=objective)
        reply, _ = round_a(shard, state, g, 0.0, objective=objective, subproblem=config)
        replies.append(reply)
    for a, b in zip(*replies):
        assert isinstance(b, np.ndarray)
        assert_allclose(b, a, rtol=1e-8, atol=1e-10)
