#!/usr/bin/env python
"""Heterogeneous shards: what sorted or clustered rows cost DINGO, and what ``rebalance`` buys back.

Usage::

    python benchmarks/heterogeneous.py [--quick] [--problems a,b] [--shards 2,4,8]
        [--layouts shuffled,label,feature,clustered] [--settings in-process,cluster] [--out DIR]

Prints per problem DINGO's rounds at a glance and a table per setting, then
the goals as PASS/FAIL lines; writes them to ``DIR/heterogeneous.md`` and
``.csv`` (default DIR: ``benchmarks/results/``, git-ignored). ``--quick``:
small problems, a few minutes on 2 cores.

DINGO needs few rounds only when each shard looks like the whole data. The
same rows are fitted in four *layouts* (``shuffled``, ``label``, ``feature``,
``clustered``) of problem (a) softmax, 5 classes, n=200,000, d=40, with
intercept, and (b) binary n=300,000, d=50, no intercept; C=1 (``_layouts.py``;
--quick: 20,000 x 20 and 30,000 x 20). Settings: ``in-process`` (NumPy input,
``n_shards`` = 2, 4 or 8 shards on threads) and ``cluster`` (a 2-worker
``LocalCluster``, 1 thread each; a Dask array of 2, 4 or 8 equal row chunks in
the layout's order, persisted there by ``_solvers.ClusterData`` before any
timing; ``n_shards`` = the chunk count: chunks are shards, never merged).
Solvers: DINGO with ``rebalance`` "auto", True and False, and "plain" DINGO
(the paper's method on the shards as given: ``rebalance=False,
secant_memory=0``, what the package did before it mixed rows or corrected
directions) (``tol=1e-8``, ``max_iter=100``) in both settings; scikit-learn lbfgs (``tol=1e-10``)
in-process, once per problem and layout; dask-ml lbfgs (its defaults:
``tol=1e-4``, ``max_iter=100``, ``normalize=True``, the same objective on
standardised columns) on the cluster, binary problem only. All solvers of a
problem minimise scikit-learn's objective: (a) with an unpenalised intercept
(dask-ml does not run there), (b) without (dask-ml penalises an intercept).

How each column is measured
---------------------------
wall s
    ``time.perf_counter`` around ``fit`` (``run.run_once``); median of
    ``reps`` runs: a fit is repeated (up to ``--repeats``, default 3, quick 1)
    only if its first run took less than ``--repeat-below`` seconds (15).
iters, stop
    ``n_iter_``, ``stop_reason_`` / ``converged_`` (DINGO); dask-ml: lbfgs's
    function evaluations (graph computes minus the one of ``normalize``).
rounds
    the paper's counting (a broadcast = 1, a reduce = 1): DINGO's
    ``n_communication_rounds_`` (a move of rows counts its own 2 rounds);
    dask-ml: 2 per graph compute + 1 per other blocking call (as run.py).
round trips
    cluster rows: blocking client-cluster exchanges counted by
    ``_measure.ClusterMeter`` (wrapping ``Client.sync``), the whole fit with
    its set-up. DINGO in-process: one per reduce, ``(rounds + 1) // 2``.
paper bytes, wire bytes
    DINGO's ``history_`` ``bytes_down + bytes_up``; cluster rows: measured,
    the client's TCP traffic with the scheduler plus worker-to-worker
    transfers (``transfer_incoming_log``: a move of rows shows here).
moved, moved/X
    DINGO's ``history_["bytes_moved"]`` (bytes of data rows moved to mix the
    shards: rows of X with their encoded targets and weights), and over
    ``X.nbytes``. In-process dense shards take every m-th row as views:
    nothing moves, the ``rows mixed`` column says so.
δ
    ``shard_disagreement_``: the spread of the shards' local Newton
    directions at the first iteration, relative to their mean.
rows mixed
    in-process: ``every m-th`` (the split of "auto"/True) or ``blocks``
    (False); cluster: whether ``rebalanced_``, and when (before the first
    iteration or after iteration k, from ``history_["bytes_moved"]``).
case 4
    iterations whose direction the secant pairs corrected (``history_["case"]``).
rel. gap, ‖g‖
    every fit judged by one function (``_layouts.ObjectiveJudge``, built on
    ``_measure.objective_gradient``): (f - f_best) / f_best, f_best the best
    objective any fit of the problem reached; the gradient's 2-norm.
×shuffled, trips ×dask-ml
    this row's rounds / round trips over those of DINGO ``rebalance="auto"``
    on the shuffled layout in the same setting and shard count; DINGO's round
    trips over dask-ml lbfgs's in the same layout and shard count (DINGO runs
    to ‖g‖ <= 1e-8, dask-ml to its own tol: compare their rel. gap).

Goals (PASS/FAIL at the end): whatever the layout, on the cluster DINGO
(rebalance="auto") spends no more round trips than dask-ml lbfgs; with
rebalance "auto" or True it converges within 1.5x DINGO's shuffled rounds;
with rebalance=False within 4x.
"""

