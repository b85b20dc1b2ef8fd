"""Every solver on seven problems, one run, the same data and cluster: sklearn-dingo against its peers.

Usage::

    python -m benchmarks compare [--quick] [--problems 1,2,...] [--solvers ...] [--out DIR]

Prints one table per problem, each followed by its float32 vs float64 block
and its honest clock, and the targets (PASS/FAIL), and writes them to
``DIR/compare.md`` and ``DIR/compare.csv`` (default DIR:
``benchmarks/results/``, git-ignored).
``--quick`` runs tiny versions of the problems (CI: a minute or two on 2 cores).

Problems (``common/problems.py``, fixed seeds): (1) binary dense n=200,000, d=200,
standardised; (2) the same with column scales spread over three decades;
(3) binary dense wide n=20,000, d=2,000; (4) softmax n=60,000, d=784,
10 classes; (5) binary sparse CSR n=100,000, d=50,000, density 1e-3, all at
C=10; (6) softmax n=100,000, d=300, 20 classes, standardised (the data of
``python -m benchmarks study pass-price``); (7) binary sparse CSR n=200,000,
d=100,000, 40 standard-normal entries per row, labels from a sparse
coefficient vector; both at C=1. All with ``fit_intercept=False``.
``--problems 1,2,3,4,5``: the first five alone, their data and rows as
before 6 and 7 came (the honest clock's rows added). Each also in float32
(``Problem.X_float32``; CSR: float32 data, the same indices), made once per
problem before any fit and only if a float32 solver runs.

Solvers (``common/solvers.py``): this package in-process and on a 2-worker
``LocalCluster`` (1 thread each), scikit-learn lbfgs and newton-cholesky
(``tol=1e-10``), the honest clock's scikit-learn fits at ``tol=1e-6`` (lbfgs;
newton-cholesky on the dense binary problems, newton-cg on the softmax and
sparse ones, where newton-cholesky is impractical at the default size),
dask-ml lbfgs (default ``normalize=True``, and ``normalize=False``) and
newton on the same cluster, SciPy's L-BFGS-B over the same persisted Dask
arrays (``scipy lbfgs (dask)``, ``common/dask_lbfgs.py``: one Dask reduction
per objective-and-gradient evaluation, scikit-learn's lbfgs tolerances; the
softmax peer dask-ml lacks; its iters are L-BFGS-B iterations, its X reads
2 per evaluation, reported by its block tasks to the package's hook); and in float32, with the settings of their
float64 rows (``tol=1e-10``): ``dingo float32`` and ``sklearn lbfgs float32``
in-process, ``dingo float32 (dask)`` on the cluster. Data on the cluster are
persisted there once per problem (one row chunk per worker) before any
cluster solver runs; a float32 copy of X too (each chunk converted on its
worker) if a float32 cluster solver runs. A float32 dingo fit stops when ‖g‖
reaches ``tol`` or stalls at float32's resolution (its stop column says
which): the rows show where float32 ends the fit, judged on the float64 data.

How each column is measured
---------------------------
wall s
    ``time.perf_counter`` around ``fit``; median of ``reps`` runs. A fit is
    repeated (up to ``--repeats``, default 3) only if its first run took less
    than ``--repeat-below`` seconds (default 15): long fits are timed once,
    in the first run, which also samples the RSS every 2 ms and counts the
    passes over X (in one full run, dingo's first runs were 1.2-1.8x slower
    than its next ones, scikit-learn's about as fast: long fits, all of them
    other solvers' at the default size, may be timed pessimistically).
× pass
    wall / (seconds of one pass over the data: ``X.T @ v`` in this process
    with all cores, fastest of 7) - the floor of any solver that reads X.
    float32 rows: over a pass over the float32 X (v in float32).
stop, iters
    The solver's own stop reason and iteration count (dask-ml: function
    evaluations of lbfgs / Newton iterations, from its graph computes).
round trips
    cluster rows: blocking client-cluster exchanges, counted by wrapping
    ``Client.sync`` (every ``dask.compute``/``Client.get``, ``gather``,
    ``scatter``, ``wait``, ``who_has``...). dingo in-process: one per reduce
    of the paper's counting ((rounds + 1) / 2). scikit-learn: none.
rounds
    the paper's counting (a broadcast = 1, a reduce = 1): dingo from
    ``n_communication_rounds_``; dask-ml: 2 per graph compute (graph out,
    results back) + 1 per other blocking call (e.g. the scatter of beta).
bytes
    dingo in-process: ``history_`` bytes_down + bytes_up (paper counting).
    cluster rows: measured on the wire - bytes written to and read from the
    client's TCP connections to the scheduler (wrapping
    ``distributed.comm.tcp``: graphs, scattered data, results, heartbeats) plus
    worker-to-worker transfers from the workers' ``transfer_incoming_log``.
    (The CSV also has dingo's paper-counted bytes on the cluster.)
X reads
    passes over the data, as rows of X read / n (``common/counting.py``):
    sklearn_dingo through its documented hook
    (``sklearn_dingo._objectives.pass_counter``, every product with X
    reporting its rows, row block by row block where a product reads X in
    blocks; on the workers too, started there with ``client.run``);
    scikit-learn by wrapping its private products with X
    (``LinearModelLoss``, ``sandwich_dot``) for the fit, with a check that
    fails loudly if they are gone or unused; dask-ml: from its source, 2 per
    lbfgs evaluation, 4 per Newton iteration, 1 for ``normalize``.
peak mem/X
    in-process fits: peak growth of this process's RSS during the (first)
    fit, sampled every 2 ms by a thread after ``malloc_trim``, over the
    bytes of the X the row fitted (CSR: data + indices + indptr; float32
    rows: of the float32 X; the CSV's ``X_nbytes``).
rel. gap, ‖g‖
    every solver's final coefficients evaluated by one independent function
    (``common/measure.objective_gradient``: mean log-loss + ||coef||^2 / (2 C n)):
    (f - f_best) / f_best with f_best the best value any solver reached, and
    the 2-norm of the gradient. float32 rows too: their float32 coefficients
    cast to float64 and evaluated on the float64 X.
slow-net s
    modelled: wall + round trips x 50 ms + bytes / (50 Mbit/s). Checked
    against a real cluster behind an emulated 50 ms, 50 Mbit/s link by
    ``python -m benchmarks slow-link``: dingo's measured time is within 15 % of
    this model (each of its blocking waits is one link round trip);
    dask-ml's is 2.2-2.5x its model's (its blocking calls hide chains of
    tasks, each another round trip), so the model favours dask-ml.
×dingo
    this row's wall / round trips / bytes over those of the dingo fit in the
    same setting (in-process rows: dingo in-process; cluster: dingo (dask));
    float32 rows too are over the float64 dingo fit.
dingo to this f
    seconds / round trips / rounds the dingo fit of the same setting had
    spent when it first reached this row's final objective (history row with
    loss <= f (1 + 1e-12); time = history time + the fit's set-up, both from
    the run with the median wall time, so timed like the wall column). On the
    cluster, round trips and client bytes at each iteration are read off the
    meter by a scikit-learn callback of the fit, at the start of each of its
    iterations (``common/measure.IterationMarks``). For the (float64) dingo
    rows themselves: to the optimum (gap <= 1e-8).

Honest clock
------------
Below each table, after the float32 block: the scikit-learn fits at
``tol=1e-6`` (added runs, rows ``sklearn ... tol=1e-6`` of the table, timed
like every row; the ``tol=1e-10`` rows stay as they were), near
scikit-learn's default ``tol=1e-4``, the way it is mostly used. The fastest
of them that converged (a capped fit is no reference) is the reference; its
final objective is f_ref. For every dingo row, in-process and on the
cluster, float32 too: the seconds it first reached f <= f_ref (1 + 1e-12)
(its ``history_`` columns ``loss`` and ``time``, timed as "dingo to this f";
"never reached" if it did not; a float32 row's history loss is on the
float32 X, so its losses are shifted by their offset at the fit's end, last
loss minus the final coefficients' objective on the float64 X: an estimate,
marked ‡), that time over the reference's wall seconds (cluster rows too
against the in-process reference), its wall seconds to its own stop
(``tol=1e-10``, or float32's resolution), and its X reads for the whole fit.
Its target, on every problem: in-process dingo's ratio <= 0.5.

float32 vs float64
------------------
Below each table, pairs of rows of that run, each line "first / second":
dingo float32 / dingo (wall ratio; peak mem/X and rel. gap of each), dingo
float32 / sklearn lbfgs float32 (wall ratio; rel. gap of each) and, when both
ran, dingo float32 (dask) / dingo (dask) (wall ratio).

Targets include the honest clock's (above; the target "to the optimum"
still compares with the ``tol=1e-10`` rows only) and the float32 memory
rule: a dingo float32 fit PASSes when its peak mem/X <= 1.1 or (peak - 1.1
X.nbytes) / n <= 8 (3 + 8 K) bytes per row (K = n_classes: an allowance for
the fit's O(n) working arrays, in float64: margins, directions, line-search
trials), X being the float32 X. The detail also gives (peak - X.nbytes) / n.
"""

