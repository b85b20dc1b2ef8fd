"""Drop-in parity with scikit-learn's ``LogisticRegression(solver="lbfgs")``.

DingoLogisticRegression and DingoSoftmaxRegression minimise the same
objective as ``LogisticRegression``; these tests check that they also behave
as it does wherever a user could tell the difference:

- fitted attributes: ``n_iter_`` as an int32 array of shape (1,), the dtypes
  of ``coef_``, ``intercept_`` and of every prediction for float32/float64,
  dense/CSR input, no float64 copy of float32 data;
- float32 fits reaching scikit-learn's float64 optimum;
- edge values of the budget (``max_iter=0``, ``tol=0``);
- ``sparsify``/``densify`` (scikit-learn's ``SparseCoefMixin``);
- the ``sklearn.callback`` API (progress bar, scoring monitor, a callback
  that stops the fit);
- parameter validation with scikit-learn's ``InvalidParameterError`` and
  messages naming the public class;
- warnings attributed to the caller, no overflow warnings on huge feature
  scales, array API inputs giving array API fitted attributes, the verbose
  summary line and the centring of the softmax solution.

Where ``LogisticRegression`` has the behaviour, the test fits it on the same
data and compares; otherwise the reference is independent (the objective of
``_estimator_refs``, or the behaviour's definition).
"""

import functools
import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from _estimator_refs import objective, relative_error
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._compat import InvalidParameterError  # scikit-learn's, private

ESTIMATORS = [DingoLogisticRegression, DingoSoftmaxRegression]


# -- data ----------------------------------------------------------------------------
@functools.cache
def dataset(name):
    """(X, y) of a bundled dataset, standardised (lbfgs is slow on raw features), read-only."""
    loader = dict(breast_cancer=load_breast_cancer, iris=load_iris, wine=load_wine)[name]
    X, y = loader(return_X_y=True)
    X = np.ascontiguousarray(StandardScaler().fit_transform(X))
    for a in (X, y):
        a.setflags(write=False)
    return X, y


def is_binary(Est):
    return Est is DingoLogisticRegression


def dataset_for(Est):
    """A small bundled problem of the estimator's kind (binary or multiclass)."""
    return dataset("breast_cancer" if is_binary(Est) else "iris")


@functools.cache
def sklearn_optimum(name, C):
    """scikit-learn's float64 solution, converged far below the tolerances asserted."""
    X, y = dataset(name)
    return LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)


def convergence_warnings(record):
    return [w for w in record if issubclass(w.category, ConvergenceWarning)]


# -- n_iter_ and dtypes ----------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_n_iter_is_an_array_like_logistic_regression(Est):
    X, y = dataset_for(Est)
    reference = LogisticRegression().fit(X, y)
    est = Est().fit(X, y)
    assert isinstance(est.n_iter_, np.ndarray)
    assert est.n_iter_.shape == reference.n_iter_.shape == (1,)
    assert est.n_iter_.dtype == reference.n_iter_.dtype
    assert isinstance(est.n_iter_[0], np.integer) and est.n_iter_[0] >= 1


