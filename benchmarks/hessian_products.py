"""Time of one Hessian-vector product: two passes, row blocks, float32 row blocks.

Measures the three ways the package can apply a shard's Hessian at one point
(``LinearObjective.hessp``: two full passes over X;
``hessian_operator``: one pass in cache-sized row blocks, in float64 or from
the float32 copy) on generated dense data of the benchmark's softmax shape
(problem 4) and wide binary shape (problem 3), and prints medians and ratios
measured in one run.

    python benchmarks/hessian_products.py [--repeats 9]
"""

import argparse
import time

import numpy as np

from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax, ShardData

SHAPES = {
    "softmax 60,000 x 784, K=10 (problem 4)": (60_000, 784, 10),
    "binary 20,000 x 2,000 (problem 3)": (20_000, 2_000, 2),
}


def _shard(n, d, n_classes, rng):
    X = rng.standard_normal((n, d))
    y = rng.integers(0, n_classes, size=n)
    kwargs = dict(n_features=d, fit_intercept=False, C=10.0, total_weight=float(n))
    if n_classes == 2:
        objective = BinaryLogistic(**kwargs)
    else:
        objective = MultinomialSoftmax(n_classes=n_classes, **kwargs)
    shard = ShardData(X, objective.encode_targets(y), np.ones(n), float(n))
    w = 0.01 * rng.standard_normal(objective.n_params)
    return objective, shard, objective.curvature(shard, objective.margins(X, w))


def _median_seconds(func, v, repeats):
    func(v)  # warm-up (and the float32 copy, made once per fit)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func(v)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'shape':<42} {'two passes':>11} {'blocks f64':>11} {'blocks f32':>11} {'speed-up f64':>13} {'speed-up f32':>13} {'rel. error f32':>15}")
    for name, (n, d, K) in SHAPES.items():
        objective, shard, curvature = _shard(n, d, K, rng)
        v = rng.standard_normal(objective.n_params)
        plain = _median_seconds(lambda x: objective.hessp(shard, curvature, x), v, args.repeats)
        full_op = objective.hessian_operator(shard, curvature)
        single_op = objective.hessian_operator(shard, curvature, single_precision=True)
        blocked = _median_seconds(full_op, v, args.repeats)
        single = _median_seconds(single_op, v, args.repeats)
        reference = objective.hessp(shard, curvature, v)
        error = np.linalg.norm(single_op(v) - reference) / np.linalg.norm(reference)
        print(
            f"{name:<42} {plain * 1e3:>9.1f}ms {blocked * 1e3:>9.1f}ms {single * 1e3:>9.1f}ms "
            f"{plain / blocked:>12.2f}x {plain / single:>12.2f}x {error:>15.1e}"
        )


if __name__ == "__main__":
    main()
