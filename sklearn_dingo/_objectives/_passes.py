"""Rows of X read by the objectives' products: the hook the benchmarks count passes with.

Every product of :class:`~._base.LinearObjective` with a shard's X tells
this module how many rows it read from memory; nothing listens unless a
:class:`PassCounter` is active, and then the cost is one check of an empty
tuple per product. ``benchmarks/common/counting.py`` is the user: a pass
over the data is ``rows read / n``.

What counts as one read of a row (a read of X from memory):

* ``margins`` (``X W``) and ``_transpose_product`` (``Xᵀ R``, or ``X_bᵀ R_b``
  of one row block of a line-search batch or Hessian-vector product, whose
  ``X_b V`` reuses the block while it is in cache and is not counted again);
* ``_weighted_gram``: one read of a dense shard (the Gram update and the
  column sums come from the same row blocks), two of a sparse one.

Usage, in-process::

    from sklearn_dingo._objectives import pass_counter

    with pass_counter() as counter:
        DingoLogisticRegression().fit(X, y)
    passes = counter.rows / X.shape[0]

Every thread of the process is counted (the in-process backend's shard
threads too). On Dask workers, where a ``with`` block cannot span several
``client.run`` calls, keep the counter on the worker::

    client.run(start_worker_counter)      # one active counter per worker
    ...fit on the cluster...
    rows = sum(client.run(take_worker_rows).values())   # read and reset
    client.run(stop_worker_counter)
"""

import threading

# The counters now active in this process. Replaced (never mutated) under
# _REGISTRY_LOCK, so that a product reads a consistent tuple without a lock.
active = ()
_REGISTRY_LOCK = threading.Lock()
_WORKER_ATTRIBUTE = "_sklearn_dingo_pass_counter"
# The shard meter running in each thread (:class:`ShardMeter`), if any.
_thread = threading.local()


class PassCounter:
    """Rows of X read by the objectives' products while this counter is active.

    A context manager: active inside its ``with`` block (or between
    :meth:`start` and :meth:`stop`), in every thread of the process.
    Thread-safe. Several counters may be active at once; each sees every
    read.

    Attributes
    ----------
    rows : int
        Rows read since the counter was made or last taken (:meth:`take`).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._rows = 0

    @property
    def rows(self):
        with self._lock:
            return self._rows

    def take(self):
        """Rows read so far, and start again from zero."""
        with self._lock:
            rows, self._rows = self._rows, 0
        return rows

    def add(self, rows):
        """Record ``rows`` rows of X read (called by the products)."""
        with self._lock:
            self._rows += int(rows)

    def start(self):
        """Begin counting (idempotent); returns the counter."""
        global active
        with _REGISTRY_LOCK:
            if self not in active:
                active = (*active, self)
        return self

    def stop(self):
        """Stop counting (idempotent); :attr:`rows` keeps its value."""
        global active
        with _REGISTRY_LOCK:
            active = tuple(counter for counter in active if counter is not self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class _ThreadMeters:
    """Routes reads to the :class:`ShardMeter` of the reading thread; active while any meter runs."""

    def __init__(self):
        self.running = 0

    def add(self, rows):
        meter = getattr(_thread, "meter", None)
        if meter is not None:
            meter.rows += int(rows)


_THREAD_METERS = _ThreadMeters()


class ShardMeter:
    """Rows of X read by the products of the current thread inside its ``with`` block.

    The backends meter every shard round with one (a shard's round runs in
    one thread, in process and on a Dask worker alike), so that a fit knows
    the price of a pass over a shard (:mod:`sklearn_dingo._shard._meter`).
    Unlike :class:`PassCounter`, it sees only its own thread: shards that run
    side by side in threads are metered apart. Meters nest: an inner one's
    reads are not added to the outer one's.

    Attributes
    ----------
    rows : int
        Rows read so far.
    """

    def __init__(self):
        self.rows = 0
        self._outer = None

    def __enter__(self):
        global active
        self._outer = getattr(_thread, "meter", None)
        _thread.meter = self
        with _REGISTRY_LOCK:
            _THREAD_METERS.running += 1
            if _THREAD_METERS not in active:
                active = (*active, _THREAD_METERS)
        return self

    def __exit__(self, *exc_info):
        global active
        _thread.meter = self._outer
        with _REGISTRY_LOCK:
            _THREAD_METERS.running -= 1
            if not _THREAD_METERS.running:
                active = tuple(counter for counter in active if counter is not _THREAD_METERS)


def pass_counter():
    """A new :class:`PassCounter`, to use as ``with pass_counter() as counter:``."""
    return PassCounter()


def rows_read(rows):
    """Tell every active counter that a product read ``rows`` rows of X."""
    for counter in active:
        counter.add(rows)


# -- on Dask workers: ``client.run(start_worker_counter)`` and friends ---------
def start_worker_counter(dask_worker):
    """Start a counter kept on this worker (for ``client.run``); idempotent."""
    counter = getattr(dask_worker, _WORKER_ATTRIBUTE, None)
    if counter is None:
        counter = PassCounter()
        setattr(dask_worker, _WORKER_ATTRIBUTE, counter)
    counter.start()


def take_worker_rows(dask_worker):
    """Rows read on this worker since the last take (for ``client.run``)."""
    counter = getattr(dask_worker, _WORKER_ATTRIBUTE, None)
    if counter is None:
        raise RuntimeError("no pass counter on this worker: run start_worker_counter first.")
    return counter.take()


def stop_worker_counter(dask_worker):
    """Stop and drop this worker's counter (for ``client.run``)."""
    counter = getattr(dask_worker, _WORKER_ATTRIBUTE, None)
    if counter is not None:
        counter.stop()
        delattr(dask_worker, _WORKER_ATTRIBUTE)
