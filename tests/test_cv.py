"""DingoLogisticRegressionCV and DingoSoftmaxRegressionCV against scikit-learn.

References: ``LogisticRegressionCV`` (modern attributes) solved to 1e-10 by
newton-cholesky, scikit-learn's scorers on models holding the path's
coefficients, and separate fits of the plain estimators for the rounds.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import (
    DingoLogisticRegression,
    DingoLogisticRegressionCV,
    DingoSoftmaxRegression,
    DingoSoftmaxRegressionCV,
)
from sklearn_dingo._compat import InvalidParameterError  # scikit-learn's, private

# scikit-learn's newton-cholesky reference falls back to lbfgs (and says so) on one-class folds
pytestmark = pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")

CV_ESTIMATORS = {"binary": DingoLogisticRegressionCV, "multinomial": DingoSoftmaxRegressionCV}
PLAIN = {"binary": DingoLogisticRegression, "multinomial": DingoSoftmaxRegression}
# Beyond C = 100 the folds of breast cancer are nearly separable: the objective
# is so flat (smallest curvature ~1 / (C S) = 2e-7 at C = 1e4) that a gradient
# norm of 1e-9 leaves the held-out log-loss uncertain to 1e-2, for any solver.
CS = {"binary": np.logspace(-4, 2, 8), "multinomial": np.logspace(-4, 4, 8)}


def bundled(kind):
    X, y = (load_breast_cancer if kind == "binary" else load_wine)(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def reference_cv(Cs, cv, **params):
    return LogisticRegressionCV(
        Cs=Cs, cv=cv, scoring=params.pop("scoring", "neg_log_loss"), use_legacy_attributes=False,
        l1_ratios=(0,), solver="newton-cholesky", tol=1e-10, max_iter=1000, **params,
    )


def fold_model(est, fold, k):
    """A plain estimator holding fold ``fold``'s coefficients at ``Cs_[k]``."""
    kind = "binary" if isinstance(est, DingoLogisticRegressionCV) else "multinomial"
    model = PLAIN[kind]()
    path = est.coefs_paths_[fold, k]
    model.classes_, model.coef_, model.intercept_ = est.classes_, path[:, :-1], path[:, -1]
    model.n_features_in_ = path.shape[1] - 1
    return model


@pytest.fixture(scope="module", params=["binary", "multinomial"])
def searched(request):
    """A search and scikit-learn's, same folds and Cs."""
    kind = request.param
    X, y = bundled(kind)
    cv = StratifiedKFold(5)
    est = CV_ESTIMATORS[kind](Cs=CS[kind], cv=cv, tol=1e-9).fit(X, y)
    ref = reference_cv(CS[kind], cv).fit(X, y)
    return kind, X, y, cv, est, ref


def test_matches_logistic_regression_cv(searched):
    _, X, _, _, est, ref = searched
    assert est.C_ == ref.C_
    assert_array_equal(est.Cs_, ref.Cs_)
    assert est.scores_.shape == (5, 8) and est.n_iter_.shape == (5, 8)
    assert_allclose(est.scores_, ref.scores_[:, 0, :], atol=1e-5, rtol=0)
    # the coefficients of the flattest objectives (the largest Cs) are determined less sharply than the scores
    assert_allclose(est.coefs_paths_[:, :6], ref.coefs_paths_[:, 0, :6], atol=1e-5, rtol=0)
    assert_allclose(est.coefs_paths_, ref.coefs_paths_[:, 0], atol=1e-3, rtol=0)
    assert_allclose(est.coef_, ref.coef_, atol=1e-5, rtol=0)
    assert_allclose(est.intercept_, ref.intercept_, atol=1e-5, rtol=0)
    assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-5, rtol=0)
    assert_array_equal(est.predict(X), ref.predict(X))


def test_scores_are_the_held_out_log_loss_of_each_fold_model(searched):
    """Computed on the shards, scores equal scikit-learn's scorer on the fold models (every C)."""
    _, X, y, cv, est, _ = searched
    scorer = get_scorer("neg_log_loss")
    for fold, (_, test) in enumerate(cv.split(X, y)):
        for k in range(len(est.Cs_)):
            assert est.scores_[fold, k] == pytest.approx(scorer(fold_model(est, fold, k), X[test], y[test]), abs=1e-10)


