"""Dask backend, the engine: shards resident on the workers of a Dask cluster for a fit.

Shards, rounds, replies, placement and the rebalancing of rows live here, with
the client side in :mod:`._dask_client` and what runs on the workers in
:mod:`._dask_tasks`; Dask collections in and out (inputs, target summary,
label encoding, lazy prediction) in :mod:`._dask_collections`. These
``_dask*`` modules are the only ones of the package that import Dask.

How a fit runs on the cluster
-----------------------------
Every shard is one future of a :class:`~sklearn_dingo._objectives.ShardData`
living on one worker. A round of the driver is one graph of one task per
shard, ``dingo-{round}-shard{j}-{token}``, pinned to the worker that holds the
shard and taking, *by reference*, the shard future and the previous round's
result future of that shard. The task returns ``(reply, state)``; the state
(margins, search direction, the local solver with its eigendecomposition,
...) never leaves the worker, and the reply comes back by itself: the task
publishes it as it ends, and the client receives it with the news of the
end (:class:`~._dask_channel.ReplyChannel`). A round costs one link round
trip between the client side and the workers, and the only bytes that cross
it are the broadcast payload (one or two parameter vectors) and the replies
(a few parameter vectors). The shards are built, and the inputs read, the
same way: one batch each, summaries reported with the tasks' ends.

Two things keep Dask from moving shards on its own. A worker never has more
of a round's tasks than threads: one with more shards than threads runs a
group of shards in each task, one after the other
(``dingo-{round}-shards{i}_{j}-{token}``), since a task waiting in a worker's
queue is what work stealing hands to an idle worker, shard and state
included. (The batches that build shards, once, chain a worker's further
tasks behind its first ones instead.) And shards and states report their
real size (``dask.sizeof``), so the scheduler's cost model knows that moving
them is expensive. The shards themselves are built where the rows of X
already are (the same rule), and only :meth:`DaskBackend.rebalance_rows`
moves rows between workers, on purpose.

Fault tolerance
---------------
Nothing is scattered. Every future of a fit has a task that can recompute it:

* :meth:`DaskBackend.from_numpy` creates each shard by a task whose
  arguments *are* the row block (the client's data travel inside the task
  specification), so the scheduler can rebuild a lost shard on its own;
* :meth:`DaskBackend.from_dask_arrays` creates each shard from the persisted
  chunks of the user's arrays, which Dask can recompute from their graph;
* :meth:`DaskBackend.rebalance_rows` builds the rebalanced shards from
  pieces of the shards it replaces, so they too can be recomputed from that
  lineage;
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
copy, for the whole fit), the broadcast payloads of every past round
(about ``rounds × m × D × 8`` bytes) and the replies it keeps as events (at
most Dask's ``distributed.admin.low-level-log-length`` of them), all
released by :meth:`close`.
"""

import uuid
import warnings

import dask
import numpy as np
import scipy.sparse as sp
from dask.sizeof import sizeof
from dask.utils import parse_bytes

from ..._shard import ShardTiming
from .. import RebalanceCost, ShardBackend, row_indices, take_rows
from ._channel import Earlier, PlacedTask, ReplyChannel, thread_groups
from ._client import (
    active_client_or_none,
    cluster_threads,
    get_active_client,
    round_errors,
    worker_slots,
)
from ._tasks import (
    assemble_shard,
    make_encoded_shard,
    make_shard,
    round_replies,
    rows_of_shard,
    run_rounds,
    shard_summary,
)

__all__ = [
    "DaskBackend",
    "active_client_or_none",
    "cluster_threads",
    "get_active_client",
]

