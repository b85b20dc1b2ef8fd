"""Dask backend: shards resident on the workers of a Dask cluster for the whole fit.

This is the only module of the package that imports Dask.

How a fit runs on the cluster
-----------------------------
Every shard is one future of a :class:`~sklearn_dingo._objectives.ShardData`
living on one worker. A round of the driver submits one task per shard,
``dingo-{round}-shard{j}-{token}``, pinned to the worker that holds the shard
and taking, *by reference*, the shard future and the previous round's result
future of that shard. The task returns ``(reply, state)``; the state (margins,
search direction, the local solver with its eigendecomposition, ...) never
leaves the worker. :meth:`DaskBackend.reduce` brings back only the reply, by a
tiny ``getitem(·, 0)`` task on the same worker, so the only bytes that cross
the network per round are the broadcast payload (one or two parameter
vectors) and the replies (a few parameter vectors).

Two things keep Dask from moving shards on its own. A worker never has more
of a round's tasks than threads (the next one is submitted when one
finishes): a task waiting in a worker's queue is what work stealing hands to
an idle worker, shard and state included. And shards and states report
their real size (``dask.sizeof``), so the scheduler's cost model knows that
moving them is expensive.

Fault tolerance
---------------
Nothing is scattered. Every future of a fit has a task that can recompute it:

* :meth:`DaskBackend.from_numpy` creates each shard by a task whose
  arguments *are* the row block (the client's data travel inside the task
  specification), so the scheduler can rebuild a lost shard on its own;
* :meth:`DaskBackend.from_dask_arrays` creates each shard from the persisted
  chunks of the user's arrays, which Dask can recompute from their graph;
* each round's state future depends on the shard and on the previous state.
  The scheduler keeps the specifications of released ancestors of futures a
  client still holds, so when a worker dies it recomputes the lost shard and
  replays the chain of rounds for it (all pure functions of their inputs), and
  the fit continues with the same numbers (verified by the tests: a worker
  restarted mid-fit, same solution to 1e-8 and the same rounds).

Data Dask cannot recompute (scattered data behind the user's arrays) lost
with a worker stops the fit with a ``RuntimeError`` naming the round; a
worker that keeps dying, with Dask's ``KilledWorker`` and a note naming the
round: never a silently different result.

The price is memory on the scheduler: the row blocks of ``from_numpy`` (one
copy, for the whole fit) and the broadcast payloads of every past round
(about ``rounds × m × D × 8`` bytes), all released by :meth:`close`.
"""

import math
import uuid
import warnings
from collections import deque
from concurrent.futures import CancelledError
from contextlib import contextmanager
from functools import partial

import numpy as np
import scipy.sparse as sp
from dask.sizeof import sizeof

from .._array_api import from_numpy, get_namespace, to_numpy
from .._objectives import ShardData
from .._shard import ShardState
from ._base import ShardBackend

__all__ = [
    "DaskBackend",
    "active_client_or_none",
    "cluster_threads",
    "get_active_client",
    "shard_bounds_for_dask_chunks",
]

_NO_CLIENT_MESSAGE = (
    "backend='dask' needs a running Dask client, and none was found. Start one "
    "before calling fit, e.g. `from distributed import Client; client = Client()` "
    "for a local cluster, or `Client('tcp://scheduler-address:8786')` to connect "
    "to an existing cluster."
)


def get_active_client():
    """The Dask client of the current context (``distributed.get_client()``).

    Returns
    -------
    distributed.Client

    Raises
    ------
    ValueError
        If no client is running, with instructions for starting one.
    """
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise ValueError(_NO_CLIENT_MESSAGE) from None


def active_client_or_none():
    """The Dask client of the current context, or None if there is none."""
    try:
        return get_active_client()
    except ValueError:
        return None


