"""
=====================================================
Convergence in communication rounds and in seconds
=====================================================

DINGO is built to need few *communication rounds*: each round is one
broadcast from the driver to the shards or one reduce back to it. This
example fits one L2-penalised logistic regression three ways and plots the
gradient norm and the objective gap :math:`f - f^*` against rounds and
against seconds:

- ``DingoLogisticRegression`` with 4 shards (its ``history_``),
- L-BFGS-B on the same objective, the solver of scikit-learn's
  ``LogisticRegression(solver="lbfgs")``, recorded iteration by iteration,
- dask-ml's ``LogisticRegression(solver="lbfgs")``, the same L-BFGS-B driven
  through Dask on a local cluster.

Look at how many rounds each method needs to reach a given gradient norm
(DINGO takes about five per iteration, L-BFGS two per function evaluation)
and at the seconds axis, where dask-ml pays Dask's overhead on every
evaluation. The last cell checks that the converged models agree.
"""

# %%
# The problem
# -----------
#
# 40,000 rows and 50 standardised features, 10 of them linear combinations
# of others (so the Hessian's small eigenvalues come from the penalty
# alone), two classes and ``C=1``. All three methods fit **without an
# intercept**: dask-ml penalises its intercept (it appends a column of ones
# to X and penalises every coefficient), scikit-learn and DINGO do not, so
# only without one do the three minimise the same objective
#
# .. math::
#
#     f(w) = \frac{1}{n} \sum_i \left[\log(1 + e^{x_i^T w}) - y_i x_i^T w\right]
#            + \frac{\|w\|^2}{2 C n}.
import time
import warnings
from unittest import mock

import dask.array as da
import dask_glm.algorithms
import matplotlib.pyplot as plt
import numpy as np
from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
from distributed import Client, LocalCluster
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoLogisticRegression

X, y = make_classification(
    n_samples=40_000, n_features=50, n_informative=25, n_redundant=10, random_state=0
)
X = StandardScaler().fit_transform(X)
n, C = X.shape[0], 1.0


def objective(w):
    """scikit-learn's objective and its gradient (no intercept)."""
    eta = X @ w
    f = np.mean(np.logaddexp(0.0, eta) - y * eta) + w @ w / (2 * C * n)
    g = X.T @ (expit(eta) - y) / n + w / (C * n)
    return f, g


# %%
# The optimum
# -----------
#
# :math:`f^*` comes from a tight Newton fit of scikit-learn.
reference = LogisticRegression(
    C=C, fit_intercept=False, solver="newton-cholesky", tol=1e-12
).fit(X, y)
f_star = objective(reference.coef_.ravel())[0]
print(f"f* = {f_star:.15f}")

# %%
# DINGO
# -----
#
# ``history_`` has one row per iteration (row 0 is the start): cumulative
# ``rounds``, ``loss`` (the objective), ``grad_norm`` and ``time`` in
# seconds since the first round.
dingo = DingoLogisticRegression(C=C, fit_intercept=False, n_shards=4, tol=1e-10).fit(X, y)
hist = dingo.history_
print(
    f"DINGO: {dingo.n_iter_[0]} iterations, {dingo.n_communication_rounds_} rounds, "
    f"{hist['time'][-1]:.2f} s, cases {hist['case'][1:].tolist()}"
)

# %%
# L-BFGS-B, iteration by iteration
# --------------------------------
#
# ``scipy.optimize.minimize`` with scikit-learn's options (``maxls=50``,
# ``ftol=64 eps``) on the objective above. A callback records f, the
# gradient norm and the time after every iteration (the time spent in the
# callback is not counted). Distributed, every function and gradient
# evaluation costs **two rounds**: a broadcast of w to the shards and a
# reduce of their losses and gradients.
last = {}


def counted_objective(w):
    last["w"], (last["f"], last["g"]) = w.copy(), objective(w)
    last["evaluations"] = last.get("evaluations", 0) + 1
    return last["f"], last["g"]


