"""Heterogeneous shards: what sorted or clustered rows cost DINGO, and what ``rebalance`` buys back.

Usage::

    python -m benchmarks layouts [--quick] [--problems a,b] [--shards 2,4,8]
        [--layouts shuffled,label,feature,clustered] [--settings in-process,cluster] [--out DIR]

Prints per problem DINGO's rounds at a glance and a table per setting, then
the goals as PASS/FAIL lines; writes them to ``DIR/layouts.md`` and
``.csv`` (default DIR: ``benchmarks/results/``, git-ignored). ``--quick``:
small problems, a few minutes on 2 cores.

DINGO needs few rounds only when each shard looks like the whole data. The
same rows are fitted in four *layouts* (``shuffled``, ``label``, ``feature``,
``clustered``) of problem (a) softmax, 5 classes, n=200,000, d=40, with
intercept, and (b) binary n=300,000, d=50, no intercept; C=1 (``common/layout_problems.py``;
--quick: 20,000 x 20 and 30,000 x 20). Settings: ``in-process`` (NumPy input,
``n_shards`` = 2, 4 or 8 shards on threads) and ``cluster`` (a 2-worker
``LocalCluster``, 1 thread each; a Dask array of 2, 4 or 8 equal row chunks in
the layout's order, persisted there by ``common/solvers.ClusterData`` before any
timing; ``n_shards`` = the chunk count: chunks are shards, never merged).
Solvers: DINGO with ``rebalance`` "auto", True and False, and "plain" DINGO
(the paper's method on the shards as given: ``rebalance=False,
secant_memory=0``, what the package did before it rebalanced rows or corrected
directions) (``tol=1e-8``, ``max_iter=100``) in both settings; scikit-learn lbfgs (``tol=1e-10``)
in-process, once per problem and layout; dask-ml lbfgs (its defaults:
``tol=1e-4``, ``max_iter=100``, ``normalize=True``, the same objective on
standardised columns) on the cluster, binary problem only. All solvers of a
problem minimise scikit-learn's objective: (a) with an unpenalised intercept
(dask-ml does not run there), (b) without (dask-ml penalises an intercept).

How each column is measured
---------------------------
wall s
    ``time.perf_counter`` around ``fit`` (``common/runner.py``); median of
    ``reps`` runs: a fit is repeated (up to ``--repeats``, default 3, quick 1)
    only if its first run took less than ``--repeat-below`` seconds (15).
iters, stop
    ``n_iter_``, ``stop_reason_`` / ``converged_`` (DINGO); dask-ml: lbfgs's
    function evaluations (graph computes minus the one of ``normalize``).
rounds
    the paper's counting (a broadcast = 1, a reduce = 1): DINGO's
    ``n_communication_rounds_`` (a move of rows counts its own 2 rounds);
    dask-ml: 2 per graph compute + 1 per other blocking call (as in ``compare``).
round trips
    cluster rows: blocking client-cluster exchanges counted by
    ``common/measure.ClusterMeter`` (wrapping ``Client.sync``), the whole fit with
    its set-up. DINGO in-process: one per reduce, ``(rounds + 1) // 2``.
paper bytes, wire bytes
    DINGO's ``history_`` ``bytes_down + bytes_up``; cluster rows: measured,
    the client's TCP traffic with the scheduler plus worker-to-worker
    transfers (``transfer_incoming_log``: a move of rows shows here).
moved, moved/X
    DINGO's ``history_["bytes_moved"]`` (bytes of data rows moved to rebalance the
    shards: rows of X with their encoded targets and weights), and over
    ``X.nbytes``. In-process dense shards take every m-th row as views:
    nothing moves, the ``rows rebalanced`` column says so.
δ
    ``shard_disagreement_``: the spread of the shards' local Newton
    directions at the first iteration, relative to their mean.
rows rebalanced
    in-process: ``every m-th`` (the split of "auto"/True) or ``blocks``
    (False); cluster: whether ``rebalanced_``, and when (before the first
    iteration or after iteration k, from ``history_["bytes_moved"]``).
case 4
    iterations whose direction the secant pairs corrected (``history_["case"]``).
rel. gap, ‖g‖
    every fit judged by one function (``common/layout_problems.ObjectiveJudge``,
    built on ``common/measure.objective_gradient``): (f - f_best) / f_best, f_best the best
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

import contextlib
import dataclasses
import gc
import statistics
import time
import warnings

import numpy as np

from ..common.cli import listed, suite_parser
from ..common.layout_problems import (
    LAYOUTS,
    PROBLEM_KEYS,
    SIZES,
    VARIANTS,
    LayoutProblem,
    ObjectiveJudge,
    make_problem,
)
from ..common.problems import SEED
from ..common.report import Report, command_line, environment_text, fmt_bytes, log, write
from ..common.runner import Settings, fit_or_fail, local_cluster, quiet_process
from ..common.solvers import (
    SKLEARN_MAX_ITER,
    SKLEARN_TOL,
    ClusterData,
    DaskMLSolver,
    FitOutput,
    Solver,
    check_dask_glm_objective,
    dingo_output,
)
from ._layouts_report import CSV_COLUMNS, derive, goals, markdown_table, rounds_at_a_glance

NAME = "layouts"
DINGO_TOL = 1e-8
DINGO_MAX_ITER = 100
SETTINGS = ("in-process", "cluster")


def parse_args(argv=None):
    parser = suite_parser(NAME, __doc__, "small problems (a few minutes on 2 cores)")
    parser.add_argument("--problems", default=",".join(PROBLEM_KEYS), help="comma-separated subset of a,b")
    parser.add_argument("--shards", default="2,4,8", help="comma-separated shard (and chunk) counts")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated subset of {','.join(LAYOUTS)}")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated subset of in-process,cluster")
    parser.add_argument(
        "--variants", default=",".join(map(str, VARIANTS)),
        help="comma-separated subset of DINGO's variants: auto,True,False,plain",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per fit (default 3; quick: 1)")
    parser.add_argument("--repeat-below", type=float, default=15.0, help="repeat only fits faster than this (s)")
    args = parser.parse_args(argv)
    args.problems = listed(parser, args.problems, PROBLEM_KEYS, "--problems")
    args.layouts = listed(parser, args.layouts, LAYOUTS, "--layouts")
    args.settings = listed(parser, args.settings, SETTINGS, "--settings")
    args.shards = [int(s) for s in args.shards.split(",") if s.strip()]
    by_name = {str(v): v for v in VARIANTS}
    args.variants = [by_name[name] for name in listed(parser, args.variants, list(by_name), "--variants")]
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    return args


def command_text(args):
    """The command line that reproduces this run (every option that changes what is measured)."""
    return command_line(NAME, args.quick, [
        ("--problems", args.problems, list(PROBLEM_KEYS)),
        ("--shards", args.shards, [2, 4, 8]),
        ("--layouts", args.layouts, list(LAYOUTS)),
        ("--settings", args.settings, list(SETTINGS)),
        ("--variants", args.variants, list(VARIANTS)),
        ("--repeats", args.repeats, 1 if args.quick else 3),
        ("--repeat-below", args.repeat_below, 15.0),
    ])


# -- solvers ------------------------------------------------------------------------------
@dataclasses.dataclass
class LayoutFit(FitOutput):
    """What one fit returned, with DINGO's attributes about its shards."""

    intercept: np.ndarray = None
    converged: bool = None
    disagreement: float = None
    rebalanced: bool = None
    bytes_moved: int = None
    rebalanced_at: int = None  # history row at which rows had been moved (0: before the first iteration)
    case4: int = None

    @classmethod
    def of(cls, out, **extra):
        """A ``FitOutput`` with the extra fields given."""
        return cls(**{f.name: getattr(out, f.name) for f in dataclasses.fields(FitOutput)}, **extra)