def shard_bounds_for_dask_chunks(chunks, n_params, n_outputs, *, min_rows=0, max_shards=None):
    """Row chunk sizes after merging chunks too small to be useful shards.

    A shard whose local Hessian is (nearly) singular poisons DINGO's averaged
    directions (ALGORITHM.md §6), and Dask arrays often end in a short chunk.
    A chunk is *small* when ``n_j < median / 4`` (median of the non-empty
    input chunks), ``n_j · max(K − 1, 1) < D`` or ``n_j < min_rows``.
    Repeatedly, the smallest small chunk is merged into its smaller neighbour
    (the left one on a tie), until no chunk is small and at most
    ``max_shards`` are left, or one chunk is left. Chunks are never split.

    Parameters
    ----------
    chunks : sequence of int
        Row counts of the chunks, in order (e.g. ``X.chunks[0]``).
    n_params : int
        ``D``, the number of parameters of the model.
    n_outputs : int
        ``K``, columns of the coefficient matrix (1 for the binary model).
    min_rows : int, default=0
        Rows a shard should have at least (the estimators ask for 50 per
        parameter unless given ``n_shards``: fewer cost many more iterations).
    max_shards : int, optional
        Shards to keep at most.

    Returns
    -------
    tuple of int
        The merged row counts, in order, with the same total. Cumulative sums
        ``np.cumsum((0, *sizes))`` are row bounds for the in-process
        :func:`~sklearn_dingo._backends.split_rows`, which then reproduces the
        same shards.
    """
    if any(not math.isfinite(c) or c < 0 or c != int(c) for c in chunks):
        raise ValueError(
            f"chunk sizes must be known non-negative integers, got {tuple(chunks)} "
            "(compute unknown sizes first, e.g. with `compute_chunk_sizes()`)."
        )
    sizes = [int(c) for c in chunks]
    if not sizes:
        return ()
    nonempty = [c for c in sizes if c > 0]
    median = float(np.median(nonempty)) if nonempty else 0.0
    min_rows = max(int(n_params) / max(int(n_outputs) - 1, 1), float(min_rows))
    max_shards = len(sizes) if max_shards is None else int(max_shards)

    def small(c):
        return c < median / 4 or c < min_rows

    while len(sizes) > 1:
        candidates = [j for j, c in enumerate(sizes) if small(c)]
        if not candidates and len(sizes) > max_shards:
            candidates = range(len(sizes))
        if not candidates:
            break
        j = min(candidates, key=lambda i: (sizes[i], i))
        if j == 0:
            k = 1
        elif j == len(sizes) - 1:
            k = j - 1
        else:
            k = j - 1 if sizes[j - 1] <= sizes[j + 1] else j + 1
        lo = min(j, k)
        sizes[lo : lo + 2] = [sizes[j] + sizes[k]]
    return tuple(sizes)


# -- sizes the scheduler sees -------------------------------------------------------
# Workers report each result's size with ``dask.sizeof``, whose fallback for an
# unknown object is ``sys.getsizeof``: a few dozen bytes for a shard of many
# megabytes. The scheduler would then think moving a shard or a state is free
# (work stealing, memory accounting, the dashboard). Workers import this module
# (to unpickle the task functions below) before they size a result.
@sizeof.register(ShardData)
def _sizeof_shard(shard):
    size = sizeof(shard.X) + sizeof(shard.Y) + sizeof(shard.sample_weight) + 64
    if "X_single" in vars(shard):  # the float32 copy, once a round A made it
        size += sizeof(shard.X_single)
    return size


@sizeof.register(ShardState)
def _sizeof_state(state):
    arrays = [state.w, state.eta, state.direction, state.eta_direction, state.damped_direction]
    if state.solver is not None:  # eigendecomposition of an exact solver, if any
        arrays.extend(value for value in vars(state.solver).values() if hasattr(value, "nbytes"))
    return sum(sizeof(a) for a in arrays if a is not None) + 64