lbfgs = {"rounds": [], "loss": [], "grad_norm": [], "time": []}
iterates = []  # w after each iteration, to compare dask-ml's runs with
paused = 0.0


def record(intermediate_result):
    global paused
    t = time.perf_counter()
    w = intermediate_result.x
    f, g = (last["f"], last["g"]) if np.array_equal(w, last["w"]) else objective(w)
    lbfgs["rounds"].append(2 * last["evaluations"])
    lbfgs["loss"].append(f)
    lbfgs["grad_norm"].append(np.linalg.norm(g))
    lbfgs["time"].append(t - start - paused)
    iterates.append(w.copy())
    paused += time.perf_counter() - t


w0 = np.zeros(X.shape[1])
f0, g0 = objective(w0)
start = time.perf_counter()
result = minimize(
    counted_objective,
    w0,
    jac=True,
    method="L-BFGS-B",
    callback=record,
    options={"maxiter": 1000, "maxls": 50, "gtol": 1e-10, "ftol": 64 * np.finfo(float).eps},
)
lbfgs = {k: np.array(v) for k, v in lbfgs.items()}
for key, value in (("rounds", 2), ("loss", f0), ("grad_norm", np.linalg.norm(g0)), ("time", 0.0)):
    lbfgs[key] = np.r_[value, lbfgs[key]]  # the starting point: one evaluation
print(
    f"L-BFGS-B: {result.nit} iterations, {result.nfev} evaluations "
    f"= {2 * result.nfev} rounds, {lbfgs['time'][-1]:.2f} s"
)

# %%
# Its final point is scikit-learn's ``LogisticRegression(solver="lbfgs")``
# with the same tolerance:
sk_lbfgs = LogisticRegression(
    C=C, fit_intercept=False, solver="lbfgs", tol=1e-10, max_iter=1000
).fit(X, y)
difference = np.max(np.abs(sk_lbfgs.coef_.ravel() - result.x))
print(f"max |coef - LogisticRegression(solver='lbfgs').coef_| = {difference:.1e}")
assert difference < 1e-6

# %%
# dask-ml's L-BFGS
# ----------------
#
# dask-ml's ``lbfgs`` solver is SciPy's L-BFGS-B whose objective and
# gradient are computed by Dask: each evaluation scatters w to the workers
# and gathers the loss and gradient (the same two rounds). Its objective is
# the **sum** of the log-losses plus :math:`\|\beta\|^2 / (2C)` over *all*
# coefficients, intercept included, and by default (dask-glm's
# ``normalize=True``) on the coefficients of internally standardised
# features, so on features of other scales its C penalises differently
# from scikit-learn's. Without an intercept, with ``normalize=False`` passed
# through ``solver_kwargs``, it is n times the objective above, same C.
#
# It has no callback, so we fit it again with ``max_iter`` 1, 2, 4, ..., 32
# (each run starts from zero and follows the same path), count its
# evaluations (dask-glm calls ``dask.compute`` once per evaluation) and time
# each run. Its own stopping test (SciPy's default relative reduction of f,
# ``factr=1e7``) is looser than scikit-learn's and cannot be changed
# through dask-ml, so it stops earlier: a run that makes no more evaluations
# than the previous one is not plotted again. The local cluster uses threads
# (``processes=False``) so that this script runs as it is.
dask_ml = {"rounds": [], "loss": [], "grad_norm": [], "time": []}
with (
    warnings.catch_warnings(),
    LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
    Client(cluster),
):
    # The NumPy data go into the graph (load data with Dask on a real
    # cluster), and dask-glm sets a Dask option under its deprecated name.
    warnings.filterwarnings("ignore", message="Sending large graph")
    warnings.filterwarnings("ignore", message=".*fuse_ave_width", category=FutureWarning)
    X_dask = da.from_array(X, chunks=(10_000, -1)).persist()  # 4 chunks, as DINGO's 4 shards
    y_dask = da.from_array(y.astype(float), chunks=10_000).persist()
    for max_iter in (1, 2, 4, 8, 16, 32):
        model = DaskMLLogisticRegression(
            C=C, solver="lbfgs", fit_intercept=False, max_iter=max_iter, tol=1e-10,
            solver_kwargs={"normalize": False},
        )
        with mock.patch.object(dask_glm.algorithms, "compute", wraps=dask_glm.algorithms.compute) as spy:
            t = time.perf_counter()
            model.fit(X_dask, y_dask)
            seconds = time.perf_counter() - t
        coef = np.asarray(model.coef_)
        f, g = objective(coef)
        print(f"dask-ml max_iter={max_iter:2d}: {spy.call_count:2d} evaluations, {seconds:.2f} s, "
              f"f - f* = {f - f_star:.1e}", end="")
        if dask_ml["rounds"] and 2 * spy.call_count == dask_ml["rounds"][-1]:
            print(" (stopped by its own test: the previous run's point)")
            continue
        print(f", max |coef - L-BFGS-B's iterate {max_iter}| = "
              f"{np.max(np.abs(coef - iterates[max_iter - 1])):.0e}")
        for key, value in zip(dask_ml, (2 * spy.call_count, f, np.linalg.norm(g), seconds)):
            dask_ml[key].append(value)
