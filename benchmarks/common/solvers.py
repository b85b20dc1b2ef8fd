"""The solvers compared, and how each is run.

Every solver minimises scikit-learn's ``LogisticRegression`` objective with
``fit_intercept=False`` at the problem's ``C`` (dask-ml penalises its
intercept, so with an intercept the objectives would differ):

* ``dingo`` - this package in-process (``DingoLogisticRegression`` /
  ``DingoSoftmaxRegression``, default sharding), ``tol=1e-10``.
* ``dingo (dask)`` - the same on the 2-worker ``LocalCluster``
  (``backend="dask"``), fitted on the Dask arrays persisted on the cluster.
* ``sklearn lbfgs`` / ``sklearn newton-cholesky`` - ``LogisticRegression``
  with ``tol=1e-10`` (so that they run to the optimum; lbfgs also stops on its
  relative-decrease test ``ftol = 64 eps``).
* ``sklearn lbfgs tol=1e-6``, ``sklearn newton-cholesky tol=1e-6``,
  ``sklearn newton-cg tol=1e-6`` - the same at ``tol=1e-6``, near
  scikit-learn's default: the compare suite's honest clock times DINGO
  against the fastest of them. newton-cholesky where it is practical,
  newton-cg where it is not (:func:`newton_cholesky_impractical`: softmax and
  sparse problems); n/a elsewhere.
* ``dask-ml lbfgs`` - ``dask_ml.linear_model.LogisticRegression(solver="lbfgs")``
  with its defaults (``tol=1e-4``, ``max_iter=100``, ``normalize=True``).
* ``dask-ml lbfgs (normalize=False)`` - the same on the raw features.
* ``dask-ml newton`` - ``solver="newton"`` with its defaults.
* ``scipy lbfgs (dask)`` - SciPy's L-BFGS-B on the client, each evaluation of
  (f, gradient) one Dask graph over the cluster's persisted chunks
  (``common/dask_lbfgs.py``), with scikit-learn's lbfgs options and the
  ``sklearn lbfgs`` row's ``tol=1e-10`` and ``max_iter`` (and its cap at the
  default size; ``max_iter=200`` in ``--quick``): scikit-learn's lbfgs fit,
  run over the cluster. It fits the arrays DINGO's cluster rows fit, binary
  and softmax problems alike (dask-ml has no softmax).
* ``dingo float32``, ``sklearn lbfgs float32``, ``dingo float32 (dask)`` -
  ``dingo``, ``sklearn lbfgs`` and ``dingo (dask)`` with the same settings,
  fitted on the problem's float32 X (on the cluster: a float32 copy persisted
  there next to the float64 one). A float32 DINGO fit also stops where ‖g‖
  stalls at float32's resolution, short of ``tol=1e-10``; its stop column
  says so.

How dask-ml's ``C`` maps (checked against dask_ml/linear_model/glm.py and
dask_glm, and numerically by :func:`check_dask_glm_objective`): dask-ml passes
``lamduh = 1/C`` to dask-glm, whose objective is the **sum** of the log-losses
plus ``lamduh * ||beta||^2 / 2`` (``L2.f``). That is ``n`` times
scikit-learn's ``mean + ||w||^2 / (2 C n)``: same minimiser, same ``C``. But

* with ``normalize=True`` (dask-glm's default, which dask-ml keeps) the solver
  runs on ``X / std(X)`` and the penalty applies to the coefficients of the
  scaled features, i.e. to ``std_j * w_j``: on standardised data (std = 1)
  nothing changes, on unscaled data it is a different objective;
* ``solver="newton"`` drops ``regularizer`` and ``lamduh``
  (``_get_solver_kwargs``): dask-ml's Newton is **unpenalised** whatever ``C``
  is, so it converges to the C = inf solution;
* dask-ml's ``LogisticRegression`` is binary only: no softmax problem.
"""

import math
import operator
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

