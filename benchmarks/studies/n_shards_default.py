"""How many in-process shards: iterations and time against rows per parameter.

Studies ``MIN_ROWS_PER_PARAM`` (``sklearn_dingo/_data/_training_data.py``).

In-process, shards buy parallelism (one thread per shard) but cost
iterations when they get small (ALGORITHM.md §6: each shard's local Hessian
must resemble the global one). This script fits the same problems with 1, 2
and 4 shards and prints iterations, rounds and the median wall time, with
each shard's rows per parameter, which is what the default of
``n_shards=None`` (one shard per core while every shard keeps at least
``MIN_ROWS_PER_PARAM`` rows per parameter) was chosen from.

Run: ``python -m benchmarks study n-shards [--quick]``
"""

import argparse
import statistics
import time

from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._data._training_data import MIN_ROWS_PER_PARAM

CONSTANTS = {"MIN_ROWS_PER_PARAM": "sklearn_dingo._data._training_data"}


def problems(quick):
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast cancer", DingoLogisticRegression, StandardScaler().fit_transform(X), y, 1.0
    X, y = load_digits(return_X_y=True)
    yield "digits", DingoSoftmaxRegression, X / 16.0, y, 1.0
    sizes = [(20000, 50), (100000, 50)] if not quick else [(20000, 20)]
    for n, d in sizes:
        X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 2, random_state=0)
        yield f"binary {n}x{d}", DingoLogisticRegression, X, y, 1.0
    n, d = (60000, 100) if not quick else (10000, 20)
    X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 2, n_classes=5, random_state=0)
    yield f"softmax5 {n}x{d}", DingoSoftmaxRegression, X, y, 10.0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks study n-shards", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller generated problems, one fit each")
    quick = parser.parse_args(argv).quick
    repeats = 1 if quick else 3
    print(f"default rule: shards = min(cores, n / ({MIN_ROWS_PER_PARAM} * D))")
    print(f"{'problem':<22} {'shards':>6} {'rows/param':>10} {'iters':>6} {'rounds':>6} {'seconds':>8}  "
          "time vs 1 shard")
    for name, Estimator, X, y, C in problems(quick):
        base = None
        for n_shards in (1, 2, 4):
            times = []
            for _ in range(repeats):
                est = Estimator(C=C, tol=1e-8, max_iter=500, n_shards=n_shards)
                t0 = time.perf_counter()
                est.fit(X, y)
                times.append(time.perf_counter() - t0)
            seconds = statistics.median(times)
            base = base or seconds
            D = est.coef_.size + est.intercept_.size
            rows_per_param = X.shape[0] / n_shards / D
            print(
                f"{name:<22} {n_shards:>6} {rows_per_param:>10.1f} {est.n_iter_[0]:>6} "
                f"{est.n_communication_rounds_:>6} {seconds:>8.3f}  {seconds / base:>6.2f}"
            )
