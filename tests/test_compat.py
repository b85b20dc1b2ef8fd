"""The private APIs of other libraries that ``sklearn_dingo._compat`` touches, one test each.

Each test asserts that the API exists and behaves as the package relies on
it: a scikit-learn or Dask release that changes one fails the test named
after it, not a user's fit.
"""

import inspect
import subprocess
import sys
import time
from numbers import Real

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.callback import CallbackContext, CallbackSupportMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, get_scorer, log_loss, make_scorer

from sklearn_dingo import _compat

# -- scikit-learn: parameter validation and the fit context ----------------------------------


class _Validated(BaseEstimator):
    """A toy estimator with constraints of each kind the package's estimators use."""

    _parameter_constraints: dict = {
        "C": [_compat.Interval(Real, 0, None, closed="right")],
        "solver": [_compat.StrOptions({"auto", "exact"})],
        "flag": ["boolean"],
        "verbose": ["verbose"],
        "cv": ["cv_object"],
    }

    def __init__(self, C=1.0, solver="auto", flag=True, verbose=0, cv=None):
        self.C = C
        self.solver = solver
        self.flag = flag
        self.verbose = verbose
        self.cv = cv

    @_compat.fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        self.caller_file_ = sys._getframe(1).f_code.co_filename
        self.nested_validation_skipped_ = sklearn.get_config()["skip_parameter_validation"]
        return self


def test_fit_context_validates_the_constraints_and_wraps_fit_in_its_file():
    fitted = _Validated(C=2.0, solver="exact", flag=False, verbose=1, cv=3).fit()
    assert fitted.nested_validation_skipped_ is True
    # warn_at_caller skips the wrapper's frames by this file name
    assert fitted.caller_file_ == _compat.FIT_CONTEXT_FILENAME
    for bad in (dict(C=0.0), dict(C="1"), dict(solver="lbfgs"), dict(flag="yes"), dict(cv="five")):
        name = next(iter(bad))
        with pytest.raises(_compat.InvalidParameterError, match=f"'{name}' parameter of _Validated"):
            _Validated(**bad).fit()


def test_invalid_parameter_error_is_a_value_and_type_error():
    assert issubclass(_compat.InvalidParameterError, ValueError)
    assert issubclass(_compat.InvalidParameterError, TypeError)


# -- scikit-learn: input validation -----------------------------------------------------------


