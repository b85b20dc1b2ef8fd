"""Seconds of one round trip on a Dask cluster, against worker processes and bytes per shard message.

Studies no package constant yet (``CONSTANTS`` is empty): it measures what
one DINGO communication round trip costs on the package's own Dask backend,
the price that ``should_rebalance`` (``sklearn_dingo/_solver/_rebalance.py``)
weighs a move of rows against, and that a choice of workers or of a model
size for a cluster would be made from.

A round trip is what the driver does every round: :meth:`DaskBackend.map`
of a broadcast vector to every shard (one graph of one task per group of a
worker's shards, through the reply channel), then :meth:`DaskBackend.reduce`
of every shard's reply to the client (the π-weighted sum). Each shard is
tiny (64 rows x 4 features) and its function computes almost nothing (a
reply of as many floats as it was sent, and a count of its rounds as its
state), so what is timed is the scheduling and the messages.

For each cell of the grid:

- a ``LocalCluster`` of ``--workers`` processes x 1 thread on the loopback
  interface (one per number of workers; its scheduler runs in this process,
  beside the client), and ``--shards-per-worker`` shards on each worker
  (``DaskBackend.from_numpy``: round-robin over the workers);
- a vector of ``--floats`` float64 down to every shard and a reply of as many
  up from every shard;
- 3 round trips to warm up, then ``--repeats`` timed ones (``perf_counter``
  around ``map`` + ``reduce``); the median seconds per round trip.

Each round passes the previous round's handles, as the driver does, so every
task also depends on its shard's previous state. The scheduler keeps the
payloads of a chain of rounds for recomputation, so a chain restarts (a
round without handles) once it would hold about 1 GiB of payloads: only with
the largest messages. Between round trips, outside the timer, the scheduler
is told to drop the replies it keeps as events (the reply channel does that
itself every 32 rounds; a cell of large messages would otherwise hold
gigabytes there).

The bytes of a round trip are the package's own count (``bytes_down`` +
``bytes_up``: every shard message, ``2 m · 8 · floats`` for m shards); on the
wire the payload travels once per Dask task (a worker's shards share one
task), so with 2 shards per worker the down half is overcounted. The
tasks of a round trip are the Dask tasks of one ``map``: one per shard with
one shard per worker thread, one per worker with two.

A least-squares model is fitted over every cell,

    seconds per round trip = a + b · tasks + c · bytes,

each cell weighted by 1 / its seconds (relative residuals: the cells span
decades of seconds, and plain least squares would fit only the largest),
and printed with its R² and median relative error, beside every cell, and
extrapolated to 256 workers with one shard each. With more worker processes
than cores the workers time-share them (the report gives ``os.cpu_count()``):
b then also holds that contention, and the extrapolation is a bound from a
small machine, not a cluster's figure.

    python -m benchmarks study round-scale [--quick] [--out DIR] [--workers 2,4,8,16,32]
        [--floats 10,1000,100000,1000000] [--shards-per-worker 1,2] [--repeats 20]
"""

import contextlib
import logging
import os
import statistics
import time
import warnings
from typing import NamedTuple

import numpy as np

from sklearn_dingo._compat import forget_event_topic

from ..common.cli import suite_parser
from ..common.report import (
    Report,
    command_line,
    environment_text,
    fmt,
    fmt_bytes,
    load_text,
    log,
    markdown_table,
    write,
)

CONSTANTS = {}

NAME = "round-scale"
ROWS_PER_SHARD = 64
FEATURES = 4
WARMUP = 3
# A chain of rounds restarts once the scheduler would keep about this many
# bytes of its payloads (tasks x payload per round, the worst case).
CHAIN_PAYLOAD_BYTES = 1 << 30
EXTRAPOLATE_WORKERS = 256
EXTRAPOLATE_FLOATS = (1_000, 100_000)
GRID = {
    "default": dict(workers=(2, 4, 8, 16, 32), floats=(10, 1_000, 100_000, 1_000_000), shards_per_worker=(1, 2),
                    repeats=20),
    "quick": dict(workers=(2, 4), floats=(10, 10_000), shards_per_worker=(1, 2), repeats=5),
}
COLUMNS = ["workers", "shards", "tasks", "floats", "bytes", "seconds", "min_seconds", "model_seconds",
           "chain", "rounds"]


