"""Where the exact (eigendecomposition) and Krylov sub-problem paths cross.

Studies the cost model of ``subproblem_solver="auto"``: ``EIGH_COST``,
``PASS_PENALTY`` and ``HESSP_PER_ROUND`` (``sklearn_dingo/_shard/_subproblems.py``).

Times one-shard fits (every iteration's round A, case test and line search)
for both methods over a grid of shard sizes and parameter dimensions, for
the binary and the softmax objective, and prints the measured ratio of
seconds per iteration beside the ratio the "auto" cost model predicts. The cost model's constants
were fitted to this table.

Also times whole in-process fits per iteration on the 50,000 x 500 binary
problem of issue 2 for both methods and for "auto".

Run: ``python -m benchmarks study subproblem-crossover [--quick]``
"""

import argparse
import statistics
import time

import numpy as np

from sklearn_dingo._backends import LocalBackend
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import ShardData
from sklearn_dingo._shard._subproblems import SubproblemConfig, estimated_costs
from sklearn_dingo._solver._dingo import DingoConfig, dingo

CONSTANTS = {
    "EIGH_COST": "sklearn_dingo._shard._subproblems",
    "PASS_PENALTY": "sklearn_dingo._shard._subproblems",
    "HESSP_PER_ROUND": "sklearn_dingo._shard._subproblems",
}


def make_shard(n, d, K, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    w_true = rng.standard_normal((d, max(K, 2))) * 3
    y = np.argmax(X @ w_true + rng.gumbel(size=(n, max(K, 2))), axis=1)
    s = np.ones(n)
    if K == 1:
        obj = BinaryLogistic(n_features=d, fit_intercept=True, C=1.0, total_weight=4 * n)
        y = (y == 1).astype(int)
    else:
        obj = MultinomialSoftmax(n_features=d, n_classes=K, fit_intercept=True, C=1.0, total_weight=4 * n)
    return obj, ShardData(X, obj.encode_targets(y), s, float(n))


def time_per_iteration(obj, shard, method):
    """Seconds per DINGO iteration of a one-shard fit (Newton-MR) to ‖g‖ ≤ 1e-8."""
    backend = LocalBackend([shard])
    config = DingoConfig(tol=1e-8, max_iter=200, subproblem=SubproblemConfig(method=method))
    t0 = time.perf_counter()
    result = dingo(backend, obj, config)
    backend.close()
    return (time.perf_counter() - t0) / max(result.n_iter, 1), result.n_iter


def crossover_table(quick):
    sizes = [(2000, 50), (2000, 200), (5000, 100), (5000, 400), (20000, 200), (5000, 1000), (20000, 1000)]
    if quick:
        sizes = [(2000, 50), (2000, 200)]
    # The in-process backend gives its one shard all cores' BLAS threads, as in a real fit.
    print("Seconds per iteration of a one-shard fit to |g| <= 1e-8, BLAS on all cores")
    print("objective    n_j     d     D  exact_s/it (its)  krylov_s/it (its)  "
          "measured exact/krylov  model exact/krylov  auto")
    for K in (1, 10):
        for n, d in sizes:
            if K == 10:
                d = max(10, d // 10)
            obj, shard = make_shard(n, d, K)
            te, ie = time_per_iteration(obj, shard, "exact")
            tk, ik = time_per_iteration(obj, shard, "krylov")
            ce, ck = estimated_costs(obj, shard, SubproblemConfig())
            auto = "exact" if ce <= ck else "krylov"
            name = "binary" if K == 1 else "softmax10"
            print(
                f"{name:<10} {n:>5} {d:>5} {obj.n_params:>5} {te:>11.4f} ({ie:>3}) {tk:>12.4f} ({ik:>3})"
                f" {te / tk:>22.2f} {ce / ck:>19.2f}  {auto}"
            )


def per_iteration(quick):
    from sklearn_dingo import DingoLogisticRegression

    n, d = (10000, 100) if quick else (50000, 500)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) / np.sqrt(d) + 0.5 * rng.standard_normal(n) > 0).astype(int)
    print(f"\nWhole fit, binary {n} x {d}, C=1, tol=1e-8, default n_shards (time per iteration, median of 3)")
    for method in ("exact", "krylov", "auto"):
        per_iter = []
        for _ in range(3):
            est = DingoLogisticRegression(C=1.0, tol=1e-8, subproblem_solver=method)
            t0 = time.perf_counter()
            est.fit(X, y)
            per_iter.append((time.perf_counter() - t0) / est.n_iter_[0])
        print(f"  {method:<7} {statistics.median(per_iter):8.3f} s/iteration  "
              f"({est.n_iter_[0]} iterations, {est.n_communication_rounds_} rounds)")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks study subproblem-crossover", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    args = parser.parse_args(argv)
    crossover_table(args.quick)
    per_iteration(args.quick)
