"""Tests of the scikit-learn face: DingoLogisticRegression and DingoSoftmaxRegression.

Numbers are checked against independent references: scikit-learn's
``LogisticRegression`` solution (same objective and C) and the objective of
``tests/_estimator_refs.py``, written from the formula.
"""

import functools
import math
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _estimator_refs import objective, relative_error
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._compat import InvalidParameterError  # scikit-learn's, private

ESTIMATORS = [DingoLogisticRegression, DingoSoftmaxRegression]

# Tight enough that DINGO's solution is scikit-learn's to far below the
# tolerances asserted, loose enough that every fit below converges.
TIGHT = dict(tol=1e-10, max_iter=500)


# -- data ----------------------------------------------------------------------------
def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


@functools.cache
def dataset(name):
    """(X, y) standardised, read-only (a fit must not write into its input).

    All four are standardised because lbfgs struggles on the raw features:
    on raw wine (scales from 0.1 to 1,000) ``LogisticRegression(tol=1e-12)``
    took 2,300-13,000 iterations and at C=100 stopped at its evaluation
    limit with an objective 2.5e-4 (relative) above DINGO's; on raw digits
    it took 2,800 iterations (C=0.01, over a minute), where DINGO with
    default sharding did not reach tol=1e-10 within 500 iterations.
    """
    loader = dict(breast_cancer=load_breast_cancer, digits=load_digits, iris=load_iris, wine=load_wine)[name]
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return _readonly(np.ascontiguousarray(X), y)


@functools.cache
def random_weights(n):
    """Seeded positive weights with about a fifth exactly zero."""
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.5, 2.0, n)
    sw[rng.random(n) < 0.2] = 0.0
    return _readonly(sw)[0]


@functools.cache
def binary_problem(n_samples=200, n_features=5, seed=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=3, n_redundant=0, random_state=seed
    )
    return _readonly(X, y)