DINGO_TOL = 1e-10
DINGO_MAX_ITER = 1000
SKLEARN_TOL = 1e-10
SKLEARN_MAX_ITER = 10_000
CLOCK_TOL = 1e-6  # the honest clock's scikit-learn fits (compare suite)
# Caps applied at the default size only, where a full run would not fit the
# benchmark's time budget on a 2-core machine (reported as "capped").
DEFAULT_CAPS = {
    ("sklearn lbfgs", 2): 500,  # ~0.1 s/iteration; it needs several thousand here
    ("sklearn lbfgs float32", 2): 500,  # the same fit on the float32 X
    ("sklearn newton-cholesky", 4): 1,  # one multinomial Hessian (D = 7,840) takes minutes
    ("sklearn newton-cholesky", 6): 1,  # likewise (D = 6,000, K = 20: 210 class pairs of n d^2 each)
    ("sklearn lbfgs tol=1e-6", 2): 500,  # as "sklearn lbfgs": thousands of iterations at 1e-6 too
    ("scipy lbfgs (dask)", 2): 500,  # the same fit as "sklearn lbfgs", a round trip per evaluation
}
# --quick only: dask-ml spends ~70 ms per round trip here; cap its iterations
# so that the whole quick run stays well under a minute (CI).
QUICK_DASK_ML_MAX_ITER = 20
# --quick only: scipy lbfgs (dask) needs ~1,400 iterations (one round trip each,
# ~35 ms here) on the quick problem 2; the others converge in under 30.
QUICK_SCIPY_LBFGS_MAX_ITER = 200
# A dense Hessian (D x D float64) above this is "does not fit in memory".
MAX_DENSE_HESSIAN_BYTES = 4 * 2**30


@dataclass
class FitOutput:
    coef: np.ndarray  # (d,) binary or (K, d)
    n_iter: int
    stop: str
    capped: bool = False
    history: dict = None
    rounds: int = None  # paper counting (DINGO)
    paper_bytes: int = None  # bytes_down + bytes_up (DINGO)
    note: str = ""


class NotApplicable(Exception):
    """This solver does not run on this problem (the message says why)."""


@dataclass
class Solver:
    name: str
    where: str  # "in-process" or "cluster"
    family: str  # "dingo", "sklearn", "dask-ml"
    float32: bool = False  # fitted on the float32 X (Problem.X_float32)

    @property
    def dtype(self):
        return "float32" if self.float32 else "float64"

    def X_of(self, problem):
        """The X this solver fits in-process."""
        return problem.X_float32 if self.float32 else problem.X

    def check(self, problem, size):
        """Raise NotApplicable if the solver cannot run on the problem."""

    def fit(self, problem, data, size):
        raise NotImplementedError


def _hessian_bytes(problem):
    return 8 * problem.n_params**2


