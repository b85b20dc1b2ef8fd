"""SciPy's L-BFGS-B over persisted Dask arrays: scikit-learn's lbfgs fit, run from the client.

A peer of DINGO on a cluster that dask-ml does not offer for softmax: the
objective is scikit-learn's ``LogisticRegression`` objective exactly as its
``lbfgs`` solver minimises it (``sklearn.linear_model._linear_loss.LinearModelLoss``
with ``l2_reg_strength = 1 / (C S)``),

    f(W) = (1/S) Σ_i s_i ℓ_i(W) + ‖W_features‖² / (2 C S),

with every sample weight s_i = 1 (so S = n) and the intercept not penalised.
Binary: one coefficient vector and the half binomial (log) loss
``log(1 + e^z) - y z``. Multinomial: the full K-column parametrisation with
the half multinomial loss ``logsumexp(z) - z_y``, the parameters laid out as
scikit-learn's (a ``(d (+1), K)`` matrix flattened row by row, which is its
``(K, d (+1))`` matrix flattened in Fortran order), so that from the same zero
start L-BFGS-B takes the same steps as scikit-learn's fit, up to rounding.

Each evaluation of ``(f, ∇f)`` is **one** Dask computation, as dask-glm's
lbfgs does for binary: a task per persisted row block computes that block's
loss sum and gradient sum (two reads of the block: ``X_b W`` and ``X_bᵀ R_b``),
a tree of tasks adds them, and one ``dask.compute`` brings the total back.
The coefficients travel inside the graph (no separate scatter), so an
evaluation is one blocking round trip. ``scipy.optimize.minimize(method=
"L-BFGS-B", jac=True)`` runs on the client with scikit-learn's options
(``maxiter=max_iter``, ``maxls=50``, ``gtol=tol``, ``ftol=64 eps``; no
``iprint``, as scikit-learn passes none from SciPy 1.15 on).

The block tasks report their reads of X to ``sklearn_dingo``'s pass-counter
hook, so that a benchmark counting passes on the workers counts these too
(nothing listens otherwise).
"""

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import scipy
from scipy import optimize
from scipy.special import expit

# How many partial sums one task of the reduction adds (dask's own default
# for tree reductions is of this order; with one block per worker the tree
# is a single task).
SPLIT_EVERY = 8


@dataclass
class LbfgsResult:
    """What one :func:`fit_lbfgs_over_dask` fit found and spent.

    Attributes
    ----------
    coef : ndarray of shape (1, d) (binary) or (K, d)
        Coefficients, laid out as ``LogisticRegression.coef_``.
    intercept : ndarray of shape (1,) or (K,)
        Intercepts (zeros without ``fit_intercept``).
    objective : float
        f at ``coef`` (the value L-BFGS-B returned).
    n_evaluations : int
        Evaluations of (f, ∇f): the Dask graphs computed, one each.
    n_iter : int
        L-BFGS-B iterations (at most ``max_iter``, as scikit-learn reports them).
    seconds : float
        Wall time of the whole fit (``time.perf_counter``).
    converged : bool
        L-BFGS-B's status is 0 (``gtol`` or ``ftol`` met); scikit-learn warns otherwise.
    message : str
        L-BFGS-B's message.
    """

    coef: np.ndarray
    intercept: np.ndarray
    objective: float
    n_evaluations: int
    n_iter: int
    seconds: float
    converged: bool
    message: str