import argparse
import contextlib
import dataclasses
import gc
import io
import logging
import math
import os
import statistics
import sys
import time
import traceback
import types
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _layout_report import markdown_table, rounds_at_a_glance, write_csv  # noqa: E402
from _layouts import LAYOUTS, PROBLEM_KEYS, SIZES, VARIANTS, LayoutProblem, ObjectiveJudge, make_problem  # noqa: E402
from _report import _bytes  # noqa: E402
from _solvers import SKLEARN_MAX_ITER, SKLEARN_TOL, ClusterData, DaskMLSolver, FitOutput, Solver  # noqa: E402
from _solvers import _dingo_output, check_dask_glm_objective  # noqa: E402
from run import environment_text, git_text, load_text, log, prepare_process, run_once  # noqa: E402

DINGO_TOL = 1e-8
DINGO_MAX_ITER = 100
SETTINGS = ("in-process", "cluster")
# The goals: rounds of a fit that may move rows (auto/True) and of one that
# may not (False), over DINGO's own rounds on shuffled rows.
MOVE_ROUNDS_FACTOR = 1.5
FIXED_ROUNDS_FACTOR = 4.0
REFERENCE = "dingo auto"  # on the shuffled layout: every ×shuffled ratio's denominator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small problems (a few minutes on 2 cores)")
    parser.add_argument("--problems", default=",".join(PROBLEM_KEYS), help="comma-separated subset of a,b")
    parser.add_argument("--shards", default="2,4,8", help="comma-separated shard (and chunk) counts")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated subset of {','.join(LAYOUTS)}")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated subset of in-process,cluster")
    parser.add_argument(
        "--variants", default=",".join(map(str, VARIANTS)),
        help="comma-separated subset of DINGO's variants: auto,True,False,plain",
    )
    parser.add_argument("--out", default=str(HERE / "results"), help="output directory")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per fit (default 3; quick: 1)")
    parser.add_argument("--repeat-below", type=float, default=15.0, help="repeat only fits faster than this (s)")
    args = parser.parse_args(argv)

    def listed(text, allowed, what):
        items = [s.strip() for s in text.split(",") if s.strip()]
        unknown = [s for s in items if s not in allowed]
        if unknown or not items:
            parser.error(f"--{what}: unknown {unknown or 'empty list'}; choose from {', '.join(allowed)}")
        return items

    args.problems = listed(args.problems, PROBLEM_KEYS, "problems")
    args.layouts = listed(args.layouts, LAYOUTS, "layouts")
    args.settings = listed(args.settings, SETTINGS, "settings")
    args.shards = [int(s) for s in args.shards.split(",") if s.strip()]
    by_name = {str(v): v for v in VARIANTS}
    args.variants = [by_name[name] for name in listed(args.variants, list(by_name), "variants")]
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    return args