# -- the model -------------------------------------------------------------------------------
class RoundModel(NamedTuple):
    """``seconds = a + b · tasks + c · bytes`` of one round trip, and how well it fits.

    Attributes
    ----------
    a : float
        Seconds of a round trip of no task and no bytes.
    b : float
        Seconds per Dask task of the round trip.
    c : float
        Seconds per byte moved (down and up together).
    r2 : float
        Coefficient of determination on the seconds as measured.
    median_relative_error : float
        Median of ``|model − measured| / measured`` over the cells.
    cells : int
        Cells fitted.
    """

    a: float
    b: float
    c: float
    r2: float
    median_relative_error: float
    cells: int

    @property
    def bytes_per_second(self):
        """``1 / c``: the bandwidth the model implies (inf when c is not positive)."""
        return 1.0 / self.c if self.c > 0 else float("inf")

    def predict(self, tasks, nbytes):
        """Seconds of a round trip of ``tasks`` Dask tasks moving ``nbytes`` bytes."""
        return self.a + self.b * np.asarray(tasks, dtype=np.float64) + self.c * np.asarray(nbytes, dtype=np.float64)


def fit_round_model(rows, relative=True):
    """Least-squares fit of ``seconds = a + b · tasks + c · bytes`` over measured cells.

    Parameters
    ----------
    rows : iterable of mapping
        One per cell, with ``"tasks"`` (Dask tasks per round trip),
        ``"bytes"`` (bytes per round trip) and ``"seconds"`` (per round trip,
        positive).
    relative : bool, default=True
        Weight each cell by ``1 / seconds``, which minimises relative
        residuals: cells that span decades of seconds then all count.
        False: plain least squares on the seconds.

    Returns
    -------
    RoundModel

    Raises
    ------
    ValueError
        With fewer than 3 cells, a cell of non-positive seconds, or cells
        that do not vary tasks and bytes independently (the coefficients
        are then not determined).
    """
    rows = list(rows)
    if len(rows) < 3:
        raise ValueError(f"need at least 3 cells to fit 3 coefficients, got {len(rows)}.")
    tasks = np.array([float(r["tasks"]) for r in rows])
    nbytes = np.array([float(r["bytes"]) for r in rows])
    seconds = np.array([float(r["seconds"]) for r in rows])
    if not np.all(seconds > 0):
        raise ValueError("every cell's seconds must be positive.")
    design = np.column_stack([np.ones_like(tasks), tasks, nbytes])
    weights = 1.0 / seconds if relative else np.ones_like(seconds)
    # Columns scaled to unit size first: bytes are ~1e9 times tasks, which
    # would otherwise make the rank test see a dependent column.
    scale = np.max(np.abs(design), axis=0)
    scale[scale == 0] = 1.0
    weighted = design / scale * weights[:, None]
    coef, _, rank, _ = np.linalg.lstsq(weighted, seconds * weights, rcond=None)
    if rank < 3:
        raise ValueError("the cells do not vary tasks and bytes independently: the model is not determined.")
    a, b, c = coef / scale
    fitted = design @ np.array([a, b, c])
    total = float(np.sum((seconds - seconds.mean()) ** 2))
    r2 = 1.0 - float(np.sum((seconds - fitted) ** 2)) / total if total > 0 else float("nan")
    return RoundModel(float(a), float(b), float(c), r2, float(np.median(np.abs(fitted - seconds) / seconds)),
                      len(rows))