@functools.cache
def multiclass_problem(n_samples=300, n_features=6, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return _readonly(X, y)


def problem_for(Est):
    return binary_problem() if Est is DingoLogisticRegression else multiclass_problem()


def is_binary(Est):
    return Est is DingoLogisticRegression


# -- agreement with scikit-learn ---------------------------------------------------------------
DATASETS = {
    # name: estimator. Every (C, fit_intercept, variant) runs on each, except
    # digits (D = 650, a few seconds per pair of fits), whose weighted, balanced
    # and CSR variants run at C = 1 with intercept only.
    "breast_cancer": DingoLogisticRegression,
    "iris": DingoSoftmaxRegression,
    "wine": DingoSoftmaxRegression,
    "digits": DingoSoftmaxRegression,
}
VARIANTS = ["plain", "sample_weight", "balanced", "weighted_balanced", "csr"]


def agreement_cases():
    for name in DATASETS:
        for C in (0.01, 1.0, 100.0):
            for fit_intercept in (True, False):
                for variant in VARIANTS:
                    if name == "digits" and variant != "plain" and (C, fit_intercept) != (1.0, True):
                        continue
                    yield pytest.param(
                        name, C, fit_intercept, variant, id=f"{name}-C{C:g}-fi{fit_intercept:d}-{variant}",
                        # digits: seconds per case; the weighted, balanced and CSR variants run
                        # quickly at C = 1, at C = 0.01 and 100 they are the long part of the sweep
                        marks=pytest.mark.slow if name == "digits" or (variant != "plain" and C != 1.0) else (),
                    )


def _fit_kwargs(name, variant):
    X, y = dataset(name)
    sample_weight = random_weights(len(y)) if variant in ("sample_weight", "weighted_balanced") else None
    class_weight = "balanced" if variant in ("balanced", "weighted_balanced") else None
    return sample_weight, class_weight


@functools.cache
def sklearn_reference(name, C, fit_intercept, variant):
    """scikit-learn's solution; the CSR variant shares the dense one."""
    if variant == "csr":
        variant = "plain"
    X, y = dataset(name)
    sample_weight, class_weight = _fit_kwargs(name, variant)
    ref = LogisticRegression(
        C=C, tol=1e-12, max_iter=50_000, fit_intercept=fit_intercept, class_weight=class_weight
    )
    return ref.fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("name, C, fit_intercept, variant", list(agreement_cases()))
def test_matches_sklearn_logistic_regression(name, C, fit_intercept, variant):
    X, y = dataset(name)
    sample_weight, class_weight = _fit_kwargs(name, variant)
    Est = DATASETS[name]
    binary = is_binary(Est)
    ref = sklearn_reference(name, C, fit_intercept, variant)

    est = Est(C=C, fit_intercept=fit_intercept, class_weight=class_weight, **TIGHT)
    X_fit = sp.csr_matrix(X) if variant == "csr" else X
    est.fit(X_fit, y, sample_weight=sample_weight)
    assert est.converged_, est.stop_reason_

    f = functools.partial(
        objective, X=X, y=y, C=C, sample_weight=sample_weight, class_weight=class_weight, binary=binary
    )
    f_dingo = f(est.coef_, est.intercept_)
    f_ref = f(ref.coef_, ref.intercept_)
    assert f_dingo <= f_ref + 1e-10 * abs(f_ref), (f_dingo, f_ref)
    # The history's last objective is the one reached.
    assert_allclose(est.history_["loss"][-1], f_dingo, rtol=1e-12)

    assert_allclose(est.predict_proba(X_fit), ref.predict_proba(X), rtol=0, atol=1e-5)
    assert_array_equal(est.classes_, ref.classes_)
    assert est.coef_.shape == ref.coef_.shape
    assert est.intercept_.shape == ref.intercept_.shape
    assert relative_error(est.coef_, ref.coef_) <= 1e-4

    intercept, ref_intercept = est.intercept_, ref.intercept_
    if not fit_intercept:
        assert_array_equal(intercept, 0.0)
    elif not binary:
        # The softmax intercepts are determined up to a common constant.
        intercept, ref_intercept = intercept - intercept.mean(), ref_intercept - ref_intercept.mean()
    assert relative_error(intercept, ref_intercept) <= 1e-4


@pytest.mark.slow  # digits
@pytest.mark.parametrize("solver", ["krylov", "exact"])
@pytest.mark.parametrize("precision", ["single", "full"])
def test_hessian_precision_does_not_change_the_solution(precision, solver):
    # Sub-problems on digits (D = 650): float32 Hessian products or Gram
    # blocks only change the inner solves, never the gradient the stopping
    # test uses.
    X, y = dataset("digits")
    ref = sklearn_reference("digits", 1.0, True, "plain")
    est = DingoSoftmaxRegression(
        C=1.0, tol=1e-9, subproblem_solver=solver, hessian_precision=precision
    ).fit(X, y)
    assert est.converged_, est.stop_reason_
    f = functools.partial(objective, X=X, y=y, C=1.0, binary=False)
    f_ref = f(ref.coef_, ref.intercept_)
    assert f(est.coef_, est.intercept_) <= f_ref + 1e-10 * abs(f_ref)
    assert relative_error(est.coef_, ref.coef_) <= 1e-4


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_softmax_intercepts_are_centred(name):
    # Documented: the minimum-norm sub-problem solutions keep them centred.
    X, y = dataset(name)
    est = DingoSoftmaxRegression(C=1.0, **TIGHT).fit(X, y)
    assert abs(est.intercept_.sum()) <= 1e-8 * max(1.0, np.abs(est.intercept_).max())


# -- targets -----------------------------------------------------------------------------------
def test_binary_estimator_rejects_multiclass_targets():
    X, y = multiclass_problem()
    with pytest.raises(ValueError, match="DingoSoftmaxRegression") as excinfo:
        DingoLogisticRegression().fit(X, y)
    assert "OneVsRestClassifier" in str(excinfo.value)
    # scikit-learn's wording, which check_classifier_not_supporting_multiclass requires.
    assert "Only binary classification is supported." in str(excinfo.value)


def test_softmax_on_two_classes_has_binary_decision_function():
    # scikit-learn's contract for binary classifiers: one score per sample,
    # positive means classes_[1]; for a logistic model it is the log-odds.
    X, y = binary_problem()
    est = DingoSoftmaxRegression(**TIGHT).fit(X, y)
    assert est.coef_.shape == (2, X.shape[1])
    scores = est.decision_function(X)
    assert scores.shape == (X.shape[0],)
    assert_array_equal(est.classes_[(scores > 0).astype(int)], est.predict(X))
    log_proba = est.predict_log_proba(X)
    assert_allclose(scores, log_proba[:, 1] - log_proba[:, 0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "labels",
    [np.array(["neg", "pos"]), np.array([-3, 7]), np.array([False, True])],
    ids=["str", "int", "bool"],
)
def test_binary_label_types(labels):
    X, y01 = binary_problem()
    y = labels[y01]
    base = DingoLogisticRegression(**TIGHT).fit(X, y01)
    est = DingoLogisticRegression(**TIGHT).fit(X, y)
    assert_array_equal(est.classes_, labels)
    # z = 1 means classes_[1]: the same model as with labels 0/1.
    assert_allclose(est.coef_, base.coef_, rtol=1e-12, atol=1e-14)
    pred = est.predict(X)
    assert pred.dtype == y.dtype
    assert_array_equal(pred, labels[base.predict(X)])
    assert est.score(X, y) == base.score(X, y01)


@pytest.mark.parametrize(
    "labels", [np.array(["a", "b", "c"]), np.array([10, -2, 5])], ids=["str", "int"]
)
def test_softmax_label_types(labels):
    X, y_index = multiclass_problem()
    y = labels[y_index]
    base = DingoSoftmaxRegression(**TIGHT).fit(X, y_index)
    est = DingoSoftmaxRegression(**TIGHT).fit(X, y)
    assert_array_equal(est.classes_, np.sort(labels))
    # Rows of coef_ follow classes_ (sorted labels).
    order = np.argsort(labels)
    assert_allclose(est.coef_, base.coef_[order], rtol=1e-8, atol=1e-10)
    assert_array_equal(est.predict(X), labels[base.predict(X)])


# -- inputs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda X: X.astype(np.float32), id="float32"),
        pytest.param(lambda X: X.astype(np.float64), id="float64"),
        pytest.param(sp.csr_matrix, id="csr"),
        pytest.param(sp.csc_matrix, id="csc"),
        pytest.param(lambda X: sp.csr_matrix(X.astype(np.float32)), id="csr-float32"),
    ],
)
def test_input_formats_give_the_same_model(Est, convert):
    X, y = problem_for(Est)
    X = X.astype(np.float32).astype(np.float64)  # exactly representable in float32
    base = Est(**TIGHT).fit(X, y)
    Xc = convert(X)
    est = Est(**TIGHT).fit(Xc, y)
    assert est.n_features_in_ == X.shape[1]
    # float32 data are fitted in float32 (as scikit-learn keeps them): the
    # model is the same to float32's resolution, stored in float32
    single = Xc.dtype == np.float32
    assert est.coef_.dtype == est.intercept_.dtype == (np.float32 if single else np.float64)
    rtol, atol = (1e-4, 1e-6) if single else (1e-7, 1e-9)
    assert_allclose(est.coef_, base.coef_, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_, base.intercept_, rtol=rtol, atol=atol)
    assert_array_equal(est.predict(Xc), base.predict(X))
    assert_allclose(
        est.predict_proba(Xc), base.predict_proba(X),
        rtol=1e-6 if not single else 1e-4, atol=1e-9 if not single else 1e-6,
    )


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_dataframe_feature_names(Est):
    X, y = problem_for(Est)
    names = [f"feature_{j}" for j in range(X.shape[1])]
    df = pd.DataFrame(X, columns=names)
    est = Est().fit(df, pd.Series(y, name="target"))
    assert_array_equal(est.feature_names_in_, names)
    assert est.n_features_in_ == X.shape[1]
    assert_array_equal(est.predict(df), Est().fit(X, y).predict(X))

    with pytest.raises(ValueError, match="feature names should match those that were passed during fit"):
        est.predict(df.rename(columns={"feature_0": "other"}))
    with pytest.raises(ValueError, match="feature names should match those that were passed during fit"):
        est.predict(df[names[::-1]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(X)

    # Refitting on an array forgets the names, as scikit-learn does.
    assert not hasattr(clone(est).fit(df, y).fit(X, y), "feature_names_in_")
    plain = Est().fit(X, y)
    assert not hasattr(plain, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but .* was fitted without feature names"):
        plain.predict(df)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "convert", [list, pd.Series, lambda w: w.astype(np.float32)], ids=["list", "series", "float32"]
)
def test_sample_weight_containers(Est, convert):
    X, y = problem_for(Est)
    sw = random_weights(len(y))
    base = Est(**TIGHT).fit(X, y, sample_weight=sw)
    est = Est(**TIGHT).fit(X, y, sample_weight=convert(sw.astype(np.float32).astype(np.float64)))
    assert_allclose(est.coef_, base.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_integer_weights_equal_repeated_rows(Est):
    # Weight 2 is a duplicated row, weight 0 a dropped one (same objective).
    X, y = problem_for(Est)
    sw = np.arange(len(y)) % 3
    weighted = Est(**TIGHT).fit(X, y, sample_weight=sw)
    repeated = Est(**TIGHT).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_predict_proba_consistency(Est):
    X, y = problem_for(Est)
    est = Est().fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), len(est.classes_))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_allclose(np.exp(est.predict_log_proba(X)), proba, rtol=1e-12)
    assert_array_equal(est.predict(X), est.classes_[np.argmax(proba, axis=1)])
    scores = est.decision_function(X)
    assert_allclose(scores, (X @ est.coef_.T + est.intercept_).squeeze(), rtol=1e-12)


# -- errors with scikit-learn's wording ---------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "bad, match",
    [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity"), (-np.inf, "Input X contains infinity")],
)
def test_non_finite_X_raises(Est, bad, match):
    X, y = problem_for(Est)
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=match):
        Est().fit(X, y)
    fitted = Est().fit(*problem_for(Est))
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_inconsistent_lengths_raise(Est):
    X, y = problem_for(Est)
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers of samples"):
        Est().fit(X, y[:-1])
    with pytest.raises(ValueError, match=re.escape(f"sample_weight.shape == ({len(y) - 1},), expected ({len(y)},)")):
        Est().fit(X, y, sample_weight=np.ones(len(y) - 1))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_single_class_raises(Est):
    X, _ = problem_for(Est)
    y = np.full(X.shape[0], "only")
    with pytest.raises(
        ValueError, match="needs samples of at least 2 classes in the data, but the data contains only one class"
    ):
        Est().fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_bad_sample_weights_raise(Est):
    X, y = problem_for(Est)
    sw = np.ones(len(y))
    sw[5] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        Est().fit(X, y, sample_weight=sw)
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero number"):
        Est().fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "decision_function"])