def command_text(args):
    """The command line that reproduces this run (every option that changes what is measured)."""
    command = "python benchmarks/heterogeneous.py" + (" --quick" if args.quick else "")
    for option, value, default in (
        ("--problems", args.problems, list(PROBLEM_KEYS)),
        ("--shards", args.shards, [2, 4, 8]),
        ("--layouts", args.layouts, list(LAYOUTS)),
        ("--settings", args.settings, list(SETTINGS)),
        ("--variants", args.variants, list(VARIANTS)),
    ):
        if value != default:
            command += f" {option} {','.join(map(str, value))}"
    if args.repeats != (1 if args.quick else 3):
        command += f" --repeats {args.repeats}"
    if args.repeat_below != 15.0:
        command += f" --repeat-below {args.repeat_below:g}"
    return command


# -- solvers ------------------------------------------------------------------------------
@dataclasses.dataclass
class LayoutFit(FitOutput):
    """What one fit returned, with DINGO's attributes about its shards."""

    intercept: np.ndarray = None
    converged: bool = None
    disagreement: float = None
    rebalanced: bool = None
    bytes_moved: int = None
    mixed_at: int = None  # history row at which rows had been moved (0: before the first iteration)
    case4: int = None

    @classmethod
    def of(cls, out, **extra):
        """A ``FitOutput`` with the extra fields given."""
        return cls(**{f.name: getattr(out, f.name) for f in dataclasses.fields(FitOutput)}, **extra)


class Dingo(Solver):
    """DINGO in one of ``_layouts.VARIANTS`` with ``n_shards``, in-process or on the active client."""

    def __init__(self, where, variant, n_shards):
        super().__init__(f"dingo {variant}", where, "dingo")
        self.variant = variant
        self.rebalance = False if variant == "plain" else variant
        self.secant_memory = 0 if variant == "plain" else None  # None: the estimator's default
        self.n_shards = n_shards

    def fit(self, problem, data, size):
        from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression

        Est = DingoLogisticRegression if problem.binary else DingoSoftmaxRegression
        kwargs = dict(
            C=problem.C, fit_intercept=problem.fit_intercept, tol=DINGO_TOL, max_iter=DINGO_MAX_ITER,
            n_shards=self.n_shards, rebalance=self.rebalance,
        )
        if self.secant_memory is not None:
            kwargs["secant_memory"] = self.secant_memory
        if self.where == "cluster":  # run.run_once reads the meter at each verbose line
            kwargs.update(backend="dask", verbose=getattr(self, "verbose", 0))
            X, y = data.X_dingo, data.y_labels
        else:
            X, y = problem.X, problem.y
        model = Est(**kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence is reported from converged_, not hidden
            model.fit(X, y)
        out = _dingo_output(model)
        moved = np.flatnonzero(out.history["bytes_moved"] > 0)
        return LayoutFit.of(
            out, intercept=model.intercept_, converged=bool(model.converged_),
            disagreement=float(model.shard_disagreement_), rebalanced=bool(model.rebalanced_),
            bytes_moved=int(out.history["bytes_moved"][-1]), mixed_at=int(moved[0]) if moved.size else None,
            case4=int(np.sum(out.history["case"] == 4)),
        )


class SklearnLbfgs(Solver):
    """scikit-learn's lbfgs run to the optimum, with the problem's intercept setting."""

    def __init__(self):
        super().__init__("sklearn lbfgs", "in-process", "sklearn")

    def fit(self, problem, data, size):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=problem.C, fit_intercept=problem.fit_intercept, solver="lbfgs",
                                   tol=SKLEARN_TOL, max_iter=SKLEARN_MAX_ITER)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(problem.X, problem.y)
        n_iter = int(np.max(model.n_iter_))
        stopped_short = n_iter >= SKLEARN_MAX_ITER or any(issubclass(w.category, ConvergenceWarning) for w in caught)
        stop = "ConvergenceWarning (max_iter or line search)" if stopped_short else f"converged (tol={SKLEARN_TOL:g})"
        return LayoutFit(coef=model.coef_, intercept=model.intercept_, n_iter=n_iter, stop=stop, capped=stopped_short,
                         converged=not stopped_short)


