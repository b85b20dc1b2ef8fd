"""The scikit-learn face: DingoLogisticRegression and DingoSoftmaxRegression."""

from .._objectives import BinaryLogistic, MultinomialSoftmax
from ._classifier import BaseDingoClassifier, public_init


@public_init
class DingoLogisticRegression(BaseDingoClassifier):
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
        ``1`` prints one line per iteration (iteration, cumulative rounds,
        case, step size, objective, gradient norm, seconds) and a last line
        saying why the fit stopped, after how many iterations, rounds and
        bytes. ``2`` adds what tuning the solver needs: the case test's
        margin ``⟨p, Hg⟩ / (−θ‖g‖²)`` (at least 1 for an accepted direction),
        the line search's trials and the shards' disagreement δ.
    tol : float, default=1e-6
        Stop when the gradient norm of the objective is at most ``tol``
        (0: run to the resolution of the data's precision). The gradient of
        float32 data is resolved to about 1e-9-1e-6 (relative to the
        features' scale); a fit that stalls there stops with that reason
        (:attr:`stop_reason_`) and counts as converged.
    max_iter : int, default=100
        Budget of DINGO iterations (0: the starting point, with a
        ``ConvergenceWarning``).
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
        Relative tolerance of the Krylov sub-problem solvers (with
        ``local_effort="auto"``, the tightest they are asked for).
    subproblem_max_iter : int, default=50
        Iteration cap of each Krylov sub-problem solve (with
        ``local_effort="auto"``, the most they are given).
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
    local_effort : {"auto", "fixed"}, default="auto"
        How much local work buys a round. ``"fixed"``: every iteration's
        Krylov solves run to ``subproblem_tol`` or ``subproblem_max_iter``
        and the line search tries 4 steps per round trip, whatever a round
        costs: the fewest rounds, for slow links. ``"auto"``: the fit
        measures the seconds of a round and of a pass over a shard from
        its first round on, and spends local passes only where a round is
        dear enough to be worth them: in process and on fast clusters,
        short Krylov solves whose tolerance loosens while the gradient falls
        fast (a forcing sequence) and one trial step per line search; on
        slow links, the fixed settings. The case tests guard every inexact
        direction, so the solution is the same.
    aggregate_hessian : {"auto", True, False}, default="auto"
        Whether iterations take the exact Newton step from the shards'
        summed Hessians: each shard sends the upper triangle of its D × D
        Hessian (D the number of coefficients) instead of DINGO's three
        vectors, and the driver solves. The step does not depend on the
        order of the rows, needs no local solve, and costs 2 rounds per
        iteration when its unit step is accepted (the search brings the
        next Hessian), against DINGO's 4. ``"auto"``: when D is at most
        2,048 and an iteration of it, estimated from the measured prices
        (the shards' Gram blocks, the bytes at Dask's
        ``distributed.scheduler.bandwidth``, the rounds), costs at most
        1.25 DINGO iterations, or 8 once the shards are seen to disagree
        while their rows stay in place; ``case`` 5 in :attr:`history_`.
        ``True``: always; ``False``: never (plain DINGO).
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
        each shard has at least 50 rows per parameter (or one is left), but
        not below one shard per worker thread holding the chunks while each
        keeps 50 rows per feature (one shard leaves the other workers idle).
    rebalance : {"auto", True, False}, default="auto"
        Whether rows may move between shards so that every shard looks like
        the whole data (DINGO's few rounds need that; rows sorted by label,
        time or a feature make shards that disagree). Dense in-memory data:
        shards take every m-th row (views, no copy) unless ``False``.
        In-memory sparse data: ``True`` copies the rows into rebalanced
        shards (every m-th row) once; ``"auto"`` starts from row blocks (views) and copies only if
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
        ``"auto"`` finds that moving does not pay; rebalanced shards are
        never corrected.
    backend : {"auto", "local", "dask"}, default="auto"
        ``"local"`` runs in-process; ``"dask"`` on the active Dask client;
        ``"auto"`` picks Dask for Dask inputs, local otherwise.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : ndarray of shape (1,)
        DINGO iterations run (int32, as ``LogisticRegression``'s).
    n_communication_rounds_ : int
        Broadcasts plus reduces, counted as the DINGO paper does; a move of
        rows by ``rebalance`` included.
    history_ : dict of str to ndarray
        Per-iteration record (row 0 is the start): ``iteration``, ``rounds``,
        ``bytes_down``, ``bytes_up``, ``bytes_moved`` (cumulative; the last:
        data rows moved or copied to rebalance the shards), ``case`` (1-3: DINGO's
        cases; 4: the secant-corrected direction of disagreeing shards;
        5: the Newton step from the aggregated Hessian), ``step_kind``
        (``"dingo"`` or ``"newton"``), ``lanczos_cap`` and
        ``line_search_batch`` (the local effort the iteration was given;
        ``local_effort``), ``step_size``, ``direction_norm``, ``direction_spread`` (the shards'
        disagreement δ in that iteration), ``loss``, ``grad_norm``, ``time``
        (seconds). ``pandas.DataFrame(est.history_)`` makes a table of it.
    shard_disagreement_ : float
        How much the shards disagreed as first built: the relative spread
        δ = sqrt(Σ_j π_j ‖u_j − u‖²) / ‖u‖ of their local Newton directions
        u_j = H_j^† g in the first iteration (random row orders give about
        0.05-0.25, sorted rows 0.3 and more). NaN if no iteration ran.
    rebalanced_ : bool
        Whether rows were moved between workers (Dask) or copied (sparse
        data in memory) to rebalance the shards during the fit. Dense data in
        memory are rebalanced by views from the start: nothing moves, and
        this is False.
    stop_reason_ : str
        Why the fit ended: ``tol`` reached, the resolution of the data's
        precision reached, a budget spent, a callback's request, or a
        numerical breakdown. Any but the first two and the callback's also
        raise a ``ConvergenceWarning``.
    converged_ : bool
        Whether the gradient norm reached ``tol`` or the resolution of the
        data's precision.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has string feature names.

    Notes
    -----
    Fitted attributes follow ``LogisticRegression``'s conventions: float32
    data give float32 ``coef_`` and ``intercept_``; under
    ``sklearn.config_context(array_api_dispatch=True)`` (which, as in
    scikit-learn, needs ``SCIPY_ARRAY_API=1`` in the environment before
    SciPy is imported) they are arrays of the input's namespace and device.
    ``set_callbacks`` takes scikit-learn's callbacks (``ProgressBar``,
    ``ScoringMonitor``, ...): each DINGO iteration is one sub-task, and a
    callback asking to stop ends the fit after that iteration.
    :meth:`sparsify` and :meth:`densify` convert ``coef_`` as
    scikit-learn's linear models do.

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
    0.988
    """

    def _make_objective(self, n_features, n_classes, total_weight, C):
        return BinaryLogistic(
            n_features=n_features,
            fit_intercept=self.fit_intercept,
            C=float(C),
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


@public_init
class DingoSoftmaxRegression(BaseDingoClassifier):
    """Multinomial (softmax) logistic regression fitted by DINGO.

    Minimises scikit-learn's multinomial ``LogisticRegression`` objective in
    the full parametrisation (one coefficient row per class, K ≥ 2)

        f(W, b) = (1/S) Σ_i s_i [logsumexp(η_i) − η_{i, y_i}] + ‖W‖² / (2 C S),
        η_i = Wᵀ x_i + b ∈ R^K,  S = Σ_i s_i,

    by DINGO (Crane and Roosta, 2019). The intercepts are determined up to a
    common constant (and, with ``C=np.inf``, each feature's coefficients):
    every direction is kept centred across classes, so the solution is the
    centred one, scikit-learn's, in any precision.

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
        ``1``: a line per iteration and one saying why the fit stopped;
        ``2``: also the case test, line search and disagreement; see
        :class:`DingoLogisticRegression`.
    tol : float, default=1e-6
        Stop when the gradient norm of the objective is at most ``tol``, or
        at the resolution of the data's precision; see
        :class:`DingoLogisticRegression`.
    max_iter : int, default=100
        Budget of DINGO iterations (0: the starting point).
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
    local_effort : {"auto", "fixed"}, default="auto"
        Local work per iteration chosen from the measured prices of a round
        and a pass, or fixed (the fewest rounds); see
        :class:`DingoLogisticRegression`.
    aggregate_hessian : {"auto", True, False}, default="auto"
        Whether iterations take the exact Newton step from the shards'
        summed Hessians; see :class:`DingoLogisticRegression`.
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
    n_iter_ : ndarray of shape (1,)
    n_communication_rounds_ : int
    history_ : dict of str to ndarray
        Per-iteration record; see :class:`DingoLogisticRegression`.
    shard_disagreement_ : float
        How much the shards disagreed as first built; see
        :class:`DingoLogisticRegression`.
    rebalanced_ : bool
        Whether rows were moved to rebalance the shards.
    stop_reason_ : str
    converged_ : bool
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Notes
    -----
    Precision, array API, callbacks and sparse coefficients: as
    :class:`DingoLogisticRegression`.

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

    def _make_objective(self, n_features, n_classes, total_weight, C):
        return MultinomialSoftmax(
            n_features=n_features,
            n_classes=n_classes,
            fit_intercept=self.fit_intercept,
            C=float(C),
            total_weight=total_weight,
        )

    @staticmethod
    def _log_proba(xp, scores):
        shifted = scores - xp.max(scores, axis=1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