class DingoInProcess(Solver):
    def __init__(self, float32=False):
        super().__init__("dingo float32" if float32 else "dingo", "in-process", "dingo", float32)

    def fit(self, problem, data, size, callbacks=()):
        """``callbacks``: scikit-learn callbacks given to the estimator (``set_callbacks``)."""
        from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression

        Est = DingoLogisticRegression if problem.binary else DingoSoftmaxRegression
        model = Est(C=problem.C, fit_intercept=False, tol=DINGO_TOL, max_iter=DINGO_MAX_ITER)
        if callbacks:
            model.set_callbacks(*callbacks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(self.X_of(problem), problem.y)
        return dingo_output(model)


class DingoDask(Solver):
    def __init__(self, float32=False):
        super().__init__("dingo float32 (dask)" if float32 else "dingo (dask)", "cluster", "dingo", float32)

    def fit(self, problem, data, size, callbacks=()):
        """``callbacks``: scikit-learn callbacks given to the estimator (the meter's iteration marks)."""
        from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression

        Est = DingoLogisticRegression if problem.binary else DingoSoftmaxRegression
        model = Est(C=problem.C, fit_intercept=False, tol=DINGO_TOL, max_iter=DINGO_MAX_ITER, backend="dask")
        if callbacks:
            model.set_callbacks(*callbacks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data.X_dingo_float32 if self.float32 else data.X_dingo, data.y_labels)
        return dingo_output(model)


def dingo_output(model):
    h = model.history_
    return FitOutput(
        coef=model.coef_,
        n_iter=int(model.n_iter_[0]),
        stop=model.stop_reason_,
        capped=not model.converged_,
        history={k: np.asarray(v) for k, v in h.items()},
        rounds=int(model.n_communication_rounds_),
        paper_bytes=int(h["bytes_down"][-1] + h["bytes_up"][-1]),
    )


def tol_text(tol):
    """``1e-10``, ``1e-06`` -> ``"1e-10"``, ``"1e-6"``: as the rows' names and stop reasons write it."""
    return f"{tol:.0e}".replace("e-0", "e-")


def newton_cholesky_impractical(problem):
    """Whether scikit-learn's newton-cholesky is impractical on problems of this kind at the default size.

    Softmax: its multinomial Hessian (D = d K = 6,000-7,840 parameters) costs
    minutes an iteration; sparse: its dense D x D Hessian does not fit in
    memory. Judged by the kind, not the size, so that ``--quick`` runs the
    rows of the default size.
    """
    return problem.sparse or not problem.binary


class SklearnSolver(Solver):
    def __init__(self, solver, float32=False, tol=SKLEARN_TOL):
        name = f"sklearn {solver}" + (" float32" if float32 else "")
        if tol != SKLEARN_TOL:
            name += f" tol={tol_text(tol)}"
        super().__init__(name, "in-process", "sklearn", float32)
        self.solver = solver
        self.tol = tol

    def check(self, problem, size):
        if self.solver == "newton-cholesky" and _hessian_bytes(problem) > MAX_DENSE_HESSIAN_BYTES:
            raise NotApplicable(
                f"does not fit in memory: its Hessian ({problem.n_params:,}^2 float64) is "
                f"{_hessian_bytes(problem) / 2**30:.0f} GiB"
            )
        # the clock's Newton-type fit: newton-cholesky where practical, newton-cg where not
        if self.tol == CLOCK_TOL and self.solver == "newton-cholesky" and newton_cholesky_impractical(problem):
            raise NotApplicable("impractical on this kind of problem at the default size: newton-cg instead")
        if self.solver == "newton-cg" and not newton_cholesky_impractical(problem):
            raise NotApplicable("newton-cholesky is practical here (dense binary): newton-cg only where it is not")

    def fit(self, problem, data, size):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        max_iter = SKLEARN_MAX_ITER if self.solver == "lbfgs" else 100
        cap = DEFAULT_CAPS.get((self.name, problem.key)) if size == "default" else None
        if cap is not None:
            max_iter = cap
        model = LogisticRegression(
            C=problem.C, fit_intercept=False, solver=self.solver, tol=self.tol, max_iter=max_iter
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(self.X_of(problem), problem.y)
        n_iter = int(np.max(model.n_iter_))
        hit_cap = n_iter >= max_iter or any(issubclass(w.category, ConvergenceWarning) for w in caught)
        if cap is not None and hit_cap:
            stop = f"capped at max_iter={max_iter} (time budget)"
        elif hit_cap:
            stop = f"max_iter={max_iter} or line search ended (ConvergenceWarning)"
        else:
            stop = f"converged (tol={tol_text(self.tol)})"
        coef = model.coef_[0] if problem.binary else model.coef_
        return FitOutput(coef=coef, n_iter=n_iter, stop=stop, capped=hit_cap)


class DaskMLSolver(Solver):
    def __init__(self, solver, normalize=True):
        name = f"dask-ml {solver}" + ("" if normalize else " (normalize=False)")
        super().__init__(name, "cluster", "dask-ml")
        self.solver = solver
        self.normalize = normalize

    def check(self, problem, size):
        try:
            import dask_ml  # noqa: F401
        except ImportError:
            raise NotApplicable("dask_ml is not installed") from None
        if not problem.binary:
            raise NotApplicable("dask-ml's LogisticRegression is binary only")
        if self.solver == "newton" and _hessian_bytes(problem) > MAX_DENSE_HESSIAN_BYTES:
            raise NotApplicable(
                f"does not fit in memory: its dense Hessian is {_hessian_bytes(problem) / 2**30:.0f} GiB"
            )

    def fit(self, problem, data, size):
        from dask_ml.linear_model import LogisticRegression

        kwargs = {} if self.normalize else {"normalize": False}
        extra, stop = {}, "its own stop (default tol, max_iter)"
        if size == "quick":
            extra = {"max_iter": QUICK_DASK_ML_MAX_ITER}
            stop = f"its own stop (default tol; max_iter={QUICK_DASK_ML_MAX_ITER} in --quick)"
        model = LogisticRegression(
            C=problem.C, fit_intercept=False, solver=self.solver, solver_kwargs=kwargs, **extra
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data.X_daskml, data.y_float)
        coef = np.asarray(model.coef_, dtype=np.float64).ravel()
        return FitOutput(coef=coef, n_iter=-1, stop=stop)

    def passes_per_compute(self, computes):
        """Reads of X implied by dask-ml's computes (from dask_glm/algorithms.py).

        normalize: one compute of mean and std (one read). lbfgs: each
        function evaluation computes X @ beta once (shared by loss and
        gradient) and X.T @ r: two reads. newton: per iteration X @ beta,
        X.T @ (p - y) and the Hessian (p(1-p) X.T) @ X (two reads): four.
        """
        evaluations = computes - (1 if self.normalize else 0)
        per = 2 if self.solver == "lbfgs" else 4
        return per * evaluations + (1 if self.normalize else 0), evaluations


class ScipyLbfgsDask(Solver):
    """SciPy's L-BFGS-B over the persisted cluster data: one graph per evaluation (``common/dask_lbfgs.py``).

    It fits ``ClusterData.X_dingo`` and the integer labels (NumPy or SciPy CSR
    chunks, one per worker), binary or softmax; its block tasks report their
    reads of X (two per evaluation) to the package's pass counter on the workers.
    """

    def __init__(self):
        super().__init__("scipy lbfgs (dask)", "cluster", "scipy")

    def fit(self, problem, data, size):
        from .dask_lbfgs import fit_lbfgs_over_dask

        max_iter, cap, why = SKLEARN_MAX_ITER, None, ""
        if size == "default" and (self.name, problem.key) in DEFAULT_CAPS:
            cap, why = DEFAULT_CAPS[(self.name, problem.key)], "time budget"
        elif size == "quick":
            cap, why = QUICK_SCIPY_LBFGS_MAX_ITER, "--quick"
        if cap is not None:
            max_iter = cap
        result = fit_lbfgs_over_dask(
            data.X_dingo,
            data.y_labels,
            classes=np.arange(problem.n_classes),
            C=problem.C,
            fit_intercept=False,
            tol=SKLEARN_TOL,
            max_iter=max_iter,
        )
        # scikit-learn's ConvergenceWarning test: L-BFGS-B's status is not 0
        capped = not result.converged
        if cap is not None and capped:
            stop = f"capped at max_iter={max_iter} ({why})"
        elif capped:
            stop = f"max_iter={max_iter} or line search ended ({result.message})"
        else:
            stop = "converged (tol=1e-10)"
        coef = result.coef[0] if problem.binary else result.coef
        note = f"{result.n_evaluations} evaluations, one graph each"
        return FitOutput(coef=coef, n_iter=result.n_iter, stop=stop, capped=capped, note=note)


def all_solvers():
    return [
        DingoInProcess(),
        SklearnSolver("lbfgs"),
        SklearnSolver("newton-cholesky"),
        SklearnSolver("lbfgs", tol=CLOCK_TOL),
        SklearnSolver("newton-cholesky", tol=CLOCK_TOL),
        SklearnSolver("newton-cg", tol=CLOCK_TOL),
        DingoInProcess(float32=True),
        SklearnSolver("lbfgs", float32=True),
        DingoDask(),
        DingoDask(float32=True),
        DaskMLSolver("lbfgs"),
        DaskMLSolver("lbfgs", normalize=False),
        DaskMLSolver("newton"),
        ScipyLbfgsDask(),
    ]


# -- data on the cluster --------------------------------------------------------------
class ClusterData:
    """The problem's arrays persisted on the cluster, shared by all cluster solvers.

    Rows are split into one chunk per worker. DINGO gets the labels and X as
    stored (SciPy CSR chunks for the sparse problem); dask-ml gets float 0/1
    labels and, for the sparse problem, pydata-sparse COO chunks (dask-glm's
    products fail on SciPy chunks: dask's tensordot asserts 2-D operands).
    With ``float32``, DINGO's X also in float32 (``X_dingo_float32``), each
    chunk converted on its worker.
    """

    def __init__(self, client, problem, n_chunks, float32=False):
        """Persist the problem's arrays on the cluster (aligned, made by worker tasks)."""
        import dask.array as da

        n, d = problem.X.shape
        rows = math.ceil(n / n_chunks)
        if problem.sparse:
            X = da.from_array(problem.X, chunks=(rows, d), asarray=False, meta=sp.csr_matrix((0, 0)))
        else:
            X = da.from_array(problem.X, chunks=(rows, d))
        y = da.from_array(problem.y, chunks=rows)
        # Re-create every chunk by a task on its worker. Chunks that arrive
        # from the client are views into the received network frames, at
        # arbitrary byte offsets (measured: address % 8 != 0), and BLAS runs
        # 5-10x slower on such misaligned arrays (dask/distributed#8985).
        # Data loaded by Dask itself (read_parquet, from_zarr, ...) are made on
        # the workers, aligned: that is the setting benchmarked here.
        copy = operator.methodcaller("copy")
        X = X.map_blocks(copy, dtype=X.dtype, meta=X._meta)
        y = y.map_blocks(copy, dtype=y.dtype)
        arrays = [X, y, y.astype(np.float64)]
        coo = None
        if problem.sparse:
            try:  # pydata-sparse comes with dask-glm (dask-ml); without it dask-ml does not run
                import sparse
            except ImportError:
                sparse = None
            if sparse is not None:
                meta = sparse.COO.from_numpy(np.zeros((0, 0)))
                coo = X.map_blocks(sparse.COO.from_scipy_sparse, dtype=np.float64, meta=meta)
                arrays.append(coo)
        if float32:
            meta = sp.csr_matrix((0, 0), dtype=np.float32) if problem.sparse else np.empty((0, 0), np.float32)
            arrays.append(X.map_blocks(_as_float32, dtype=np.float32, meta=meta))
        persisted = client.persist(arrays)
        from distributed import wait

        wait(persisted)
        self.X_dingo, self.y_labels, self.y_float = persisted[:3]
        if problem.sparse:
            self.X_daskml = persisted[3] if coo is not None else None
        else:
            self.X_daskml = persisted[0]
        self.X_dingo_float32 = persisted[-1] if float32 else None

    def release(self):
        del self.X_dingo, self.y_labels, self.y_float, self.X_daskml, self.X_dingo_float32


def _as_float32(block):
    """A float32 copy of a chunk (CSR: float32 data, the same indices)."""
    return block.astype(np.float32)


def check_dask_glm_objective(problem, rng_seed=0, max_rows=2000):
    """Relative difference between dask-glm's objective (lamduh = 1/C) and n x ours.

    Evaluated with dask-glm's own functions (``Logistic.pointwise_loss`` with
    ``L2`` added at ``lamduh = 1/C``, exactly what its lbfgs minimises) at a
    random coefficient vector on the first ``max_rows`` rows. Returns None if
    dask-glm is missing or the problem is not binary.
    """
    if not problem.binary:
        return None
    try:
        from dask_glm.families import Logistic
        from dask_glm.regularizers import L2
    except ImportError:
        return None
    from .measure import objective_gradient

    X = problem.X[:max_rows]
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    y = problem.y[: X.shape[0]].astype(np.float64)
    beta = np.random.default_rng(rng_seed).standard_normal(X.shape[1]) * 0.1
    theirs = float(L2().add_reg_f(Logistic.pointwise_loss, 1.0 / problem.C)(beta, X, y))
    ours, _ = objective_gradient(X, y, beta, problem.C, 2)
    return abs(theirs - X.shape[0] * ours) / abs(theirs)
