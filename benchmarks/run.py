#!/usr/bin/env python
"""Benchmark suite of sklearn-dingo: every solver, one run, the same data and cluster.

Usage::

    python benchmarks/run.py [--quick] [--problems 1,2,...] [--out DIR]

Prints one table per problem, each followed by its float32 vs float64 block,
and a block of targets (PASS/FAIL), and writes
them to ``DIR/results.md`` and ``DIR/results.csv`` (default DIR:
``benchmarks/results/``, git-ignored). ``--quick`` runs tiny versions of the
problems (CI: well under a minute on 2 cores).

Problems (``_problems.py``, fixed seeds): (1) binary dense n=200,000, d=200,
standardised; (2) the same with column scales spread over three decades;
(3) binary dense wide n=20,000, d=2,000; (4) softmax n=60,000, d=784,
10 classes; (5) binary sparse CSR n=100,000, d=50,000, density 1e-3. All at
C=10, ``fit_intercept=False``. Each also in float32 (``Problem.X_float32``;
CSR: float32 data, the same indices), made once per problem before any fit
and only if a float32 solver runs.

Solvers (``_solvers.py``): this package in-process and on a 2-worker
``LocalCluster`` (1 thread each), scikit-learn lbfgs and newton-cholesky,
dask-ml lbfgs (default ``normalize=True``, and ``normalize=False``) and
newton on the same cluster; and in float32, with the settings of their
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
    passes over the data, as rows of X read / n: counted by wrapping the
    products with X of scikit-learn (``LinearModelLoss``, ``sandwich_dot``) and
    sklearn_dingo (``LinearObjective.margins``/``_transpose_product``/
    ``_weighted_gram``, row block by row block where a product reads X in
    blocks; on the workers too, via ``client.run``); dask-ml: from
    its source, 2 per lbfgs evaluation, 4 per Newton iteration, 1 for
    ``normalize``.
peak mem/X
    in-process fits: peak growth of this process's RSS during the (first)
    fit, sampled every 2 ms by a thread after ``malloc_trim``, over the
    bytes of the X the row fitted (CSR: data + indices + indptr; float32
    rows: of the float32 X; the CSV's ``X_nbytes``).
rel. gap, ‖g‖
    every solver's final coefficients evaluated by one independent function
    (``_measure.objective_gradient``: mean log-loss + ||coef||^2 / (2 C n)):
    (f - f_best) / f_best with f_best the best value any solver reached, and
    the 2-norm of the gradient. float32 rows too: their float32 coefficients
    cast to float64 and evaluated on the float64 X.
slow-net s
    modelled: wall + round trips x 50 ms + bytes / (50 Mbit/s). Checked
    against a real cluster behind an emulated 50 ms, 50 Mbit/s link by
    ``benchmarks/slow_link.py``: dingo's measured time is within 15 % of
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
    meter when dingo's verbose line of that iteration is printed. For the
    (float64) dingo rows themselves: to the optimum (gap <= 1e-8).

float32 vs float64
------------------
Below each table, pairs of rows of that run, each line "first / second":
dingo float32 / dingo (wall ratio; peak mem/X and rel. gap of each), dingo
float32 / sklearn lbfgs float32 (wall ratio; rel. gap of each) and, when both
ran, dingo float32 (dask) / dingo (dask) (wall ratio).

Targets include the float32 memory rule: a dingo float32 fit PASSes when its
peak mem/X <= 1.1 or (peak - 1.1 X.nbytes) / n <= 8 (3 + 8 K) bytes per row
(K = n_classes: an allowance for the fit's O(n) working arrays, in float64:
margins, directions, line-search trials), X being the float32 X. The detail
also gives (peak - X.nbytes) / n.
"""

import argparse
import contextlib
import gc
import io
import logging
import os
import platform
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny problems (CI)")
    parser.add_argument("--problems", default="1,2,3,4,5", help="comma-separated subset of 1-5")
    parser.add_argument("--out", default=str(HERE / "results"), help="output directory")
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


_T0 = time.perf_counter()


def log(message):
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


class IterationMarks(io.TextIOBase):
    """A stdout sink for dingo's verbose lines: notes the meter at each line."""

    def __init__(self, meter):
        self.meter = meter
        self.marks = []
        self._buffer = ""

    def writable(self):
        return True

    def write(self, text):
        self._buffer += text
        while "\n" in self._buffer:
            _, self._buffer = self._buffer.split("\n", 1)
            self.marks.append((self.meter.round_trips, self.meter.bytes_sent + self.meter.bytes_received))
        return len(text)


