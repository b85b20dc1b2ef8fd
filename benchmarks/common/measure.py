"""Measuring instruments shared by every solver of the benchmark.

* :func:`objective_gradient` - scikit-learn's objective and its gradient,
  coded here independently of every solver (no scikit-learn, dask-ml or
  sklearn_dingo code): mean log-loss + ||coef||^2 / (2 C n), full
  parametrisation for softmax, no intercept.
* :class:`PeakRSS` - peak resident-set growth of this process during a fit,
  sampled by a thread (after ``malloc_trim`` so that memory freed by earlier
  fits and kept by the allocator does not hide the growth).
* :func:`time_one_pass` - the floor: seconds of one read of X (``X.T @ v``).
* :class:`ClusterMeter` - client-cluster round trips and bytes on the wire of
  a Dask client, and worker-to-worker transfers from the workers' logs;
  :meth:`ClusterMeter.iteration_marks` reads it at every DINGO iteration
  (a scikit-learn callback of the fit, not its printed output).

Passes over X (rows read) are counted in :mod:`.counting`.
"""

import ctypes
import gc
import threading
import time

import numpy as np
import psutil
from scipy.special import expit, log_softmax, softmax


# -- the objective every solver is judged by ------------------------------------
def as_coef_matrix(coef, n_features):
    """(d, K) matrix from a (d,), (1, d) or (K, d) coefficient array."""
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim == 1:
        return coef.reshape(n_features, 1)
    return coef.reshape(-1, n_features).T


def objective_gradient(X, y, coef, C, n_classes):
    """scikit-learn's LogisticRegression objective (no intercept) and its gradient.

    f(W) = (1/n) sum_i [logsumexp(x_i W) - (x_i W)_{y_i}] + ||W||^2 / (2 C n)
    (binary: the single column W, margin log(1 + e^z) - y z).

    Returns
    -------
    f : float
    grad : ndarray of shape (d, K) (K = 1 for binary)
    """
    n, d = X.shape
    W = as_coef_matrix(coef, d)
    Z = X @ W
    Z = np.asarray(Z)
    if n_classes == 2:
        z = Z[:, 0]
        loss = np.mean(np.logaddexp(0.0, z) - y * z)
        R = (expit(z) - y)[:, None]
    else:
        logp = log_softmax(Z, axis=1)
        loss = -np.mean(logp[np.arange(n), y])
        R = softmax(Z, axis=1)
        R[np.arange(n), y] -= 1.0
    G = X.T @ R
    G = np.asarray(G) / n + W / (C * n)
    f = float(loss + np.sum(W * W) / (2.0 * C * n))
    return f, G


# -- memory ------------------------------------------------------------------------
_LIBC = None


def trim_memory():
    """Collect garbage and give freed heap pages back to the OS (glibc)."""
    global _LIBC
    gc.collect()
    try:
        if _LIBC is None:
            _LIBC = ctypes.CDLL("libc.so.6")
        _LIBC.malloc_trim(0)
    except OSError:  # pragma: no cover - not glibc
        pass


class PeakRSS:
    """Peak growth of this process's RSS while the ``with`` block runs (bytes)."""

    def __init__(self, interval=0.002):
        self.interval = interval
        self.peak_delta = 0
        self._process = psutil.Process()

    def __enter__(self):
        trim_memory()
        self.baseline = self._process.memory_info().rss
        self._peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            rss = self._process.memory_info().rss
            self._peak = max(self._peak, rss)
            self._stop.wait(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)
        self.peak_delta = self._peak - self.baseline


# -- the floor: one pass over the data ----------------------------------------------
def time_one_pass(X, n_outputs=1, repeats=7):
    """Fastest of ``repeats`` timings of ``X.T @ V``, V of shape (n,) or (n, K): reading X once.

    The minimum, not the median: this is the floor, and other processes on a
    shared machine only ever make a pass slower. V is in X's precision, so
    that a float32 X is read as it is, not converted to float64.
    """
    rng = np.random.default_rng(0)
    V = rng.standard_normal(X.shape[0] if n_outputs == 1 else (X.shape[0], n_outputs)).astype(X.dtype)
    X.T @ V  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        X.T @ V
        times.append(time.perf_counter() - t0)
    return min(times)