class DaskMLLbfgs(DaskMLSolver):
    """``_solvers``' dask-ml lbfgs (its defaults), its output as a :class:`LayoutFit`."""

    def __init__(self):
        super().__init__("lbfgs")

    def fit(self, problem, data, size):
        return LayoutFit.of(super().fit(problem, data, size))


# -- measuring -------------------------------------------------------------------------------
def measure(solver, problem, data, ctx, judge, shards):
    """Fit ``solver`` on ``problem`` (rows in its layout) and return the row of the tables.

    The first run is metered (cluster: round trips and bytes, ``run.run_once``);
    short fits are run again for the median wall time. A failure becomes a row
    that says why.
    """
    row = dict(
        problem=problem.key, layout=problem.layout, setting=solver.where, shards=shards, solver=solver.name,
        family=solver.family, variant=getattr(solver, "variant", None), rebalance=getattr(solver, "rebalance", None),
        fit_intercept=problem.fit_intercept,
        X_nbytes=problem.nbytes, status="ok", reason="",
    )
    runs = []
    try:
        out, info = run_once(solver, problem, data, ctx, instrument=True)
        runs.append(info["wall"])
        while len(runs) < ctx.repeats and runs[0] < ctx.repeat_below:
            runs.append(run_once(solver, problem, data, ctx, instrument=False)[1]["wall"])
    except Exception as exc:  # noqa: BLE001 - report, never drop
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc(file=sys.stderr)
        first_line = str(exc).splitlines()[0][:160] if str(exc) else ""
        row.update(status="failed", reason=f"{type(exc).__name__}: {first_line}")
        log(f"  {row['setting']:<10} {row['layout']:<9} {shards!s:>4} {solver.name:<14} FAILED: {row['reason']}")
        return row
    objective, grad_norm = judge(out.coef, out.intercept)
    row.update(
        reps=len(runs), wall=statistics.median(runs), wall_runs=runs, n_iter=out.n_iter, stop=out.stop,
        converged=out.converged, objective=objective, grad_norm=grad_norm,
    )
    if solver.family == "dingo":
        row.update(
            rounds=out.rounds, paper_bytes=out.paper_bytes, bytes_moved=out.bytes_moved,
            moved_over_X=out.bytes_moved / problem.nbytes, disagreement=out.disagreement,
            rebalanced=out.rebalanced, mixed_at=out.mixed_at, case4=out.case4,
        )
        if solver.where == "in-process":
            row["round_trips"] = (out.rounds + 1) // 2
            row["mixed"] = "blocks" if solver.rebalance is False else "every m-th"
        elif out.rebalanced:
            row["mixed"] = "moved at start" if out.mixed_at == 0 else f"moved after it {out.mixed_at}"
        else:
            row["mixed"] = "no"
    if solver.where == "cluster":
        for key in ("round_trips", "computes", "bytes_sent", "bytes_received", "worker_bytes"):
            row[key] = info[key]
        row["wire_bytes"] = info["bytes_sent"] + info["bytes_received"] + info["worker_bytes"]
        if solver.family == "dask-ml":
            row["rounds"] = info["round_trips"] + info["computes"]
            row["n_iter"] = solver.passes_per_compute(info["computes"])[1]
    log(f"  {row['setting']:<10} {row['layout']:<9} {shards!s:>4} {solver.name:<14} {row['wall']:7.2f} s  "
        f"iters {row['n_iter']:>3}  rounds {row.get('rounds', '-')!s:>4}  trips {row.get('round_trips', '-')!s:>4}  "
        f"f={objective:.12g}  {out.stop}")
    return row


