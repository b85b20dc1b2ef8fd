"""Where a pass's time goes on a dense softmax problem, and what whole fits spend.

The measurement the in-process cost model is to be designed from (the issue
"Lead in seconds, not only in rounds"). It informs the local effort of a
round, ``SubproblemConfig.max_iter`` (the estimator's ``subproblem_max_iter``,
the Lanczos cap) and ``SubproblemConfig.rtol`` (``subproblem_tol``: the
Lanczos steps its default 1e-4 takes, the ``HVPs`` column; not varied), the
line-search batch ``DingoConfig.line_search_batch`` (B), the row blocks of a
product ``_PRODUCT_BLOCK_BYTES`` (``sklearn_dingo/_objectives/_base.py``), the
float32 threshold ``SINGLE_PRECISION_MIN_ENTRIES`` and the cost model's
``PASS_PENALTY`` and ``HESSP_PER_ROUND`` (``sklearn_dingo/_shard/_subproblems.py``).

On a generated dense softmax problem (default 100,000 x 300, 20 classes,
C=1, no intercept, fixed seed; ``--quick`` 20,000 x 300), in one run:

1. **Price of one pass over a shard** (medians of ``--repeats``, the kernels
   of a layout run in turn): loss and gradient (``loss_gradient``: ``X W``,
   the pointwise softmax, ``Xᵀ R``), the curvature weights P, one
   Hessian-vector product as the package makes it (``hessian_operator``:
   cache-sized row blocks; in float64 and on the float32 copy of
   ``hessian_precision="single"``), the same split into its parts on the
   whole shard (the ``X V`` GEMM, the per-row curvature
   ``R = s(P⊙Z − P rowsum(P⊙Z))``, the ``Xᵀ R`` GEMM), the two-pass
   ``hessp``, and a line-search batch of B=4 and B=1 trial points (one
   blocked pass). Layouts: the whole X (one shard: what the package picks
   here), half the rows contiguous ``X[:n/2]`` and strided ``X[0::2]`` (a
   shard of two, rebalanced), the two strided halves at once on two threads
   (an in-process fit with 2 shards), float64 and float32 X, BLAS on 1 or 2
   threads (threadpoolctl). Times in ms, then GFLOP/s against the machine's
   GEMM peak measured on a square GEMM (``--gemm-size``) of each precision
   and thread count.
2. **Whole fits**: DINGO with its defaults, ``subproblem_max_iter`` in
   {5, 10, 20}, ``line_search_batch=1`` (set through ``DingoConfig``: the
   estimator has no such parameter), ``n_shards=2``,
   ``hessian_precision="full"``, float32 X; scikit-learn's
   ``LogisticRegression`` newton-cg and lbfgs at tol=1e-6. Wall seconds,
   iterations, rounds, passes over X (rows read / n, through the package's
   ``pass_counter`` and ``benchmarks/common/counting.py``), seconds per pass,
   and the seconds DINGO took (``history_``'s ``time``) to reach the
   objective of scikit-learn's fastest fit, judged by the benchmark's own
   objective (``common/measure.py``; the last column checks that
   ``history_``'s ``loss`` is that objective).

    python -m benchmarks study pass-price [--quick] [--repeats 5] [--fit-repeats 3] [--parts kernels,fits]
"""

import argparse
import dataclasses
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import numpy as np
from scipy.special import softmax
from threadpoolctl import threadpool_limits

from benchmarks.common.counting import count_passes
from benchmarks.common.measure import objective_gradient
from benchmarks.common.problems import SEED, correlated_standardised
from benchmarks.studies.shard_kernels import _median_seconds
from sklearn_dingo._objectives import MultinomialSoftmax, pass_counter
from sklearn_dingo._shard import ShardData

CONSTANTS = {
    "SubproblemConfig": "sklearn_dingo._shard._subproblems",
    "DingoConfig": "sklearn_dingo._solver._state",
    "_PRODUCT_BLOCK_BYTES": "sklearn_dingo._objectives._base",
    "SINGLE_PRECISION_MIN_ENTRIES": "sklearn_dingo._shard._subproblems",
    "PASS_PENALTY": "sklearn_dingo._shard._subproblems",
    "HESSP_PER_ROUND": "sklearn_dingo._shard._subproblems",
}

