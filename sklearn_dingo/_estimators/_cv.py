"""The cross-validated estimators' machinery: folds as weight masks, scores, the refit.

``fit`` splits the rows with the ``cv`` splitter (on the labels, in this
process), builds the shards once with raw weights, and hands the folds'
roles to them (:class:`~._backends._fold_group.FoldGroup`). Every fold then
runs its regularisation path, the rounds of all folds shared
(:func:`~._search.fold_paths`); held-out scores come from the shards. The
best C is refitted on all rows, from the mean of the folds' solutions there,
through the same shards.
"""

import inspect
import math
from dataclasses import replace
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv

from .._backends import FoldGroup, is_dask_input
from .._compat import Interval, StrOptions, fit_context, scorer_parts
from .._data import training_data
from .._shard import fold_roles
from .._solver import fold_paths, not_converged, refit, search_history, should_rebalance
from ._classifier import BaseDingoClassifier
from ._reporting import warn_at_caller

#: Scorers computed where the held-out rows live, from three sums per fold.
SHARD_SCORES = ("neg_log_loss", "accuracy")


class DingoClassifierCVMixin:
    """``fit`` of the cross-validated estimators; the plain estimator's class supplies the model.

    Mixed in before a plain estimator class (:class:`~._estimators.DingoLogisticRegression`
    or :class:`~._estimators.DingoSoftmaxRegression`), whose objective,
    predictions and checks it uses; ``C`` and ``warm_start`` are replaced
    by ``Cs``, ``cv``, ``scoring`` and ``refit``.
    """

    _parameter_constraints: dict = {
        **{
            name: rule
            for name, rule in BaseDingoClassifier._parameter_constraints.items()
            if name not in ("C", "warm_start")
        },
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "refit": ["boolean"],
    }

    def __init__(
        self,
        *,
        Cs=10,
        cv=None,
        scoring="neg_log_loss",
        refit=True,
        fit_intercept=True,
        class_weight=None,
        verbose=0,
        tol=1e-6,
        max_iter=100,
        max_rounds=None,
        theta=1e-4,
        phi=1e-6,
        rho=1e-4,
        subproblem_solver="auto",
        subproblem_tol=1e-4,
        subproblem_max_iter=50,
        hessian_precision="auto",
        local_effort="auto",
        aggregate_hessian="auto",
        secant_memory=50,
        n_shards=None,
        rebalance="auto",
        backend="auto",
    ):
        self.Cs = Cs
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.verbose = verbose
        self.tol = tol
        self.max_iter = max_iter
        self.max_rounds = max_rounds
        self.theta = theta
        self.phi = phi
        self.rho = rho
        self.subproblem_solver = subproblem_solver
        self.subproblem_tol = subproblem_tol
        self.subproblem_max_iter = subproblem_max_iter
        self.hessian_precision = hessian_precision
        self.local_effort = local_effort
        self.aggregate_hessian = aggregate_hessian
        self.secant_memory = secant_memory
        self.n_shards = n_shards
        self.rebalance = rebalance
        self.backend = backend

    # -- parameters --------------------------------------------------------------------
    def _check_Cs(self):
        """The grid of C as floats (an int: ``np.logspace(-4, 4, Cs)``, as scikit-learn)."""
        if isinstance(self.Cs, Integral):
            return np.logspace(-4, 4, int(self.Cs))
        Cs = np.asarray(self.Cs, dtype=np.float64).reshape(-1) if np.ndim(self.Cs) else None
        if Cs is None or Cs.size == 0:
            raise ValueError(
                f"The 'Cs' parameter of {type(self).__name__} must be an int in the range [1, inf) "
                f"or a non-empty array-like of positive floats. Got {self.Cs!r} instead."
            )
        if not np.all(Cs > 0) or np.any(np.isnan(Cs)):
            raise ValueError(
                f"The 'Cs' parameter of {type(self).__name__} must contain floats in the range "
                f"(0.0, inf]. Got {self.Cs!r} instead."
            )
        return Cs

    def _splits(self, X, labels):
        """The folds of ``cv`` as (train, held-out) index arrays, split on the labels in this process."""
        cv = check_cv(self.cv, labels, classifier=True)
        # The splitters only need the number of rows (and the labels): Dask X is not computed.
        rows = np.zeros((len(labels), 0)) if is_dask_input(X) else X
        splits = [(np.asarray(train), np.asarray(test)) for train, test in cv.split(rows, labels)]
        if len(splits) < 2:
            given = f"cv={self.cv!r}" if isinstance(self.cv, Integral) or hasattr(self.cv, "split") else "the cv given"
            raise ValueError(f"Cross-validation needs at least 2 folds, but {given} yields {len(splits)}.")
        return splits

    # -- fit -------------------------------------------------------------------------
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose C by cross-validation, then refit on all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)
            Training data, as for the plain estimator's ``fit``.
        y : array-like or dask array of shape (n_samples,)
            Target labels. They are brought to this process to split the
            folds (one label per row), as scikit-learn's splitters need.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the training rows and of the held-out
            scores (multiplied by the class weights in training only, as in
            ``LogisticRegressionCV``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        Cs = self._check_Cs()
        data = training_data(X, y, sample_weight, backend=self.backend, estimator=self)
        self._set_features(data.n_features, data.feature_names)
        class_weights = self._fit_classes(data.classes, data.class_weight_sums)
        n_features, n_classes = data.n_features, len(self.classes_)
        labels = data.labels()
        splits = self._splits(X, labels)
        n_folds = len(splits)
        roles = fold_roles(len(labels), splits, refit=self.refit)
        scoring = "accuracy" if self.scoring is None else self.scoring  # scikit-learn's default score
        scorer = None if scoring in SHARD_SCORES else self._labelled_scorer()

        # The shards carry raw weights; each fold multiplies in the class weights.
        encoding = self._make_objective(n_features, n_classes, 1.0, 1.0)
        backend = data.shards(
            encoding, np.ones(n_classes), n_shards=self.n_shards, rebalance=self._rebalance()
        )
        config = self._config(data.result_format.dtype)  # a fold's backend never rebalances rows

        def make_objective(C, total_weight):
            return self._make_objective(n_features, n_classes, total_weight, C)

        order = np.argsort(Cs, kind="stable")  # strongest penalty first
        with backend:
            if should_rebalance(self._rebalance(), backend.rebalance_cost()):
                backend.rebalance_rows()  # once, before the folds are masked: no fold moves rows
            group = FoldGroup(backend, roles, class_weights, encoding)
            _check_training_weights(group)
            paths = fold_paths(
                group, range(n_folds), Cs[order], make_objective, config,
                held_out="sums" if scorer is None else "margins", on_run=self._report_run,
            )
            runs = [_in_order_of_Cs(path, order) for path in paths]
            if scorer is None:
                scores = self._shard_scores(runs, scoring)
            else:
                scores = self._predicted_scores(runs, group, labels, data, scorer)
            W = np.array([[run.result.w for run in fold_runs] for fold_runs in runs])
            if self.refit:
                best = int(np.argmax(scores.sum(axis=0)))  # the first of equals, as scikit-learn
                self.C_ = float(Cs[best])
                final = refit(
                    group, n_folds, self.C_, W[:, best].mean(axis=0), make_objective, config, on_run=self._report_run
                )
                w, all_runs = final.result.w, [run for fold_runs in runs for run in fold_runs] + [final]
            else:
                best_per_fold = np.argmax(scores, axis=1)
                self.C_ = float(np.mean(Cs[best_per_fold]))
                w = np.mean([W[fold, k] for fold, k in enumerate(best_per_fold)], axis=0)
                all_runs = [run for fold_runs in runs for run in fold_runs]
            rounds = backend.rounds
        self._store_search(Cs, scores, runs, W, w, make_objective(self.C_, 1.0), data.result_format)
        self.n_communication_rounds_ = rounds
        self.history_ = search_history(all_runs)
        self._warn_not_converged(all_runs, n_folds)
        return self

    def _labelled_scorer(self):
        """The scorer, told all classes (held-out rows may miss some), as ``LogisticRegressionCV``."""
        scorer = get_scorer(self.scoring)
        parts = scorer_parts(scorer)
        parameters = inspect.signature(parts.score_func).parameters if parts is not None else {}
        if "labels" not in parameters:
            return scorer
        extra = {"pos_label": self.classes_[-1]} if len(self.classes_) <= 2 and "pos_label" in parameters else {}
        return make_scorer(
            parts.score_func,
            greater_is_better=parts.greater_is_better,
            response_method=parts.response_method,
            labels=self.classes_,
            **extra,
            **parts.kwargs,
        )

    def _report_run(self, run):
        if self.verbose:
            result = run.result
            print(
                f"DINGO CV fold {run.fold} C={run.C:.4g}: {result.n_iter} iterations, {result.rounds} rounds "
                f"(shared so far {run.shared_rounds}), loss {result.loss:.6g}, gradient norm "
                f"{result.grad_norm:.3e}, {result.stop_reason}",
                flush=True,
            )

    @staticmethod
    def _shard_scores(runs, scoring):
        """Held-out scores from the shards' sums, shape (n_folds, n_Cs)."""
        scores = np.empty((len(runs), len(runs[0])))
        for fold, fold_runs in enumerate(runs):
            for k, run in enumerate(fold_runs):
                loss, correct, weight = np.sum([reply[0] for reply in run.held_out.replies], axis=0)
                value = correct if scoring == "accuracy" else -loss
                scores[fold, k] = value / weight if weight > 0 else math.nan
        return scores

    def _predicted_scores(self, runs, group, labels, data, scorer):
        """Held-out scores of a scorer on the gathered predictions, shape (n_folds, n_Cs)."""
        sample_weight = data.sample_weights()
        scores = np.empty((len(runs), len(runs[0])))
        for fold, fold_runs in enumerate(runs):
            rows = group.held_out_rows(fold)
            for k, run in enumerate(fold_runs):
                scores[fold, k] = self._score_predictions(scorer, rows, run.held_out.replies, labels, sample_weight)
        return scores

    def _score_predictions(self, scorer, rows, replies, labels, sample_weight):
        """A scorer's value on the held-out ``rows``' margins gathered from the shards (in shard order)."""
        margins = np.concatenate([reply[0] for reply in replies], axis=0)
        order = np.argsort(rows, kind="stable")
        rows, margins = rows[order], margins[order]
        predictions = HeldOutPredictions(self, margins)
        positions = np.arange(len(rows))[:, None]
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight[rows]}
        return float(scorer(predictions, positions, labels[rows], **kwargs))

    def _store_search(self, Cs, scores, runs, W, w, objective, result_format):
        """Fitted attributes of the search: the path's coefficients and scores, and the model."""
        K, rows = objective.n_outputs, objective.n_rows
        # In the input's namespace and device, as every fitted array (the path in float64, as scikit-learn's)
        in_format = replace(result_format, dtype=np.float64)
        self.Cs_ = in_format(Cs)
        self.scores_ = in_format(scores)
        # (folds, Cs, K, d + fit_intercept): each run's coefficients, intercept last
        self.coefs_paths_ = in_format(np.swapaxes(W.reshape(*W.shape[:2], rows, K), -1, -2))
        self.n_iter_ = result_format.indices([[run.result.n_iter for run in fold_runs] for fold_runs in runs])
        for name, value in self._fitted_attributes(objective, result_format, w).items():
            setattr(self, name, value)

    def _warn_not_converged(self, runs, n_folds):
        stopped = not_converged(runs)
        if not stopped:
            return
        named = "; ".join(
            (f"the refit at C={C:.4g}" if fold == n_folds else f"fold {fold} at C={C:.4g}") + f" ({reason})"
            for fold, C, reason in stopped
        )
        warn_at_caller(
            f"DINGO stopped before reaching tol={self.tol} in {len(stopped)} of {len(runs)} fits: "
            f"{named}. Their coefficients are the best points reached.",
            ConvergenceWarning,
        )