import gc
import time

import numpy as np
import scipy.sparse as sp

from ..common.cli import suite_parser
from ..common.measure import objective_gradient, time_one_pass
from ..common.problems import Problem, make_problem
from ..common.report import Report, command_line, environment_text, log, write
from ..common.runner import Settings, fit_or_fail, local_cluster, quiet_process
from ..common.solvers import (
    DEFAULT_CAPS,
    QUICK_DASK_ML_MAX_ITER,
    ClusterData,
    NotApplicable,
    all_solvers,
    check_dask_glm_objective,
)
from ._compare_report import (
    CSV_COLUMNS,
    clock_lines,
    csv_rows,
    derive,
    float32_comparison,
    markdown_table,
    targets,
)

NAME = "compare"
ALL_PROBLEMS = [1, 2, 3, 4, 5, 6, 7]


def parse_args(argv=None):
    parser = suite_parser(NAME, __doc__, "tiny problems (CI)")
    parser.add_argument(
        "--problems", default=",".join(map(str, ALL_PROBLEMS)), help="comma-separated subset of 1-7"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per fit (default 3; quick: 1)")
    parser.add_argument(
        "--repeat-below", type=float, default=15.0, help="repeat only fits faster than this (seconds)"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers of the LocalCluster (1 thread each)")
    parser.add_argument(
        "--solvers",
        default=None,
        help="comma-separated solver names or prefixes to run (default: all), e.g. 'dingo,sklearn lbfgs'",
    )
    args = parser.parse_args(argv)
    args.problems = [int(p) for p in args.problems.split(",") if p.strip()]
    args.solvers = None if args.solvers is None else [s.strip() for s in args.solvers.split(",") if s.strip()]
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    return args


def command_text(args):
    """The command line that reproduces this run (every option that changes what is measured)."""
    return command_line(NAME, args.quick, [
        ("--problems", args.problems, ALL_PROBLEMS),
        ("--solvers", f"'{','.join(args.solvers)}'" if args.solvers else None, None),
        ("--repeats", args.repeats, 1 if args.quick else 3),
        ("--repeat-below", args.repeat_below, 15.0),
        ("--workers", args.workers, 2),
    ])


def measure(solver, problem, data, settings):
    """Fit ``solver`` on ``problem`` (timed, metered) and return its row of the table."""
    row = dict(
        problem=problem.key,
        problem_name=problem.name,
        shape=problem.shape_text(),
        C=problem.C,
        solver=solver.name,
        where=solver.where,
        family=solver.family,
        dtype=solver.dtype,
        tol=getattr(solver, "tol", None),  # scikit-learn rows: the honest clock's fits are at CLOCK_TOL
        X_nbytes=problem.nbytes_float32 if solver.float32 else problem.nbytes,
        status="ok",
        reason="",
    )
    try:
        solver.check(problem, settings.size)
    except NotApplicable as exc:
        row.update(status="n/a", reason=str(exc))
        log(f"  {solver.name:<32} n/a: {exc}")
        return row
    fitted = fit_or_fail(solver, problem, data, settings, row, f"{solver.name:<32}")
    if fitted is None:
        return row
    out, info, runs = fitted
    f, G = objective_gradient(problem.X, problem.y, out.coef, problem.C, problem.n_classes)
    walls = [wall for wall, _ in runs]
    # the timeline of the run with the median wall time, as the wall column
    median_wall, median_history = sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]
    row.update(
        reps=len(walls),
        wall=float(np.median(walls)),
        wall_of_history=median_wall,
        wall_runs=walls,
        stop=out.stop,
        capped=out.capped,
        n_iter=out.n_iter,
        note=out.note,
        history=median_history,
        objective=f,
        grad_norm=float((G * G).sum() ** 0.5),
        peak_mem_bytes=info.get("peak_mem_bytes"),
        passes=info["rows_read"] / problem.n_samples,
        iteration_marks=info.get("iteration_marks"),
    )
    _communication_columns(row, solver, out, info)
    log(
        f"  {solver.name:<32} {row['wall']:8.2f} s  reps {len(walls)}  f={f:.12g}  |g|={row['grad_norm']:.2e}  "
        f"{out.stop}"
    )
    return row


def _communication_columns(row, solver, out, info):
    """Rounds, round trips and bytes: DINGO's own counts in-process, the meter's on the cluster."""
    if solver.family == "dingo":
        row["rounds"] = out.rounds
        row["paper_bytes"] = out.paper_bytes
    if solver.where == "in-process":
        if solver.family == "dingo":
            row["round_trips"] = (out.rounds + 1) // 2
            row["bytes"] = out.paper_bytes
        return
    for key in ("round_trips", "computes", "bytes_sent", "bytes_received", "worker_bytes"):
        row[key] = info[key]
    row["bytes"] = info["bytes_sent"] + info["bytes_received"] + info["worker_bytes"]
    if solver.family in ("dask-ml", "scipy"):
        row["rounds"] = info["round_trips"] + info["computes"]
    if solver.family == "dask-ml":
        passes, evaluations = solver.passes_per_compute(info["computes"])
        row["passes"] = passes
        row["n_iter"] = evaluations


def selected_solvers(args):
    solvers = all_solvers()
    if args.solvers:
        solvers = [s for s in solvers if any(s.name == t or s.name.startswith(t) for t in args.solvers)]
    return solvers


def warm_up(client, n_workers):
    """One tiny fit of every cluster solver: imports and JIT on the workers, not timed."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8))
    y = (X[:, 0] + rng.standard_normal(400) > 0).astype(np.int64)
    Xs = sp.random(400, 50, density=0.1, format="csr", random_state=0)
    ys = (np.asarray(Xs.sum(axis=1)).ravel() > np.median(Xs.sum(axis=1))).astype(np.int64)
    for problem in (Problem(0, "warm-up", "", X, y, 1.0), Problem(0, "warm-up", "", Xs, ys, 1.0)):
        data = ClusterData(client, problem, n_chunks=n_workers, float32=True)
        for solver in all_solvers():
            if solver.where != "cluster":
                continue
            try:
                solver.check(problem, "quick")
                solver.fit(problem, data, "quick")
            except Exception:  # noqa: BLE001 - failures are reported by the real runs
                pass
        data.release()


def notes(size):
    found = [
        "All solvers: scikit-learn's objective, `fit_intercept=False`, C=10 (problems 6 and 7: C=1); dingo "
        "`tol=1e-10`, scikit-learn `tol=1e-10` (the honest clock's rows: `tol=1e-6`), dask-ml its defaults "
        "(`tol=1e-4`, `max_iter=100`).",
        "float32 rows: the same fits on X rounded to float32 (made once per problem, outside the timings), "
        "judged on the float64 X; their peak mem/X is over the float32 X's bytes. A float32 dingo fit also "
        "stops where ‖g‖ stalls at float32's resolution.",
        "dask-ml passes `lamduh = 1/C` to dask-glm, whose objective is the sum of log-losses + "
        "`lamduh ||beta||^2 / 2` = n x scikit-learn's: the same C (checked below). But its default "
        "`normalize=True` penalises the coefficients of the standardised features (a different objective "
        "on unscaled data), its `newton` drops the penalty altogether (unpenalised: the C = inf solution), "
        "and it is binary only.",
        "Cluster data: one row chunk per worker, re-created by a task on its worker and persisted before "
        "the cluster solvers run (chunks sent from the client are misaligned views of network frames, on "
        "which BLAS runs 5-10x slower). dask-ml gets pydata-sparse COO chunks for the sparse problem (its "
        "products fail on SciPy chunks).",
    ]
    if size == "default":
        found.append(
            "Capped at this size (time budget; rows say \"capped\"): "
            + "; ".join(f"{solver} on problem {key}: max_iter={cap}" for (solver, key), cap in DEFAULT_CAPS.items())
            + "."
        )
    else:
        found.append(f"--quick: dask-ml runs with max_iter={QUICK_DASK_ML_MAX_ITER}; timings include first-call costs.")
    return found


INTRO = (
    "Columns are explained in `benchmarks/suites/compare.py`'s docstring (`python -m benchmarks compare --help`); "
    "in short: wall s = median of `reps` runs (long fits timed once); round trips = measured blocking "
    "client-cluster calls (dingo in-process: reduces of the paper's counting); rounds = paper counting; "
    "bytes = measured on the wire for cluster rows, paper counting for dingo in-process; rel. gap = "
    "(f - f_best) / f_best with one objective function for all; slow-net s = wall + round trips x 50 ms + "
    "bytes / (50 Mbit/s), a model, checked against a cluster behind an emulated link by "
    "`python -m benchmarks slow-link` (it holds for dingo; dask-ml's measured times are over twice its "
    "model's: the model favours dask-ml); dingo to this f = seconds / round trips / rounds the dingo fit of the "
    "same setting needed to reach this row's objective; honest clock = each dingo fit's seconds to the objective "
    "of the fastest scikit-learn fit at tol=1e-6, over that fit's seconds."
)


def run_problem(key, report, settings, client, solvers, n_workers):
    """Every solver on problem ``key``: its section, rows and targets added to ``report``."""
    t0 = time.perf_counter()
    problem = make_problem(key, settings.size)
    n_outputs = 1 if problem.binary else problem.n_classes
    pass_time = time_one_pass(problem.X, n_outputs)
    pass_time_float32 = None
    if any(s.float32 for s in solvers):  # made here, once: no fit's timing or memory includes the conversion
        pass_time_float32 = time_one_pass(problem.X_float32, n_outputs)
    log(
        f"problem {key} ({problem.name}: {problem.shape_text()}, X {problem.nbytes / 1e6:.0f} MB, "
        f"one pass {pass_time * 1e3:.1f} ms; generated in {time.perf_counter() - t0:.1f} s)"
    )
    mismatch = check_dask_glm_objective(problem)
    if mismatch is not None:
        report.checks.append(
            f"problem {key}: dask-glm's objective (sum of log-losses + lamduh ||beta||^2/2, lamduh = 1/C, "
            f"its own functions) = n x this benchmark's objective to a relative {mismatch:.1e}."
        )
    float32_on_cluster = any(s.float32 and s.where == "cluster" for s in solvers)
    data = ClusterData(client, problem, n_chunks=n_workers, float32=float32_on_cluster)
    rows = [measure(solver, problem, data, settings) for solver in solvers]
    data.release()
    f_best = derive(rows, problem, pass_time, pass_time_float32)
    report.goals += targets(problem, rows)
    report.rows += csv_rows(rows)
    float32_text = "" if pass_time_float32 is None else f" (float32: {pass_time_float32 * 1e3:.2f} ms)"
    header = (
        f"## Problem {key}: {problem.description} ({problem.shape_text()}, C={problem.C:g}, "
        f"X {problem.nbytes / 1e6:.0f} MB)"
    )
    body = (
        f"One pass over X: {pass_time * 1e3:.2f} ms{float32_text}. Best objective reached: {f_best!r}.\n\n"
        + "\n".join([markdown_table(rows), "", *float32_comparison(rows), "", *clock_lines(rows)])
    )
    report.sections.append((header, body))


def main(argv=None):
    args = parse_args(argv)
    quiet_process()
    size = "quick" if args.quick else "default"
    report = Report(
        NAME, f"sklearn-dingo against its peers ({size} size)", command_text(args),
        intro=[INTRO], notes=notes(size), columns=CSV_COLUMNS,
    )
    settings = Settings(size=size, repeats=args.repeats, repeat_below=args.repeat_below)
    solvers = selected_solvers(args)
    log(f"starting a LocalCluster: {args.workers} workers x 1 thread")
    with local_cluster(args.workers) as (client, meter):
        log(f"cluster up: {client.scheduler.address}")
        settings.meter = meter
        if not args.quick:  # --quick is a smoke test: its timings include first-call costs
            log("warming up the workers (one tiny fit of every cluster solver)")
            warm_up(client, args.workers)
        report.environment = environment_text(client)
        for key in args.problems:
            run_problem(key, report, settings, client, solvers, args.workers)
            gc.collect()
    write(report, args.out)
    return 0