SIZES = {"default": (100_000, 300), "quick": (20_000, 300)}
N_CLASSES = 20
C_VALUE = 1.0
TOL = 1e-6


def make_data(size):
    """(X, y) of the softmax problem: problem 4's generator with 20 classes, fixed seed."""
    rng = np.random.default_rng(SEED + 40)
    n, d = SIZES[size]
    X = correlated_standardised(rng, n, d)
    W = rng.standard_normal((d, N_CLASSES)) * (3.0 / np.sqrt(d))
    P = softmax(X @ W, axis=1)
    y = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    return X, np.minimum(y, N_CLASSES - 1).astype(np.int64)


# -- 1. the price of one pass ---------------------------------------------------------------
class _Shard:
    """One shard's objective, data and state at a point near where a fit spends its rounds."""

    def __init__(self, X, y, n_total, rng):
        n, d = X.shape
        self.objective = MultinomialSoftmax(
            n_features=d, n_classes=N_CLASSES, fit_intercept=False, C=C_VALUE, total_weight=float(n_total)
        )
        self.data = ShardData(X, self.objective.encode_targets(y), np.ones(n), float(n))
        D = self.objective.n_params
        self.w = 0.05 * rng.standard_normal(D)
        self.p = 0.01 * rng.standard_normal(D)
        self.v = rng.standard_normal(D)
        self.eta = self.objective.margins(X, self.w)
        self.curvature = self.objective.curvature(self.data, self.eta)
        self.full_op = self.objective.hessian_operator(self.data, self.curvature)
        self.single_op = (
            None if X.dtype == np.float32
            else self.objective.hessian_operator(self.data, self.curvature, single_precision=True)
        )
        self.V = self.v.reshape(d, N_CLASSES)
        self.Z = X @ self.V.astype(X.dtype)
        R = self.objective._curvature_apply(np, self.curvature.weights.astype(X.dtype), self.Z)
        self.R = R.astype(X.dtype)
        self.Rg = self.objective._loss_residual(np, self.eta, self.data.Y)[1].astype(X.dtype)


def _kernels(s):
    """(label, flops per row / (d K), function of one shard) of each kernel; None where it does not apply."""
    o, sh = s.objective, s.data
    X = sh.X
    alphas4, alphas1 = 2.0 ** -np.arange(4), np.ones(1)
    # in X's precision, as hessian_operator uses them (float32 X, or the float32 copy of "single")
    weights, sw = s.curvature.weights.astype(X.dtype), sh.sample_weight.astype(X.dtype)
    u = np.ones(X.shape[0], dtype=X.dtype)
    return [
        ("floor: X^T u (GEMV, one read of X)", 2 / N_CLASSES, lambda: X.T @ u),
        ("gradient: loss_gradient (2 reads)", 4, lambda: o.loss_gradient(sh, s.w)),
        ("  X W (GEMM)", 2, lambda: X @ s.V.astype(X.dtype)),
        ("  softmax loss, P - Y (pointwise)", None, lambda: o._loss_residual(np, s.eta, sh.Y)),
        ("  X^T (P - Y) (GEMM)", 2, lambda: X.T @ s.Rg),
        ("curvature weights P (pointwise)", None, lambda: o.curvature(sh, s.eta)),
        ("HVP, package (row blocks, X's dtype)", 4, lambda: s.full_op(s.v)),
        ("HVP, package, hessian_precision=single", 4, None if s.single_op is None else (lambda: s.single_op(s.v))),
        ("  X V (GEMM, whole shard)", 2, lambda: X @ s.V.astype(X.dtype)),
        ("  R = s(P.Z - P rowsum(P.Z)) (pointwise, X's dtype)", None,
         lambda: sw[:, None] * o._curvature_apply(np, weights, s.Z)),
        ("  X^T R (GEMM, whole shard)", 2, lambda: X.T @ s.R),
        ("HVP, two passes (hessp)", 4, lambda: o.hessp(sh, s.curvature, s.v)),
        ("line search B=4 (one blocked pass)", 2 * (1 + 4),
         lambda: o.loss_gradient_batch(sh, s.w, s.eta, s.p, None, alphas4)),
        ("line search B=1 (one blocked pass)", 2 * (1 + 1),
         lambda: o.loss_gradient_batch(sh, s.w, s.eta, s.p, None, alphas1)),
    ]