class Context:
    def __init__(self, args, client, meter):
        self.size = "quick" if args.quick else "default"
        self.repeats = args.repeats
        self.repeat_below = args.repeat_below
        self.client = client
        self.meter = meter


def run_once(solver, problem, data, ctx, instrument):
    from _measure import PassCounter, PeakRSS

    info = {}
    gc.collect()
    if solver.where == "in-process":
        PassCounter.read_and_reset()
        memory = PeakRSS() if instrument else contextlib.nullcontext()
        with memory:
            t0 = time.perf_counter()
            out = solver.fit(problem, data, ctx.size)
            info["wall"] = time.perf_counter() - t0
        info["rows_read"] = PassCounter.read_and_reset()
        if instrument:
            info["peak_mem_bytes"] = memory.peak_delta
        return out, info
    meter = ctx.meter
    if instrument:
        meter.passes()  # reset the workers' pass counters
        before = meter.snapshot()
    sink = IterationMarks(meter) if solver.family == "dingo" else None
    solver.verbose = 1 if sink is not None else 0
    with contextlib.redirect_stdout(sink) if sink is not None else contextlib.nullcontext():
        t0 = time.perf_counter()
        out = solver.fit(problem, data, ctx.size)
        info["wall"] = time.perf_counter() - t0
    if instrument:
        after = meter.snapshot()
        info.update(meter.delta(before, after))
        info["rows_read"] = meter.passes()
        if sink is not None:
            info["iteration_marks"] = [
                (trips - before["round_trips"], nbytes - before["bytes_sent"] - before["bytes_received"])
                for trips, nbytes in sink.marks
            ]
    return out, info


def measure(solver, problem, data, ctx):
    from _measure import objective_gradient
    from _solvers import NotApplicable

    row = dict(
        problem=problem.key,
        problem_name=problem.name,
        shape=problem.shape_text(),
        C=problem.C,
        solver=solver.name,
        where=solver.where,
        family=solver.family,
        dtype=solver.dtype,
        X_nbytes=problem.nbytes_float32 if solver.float32 else problem.nbytes,
        status="ok",
        reason="",
    )
    try:
        solver.check(problem, ctx.size)
    except NotApplicable as exc:
        row.update(status="n/a", reason=str(exc))
        log(f"  {solver.name:<32} n/a: {exc}")
        return row
    runs = []  # (wall, history) of every run
    try:
        out, info = run_once(solver, problem, data, ctx, instrument=True)
        runs.append((info["wall"], out.history))
        while len(runs) < ctx.repeats and runs[0][0] < ctx.repeat_below:
            again_out, again = run_once(solver, problem, data, ctx, instrument=False)
            runs.append((again["wall"], again_out.history))
    except Exception as exc:  # noqa: BLE001 - report, never drop
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc(file=sys.stderr)
        row.update(status="failed", reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")
        log(f"  {solver.name:<32} FAILED: {row['reason']}")
        return row
    f, G = objective_gradient(problem.X, problem.y, out.coef, problem.C, problem.n_classes)
    walls = [wall for wall, _ in runs]
    # the timeline of the run with the median wall time, as the wall column
    median_wall, median_history = sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]
    row.update(
        reps=len(walls),
        wall=statistics.median(walls),
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
    if solver.family == "dingo":
        row["rounds"] = out.rounds
        row["paper_bytes"] = out.paper_bytes
    if solver.where == "in-process":
        if solver.family == "dingo":
            row["round_trips"] = (out.rounds + 1) // 2
            row["bytes"] = out.paper_bytes
    else:
        for key in ("round_trips", "computes", "bytes_sent", "bytes_received", "worker_bytes"):
            row[key] = info[key]
        row["bytes"] = info["bytes_sent"] + info["bytes_received"] + info["worker_bytes"]
        if solver.family == "dask-ml":
            row["rounds"] = info["round_trips"] + info["computes"]
            passes, evaluations = solver.passes_per_compute(info["computes"])
            row["passes"] = passes
            row["n_iter"] = evaluations
    log(
        f"  {solver.name:<32} {row['wall']:8.2f} s  reps {len(walls)}  f={f:.12g}  |g|={row['grad_norm']:.2e}  "
        f"{out.stop}"
    )
    return row


def selected_solvers(args):
    from _solvers import all_solvers

    solvers = all_solvers()
    if args.solvers:
        solvers = [s for s in solvers if any(s.name == t or s.name.startswith(t) for t in args.solvers)]
    return solvers


def warm_up(client, n_workers):
    """One tiny fit of every cluster solver: imports and JIT on the workers, not timed."""
    import numpy as np
    from _problems import Problem
    from _solvers import ClusterData, all_solvers

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8))
    y = (X[:, 0] + rng.standard_normal(400) > 0).astype(np.int64)
    import scipy.sparse as sp

    Xs = sp.random(400, 50, density=0.1, format="csr", random_state=0)
    ys = (np.asarray(Xs.sum(axis=1)).ravel() > np.median(Xs.sum(axis=1))).astype(np.int64)
    for problem in (Problem(0, "warm-up", "", X, y, 1.0), Problem(0, "warm-up", "", Xs, ys, 1.0)):
        data = ClusterData(client, problem, n_chunks=n_workers, float32=True)
        for solver in all_solvers():
            if solver.where != "cluster":
                continue
            try:
                solver.check(problem, "quick")
                with contextlib.redirect_stdout(io.StringIO()):
                    solver.fit(problem, data, "quick")
            except Exception:  # noqa: BLE001 - failures are reported by the real runs
                pass
        data.release()


