"""
================================================
DINGO on a Dask cluster: rounds, bytes and time
================================================

On Dask arrays, ``DingoSoftmaxRegression`` keeps each row chunk as a shard
on the worker that holds it; only a few vectors per round travel between
the client and the workers. This example starts a small local cluster, fits
a three-class softmax regression on a chunked Dask array, and plots, per
iteration from ``history_``, the cumulative communication rounds, the bytes
sent down to the shards and up from them, and the seconds, next to the same
fit run in-process.

Look at how few bytes an iteration moves (a handful of vectors of the 93
coefficients per shard, never rows of X) and at the seconds: on a cluster
each round waits on the workers, so a fit costs a few round trips per
iteration on top of the computation.
"""

# %%
# A local cluster
# ---------------
#
# Two workers of one thread each. The workers are **threads of this
# process** (``processes=False``): with separate worker processes, Python
# starts each worker by re-importing the script that created the cluster,
# which a script run top to bottom (as this gallery runs it) cannot guard
# against. A real cluster has separate processes on separate machines and
# the fit runs the same way there (see the documentation's page on
# clusters, ``doc/cluster.md``). The ``with`` blocks close the client and the
# cluster even if something fails.
import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoSoftmaxRegression

X, y = make_classification(
    n_samples=40_000, n_features=30, n_informative=15, n_classes=3, random_state=0
)
X = StandardScaler().fit_transform(X)

with (
    LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
    Client(cluster) as client,
):
    # Four row chunks of 10,000 rows, persisted on the workers: four shards.
    # (On a real cluster, load the data with Dask rather than from NumPy.)
    X_dask = da.from_array(X, chunks=(10_000, -1)).persist()
    y_dask = da.from_array(y, chunks=10_000).persist()

    t = time.perf_counter()
    model = DingoSoftmaxRegression(C=1.0, tol=1e-8).fit(X_dask, y_dask)
    seconds = time.perf_counter() - t
    print(f"fit on the cluster: {seconds:.2f} s ({seconds - model.history_['time'][-1]:.2f} s of "
          f"them before the first round and after the last), {model.n_iter_[0]} iterations, "
          f"{model.n_communication_rounds_} communication rounds ({model.stop_reason_})")

    # Predictions on Dask inputs are lazy Dask arrays, computed chunk by
    # chunk on the workers.
    lazy_labels = model.predict(X_dask)
    print("predict returns", repr(lazy_labels))
    labels = lazy_labels.compute()
    print("first labels:", labels[:10], " training accuracy:", np.mean(labels == y))

# %%
# The same fit in-process
# -----------------------
#
# With ``rebalance=False`` and 4 shards the in-process fit cuts the same
# contiguous row blocks as the cluster's chunks, so it follows the same
# iterations: the models agree to rounding, and the fitted model, which holds
# NumPy arrays only, predicts without the cluster.
local = DingoSoftmaxRegression(C=1.0, tol=1e-8, n_shards=4, rebalance=False).fit(X, y)
print(f"in-process: {local.history_['time'][-1]:.2f} s, {local.n_iter_[0]} iterations, "
      f"{local.n_communication_rounds_} rounds")
print(f"max |coef difference| = {np.max(np.abs(model.coef_ - local.coef_)):.1e}, "
      f"same predictions: {np.mean(model.predict(X) == labels):.0%}")

# %%
# Per iteration
# -------------
#
# ``bytes_down`` and ``bytes_up`` are cumulative; their differences are what
# each iteration sent to the shards and received from them. Row 0 is the
# start (the first gradient). ``time`` counts from the first round, once the
# shards are built.
hist = model.history_
iterations = hist["iteration"]
fig, axes = plt.subplots(2, 2, figsize=(10, 7))

axes[0, 0].plot(iterations, hist["rounds"], "o-")
axes[0, 0].set_ylabel("cumulative communication rounds")

width = 0.4
down = np.diff(hist["bytes_down"], prepend=0) / 1e3
up = np.diff(hist["bytes_up"], prepend=0) / 1e3
axes[0, 1].bar(iterations - width / 2, down, width, label="down (driver to shards)")
axes[0, 1].bar(iterations + width / 2, up, width, label="up (shards to driver)")
axes[0, 1].set_ylabel("kB in the iteration")
axes[0, 1].set_ylim(0, 1.35 * max(up.max(), down.max()))
axes[0, 1].legend(loc="upper left", ncol=2, fontsize=8)

axes[1, 0].plot(iterations, hist["time"], "o-", label="Dask cluster")
axes[1, 0].plot(local.history_["iteration"], local.history_["time"], "s--", label="in-process")
axes[1, 0].set_ylabel("seconds since the first round")
axes[1, 0].legend()

axes[1, 1].semilogy(hist["time"], hist["grad_norm"], "o-", label="Dask cluster")
axes[1, 1].semilogy(local.history_["time"], local.history_["grad_norm"], "s--", label="in-process")
axes[1, 1].set_xlabel("seconds")
axes[1, 1].set_ylabel("gradient norm ‖∇f‖")
axes[1, 1].legend()

for ax in axes.flat:
    ax.grid(True, alpha=0.3)
for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
    ax.set_xlabel("iteration")
fig.suptitle(f"DingoSoftmaxRegression on 4 Dask chunks, 40,000 × 30, 3 classes: "
             f"{model.n_communication_rounds_} rounds, "
             f"{(hist['bytes_down'][-1] + hist['bytes_up'][-1]) / 1e3:.0f} kB in all")
fig.tight_layout()

plt.show()