# -- functions that run on the workers (top level, so that they pickle) --------
def _make_shard(X, Y, sample_weight):
    """A ShardData from one row block; SciPy sparse blocks become CSR matrices.

    Targets and weights are moved to the namespace and device of X, so a
    CuPy chunk computes on the GPU that holds it.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        if isinstance(X, np.ndarray) and X.ctypes.data % X.dtype.alignment:
            # Arrays unpickled from a message can start at an unaligned address,
            # where BLAS runs several times slower: one aligned copy per fit.
            X = np.array(X, copy=True)
        xp = get_namespace(X)
        Y = from_numpy(to_numpy(Y), xp, like=X)
        sample_weight = from_numpy(to_numpy(sample_weight), xp, like=X)
    return ShardData(X, Y, sample_weight, float(get_namespace(sample_weight).sum(sample_weight)))


def _shard_summary(shard):
    """Rows, weight sum, worker address and worker threads of a built shard."""
    from distributed import get_worker

    worker = get_worker()
    return shard.n_samples, shard.weight_sum, worker.address, worker.state.nthreads


def _run_round(func, shard, previous, payload, static):
    """One shard's round: ``func(shard, state, *payload, **static) -> (reply, state)``."""
    state = None if previous is None else previous[1]
    return func(shard, state, *payload, **static)


def _reply_and_address(result):
    """A round's reply and the worker holding the round's state."""
    from distributed import get_worker

    return result[0], get_worker().address


class _Handles:
    """One round's result futures (``(reply, state)`` per shard) and where they run."""

    __slots__ = ("futures", "addresses")

    def __init__(self, futures, addresses):
        self.futures = futures
        self.addresses = addresses

    def __len__(self):
        return len(self.futures)

    def __getitem__(self, j):
        return self.futures[j]

    @property
    def keys(self):
        return [f.key for f in self.futures]