def round_trip_bytes(shards, floats):
    """Bytes of one round trip as the package counts them: ``floats`` float64 down to and up from every shard."""
    return 2 * shards * 8 * int(floats)


# -- one round trip --------------------------------------------------------------------------
def echo_shard(shard, state, vector, reply_floats):
    """The shard function of the study: a reply of ``reply_floats`` ones, and its rounds counted as its state.

    Parameters
    ----------
    shard : ShardData
        Not read: the shard's work is not what is timed.
    state : int or None
        Rounds this shard ran in the current chain (None: the first).
    vector : ndarray
        The broadcast payload.
    reply_floats : int
        Length of the reply.

    Returns
    -------
    reply : tuple of ndarray
    state : int
    """
    return (np.ones(int(reply_floats)),), (0 if state is None else state) + 1


@contextlib.contextmanager
def local_cluster(n_workers):
    """A client of a ``LocalCluster`` of ``n_workers`` processes x 1 thread on loopback, closed on exit."""
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster, Client(cluster) as client:
        yield client


def measure_cell(client, workers, shards, floats, repeats, warmup=WARMUP):
    """Median seconds of a round trip of ``floats`` float64 each way to ``shards`` tiny shards.

    Returns
    -------
    dict
        A row of the report: its ``COLUMNS``.
    """
    from sklearn_dingo._backends.dask import DaskBackend

    n = ROWS_PER_SHARD * shards
    rng = np.random.default_rng(0)
    X, Y, sample_weight = rng.standard_normal((n, FEATURES)), np.zeros((n, 1)), np.ones(n)
    payload = np.ones(int(floats))
    timed, tasks = [], None
    with DaskBackend.from_numpy(client, X, Y, sample_weight, list(range(0, n + 1, ROWS_PER_SHARD))) as backend:
        if backend.n_shards != shards:  # pragma: no cover - every shard has rows of positive weight
            raise RuntimeError(f"expected {shards} shards, the backend holds {backend.n_shards}.")
        rounds_before, down_before, up_before = backend.rounds, backend.bytes_down, backend.bytes_up
        chain = max(1, CHAIN_PAYLOAD_BYTES // (shards * payload.nbytes))
        handles = None
        for k in range(warmup + repeats):
            if k % chain == 0:
                handles = None
            start = time.perf_counter()
            handles = backend.map("round", echo_shard, handles, payload, reply_floats=int(floats))
            backend.reduce(handles)
            elapsed = time.perf_counter() - start
            tasks = len(handles.futures)
            client.run_on_scheduler(forget_event_topic, backend.channel.topic, keep_subscribers=True)
            if k >= warmup:
                timed.append(elapsed)
        trips = warmup + repeats
        moved = (backend.bytes_down - down_before + backend.bytes_up - up_before) // trips
        rounds = (backend.rounds - rounds_before) / trips
    if moved != round_trip_bytes(shards, floats):  # pragma: no cover - the package's counting changed
        raise RuntimeError(f"the backend counted {moved} bytes per round trip, expected "
                           f"{round_trip_bytes(shards, floats)}.")
    return dict(workers=workers, shards=shards, tasks=tasks, floats=int(floats), bytes=int(moved),
                seconds=statistics.median(timed), min_seconds=min(timed), chain=min(chain, trips), rounds=rounds)


def run_grid(workers, floats, shards_per_worker, repeats):
    """Every cell of the grid, one cluster per number of workers: the rows of the report."""
    rows = []
    for n in workers:
        log(f"starting a LocalCluster: {n} workers x 1 thread")
        with local_cluster(n) as client:
            for per_worker in shards_per_worker:
                for f in floats:
                    row = measure_cell(client, n, n * per_worker, f, repeats)
                    log(f"  {n} workers, {row['shards']} shards ({row['tasks']} tasks), {f:,} floats: "
                        f"{1e3 * row['seconds']:.2f} ms per round trip")
                    rows.append(row)
    return rows


# -- the report ------------------------------------------------------------------------------
def cells_table(rows):
    """Every measured cell beside the model's seconds (``model_seconds``) and their ratio."""
    header = ["workers", "shards m", "tasks", "floats / message", "bytes / round trip", "median ms", "min ms",
              "model ms", "measured / model"]
    return markdown_table(header, [
        [fmt(r["workers"]), fmt(r["shards"]), fmt(r["tasks"]), fmt(r["floats"]), fmt_bytes(r["bytes"]),
         fmt(1e3 * r["seconds"]), fmt(1e3 * r["min_seconds"]), fmt(1e3 * r["model_seconds"]),
         fmt(r["seconds"] / r["model_seconds"]) if r["model_seconds"] > 0 else "—"]
        for r in rows
    ])


def dask_bandwidth():
    """Bytes per second of Dask's ``distributed.scheduler.bandwidth`` setting."""
    import dask
    from dask.utils import parse_bytes

    return float(parse_bytes(dask.config.get("distributed.scheduler.bandwidth")))


def model_table(model):
    """The coefficients of the model, the bandwidth 1 / c and how well the model fits."""
    return markdown_table(["coefficient", "value", "meaning"], [
        ["a", f"{model.a:.3e} s", "seconds of a round trip of no task and no bytes"],
        ["b", f"{model.b:.3e} s", "seconds per Dask task of a round trip"],
        ["c", f"{model.c:.3e} s", f"seconds per byte moved: 1 / c = {fmt_bytes(model.bytes_per_second)}/s"
         if model.c > 0 else "seconds per byte moved (not positive: bytes cost nothing measurable here)"],
        ["(Dask)", f"{fmt_bytes(dask_bandwidth())}/s", "Dask's `distributed.scheduler.bandwidth` setting, for "
         "comparison with 1 / c: the bandwidth Dask assumes"],
        ["R²", f"{model.r2:.4f}", "on the seconds as measured"],
        ["median relative error", f"{100 * model.median_relative_error:.1f}%", f"over {model.cells} cells"],
    ])


def extrapolation_table(model):
    """The model's round trip of ``EXTRAPOLATE_WORKERS`` workers, one shard each, and its three terms."""
    rows = []
    for floats in EXTRAPOLATE_FLOATS:
        nbytes = round_trip_bytes(EXTRAPOLATE_WORKERS, floats)
        seconds = float(model.predict(EXTRAPOLATE_WORKERS, nbytes))
        rows.append([fmt(EXTRAPOLATE_WORKERS), fmt(EXTRAPOLATE_WORKERS), fmt(floats), fmt_bytes(nbytes),
                     fmt(1e3 * seconds), fmt(1e3 * model.a), fmt(1e3 * model.b * EXTRAPOLATE_WORKERS),
                     fmt(1e3 * model.c * nbytes)])
    return markdown_table(["workers", "tasks", "floats / message", "bytes / round trip", "model ms", "a ms",
                           "b · tasks ms", "c · bytes ms"], rows)


def build_report(rows, model, quick, options, load_start, started):
    """The study's report of measured ``rows`` and their ``model``; ``load_start`` and ``started`` of the run."""
    cores = os.cpu_count()
    most = max(r["workers"] for r in rows)
    report = Report(
        name=NAME,
        load_start=load_start,
        started=started,
        title="Round trips on a Dask cluster: seconds against worker processes and message bytes",
        command=command_line(f"study {NAME}", quick, options),
        environment=environment_text() + f" os.cpu_count() = {cores}.",
        intro=[
            "One round trip: `DaskBackend.map` of a float64 vector to every shard (64 x 4 rows each, a shard "
            "function that computes almost nothing) and `DaskBackend.reduce` of a reply of as many floats from "
            "every shard. Medians of the timed round trips of each cell, after 3 to warm up; a LocalCluster of "
            "worker processes x 1 thread on loopback per number of workers (its scheduler in the client's "
            "process). Bytes are the package's count (every shard message, both ways); tasks are the Dask tasks "
            "of one map (a worker's shards share one task).",
        ],
        notes=[
            f"This machine has {cores} cores (os.cpu_count()); up to {most} worker processes, the scheduler and "
            "the client time-share them, so b also holds that contention and the 256-worker figures are a "
            "bound from a small machine, not what a cluster of 256 machines would measure.",
            "The model is fitted by least squares with each cell weighted by 1 / its seconds (relative "
            "residuals).",
            "'chain' in the CSV: rounds chained on their handles before a chain restarts (a round without "
            "handles), to bound the payloads the scheduler keeps.",
        ],
        columns=COLUMNS,
    )
    negative = [name for name in ("a", "b", "c") if getattr(model, name) <= 0]
    if negative:
        report.notes.append(
            f"Not positive: {', '.join(negative)}. The cells do not resolve that cost above their noise (too "
            "narrow a range of tasks or bytes, or a loaded machine): the extrapolation below is not meaningful."
        )
    report.sections.append(("## Every cell, measured and modelled", cells_table(rows)))
    report.sections.append(("## The model: seconds = a + b · tasks + c · bytes", model_table(model)))
    report.sections.append((
        f"## Extrapolated to {EXTRAPOLATE_WORKERS} workers, one shard each",
        extrapolation_table(model) + f"\n\nFrom a fit over at most {most} worker processes on {cores} cores.",
    ))
    report.rows = rows
    return report


def main(argv=None):
    parser = suite_parser(
        f"study {NAME}", __doc__,
        f"workers {','.join(map(str, GRID['quick']['workers']))}, floats "
        f"{','.join(map(str, GRID['quick']['floats']))}, {GRID['quick']['repeats']} repetitions",
    )
    parser.add_argument("--workers", default=None, help="comma-separated worker processes (default: "
                        f"{','.join(map(str, GRID['default']['workers']))})")
    parser.add_argument("--floats", default=None, help="comma-separated float64 per shard message, each way "
                        f"(default: {','.join(map(str, GRID['default']['floats']))}; 1e5 is accepted)")
    parser.add_argument("--shards-per-worker", default=None, help="comma-separated shards per worker (default: "
                        f"{','.join(map(str, GRID['default']['shards_per_worker']))})")
    parser.add_argument("--repeats", type=int, default=None, help="timed round trips per cell (median); default "
                        f"{GRID['default']['repeats']}, --quick {GRID['quick']['repeats']}")
    args = parser.parse_args(argv)
    grid = GRID["quick" if args.quick else "default"]

    def integers(text, default, option):
        if text is None:
            return list(default)
        try:
            values = [int(float(item)) for item in text.split(",") if item.strip()]
        except ValueError:
            values = []
        if not values or min(values) < 1:
            parser.error(f"{option}: expected comma-separated positive integers, got {text!r}")
        return values

    workers = integers(args.workers, grid["workers"], "--workers")
    floats = integers(args.floats, grid["floats"], "--floats")
    per_worker = integers(args.shards_per_worker, grid["shards_per_worker"], "--shards-per-worker")
    repeats = args.repeats or grid["repeats"]
    warnings.filterwarnings("ignore", message=".*Sending large graph.*")  # the payloads travel in the graph

    load_start, started = load_text(), time.perf_counter()
    rows = run_grid(workers, floats, per_worker, repeats)
    model = fit_round_model(rows)
    for r in rows:
        r["model_seconds"] = float(model.predict(r["tasks"], r["bytes"]))
    options = [("--workers", workers, list(grid["workers"])), ("--floats", floats, list(grid["floats"])),
               ("--shards-per-worker", per_worker, list(grid["shards_per_worker"])),
               ("--repeats", repeats, grid["repeats"])]
    write(build_report(rows, model, args.quick, options, load_start, started), args.out)
    return 0