INPUT_CONVERSIONS = [
    pytest.param(lambda X: X.astype(np.float32), id="dense-float32"),
    pytest.param(lambda X: X.astype(np.float64), id="dense-float64"),
    pytest.param(lambda X: sp.csr_matrix(X.astype(np.float32)), id="csr-float32"),
    pytest.param(lambda X: sp.csr_matrix(X.astype(np.float64)), id="csr-float64"),
]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("convert", INPUT_CONVERSIONS)
def test_dtypes_follow_logistic_regression(Est, convert):
    X, y = dataset_for(Est)
    X_fit = convert(X)
    reference = LogisticRegression().fit(X_fit, y)
    est = Est().fit(X_fit, y)
    assert est.coef_.dtype == reference.coef_.dtype
    assert est.intercept_.dtype == reference.intercept_.dtype
    # LogisticRegression's float32 log-probabilities underflow to log(0) on a
    # few rows: harmless here, only their dtype is compared.
    with np.errstate(divide="ignore"):
        for method in ("decision_function", "predict_proba", "predict_log_proba"):
            expected = getattr(reference, method)(X_fit).dtype
            assert getattr(est, method)(X_fit).dtype == expected, method


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_float32_fit_does_not_copy_X_to_float64(Est):
    # The bound allows one X-sized float32 temporary (e.g. a weighted copy
    # for a Gram block) plus the O(n) per-row vectors. With 200 features X
    # dominates those vectors, so that a float64 copy of X alone (2 * X.nbytes,
    # 1,600 bytes per row) exceeds the bound (1,280 bytes per row).
    n_samples, n_features = 20_000, 200
    X, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=10, random_state=0)
    if not is_binary(Est):
        y = np.random.default_rng(0).integers(0, 3, n_samples)
    X = np.ascontiguousarray(X, dtype=np.float32)
    # A first fit imports and initialises whatever the fit needs, so that
    # only the fit's own arrays are traced below.
    Est(n_shards=1).fit(X[:2000], y[:2000])

    tracemalloc.start()
    try:
        Est(n_shards=1).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = 1.1 * X.nbytes + 400 * n_samples
    assert 2 * X.nbytes > bound  # the bound does catch a float64 copy
    assert peak < bound, f"peak {peak / X.nbytes:.2f} x X.nbytes during a float32 fit"


# -- float32 fits reach the float64 optimum ------------------------------------------------
@pytest.mark.parametrize("C", [1.0, 100.0])
@pytest.mark.parametrize(
    "Est, name",
    [
        (DingoLogisticRegression, "breast_cancer"),
        (DingoSoftmaxRegression, "iris"),
        (DingoSoftmaxRegression, "wine"),
    ],
)
def test_float32_fit_reaches_the_float64_optimum(Est, name, C):
    X, y = dataset(name)
    reference = sklearn_optimum(name, C)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = Est(C=C).fit(X.astype(np.float32), y)
    f = functools.partial(objective, X=X, y=y, C=C, binary=is_binary(Est))
    f_dingo = f(est.coef_.astype(np.float64), est.intercept_.astype(np.float64))
    f_optimum = f(reference.coef_, reference.intercept_)
    # Measured: rounding the data to float32 moves the optimum's objective by
    # about 1e-12 relative on these problems, far below the tolerance.
    assert abs(f_dingo - f_optimum) <= 1e-6 * abs(f_optimum), (f_dingo, f_optimum)