class Dingo(Solver):
    """DINGO in one of ``VARIANTS`` with ``n_shards``, in-process or on the active client."""

    def __init__(self, where, variant, n_shards):
        super().__init__(f"dingo {variant}", where, "dingo")
        self.variant = variant
        self.rebalance = False if variant == "plain" else variant
        self.secant_memory = 0 if variant == "plain" else None  # None: the estimator's default
        self.n_shards = n_shards

    def fit(self, problem, data, size, callbacks=()):
        """``callbacks``: scikit-learn callbacks given to the estimator (the meter's iteration marks)."""
        from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression

        Est = DingoLogisticRegression if problem.binary else DingoSoftmaxRegression
        kwargs = dict(
            C=problem.C, fit_intercept=problem.fit_intercept, tol=DINGO_TOL, max_iter=DINGO_MAX_ITER,
            n_shards=self.n_shards, rebalance=self.rebalance,
        )
        if self.secant_memory is not None:
            kwargs["secant_memory"] = self.secant_memory
        if self.where == "cluster":
            kwargs["backend"] = "dask"
            X, y = data.X_dingo, data.y_labels
        else:
            X, y = problem.X, problem.y
        model = Est(**kwargs)
        if callbacks:
            model.set_callbacks(*callbacks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence is reported from converged_, not hidden
            model.fit(X, y)
        out = dingo_output(model)
        moved = np.flatnonzero(out.history["bytes_moved"] > 0)
        return LayoutFit.of(
            out, intercept=model.intercept_, converged=bool(model.converged_),
            disagreement=float(model.shard_disagreement_), rebalanced=bool(model.rebalanced_),
            bytes_moved=int(out.history["bytes_moved"][-1]), rebalanced_at=int(moved[0]) if moved.size else None,
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
    """``common/solvers``' dask-ml lbfgs (its defaults), its output as a :class:`LayoutFit`."""

    def __init__(self):
        super().__init__("lbfgs")

    def fit(self, problem, data, size):
        return LayoutFit.of(super().fit(problem, data, size))


# -- measuring -------------------------------------------------------------------------------
def measure(solver, problem, data, settings, judge, shards):
    """Fit ``solver`` on ``problem`` (rows in its layout) and return the row of the tables.

    The first run is metered (cluster: round trips and bytes, ``common/runner.py``);
    short fits are run again for the median wall time. A failure becomes a row
    that says why.
    """
    row = dict(
        problem=problem.key, layout=problem.layout, setting=solver.where, shards=shards, solver=solver.name,
        family=solver.family, variant=getattr(solver, "variant", None), rebalance=getattr(solver, "rebalance", None),
        fit_intercept=problem.fit_intercept, X_nbytes=problem.nbytes, status="ok", reason="",
    )
    fitted = fit_or_fail(
        solver, problem, data, settings, row,
        f"{row['setting']:<10} {row['layout']:<9} {shards!s:>4} {solver.name:<14}",
    )
    if fitted is None:
        return row
    out, info, runs = fitted
    walls = [wall for wall, _ in runs]
    objective, grad_norm = judge(out.coef, out.intercept)
    row.update(
        reps=len(walls), wall=statistics.median(walls), wall_runs=walls, n_iter=out.n_iter, stop=out.stop,
        converged=out.converged, objective=objective, grad_norm=grad_norm,
    )
    if solver.family == "dingo":
        _dingo_columns(row, solver, out, problem)
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


def _dingo_columns(row, solver, out, problem):
    """Rounds, bytes and what DINGO did about its shards."""
    row.update(
        rounds=out.rounds, paper_bytes=out.paper_bytes, bytes_moved=out.bytes_moved,
        moved_over_X=out.bytes_moved / problem.nbytes, disagreement=out.disagreement,
        rebalanced=out.rebalanced, rebalanced_at=out.rebalanced_at, case4=out.case4,
    )
    if solver.where == "in-process":
        row["round_trips"] = (out.rounds + 1) // 2
        row["rows_rebalanced"] = "blocks" if solver.rebalance is False else "every m-th"
    elif out.rebalanced and out.rebalanced_at is None:
        row["rows_rebalanced"] = "yes, no row moved"  # every row already on its shard's worker
    elif out.rebalanced:
        row["rows_rebalanced"] = "moved at start" if out.rebalanced_at == 0 else f"moved after it {out.rebalanced_at}"
    else:
        row["rows_rebalanced"] = "no"


def warm_up(client):
    """One tiny fit of each cluster solver (imports on the workers), not timed."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((400, 8))
    y = (X[:, 0] + rng.standard_normal(400) > 0).astype(np.int64)
    problem = LayoutProblem("warm-up", "warm-up", "", X, y, 1.0)
    data = ClusterData(client, problem, n_chunks=2)
    for solver in (Dingo("cluster", True, 2), DaskMLLbfgs()):
        try:
            solver.fit(problem, data, "quick")
        except Exception:  # noqa: BLE001 - failures are reported by the real runs
            pass
    data.release()


def run_problem(key, args, settings, client, report):
    """Every row of one problem: every layout, setting, shard count and solver."""
    t0 = time.perf_counter()
    problem = make_problem(key, "quick" if args.quick else "default")
    judge = ObjectiveJudge(problem)
    log(f"problem {key} ({problem.description}: {problem.shape_text()}; generated in {time.perf_counter() - t0:.1f} s)")
    mismatch = check_dask_glm_objective(problem)
    if mismatch is not None and "cluster" in args.settings:
        report.checks.append(
            f"problem {key}: dask-glm's objective (lamduh = 1/C, its own functions) = n x this benchmark's "
            f"objective to a relative {mismatch:.1e}."
        )
    rows = []
    for layout in args.layouts:
        laid = problem.in_layout(layout)
        rows.append(measure(SklearnLbfgs(), laid, None, settings, judge, shards=None))
        if "in-process" in args.settings:
            for shards in args.shards:
                rows += [measure(Dingo("in-process", v, shards), laid, None, settings, judge, shards)
                         for v in args.variants]
        if "cluster" in args.settings:
            for shards in args.shards:
                data = ClusterData(client, laid, n_chunks=shards)
                rows += [measure(Dingo("cluster", v, shards), laid, data, settings, judge, shards)
                         for v in args.variants]
                if problem.binary:
                    rows.append(measure(DaskMLLbfgs(), laid, data, settings, judge, shards))
                data.release()
                del data
        del laid
        gc.collect()
    return problem, rows


def notes(args):
    sizes = "; ".join(f"{k}: {n:,} x {d}" for k, (n, d) in SIZES["quick" if args.quick else "default"].items())
    return [
        f"Problems (n x d): {sizes}; scikit-learn's `LogisticRegression` objective, C=1. Problem a (softmax): "
        "`fit_intercept=True` for DINGO and scikit-learn (unpenalised; dask-ml is binary only). Problem b (binary): "
        "`fit_intercept=False` for every solver (dask-ml penalises an intercept). One independent function judges "
        "every fit of a problem.",
        f"DINGO: tol={DINGO_TOL:g}, max_iter={DINGO_MAX_ITER}, `n_shards` = the shard count (cluster: = the chunk "
        "count). In-process dense data, rebalance \"auto\" and True both take every m-th row at the split (views, "
        "nothing moves): the same fit twice; False takes contiguous blocks of the layout. scikit-learn lbfgs: "
        "tol=1e-10; dask-ml lbfgs: its defaults (tol=1e-4, max_iter=100).",
        "×shuffled: over DINGO rebalance=\"auto\" on the shuffled layout, same setting and shards; trips ×dask-ml: "
        "over dask-ml lbfgs's, same layout and shards. Round trips: measured on the cluster, (rounds + 1) // 2 "
        "in-process. Rounds at a glance: DINGO's with rebalance auto / True / False, then plain DINGO (the "
        "paper's method on the shards as given, the package before this change) († = not converged).",
    ]


def main(argv=None):
    args = parse_args(argv)
    quiet_process()
    report = Report(
        NAME, f"sklearn-dingo on heterogeneous shards ({'quick' if args.quick else 'default'} size)",
        command_text(args), intro=["Columns: `python -m benchmarks layouts --help`."], notes=notes(args),
        columns=CSV_COLUMNS,
    )
    # "uncapped": common/solvers caps dask-ml's iterations at size "quick": not here, its trips are compared
    settings = Settings(size="uncapped", repeats=args.repeats, repeat_below=args.repeat_below)
    with contextlib.ExitStack() as stack:
        client = None
        if "cluster" in args.settings:
            log("starting a LocalCluster: 2 workers x 1 thread")
            client, settings.meter = stack.enter_context(local_cluster(2))
            warm_up(client)
        report.environment = environment_text(client)
        for key in args.problems:
            problem, problem_rows = run_problem(key, args, settings, client, report)
            report.rows += problem_rows
            f_best = derive(report.rows)[key] if any(r["status"] == "ok" for r in problem_rows) else None
            title = (f"## Problem {key}: {problem.description} ({problem.shape_text()}, C={problem.C:g}, "
                     f"X {fmt_bytes(problem.nbytes)})")
            report.sections.append((title, f"Best objective reached: {f_best!r}.\n\n### Rounds at a glance\n\n"
                                    + rounds_at_a_glance(problem_rows, args)))
            for setting in SETTINGS:  # scikit-learn's rows are in-process whatever --settings says
                chosen = [r for r in problem_rows if r["setting"] == setting]
                if chosen:
                    report.sections.append((f"### Problem {key}, {setting}", markdown_table(chosen, setting)))
            del problem
            gc.collect()
    report.goals = goals(report.rows, args)
    write(report, args.out)
    return 0