def warm_up(client):
    """One tiny fit of each cluster solver (imports on the workers), not timed."""
    from _problems import SEED

    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((400, 8))
    y = (X[:, 0] + rng.standard_normal(400) > 0).astype(np.int64)
    problem = LayoutProblem("warm-up", "warm-up", "", X, y, 1.0)
    data = ClusterData(client, problem, n_chunks=2)
    for solver in (Dingo("cluster", True, 2), DaskMLLbfgs()):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                solver.fit(problem, data, "quick")
        except Exception:  # noqa: BLE001 - failures are reported by the real runs
            pass
    data.release()


def run_problem(key, args, ctx, client, checks):
    """Every row of one problem: every layout, setting, shard count and solver."""
    size = "quick" if args.quick else "default"
    t0 = time.perf_counter()
    problem = make_problem(key, size)
    judge = ObjectiveJudge(problem)
    log(f"problem {key} ({problem.description}: {problem.shape_text()}; generated in {time.perf_counter() - t0:.1f} s)")
    mismatch = check_dask_glm_objective(problem)
    if mismatch is not None and "cluster" in args.settings:
        checks.append(
            f"problem {key}: dask-glm's objective (lamduh = 1/C, its own functions) = n x this benchmark's "
            f"objective to a relative {mismatch:.1e}."
        )
    rows = []
    for layout in args.layouts:
        laid = problem.in_layout(layout)
        rows.append(measure(SklearnLbfgs(), laid, None, ctx, judge, shards=None))
        if "in-process" in args.settings:
            for shards in args.shards:
                rows += [measure(Dingo("in-process", r, shards), laid, None, ctx, judge, shards) for r in args.variants]
        if "cluster" in args.settings:
            for shards in args.shards:
                data = ClusterData(client, laid, n_chunks=shards)
                rows += [measure(Dingo("cluster", r, shards), laid, data, ctx, judge, shards) for r in args.variants]
                if problem.binary:
                    rows.append(measure(DaskMLLbfgs(), laid, data, ctx, judge, shards))
                data.release()
                del data
        del laid
        gc.collect()
    return problem, rows


# -- derived columns and goals ------------------------------------------------------------------
def derive(rows):
    """Fill rel_gap and the ratios of every row in place; return f_best of each problem."""
    ok = [r for r in rows if r["status"] == "ok"]
    f_best = {}
    for r in ok:
        f_best[r["problem"]] = min(f_best.get(r["problem"], math.inf), r["objective"])
    references = [r for r in ok if r["solver"] == REFERENCE and r["layout"] == "shuffled"]
    shuffled = {(r["problem"], r["setting"], r["shards"]): r for r in references}
    dask_ml = {(r["problem"], r["layout"], r["shards"]): r for r in ok if r["family"] == "dask-ml"}

    def ratio(mine, theirs):
        return mine / theirs if mine is not None and theirs else None

    for r in ok:
        best = f_best[r["problem"]]
        r["f_best"] = best
        r["rel_gap"] = (r["objective"] - best) / abs(best)
        ref = shuffled.get((r["problem"], r["setting"], r["shards"]))
        if ref is not None:
            r["x_shuffled_rounds"] = ratio(r.get("rounds"), ref.get("rounds"))
            r["x_shuffled_round_trips"] = ratio(r.get("round_trips"), ref.get("round_trips"))
        theirs = dask_ml.get((r["problem"], r["layout"], r["shards"]))
        if r["setting"] == "cluster" and r["family"] == "dingo" and theirs is not None:
            r["x_daskml_round_trips"] = ratio(r.get("round_trips"), theirs.get("round_trips"))
    return f_best