def test_the_search_takes_a_quarter_of_the_rounds_of_separate_fits(searched):
    """5 folds x 8 Cs and the refit: at most 1/4 of the rounds of the same 41 fits one by one."""
    kind, X, y, cv, est, _ = searched
    separate = sum(
        PLAIN[kind](C=C, tol=1e-9).fit(X[train], y[train]).n_communication_rounds_
        for train, _ in cv.split(X, y)
        for C in est.Cs_
    )
    separate += PLAIN[kind](C=est.C_, tol=1e-9).fit(X, y).n_communication_rounds_
    assert est.n_communication_rounds_ <= separate / 4
    history = est.history_
    assert len(history["fold"]) == 41 and history["fold"][-1] == 5 and history["C"][-1] == est.C_
    # every run's own rounds add up to far more than the rounds they shared
    assert history["rounds"].sum() > 2 * est.n_communication_rounds_


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_weights_class_weights_and_refit_false(kind):
    """Sample weights train (times class weights) and score (raw) as in LogisticRegressionCV."""
    X, y = bundled(kind)
    weights = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    cv, Cs = StratifiedKFold(4), np.logspace(-3, 1, 5)
    params = dict(class_weight="balanced", refit=False)
    est = CV_ESTIMATORS[kind](Cs=Cs, cv=cv, tol=1e-10, **params).fit(X, y, sample_weight=weights)
    ref = reference_cv(Cs, cv, **params).fit(X, y, sample_weight=weights)
    assert_allclose(est.scores_, ref.scores_[:, 0, :], atol=1e-6, rtol=0)
    assert est.C_ == pytest.approx(ref.C_)
    assert_allclose(est.coef_, ref.coef_, atol=1e-5, rtol=0)
    assert_allclose(est.intercept_, ref.intercept_, atol=1e-5, rtol=0)


@pytest.mark.parametrize("scoring", ["accuracy", "roc_auc_ovr", "neg_brier_score", "balanced_accuracy", None])
def test_other_scorers_see_the_fold_models_predictions(scoring):
    """Shard sums (accuracy) and gathered predictions (others) score as the scorer on the fold models."""
    X, y = bundled("multinomial")
    weights = np.linspace(0.5, 1.5, len(y))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    est = DingoSoftmaxRegressionCV(Cs=[0.01, 0.1, 1.0], cv=cv, scoring=scoring, tol=1e-9)
    est.fit(X, y, sample_weight=weights)
    scorer = get_scorer(scoring if scoring is not None else "accuracy")
    for fold, (_, test) in enumerate(cv.split(X, y)):
        for k in range(3):
            expected = scorer(fold_model(est, fold, k), X[test], y[test], sample_weight=weights[test])
            assert est.scores_[fold, k] == pytest.approx(expected, abs=1e-10)