def test_predict_before_fit_raises(Est, method):
    with pytest.raises(NotFittedError):
        getattr(Est(), method)(problem_for(Est)[0])


# -- budgets and progress ----------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "budget, reason",
    [(dict(max_iter=1), "max_iter"), (dict(max_rounds=5), "max_rounds")],
    ids=["max_iter", "max_rounds"],
)
def test_budget_exhausted_warns_and_model_is_usable(Est, budget, reason):
    X, y = problem_for(Est)
    est = Est(tol=1e-14, **budget)
    with pytest.warns(ConvergenceWarning) as record:
        est.fit(X, y)
    assert not est.converged_
    assert reason in est.stop_reason_
    messages = [str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1
    assert est.stop_reason_ in messages[0]
    assert est.n_iter_ == 1
    assert est.predict(X).shape == y.shape
    assert set(est.predict(X)) <= set(est.classes_)
    # At w = 0 every class is equally likely: the objective is log K.
    start = math.log(2 if is_binary(Est) else len(est.classes_))
    assert_allclose(est.history_["loss"][0], start, rtol=1e-12)
    reached = objective(est.coef_, est.intercept_, X, y, C=est.C, binary=is_binary(Est))
    assert reached < start
    assert_allclose(est.history_["loss"][-1], reached, rtol=1e-12)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_float32_fit_with_zero_tol_stops_at_the_resolution(Est):
    # tol=0 cannot be met; a float32 fit must end where its gradient stops
    # resolving, long before max_iter, as converged and at scikit-learn's optimum
    X, y = problem_for(Est)
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = Est(tol=0.0, max_iter=200).fit(X32, y)
    assert est.stop_reason_ == (
        "the gradient norm stopped decreasing at the resolution of the data's floating-point precision"
    )
    assert est.converged_ and est.n_iter_[0] < 40
    ref = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X32.astype(np.float64), y)
    binary = Est is DingoLogisticRegression
    f = objective(
        est.coef_.astype(np.float64), est.intercept_.astype(np.float64), X32.astype(np.float64), y,
        C=1.0, binary=binary,
    )
    f_ref = objective(ref.coef_, ref.intercept_, X32.astype(np.float64), y, C=1.0, binary=binary)
    assert f - f_ref <= 1e-7 * abs(f_ref)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_converged_fit_does_not_warn(Est):
    X, y = problem_for(Est)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = Est().fit(X, y)
    assert est.converged_
    assert est.stop_reason_ == "gradient norm reached tol"
    assert est.history_["grad_norm"][-1] <= est.tol


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_verbose_prints_one_line_per_iteration(Est, capsys):
    X, y = problem_for(Est)
    Est(verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""

    est = Est(verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip("\n").splitlines()
    n_iter = int(est.n_iter_[0])
    assert n_iter >= 2
    # a header, one line per iteration, one saying why the fit stopped
    assert len(lines) == 1 + n_iter + 1
    assert est.stop_reason_ in lines[-1] and f"after {n_iter} iterations" in lines[-1]
    assert f"{est.n_communication_rounds_} communication rounds" in lines[-1]
    header = lines[0].lower()
    assert "rounds" in header and "|g|" in header
    for t, line in enumerate(lines[1:-1], start=1):
        fields = line.split()
        assert int(fields[0]) == t
        assert int(fields[1]) == est.history_["rounds"][t]
        grad_norm = est.history_["grad_norm"][t]
        assert any(
            re.fullmatch(r"[-+0-9.eE]+", f) and math.isclose(float(f), grad_norm, rel_tol=1e-2)
            for f in fields[2:]
        ), (line, grad_norm)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_verbose_2_adds_the_case_test_and_line_search(Est, capsys):
    X, y = problem_for(Est)
    est = Est(verbose=2).fit(X, y)
    lines = capsys.readouterr().out.strip("\n").splitlines()
    assert lines[0].split()[-3:] == ["descent", "trials", "spread"]
    for t, line in enumerate(lines[1:-1], start=1):
        descent, trials, spread = line.split()[-3:]
        # the accepted direction passed ⟨p, Hg⟩ ≤ −θ‖g‖²: the ratio is at least 1
        assert float(descent) >= 1.0
        assert math.isclose(float(descent), est.history_["descent_ratio"][t], rel_tol=1e-2)
        assert int(trials) == est.history_["line_search_trials"][t] >= 1


# -- history ------------------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_history_is_a_table(Est):
    X, y = problem_for(Est)
    est = Est(tol=1e-10).fit(X, y)
    table = pd.DataFrame(est.history_)
    assert len(table) == est.n_iter_[0] + 1
    expected = {"iteration", "rounds", "bytes_down", "bytes_up", "case", "step_size", "loss", "grad_norm", "time"}
    assert expected <= set(table.columns)
    assert_array_equal(table["iteration"], np.arange(est.n_iter_[0] + 1))
    assert np.all(np.diff(table["grad_norm"]) < 0), "the gradient norm must decrease strictly"
    assert np.all(np.diff(table["rounds"]) > 0)
    assert np.all(np.diff(table["time"]) >= 0)
    assert set(table["case"][1:]) <= {1, 2, 3, 5}
    assert np.all((table["step_size"][1:] > 0) & (table["step_size"][1:] <= 1))
    assert table["rounds"].iloc[-1] == est.n_communication_rounds_
    # Rounds follow ALGORITHM.md §4: 1 initial reduce, then 4 (cases 1/2) or
    # 6 (case 3) per iteration, 2 more per extra line-search batch; a Newton
    # iteration (case 5) 2 when the previous search's unit step brought its Hessian.
    per_iteration = np.diff(table["rounds"])
    cases, steps = np.asarray(table["case"][1:]), np.asarray(table["step_size"])
    brought = (cases == 5) & np.concatenate([[False], (cases[:-1] == 5) & (steps[1:-1] == 1.0)])
    assert np.all(per_iteration >= np.where(cases == 3, 6, np.where(brought, 2, 4)))
    assert np.all(per_iteration % 2 == 0)
    assert table["rounds"][0] == 1


# -- persistence, cloning, warm start -------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_pickle_round_trip(Est):
    X, y = problem_for(Est)
    est = Est().fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))
    assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    for name in ("classes_", "coef_", "intercept_", "n_iter_", "n_communication_rounds_", "stop_reason_", "converged_"):
        assert_array_equal(getattr(restored, name), getattr(est, name))
    for key, values in est.history_.items():
        assert_array_equal(restored.history_[key], values)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_clone(Est):
    X, y = problem_for(Est)
    est = Est(C=3.0, tol=1e-8, n_shards=2).fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coef_")
    assert_allclose(copy.fit(X, y).coef_, est.coef_, rtol=1e-12)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warm_start_from_converged_model(Est):
    X, y = problem_for(Est)
    est = Est(warm_start=True, tol=1e-8).fit(X, y)
    assert est.converged_
    coef = est.coef_.copy()
    est.fit(X, y)
    assert est.converged_
    assert est.n_iter_ == 0
    # One broadcast of w_0 and one reduce of f(w_0), g_0.
    assert est.n_communication_rounds_ == 2
    # the start is re-centred across classes (softmax): equal to the last bits
    assert_allclose(est.coef_, coef, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warm_start_continues_to_the_cold_solution(Est):
    X, y = problem_for(Est)
    cold = Est(**TIGHT).fit(X, y)
    warm = Est(warm_start=True, tol=1e-10, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    first_grad_norm = warm.history_["grad_norm"][-1]
    warm.set_params(max_iter=500).fit(X, y)
    assert warm.converged_
    # It resumed: the second fit started where the first stopped.
    assert_allclose(warm.history_["grad_norm"][0], first_grad_norm, rtol=1e-10)
    assert warm.n_iter_ < cold.n_iter_
    assert_allclose(warm.coef_, cold.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(warm.intercept_, cold.intercept_, rtol=1e-6, atol=1e-9)


def test_warm_start_off_starts_from_zero():
    X, y = binary_problem()
    est = DingoLogisticRegression(tol=1e-8).fit(X, y)
    est.fit(X, y)
    assert est.n_iter_ > 0
    assert_allclose(est.history_["loss"][0], math.log(2), rtol=1e-12)


# -- meta-estimators --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
def test_in_pipeline_with_scaler(name):
    loader = dict(breast_cancer=load_breast_cancer, wine=load_wine)[name]
    X, y = loader(return_X_y=True)
    Est = DingoLogisticRegression if name == "breast_cancer" else DingoSoftmaxRegression
    pipe = make_pipeline(StandardScaler(), Est(**TIGHT)).fit(X, y)
    ref = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-12, max_iter=50_000)).fit(X, y)
    assert_allclose(pipe.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert pipe.score(X, y) == ref.score(X, y)


@pytest.mark.slow  # joblib's worker processes
def test_grid_search_parallel_matches_serial():
    X, y = dataset("wine")
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}

    def search(n_jobs):
        return GridSearchCV(DingoSoftmaxRegression(tol=1e-8), grid, cv=3, n_jobs=n_jobs).fit(X, y)

    serial, parallel = search(1), search(2)
    assert serial.best_params_ == parallel.best_params_
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "rank_test_score"):
        assert_array_equal(parallel.cv_results_[key], serial.cv_results_[key])
    assert_array_equal(parallel.best_estimator_.coef_, serial.best_estimator_.coef_)


