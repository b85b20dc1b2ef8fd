"""The cross-validated estimators: DingoLogisticRegressionCV and DingoSoftmaxRegressionCV."""

from ._classifier import public_init
from ._cv import DingoClassifierCVMixin
from ._logistic import DingoLogisticRegression, DingoSoftmaxRegression

_SHARED_PARAMETERS = """\
    Cs : int or array-like of float, default=10
        The values of C to try (inverse L2 strength, as ``C`` of the plain
        estimator). An int ``n``: ``np.logspace(-4, 4, n)``, as scikit-learn.
        Each fold runs them from the smallest (strongest penalty) to the
        largest, each run starting from the fold's previous solution.
    cv : int, cross-validation generator or iterable, default=None
        The folds, as scikit-learn's ``cv``: None is 5 folds, an int that
        many, stratified (:class:`~sklearn.model_selection.StratifiedKFold`);
        a splitter or an iterable of (train, test) index arrays as given.
        At least 2 folds. The splitter sees the labels in this process (Dask
        labels are computed to the client: one value per row) and, for
        Dask X, an array of the right length without columns.
    scoring : str, callable or None, default="neg_log_loss"
        How a fold's held-out rows score a C (higher is better), as
        scikit-learn's ``scoring``. ``"neg_log_loss"`` and ``"accuracy"``
        are computed on the shards where the held-out rows live: three
        numbers per fold and C travel. Any other scorer (None: accuracy
        too) receives the held-out rows' predictions, computed on the
        shards and gathered to this process (K numbers per held-out row, fold
        and C), through a stand-in classifier whose X is the column of row
        positions: scorers that read the features of X themselves are not
        supported. Scorers that take ``labels`` are given all classes, as
        ``LogisticRegressionCV`` does.
    refit : bool, default=True
        Refit the best C (largest mean score over the folds) on all rows,
        starting from the mean of the folds' solutions at that C, through
        the same shards. ``False``: the model is the mean of each fold's
        best solution, and ``C_`` the mean of those C, as scikit-learn.
    fit_intercept, class_weight, verbose, tol, max_iter, max_rounds, theta, phi, rho
        As for the plain estimator, per DINGO run (``max_iter`` and
        ``max_rounds`` are each run's budgets; ``verbose`` >= 1 prints each
        run's line). ``tol`` is scikit-learn's objective's gradient norm on
        each fold's training rows.
    subproblem_solver, subproblem_tol, subproblem_max_iter, hessian_precision, secant_memory
        As for the plain estimator.
    local_effort, aggregate_hessian
        As for the plain estimator, per DINGO run (each run prices its
        rounds from the search's shared ones).
    n_shards, backend
        As for the plain estimator: the shards are built once for the whole
        search.
    rebalance : {"auto", True, False}, default="auto"
        As for the plain estimator, except that rows never move during the
        search: ``True`` rebalances them once before the folds are laid on
        the shards (when the shards can be rebalanced); ``"auto"`` and
        ``False`` keep them where the shards were built (dense in-memory data
        are rebalanced by views anyway), and disagreeing shards get the
        secant-corrected directions.

    Attributes
    ----------
    C_ : float
        The chosen C.
    Cs_ : ndarray of shape (n_cs,)
        The values of C tried, in the order given.
    scores_ : ndarray of shape (n_folds, n_cs)
        Held-out score of each fold at each C.
    coefs_paths_ : ndarray of shape (n_folds, n_cs, n_outputs, n_features + fit_intercept)
        Each fold's coefficients at each C, the intercept last (``n_outputs``
        is 1 for the binary model, as scikit-learn's modern attributes).
    n_iter_ : ndarray of shape (n_folds, n_cs)
        DINGO iterations of each fold's run at each C (int32).
    coef_, intercept_ : ndarray
        The model: the refit's (or the folds' mean), as the plain estimator's.
    classes_ : ndarray of shape (n_classes,)
    n_communication_rounds_ : int
        Rounds of the whole search and refit (ALGORITHM.md counting). A round
        shared by several folds counts once.
    history_ : dict of str to ndarray
        One row per DINGO run, the refit last: ``fold`` (the refit is fold
        ``n_folds``), ``C``, ``n_iter``, ``rounds`` (the rounds that run took
        part in), ``shared_rounds`` (the search's shared rounds when it
        ended), ``loss``, ``grad_norm``, ``converged``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has string feature names.

    Notes
    -----
    A fold is a weight mask on the shards the fit builds once: its held-out
    rows weigh 0 in its objective, whose penalty is scaled by the fold's own
    training weight (as scikit-learn's). The runs of all folds advance
    together: a round carries one vector per fold and every shard answers for
    all of them in one task, so the search costs about the rounds of one
    fold's path, not of every fold's. A fold whose training rows miss a class
    keeps that class's coefficients (all classes of y are fitted in every
    fold, as in ``LogisticRegressionCV``). A run that ends before ``tol``
    gives one ``ConvergenceWarning`` that names each such fold and C.
"""


@public_init
class DingoLogisticRegressionCV(DingoClassifierCVMixin, DingoLogisticRegression):
    __doc__ = """Binary logistic regression with C chosen by cross-validation on resident shards.

    The cross-validated :class:`DingoLogisticRegression`, with the interface
    of scikit-learn's ``LogisticRegressionCV`` in its modern form
    (``use_legacy_attributes=False``) and ``neg_log_loss`` as default score.

    Parameters
    ----------
""" + _SHARED_PARAMETERS + """
    See Also
    --------
    DingoLogisticRegression : One value of C.
    DingoSoftmaxRegressionCV : The multinomial model.
    sklearn.linear_model.LogisticRegressionCV : The same search, single machine.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_dingo import DingoLogisticRegressionCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), DingoLogisticRegressionCV(Cs=8)).fit(X, y)
    >>> model[-1].scores_.shape
    (5, 8)
    """


@public_init
class DingoSoftmaxRegressionCV(DingoClassifierCVMixin, DingoSoftmaxRegression):
    __doc__ = """Multinomial (softmax) regression with C chosen by cross-validation on resident shards.

    The cross-validated :class:`DingoSoftmaxRegression`, with the interface
    of scikit-learn's ``LogisticRegressionCV`` in its modern form
    (``use_legacy_attributes=False``) and ``neg_log_loss`` as default score.

    Parameters
    ----------
""" + _SHARED_PARAMETERS + """
    See Also
    --------
    DingoSoftmaxRegression : One value of C.
    DingoLogisticRegressionCV : The binary model.
    sklearn.linear_model.LogisticRegressionCV : The same search, single machine.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dingo import DingoSoftmaxRegressionCV
    >>> X, y = load_iris(return_X_y=True)
    >>> model = DingoSoftmaxRegressionCV(Cs=[0.1, 1.0, 10.0]).fit(X, y)
    >>> model.coefs_paths_.shape
    (5, 3, 3, 5)
    """