def test_folds_whose_training_rows_miss_a_class():
    """As LogisticRegressionCV: all classes fitted in every fold; scores with every class's label."""
    X, y = load_iris(return_X_y=True)
    cv = KFold(n_splits=3)  # iris is sorted by class: each fold holds out one class entirely
    est = DingoSoftmaxRegressionCV(cv=cv, scoring="accuracy", Cs=3).fit(X, y)
    assert np.all(est.scores_ == 0.0)
    Cs = np.logspace(-6, 3, 10)
    est = DingoSoftmaxRegressionCV(cv=cv, scoring="neg_brier_score", Cs=Cs, tol=1e-10).fit(X, y)
    ref = reference_cv(Cs, cv, scoring="neg_brier_score").fit(X, y)
    assert est.C_ == 1e-6
    assert_allclose(est.scores_, ref.scores_[:, 0, :], atol=1e-5, rtol=0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_folds_of_one_class_less(n_classes):
    """scikit-learn's test of folds with missing classes (string labels, one row per class and fold)."""
    y = np.array(["a", "a", "b", "b", "c", "c"])[: 2 * n_classes]
    X = np.arange(2 * n_classes, dtype=np.float64)[:, None]
    cv = KFold(n_splits=n_classes)
    Cs = np.logspace(-6, 6, 5)
    model = DingoLogisticRegressionCV if n_classes == 2 else DingoSoftmaxRegressionCV
    with warnings.catch_warnings():
        # one class in a fold's training rows: its unpenalised intercept has no minimiser
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = model(cv=cv, scoring="neg_brier_score", Cs=Cs, tol=1e-10, max_iter=300).fit(X, y)
    assert est.C_ == 1e-6
    ref = reference_cv(Cs, cv, scoring="neg_brier_score").fit(X, y)
    assert_allclose(est.scores_[:, 0], ref.scores_[:, 0, 0], atol=1e-6, rtol=0)


@pytest.mark.slow  # a CSR search beside the dense one
def test_sparse_input_gives_the_dense_search():
    X, y = bundled("binary")
    X[np.abs(X) < 0.5] = 0.0
    cv, Cs = StratifiedKFold(3), [0.01, 0.1, 1.0]
    params = dict(Cs=Cs, cv=cv, tol=1e-9, max_iter=500, n_shards=2)
    dense = DingoLogisticRegressionCV(**params, rebalance=False).fit(X, y)
    for rebalance in (False, True):  # True: the sparse rows are rebalanced (copied) once, before the folds
        sparse = DingoLogisticRegressionCV(**params, rebalance=rebalance).fit(sp.csr_matrix(X), y)
        assert sparse.C_ == dense.C_
        assert_allclose(sparse.scores_, dense.scores_, atol=1e-8, rtol=0)
        assert_allclose(sparse.coef_, dense.coef_, atol=1e-7, rtol=0)


def test_pipeline_clone_and_pickle():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), DingoLogisticRegressionCV(Cs=4, cv=3)).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert restored[-1].C_ == model[-1].C_
    fresh = clone(model)
    assert fresh[-1].get_params() == model[-1].get_params()
    assert not hasattr(fresh[-1], "C_")


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(Cs=[]), "'Cs' parameter of DingoLogisticRegressionCV must be .* non-empty"),
        (dict(Cs=[1.0, -1.0]), r"'Cs' parameter .* in the range \(0.0, inf\]"),
        (dict(Cs=[1.0, np.nan]), r"'Cs' parameter .* in the range \(0.0, inf\]"),
        (dict(cv=1), r"'cv' parameter of DingoLogisticRegressionCV must be an int in the range \[2, inf\)"),
        (dict(cv=[(np.arange(100, 569), np.arange(100))]), "at least 2 folds, but the cv given yields 1"),
    ],
)
def test_bad_parameters_are_refused_in_scikit_learn_words(params, message):
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        DingoLogisticRegressionCV(**params).fit(X, y)


def test_invalid_parameter_types():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(InvalidParameterError, match="'Cs' parameter"):
        DingoLogisticRegressionCV(Cs=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'scoring' parameter"):
        DingoLogisticRegressionCV(scoring="no such score").fit(X, y)
    with pytest.raises(
        TypeError, match=r"DingoSoftmaxRegressionCV.__init__\(\) got an unexpected keyword argument 'C'"
    ):
        DingoSoftmaxRegressionCV(C=1.0)


def test_runs_out_of_budget_with_one_warning_naming_folds_and_Cs():
    X, y = bundled("binary")
    with pytest.warns(ConvergenceWarning) as caught:
        est = DingoLogisticRegressionCV(Cs=[0.1, 10.0], cv=3, max_iter=1, tol=1e-12).fit(X, y)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1
    assert "in 7 of 7 fits" in messages[0]
    for fold in range(3):
        assert f"fold {fold} at C=0.1 (iteration budget (max_iter) exhausted)" in messages[0]
    assert "the refit at C=" in messages[0]
    assert np.all(est.n_iter_ == 1)


def test_zero_training_weight_in_a_fold_is_refused_and_nothing_is_lost():
    X, y = bundled("binary")
    weights = np.ones(len(y))
    weights[100:] = 0.0  # fold 0 of KFold(3) (rows 190-568) trains on rows of zero weight only
    with pytest.raises(ValueError, match="training rows of fold 0 are all zero"):
        DingoLogisticRegressionCV(cv=KFold(3), Cs=2).fit(X, y, sample_weight=weights)
    assert weights[:100].sum() == 100.0


def test_verbose_prints_a_line_per_run(capsys):
    X, y = bundled("binary")
    est = DingoLogisticRegressionCV(Cs=[0.1, 1.0], cv=3, verbose=1).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("DINGO CV fold")]
    assert len(lines) == 7  # 3 folds x 2 Cs and the refit (fold 3)
    assert sum(line.startswith("DINGO CV fold 3 ") for line in lines) == 1
    assert all("gradient norm reached tol" in line for line in lines) and est.C_ in (0.1, 1.0)