class DaskBackend(ShardBackend):
    """Shards as futures on the workers of a Dask cluster, one task per shard and round.

    Build one with :meth:`from_numpy` (in-memory data sent to the cluster) or
    :meth:`from_dask_arrays` (data already on the cluster); use it as a
    context manager (or call :meth:`close`) so that the cluster's memory is
    released after the fit.

    Parameters
    ----------
    client : distributed.Client
    shards : list of distributed.Future
        Futures of :class:`~sklearn_dingo._objectives.ShardData` of positive weight.
    weight_sums : array-like of shape (m,)
        ``S_j`` of each shard.

    Attributes
    ----------
    weight_sums : ndarray of shape (m,)
        ``S_j`` of each shard; their sum is the objective's ``total_weight``.
    token : str
        Suffix of every task key of this fit (unique per backend).
    reply_nbytes : list of int
        Size (``dask.sizeof``) of every reply gathered to the client, in order:
        the only data that travel from the workers to the driver.
    """

    def __init__(self, client, shards, weight_sums):
        super().__init__(weight_sums)
        if len(shards) != len(self.weights):
            raise ValueError(f"got {len(shards)} shards but {len(self.weights)} weight sums.")
        self.client = client
        self.weight_sums = np.asarray(weight_sums, dtype=np.float64)
        self.shards = list(shards)
        self.token = uuid.uuid4().hex[:12]
        self.reply_nbytes = []
        self.last_handles = None
        self._names = {}
        self._closed = False
        # Where each shard's latest state lives, as reported by the workers
        # with every reply (None: ask the scheduler), and the workers' threads:
        # kept here so that a round costs no scheduler queries of its own.
        self._state_addresses = None
        self._shard_addresses = None
        self._nthreads = {}

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_numpy(cls, client, X, Y, sample_weight, bounds):
        """Send row blocks of in-memory data to the cluster, one shard per block.

        Blocks are spread over the workers' threads round-robin. Each shard is
        created by a task that carries its block, so the scheduler can rebuild
        it if its worker dies (see the module docstring); blocks of zero
        weight are dropped, as by :func:`~sklearn_dingo._backends.split_rows`.

        Parameters
        ----------
        client : distributed.Client
        X : ndarray of shape (n, d) or scipy.sparse CSR matrix
        Y : ndarray of shape (n, K)
            Targets encoded by the objective.
        sample_weight : ndarray of shape (n,)
        bounds : sequence of int
            Row boundaries ``0 = b_0 < … < b_m = n`` of the blocks (e.g. from
            :func:`~sklearn_dingo._backends.even_row_bounds`).

        Returns
        -------
        DaskBackend

        Notes
        -----
        The scheduler keeps the blocks (inside the shards' task
        specifications) until :meth:`close`, to rebuild shards lost with a
        worker: the data cost one extra copy there for the fit's duration.
        """
        from ._local import row_block_view

        n = X.shape[0]
        bounds = [int(b) for b in bounds]
        if len(bounds) < 2 or bounds[0] != 0 or bounds[-1] != n or any(
            a >= b for a, b in zip(bounds[:-1], bounds[1:])
        ):
            raise ValueError(
                f"bounds must increase strictly from 0 to the number of rows ({n}), got {bounds}."
            )
        if sp.issparse(X) and X.format != "csr":
            X = sp.csr_matrix(X)
        slots = _worker_slots(client)
        token = uuid.uuid4().hex[:12]
        shards = []
        with warnings.catch_warnings():
            # The blocks are deliberately part of the task specifications: that
            # is what lets the scheduler rebuild a shard whose worker died
            # (scattered data could not be recomputed). Each block is sent once.
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            for start, stop in zip(bounds[:-1], bounds[1:]):
                s = sample_weight[start:stop]
                total = float(np.sum(s))
                if not total > 0:
                    continue
                j = len(shards)
                block = (row_block_view(X, start, stop), Y[start:stop, ...], s)
                shards.append(_submit_shard(client, block, f"{j}-{token}", slots[j % len(slots)]))
        return cls._from_submitted(client, shards)

    @classmethod
    def _from_submitted(cls, client, shards, expected_rows=None):
        """The backend of shard futures just submitted, once they are built.

        One gather waits for every shard and brings back its rows, weight sum,
        worker and that worker's threads: the first round is placed without
        asking the scheduler anything. Shards of zero weight are released.
        """
        if not shards:
            raise ValueError("Sample weights must not all be zero.")
        with _round_errors("build shards"):
            summaries = client.gather(client.map(_shard_summary, shards, pure=False))
        rows = tuple(int(n) for n, _, _, _ in summaries)
        if expected_rows is not None and rows != tuple(expected_rows):  # pragma: no cover
            raise RuntimeError(f"expected chunks of {tuple(expected_rows)} rows, the workers hold {rows}.")
        kept = [j for j, (_, total, _, _) in enumerate(summaries) if total > 0]
        for j in sorted(set(range(len(shards))) - set(kept)):
            shards[j].release()
        if not kept:
            raise ValueError("Sample weights must not all be zero.")
        backend = cls(client, [shards[j] for j in kept], [summaries[j][1] for j in kept])
        backend._shard_addresses = [summaries[j][2] for j in kept]
        backend._nthreads = {address: threads for _, _, address, threads in summaries}
        return backend

    @classmethod
    def from_dask_arrays(cls, client, X, Y, sample_weight, *, n_params, n_outputs, min_rows=0, max_shards=None):
        """Shards from the row chunks of Dask arrays, built where the chunks live.

        The arrays are rechunked to one column chunk and to the merged row
        chunks of :func:`shard_bounds_for_dask_chunks` (unknown chunk sizes
        are computed first), persisted, and each shard is created on the
        worker that holds its chunk of X: X never travels to the client. Only
        the chunks' row counts and weight sums (scalars) are gathered. Chunks
        of zero weight are dropped.

        Parameters
        ----------
        client : distributed.Client
        X : dask.array.Array of shape (n, d)
            Chunks are NumPy arrays (or other dense arrays) or SciPy sparse
            matrices.
        Y : dask.array.Array of shape (n, K)
            Targets encoded by the objective, float.
        sample_weight : dask.array.Array of shape (n,)
        n_params, n_outputs : int
            ``D`` and ``K`` of the model, for the chunk-merging rule.
        min_rows, max_shards : int, optional
            Further merging, see :func:`shard_bounds_for_dask_chunks`.

        Returns
        -------
        DaskBackend
        """
        import dask
        from distributed import futures_of

        if X.ndim != 2 or Y.ndim != 2 or sample_weight.ndim != 1:
            raise ValueError(
                "X and Y must be 2-D and sample_weight 1-D Dask arrays, got "
                f"{X.ndim}-D, {Y.ndim}-D and {sample_weight.ndim}-D."
            )
        arrays = [X, Y, sample_weight]
        first_persisted = None
        if any(math.isnan(c) for a in arrays for axis in a.chunks for c in axis):
            # Compute whatever produced the unknown sizes (e.g. a boolean mask)
            # once, keep it on the cluster, and read the sizes off the blocks.
            arrays = first_persisted = client.persist(arrays)
            with dask.config.set(scheduler=client):
                for a in arrays:
                    a.compute_chunk_sizes()
        X, Y, sample_weight = arrays
        n = X.shape[0]
        if Y.shape[0] != n or sample_weight.shape[0] != n:
            raise ValueError(
                f"X, Y and sample_weight must have the same number of rows, got "
                f"{n}, {Y.shape[0]} and {sample_weight.shape[0]}."
            )
        if n == 0:
            raise ValueError("X has no rows.")
        rows = shard_bounds_for_dask_chunks(
            X.chunks[0], n_params, n_outputs, min_rows=min_rows, max_shards=max_shards
        )
        rows = tuple(r for r in rows if r > 0)
        X = X.rechunk((rows, (X.shape[1],)))
        Y = Y.rechunk((rows, (Y.shape[1],)))
        sample_weight = sample_weight.rechunk((rows,))
        X, Y, sample_weight = client.persist([X, Y, sample_weight])
        del arrays, first_persisted  # the rechunked arrays depend on them
        chunk_futures = []
        for a in (X, Y, sample_weight):
            by_key = {f.key: f for f in futures_of(a)}
            chunk_futures.append([by_key[k] for k in _row_chunk_keys(a)])
        token = uuid.uuid4().hex[:12]
        # Not pinned: the scheduler runs each task where its chunk of X (its
        # largest input) is, so X does not move.
        shards = [
            _submit_shard(client, chunk, f"{j}-{token}", None)
            for j, chunk in enumerate(zip(*chunk_futures))
        ]
        backend = cls._from_submitted(client, shards, expected_rows=rows)
        # Once built, the shards alone reference the chunks (the same objects in
        # the workers' memory, not copies); the scheduler keeps the chunks'
        # lineage as long as the shards are held.
        del X, Y, sample_weight, chunk_futures
        return backend

    # -- rounds ------------------------------------------------------------------
    def _unique_name(self, name):
        count = self._names.get(name, 0)
        self._names[name] = count + 1
        return name if count == 0 else f"{name}-r{count}"

    def _locations(self, handles):
        """Where each shard's next task should run (None while a lost shard is rebuilt).

        That is where the shard's previous state is, as its worker reported
        with the last reply (for the first round: where the shard was built):
        every round of the driver is reduced before the next starts, so this
        costs no query. Only a round after a worker change asks the scheduler
        which worker holds each shard (of several, the one also holding the
        previous state).
        """
        if handles is not None and self._state_addresses is not None:
            return list(self._state_addresses)
        if handles is None and self._shard_addresses is not None:
            return list(self._shard_addresses)  # as reported when the shards were built
        previous = [] if handles is None else list(handles.futures)
        who_has = self.client.who_has(self.shards + previous)
        locations = []
        for j, shard in enumerate(self.shards):
            shard_holders = list(who_has.get(shard.key, ()))
            state_holders = list(who_has.get(previous[j].key, ())) if previous else []
            both = [address for address in state_holders if address in shard_holders]
            locations.append(next(iter(both or shard_holders or state_holders), None))
        return locations

    def _worker_threads(self, addresses):
        """Threads of each worker, queried again only when an unknown worker appears."""
        if any(a is not None and a not in self._nthreads for a in addresses):
            self._nthreads = dict(self.client.nthreads())
        return dict(self._nthreads)

    def _map(self, name, func, handles, payload, static):
        if self._closed:
            raise RuntimeError("this DaskBackend is closed.")
        from distributed import as_completed

        tag = self._unique_name(name)
        futures = [None] * self.n_shards

        def submit(j):
            futures[j] = self.client.submit(
                _run_round,
                func,
                self.shards[j],
                None if handles is None else handles[j],
                payload,
                static,
                key=f"dingo-{tag}-shard{j}-{self.token}",
                pure=False,
                **_pinned(addresses[j]),
            )
            return futures[j]

        with _round_errors(tag):
            addresses = self._locations(handles)
            # No more tasks on a worker than it has threads: a task waiting in a
            # worker's queue is what Dask's work stealing moves to an idle worker,
            # with its shard and state. The next task of a worker is submitted
            # when one of its tasks finishes.
            free = self._worker_threads(addresses)
            waiting = {address: deque() for address in free}
            running = as_completed(loop=self.client.loop)
            for j, address in enumerate(addresses):
                if address not in free:  # being rebuilt, or a worker that just left
                    submit(j)
                elif free[address] > 0:
                    free[address] -= 1
                    running.add(submit(j))
                else:
                    waiting[address].append(j)
            n_waiting = sum(len(queue) for queue in waiting.values())
            if n_waiting:
                index = {future.key: j for j, future in enumerate(futures) if future is not None}
                for done in running:
                    queue = waiting[addresses[index[done.key]]]
                    if queue:
                        j = queue.popleft()
                        running.add(submit(j))
                        index[futures[j].key] = j
                        n_waiting -= 1
                        if not n_waiting:
                            break
        self.last_handles = _Handles(futures, addresses)
        return self.last_handles

    def _gather_replies(self, handles):
        # Not pinned: a task's only dependency decides where it runs, so each
        # reply task runs where its (reply, state) is, and says which worker
        # that is (the next round's placement, with no scheduler query).
        reply_futures = [
            self.client.submit(
                _reply_and_address,
                future,
                key="dingo-reply-" + future.key.removeprefix("dingo-"),
                pure=False,
            )
            for future in handles.futures
        ]
        with _round_errors(handles.keys[0].removeprefix("dingo-").rsplit("-shard", 1)[0]):
            gathered = self.client.gather(reply_futures)
        replies = [reply for reply, _ in gathered]
        addresses = [address for _, address in gathered]
        # A worker that moved a state is fine; a state on a worker we do not
        # know means the cluster changed: ask the scheduler next round.
        known = self._state_addresses is None or set(addresses) <= set(self._nthreads)
        self._state_addresses = addresses if known else None
        self.reply_nbytes.extend(int(sizeof(reply)) for reply in replies)
        return replies

    def close(self):
        """Release the shards and the last round's results on the cluster."""
        if self._closed:
            return
        self._closed = True
        if self.last_handles is not None:
            for future in self.last_handles.futures:
                future.release()
            self.last_handles = None
        for future in self.shards:
            future.release()
        self.shards = []


