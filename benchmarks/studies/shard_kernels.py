"""Time of the shard kernels that dominate a fit, each variant side by side.

Studies ``_PRODUCT_BLOCK_BYTES`` (the row blocks of a Hessian-vector product or
line-search batch, read once while in cache) and ``GRAM_BLOCK_ROWS`` (the
Gram blocks of an explicit Hessian), both in ``sklearn_dingo/_objectives/_base.py``,
and the float32 kernels ``hessian_precision="auto"`` picks above
``SINGLE_PRECISION_MIN_ENTRIES`` (``sklearn_dingo/_shard/_subproblems.py``).

On generated dense data of the benchmark problems' shapes, measures in one
run (medians of ``--repeats``, the variants of a kernel run in turn so that
they share the machine's load) and prints the ratios:

- one Hessian-vector product: two passes over X (``LinearObjective.hessp``),
  one pass in cache-sized row blocks (``hessian_operator``), the same from
  the float32 copy of the shard (``single_precision=True``);
- one explicit local Hessian (the exact solver's Gram blocks): float64 and
  float32 Gram blocks (``hessian(..., single_precision=...)``) of the rows
  less their block's mean, and float32 of the raw rows (the kernel before
  centring), with the float32 errors relative to ``sqrt(H_ii H_jj)`` and of
  a Newton direction ``H^† g`` (g in the range of H), on random rows and on rows sorted by a
  feature;
- one line-search batch of 4 trial steps with a new direction p: ``X p``
  then the trial gradients (``loss_gradient_batch`` given ``eta_p``: two
  passes over X) against both in one blocked pass (``eta_p=None``).

    python -m benchmarks study shard-kernels [--repeats 9] [--kernels products,hessians,line-search]
"""

import argparse
import time

import numpy as np

from sklearn_dingo._objectives import GRAM_BLOCK_ROWS, BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import FeatureCache, ShardData

CONSTANTS = {
    "_PRODUCT_BLOCK_BYTES": "sklearn_dingo._objectives._base",
    "GRAM_BLOCK_ROWS": "sklearn_dingo._objectives._base",
    "SINGLE_PRECISION_MIN_ENTRIES": "sklearn_dingo._shard._subproblems",
}

PRODUCT_SHAPES = {
    "softmax 60,000 x 784, K=10 (problem 4)": (60_000, 784, 10),
    "binary 20,000 x 2,000 (problem 3)": (20_000, 2_000, 2),
}
GRAM_SHAPES = {
    "binary 100,000 x 200 (a shard of problems 1-2)": (100_000, 200, 2),
    "softmax 50,000 x 40, K=10": (50_000, 40, 10),
}
# Shapes of the Gram kernel that also compare rows sorted by a feature, with
# an intercept and C=1: a shard of every 4th row of heterogeneous.py's
# problem a of the layouts suite (the case the centred float32 blocks are for).
SORTED_GRAM_SHAPES = {
    "softmax 50,000 x 40, K=5, intercept, random rows": (50_000, 40, 5, False),
    "softmax 50,000 x 40, K=5, intercept, sorted by x_0": (50_000, 40, 5, True),
}
LINE_SEARCH_SHAPES = {
    "binary 100,000 x 200 (a shard of problems 1-2)": (100_000, 200, 2),
    "binary 20,000 x 2,000 (problem 3)": (20_000, 2_000, 2),
    "softmax 60,000 x 784, K=10 (problem 4)": (60_000, 784, 10),
}
LINE_SEARCH_BATCH = 4


def _shard(n, d, n_classes, rng, sort=False, fit_intercept=False, C=10.0):
    X = rng.standard_normal((n, d))
    if sort:
        X = X[np.argsort(X[:, 0], kind="stable")]
    y = rng.integers(0, n_classes, size=n)
    kwargs = dict(n_features=d, fit_intercept=fit_intercept, C=C, total_weight=float(n))
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
    print(f"{'shape':<48} {'two passes':>11} {'blocks f64':>11} {'blocks f32':>11} "
          f"{'speed-up f64':>13} {'speed-up f32':>13} {'rel. error f32':>15}")
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


def _raw_rows(shard):
    """The shard with float32 Gram blocks of the raw rows (block centres zero): the previous kernel."""
    features = FeatureCache(shard.X)
    n_blocks = -(-shard.n_samples // GRAM_BLOCK_ROWS)
    features.__dict__["X_single_centred"] = (shard.X_single, np.zeros((n_blocks, shard.X.shape[1])))
    return ShardData(shard.X, shard.Y, shard.sample_weight, shard.weight_sum, features=features)


def explicit_hessians(rng, repeats):
    """float64, float32 of centred rows (the package) and float32 of raw rows (before): time and accuracy.

    Accuracy twice: the largest entry error relative to sqrt(H_ii H_jj), and
    the relative error of a Newton direction H^† g (g in H's range), which is what
    the float32 rounding must not spoil.
    """
    print(f"\nOne explicit local Hessian, Gram blocks (median of {repeats})")
    print(f"{'shape':<48} {'float64':>9} {'f32 centred':>12} {'f32 raw':>9} {'speed-up':>9} "
          f"{'centred/raw':>12} {'entry err centred / raw':>24} {'H^†g err centred / raw':>23}")
    shapes = [(name, (n, d, K), {}) for name, (n, d, K) in GRAM_SHAPES.items()]
    shapes += [
        (name, (n, d, K), dict(sort=sort, fit_intercept=True, C=1.0))
        for name, (n, d, K, sort) in SORTED_GRAM_SHAPES.items()
    ]
    for name, (n, d, K), options in shapes:
        objective, shard, _, curvature = _shard(n, d, K, rng, **options)
        raw = _raw_rows(shard)
        full, single, single_raw = _median_seconds(
            [lambda: objective.hessian(shard, curvature),
             lambda: objective.hessian(shard, curvature, single_precision=True),
             lambda: objective.hessian(raw, curvature, single_precision=True)],
            repeats,
        )
        H = objective.hessian(shard, curvature)
        scale = np.sqrt(np.abs(np.diag(H)))
        g = H @ rng.standard_normal(H.shape[0])  # in H's range, as a gradient is (softmax's H is singular)
        # rcond 1e-6: float32 rounding makes the exact zeros of softmax's H
        # (the intercepts' sum over classes) about 1e-7 of its largest
        # eigenvalue, while the smallest penalised ones stay above 1e-5.
        p = np.linalg.pinv(H, rcond=1e-6, hermitian=True) @ g
        errors = []
        for H32 in (objective.hessian(shard, curvature, single_precision=True),
                    objective.hessian(raw, curvature, single_precision=True)):
            errors.append(np.max(np.abs(H32 - H) / np.outer(scale, scale)))
            errors.append(np.linalg.norm(np.linalg.pinv(H32, rcond=1e-6, hermitian=True) @ g - p) / np.linalg.norm(p))
        entries = f"{errors[0]:.1e} / {errors[2]:.1e}"
        directions = f"{errors[1]:.1e} / {errors[3]:.1e}"
        print(f"{name:<48} {full * 1e3:>7.1f}ms {single * 1e3:>10.1f}ms {single_raw * 1e3:>7.1f}ms "
              f"{full / single:>8.2f}x {single / single_raw:>11.2f}x {entries:>24} {directions:>23}")


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


KERNELS = {"products": hessian_products, "hessians": explicit_hessians, "line-search": line_search_batches}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks study shard-kernels", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--kernels", default=",".join(KERNELS), help=f"comma-separated subset of {','.join(KERNELS)}")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    for name in args.kernels.split(","):
        KERNELS[name.strip()](rng, args.repeats)