dask_ml = {k: np.array(v) for k, v in dask_ml.items()}

# %%
# The picture
# -----------
#
# Gaps below the rounding of f (about 1e-16 relative) are drawn at that
# floor. DINGO and L-BFGS-B run in this process; dask-ml's seconds include
# the local cluster's work on every evaluation (scattering w, building and
# running the task graph, gathering the results). The example on a Dask
# cluster shows what a round costs DINGO there.
floor = np.finfo(float).eps * f_star
methods = {
    "DINGO, 4 shards": (hist, "o-"),
    "L-BFGS-B (scikit-learn's lbfgs)": (lbfgs, ".-"),
    "dask-ml lbfgs (runs of max_iter 1-32)": (dask_ml, "s--"),
}
fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), sharey="row", sharex="col")
for label, (record_of, style) in methods.items():
    rounds, seconds = record_of["rounds"], record_of["time"]
    loss, grad_norm = record_of["loss"], record_of["grad_norm"]
    gap = np.maximum(loss - f_star, floor)
    axes[0, 0].semilogy(rounds, grad_norm, style, label=label, markersize=4)
    axes[0, 1].semilogy(seconds, grad_norm, style, label=label, markersize=4)
    axes[1, 0].semilogy(rounds, gap, style, label=label, markersize=4)
    axes[1, 1].semilogy(seconds, gap, style, label=label, markersize=4)
axes[0, 0].set_ylabel("gradient norm ‖∇f‖")
axes[1, 0].set_ylabel("objective gap f − f*")
axes[1, 0].set_xlabel("communication rounds")
axes[1, 1].set_xlabel("seconds")
axes[0, 0].legend(fontsize=8)
for ax in axes.flat:
    ax.grid(True, which="major", alpha=0.3)
fig.suptitle("Logistic regression, 40,000 × 50, C = 1")
fig.tight_layout()

# %%
# Converged models
# ----------------
#
# DINGO at ``tol=1e-10`` against scikit-learn's Newton and L-BFGS fits.
f_dingo = objective(dingo.coef_.ravel())[0]
for name, other in (("newton-cholesky", reference), ("lbfgs", sk_lbfgs)):
    print(
        f"DINGO vs scikit-learn {name:15s}: max |coef difference| = "
        f"{np.max(np.abs(dingo.coef_ - other.coef_)):.1e}, objective difference = "
        f"{f_dingo - objective(other.coef_.ravel())[0]:.1e}"
    )
print(f"DINGO's own final loss minus f at its coef: {hist['loss'][-1] - f_dingo:.1e}")

plt.show()
