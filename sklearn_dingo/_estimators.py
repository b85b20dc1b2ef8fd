"""The scikit-learn face: DingoLogisticRegression and DingoSoftmaxRegression."""

import math
import numbers
import warnings
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted, validate_data

from ._array_api import from_numpy, get_namespace, is_numpy, to_numpy
from ._backends import is_dask_input
from ._driver import DingoConfig, dingo
from ._objectives import BinaryLogistic, MultinomialSoftmax
from ._subproblems import HESSIAN_PRECISIONS, SUBPROBLEM_METHODS, SubproblemConfig
from ._training_data import REBALANCE_OPTIONS, training_data
from ._validation import (
    check_choice,
    check_int_at_least,
    check_positive_int,
    check_positive_real,
    input_namespace,
)

BACKENDS = ("auto", "local", "dask")


def _positive_total(total):
    """The total sample weight S as a float; zero means nothing to fit."""
    total = float(total)
    if not total > 0:
        raise ValueError("Sample weights must not all be zero (after class weights).")
    return total


class _BaseDingoClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict machinery; subclasses choose the objective."""

    def __init__(
        self,
        *,
        C=1.0,
        fit_intercept=True,
        class_weight=None,
        warm_start=False,
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
        secant_memory=50,
        n_shards=None,
        rebalance="auto",
        backend="auto",
    ):
        self.C = C
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.warm_start = warm_start
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
        self.secant_memory = secant_memory
        self.n_shards = n_shards
        self.rebalance = rebalance
        self.backend = backend

    # Subclasses define _make_objective(n_features, n_classes, total_weight)
    # and _log_proba(xp, scores): the model family's hooks.

    def _check_n_classes(self, n_classes):
        if n_classes < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}."
            )

    # -- fit -------------------------------------------------------------------------
    def _validate_params(self):
        check_positive_real("C", self.C, allow_inf=True)
        check_positive_real("tol", self.tol)
        check_positive_int("max_iter", self.max_iter)
        check_positive_int("max_rounds", self.max_rounds, allow_none=True)
        check_positive_real("theta", self.theta)
        check_positive_real("phi", self.phi)
        check_positive_real("rho", self.rho)
        check_choice("subproblem_solver", self.subproblem_solver, SUBPROBLEM_METHODS)
        check_positive_real("subproblem_tol", self.subproblem_tol)
        check_positive_int("subproblem_max_iter", self.subproblem_max_iter)
        check_choice("hessian_precision", self.hessian_precision, HESSIAN_PRECISIONS)
        check_int_at_least("secant_memory", self.secant_memory, 0)
        check_positive_int("n_shards", self.n_shards, allow_none=True)
        check_choice("rebalance", self.rebalance, REBALANCE_OPTIONS)
        check_choice("backend", self.backend, BACKENDS)
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise ValueError(
                f"The 'verbose' parameter must be an int >= 0. Got {self.verbose!r} instead."
            )
        if not (
            self.class_weight is None
            or self.class_weight == "balanced"
            or isinstance(self.class_weight, dict)
        ):
            raise ValueError(
                "The 'class_weight' parameter must be None, 'balanced' or a dict mapping "
                f"classes to weights. Got {self.class_weight!r} instead."
            )
        if self.rho >= 0.5:
            raise ValueError(f"The 'rho' parameter must be in (0, 0.5). Got {self.rho!r} instead.")

    def _config(self):
        return DingoConfig(
            tol=float(self.tol),
            max_iter=int(self.max_iter),
            max_rounds=math.inf if self.max_rounds is None else int(self.max_rounds),
            theta=float(self.theta),
            rho=float(self.rho),
            subproblem=SubproblemConfig(
                method=self.subproblem_solver,
                phi=float(self.phi),
                rtol=float(self.subproblem_tol),
                max_iter=int(self.subproblem_max_iter),
                hessian_precision=self.hessian_precision,
            ),
            rebalance=self._rebalance(),
            secant_memory=int(self.secant_memory),
        )

    def _rebalance(self):
        """``rebalance`` as "auto", True or False (NumPy booleans become bools)."""
        return self.rebalance if isinstance(self.rebalance, str) else bool(self.rebalance)

    def fit(self, X, y, sample_weight=None):
        """Fit the model by DINGO.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)
            Training data. NumPy and SciPy sparse data run in-process unless
            ``backend="dask"``; Dask collections run on the active Dask client
            (see ``backend``), or, with no distributed client, are computed by
            Dask's local scheduler and fitted in-process. Dense input is used
            as float64 (the solver targets gradient norms below float32
            resolution). Under ``sklearn.config_context(array_api_dispatch=True)``,
            array API inputs (CuPy, array-api-strict) stay in their namespace
            and on their device for the whole fit.
        y : array-like of shape (n_samples,)
            Target labels of any type scikit-learn accepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; multiplied by the class weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        data = training_data(X, y, sample_weight, backend=self.backend, estimator=self)
        self._set_features(data.n_features, data.feature_names)
        class_weights = self._fit_classes(data.classes, data.class_weight_sums)
        total_weight = _positive_total(data.class_weight_sums @ class_weights)
        objective = self._make_objective(data.n_features, len(self.classes_), total_weight)
        backend = data.shards(objective, class_weights, n_shards=self.n_shards, rebalance=self._rebalance())
        return self._run(backend, objective)

    def _fit_classes(self, classes, class_sums):
        """Store ``classes_`` and return the weight of each class.

        ``class_sums`` are the per-class sums of sample weights: all that
        scikit-learn's ``compute_class_weight`` needs (also for "balanced",
        which it computes from weighted counts, as ``LogisticRegression``), so
        the class labels weighted by those sums stand in for y exactly.
        """
        self.classes_ = classes
        self._check_n_classes(len(classes))
        if self.class_weight is None:
            return np.ones(len(classes))
        return compute_class_weight(
            self.class_weight, classes=classes, y=classes, sample_weight=class_sums
        )

    def _run(self, backend, objective):
        w0 = self._warm_start_point(objective)
        with backend:
            result = dingo(backend, objective, self._config(), w0=w0, callback=self._progress())
        self._store_result(result, objective)
        return self

    def _set_features(self, n_features, feature_names):
        """``n_features_in_`` and ``feature_names_in_`` (only for string column names)."""
        self.n_features_in_ = n_features
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _check_dask_features(self, X, feature_names):
        """A Dask input to predict has the fitted features (scikit-learn's messages)."""
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None and feature_names is not None and list(fitted) != list(feature_names):
            raise ValueError(
                "The feature names should match those that were passed during fit."
            )

    def _warm_start_point(self, objective):
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        K, d = objective.n_outputs, objective.n_features
        if self.coef_.shape != (K, d) or (self.intercept_.shape != (K,)):
            return None
        rows = [self.coef_.T]
        if objective.fit_intercept:
            rows.append(self.intercept_[None, :])
        return np.concatenate(rows, axis=0).ravel()

    def _progress(self):
        if not self.verbose:
            return None
        print(f"{'iter':>5} {'rounds':>7} {'case':>4} {'step':>9} {'f':>14} {'|g|':>10} {'time':>8}")

        def show(row):
            print(
                f"{row['iteration']:>5d} {row['rounds']:>7d} {row['case']:>4d} "
                f"{row['step_size']:>9.3g} {row['loss']:>14.8g} {row['grad_norm']:>10.3e} "
                f"{row['time']:>7.2f}s"
            )

        return show

    def _store_result(self, result, objective):
        W = result.w.reshape(objective.n_rows, objective.n_outputs)
        self.coef_ = np.ascontiguousarray(W[: objective.n_features].T)
        if objective.fit_intercept:
            self.intercept_ = W[objective.n_features].copy()
        else:
            self.intercept_ = np.zeros(objective.n_outputs)
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        self.n_communication_rounds_ = result.rounds
        self.shard_disagreement_ = result.disagreement
        self.rebalanced_ = result.mixed
        self.stop_reason_ = str(result.stop_reason)
        self.converged_ = result.converged
        if not result.converged:
            warnings.warn(
                f"DINGO stopped before reaching tol={self.tol}: {result.stop_reason} "
                f"(after {result.n_iter} iterations and {result.rounds} communication rounds, "
                f"gradient norm {result.grad_norm:.3e}). The model holds the best point reached.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # -- predict -----------------------------------------------------------------------
    # Every prediction is a row-wise function of the margins: on Dask inputs it
    # is mapped lazily over the row blocks (checked once, as a whole); in
    # memory it computes in X's namespace.

    def _predict_rows(self, X, from_scores, n_columns, dtype=np.float64):
        # the public methods have checked that the estimator is fitted
        if is_dask_input(X):
            from ._backends import _dask_collections

            X, feature_names = _dask_collections.as_dask_features(X)
            self._check_dask_features(X, feature_names)
            return _dask_collections.map_rows(partial(self._from_block, from_scores), X, n_columns, dtype)
        xp = input_namespace(X)
        X = validate_data(self, X, accept_sparse="csr", dtype=xp.float64, reset=False)
        return from_scores(*self._margins(X))

    def _from_block(self, from_scores, block):
        """A prediction on one (already validated) row block of a Dask array."""
        return from_scores(*self._margins(block))

    def _margins(self, X):
        coef = from_numpy(self.coef_, get_namespace(X), like=X)
        intercept = from_numpy(self.intercept_, get_namespace(X), like=X)
        return get_namespace(coef), X @ coef.T + intercept

    def _decision(self, xp, scores):
        if scores.shape[1] == 1:
            return xp.reshape(scores, (-1,))
        if scores.shape[1] == 2:
            # scikit-learn's binary convention: one score, the log-odds of classes_[1]
            return scores[:, 1] - scores[:, 0]
        return scores

    def _labels(self, xp, scores):
        if scores.shape[1] == 1:
            index = xp.astype(scores[:, 0] > 0, xp.int64)
        else:
            index = xp.argmax(scores, axis=1)
        if is_numpy(xp) or self.classes_.dtype.kind not in "biuf":
            return self.classes_[to_numpy(index)]
        return xp.take(from_numpy(self.classes_, xp, like=scores), index)

    def _proba(self, xp, scores):
        return xp.exp(self._log_proba(xp, scores))

    def decision_function(self, X):
        """Margins ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)
            Dask inputs give a lazy Dask array, computed block by block where
            the blocks live; array API inputs (under array API dispatch) give
            an array of their namespace.

        Returns
        -------
        scores : array of shape (n_samples,) for two classes, else (n_samples, n_classes)
            With two classes, the log-odds of ``classes_[1]``, as scikit-learn's
            binary classifiers.
        """
        check_is_fitted(self)
        n_classes = len(self.classes_)
        return self._predict_rows(X, self._decision, None if n_classes == 2 else n_classes)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)

        Returns
        -------
        labels : array of shape (n_samples,)
            Labels from ``classes_`` (lazy for Dask inputs).
        """
        check_is_fitted(self)
        return self._predict_rows(X, self._labels, None, self.classes_.dtype)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : array of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._predict_rows(X, self._log_proba, len(self.classes_))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._predict_rows(X, self._proba, len(self.classes_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class DingoLogisticRegression(_BaseDingoClassifier):
    """Binary logistic regression fitted by DINGO.

    Minimises scikit-learn's ``LogisticRegression`` objective

        f(w, b) = (1/S) Σ_i s_i [log(1 + e^{η_i}) − z_i η_i] + ‖w‖² / (2 C S),
        η_i = x_iᵀ w + b,  S = Σ_i s_i,

    with z_i = 1 for ``classes_[1]``, by DINGO (Crane and Roosta, 2019), a
    distributed Newton-type method that drives ‖∇f‖ to ``tol`` in few
    communication rounds. Data are split by rows into shards; each shard
    solves local second-order sub-problems, and only a few vectors per
    iteration are combined.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength, exactly scikit-learn's (penalty ``‖w‖²/(2·C·S)``
        with S the sum of sample weights after class weights). ``np.inf``:
        no penalty.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    class_weight : dict or "balanced", default=None
        Weights of the classes, multiplied into the sample weights.
    warm_start : bool, default=False
        Start from the previous solution (one extra broadcast round).
    verbose : int, default=0
        ``>= 1`` prints one line per iteration: iteration, cumulative rounds,
        case, step size, objective, gradient norm and seconds.
    tol : float, default=1e-6
        Stop when the gradient norm of the objective is at most ``tol``.
    max_iter : int, default=100
        Budget of DINGO iterations.
    max_rounds : int, default=None
        Budget of communication rounds (None: unlimited).
    theta : float, default=1e-4
        θ of the direction tests ⟨p, H g⟩ ≤ −θ ‖g‖².
    phi : float, default=1e-6
        φ of the damped local sub-problems ``(H_j² + φ²I)⁻¹ H_j g``.
    rho : float, default=1e-4
        ρ of the line search ``‖g(w + αp)‖² ≤ ‖g‖² + 2αρ⟨p, Hg⟩``.
    subproblem_solver : {"auto", "exact", "krylov"}, default="auto"
        ``"exact"``: eigendecomposition of each shard's explicit Hessian;
        ``"krylov"``: matrix-free MINRES-QLP, LSMR and CG; ``"auto"``: the
        cheaper by an estimate of their cost on each shard.
    subproblem_tol : float, default=1e-4
        Relative tolerance of the Krylov sub-problem solvers.
    subproblem_max_iter : int, default=50
        Iteration cap of each Krylov sub-problem solve.
    hessian_precision : {"auto", "single", "full"}, default="auto"
        Precision of each shard's local Hessian on dense data: of the
        Krylov solvers' Hessian-vector products and of the Gram blocks of
        the exact solver's explicit Hessian. ``"single"`` computes the
        products with X in float32 from a float32 copy of each shard made
        once per fit (half the size of float64 data): about twice as fast,
        with rounding (1e-7 relative, whatever the column scales) far below
        the sub-problem tolerance and below how much the shards' Hessians
        differ. ``"full"`` uses the data's own precision and makes no copy;
        prefer it for nearly collinear features with a weak penalty, whose
        smallest Hessian eigenvalues are within float32 rounding. ``"auto"``:
        single on shards of at least 2**20 entries (smaller ones stay in
        cache, where float32 gains little), for Krylov solves only when
        ``subproblem_tol >= 1e-5``. Sparse data, and data with entries
        beyond ±1e12, always use full precision. Gradients, line searches
        and the stopping test are always computed in the data's precision,
        so the solution's accuracy does not depend on this.
    secant_memory : int, default=50
        Steps remembered by the correction of the directions of shards that
        disagree: once an iteration shows them (see ``rebalance``), case 1's
        averaged local inverse Σ_j π_j H_j^† is corrected with the curvature
        of the last ``secant_memory`` steps (an L-BFGS two-loop recursion
        started from it; no extra round, one more vector each way in round
        trip A). 0 turns the correction off: plain DINGO.
    n_shards : int, default=None
        Shards the rows are split into. In-memory data are cut into this many
        shards (every m-th row, or row blocks; see ``rebalance``); None: one
        per CPU core (per worker thread with
        ``backend="dask"``), but no more than keeps at least 50 rows per
        parameter in a shard (small shards cost many more iterations; one
        shard is Newton-MR). Dask inputs are never split: neighbouring row
        chunks are merged until at most ``n_shards`` are left; None: until
        each shard has at least 50 rows per parameter (or one is left).
    rebalance : {"auto", True, False}, default="auto"
        Whether rows may move between shards so that every shard looks like
        the whole data (DINGO's few rounds need that; rows sorted by label,
        time or a feature make shards that disagree). Dense in-memory data:
        shards take every m-th row (views, no copy) unless ``False``.
        In-memory sparse data: ``True`` copies the rows into mixed shards
        once; ``"auto"`` starts from row blocks (views) and copies only if
        the first iterations show the shards disagree. Dask inputs on a
        cluster: ``True`` moves rows across the existing shards once before
        the first round (an all-to-all between the workers holding them;
        each row moves at most once); ``"auto"`` does so after an iteration
        that shows the shards disagree (:attr:`shard_disagreement_`, and
        slow progress), if the move (bytes over Dask's
        ``distributed.scheduler.bandwidth``) costs less time than the extra
        rounds expected. ``False``: rows never move (privacy, federated
        data, a slow link); the directions are then corrected with the
        curvature of past steps when the shards disagree (``case`` 4 in
        :attr:`history_`), which keeps the rounds bounded. So are they when
        ``"auto"`` finds that moving does not pay; shards of mixed rows are
        never corrected.
    backend : {"auto", "local", "dask"}, default="auto"
        ``"local"`` runs in-process; ``"dask"`` on the active Dask client;
        ``"auto"`` picks Dask for Dask inputs, local otherwise.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
        DINGO iterations run.
    n_communication_rounds_ : int
        Broadcasts plus reduces, counted as the DINGO paper does; a move of
        rows by ``rebalance`` included.
    history_ : dict of str to ndarray
        Per-iteration record (row 0 is the start): ``iteration``, ``rounds``,
        ``bytes_down``, ``bytes_up``, ``bytes_moved`` (cumulative; the last:
        data rows moved or copied to mix the shards), ``case`` (1-3: DINGO's
        cases; 4: the secant-corrected direction of disagreeing shards),
        ``step_size``, ``direction_norm``, ``direction_spread`` (the shards'
        disagreement δ in that iteration), ``loss``, ``grad_norm``, ``time``
        (seconds). ``pandas.DataFrame(est.history_)`` makes a table of it.
    shard_disagreement_ : float
        How much the shards disagreed as first built: the relative spread
        δ = sqrt(Σ_j π_j ‖u_j − u‖²) / ‖u‖ of their local Newton directions
        u_j = H_j^† g in the first iteration (random row orders give about
        0.05-0.25, sorted rows 0.3 and more). NaN if no iteration ran.
    rebalanced_ : bool
        Whether rows were moved between workers (Dask) or copied (sparse
        data in memory) to mix the shards during the fit. Dense data in
        memory are mixed by views from the start: nothing moves, and this is
        False.
    stop_reason_ : str
        Why the fit ended.
    converged_ : bool
        Whether the gradient norm reached ``tol``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has string feature names.

    See Also
    --------
    DingoSoftmaxRegression : The multinomial model.
    sklearn.linear_model.LogisticRegression : The same objective, single machine.

    References
    ----------
    R. Crane and F. Roosta. "DINGO: Distributed Newton-Type Method for
    Gradient-Norm Optimization." NeurIPS 2019. arXiv:1901.05134.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_dingo import DingoLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), DingoLogisticRegression(C=1.0)).fit(X, y)
    >>> round(model.score(X, y), 3)
    0.989
    """

    def _make_objective(self, n_features, n_classes, total_weight):
        return BinaryLogistic(
            n_features=n_features,
            fit_intercept=self.fit_intercept,
            C=float(self.C),
            total_weight=total_weight,
        )

    def _check_n_classes(self, n_classes):
        super()._check_n_classes(n_classes)
        if n_classes > 2:
            raise ValueError(
                f"Only binary classification is supported. DingoLogisticRegression is a binary "
                f"classifier, but y has {n_classes} classes. "
                "Use DingoSoftmaxRegression for a multinomial model, or wrap this estimator "
                "in sklearn.multiclass.OneVsRestClassifier."
            )

    @staticmethod
    def _log_proba(xp, scores):
        # log σ(±s) = −log(1 + e^{∓s}), stable for any margin
        zero = xp.zeros_like(scores)
        return xp.concat([-xp.logaddexp(zero, scores), -xp.logaddexp(zero, -scores)], axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class DingoSoftmaxRegression(_BaseDingoClassifier):
    """Multinomial (softmax) logistic regression fitted by DINGO.

    Minimises scikit-learn's multinomial ``LogisticRegression`` objective in
    the full parametrisation (one coefficient row per class, K ≥ 2)

        f(W, b) = (1/S) Σ_i s_i [logsumexp(η_i) − η_{i, y_i}] + ‖W‖² / (2 C S),
        η_i = Wᵀ x_i + b ∈ R^K,  S = Σ_i s_i,

    by DINGO (Crane and Roosta, 2019). The intercepts are determined up to a
    common constant; DINGO's minimum-norm sub-problem solutions keep them
    centred as scikit-learn's are.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength, exactly scikit-learn's. ``np.inf``: no penalty.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept per class.
    class_weight : dict or "balanced", default=None
        Weights of the classes, multiplied into the sample weights.
    warm_start : bool, default=False
        Start from the previous solution (one extra broadcast round).
    verbose : int, default=0
        ``>= 1`` prints one line per iteration.
    tol : float, default=1e-6
        Stop when the gradient norm of the objective is at most ``tol``.
    max_iter : int, default=100
        Budget of DINGO iterations.
    max_rounds : int, default=None
        Budget of communication rounds (None: unlimited).
    theta : float, default=1e-4
        θ of the direction tests ⟨p, H g⟩ ≤ −θ ‖g‖².
    phi : float, default=1e-6
        φ of the damped local sub-problems.
    rho : float, default=1e-4
        ρ of the line search on ‖g‖².
    subproblem_solver : {"auto", "exact", "krylov"}, default="auto"
        How shards solve their local sub-problems.
    subproblem_tol : float, default=1e-4
        Relative tolerance of the Krylov sub-problem solvers.
    subproblem_max_iter : int, default=50
        Iteration cap of each Krylov sub-problem solve.
    hessian_precision : {"auto", "single", "full"}, default="auto"
        Float32 (``"single"``) or the data's own precision (``"full"``) for
        the local Hessians (Krylov products, exact Gram blocks) on dense
        data; ``"auto"``: single on large shards (for Krylov solves when
        ``subproblem_tol >= 1e-5``). See :class:`DingoLogisticRegression`.
    secant_memory : int, default=50
        Steps remembered by the correction of the directions of shards that
        disagree (0: plain DINGO); see :class:`DingoLogisticRegression`.
    n_shards : int, default=None
        Shards of in-memory data, or the most shards made from the row chunks
        of Dask inputs; see :class:`DingoLogisticRegression`.
    rebalance : {"auto", True, False}, default="auto"
        Whether rows may move between shards so that each looks like the
        whole data; see :class:`DingoLogisticRegression`.
    backend : {"auto", "local", "dask"}, default="auto"
        Where the fit runs; see :class:`DingoLogisticRegression`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
    intercept_ : ndarray of shape (n_classes,)
    n_iter_ : int
    n_communication_rounds_ : int
    history_ : dict of str to ndarray
        Per-iteration record; see :class:`DingoLogisticRegression`.
    shard_disagreement_ : float
        How much the shards disagreed as first built; see
        :class:`DingoLogisticRegression`.
    rebalanced_ : bool
        Whether rows were moved to mix the shards.
    stop_reason_ : str
    converged_ : bool
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    See Also
    --------
    DingoLogisticRegression : The binary model.

    References
    ----------
    R. Crane and F. Roosta. "DINGO: Distributed Newton-Type Method for
    Gradient-Norm Optimization." NeurIPS 2019. arXiv:1901.05134.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dingo import DingoSoftmaxRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> model = DingoSoftmaxRegression(C=10.0).fit(X, y)
    >>> model.predict_proba(X[:1]).shape
    (1, 3)
    """

    def _make_objective(self, n_features, n_classes, total_weight):
        return MultinomialSoftmax(
            n_features=n_features,
            n_classes=n_classes,
            fit_intercept=self.fit_intercept,
            C=float(self.C),
            total_weight=total_weight,
        )

    @staticmethod
    def _log_proba(xp, scores):
        shifted = scores - xp.max(scores, axis=1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
