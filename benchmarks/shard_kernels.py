"""Time of the shard kernels that dominate a fit, each variant side by side.

On generated dense data of the benchmark problems' shapes, measures in one
run (medians of ``--repeats``, the variants of a kernel run in turn so that
they share the machine's load) and prints the ratios:

- one Hessian-vector product: two passes over X (``LinearObjective.hessp``),
  one pass in cache-sized row blocks (``hessian_operator``), the same from
  the float32 copy of the shard (``single_precision=True``);
- one explicit local Hessian (the exact solver's Gram blocks): float64 and
  float32 Gram blocks (``hessian(..., single_precision=...)``), with the
  float32 error relative to ``sqrt(H_ii H_jj)``;
- one line-search batch of 4 trial steps with a new direction p: ``X p``
  then the trial gradients (``loss_gradient_batch`` given ``eta_p``: two
  passes over X) against both in one blocked pass (``eta_p=None``).

    python benchmarks/shard_kernels.py [--repeats 9]
"""

import argparse
import time

import numpy as np

from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax, ShardData

PRODUCT_SHAPES = {
    "softmax 60,000 x 784, K=10 (problem 4)": (60_000, 784, 10),
    "binary 20,000 x 2,000 (problem 3)": (20_000, 2_000, 2),
}
GRAM_SHAPES = {
    "binary 100,000 x 200 (a shard of problems 1-2)": (100_000, 200, 2),
    "softmax 50,000 x 40, K=10": (50_000, 40, 10),
}
LINE_SEARCH_SHAPES = {
    "binary 100,000 x 200 (a shard of problems 1-2)": (100_000, 200, 2),
    "binary 20,000 x 2,000 (problem 3)": (20_000, 2_000, 2),
    "softmax 60,000 x 784, K=10 (problem 4)": (60_000, 784, 10),
}
LINE_SEARCH_BATCH = 4


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
    return objective, shard, w, objective.curvature(shard, objective.margins(X, w))


def _median_seconds(funcs, repeats):
    """Median seconds of each function, run in turn ``repeats`` times.

    Interleaving the variants exposes them to the same load on a shared
    machine, so their ratio is fair even when the absolute times drift.
    """
    for func in funcs:
        func()  # warm-up (and the float32 copy, made once per fit)
    times = [[] for _ in funcs]
    for _ in range(repeats):
        for func, record in zip(funcs, times):
            start = time.perf_counter()
            func()
            record.append(time.perf_counter() - start)
    return [float(np.median(record)) for record in times]


def hessian_products(rng, repeats):
    print(f"\nOne Hessian-vector product (median of {repeats})")
    print(f"{'shape':<48} {'two passes':>11} {'blocks f64':>11} {'blocks f32':>11} {'speed-up f64':>13} {'speed-up f32':>13} {'rel. error f32':>15}")
    for name, (n, d, K) in PRODUCT_SHAPES.items():
        objective, shard, _, curvature = _shard(n, d, K, rng)
        v = rng.standard_normal(objective.n_params)
        full_op = objective.hessian_operator(shard, curvature)
        single_op = objective.hessian_operator(shard, curvature, single_precision=True)
        plain, blocked, single = _median_seconds(
            [lambda: objective.hessp(shard, curvature, v), lambda: full_op(v), lambda: single_op(v)], repeats
        )
        reference = objective.hessp(shard, curvature, v)
        error = np.linalg.norm(single_op(v) - reference) / np.linalg.norm(reference)
        print(
            f"{name:<48} {plain * 1e3:>9.1f}ms {blocked * 1e3:>9.1f}ms {single * 1e3:>9.1f}ms "
            f"{plain / blocked:>12.2f}x {plain / single:>12.2f}x {error:>15.1e}"
        )


def explicit_hessians(rng, repeats):
    print(f"\nOne explicit local Hessian, Gram blocks (median of {repeats})")
    print(f"{'shape':<48} {'float64':>11} {'float32':>11} {'speed-up':>9} {'max |dH_ij| / sqrt(H_ii H_jj)':>31}")
    for name, (n, d, K) in GRAM_SHAPES.items():
        objective, shard, _, curvature = _shard(n, d, K, rng)
        full, single = _median_seconds(
            [lambda: objective.hessian(shard, curvature),
             lambda: objective.hessian(shard, curvature, single_precision=True)],
            repeats,
        )
        H = objective.hessian(shard, curvature)
        H32 = objective.hessian(shard, curvature, single_precision=True)
        scale = np.sqrt(np.abs(np.diag(H)))
        error = np.max(np.abs(H32 - H) / np.outer(scale, scale))
        print(f"{name:<48} {full * 1e3:>9.1f}ms {single * 1e3:>9.1f}ms {full / single:>8.2f}x {error:>31.1e}")


def line_search_batches(rng, repeats):
    print(f"\nOne line-search batch of {LINE_SEARCH_BATCH} trial steps along a new direction (median of {repeats})")
    print(f"{'shape':<48} {'two passes':>11} {'one pass':>11} {'speed-up':>9} {'max rel. diff':>14}")
    alphas = 2.0 ** -np.arange(LINE_SEARCH_BATCH)
    for name, (n, d, K) in LINE_SEARCH_SHAPES.items():
        objective, shard, w, _ = _shard(n, d, K, rng)
        eta = objective.margins(shard.X, w)
        p = 0.01 * rng.standard_normal(objective.n_params)

        def two_passes():  # X p, then the trial gradients: X read twice
            return objective.loss_gradient_batch(shard, w, eta, p, objective.margins(shard.X, p), alphas)

        def one_pass():
            return objective.loss_gradient_batch(shard, w, eta, p, None, alphas)

        separate, fused = _median_seconds([two_passes, one_pass], repeats)
        reference = two_passes()[1]
        diff = np.max(np.abs(one_pass()[1] - reference)) / np.max(np.abs(reference))
        print(f"{name:<48} {separate * 1e3:>9.1f}ms {fused * 1e3:>9.1f}ms {separate / fused:>8.2f}x {diff:>14.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    hessian_products(rng, args.repeats)
    explicit_hessians(rng, args.repeats)
    line_search_batches(rng, args.repeats)


if __name__ == "__main__":
    main()