# -- edge values of the budget -------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_max_iter_zero_warns_and_keeps_the_starting_point(Est):
    X, y = dataset_for(Est)
    with pytest.warns(ConvergenceWarning):
        reference = LogisticRegression(max_iter=0).fit(X, y)
    est = Est(max_iter=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_[0] == reference.n_iter_[0] == 0
    assert est.coef_.shape == reference.coef_.shape and est.coef_.dtype == reference.coef_.dtype
    assert est.intercept_.shape == reference.intercept_.shape
    # The starting point is zero (as lbfgs's w0). LogisticRegression's own
    # coefficients are not compared: SciPy's L-BFGS-B takes one step even
    # with maxiter=0, and scikit-learn still reports n_iter_ = 0.
    assert_array_equal(est.coef_, 0.0)
    assert_array_equal(est.intercept_, 0.0)


def test_zero_tol_is_accepted_and_reaches_the_optimum():
    X, y = dataset("breast_cancer")
    reference = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        # A gradient norm of exactly 0 is out of reach: the fit may end with a
        # ConvergenceWarning or stop silently; either is accepted.
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = DingoLogisticRegression(C=1.0, tol=0.0).fit(X, y)
    assert relative_error(est.coef_, reference.coef_) <= 1e-5
    assert relative_error(est.intercept_, reference.intercept_) <= 1e-5


# -- sparsify / densify ---------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_sparsify_and_densify_as_logistic_regression(Est):
    X, y = dataset_for(Est)
    reference = LogisticRegression().fit(X, y)
    assert reference.sparsify() is reference

    est = Est().fit(X, y)
    dense_coef = est.coef_.copy()
    proba, scores = est.predict_proba(X), est.decision_function(X)

    assert est.sparsify() is est
    assert sp.issparse(est.coef_)
    assert type(est.coef_) is type(reference.coef_)
    assert_allclose(est.predict_proba(X), proba, rtol=1e-12, atol=1e-12)
    assert_allclose(est.decision_function(X), scores, rtol=1e-12, atol=1e-12)

    assert est.densify() is est
    assert isinstance(est.coef_, np.ndarray)
    assert_array_equal(est.coef_, dense_coef)

    # A sparsified model can be fitted again (cold start), as LogisticRegression.
    assert isinstance(reference.fit(X, y).coef_, np.ndarray)
    est.sparsify().fit(X, y)
    assert isinstance(est.coef_, np.ndarray)
    assert_allclose(est.coef_, dense_coef, rtol=1e-10, atol=1e-12)


# -- callbacks (sklearn.callback) -----------------------------------------------------------
# LogisticRegression runs each check too: it shows scikit-learn's behaviour.
WITH_LOGISTIC_REGRESSION = [
    pytest.param(LogisticRegression, "breast_cancer", id="LogisticRegression"),
    pytest.param(DingoLogisticRegression, "breast_cancer", id="DingoLogisticRegression"),
    pytest.param(DingoSoftmaxRegression, "iris", id="DingoSoftmaxRegression"),
]


@pytest.mark.parametrize("Est, name", WITH_LOGISTIC_REGRESSION)
def test_progress_bar_callback(Est, name):
    pytest.importorskip("rich")  # ProgressBar's optional dependency
    X, y = dataset(name)
    est = Est().set_callbacks(ProgressBar()).fit(X, y)
    assert est.score(X, y) > 0.9


def _iteration_scores(monitor):
    """The scores of the tasks that are children of the root "fit" task."""
    rows = monitor.get_logs().data
    return [row for row in rows if len(row["task_id_path"]) == 2]


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_scoring_monitor_records_one_score_per_iteration(Est):
    X, y = dataset_for(Est)
    # How many per-iteration rows LogisticRegression logs for n_iter_
    # iterations (the lbfgs bridge's trailing empty subtask logs nothing).
    reference_monitor = ScoringMonitor(scoring="accuracy")
    reference = LogisticRegression().set_callbacks(reference_monitor).fit(X, y)
    extra_rows = len(_iteration_scores(reference_monitor)) - int(reference.n_iter_[0])

    monitor = ScoringMonitor(scoring="accuracy")
    est = Est().set_callbacks(monitor).fit(X, y)
    rows = _iteration_scores(monitor)
    assert len(rows) == int(est.n_iter_[0]) + extra_rows
    for row in rows:
        assert isinstance(row["accuracy"], float) and 0.0 <= row["accuracy"] <= 1.0


class RecordingStopCallback:
    """A FitCallback that counts its hooks and asks to stop after ``stop_after`` iterations.

    Iterations are the tasks that are children of the root "fit" task.
    ``stop_after=None`` never asks to stop.
    """

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.n_setup = self.n_teardown = self.n_iterations_ended = 0
        self.begun, self.ended = [], []

    def setup(self, estimator, context):
        self.n_setup += 1

    def teardown(self, estimator, context):
        self.n_teardown += 1

    @staticmethod
    def _path(context):
        path = []
        while context is not None:
            path.append(context.task_id)
            context = context.parent
        return tuple(reversed(path))

    def on_fit_task_begin(self, estimator, context):
        self.begun.append(self._path(context))

    def on_fit_task_end(self, estimator, context):
        self.ended.append(self._path(context))
        if context.parent is None or context.parent.parent is not None:
            return False
        self.n_iterations_ended += 1
        return self.n_iterations_ended == self.stop_after


@pytest.mark.parametrize("Est, name", WITH_LOGISTIC_REGRESSION)
def test_callback_hooks_pair_up_and_setup_runs_once_per_fit(Est, name):
    X, y = dataset(name)
    callback = RecordingStopCallback()
    est = Est().set_callbacks(callback).fit(X, y)
    assert (callback.n_setup, callback.n_teardown) == (1, 1)
    # Every task that began also ended (scikit-learn's protocol).
    assert sorted(callback.begun) == sorted(callback.ended)
    assert callback.n_iterations_ended >= int(est.n_iter_[0])
    est.fit(X, y)
    assert (callback.n_setup, callback.n_teardown) == (2, 2)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_callback_can_stop_the_fit(Est):
    # C=100 and a tight tol: more than 3 iterations without the stop.
    X, y = dataset("breast_cancer" if is_binary(Est) else "wine")
    assert Est(C=100.0, tol=1e-10).fit(X, y).n_iter_[0] > 3
    callback = RecordingStopCallback(stop_after=3)
    est = Est(C=100.0, tol=1e-10).set_callbacks(callback)
    with warnings.catch_warnings():
        # A stop the user asked for is not a convergence failure.
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.n_iter_[0] == 3
    assert est.stop_reason_ == "a callback requested to stop"
    assert (callback.n_setup, callback.n_teardown) == (1, 1)
    assert sorted(callback.begun) == sorted(callback.ended)


class EarlyStoppingMonitor(ScoringMonitor):
    """A ScoringMonitor that asks to stop once the training accuracy reaches ``target``."""

    def __init__(self, *, target):
        super().__init__(scoring="accuracy")
        self.target = target

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator=None, metadata=None):
        super().on_fit_task_end(
            estimator, context, X=X, y=y, fitted_estimator=fitted_estimator, metadata=metadata
        )
        iteration = context.parent is not None and context.parent.parent is None
        return bool(iteration and fitted_estimator is not None and fitted_estimator.score(X, y) >= self.target)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_scoring_monitor_that_stops_early(Est):
    X, y = dataset("breast_cancer" if is_binary(Est) else "wine")
    # the accuracy after each iteration of the whole fit, logged by a plain monitor
    monitor = ScoringMonitor(scoring="accuracy")
    full = Est(C=100.0, tol=1e-10).set_callbacks(monitor).fit(X, y)
    accuracies = [row["accuracy"] for row in _iteration_scores(monitor)][: int(full.n_iter_[0])]
    target = accuracies[1]
    first_there = next(t for t, accuracy in enumerate(accuracies, start=1) if accuracy >= target)
    assert first_there < full.n_iter_[0]

    est = Est(C=100.0, tol=1e-10).set_callbacks(EarlyStoppingMonitor(target=target))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.n_iter_[0] == first_there
    assert est.stop_reason_ == "a callback requested to stop" and not est.converged_
    assert est.score(X, y) >= target