def environment_text(args, client):
    import dask
    import distributed
    import numpy
    import psutil
    import scipy
    import sklearn

    import sklearn_dingo

    versions = [
        f"sklearn_dingo {getattr(sklearn_dingo, '__version__', '?')}",
        f"scikit-learn {sklearn.__version__}",
        f"numpy {numpy.__version__}",
        f"scipy {scipy.__version__}",
        f"dask {dask.__version__}",
        f"distributed {distributed.__version__}",
    ]
    try:
        import dask_ml

        versions.append(f"dask-ml {dask_ml.__version__}")
    except ImportError:
        versions.append("dask-ml not installed")
    from sklearn_dingo._backends._local import available_cores

    cores = available_cores()
    workers = client.scheduler_info()["workers"] if client is not None else {}
    return (
        f"Machine: {platform.machine()}, {cores} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}; {', '.join(versions)}. Cluster: LocalCluster with "
        f"{len(workers)} worker processes x 1 thread on the same machine."
    )


def load_text():
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def git_text():
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "sklearn_dingo"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes in sklearn_dingo/" if dirty else "")


def build_document(args, command, env_text, sections, all_targets, checks, elapsed):
    from _report import markdown_targets

    size = "quick" if args.quick else "default"
    lines = [
        f"# sklearn-dingo benchmarks ({size} size)",
        "",
        f"Command: `{command}`",
        "",
        env_text,
        f"Package at commit {git_text()}. Load average (1/5/15 min) at the start {args.load_start}, at the "
        f"end {load_text()} (other processes on the machine make timings noisy).",
        f"Total run time {elapsed / 60:.1f} min. Columns are explained in `benchmarks/run.py`'s docstring; "
        "in short: wall s = median of `reps` runs (long fits timed once); round trips = measured blocking "
        "client-cluster calls (dingo in-process: reduces of the paper's counting); rounds = paper counting; "
        "bytes = measured on the wire for cluster rows, paper counting for dingo in-process; rel. gap = "
        "(f - f_best) / f_best with one objective function for all; slow-net s = wall + round trips x 50 ms + "
        "bytes / (50 Mbit/s), a model, checked against a cluster behind an emulated link by "
        "`benchmarks/slow_link.py` (it holds for dingo; dask-ml's measured times are over twice its "
        "model's: the model favours dask-ml); dingo to this f = seconds / round trips / rounds the dingo fit of the same "
        "setting needed to reach this row's objective.",
        "",
    ]
    from _solvers import DEFAULT_CAPS, QUICK_DASK_ML_MAX_ITER

    notes = [
        "All solvers: scikit-learn's objective, `fit_intercept=False`, C=10; dingo `tol=1e-10`, scikit-learn "
        "`tol=1e-10`, dask-ml its defaults (`tol=1e-4`, `max_iter=100`).",
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
        notes.append(
            "Capped at this size (time budget; rows say \"capped\"): "
            + "; ".join(f"{solver} on problem {key}: max_iter={cap}" for (solver, key), cap in DEFAULT_CAPS.items())
            + "."
        )
    else:
        notes.append(f"--quick: dask-ml runs with max_iter={QUICK_DASK_ML_MAX_ITER}; timings include first-call costs.")
    lines += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    if checks:
        lines += ["Checks:", ""] + [f"- {c}" for c in checks] + [""]
    for header, table in sections:
        lines += [header, "", table, ""]
    lines += ["## Targets", "", markdown_targets(all_targets), ""]
    return "\n".join(lines)


def prepare_process():
    """This folder on the workers' path (they unpickle its functions) and Dask's noise off."""
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*Sending large graph.*")


def main(argv=None):
    args = parse_args(argv)
    args.load_start = load_text()
    t_start = time.perf_counter()
    prepare_process()

    from _measure import ClusterMeter, PassCounter, time_one_pass
    from _problems import make_problem
    from _report import derive, float32_comparison, markdown_table, targets, write_csv
    from _solvers import ClusterData, check_dask_glm_objective
    from distributed import Client, LocalCluster

    size = "quick" if args.quick else "default"
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    if args.problems != [1, 2, 3, 4, 5]:
        command += " --problems " + ",".join(map(str, args.problems))
    if args.solvers:
        command += f" --solvers '{','.join(args.solvers)}'"
    # every option that changes what is measured (not --out: a local path)
    if args.repeats != (1 if args.quick else 3):
        command += f" --repeats {args.repeats}"
    if args.repeat_below != 15.0:
        command += f" --repeat-below {args.repeat_below:g}"
    if args.workers != 2:
        command += f" --workers {args.workers}"
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    PassCounter.install()
    all_rows, sections, all_targets, checks = [], [], [], []
    cluster = client = meter = None
    try:
        log(f"starting a LocalCluster: {args.workers} workers x 1 thread")
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # expected dask-ml failures log errors
        )
        client = Client(cluster)
        log(f"cluster up: {client.scheduler.address}")
        client.run(PassCounter.install)
        meter = ClusterMeter(client)
        if not args.quick:  # --quick is a smoke test: its timings include first-call costs
            log("warming up the workers (one tiny fit of every cluster solver)")
            warm_up(client, args.workers)
        env_text = environment_text(args, client)
        ctx = Context(args, client, meter)
        solvers = selected_solvers(args)
        any_float32 = any(s.float32 for s in solvers)
        float32_on_cluster = any(s.float32 and s.where == "cluster" for s in solvers)
        for key in args.problems:
            t0 = time.perf_counter()
            problem = make_problem(key, size)
            n_outputs = 1 if problem.binary else problem.n_classes
            pass_time = time_one_pass(problem.X, n_outputs)
            pass_time_float32 = None
            if any_float32:  # made here, once: no fit's timing or memory includes the conversion
                pass_time_float32 = time_one_pass(problem.X_float32, n_outputs)
            log(
                f"problem {key} ({problem.name}: {problem.shape_text()}, X {problem.nbytes / 1e6:.0f} MB, "
                f"one pass {pass_time * 1e3:.1f} ms; generated in {time.perf_counter() - t0:.1f} s)"
            )
            mismatch = check_dask_glm_objective(problem)
            if mismatch is not None:
                checks.append(
                    f"problem {key}: dask-glm's objective (sum of log-losses + lamduh ||beta||^2/2, lamduh = 1/C, "
                    f"its own functions) = n x this benchmark's objective to a relative {mismatch:.1e}."
                )
            data = ClusterData(client, problem, n_chunks=args.workers, float32=float32_on_cluster)
            rows = [measure(solver, problem, data, ctx) for solver in solvers]
            data.release()
            f_best = derive(rows, problem, pass_time, pass_time_float32)
            lines = targets(problem, rows)
            all_targets += lines
            all_rows += rows
            float32_text = "" if pass_time_float32 is None else f" (float32: {pass_time_float32 * 1e3:.2f} ms)"
            header = (
                f"## Problem {key}: {problem.description} ({problem.shape_text()}, C={problem.C:g}, "
                f"X {problem.nbytes / 1e6:.0f} MB)\n\nOne pass over X: {pass_time * 1e3:.2f} ms{float32_text}. "
                f"Best objective reached: {f_best!r}."
            )
            sections.append((header, "\n".join([markdown_table(rows), "", *float32_comparison(rows)]).rstrip()))
            del problem, data
            gc.collect()
    finally:
        if meter is not None:
            meter.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    elapsed = time.perf_counter() - t_start
    document = build_document(args, command, env_text, sections, all_targets, checks, elapsed)
    (out_dir / "results.md").write_text(document)
    write_csv(out_dir / "results.csv", all_rows)
    print(document)
    log(f"wrote {out_dir / 'results.md'} and {out_dir / 'results.csv'} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