@contextmanager
def _round_errors(round_name):
    """Say which round failed; turn unrecoverable data loss into a clear error."""
    try:
        yield
    except CancelledError as exc:
        raise RuntimeError(
            f"DINGO round {round_name!r} failed: data of the fit on the Dask cluster "
            "were lost and cannot be recomputed (a worker died holding data that Dask "
            "has no recipe for, such as scattered data behind the input arrays, or the "
            "futures were cancelled). The fit was stopped rather than continued on "
            f"fewer rows. Dask said: {exc}"
        ) from exc
    except Exception as exc:
        exc.add_note(f"(in DINGO round {round_name!r} on the Dask cluster)")
        raise


def _submit_shard(client, parts, tag, address):
    """Future of the ShardData built from ``parts = (X, Y, sample_weight)`` on ``address``."""
    return client.submit(_make_shard, *parts, key=f"dingo-shard{tag}", pure=False, **_pinned(address))


def _pinned(address):
    """Submit options that run a task on ``address`` if it is alive, elsewhere otherwise."""
    if address is None:
        return {}
    return {"workers": [address], "allow_other_workers": True}


def cluster_threads(client):
    """Total worker threads of the client's cluster (e.g. to choose a number of shards).

    Raises
    ------
    ValueError
        If the cluster has no workers.
    """
    return len(_worker_slots(client))


