"""Seconds to scikit-learn's objective, in process: DINGO's price-driven choices against fixed ones.

Studies ``MIN_LANCZOS_STEPS``, ``FORCING_MAX``, ``GRAM_READ_COLUMNS``,
``NEWTON_AGREEMENT_GAIN`` and ``NEWTON_DISAGREEMENT_GAIN``
(``sklearn_dingo/_solver/_prices.py``).

For each problem, in one run and interleaved (so that the machine's drift
hits every variant alike), ``--repeats`` times: scikit-learn's
``LogisticRegression`` at ``tol=1e-6`` (lbfgs; newton-cholesky too on dense
binary problems; the faster one is the reference), then DINGO fits at
``tol=1e-6`` under each setting. A DINGO fit's time to the reference's
objective f_ref is read from its ``history_`` (``time`` at the first
iterate whose loss is within the compare suite's ``MATCH_RTOL`` of f_ref). Printed: medians, their ratio to the
reference's seconds, iterations, rounds, the kinds of step taken and the
passes over X (``sklearn_dingo._objectives.pass_counter``, whole fit).

Settings: ``fixed`` (``local_effort="fixed", aggregate_hessian=False``: the
previous release's behaviour), ``effort`` (``local_effort="auto",
aggregate_hessian=False``), ``defaults`` (both ``"auto"``), ``newton``
(``aggregate_hessian=True``; n/a above ``NEWTON_MAX_PARAMS`` coefficients).

Problems: the compare suite's 1 (binary dense 200,000 x 200, C=10), 6
(softmax 100,000 x 300, 20 classes, C=1) and 7 (binary CSR 200,000 x
100,000, 40 entries per row, C=1), all without intercept; and 5-class
200,000 x 40 rows sorted by a feature, fitted in 4 row blocks kept in place
(``rebalance=False``). ``--quick``: their quick sizes, one repeat.

Run: ``python -m benchmarks study local-effort [--quick] [--repeats N]``
"""

import argparse
import math
import statistics
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

from benchmarks.common.measure import objective_gradient
from benchmarks.common.problems import make_problem
from benchmarks.suites._compare_report import _first_reaching as first_reaching
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._objectives import pass_counter
from sklearn_dingo._solver._prices import NEWTON_MAX_PARAMS

CONSTANTS = {
    "MIN_LANCZOS_STEPS": "sklearn_dingo._solver._prices",
    "FORCING_MAX": "sklearn_dingo._solver._prices",
    "GRAM_READ_COLUMNS": "sklearn_dingo._solver._prices",
    "NEWTON_AGREEMENT_GAIN": "sklearn_dingo._solver._prices",
    "NEWTON_DISAGREEMENT_GAIN": "sklearn_dingo._solver._prices",
}

SETTINGS = {
    "fixed": dict(local_effort="fixed", aggregate_hessian=False),
    "effort": dict(local_effort="auto", aggregate_hessian=False),
    "defaults": dict(),
    "newton": dict(aggregate_hessian=True),
}


def sorted_rows(quick):
    """5 classes, 40 features, rows sorted by the first feature (4 row blocks kept in place)."""
    rng = np.random.default_rng(0)
    n = 20_000 if quick else 200_000
    X = rng.standard_normal((n, 40))
    y = np.argmax(X @ (0.5 * rng.standard_normal((40, 5))) + rng.gumbel(size=(n, 5)), axis=1)
    order = np.argsort(X[:, 0], kind="stable")
    return X[order], y[order]


def problems(quick):
    size = "quick" if quick else "default"
    for key in (1, 6, 7):
        problem = make_problem(key, size)
        yield f"problem {key}: {problem.name}", problem.X, problem.y, problem.C, {}
    X, y = sorted_rows(quick)
    yield "5-class x 40, sorted by a feature, 4 blocks in place", X, y, 1.0, dict(n_shards=4, rebalance=False)


def n_params(X, y):
    """Coefficients of the model without intercept: d, or d·K for K > 2 classes."""
    K = len(np.unique(y))
    return X.shape[1] * (1 if K == 2 else K)


def reference_solvers(X, y):
    dense_binary = len(np.unique(y)) == 2 and not hasattr(X, "tocsr")
    return ["lbfgs", "newton-cholesky"] if dense_binary else ["lbfgs"]


def study(name, X, y, C, extra, repeats):
    K = len(np.unique(y))
    Estimator = DingoLogisticRegression if K == 2 else DingoSoftmaxRegression
    solvers = reference_solvers(X, y)
    seconds = {key: [] for key in [*solvers, *SETTINGS]}
    reached, fits, f_ref = {key: [] for key in SETTINGS}, {}, {}
    for _ in range(repeats):
        for solver in solvers:
            start = time.perf_counter()
            model = LogisticRegression(C=C, fit_intercept=False, tol=1e-6, solver=solver, max_iter=10_000).fit(X, y)
            seconds[solver].append(time.perf_counter() - start)
            f_ref[solver] = objective_gradient(X, y, model.coef_, C, len(model.classes_))[0]
        reference = min(solvers, key=lambda s: statistics.median(seconds[s]))
        for key, params in SETTINGS.items():
            if key == "newton" and n_params(X, y) > NEWTON_MAX_PARAMS:
                continue
            with pass_counter() as counter:
                start = time.perf_counter()
                fit = Estimator(C=C, fit_intercept=False, tol=1e-6, **params, **extra).fit(X, y)
                seconds[key].append(time.perf_counter() - start)
            history = fit.history_
            hit = first_reaching(history, f_ref[reference])
            reached[key].append(math.nan if hit is None else float(history["time"][hit]))
            fits[key] = (fit, counter.rows / X.shape[0])
    ref_seconds = statistics.median(seconds[reference])
    print(f"\n{name}")
    for solver in solvers:
        print(f"  sklearn {solver:<16} {statistics.median(seconds[solver]):8.3f} s   f = {f_ref[solver]:.12f}")
    print(f"  reference: sklearn {reference}, {ref_seconds:.3f} s")
    header = f"{'setting':<10} {'to f_ref s':>10} {'ratio':>7} {'fit s':>8} {'iters':>6} {'rounds':>7} {'passes':>7}"
    print(f"  {header}  steps")
    for key in SETTINGS:
        if key not in fits:
            print(f"  {key:<10} n/a: D = {n_params(X, y):,} coefficients, above {NEWTON_MAX_PARAMS:,}")
            continue
        fit, passes = fits[key]
        to_f = statistics.median(reached[key])
        kinds = "/".join(sorted(set(fit.history_["step_kind"][1:])))
        print(
            f"  {key:<10} {to_f:10.3f} {to_f / ref_seconds:7.2f} {statistics.median(seconds[key]):8.3f} "
            f"{fit.n_iter_[0]:6d} {fit.n_communication_rounds_:7d} {passes:7.1f}  {kinds}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks study local-effort", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="the quick problem sizes, one repeat")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3; quick 1)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    warnings.simplefilter("ignore")
    print(f"medians of {repeats} interleaved runs; ratio = DINGO's seconds to f_ref / the reference's seconds")
    for name, X, y, C, extra in problems(args.quick):
        study(name, X, y, C, extra, repeats)
