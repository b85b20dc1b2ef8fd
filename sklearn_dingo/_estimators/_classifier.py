"""The fit and predict machinery both estimators share; they choose the objective.

``fit`` validates the parameters (scikit-learn's ``_parameter_constraints``),
asks its training data (:mod:`._training_data`) for the features, classes
and shards, runs the driver (:func:`~sklearn_dingo._solver.dingo`) with one reporting
hook (:mod:`._reporting`), and stores the result in the input's precision
and array namespace. Predictions are row-wise functions of the margins.
"""

import math
import types
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from .._array_api import from_numpy, get_namespace, is_numpy, like_array, to_numpy
from .._backends import is_dask_input
from .._compat import Interval, StrOptions, check_same_namespace, fit_context, has_callbacks, init_callback_context
from .._data import input_namespace, training_data
from .._shard import HESSIAN_PRECISIONS, SUBPROBLEM_METHODS, SubproblemConfig
from .._solver import DingoConfig, dingo
from ._reporting import IterationReport, warn_at_caller

BACKENDS = ("auto", "local", "dask")


def _positive_total(total):
    """The total sample weight S as a float; zero means nothing to fit."""
    total = float(total)
    if not total > 0:
        raise ValueError("Sample weights must not all be zero (after class weights).")
    return total


class BaseDingoClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Shared fit/predict machinery; subclasses choose the objective.

    Subclasses define ``_make_objective(n_features, n_classes, total_weight, C)``
    and ``_log_proba(xp, scores)``: the model family's hooks. Each public
    subclass is decorated with :func:`public_init`.
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "max_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "theta": [Interval(Real, 0, None, closed="neither")],
        "phi": [Interval(Real, 0, None, closed="neither")],
        "rho": [Interval(Real, 0, 0.5, closed="neither")],
        "subproblem_solver": [StrOptions(set(SUBPROBLEM_METHODS))],
        "subproblem_tol": [Interval(Real, 0, None, closed="neither")],
        "subproblem_max_iter": [Interval(Integral, 1, None, closed="left")],
        "hessian_precision": [StrOptions(set(HESSIAN_PRECISIONS))],
        "local_effort": [StrOptions({"auto", "fixed"})],
        "aggregate_hessian": [StrOptions({"auto"}), "boolean"],
        "secant_memory": [Interval(Integral, 0, None, closed="left")],
        "n_shards": [Interval(Integral, 1, None, closed="left"), None],
        "rebalance": [StrOptions({"auto"}), "boolean"],
        "backend": [StrOptions(set(BACKENDS))],
    }

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
        local_effort="auto",
        aggregate_hessian="auto",
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
        self.local_effort = local_effort
        self.aggregate_hessian = aggregate_hessian
        self.secant_memory = secant_memory
        self.n_shards = n_shards
        self.rebalance = rebalance
        self.backend = backend

    def _check_n_classes(self, n_classes):
        if n_classes < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}."
            )

    # -- fit -------------------------------------------------------------------------
    def _config(self, data_dtype=np.float64):
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
            data_epsilon=float(np.finfo(data_dtype).eps),
            local_effort=self.local_effort,
            aggregate_hessian=(
                self.aggregate_hessian if isinstance(self.aggregate_hessian, str) else bool(self.aggregate_hessian)
            ),
        )

    def _rebalance(self):
        """``rebalance`` as "auto", True or False (NumPy booleans become bools)."""
        return self.rebalance if isinstance(self.rebalance, str) else bool(self.rebalance)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by DINGO.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask dataframe} of shape (n_samples, n_features)
            Training data. NumPy and SciPy sparse data run in-process unless
            ``backend="dask"``; Dask collections run on the active Dask client
            (see ``backend``), or, with no distributed client, are computed by
            Dask's local scheduler and fitted in-process. float32 data are
            fitted in float32 (products with X in float32, sums and the
            solver's vectors in float64; no float64 copy of X is made) and
            give float32 attributes and predictions; everything else is
            used as float64. Under ``sklearn.config_context(array_api_dispatch=True)``,
            array API inputs (CuPy, array-api-strict) stay in their namespace
            and on their device for the whole fit, and the fitted attributes
            are arrays of that namespace and device.
        y : array-like of shape (n_samples,)
            Target labels of any type scikit-learn accepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; multiplied by the class weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        data = training_data(X, y, sample_weight, backend=self.backend, estimator=self)
        self._set_features(data.n_features, data.feature_names)
        class_weights = self._fit_classes(data.classes, data.class_weight_sums)
        total_weight = _positive_total(data.class_weight_sums @ class_weights)
        objective = self._make_objective(data.n_features, len(self.classes_), total_weight, self.C)
        w0 = self._warm_start_point(objective)
        backend = data.shards(objective, class_weights, n_shards=self.n_shards, rebalance=self._rebalance())
        context = init_callback_context(self, max_subtasks=self.max_iter + 1)
        # Callbacks score in-memory data; Dask collections are not handed to
        # them (a scorer would compute the whole data on the client each iteration).
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        hook_data = dict(X=None, y=None, metadata=None) if is_dask_input(X, y) else dict(X=X, y=y, metadata=metadata)
        with backend:
            context.call_on_fit_task_begin(estimator=self, **hook_data)
            report = IterationReport(
                verbose=self.verbose,
                callback_context=context if has_callbacks(self) else None,
                estimator=self,
                **hook_data,
                attributes=partial(self._fitted_attributes, objective, data.result_format),
                w0=np.zeros(objective.n_params) if w0 is None else w0,
            )
            result = dingo(backend, objective, self._config(data.result_format.dtype), w0=w0, callback=report)
            report.close(result)
        self._store_result(result, objective, data.result_format)
        context.call_on_fit_task_end(estimator=self, **hook_data, reconstruction_attributes={})
        return self

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
        coef = self.coef_.toarray() if sp.issparse(self.coef_) else to_numpy(self.coef_)
        intercept = to_numpy(self.intercept_)
        K, d = objective.n_outputs, objective.n_features
        if coef.shape != (K, d) or intercept.shape != (K,):
            return None
        rows = [coef.T]
        if objective.fit_intercept:
            rows.append(intercept[None, :])
        return np.concatenate(rows, axis=0).astype(np.float64).ravel()

    def _fitted_attributes(self, objective, result_format, w):
        """``coef_`` and ``intercept_`` of the flat point ``w``, in the training data's format."""
        W = w.reshape(objective.n_rows, objective.n_outputs)
        coef = W[: objective.n_features].T
        intercept = W[objective.n_features] if objective.fit_intercept else np.zeros(objective.n_outputs)
        return {"coef_": result_format(coef), "intercept_": result_format(intercept)}

    def _store_result(self, result, objective, result_format):
        for name, value in self._fitted_attributes(objective, result_format, result.w).items():
            setattr(self, name, value)
        self.n_iter_ = result_format.indices([result.n_iter])
        self.history_ = result.history
        self.n_communication_rounds_ = result.rounds
        self.shard_disagreement_ = result.disagreement
        self.rebalanced_ = result.rebalanced
        self.stop_reason_ = str(result.stop_reason)
        self.converged_ = result.converged
        if not result.converged and not result.stopped_by_callback:
            warn_at_caller(
                f"DINGO stopped before reaching tol={self.tol}: {result.stop_reason} "
                f"(after {result.n_iter} iterations and {result.rounds} communication rounds, "
                f"gradient norm {result.grad_norm:.3e}). The model holds the best point reached.",
                ConvergenceWarning,
            )

    # -- sparse coefficients (scikit-learn's SparseCoefMixin) ---------------------------
    def densify(self):
        """Convert ``coef_`` (back) to a dense array, its format after fitting.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def sparsify(self):
        """Convert ``coef_`` to a SciPy CSR matrix.

        Worth it only when most coefficients are zero (an L2 penalty seldom
        makes them so); ``intercept_`` stays dense. Predictions accept either
        format, and ``fit`` (warm start included) works from either. Not for
        estimators fitted on array API inputs other than NumPy.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    # -- predict -----------------------------------------------------------------------
    # Every prediction is a row-wise function of the margins: on Dask inputs it
    # is mapped lazily over the row blocks (checked once, as a whole); in
    # memory it computes in X's namespace.

    def _predict_rows(self, X, from_scores, n_columns, dtype=None, *, method):
        # the public methods have checked that the estimator is fitted
        if is_dask_input(X):
            from .._data import as_dask_features, map_rows

            X, feature_names = as_dask_features(X)
            self._check_dask_features(X, feature_names)
            if dtype is None:
                dtype = np.result_type(X.dtype, to_numpy(self.intercept_).dtype)
            return map_rows(partial(self._from_block, from_scores), X, n_columns, dtype)
        # under array API dispatch, X must be in the namespace and on the device of the fit
        check_same_namespace(X, self, attribute="intercept_", method=method)
        xp = input_namespace(X)
        X = validate_data(self, X, accept_sparse="csr", dtype=[xp.float64, xp.float32], reset=False)
        return from_scores(*self._margins(X))

    def _from_block(self, from_scores, block):
        """A prediction on one (already validated) row block of a Dask array."""
        return from_scores(*self._margins(block))

    def _margins(self, X):
        coef = self.coef_ if sp.issparse(self.coef_) else like_array(self.coef_, X)
        scores = safe_sparse_dot(X, coef.T, dense_output=True)
        return get_namespace(scores), scores + like_array(self.intercept_, scores)

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
            binary classifiers. In float32 when both X and ``coef_`` are.
        """
        check_is_fitted(self)
        n_classes = len(self.classes_)
        return self._predict_rows(X, self._decision, None if n_classes == 2 else n_classes, method="decision_function")

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
        return self._predict_rows(X, self._labels, None, self.classes_.dtype, method="predict")

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
        return self._predict_rows(X, self._log_proba, len(self.classes_), method="predict_log_proba")

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
        return self._predict_rows(X, self._proba, len(self.classes_), method="predict_proba")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags


def public_init(cls):
    """Give ``cls`` the shared ``__init__`` under its own name.

    Python names the function's owner in its errors (an unknown keyword:
    "DingoLogisticRegression.__init__() got an unexpected keyword argument");
    a copy of the function whose code carries the public class's qualified
    name keeps the one signature and says which estimator was called. The
    shared ``__init__`` is the first one ``cls`` inherits (the plain
    estimators', or the cross-validated ones').
    """
    shared = next(klass.__dict__["__init__"] for klass in cls.__mro__[1:] if "__init__" in klass.__dict__)
    qualname = f"{cls.__name__}.__init__"
    init = types.FunctionType(
        shared.__code__.replace(co_qualname=qualname), shared.__globals__, "__init__", shared.__defaults__
    )
    init.__kwdefaults__ = shared.__kwdefaults__
    init.__qualname__ = qualname
    init.__doc__ = shared.__doc__
    init.__module__ = cls.__module__
    cls.__init__ = init
    return cls