def test_check_sample_weight_gives_float64_and_rejects_negative_or_misshapen_weights():
    X = np.zeros((3, 2))
    assert_array_equal(_compat.check_sample_weight(None, X), np.ones(3))
    weights = _compat.check_sample_weight([1, 2, 3], X)
    assert weights.dtype == np.float64
    assert_array_equal(weights, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Negative values in data passed to `?sample_weight"):
        _compat.check_sample_weight([1.0, -1.0, 1.0], X)
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2,\), expected \(3,\)"):
        _compat.check_sample_weight([1.0, 1.0], X)


def test_feature_names_of_follows_scikit_learns_rule():
    pd = pytest.importorskip("pandas")
    assert_array_equal(_compat.feature_names_of(pd.DataFrame({"a": [1.0], "b": [2.0]})), ["a", "b"])
    assert _compat.feature_names_of(np.zeros((1, 2))) is None
    assert _compat.feature_names_of(pd.DataFrame(np.zeros((1, 2)))) is None  # integer column names
    with pytest.raises(TypeError, match="Feature names are only supported if all input features have string"):
        _compat.feature_names_of(pd.DataFrame({"a": [1.0], 0: [2.0]}))


# -- scikit-learn: array API -----------------------------------------------------------------


def test_move_to_numpy_brings_arrays_to_the_host():
    x = np.arange(6.0).reshape(2, 3)
    moved = _compat.move_to_numpy(x)
    assert isinstance(moved, np.ndarray)
    assert_array_equal(moved, x)
    xps = pytest.importorskip("array_api_strict")
    moved = _compat.move_to_numpy(xps.asarray(x))
    assert type(moved) is np.ndarray
    assert_array_equal(moved, x)


def test_check_same_namespace_raises_only_under_dispatch_for_another_namespace(monkeypatch):
    xps = pytest.importorskip("array_api_strict")
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    X_strict = xps.asarray(np.ones((2, 1)))
    _compat.check_same_namespace(X_strict, model, attribute="coef_", method="predict")  # dispatch off: no check
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    with sklearn.config_context(array_api_dispatch=True):
        _compat.check_same_namespace(np.ones((2, 1)), model, attribute="coef_", method="predict")
        with pytest.raises(ValueError, match=r"LogisticRegression\.predict\(\) must use the same namespace"):
            _compat.check_same_namespace(X_strict, model, attribute="coef_", method="predict")


# -- scikit-learn: scorers -------------------------------------------------------------------


def test_scorer_parts_of_log_loss_and_accuracy_scorers():
    assert _compat.scorer_parts(get_scorer("neg_log_loss")) == (log_loss, False, "predict_proba", {})
    assert _compat.scorer_parts(get_scorer("accuracy")) == (accuracy_score, True, "predict", {})
    assert _compat.scorer_parts(lambda estimator, X, y: 0.0) is None  # a plain callable: used as it is


def test_scorer_rebuilt_from_its_parts_takes_the_labels():
    """As the CV estimators do: a fold's held-out rows may miss a class; the rebuilt scorer is told all."""
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(X, y)
    scorer = get_scorer("neg_brier_score")
    parts = _compat.scorer_parts(scorer)
    assert parts.score_func is brier_score_loss and not parts.greater_is_better
    assert "labels" in inspect.signature(parts.score_func).parameters
    rebuilt = make_scorer(
        parts.score_func, greater_is_better=parts.greater_is_better, response_method=parts.response_method,
        labels=model.classes_, pos_label=model.classes_[-1], **parts.kwargs,
    )
    assert rebuilt(model, X, y) == pytest.approx(scorer(model, X, y))
    held_out = slice(2, None)  # one class only
    p = model.predict_proba(X[held_out])[:, 1]
    assert rebuilt(model, X[held_out], y[held_out]) == pytest.approx(-np.mean((1.0 - p) ** 2))


# -- scikit-learn: callbacks -----------------------------------------------------------------


class _Recorder:
    """A fit callback that records the hooks called."""

    def __init__(self):
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append("setup")

    def teardown(self, estimator, context):
        self.calls.append("teardown")

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.calls.append(f"begin {context.task_name}")

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.calls.append(f"end {context.task_name}")
        return False


class _WithCallbacks(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    _parameter_constraints: dict = {}

    @_compat.fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        context = _compat.init_callback_context(self, max_subtasks=1)
        assert isinstance(context, CallbackContext)
        context.call_on_fit_task_begin(estimator=self)
        sub = context.subcontext(task_name="iteration")
        sub.call_on_fit_task_begin(estimator=self)
        sub.call_on_fit_task_end(estimator=self)
        context.call_on_fit_task_end(estimator=self)
        return self


def test_callbacks_are_found_and_their_context_opened_and_closed():
    assert not _compat.has_callbacks(_WithCallbacks())
    recorder = _Recorder()
    estimator = _WithCallbacks().set_callbacks(recorder)
    assert _compat.has_callbacks(estimator)
    estimator.fit()
    assert recorder.calls == ["setup", "begin fit", "begin iteration", "end iteration", "end fit", "teardown"]
    assert not _compat.has_callbacks(estimator.set_callbacks())


# -- distributed: the scheduler's event topics ----------------------------------------------


def _on_scheduler(client, func, *args):
    return client.run_on_scheduler(func, *args)


def _topic_state(topic, dask_scheduler=None):
    """``(present, events, subscribers)`` of ``topic`` where ``_compat`` looks for it."""
    topics = _compat.event_topics(dask_scheduler)
    if topic not in topics:
        return False, 0, 0
    return True, len(topics[topic].events), len(topics[topic].subscribers)


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_event_topics_hold_posted_events_and_forget_event_topic_drops_them(cluster_client):
    topic = f"dingo-compat-test-{time.monotonic_ns()}"
    received = []
    cluster_client.subscribe_topic(topic, received.append)
    try:
        # the subscription travels on the client's stream, the event on another connection
        _wait_for(lambda: _on_scheduler(cluster_client, _topic_state, topic) == (True, 0, 1))
        cluster_client.log_event(topic, {"n": 1})
        _wait_for(lambda: received and _on_scheduler(cluster_client, _topic_state, topic) == (True, 1, 1))
        # While the channel listens: the events go, the topic and its subscriber stay.
        _on_scheduler(cluster_client, _compat.forget_event_topic, topic, True)
        assert _on_scheduler(cluster_client, _topic_state, topic) == (True, 0, 1)
        cluster_client.log_event(topic, {"n": 2})
        _wait_for(lambda: len(received) == 2)
        assert [message for _, message in received] == [{"n": 1}, {"n": 2}]
    finally:
        cluster_client.unsubscribe_topic(topic)
    # At the channel's close: the topic goes.
    _on_scheduler(cluster_client, _compat.forget_event_topic, topic)
    assert _on_scheduler(cluster_client, _topic_state, topic) == (False, 0, 0)


# -- no Dask in process ------------------------------------------------------------------------


def test_the_package_and_an_in_process_fit_import_no_dask():
    """``_compat`` reaches Dask's private structures only inside functions: importing it imports no Dask."""
    code = (
        "import sys, numpy as np\n"
        "import sklearn_dingo, sklearn_dingo._compat\n"
        "assert not {'dask', 'distributed'} & set(sys.modules), 'imported with the package'\n"
        "X = np.random.default_rng(0).standard_normal((200, 3)); y = (X[:, 0] > 0).astype(int)\n"
        "sklearn_dingo.DingoLogisticRegression().fit(X, y)\n"
        "sklearn_dingo.DingoLogisticRegressionCV(Cs=2, cv=2).fit(X, y)\n"
        "assert not {'dask', 'distributed'} & set(sys.modules), 'imported by an in-process fit'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