# -- the cluster: round trips and bytes --------------------------------------------------
class ClusterMeter:
    """Round trips and bytes between this Dask client and its cluster.

    * **round trips**: calls of ``Client.sync`` made from this (non event loop)
      thread, i.e. every blocking client operation: ``dask.compute`` /
      ``Client.get``, ``gather``, ``scatter``, ``wait``, ``who_has``, ``Future.result``,
      and every wait of DINGO's reply channel for a batch's reports (they come
      as Dask events, not by a client call). Each sends requests and waits
      for the cluster's answer.
    * **graph computes**: calls of ``Client.get`` (what ``dask.compute`` runs).
    * **bytes**: bytes written to and read from the TCP connections of this
      process whose peer is the scheduler (the client's side of the
      client-scheduler connections: graphs, scattered data, gathered results,
      heartbeats), counted at the comm layer (frames, headers included); plus
      worker-to-worker transfers, summed from the workers'
      ``transfer_incoming_log``: at every snapshot, the transfers that started
      since the previous one (the log keeps only its last 1,000 entries, so
      a running total of it would go wrong in a long run).

    The scheduler of a ``LocalCluster`` runs in this process; its connections
    to the workers (peer: a worker) are not counted, so a result relayed by the
    scheduler is counted once, where it reaches the client.
    """

    def __init__(self, client):
        import distributed
        from distributed.comm import tcp

        try:
            from sklearn_dingo._backends.dask._channel import ReplyChannel
        except ImportError:  # a version of the package before its reply channel (A/B runs)
            ReplyChannel = type("ReplyChannel", (), {"receive": None})

        self.client = client
        self.scheduler_address = client.scheduler.address
        self.round_trips = 0
        self.computes = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self._streams = set()
        self._paused = False
        self._worker_bytes = 0
        self._transfers_since = {}  # worker -> start time of the newest transfer counted
        meter = self

        Client = distributed.Client
        self._originals = [
            (Client, "sync", Client.sync),
            (Client, "get", Client.get),
            (tcp.TCP, "write", tcp.TCP.write),
            (tcp.TCP, "read", tcp.TCP.read),
            (tcp, "read_bytes_rw", tcp.read_bytes_rw),
            (ReplyChannel, "receive", ReplyChannel.receive),
        ]
        orig_sync, orig_get, orig_write, orig_read, orig_read_bytes, orig_receive = (o[2] for o in self._originals)

        def sync(self, *args, **kwargs):
            if not meter._paused:
                meter.round_trips += 1
            return orig_sync(self, *args, **kwargs)

        def receive(self, *args, **kwargs):
            if not meter._paused:
                meter.round_trips += 1
            return orig_receive(self, *args, **kwargs)

        def get(self, *args, **kwargs):
            if not meter._paused:
                meter.computes += 1
            return orig_get(self, *args, **kwargs)

        async def write(self, *args, **kwargs):
            n = await orig_write(self, *args, **kwargs)
            if self._peer_addr == meter.scheduler_address and not meter._paused:
                meter.bytes_sent += int(n or 0)
            return n

        async def read(self, *args, **kwargs):
            if self._peer_addr == meter.scheduler_address:
                meter._streams.add(id(self.stream))
                if not meter._paused:
                    meter.bytes_received += 8  # the length header
            return await orig_read(self, *args, **kwargs)

        async def read_bytes_rw(stream, n):
            if id(stream) in meter._streams and not meter._paused:
                meter.bytes_received += int(n)
            return await orig_read_bytes(stream, n)

        Client.sync = sync
        Client.get = get
        ReplyChannel.receive = receive
        tcp.TCP.write = write
        tcp.TCP.read = read
        tcp.read_bytes_rw = read_bytes_rw

    def close(self):
        for owner, name, original in self._originals:
            setattr(owner, name, original)

    def _worker_transfer_bytes(self):
        """Bytes of all worker-to-worker transfers counted so far, new ones added."""
        self._paused = True
        try:
            news = self.client.run(_incoming_transfers_since, since=self._transfers_since)
        finally:
            self._paused = False
        for worker, (nbytes, newest) in news.items():
            self._worker_bytes += nbytes
            self._transfers_since[worker] = newest
        return self._worker_bytes

    def snapshot(self):
        """Cumulative counters now (reading the workers' logs is not counted)."""
        time.sleep(0.05)  # let in-flight replies land
        return dict(
            round_trips=self.round_trips,
            computes=self.computes,
            bytes_sent=self.bytes_sent,
            bytes_received=self.bytes_received,
            worker_bytes=self._worker_transfer_bytes(),
        )

    @staticmethod
    def delta(before, after):
        return {k: after[k] - before[k] for k in before}

    def passes(self):
        """Rows of X read on the workers since the last call (:func:`.counting.count_on_workers`)."""
        from sklearn_dingo._objectives._passes import take_worker_rows

        self._paused = True
        try:
            rows = self.client.run(take_worker_rows)
        finally:
            self._paused = False
        return sum(rows.values())

    def iteration_marks(self):
        """A scikit-learn callback that notes this meter at every DINGO iteration (:class:`IterationMarks`)."""
        return IterationMarks(self)


class IterationMarks:
    """scikit-learn callback: the meter's round trips and client bytes as each DINGO iteration begins.

    Given to a DINGO estimator with ``set_callbacks``; the estimator opens one
    ``"dingo-iter"`` task per iteration (``sklearn_dingo/_estimators/_reporting.py``),
    the first after the fit's set-up, each next one when the previous
    iteration ends. ``marks[k]`` is ``(round trips, bytes)`` counted when
    history row k was recorded, except ``marks[0]``: after the set-up, before
    the initial reduce (``suites/_compare_report.dingo_at`` adds its trip).
    """

    def __init__(self, meter):
        self.meter = meter
        self.marks = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "dingo-iter":
            meter = self.meter
            self.marks.append((meter.round_trips, meter.bytes_sent + meter.bytes_received))

    def on_fit_task_end(self, estimator, context):
        return False


def _incoming_transfers_since(since, dask_worker):
    """Bytes of this worker's incoming transfers that started after ``since[address]``, and the newest start."""
    after = since.get(dask_worker.address, float("-inf"))
    fresh = [entry for entry in dask_worker.transfer_incoming_log if entry["start"] > after]
    newest = max((entry["start"] for entry in fresh), default=after)
    return int(sum(entry.get("total", 0) for entry in fresh)), newest