@dataclasses.dataclass
class Layout:
    label: str
    rows: tuple  # slices of X, one per shard (two: run at once on two threads)
    float32: bool
    threads: int  # BLAS threads in all (two shards: one each)


def _layouts(n):
    half, all_rows = slice(0, n // 2), slice(0, n)
    strided = (slice(0, n, 2), slice(1, n, 2))
    return [
        Layout("all f64 2t", (all_rows,), False, 2),
        Layout("all f64 1t", (all_rows,), False, 1),
        Layout("X[:n/2] f64 1t", (half,), False, 1),
        Layout("X[0::2] f64 1t", (strided[0],), False, 1),
        Layout("2x[j::2] f64", strided, False, 2),
        Layout("all f32 2t", (all_rows,), True, 2),
        Layout("2x[j::2] f32", strided, True, 2),
    ]


def _gemm_peaks(m, repeats):
    """GFLOP/s of an m x m x m GEMM, per (float32, BLAS threads)."""
    rng = np.random.default_rng(1)
    peaks = {}
    for float32 in (False, True):
        dtype = np.float32 if float32 else np.float64
        A, B = rng.standard_normal((m, m)).astype(dtype), rng.standard_normal((m, m)).astype(dtype)
        for threads in (1, 2):
            with threadpool_limits(limits=threads, user_api="blas"):
                (seconds,) = _median_seconds([lambda: A @ B], repeats)
            peaks[float32, threads] = 2.0 * m**3 / seconds / 1e9
    return peaks


def pass_prices(X, y, repeats, gemm_size):
    n, d = X.shape
    K = N_CLASSES
    rng = np.random.default_rng(2)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    layouts = _layouts(n)
    peaks = _gemm_peaks(gemm_size, repeats)
    ms, reads, labels, flops = {}, {}, None, None
    pool = ThreadPoolExecutor(2)
    for layout in layouts:
        source = X32 if layout.float32 else X
        shards = [_Shard(source[rows], y[rows], n, rng) for rows in layout.rows]
        kernels = [_kernels(s) for s in shards]
        labels = [k[0] for k in kernels[0]]
        flops = [k[1] for k in kernels[0]]
        funcs = []
        for i in range(len(labels)):
            parts = [k[i][2] for k in kernels]
            if parts[0] is None:
                funcs.append(None)
            elif len(parts) == 1:
                funcs.append(parts[0])
            else:  # the shards at once, one thread each, as the in-process backend runs them
                funcs.append(lambda parts=parts: [f.result() for f in [pool.submit(p) for p in parts]])
        per_shard_threads = max(1, layout.threads // len(layout.rows))
        with threadpool_limits(limits=per_shard_threads, user_api="blas"):
            present = [f for f in funcs if f is not None]
            seconds = iter(_median_seconds(present, repeats))
            for i, f in enumerate(funcs):
                ms[layout.label, i] = None if f is None else 1e3 * next(seconds)
                if f is not None and len(layout.rows) == 1 and layout.label.startswith("all f64"):
                    with pass_counter() as counter:
                        f()
                    reads[i] = counter.rows / shards[0].data.n_samples
        del shards, kernels, funcs
    pool.shutdown()

    rows_of = {layout.label: sum(len(range(*r.indices(n))) for r in layout.rows) for layout in layouts}
    width = 50
    print(f"\nOne pass over a shard: ms (median of {repeats}), d={d}, K={K}; "
          "'2x[j::2]': both strided halves at once, one BLAS thread each")
    print(f"{'kernel':<{width}} {'reads':>5} " + " ".join(f"{layout.label:>15}" for layout in layouts))
    for i, label in enumerate(labels):
        cells = " ".join(
            f"{'-':>15}" if ms[layout.label, i] is None else f"{ms[layout.label, i]:>15.1f}" for layout in layouts
        )
        r = reads.get(i)
        print(f"{label:<{width}} {f'{r:.0f}' if r else '':>5} {cells}")
    print(f"{'rows':<{width}} {'':>5} " + " ".join(f"{rows_of[la.label]:>15,}" for la in layouts))

    print(f"\nThe same in GFLOP/s (GEMM flops 2ndK per product with X), and the square GEMM peak "
          f"({gemm_size}^3, median of {repeats})")
    print(f"{'kernel':<{width}} {'':>5} " + " ".join(f"{layout.label:>15}" for layout in layouts))
    for i, label in enumerate(labels):
        if flops[i] is None:
            continue
        cells = []
        for layout in layouts:
            t = ms[layout.label, i]
            if t is None:
                cells.append(f"{'-':>15}")
                continue
            gflops = flops[i] * rows_of[layout.label] * d * K / (t * 1e-3) / 1e9
            peak = peaks[layout.float32 or "single" in label, layout.threads]
            cells.append(f"{f'{gflops:.1f} ({100 * gflops / peak:.0f}%)':>15}")
        print(f"{label:<{width}} {'':>5} " + " ".join(cells))
    floor = " ".join(
        f"{X.dtype.itemsize // (2 if la.float32 else 1) * rows_of[la.label] * d / ms[la.label, 0] / 1e6:>15.1f}"
        for la in layouts
    )
    print(f"{'floor: read rate of X, GB/s':<{width}} {'':>5} {floor}")
    peak_cells = " ".join(f"{peaks[la.float32, la.threads]:>15.1f}" for la in layouts)
    print(f"{'square GEMM peak, GFLOP/s':<{width}} {'':>5} {peak_cells}")


# -- 2. whole fits ------------------------------------------------------------------------------
def _dingo(float32=False, **params):
    from sklearn_dingo import DingoSoftmaxRegression

    batch = params.pop("line_search_batch", None)

    class Dingo(DingoSoftmaxRegression):
        def _config(self, data_dtype=np.float64):
            config = super()._config(data_dtype)
            return config if batch is None else dataclasses.replace(config, line_search_batch=batch)

    return Dingo(C=C_VALUE, fit_intercept=False, tol=TOL, max_iter=100, **params), float32


def _counting_hvps(counts):
    """``MultinomialSoftmax.hessian_operator`` whose operators add their products to ``counts["hvp"]``."""
    original = MultinomialSoftmax.hessian_operator

    def hessian_operator(self, *args, **kwargs):
        matvec = original(self, *args, **kwargs)

        def counted(v):
            counts["hvp"] += 1
            return matvec(v)

        return counted

    return mock.patch.object(MultinomialSoftmax, "hessian_operator", hessian_operator)


def _fit_one(name, estimator, float32, X, X32, y):
    counts = {"hvp": 0}
    with warnings.catch_warnings(), count_passes() as passes, _counting_hvps(counts):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        estimator.fit(X32 if float32 else X, y)
        wall = time.perf_counter() - start
    if name.startswith("sklearn"):
        passes.require_sklearn(name)
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    f = objective_gradient(X, y, coef, C_VALUE, N_CLASSES)[0]
    history = getattr(estimator, "history_", None)
    history = None if history is None else {key: np.asarray(value) for key, value in history.items()}
    return dict(name=name, wall=wall, passes=passes.rows / X.shape[0], f=f, hvps=counts["hvp"], history=history,
                n_iter=int(np.max(estimator.n_iter_)), rounds=getattr(estimator, "n_communication_rounds_", None))


def whole_fits(X, y, fit_repeats):
    from sklearn.linear_model import LogisticRegression

    X32 = np.ascontiguousarray(X, dtype=np.float32)
    candidates = {
        "dingo defaults": _dingo(),
        "dingo subproblem_max_iter=5": _dingo(subproblem_max_iter=5),
        "dingo subproblem_max_iter=10": _dingo(subproblem_max_iter=10),
        "dingo subproblem_max_iter=20": _dingo(subproblem_max_iter=20),
        "dingo line_search_batch=1": _dingo(line_search_batch=1),
        "dingo n_shards=2": _dingo(n_shards=2),
        "dingo hessian_precision=full": _dingo(hessian_precision="full"),
        "dingo float32 X": _dingo(float32=True),
        "sklearn newton-cg": (LogisticRegression(C=C_VALUE, fit_intercept=False, solver="newton-cg",
                                                 tol=TOL, max_iter=1000), False),
        "sklearn lbfgs": (LogisticRegression(C=C_VALUE, fit_intercept=False, solver="lbfgs",
                                             tol=TOL, max_iter=1000), False),
    }
    results = {}
    for _ in range(fit_repeats):  # the fits in turn, the median wall time of each
        for name, (estimator, float32) in candidates.items():
            run = _fit_one(name, estimator, float32, X, X32, y)
            results.setdefault(name, []).append(run)
    # the fit of median wall time (its history gives the seconds to the target)
    runs = {name: sorted(runs, key=lambda r: r["wall"])[(len(runs) - 1) // 2] for name, runs in results.items()}
    sk = [r for name, r in runs.items() if name.startswith("sklearn")]
    fastest = min(sk, key=lambda r: r["wall"])
    target = fastest["f"]
    print(f"\nWhole fits, n={X.shape[0]:,}, d={X.shape[1]}, K={N_CLASSES}, C={C_VALUE:g}, tol={TOL:g}, "
          f"no intercept (wall: median of {fit_repeats}); target f = {target:.12f}, the objective of "
          f"{fastest['name']} (fastest scikit-learn fit)")
    print(f"{'fit':<30} {'wall s':>7} {'iters':>5} {'rounds':>6} {'passes':>7} {'ms/pass':>8} "
          f"{'pass/rnd':>8} {'pass/it':>7} {'HVPs':>5} {'f - target':>11} {'s to 1e-6':>9} "
          f"{'s to target':>11} {'run s':>6} {'|loss - f|':>10}")
    for name, r in runs.items():
        n_iter = r["n_iter"]
        cells = dict(rounds="", per_round="", to_target="", run="", check="", hvps="", near="")
        if not name.startswith("sklearn"):
            h, rounds = r["history"], int(r["rounds"])
            loss, times = np.asarray(h["loss"]), np.asarray(h["time"])
            reached = np.flatnonzero(loss <= target + 1e-12 * abs(target))
            near = np.flatnonzero(loss <= target + 1e-6 * abs(target))
            cells = dict(
                rounds=f"{rounds}",
                per_round=f"{r['passes'] / rounds:.1f}",
                to_target=f"{times[reached[0]]:.2f}" if reached.size else "not reached",
                run=f"{times[-1]:.2f}",
                near=f"{times[near[0]]:.2f}" if near.size else "not reached",
                check=f"{abs(loss[-1] - r['f']):.1e}",
                hvps=f"{r['hvps']}",
            )
        print(
            f"{name:<30} {r['wall']:>7.2f} {n_iter:>5} {cells['rounds']:>6} {r['passes']:>7.1f} "
            f"{1e3 * r['wall'] / r['passes']:>8.1f} {cells['per_round']:>8} {r['passes'] / n_iter:>7.1f} "
            f"{cells['hvps']:>5} {r['f'] - target:>11.1e} {cells['near']:>9} "
            f"{cells['to_target']:>11} {cells['run']:>6} {cells['check']:>10}"
        )


PARTS = {"kernels": pass_prices, "fits": whole_fits}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks study pass-price", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{SIZES['quick'][0]:,} rows instead of "
                        f"{SIZES['default'][0]:,}")
    parser.add_argument("--repeats", type=int, default=5, help="timings per kernel (median)")
    parser.add_argument("--fit-repeats", type=int, default=None,
                        help="fits of each solver, in turn (median wall time); default 3, --quick 1")
    parser.add_argument("--gemm-size", type=int, default=1024, help="side of the square GEMM of the peak")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    args = parser.parse_args(argv)
    X, y = make_data("quick" if args.quick else "default")
    print(f"pass-price: X {X.shape[0]:,} x {X.shape[1]} float64 ({X.nbytes / 1e6:.0f} MB), {N_CLASSES} classes "
          f"(counts {np.bincount(y, minlength=N_CLASSES).min()}-{np.bincount(y, minlength=N_CLASSES).max()})")
    for part in args.parts.split(","):
        part = part.strip()
        if part == "kernels":
            pass_prices(X, y, args.repeats, args.gemm_size)
        else:
            whole_fits(X, y, args.fit_repeats or (1 if args.quick else 3))