# -- parameter validation -------------------------------------------------------------------
SHARED_BAD_PARAMETERS = [
    ("C", -1),
    ("C", 0),
    ("C", "a"),
    ("C", np.nan),
    ("tol", -1),
    ("tol", "a"),
    ("max_iter", -1),
    ("max_iter", 1.5),
    ("fit_intercept", "yes"),
    ("fit_intercept", 1),
    ("class_weight", "equal"),
    ("warm_start", "yes"),
    ("warm_start", 1),
    ("verbose", -1),
    ("verbose", "loud"),
    ("verbose", 1.5),
]

DINGO_BAD_PARAMETERS = [
    ("max_rounds", 0),
    ("max_rounds", -1),
    ("max_rounds", 1.5),
    ("theta", 0),
    ("theta", -1),
    ("phi", 0),
    ("rho", 0),
    ("rho", 0.5),
    ("rho", 1.0),
    ("subproblem_solver", "nope"),
    ("subproblem_tol", 0),
    ("subproblem_max_iter", 0),
    ("hessian_precision", "double"),
    ("secant_memory", -1),
    ("n_shards", 0),
    ("rebalance", "sometimes"),
    ("backend", "spark"),
    ("tol", -1),
    ("max_iter", -1),
    ("max_iter", 1.5),
]


def _param_ids(cases):
    return [f"{name}={value!r}" for name, value in cases]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("name, value", SHARED_BAD_PARAMETERS, ids=_param_ids(SHARED_BAD_PARAMETERS))
