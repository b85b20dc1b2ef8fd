"""Several DINGO runs on the same shards, advanced together: one round for all of them.

Cross-validation runs one DINGO per fold (and per value of C) on the same
shards, each fold a weight mask (:mod:`.._folds`). Run one after the other,
the runs would pay every round separately. :class:`FoldGroup` gives each
fold its own :class:`FoldBackend`, an ordinary
:class:`~._base.ShardBackend` to the driver, and runs the folds' drivers
on threads: a fold's round waits until every fold still running has its next
round ready, and then all of them go out as **one** round of the shared
backend (:func:`~.._folds.fold_round`: a broadcast with one vector per fold,
one reply per shard holding every fold's answer). A fold whose run has ended
simply has no request; one that starts its next run (its next C) joins the
next round. So the whole search costs the rounds of its longest chain of
runs, not their sum.

Requests that need no answer before the fold goes on (held-out scores,
:meth:`FoldBackend.held_out`) ride in the next round that goes out anyway.

The drivers only wait for one another; the rounds themselves run from the
thread that called :meth:`FoldGroup.run`, which also stops every fold and
raises the first error if one fails.
"""

import threading

import numpy as np

from .._shard import HELD_OUT, FoldRequest, attach_folds, fold_round, split_replies
from ._base import ShardBackend
from ._local import row_indices


class _Stopped(Exception):
    """Raised in a fold's thread when the group stops (another fold failed)."""


class HeldOutReply:
    """The replies of a held-out request, per shard, once its round has run."""

    def __init__(self):
        self.replies = None


class FoldGroup:
    """The shards of a backend, masked by folds, and the rounds those folds share.

    Parameters
    ----------
    backend : ShardBackend
        Shards built with raw sample weights (unit class weights); must know
        which rows of the input each shard holds (``row_selections``).
    roles : ndarray of int8, shape (n_samples, n_folds)
        Each row's role in each fold (:data:`~.._folds.TRAIN`,
        :data:`~.._folds.HELD_OUT` or :data:`~.._folds.UNUSED`).
    class_weights : ndarray of shape (n_classes,)
        Multiplied into the training weights of every fold.
    objective : LinearObjective
        The one the shards' targets were encoded by.

    Attributes
    ----------
    roles : ndarray of int8, shape (n_samples, n_folds)
    train_sums, held_out_sums : ndarray of shape (m, n_folds)
        Training weight (class weights in) and raw held-out weight of each
        fold on each shard.
    rounds_shared : int
        Shared rounds run so far (a round of several folds counts once).
    """

    def __init__(self, backend, roles, class_weights, objective):
        self.backend = backend
        handles = backend.map_rows(
            "folds", attach_folds, None, np.asarray(roles, dtype=np.int8),
            class_weights=np.asarray(class_weights, dtype=np.float64), objective=objective,
        )
        replies = backend.gather(handles)
        self.roles = np.asarray(roles)
        self.train_sums = np.array([reply[0] for reply in replies], dtype=np.float64)
        self.held_out_sums = np.array([reply[1] for reply in replies], dtype=np.float64)
        self._handles = handles
        self._condition = threading.Condition()
        self._waiting = {}
        self._deferred = []
        self._running = 0
        self._stopped = False
        self.rounds_shared = 0

    def held_out_rows(self, fold):
        """The input's rows ``fold`` holds out, in the order the shards answer held-out requests."""
        held = [rows[self.roles[rows, fold] == HELD_OUT] for rows in map(row_indices, self.backend.row_selections)]
        return np.concatenate(held) if held else np.zeros(0, dtype=np.int64)

    def view(self, fold):
        """The backend through which fold ``fold``'s driver runs (inside :meth:`run`)."""
        return FoldBackend(self, fold)

    def run(self, jobs):
        """Run ``jobs`` (callables without arguments) on threads, their rounds shared.

        Each job drives one or more folds through their :class:`FoldBackend`.

        Returns
        -------
        list
            The jobs' return values, in order.
        """
        results, errors = [None] * len(jobs), []

        def work(i, job):
            try:
                results[i] = job()
            except _Stopped:
                pass
            except BaseException as error:  # noqa: BLE001 - re-raised by run()
                errors.append(error)
            finally:
                with self._condition:
                    self._running -= 1
                    self._condition.notify_all()

        self._stopped = False
        self._running = len(jobs)
        threads = [
            threading.Thread(target=work, args=(i, job), name=f"dingo-fold-{i}", daemon=True)
            for i, job in enumerate(jobs)
        ]
        for thread in threads:
            thread.start()
        try:
            while True:
                with self._condition:
                    self._condition.wait_for(lambda: errors or len(self._waiting) == self._running)
                    if errors:
                        break
                    waiting, deferred = sorted(self._waiting.items()), self._deferred
                    self._deferred = []
                    if not waiting and not deferred:
                        break
                answers = self._shared_round([view for _, view in waiting], deferred)
                with self._condition:
                    for (key, view), replies in zip(waiting, answers):
                        view._replies = replies
                        del self._waiting[key]
                    self._condition.notify_all()
        finally:
            with self._condition:
                self._stopped = True
                self._condition.notify_all()
            for thread in threads:
                thread.join()
            # Folds stopped while waiting stay in ``_waiting``, and each view refers to
            # this group: a reference cycle that would keep the group's last round (and
            # through it the cluster's data) alive until the cyclic collector runs.
            self._waiting.clear()
            self._deferred = []
        if errors:
            # The error's traceback holds the fold thread's frames, whose closure holds
            # ``errors``, and this frame: emptied list and deleted name leave no reference
            # cycle, which would keep every frame's locals (the fit's data on a cluster)
            # alive until Python's cyclic garbage collector runs.
            error = errors[0]
            errors.clear()
            try:
                raise error
            finally:
                del error
        return results

    def _exchange(self, view):
        """Called by a fold's thread: wait for the shared round that answers its request."""
        with self._condition:
            if self._stopped:
                raise _Stopped()
            view._replies = None
            self._waiting[view.fold, id(view)] = view  # a round's requests in the order of the folds
            self._condition.notify_all()
            self._condition.wait_for(lambda: view._replies is not None or self._stopped)
            if view._replies is None:
                raise _Stopped()
            replies, view._replies = view._replies, None
            return replies

    def _defer(self, request, payload, pending):
        with self._condition:
            self._deferred.append((request, payload, pending))

    def _shared_round(self, views, deferred):
        """One round of the backend for every waiting fold and every deferred request."""
        requests, payload = [], []
        for view in views:
            request, items = view._pending
            view._pending = None
            requests.append(request)
            payload.extend(items)
        for request, items, _ in deferred:
            requests.append(request)
            payload.extend(items)
        self.rounds_shared += 1
        handles = self.backend.map(
            f"folds-{self.rounds_shared}", fold_round, self._handles, *payload, requests=tuple(requests)
        )
        per_shard = [split_replies(reply, len(requests)) for reply in self.backend.gather(handles)]
        self._handles = handles
        answers = [[replies[i] for replies in per_shard] for i in range(len(requests))]
        for (_, _, pending), replies in zip(deferred, answers[len(views) :]):
            pending.replies = replies
        return answers[: len(views)]