def _worker_slots(client):
    """Worker addresses, each repeated once per thread, interleaved (for round-robin)."""
    threads = dict(sorted(client.nthreads().items()))
    if not threads:
        raise ValueError("The Dask cluster has no workers; start some before fitting.")
    slots = []
    for t in range(max(threads.values())):
        slots.extend(address for address, n in threads.items() if n > t)
    return slots


def _row_chunk_keys(array):
    """Keys of the chunks of an array with one column chunk, in row order."""
    keys = array.__dask_keys__()
    return [k[0] if array.ndim == 2 else k for k in keys]


# -- Dask inputs of the estimators ------------------------------------------------
# The estimators hand Dask collections here and get back Dask arrays, NumPy
# summaries (classes, weight sums) or lazy results: everything that touches
# Dask stays in this module.


def as_dask_features(X, *, lengths=False):
    """X as a 2-D Dask array with one column chunk, and its feature names (or None).

    Dask DataFrames become arrays, with their partition lengths computed
    (counts only) if ``lengths`` (fitting needs row counts; lazy prediction
    does not and computes nothing); their string column names are the
    feature names, as scikit-learn's ``feature_names_in_``.
    """
    import dask.array as da
    import dask.dataframe as dd

    feature_names = None
    if isinstance(X, dd.DataFrame):
        columns = list(X.columns)
        if columns and all(isinstance(c, str) for c in columns):
            feature_names = np.asarray(columns, dtype=object)
        X = X.to_dask_array(lengths=lengths or None)
    elif isinstance(X, dd.Series):
        raise ValueError(
            "Expected a 2-D Dask array or Dask DataFrame for X, got a Dask Series; "
            "use X.to_frame() for a single feature."
        )
    if not isinstance(X, da.Array):
        X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array for X, got a {X.ndim}-D Dask array of shape {X.shape}.")
    if X.dtype != np.float64:
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X, feature_names


