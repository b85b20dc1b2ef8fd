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
  the fit continues with the same numbers. A worker that keeps dying fails
  the fit with Dask's ``KilledWorker``, with a note naming the round: never a
  silently different result.

The price is memory on the scheduler: the row blocks of ``from_numpy`` (one
copy, for the whole fit) and the broadcast payloads of every past round
(about ``rounds × m × D × 8`` bytes), all released by :meth:`close`.
"""

import math
import operator
import uuid
import warnings
from concurrent.futures import CancelledError
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from .._objectives import ShardData
from ._base import ShardBackend

__all__ = [
    "DaskBackend",
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


def shard_bounds_for_dask_chunks(chunks, n_params, n_outputs):
    """Row chunk sizes after merging chunks too small to be useful shards.

    A shard whose local Hessian is (nearly) singular poisons DINGO's averaged
    directions (ALGORITHM.md §6), and Dask arrays often end in a short chunk.
    A chunk is *small* when ``n_j < median / 4`` (median of the non-empty
    input chunks) or ``n_j · max(K − 1, 1) < D``. Repeatedly, the smallest
    small chunk is merged into its smaller neighbour (the left one on a tie),
    until no chunk is small or one chunk is left.

    Parameters
    ----------
    chunks : sequence of int
        Row counts of the chunks, in order (e.g. ``X.chunks[0]``).
    n_params : int
        ``D``, the number of parameters of the model.
    n_outputs : int
        ``K``, columns of the coefficient matrix (1 for the binary model).

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
    min_rows = int(n_params) / max(int(n_outputs) - 1, 1)

    def small(c):
        return c < median / 4 or c < min_rows

    while len(sizes) > 1:
        candidates = [j for j, c in enumerate(sizes) if small(c)]
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


# -- functions that run on the workers (top level, so that they pickle) --------
def _make_shard(X, Y, sample_weight, weight_sum):
    """A ShardData from one row block; SciPy sparse blocks become CSR matrices."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    return ShardData(X, Y, sample_weight, float(weight_sum))


def _run_round(func, shard, previous, payload, static):
    """One shard's round: ``func(shard, state, *payload, **static) -> (reply, state)``."""
    state = None if previous is None else previous[1]
    return func(shard, state, *payload, **static)


def _n_rows(block):
    return int(block.shape[0])


def _weight_sum(block):
    return float(block.sum())


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

    @property
    def total_weight(self):
        """``S = Σ_j S_j``, the objective's ``total_weight``."""
        return float(self.weight_sums.sum())

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
        shards, sums = [], []
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
                shards.append(
                    client.submit(
                        _make_shard,
                        row_block_view(X, start, stop),
                        Y[start:stop, ...],
                        s,
                        total,
                        key=f"dingo-shard{j}-{token}",
                        pure=False,
                        **_pinned(slots[j % len(slots)]),
                    )
                )
                sums.append(total)
        if not shards:
            raise ValueError("Sample weights must not all be zero.")
        _wait(client, shards)
        return cls(client, shards, sums)

    @classmethod
    def from_dask_arrays(cls, client, X, Y, sample_weight, *, n_params, n_outputs):
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
        rows = shard_bounds_for_dask_chunks(X.chunks[0], n_params, n_outputs)
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
        x_futures, y_futures, s_futures = chunk_futures
        # Two scalars per chunk; gathering them also waits for the chunks.
        counts = client.gather(client.map(_n_rows, x_futures, pure=False))
        sums = client.gather(client.map(_weight_sum, s_futures, pure=False))
        if tuple(counts) != rows:  # pragma: no cover - a Dask invariant
            raise RuntimeError(f"expected chunks of {rows} rows, the workers hold {tuple(counts)}.")
        holders = client.who_has(x_futures)
        token = uuid.uuid4().hex[:12]
        shards, kept = [], []
        for j, total in enumerate(sums):
            if not total > 0:
                continue
            addresses = list(holders.get(x_futures[j].key, ()))
            shards.append(
                client.submit(
                    _make_shard,
                    x_futures[j],
                    y_futures[j],
                    s_futures[j],
                    total,
                    key=f"dingo-shard{len(kept)}-{token}",
                    pure=False,
                    **_pinned(addresses[0] if addresses else None),
                )
            )
            kept.append(total)
        if not shards:
            raise ValueError("Sample weights must not all be zero.")
        _wait(client, shards)
        # Once built, the shards alone reference the chunks (the same objects in
        # the workers' memory, not copies); the scheduler keeps the chunks'
        # lineage as long as the shards are held.
        del X, Y, sample_weight, chunk_futures, x_futures, y_futures, s_futures
        return cls(client, shards, kept)

    # -- rounds ------------------------------------------------------------------
    def _unique_name(self, name):
        count = self._names.get(name, 0)
        self._names[name] = count + 1
        return name if count == 0 else f"{name}-r{count}"

    def _locations(self):
        """Worker holding each shard now (None while a lost shard is rebuilt)."""
        who_has = self.client.who_has(self.shards)
        return [next(iter(who_has.get(f.key, ())), None) for f in self.shards]

    def _map(self, name, func, handles, payload, static):
        if self._closed:
            raise RuntimeError("this DaskBackend is closed.")
        tag = self._unique_name(name)
        futures = []
        with _round_errors(tag):
            addresses = self._locations()
            for j, (shard, address) in enumerate(zip(self.shards, addresses)):
                futures.append(
                    self.client.submit(
                        _run_round,
                        func,
                        shard,
                        None if handles is None else handles[j],
                        payload,
                        static,
                        key=f"dingo-{tag}-shard{j}-{self.token}",
                        pure=False,
                        **_pinned(address),
                    )
                )
        self.last_handles = _Handles(futures, addresses)
        return self.last_handles

    def _gather_replies(self, handles):
        from dask.sizeof import sizeof

        reply_futures = [
            self.client.submit(
                operator.getitem,
                future,
                0,
                key="dingo-reply-" + future.key.removeprefix("dingo-"),
                pure=False,
                **_pinned(address),
            )
            for future, address in zip(handles.futures, handles.addresses)
        ]
        with _round_errors(handles.keys[0].removeprefix("dingo-").rsplit("-shard", 1)[0]):
            replies = self.client.gather(reply_futures)
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


def _wait(client, futures):
    """Block until ``futures`` are computed (raising their errors), gathering nothing."""
    from distributed import wait

    with client.as_current():  # ``wait`` uses the current client
        wait(futures)


def _pinned(address):
    """Submit options that run a task on ``address`` if it is alive, elsewhere otherwise."""
    if address is None:
        return {}
    return {"workers": [address], "allow_other_workers": True}


def _worker_slots(client):
    """Worker addresses, each repeated once per thread, interleaved (for round-robin)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if not workers:
        raise ValueError("The Dask cluster has no workers.")
    threads = {address: int(info.get("nthreads", 1)) for address, info in sorted(workers.items())}
    slots = []
    for t in range(max(threads.values())):
        slots.extend(address for address, n in threads.items() if n > t)
    return slots


def _row_chunk_keys(array):
    """Keys of the chunks of an array with one column chunk, in row order."""
    keys = array.__dask_keys__()
    return [k[0] if array.ndim == 2 else k for k in keys]