# -- sharding ---------------------------------------------------------------------------------------
@functools.cache
def sharding_fit(Est, n_shards):
    if is_binary(Est):
        X, y = make_classification(n_samples=3000, n_features=10, n_informative=6, random_state=1)
    else:
        X, y = make_classification(
            n_samples=3000, n_features=10, n_informative=6, n_classes=4, random_state=1
        )
    return Est(C=1.0, n_shards=n_shards, **TIGHT).fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("n_shards", [2, 3, 5])
def test_result_does_not_depend_on_n_shards(Est, n_shards):
    one = sharding_fit(Est, 1)
    est = sharding_fit(Est, n_shards)
    assert est.converged_, est.stop_reason_
    assert_allclose(est.coef_, one.coef_, rtol=0, atol=1e-6 * max(1.0, np.abs(one.coef_).max()))
    assert_allclose(est.intercept_, one.intercept_, rtol=0, atol=1e-6 * max(1.0, np.abs(one.intercept_).max()))


# -- parameter validation ---------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "params",
    [
        dict(C=0), dict(C=-1), dict(C="a"), dict(C=np.nan),
        dict(subproblem_solver="cholesky"), dict(backend="spark"), dict(hessian_precision="half"),
        dict(n_shards=0), dict(n_shards=2.5), dict(tol=-1.0), dict(max_iter=-1),
        dict(class_weight="equal"), dict(secant_memory=-1), dict(secant_memory=2.5), dict(rebalance="yes"),
    ],
    ids=repr,
)
def test_bad_parameters_raise(Est, params):
    # scikit-learn's InvalidParameterError (a ValueError), naming the public class
    X, y = problem_for(Est)
    (name,) = params
    with pytest.raises(InvalidParameterError, match=rf"The '{name}' parameter of {Est.__name__} must be"):
        Est(**params).fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_more_shards_than_samples_raises(Est):
    X, y = problem_for(Est)
    n = X.shape[0]
    with pytest.raises(ValueError, match=rf"n_shards={n + 1} is larger than the number of samples \({n}\)"):
        Est(n_shards=n + 1).fit(X, y)
    # One row per shard is allowed (if slow to converge, ALGORITHM.md §6).
    with pytest.warns(ConvergenceWarning):
        Est(n_shards=n, max_iter=1).fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_infinite_C_is_accepted(Est):
    # C = inf means no penalty (documented); on overlapping classes the
    # minimiser is finite and matches scikit-learn's unpenalised fit.
    X, y = problem_for(Est)
    est = Est(C=np.inf, **TIGHT).fit(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=50_000).fit(X, y)
    assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_pickles_naming_the_0_1_module_load(Est):
    # Models pickled by 0.1 name their class as sklearn_dingo._estimators.<Name>
    # (a flat module then, a package now): such pickles must keep loading.
    X, y = problem_for(Est)
    est = Est().fit(X, y)
    payload = pickle.dumps(est, protocol=0)  # text opcodes: the module path is plain bytes
    new_path = f"{type(est).__module__}\n{Est.__name__}\n".encode()
    assert new_path in payload
    old_payload = payload.replace(new_path, f"sklearn_dingo._estimators\n{Est.__name__}\n".encode())
    restored = pickle.loads(old_payload)
    assert type(restored) is Est
    assert_allclose(restored.predict_proba(X), est.predict_proba(X), rtol=0, atol=0)