def _goal_line(name, cases, limit):
    """One PASS / FAIL / n/a line from ``(label, ratio or None, problem or None)`` per fit checked."""
    if not cases:
        return ("n/a", name, "no such fit ran")
    failures = [f"{label}: {problem}" for label, _, problem in cases if problem]
    failures += [f"{label}: {ratio:.2f}x" for label, ratio, problem in cases if not problem and ratio > limit]
    measured = [(ratio, label) for label, ratio, _ in cases if ratio is not None]
    detail = f"{len(cases)} fits; highest {max(measured)[0]:.2f}x ({max(measured)[1]})" if measured else ""
    return ("FAIL" if failures else "PASS", name, "; ".join(filter(None, [detail, *failures])))


def goals(rows, args):
    """PASS / FAIL / n/a lines of the goals, one per (goal, problem, setting)."""
    lines = []
    dask_ml = {(r["problem"], r["layout"], r["shards"]): r for r in rows if r["family"] == "dask-ml"}

    def problem_of(r):  # why a fit cannot pass, whatever its ratio
        if r["status"] != "ok":
            return f"{r['status']} ({r['reason']})"
        return None if r["converged"] else f"not converged ({r['stop']}, {r['rounds']} rounds)"

    for key in args.problems:
        mine = [r for r in rows if r["problem"] == key and r["family"] == "dingo"]
        # 1. cluster: DINGO auto in no more round trips than dask-ml lbfgs, every layout and shard count
        name = f"problem {key}, cluster: DINGO rebalance=auto in <= dask-ml lbfgs's round trips, every layout"
        cases = []
        for r in (r for r in mine if r["setting"] == "cluster" and r["solver"] == REFERENCE):
            theirs = dask_ml.get((key, r["layout"], r["shards"]))
            if theirs is None:
                continue
            label = f"{r['layout']}/{r['shards']} shards ({r.get('round_trips')} vs {theirs.get('round_trips')} trips)"
            trouble = problem_of(r) or (None if theirs["status"] == "ok" else f"dask-ml {theirs['status']}")
            cases.append((label, r.get("x_daskml_round_trips"), trouble))
        if not cases and key == "a":
            lines.append(("n/a", name, "dask-ml lbfgs is binary only"))
        else:
            lines.append(_goal_line(name, cases, 1.0))
        # 2-3. rounds against DINGO's own shuffled rounds
        for setting in args.settings:
            for allowed, limit, text in (
                (("auto", True), MOVE_ROUNDS_FACTOR, "rebalance auto/True"),
                ((False,), FIXED_ROUNDS_FACTOR, "rebalance=False"),
            ):
                name = f"problem {key}, {setting}: {text} converges in <= {limit:g}x DINGO's shuffled rounds"
                # `in` compares with ==: safe, the variants are "auto", True, False, "plain" (no 0 or 1)
                fits = [r for r in mine if r["setting"] == setting and r["variant"] in allowed]
                cases = [
                    (f"{r['layout']}/{r['shards']}/{r['variant']} ({r.get('rounds')} rounds)",
                     r.get("x_shuffled_rounds"),
                     problem_of(r) or (None if r.get("x_shuffled_rounds") else "no shuffled reference"))
                    for r in fits
                ]
                lines.append(_goal_line(name, cases, limit))
    return lines