def test_shared_bad_parameter_raises_as_logistic_regression(Est, name, value):
    X, y = dataset_for(Est)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of LogisticRegression must be"):
        LogisticRegression(**{name: value}).fit(X, y)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {Est.__name__} must be"):
        Est(**{name: value}).fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("name, value", DINGO_BAD_PARAMETERS, ids=_param_ids(DINGO_BAD_PARAMETERS))
def test_dingo_bad_parameter_raises_invalid_parameter_error(Est, name, value):
    X, y = dataset_for(Est)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {Est.__name__} must be"):
        Est(**{name: value}).fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_unknown_keyword_names_the_public_class(Est):
    with pytest.raises(TypeError, match=Est.__name__) as excinfo:
        Est(foo=1)
    assert "_BaseDingoClassifier" not in str(excinfo.value)


# -- warnings --------------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_convergence_warning_points_at_the_caller(Est):
    X, y = dataset_for(Est)
    est = Est(max_iter=1, tol=1e-12)
    with pytest.warns(ConvergenceWarning) as record:
        est.fit(X, y)
    assert [w.filename for w in convergence_warnings(record)] == [__file__]


@pytest.mark.parametrize(
    "Est, name", [(DingoLogisticRegression, "breast_cancer"), (DingoSoftmaxRegression, "iris")]
)
def test_huge_feature_scales_do_not_overflow(Est, name):
    X, y = dataset(name)
    X_huge = X * 1e150
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)  # an overflow fails the test
        est = Est(C=100.0).fit(X_huge, y)
        if not convergence_warnings(record):
            # The scale is absorbed by the coefficients: the model classifies.
            assert est.score(X_huge, y) >= 0.9


# -- array API ---------------------------------------------------------------------------------
@pytest.fixture
def array_api_dispatch(monkeypatch):
    # scikit-learn refuses array API dispatch unless SciPy's switch is set;
    # it reads the variable when dispatch is enabled, and nothing here hands
    # non-NumPy arrays to SciPy.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    with sklearn.config_context(array_api_dispatch=True):
        yield


@pytest.mark.parametrize("Est, name", [(DingoLogisticRegression, "breast_cancer"), (DingoSoftmaxRegression, "wine")])
@pytest.mark.parametrize("dtype_name, rtol", [("float32", 1e-5), ("float64", 1e-10)])
def test_array_api_inputs_give_array_api_attributes(Est, name, dtype_name, rtol, array_api_dispatch):
    xp = pytest.importorskip("array_api_strict")
    X, y = dataset(name)
    X = X.astype(dtype_name)
    X_xp, y_xp = xp.asarray(X), xp.asarray(y)
    params = dict(C=1.0, n_shards=2)
    with sklearn.config_context(array_api_dispatch=False):
        numpy_fit = Est(**params).fit(X, y)
    reference = LogisticRegression().fit(X_xp, y_xp)
    est = Est(**params).fit(X_xp, y_xp)

    for attribute in ("coef_", "intercept_"):
        value, expected = getattr(est, attribute), getattr(reference, attribute)
        assert type(value).__module__.startswith("array_api_strict"), type(value)
        assert type(value) is type(expected)
        assert value.dtype == X_xp.dtype == expected.dtype
        assert relative_error(np.asarray(value), getattr(numpy_fit, attribute)) <= rtol

    assert type(est.predict_proba(X_xp)) is type(X_xp)
    assert type(est.predict(X_xp)) is type(X_xp)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_array_api_support_tag_as_logistic_regression(Est):
    assert LogisticRegression().__sklearn_tags__().array_api_support is True
    assert Est().__sklearn_tags__().array_api_support is True


# -- verbose ----------------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_verbose_ends_with_a_summary_line(Est, capsys):
    X, y = dataset_for(Est)
    est = Est(verbose=1).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    summary = lines[-1]
    assert est.stop_reason_ in summary
    for number in (int(est.n_iter_[0]), int(est.n_communication_rounds_)):
        # The number as a whole, plain or with thousands separators.
        spellings = (re.escape(str(number)), re.escape(f"{number:,}"))
        assert any(re.search(rf"(?<![\d.,]){s}(?!\d|[.,]\d)", summary) for s in spellings), (number, summary)