class HeldOutPredictions(ClassifierMixin, BaseEstimator):
    """Predictions of held-out rows, served to a scorer as a fitted classifier's.

    A scorer calls ``predict``, ``predict_proba`` or ``decision_function``
    on what it takes to be X; here X is the column of row positions
    ``0 … n − 1`` and the answers come from the margins the shards computed.

    Parameters
    ----------
    model : BaseDingoClassifier
        The estimator whose classes and link functions apply.
    margins : ndarray of shape (n, K)
    """

    def __init__(self, model=None, margins=None):
        self.model = model
        self.margins = margins

    @property
    def classes_(self):
        return self.model.classes_

    def _rows(self, X):
        return self.margins[np.asarray(X)[:, 0].astype(np.intp)]

    def decision_function(self, X):
        return self.model._decision(np, self._rows(X))

    def predict(self, X):
        return self.model._labels(np, self._rows(X))

    def predict_proba(self, X):
        return self.model._proba(np, self._rows(X))

    def predict_log_proba(self, X):
        return self.model._log_proba(np, self._rows(X))


def _check_training_weights(group):
    """Raise if a fold's training rows weigh nothing (after class weights): it has nothing to fit."""
    empty = [fold for fold in range(group.train_sums.shape[1]) if not group.train_sums[:, fold].sum() > 0]
    if empty:
        raise ValueError(
            f"Sample weights of the training rows of fold {empty[0]} are all zero "
            "(after class weights): nothing to fit."
        )


def _in_order_of_Cs(path, order):
    """A fold's runs, run in the order ``order`` of the Cs, put back in the order of ``Cs``."""
    runs = [None] * len(path)
    for k, run in zip(order, path):
        runs[k] = run
    return runs