def _as_rows(name, v, row_chunks):
    """A 1-D Dask array aligned with the row chunks of X."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(v, (dd.Series, dd.DataFrame)):
        if isinstance(v, dd.DataFrame):
            if len(v.columns) != 1:
                raise ValueError(f"{name} must be 1-D, got a Dask DataFrame with {len(v.columns)} columns.")
            v = v[v.columns[0]]
        v = v.to_dask_array(lengths=True)
    elif not isinstance(v, da.Array):
        v = np.asarray(v)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1 or v.shape[0] != sum(row_chunks):
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"[{sum(row_chunks)}, {v.shape[0] if v.ndim else 1}] (X and {name})."
            )
        return da.from_array(v, chunks=(row_chunks,))
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got a Dask array of shape {v.shape}.")
    if any(math.isnan(c) for c in v.chunks[0]):
        v = v.compute_chunk_sizes()
    if v.shape[0] != sum(row_chunks):
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{sum(row_chunks)}, {v.shape[0]}] (X and {name})."
        )
    return v.rechunk((row_chunks,))


def as_dask_training_data(X, y, sample_weight, client=None):
    """Aligned Dask arrays ``(X, y, sample_weight or None, feature_names)``.

    Unknown row chunk sizes of X are computed (not rejected); y and the
    weights may be Dask arrays or Series (rechunked to X's rows) or in-memory
    arrays (cut into X's row chunks).

    With a ``client``, Dask inputs are first persisted on its cluster, so
    that whatever produces them (reading files, a DataFrame pipeline) runs
    once for the whole fit: the row counts, the target summary and the
    shards are then all made from the workers' memory.
    """
    if client is not None:
        X, y, sample_weight = _persisted(client, X, y, sample_weight)
    X, feature_names = as_dask_features(X, lengths=True)
    if any(math.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    row_chunks = X.chunks[0]
    y = _as_rows("y", y, row_chunks)
    if sample_weight is not None:
        sample_weight = _as_rows("sample_weight", sample_weight, row_chunks).astype(np.float64)
    return X, y, sample_weight, feature_names


def _persisted(client, *collections):
    """The Dask collections among ``collections`` persisted on the cluster, others as given."""
    import dask

    dask_positions = [j for j, c in enumerate(collections) if dask.is_dask_collection(c)]
    persisted = client.persist([collections[j] for j in dask_positions])
    out = list(collections)
    for j, collection in zip(dask_positions, persisted):
        out[j] = collection
    return out


def _chunk_summary(X_block, y_block, s_block):
    """Per-chunk labels, their weight sums, and what is wrong with the chunk, if anything.

    X is checked in its own namespace (a CuPy chunk on its GPU); labels and
    weights are small and come to the host.
    """
    values = X_block.data if sp.issparse(X_block) else X_block
    xp = get_namespace(values)
    problems = []
    if bool(xp.any(xp.isnan(values))):
        problems.append("Input X contains NaN.")
    elif not bool(xp.all(xp.isfinite(values))):
        problems.append("Input X contains infinity or a value too large for dtype('float64').")
    y_block = to_numpy(y_block)
    s = np.ones(len(y_block)) if s_block is None else to_numpy(s_block).astype(np.float64)
    if not np.isfinite(s).all():
        problems.append("Input sample_weight contains NaN or infinity.")
    elif (s < 0).any():
        problems.append("Negative values in data passed to `sample_weight`")
    labels, index = np.unique(y_block, return_inverse=True)
    sums = np.bincount(index.reshape(-1), weights=s, minlength=len(labels))
    return labels, sums, problems


def target_summary(X, y, sample_weight):
    """Classes and per-class weight sums, with X and the weights checked.

    One pass over the chunks on the cluster; only per-chunk label sets and
    weight sums (small) come back to the client, never X.

    Raises
    ------
    ValueError
        If X has non-finite values or the weights are negative or non-finite,
        with scikit-learn's wording.
    """
    import dask

    Xd = X.to_delayed().ravel()
    yd = y.to_delayed().ravel()
    sd = [None] * len(yd) if sample_weight is None else sample_weight.to_delayed().ravel()
    summarise = dask.delayed(_chunk_summary, pure=True)
    parts = dask.compute(*[summarise(a, b, c) for a, b, c in zip(Xd, yd, sd)])
    problems = sorted({p for _, _, found in parts for p in found})
    if problems:
        raise ValueError(" ".join(problems))
    classes = np.unique(np.concatenate([labels for labels, _, _ in parts]))
    sums = np.zeros(len(classes))
    for labels, chunk_sums, _ in parts:
        sums[np.searchsorted(classes, labels)] += chunk_sums
    return classes, sums


def _encode_block(y_block, s_block, classes, class_weights, objective):
    """Encoded targets and final weights of one chunk, side by side: shape (n, K + 1)."""
    index = np.searchsorted(classes, to_numpy(y_block))
    s = to_numpy(s_block).astype(np.float64)
    return np.concatenate([objective.encode_targets(index), (s * class_weights[index])[:, None]], axis=1)


def encode_targets(y, sample_weight, classes, class_weights, objective):
    """Lazy encoded targets Y (n, K) and final weights (n,) chunk by chunk on the workers."""
    import dask.array as da

    K = objective.n_outputs
    if sample_weight is None:
        sample_weight = da.ones(y.shape[0], chunks=y.chunks, dtype=np.float64)
    encode = partial(_encode_block, classes=classes, class_weights=class_weights, objective=objective)
    encoded = da.map_blocks(
        encode, y, sample_weight, new_axis=1, chunks=(y.chunks[0], (K + 1,)), dtype=np.float64
    )
    return encoded[:, :K], encoded[:, K]


def compute_in_process(X, Y, sample_weight, *, n_params, n_outputs, min_rows=0, max_shards=None):
    """Dask arrays computed into memory, with the row bounds a cluster fit would use.

    For Dask inputs without a distributed client: Dask's local scheduler
    computes the chunks, and the shards are the (merged) row chunks, exactly
    as :meth:`DaskBackend.from_dask_arrays` would make them on a cluster.
    """
    import dask

    sizes = shard_bounds_for_dask_chunks(
        X.chunks[0], n_params, n_outputs, min_rows=min_rows, max_shards=max_shards
    )
    X, Y, sample_weight = dask.compute(X, Y, sample_weight)
    bounds = np.cumsum((0, *(r for r in sizes if r > 0))).tolist()
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    return X, Y, sample_weight, bounds


def map_rows(func, X, n_columns, dtype=np.float64):
    """Lazy ``func`` over the row blocks of X, of shape (n,) or (n, n_columns).

    Nothing is computed: the result is a Dask array whose blocks are
    computed where X's blocks live.
    """
    meta = np.empty((0,) if n_columns is None else (0, 0), dtype=dtype)
    if n_columns is None:
        return X.map_blocks(func, drop_axis=1, meta=meta)
    return X.map_blocks(func, chunks=(X.chunks[0], (n_columns,)), meta=meta)