class _Handles:
    """One round: its tasks (one per group of shards) and their futures, where each shard ran.

    A task's result is the list of ``(reply, state)`` of its group's shards.
    """

    __slots__ = ("addresses", "futures", "groups", "tag", "tasks", "where")

    def __init__(self, tag, tasks, futures, groups, addresses):
        self.tag = tag
        self.tasks = tasks
        self.futures = futures
        self.groups = groups
        self.addresses = addresses
        self.where = {j: (g, position) for g, members in enumerate(groups) for position, j in enumerate(members)}

    def holder(self, j):
        """The future holding shard j's result, and the result's position in it."""
        g, position = self.where[j]
        return self.futures[g], position

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
    channel : ReplyChannel, optional
        The channel the shards were built through (one is opened otherwise);
        closed with the backend.

    Attributes
    ----------
    token : str
        Suffix of every task key of this fit (unique per backend).
    reply_nbytes : list of int
        Size (``dask.sizeof``) of every reply gathered to the client, in order:
        the only data that travel from the workers to the driver.
    """

    def __init__(self, client, shards, weight_sums, channel=None):
        super().__init__(weight_sums)
        if len(shards) != len(self.weights):
            raise ValueError(f"got {len(shards)} shards but {len(self.weights)} weight sums.")
        self.client = client
        self.channel = ReplyChannel(client) if channel is None else channel
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
        self._shard_rows = None
        self._shard_nbytes = None
        self._nthreads = {}
        self._rebalanceable = False  # only shards built from chunks where they live (from_chunks) can be rebalanced

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_numpy(cls, client, X, Y, sample_weight, rows):
        """Send rows of in-memory data to the cluster, one shard per selection of rows.

        Shards are spread over the workers' threads round-robin. Each shard is
        created by a task that carries its rows, so the scheduler can rebuild
        it if its worker dies (see the module docstring); shards of zero
        weight are dropped, as by :func:`~sklearn_dingo._backends.split_rows`.

        Parameters
        ----------
        client : distributed.Client
        X : ndarray of shape (n, d) or scipy.sparse CSR matrix
        Y : ndarray of shape (n, K)
            Targets encoded by the objective.
        sample_weight : ndarray of shape (n,)
        rows : list of slice or sequence of int
            The rows of each shard (e.g. every m-th row, from
            :func:`~sklearn_dingo._backends._local.row_slices`), or row
            boundaries ``0 = b_0 < … < b_m = n`` of contiguous blocks.

        Returns
        -------
        DaskBackend

        Notes
        -----
        The scheduler keeps the rows (inside the shards' task specifications)
        until :meth:`close`, to rebuild shards lost with a worker: the data
        cost one extra copy there for the fit's duration.
        """
        n = X.shape[0]
        if len(rows) and not isinstance(rows[0], slice):
            bounds = [int(b) for b in rows]
            if len(bounds) < 2 or bounds[0] != 0 or bounds[-1] != n or any(
                a >= b for a, b in zip(bounds[:-1], bounds[1:])
            ):
                raise ValueError(
                    f"bounds must increase strictly from 0 to the number of rows ({n}), got {bounds}."
                )
            rows = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        if sp.issparse(X) and X.format != "csr":
            X = sp.csr_matrix(X)
        slots = worker_slots(client)
        token = uuid.uuid4().hex[:12]
        tasks, selections = [], []
        for selection in rows:
            s = sample_weight[selection]
            if not float(np.sum(s)) > 0:
                continue
            block = (take_rows(X, selection), Y[selection, ...], s)
            j = len(tasks)
            tasks.append(PlacedTask(f"dingo-shard{j}-{token}", make_shard, block, slots[j % len(slots)], shard_summary))
            selections.append(selection)
        backend = cls._built_through(
            client, tasks, threads={a: slots.count(a) for a in set(slots)}, selections=selections
        )
        backend.rows_rebalanced = len(rows) > 1 and all(s.step == len(rows) for s in rows)  # row_slices(strided=True)
        return backend

    @classmethod
    def from_chunks(cls, client, parts, workers, rows=None, threads=None, encoding=None):
        """Shards built on given workers from the row blocks they hold, in one graph.

        Parameters
        ----------
        client : distributed.Client
        parts : list of tuple
            ``(X_blocks, Y_blocks, weight_blocks)`` of each shard: futures or
            delayed objects, or lists of them for consecutive row blocks
            (concatenated). With ``encoding``, the targets are labels and the
            weights raw (``weight_blocks`` None: all ones).
        workers : list of str
            Where each shard is built (where most of its X is).
        rows : sequence of int, optional
            Rows of each shard, checked against the built shards.
        threads : dict of str to int, optional
            Every worker's threads, so that no build waits in a worker's
            queue (:class:`~._dask_channel.ReplyChannel`).
        encoding : tuple, optional
            ``(classes, class_weights, objective)``: encode the labels where
            each shard is built (:func:`~._dask_tasks.make_encoded_shard`).

        Returns
        -------
        DaskBackend
            Its shards are the chunks as they are; :meth:`rebalance_rows` can rebalance them.
        """
        token = uuid.uuid4().hex[:12]
        func = make_shard if encoding is None else make_encoded_shard
        tasks = [
            PlacedTask(
                f"dingo-shard{j}-{token}", func, tuple(part) + (() if encoding is None else (encoding,)),
                workers[j], shard_summary,
            )
            for j, part in enumerate(parts)
        ]
        backend = cls._built_through(client, tasks, threads=threads, expected_rows=rows)
        backend._rebalanceable = True
        return backend

    @classmethod
    def _built_through(cls, client, tasks, threads=None, expected_rows=None, selections=None):
        """The backend of shards built by ``tasks``, in one batch of a new channel.

        Their summaries (rows, weight sum, worker and its threads) come back
        with their completion: the first round is placed without asking the
        scheduler anything. Shards of zero weight are released. The input's
        rows each shard holds are ``selections`` (one per task), or, by
        default, consecutive blocks in the order of the tasks.
        """
        if not tasks:
            raise ValueError("Sample weights must not all be zero.")
        channel = ReplyChannel(client)
        try:
            with warnings.catch_warnings():
                # In-memory rows are deliberately part of the task specifications:
                # that is what lets the scheduler rebuild a shard whose worker
                # died (scattered data could not be recomputed). Each row is sent once.
                warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
                shards = channel.submit("build", tasks, threads)
            kept, summaries = _built(channel, "build", shards, tasks, "build shards")
            rows = tuple(summary.rows for summary in summaries)
            if expected_rows is not None and rows != tuple(expected_rows):  # pragma: no cover
                raise RuntimeError(f"expected chunks of {tuple(expected_rows)} rows, the workers hold {rows}.")
            if not kept:
                raise ValueError("Sample weights must not all be zero.")
        except BaseException:
            channel.close()
            raise
        backend = cls(client, [shards[j] for j in kept], [summaries[j].weight_sum for j in kept], channel=channel)
        backend._adopt([summaries[j] for j in kept])
        if selections is None:
            bounds = np.cumsum((0, *rows))
            selections = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        backend.row_selections = [selections[j] for j in kept]
        return backend

    def _adopt(self, summaries):
        """Where the shards are, their rows and sizes, as their workers reported them."""
        self._shard_addresses = [summary.address for summary in summaries]
        self._shard_rows = [summary.rows for summary in summaries]
        self.shard_rows = list(self._shard_rows)
        self._shard_nbytes = [summary.nbytes for summary in summaries]
        self._nthreads.update({summary.address: summary.threads for summary in summaries})
        self._state_addresses = None
        holders = set(self._shard_addresses)
        self.concurrency = max(1, sum(self._nthreads.get(address, 1) for address in holders))

    # -- rebalancing rows --------------------------------------------------------------
    def _piece_rows(self):
        """Rows of shard i that rebalanced shard j takes: ``(first, count)`` for each (i, j).

        Rebalanced shard j holds the rows ``j, j + m, j + 2m, …`` of the whole
        input (in row order), exactly the strided shards in process
        (:func:`~sklearn_dingo._backends._local.row_slices`).
        """
        m = self.n_shards
        offsets = np.cumsum((0, *self._shard_rows))
        pieces = {}
        for i, n_i in enumerate(self._shard_rows):
            for j in range(m):
                first = (j - int(offsets[i])) % m
                pieces[i, j] = (first, len(range(first, n_i, m)))
        return pieces

    @property
    def bytes_per_second(self):
        """Dask's ``distributed.scheduler.bandwidth``: what the driver's cost model assumes for replies."""
        return float(parse_bytes(dask.config.get("distributed.scheduler.bandwidth")))

    def rebalance_cost(self):
        """Bytes that cross between workers to rebalance the rows, and their time at Dask's bandwidth.

        The time is the largest amount a worker receives over Dask's
        ``distributed.scheduler.bandwidth`` setting (the bandwidth Dask itself
        assumes when it plans transfers; set it to your network's). The move
        adds two rounds: the instruction to move, and the gather of the new
        shards' summaries.
        """
        if not self._rebalanceable or self.rows_rebalanced or self.n_shards < 2 or self._closed:
            return None
        incoming = {}
        for (i, j), (_, count) in self._piece_rows().items():
            source, target = self._shard_addresses[i], self._shard_addresses[j]
            if source != target and count:
                nbytes = count * self._shard_nbytes[i] / max(self._shard_rows[i], 1)
                incoming[target] = incoming.get(target, 0.0) + nbytes
        if not incoming:
            return RebalanceCost(nbytes=0, seconds=0.0, rounds=2)
        bandwidth = parse_bytes(dask.config.get("distributed.scheduler.bandwidth"))
        return RebalanceCost(
            nbytes=int(sum(incoming.values())), seconds=max(incoming.values()) / bandwidth, rounds=2
        )

    def _rebalance_rows(self):
        """Redistribute rows once so that rebalanced shard j holds every m-th row of the input.

        An all-to-all between the workers that hold the shards: shard i is cut
        where it lives into m pieces (every m-th row), and rebalanced shard j is
        assembled where shard j was from the j-th piece of every shard, so each
        row crosses the network at most once and every worker keeps as many
        shards as before. The new shards are tasks of the old ones, which
        stay recomputable from their own lineage: a worker lost during or
        after the move is rebuilt by Dask and the fit gives the same model.
        (:meth:`rebalance_rows` counts the move: :meth:`rebalance_cost`'s bytes.)

        Returns
        -------
        list of float
            ``S_j`` of the rebalanced shards.
        """
        m, token = self.n_shards, uuid.uuid4().hex[:12]
        piece_rows = self._piece_rows()
        order = sorted(piece_rows)  # (i, j) pairs
        threads = self._worker_threads(self._shard_addresses)
        # The pieces (cut where each shard lives) and the rebalanced shards
        # (made where each old shard was) go out in one graph; only the new
        # shards report, with their summaries.
        pieces = {
            (i, j): PlacedTask(
                f"dingo-rebalance-piece{i}-to{j}-{token}", rows_of_shard, (self.shards[i], piece_rows[i, j][0], m),
                self._shard_addresses[i],
            )
            for i, j in order
        }
        position = {pair: k for k, pair in enumerate(order)}
        rebalanced = [
            PlacedTask(
                f"dingo-rebalanced-shard{j}-{token}", assemble_shard,
                tuple(Earlier(position[i, j]) for i in range(m)), self._shard_addresses[j], shard_summary,
            )
            for j in range(m)
        ]
        tasks = [pieces[pair] for pair in order] + rebalanced
        futures = self.channel.submit(f"rebalance-{token}", tasks, threads)
        new_shards = futures[len(order):]
        kept, summaries = _built(self.channel, f"rebalance-{token}", futures, tasks, "rebalance rows")
        if not kept:  # pragma: no cover - the rows and their weights are the same
            raise RuntimeError("rebalancing the rows lost their weights.")
        self._release_futures()
        self.shards = [new_shards[j] for j in kept]
        self._adopt([summaries[j] for j in kept])
        if self.row_selections is not None:
            held = np.concatenate([row_indices(rows) for rows in self.row_selections])
            self.row_selections = [held[j::m] for j in kept]
        return [summaries[j].weight_sum for j in kept]

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
        previous = [] if handles is None else [handles.holder(j)[0] for j in range(self.n_shards)]
        who_has = self.client.who_has(self.shards + (list(handles.futures) if handles is not None else []))
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

    def _map(self, name, func, handles, payload, static, own=None):
        if self._closed:
            raise RuntimeError("this DaskBackend is closed.")
        tag = self._unique_name(name)
        with round_errors(tag):
            addresses = self._locations(handles)
            threads = self._worker_threads(addresses)
            groups = thread_groups(addresses, threads)
            tasks = [
                self._round_task(tag, func, handles, members, addresses, payload, static, own) for members in groups
            ]
            futures = self.channel.submit(tag, tasks, threads)
        self.last_handles = _Handles(tag, tasks, futures, groups, addresses)
        return self.last_handles

    def _round_task(self, tag, func, handles, members, addresses, payload, static, own):
        """The task of one group of shards in a round, taking the previous results by reference."""
        previous, positions = [], []
        for j in members:
            if handles is None:
                positions.append(None)
                continue
            future, position = handles.holder(j)
            if future not in previous:
                previous.append(future)
            positions.append((previous.index(future), position))
        which = f"shard{members[0]}" if len(members) == 1 else "shards" + "_".join(str(j) for j in members)
        return PlacedTask(
            f"dingo-{tag}-{which}-{self.token}", run_rounds,
            (
                func, [self.shards[j] for j in members], previous, positions, payload, static,
                None if own is None else [own[j] for j in members],
            ),
            addresses[members[0]], round_replies,
        )

    def _gather_replies(self, handles):
        with round_errors(handles.tag):
            received = self.channel.receive(handles.tag, handles.futures, handles.tasks)
        replies, addresses = [None] * self.n_shards, [None] * self.n_shards
        for members, (group_replies, address) in zip(handles.groups, received):
            for j, reply in zip(members, group_replies):
                replies[j], addresses[j] = reply, address
        # A worker that moved a state is fine; a state on a worker we do not
        # know means the cluster changed: ask the scheduler next round.
        known = self._state_addresses is None or set(addresses) <= set(self._nthreads)
        self._state_addresses = addresses if known else None
        self.reply_nbytes.extend(int(sizeof(_without_timing(reply))) for reply in replies)
        return replies

    def _release_futures(self):
        if self.last_handles is not None:
            for future in self.last_handles.futures:
                future.release()
            self.last_handles = None
        for future in self.shards:
            future.release()
        self.shards = []

    def close(self):
        """Release the shards and the last round's results on the cluster, and the channel."""
        if self._closed:
            return
        self._closed = True
        self._release_futures()
        self.channel.close()


def _without_timing(reply):
    """A reply less the :class:`~sklearn_dingo._shard.ShardTiming` its shard appended."""
    return reply[:-1] if reply and isinstance(reply[-1], ShardTiming) else reply


def _built(channel, tag, futures, tasks, what):
    """The summaries of the shards a batch built, and the indices of those of positive weight.

    Shards of zero weight are released. Indices count the reporting tasks
    (the shards) of the batch.
    """
    with round_errors(what):
        summaries = [summary for summary, _ in channel.receive(tag, futures, tasks)]
    shards = [future for future, task in zip(futures, tasks) if task.report is not None]
    kept = [j for j, summary in enumerate(summaries) if summary.weight_sum > 0]
    for j in sorted(set(range(len(shards))) - set(kept)):
        shards[j].release()
    return kept, summaries