def block_loss_gradient(X, y, W, classes, fit_intercept):
    """Loss sum and gradient sum of one row block at the parameters ``W``.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (m, d)
        The block's rows.
    y : ndarray of shape (m,)
        The block's labels, each one of ``classes``.
    W : ndarray of shape (d + fit_intercept, k)
        Parameters: one column for binary (k = 1), one per class otherwise;
        the intercepts in the last row.
    classes : ndarray of shape (K,)
        The sorted class labels (binary: ``classes[1]`` is the positive one).
    fit_intercept : bool
        Whether the last row of ``W`` is the intercept.

    Returns
    -------
    loss : float
        Σ_i ℓ_i over the block (unweighted sum, no penalty).
    grad : ndarray of the shape of ``W``
        Σ_i ∂ℓ_i/∂W over the block (no penalty).
    """
    d = X.shape[1]
    index = np.searchsorted(classes, y)
    # a label outside classes would silently take a neighbour's index
    if index.size and (index.max() >= classes.size or np.any(classes[index] != y)):
        raise ValueError(f"labels outside classes {classes.tolist()} in a row block.")
    Z = np.asarray(X @ W[:d], dtype=np.float64)
    if fit_intercept:
        Z = Z + W[d]
    rows = np.arange(Z.shape[0])
    if W.shape[1] == 1:  # binary: scikit-learn's HalfBinomialLoss, y in {0, 1}
        z = Z[:, 0]
        target = (index == 1).astype(np.float64)
        loss = float(np.sum(np.logaddexp(0.0, z) - target * z))
        R = (expit(z) - target)[:, None]
    else:  # HalfMultinomialLoss: logsumexp(z) - z_y, gradient softmax - one-hot
        top = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - top)
        total = E.sum(axis=1, keepdims=True)
        loss = float(np.sum(np.log(total[:, 0]) + top[:, 0] - Z[rows, index]))
        R = E / total
        R[rows, index] -= 1.0
    grad = np.empty_like(W, dtype=np.float64)
    grad[:d] = np.asarray(X.T @ R)
    if fit_intercept:
        grad[d] = R.sum(axis=0)
    _report_reads(2 * X.shape[0])  # X_b W and X_bᵀ R_b
    return loss, grad


def add_partials(*partials):
    """Sum of several ``(loss, grad)`` pairs (one node of the reduction tree)."""
    loss = sum(p[0] for p in partials)
    grad = partials[0][1].copy()
    for p in partials[1:]:
        grad += p[1]
    return loss, grad


def _report_reads(rows):
    """Tell the package's pass-counter hook of ``rows`` rows of X read (a no-op when nothing listens)."""
    try:
        from sklearn_dingo._objectives._passes import rows_read
    except ImportError:  # the counting is a benchmark's extra, never a reason to fail
        return
    rows_read(rows)


class DaskLossGradient:
    """``(f, ∇f)`` of scikit-learn's objective over persisted Dask arrays: one graph per call.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Rows in chunks, one chunk across the columns (NumPy or SciPy sparse blocks).
    y : dask.array.Array of shape (n,)
        Labels, chunked as X's rows.
    classes : array-like of shape (K,)
        The sorted class labels, K >= 2 (K = 2: binary, one coefficient vector).
    C : float
        Inverse regularisation strength, as ``LogisticRegression``'s.
    fit_intercept : bool
        Whether to fit (unpenalised) intercepts.
    scheduler : optional
        Given to ``dask.compute`` (e.g. a ``distributed.Client``); None: the current one.

    Attributes
    ----------
    n_evaluations : int
        Calls so far, each one ``dask.compute``.
    """

    def __init__(self, X, y, *, classes, C, fit_intercept, scheduler=None):
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.size < 2 or np.any(classes[1:] <= classes[:-1]):
            raise ValueError(f"classes must be sorted, unique and at least two; got {classes!r}.")
        if X.ndim != 2 or y.ndim != 1:
            raise ValueError(f"X must be 2-D and y 1-D; got {X.ndim}-D and {y.ndim}-D.")
        if len(X.chunks[1]) != 1:
            # a column split would need a reduction across columns in every block product
            raise ValueError(f"X must have one chunk across its columns; its column chunks are {X.chunks[1]}.")
        if X.chunks[0] != y.chunks[0]:
            raise ValueError(f"X's row chunks {X.chunks[0]} and y's chunks {y.chunks[0]} differ.")
        if not C > 0:
            raise ValueError(f"C must be positive; got {C!r}.")
        self.classes = classes
        self.fit_intercept = bool(fit_intercept)
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.n_columns = 1 if classes.size == 2 else int(classes.size)
        self.shape = (self.n_features + int(self.fit_intercept), self.n_columns)
        # S = n: every sample weight is 1
        self.l2_reg_strength = 1.0 / (C * self.n_samples)
        self.scheduler = scheduler
        self.n_evaluations = 0
        # the persisted blocks as Delayed objects, made once: each call only adds tasks on top
        self._blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))
        self._holders = _chunk_holders(X)

    def graph(self, W):
        """The Delayed ``(loss sum, gradient sum)`` over all blocks at ``W`` (not penalised, not averaged)."""
        import dask
        from dask import delayed

        # W rides inside each block task: no separate scatter, so one round trip per evaluation
        block = delayed(block_loss_gradient, pure=False)
        parts = []
        for (Xb, yb), holder in zip(self._blocks, self._holders, strict=True):
            # Each block's task runs where its chunk lives, as dask-glm's
            # expressions do: left to work stealing, a 160 MB chunk was
            # sometimes copied to the other worker (measured: 643 MB moved
            # over 22 evaluations of a 200,000 x 200 problem, 3.7x the time).
            pinned = dask.annotate(workers=holder, allow_other_workers=False) if holder else contextlib.nullcontext()
            with pinned:
                parts.append(block(Xb, yb, W, self.classes, self.fit_intercept))
        add = delayed(add_partials, pure=False)
        while len(parts) > 1:
            parts = [add(*parts[i : i + SPLIT_EVERY]) for i in range(0, len(parts), SPLIT_EVERY)]
        return parts[0]

    def __call__(self, w):
        """``(f, ∇f)`` at the flat parameters ``w`` (scikit-learn's layout), for ``scipy.optimize.minimize``."""
        import dask

        W = np.asarray(w, dtype=np.float64).reshape(self.shape)
        kwargs = {} if self.scheduler is None else {"scheduler": self.scheduler}
        ((loss_sum, grad_sum),) = dask.compute(self.graph(W), **kwargs)
        self.n_evaluations += 1
        return self.finish(W, loss_sum, grad_sum)

    def finish(self, W, loss_sum, grad_sum):
        """Average and penalise the block sums: ``(f, ∇f)`` with ∇f flat, as scikit-learn's ``loss_gradient``."""
        d, l2 = self.n_features, self.l2_reg_strength
        features = W[:d]
        f = loss_sum / self.n_samples + 0.5 * l2 * float(np.sum(features * features))
        grad = np.asarray(grad_sum, dtype=np.float64) / self.n_samples
        grad[:d] += l2 * features
        return float(f), grad.ravel()