class FoldBackend(ShardBackend):
    """One fold of a :class:`FoldGroup`, seen by the driver as a backend of its own.

    Its weights are the fold's π_j (training weight of each shard over the
    fold's total), its counters the rounds and bytes of its own requests
    (the group's backend counts the shared rounds). Its shards cannot be
    rebalanced: rows stay where the group's backend holds them.
    """

    def __init__(self, group, fold):
        super().__init__(group.train_sums[:, fold])
        # The group's backend meters the shared rounds; a fold prices its
        # rounds from that backend's log.
        self.round_log = group.backend.round_log
        self.shard_rows = group.backend.shard_rows
        self.concurrency = group.backend.concurrency
        self.bytes_per_second = group.backend.bytes_per_second
        self.free_rounds = group.backend.free_rounds
        self.group = group
        self.fold = fold
        self.rows_rebalanced = group.backend.rows_rebalanced
        self._pending = None
        self._replies = None

    meters_rounds = False

    def _map(self, name, func, handles, payload, static, own=None):
        if self._pending is not None:  # pragma: no cover - the driver reduces every round it maps
            raise RuntimeError("a fold's round was mapped twice without being reduced.")
        request = FoldRequest(self.fold, func, len(payload), static, start=handles is None)
        self._pending = (request, tuple(payload))
        return self

    def _gather_replies(self, handles):
        return self.group._exchange(self)

    def held_out(self, func, *payload, **static):
        """Ask ``func`` of the fold's held-out rows in the next shared round, without waiting.

        Returns
        -------
        HeldOutReply
            Its ``replies`` (one per shard) are set once the round has run.
        """
        pending = HeldOutReply()
        request = FoldRequest(self.fold, func, len(payload), static, held_out=True)
        self.group._defer(request, tuple(payload), pending)
        return pending
