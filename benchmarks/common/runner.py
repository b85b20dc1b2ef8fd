"""Timing and metering a fit, and the Dask cluster the cluster solvers share, the same way in every suite.

:func:`timed_fit` runs a solver's fit once instrumented, then again for a
median wall time while fits stay short:

* in-process: ``time.perf_counter`` around ``fit``; in the instrumented run
  also the peak RSS growth (:class:`.measure.PeakRSS`) and the rows of X read
  (:func:`.counting.count_passes`);
* cluster: the client meter's round trips and bytes before and after
  (:class:`.measure.ClusterMeter`), the rows read on the workers, and for a
  DINGO fit the meter at each of its iterations, from a scikit-learn callback
  given to the estimator (:class:`.measure.IterationMarks`).
"""

import contextlib
import gc
import logging
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass

from .counting import count_on_workers, count_passes
from .measure import ClusterMeter, PeakRSS
from .report import log


@dataclass
class Settings:
    """How a suite runs its fits.

    size : "quick", "default" or "uncapped" (``solvers``' caps of dask-ml's
        iterations apply at "quick", its caps of scikit-learn's at "default").
    repeats : timed runs per fit, at most.
    repeat_below : repeat only fits whose first run took less (seconds).
    meter : the :class:`.measure.ClusterMeter` of the cluster solvers, or None.
    """

    size: str
    repeats: int
    repeat_below: float = 15.0
    meter: object = None


def run_once(solver, problem, data, settings, instrument):
    """One fit: ``(solver's FitOutput, info)``; info has ``wall`` and, if ``instrument``, what was metered."""
    info = {}
    gc.collect()
    if solver.where == "in-process":
        counting = count_passes() if instrument else contextlib.nullcontext()
        memory = PeakRSS() if instrument else contextlib.nullcontext()
        with counting as passes, memory:
            t0 = time.perf_counter()
            out = solver.fit(problem, data, settings.size)
            info["wall"] = time.perf_counter() - t0
        if instrument:
            if solver.family == "sklearn":
                passes.require_sklearn(solver.name)
            info["rows_read"] = passes.rows
            info["peak_mem_bytes"] = memory.peak_delta
        return out, info
    meter = settings.meter
    marks = None
    if instrument:
        meter.passes()  # reset the workers' pass counters
        before = meter.snapshot()
        if solver.family == "dingo":
            marks = meter.iteration_marks()
    t0 = time.perf_counter()
    kwargs = {} if marks is None else {"callbacks": [marks]}
    out = solver.fit(problem, data, settings.size, **kwargs)
    info["wall"] = time.perf_counter() - t0
    if instrument:
        info.update(meter.delta(before, meter.snapshot()))
        info["rows_read"] = meter.passes()
        if marks is not None:
            info["iteration_marks"] = [
                (trips - before["round_trips"], nbytes - before["bytes_sent"] - before["bytes_received"])
                for trips, nbytes in marks.marks
            ]
    return out, info


def timed_fit(solver, problem, data, settings):
    """The instrumented first run, then repeats while the first took under ``repeat_below``.

    Returns ``(out, info, runs)``: the first run's output and metering, and
    ``(wall, history)`` of every run. Exceptions propagate (:func:`failure_reason`).
    """
    out, info = run_once(solver, problem, data, settings, instrument=True)
    runs = [(info["wall"], out.history)]
    while len(runs) < settings.repeats and runs[0][0] < settings.repeat_below:
        again_out, again = run_once(solver, problem, data, settings, instrument=False)
        runs.append((again["wall"], again_out.history))
    return out, info, runs


def fit_or_fail(solver, problem, data, settings, row, label):
    """:func:`timed_fit`, or None with ``row`` marked failed (and logged as ``label``).

    A failure is reported, never dropped.
    """
    try:
        return timed_fit(solver, problem, data, settings)
    except Exception as exc:  # noqa: BLE001 - report, never drop
        row.update(status="failed", reason=failure_reason(exc))
        log(f"  {label} FAILED: {row['reason']}")
        return None


def failure_reason(exc):
    """``"Type: first line"`` of an exception (its traceback on stderr with ``BENCH_TRACEBACK=1``)."""
    if os.environ.get("BENCH_TRACEBACK"):
        traceback.print_exc(file=sys.stderr)
    first_line = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line}"


def quiet_process():
    """Dask's and dask-ml's expected noise off in this process."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*Sending large graph.*")


@contextlib.contextmanager
def local_cluster(n_workers=2, threads_per_worker=1):
    """A ``LocalCluster`` of worker processes, its client, and a meter on it: yields ``(client, meter)``.

    The workers count the rows of X they read (:func:`.counting.count_on_workers`).
    Everything is closed on exit, also on error.
    """
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,  # expected dask-ml failures log errors
            )
        )
        client = stack.enter_context(Client(cluster))
        count_on_workers(client)
        meter = ClusterMeter(client)
        stack.callback(meter.close)
        yield client, meter
