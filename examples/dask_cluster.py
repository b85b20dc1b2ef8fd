"""DINGO on a Dask cluster: shards stay on the workers, predictions stay lazy.

Starts a small local cluster, builds a chunked Dask array, fits
DingoLogisticRegression on it (one shard per row chunk; the short last chunk
is merged into its neighbour), predicts lazily, and shows that the fitted
model needs no cluster afterwards.

Run: ``python examples/dask_cluster.py``
"""

import pickle

import dask.array as da
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from sklearn_dingo import DingoLogisticRegression

if __name__ == "__main__":
    X, y = make_classification(n_samples=40_000, n_features=30, n_informative=15, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster):
        X_dask = da.from_array(X, chunks=(9_000, -1))  # 4 chunks of 9,000 rows and one of 4,000
        y_dask = da.from_array(y, chunks=9_000)
        model = DingoLogisticRegression(C=10.0, tol=1e-8).fit(X_dask, y_dask)
        print(f"{model.n_iter_[0]} iterations, {model.n_communication_rounds_} rounds, "
              f"{model.history_['bytes_down'][-1] + model.history_['bytes_up'][-1]:,} bytes moved")
        proba = model.predict_proba(X_dask)  # lazy: a dask array
        print("lazy prediction:", type(proba).__name__, proba.shape, "first rows", proba[:2].compute())
    restored = pickle.loads(pickle.dumps(model))  # no cluster needed any more
    print("accuracy after the cluster closed:", restored.score(X, y))