# -- softmax null space -------------------------------------------------------------------------
@functools.cache
def ten_class_problem():
    # 30,000 x 40 per shard with n_shards=2: over 2**20 entries, so that the
    # shards' Hessians are float32 under hessian_precision="auto" too.
    X, y = make_classification(n_samples=60_000, n_features=40, n_informative=20, n_classes=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    return X, y


@pytest.mark.slow  # digits, four fits
@pytest.mark.parametrize("hessian_precision", ["auto", "single"])
@pytest.mark.parametrize("subproblem_solver", ["exact", "krylov"])
def test_softmax_solution_is_centred_with_float32_hessians(subproblem_solver, hessian_precision):
    # Adding one vector to every class's (coef, intercept) leaves the
    # multinomial loss unchanged; the L2 penalty picks the centred solution
    # for coef_, and scikit-learn's intercepts are centred too. Rounding in
    # float32 Hessians must not push the iterates along that null space.
    X, y = ten_class_problem()
    est = DingoSoftmaxRegression(
        C=1.0,
        tol=1e-8,
        n_shards=2,
        subproblem_solver=subproblem_solver,
        hessian_precision=hessian_precision,
    ).fit(X, y)
    intercept, coef = est.intercept_, est.coef_
    assert abs(intercept.sum()) <= 1e-8 * max(1.0, np.abs(intercept).max())
    assert np.abs(coef.sum(axis=0)).max() <= 1e-8 * max(1.0, np.abs(coef).max())


# -- warm starts resolve the gradient as a cold start does ---------------------
# The resolution of the data's precision is scaled by ‖∇f(0)‖, a property of the
# problem: a warm start that begins at the resolution recognises it instead of
# failing its line search (scikit-learn's test_logistic_regression_array_api_warm_start).


@pytest.mark.parametrize("Est, binary", [(DingoLogisticRegression, True), (DingoSoftmaxRegression, False)])
@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_float32_warm_start_at_the_resolution_converges_to_logistic_regression(Est, binary):
    iris = load_iris()
    X = iris.data.astype(np.float32)
    y = iris.target > 0 if binary else iris.target
    est = Est(C=1e-2, tol=1e-8, warm_start=True).fit(X, y)
    first = est.coef_.copy()
    est.fit(X, y)  # starts at the first fit's solution, ‖g_0‖ already ~1e-7
    assert est.converged_, est.stop_reason_
    # Two or three iterations, by where rounding left the first fit (a
    # batched and a single trial's float32 gradient round differently).
    assert est.n_iter_[0] <= 3
    ref = LogisticRegression(C=1e-2, tol=1e-8, max_iter=1000).fit(X, y)
    # Measured: |Δcoef| ≤ 5e-5, |Δproba| ≤ 4.5e-5 (softmax), ≤ 1e-6 (binary):
    # scikit-learn's own float32 fit is the less accurate of the two (DINGO's
    # probabilities agree with lbfgs on float64 data to 2.3e-7).
    assert_allclose(est.coef_, ref.coef_, atol=1e-4)
    assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-4)
    assert_allclose(est.coef_, first, atol=1e-5)


def _namespace(name):
    if name == "numpy":
        return np
    return pytest.importorskip("array_api_strict")


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize("namespace", ["numpy", "array_api_strict"])
@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_with_array_api_inputs(binary, dtype_name, namespace, monkeypatch):
    # Port of scikit-learn's test_logistic_regression_array_api_warm_start, at
    # its tol and at a tight one.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    xp = _namespace(namespace)
    iris = load_iris()
    X_np = iris.data.astype(dtype_name, copy=True)
    y_np = ((iris.target > 0) if binary else iris.target).astype(dtype_name)
    X, y = xp.asarray(X_np), xp.asarray(y_np)
    Est = DingoLogisticRegression if binary else DingoSoftmaxRegression
    for tol in (1e-4, 1e-8):
        with sklearn.config_context(array_api_dispatch=True):
            est = Est(C=1e-2, max_iter=300, tol=tol, warm_start=True)
            est.fit(X, y)
            est.predict(X)
            est.fit(X, y)
            assert est.converged_, est.stop_reason_
            assert type(est.predict(X)) is type(X)