def _chunk_holders(X):
    """The workers holding each row chunk of a persisted X (None for each without a distributed client)."""
    from dask.core import flatten

    keys = list(flatten(X.__dask_keys__()))
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return [None] * len(keys)
    who_has = client.who_has(X)
    return [sorted(who_has.get(key, ())) or None for key in keys]


def lbfgs_options(tol, max_iter):
    """scikit-learn's L-BFGS-B options for ``LogisticRegression(solver="lbfgs")`` (``_logistic.py``)."""
    options = {"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps}
    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    if (major, minor) < (1, 15):  # scikit-learn passes iprint (silent: -1) only to older SciPy
        options["iprint"] = -1
    return options


def fit_lbfgs_over_dask(X, y, *, classes, C, fit_intercept, tol=1e-4, max_iter=100, scheduler=None):
    """Fit scikit-learn's logistic / softmax regression by SciPy's L-BFGS-B over persisted Dask arrays.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Float features in row chunks (one chunk across the columns), best
        persisted on the cluster: every evaluation reads every chunk.
    y : dask.array.Array of shape (n,)
        Labels, chunked as X's rows.
    classes : array-like of shape (K,)
        The sorted class labels. K = 2: binary (``classes[1]`` positive, one
        coefficient vector); K > 2: multinomial, K columns.
    C : float
        Inverse regularisation strength (``LogisticRegression``'s ``C``).
    fit_intercept : bool
        Whether to fit unpenalised intercepts.
    tol : float, default=1e-4
        L-BFGS-B's ``gtol`` (``LogisticRegression``'s ``tol``).
    max_iter : int, default=100
        L-BFGS-B's ``maxiter``.
    scheduler : optional
        Given to ``dask.compute`` (e.g. a ``distributed.Client``); None: the current one.

    Returns
    -------
    LbfgsResult
    """
    t0 = time.perf_counter()
    fun = DaskLossGradient(X, y, classes=classes, C=C, fit_intercept=fit_intercept, scheduler=scheduler)
    w0 = np.zeros(fun.shape[0] * fun.shape[1])
    result = optimize.minimize(fun, w0, method="L-BFGS-B", jac=True, options=lbfgs_options(tol, max_iter))
    seconds = time.perf_counter() - t0
    W = result.x.reshape(fun.shape)
    d = fun.n_features
    return LbfgsResult(
        coef=np.ascontiguousarray(W[:d].T),
        intercept=W[d].copy() if fun.fit_intercept else np.zeros(fun.n_columns),
        objective=float(result.fun),
        n_evaluations=fun.n_evaluations,
        # scikit-learn's _check_optimize_result: nit, capped at max_iter
        n_iter=int(min(result.nit, max_iter)),
        seconds=seconds,
        converged=bool(result.status == 0),
        message=str(result.message),
    )