def build_document(args, env_text, sections, goal_lines, checks, elapsed):
    size = "quick" if args.quick else "default"
    sizes = "; ".join(f"{k}: {n:,} x {d}" for k, (n, d) in SIZES[size].items())
    lines = [
        f"# sklearn-dingo on heterogeneous shards ({size} size)",
        "",
        f"Command: `{command_text(args)}`",
        "",
        env_text,
        f"Package at commit {git_text()}. Load average (1/5/15 min) at the start {args.load_start}, at the end "
        f"{load_text()} (other processes on the machine make timings noisy; rounds, round trips and bytes are not "
        f"affected). Total run time {elapsed / 60:.1f} min. Columns: `benchmarks/heterogeneous.py`'s docstring.",
        "",
        "Notes:",
        "",
        f"- Problems (n x d): {sizes}; scikit-learn's `LogisticRegression` objective, C=1. Problem a (softmax): "
        "`fit_intercept=True` for DINGO and scikit-learn (unpenalised; dask-ml is binary only). Problem b (binary): "
        "`fit_intercept=False` for every solver (dask-ml penalises an intercept). One independent function judges "
        "every fit of a problem.",
        f"- DINGO: tol={DINGO_TOL:g}, max_iter={DINGO_MAX_ITER}, `n_shards` = the shard count (cluster: = the chunk "
        "count). In-process dense data, rebalance \"auto\" and True both take every m-th row at the split (views, "
        "nothing moves): the same fit twice; False takes contiguous blocks of the layout. scikit-learn lbfgs: "
        "tol=1e-10; dask-ml lbfgs: its defaults (tol=1e-4, max_iter=100).",
        "- ×shuffled: over DINGO rebalance=\"auto\" on the shuffled layout, same setting and shards; trips ×dask-ml: "
        "over dask-ml lbfgs's, same layout and shards. Round trips: measured on the cluster, (rounds + 1) // 2 "
        "in-process. Rounds at a glance: DINGO's with rebalance auto / True / False, then plain DINGO (the "
        "paper's method on the shards as given, the package before this change) († = not converged).",
        "",
    ]
    if checks:
        lines += ["Checks:", ""] + [f"- {c}" for c in checks] + [""]
    for header, body in sections:
        lines += [header, "", body, ""]
    lines += ["## Goals", ""] + [f"- **{verdict}** {name}: {detail}" for verdict, name, detail in goal_lines] + [""]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    args.load_start = load_text()
    t_start = time.perf_counter()
    prepare_process()
    from _measure import ClusterMeter
    from distributed import Client, LocalCluster

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = types.SimpleNamespace(
        size="uncapped",  # _solvers caps dask-ml's iterations at size "quick": not here, its trips are compared
        repeats=args.repeats, repeat_below=args.repeat_below, meter=None,
    )
    rows, sections, checks = [], [], []
    with contextlib.ExitStack() as stack:
        client = None
        if "cluster" in args.settings:
            log("starting a LocalCluster: 2 workers x 1 thread")
            cluster = stack.enter_context(LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            ))
            client = stack.enter_context(Client(cluster))
            ctx.meter = ClusterMeter(client)
            stack.callback(ctx.meter.close)
            warm_up(client)
        env_text = environment_text(args, client)
        if client is None:  # run.py's text describes a cluster; none ran
            env_text = env_text.split(" Cluster:")[0]
        for key in args.problems:
            problem, problem_rows = run_problem(key, args, ctx, client, checks)
            rows += problem_rows
            f_best = derive(rows)[key] if any(r["status"] == "ok" for r in problem_rows) else None
            title = (f"## Problem {key}: {problem.description} ({problem.shape_text()}, C={problem.C:g}, "
                     f"X {_bytes(problem.nbytes)})")
            sections.append((title, f"Best objective reached: {f_best!r}.\n\n### Rounds at a glance\n\n"
                             + rounds_at_a_glance(problem_rows, args)))
            for setting in SETTINGS:  # scikit-learn's rows are in-process whatever --settings says
                chosen = [r for r in problem_rows if r["setting"] == setting]
                if chosen:
                    sections.append((f"### Problem {key}, {setting}", markdown_table(chosen, setting)))
            del problem
            gc.collect()
    goal_lines = goals(rows, args)
    elapsed = time.perf_counter() - t_start
    document = build_document(args, env_text, sections, goal_lines, checks, elapsed)
    (out_dir / "heterogeneous.md").write_text(document)
    write_csv(out_dir / "heterogeneous.csv", rows)
    print(document)
    log(f"wrote {out_dir / 'heterogeneous.md'} and {out_dir / 'heterogeneous.csv'} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
