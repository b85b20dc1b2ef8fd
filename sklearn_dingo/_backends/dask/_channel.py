"""Batches of placed tasks in one message, their small results back with their completion.

On a slow link every message between the client side and a worker costs
half a round trip, and the usual way to get a small result costs four: the
task goes down, its completion comes up, the client asks the worker for the
result, the result comes up. A :class:`ReplyChannel` makes a batch of tasks
cost one link round trip:

* the whole batch is **one graph submission** (one ``update-graph``
  message): each task is pinned to its worker by a per-task annotation;
* each task **publishes a report** of its result (a round's reply, a shard's
  summary) as a Dask event (``Worker.log_event``) just before it returns. The
  worker sends it to the scheduler on the stream that also carries the task's
  completion, and the scheduler forwards it to the subscribed client at once:
  the client learns that the task finished and what it reported in the same
  message, and never fetches the result.

The task's result itself stays where it was made (a shard, a round's
state), as a future with its full lineage: a worker lost mid-fit is rebuilt
by the scheduler, whose recomputed tasks publish their reports again.

Placing tasks: a task that reads a shard or a block of X must run on the
worker that holds it, or the data move. Pinning it there is not enough: a
task waiting in a worker's queue is what Dask's work stealing hands to an
idle worker, dependencies included. A batch therefore never gives a worker
more ready tasks than it has threads: the worker's further tasks are chained
behind its earlier ones (each also depends on the task ``threads`` places
before it on that worker), so they become ready, on the same worker, as the
earlier ones finish, and the whole batch still leaves in one message.
"""

import pickle
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from ..._compat import forget_event_topic
from ._client import pinned
from ._tasks import report_message, run_and_report

__all__ = ["Earlier", "PlacedTask", "ReplyChannel", "thread_groups"]

# How long reports may lag behind their tasks' completion before the client
# fetches them from the results instead (they never do unless the cluster
# drops events, e.g. a scheduler too old to forward them).
_REPORT_GRACE_SECONDS = 10.0
_POLL_SECONDS = 0.25
# The scheduler keeps every topic's last events (Dask's
# ``distributed.admin.low-level-log-length``, 1,000 by default): a long fit
# of a large model would keep hundreds of MB of replies there. Every this
# many batches the channel has it drop them (one client-scheduler call).
_BATCHES_BETWEEN_TRUNCATIONS = 32


class Earlier(NamedTuple):
    """An argument of a task: the result of task ``index`` of the same batch."""

    index: int


class PlacedTask(NamedTuple):
    """One task of a batch.

    Attributes
    ----------
    key : str
        Its key on the cluster.
    func : callable
        Runs as ``func(*args)`` on a worker; ``args`` may hold futures, Dask
        delayed objects and :class:`Earlier` tasks of the batch (their values
        are passed).
    args : tuple
    address : str or None
        The worker it runs on (others only if that one is gone); None: anywhere.
    report : callable or None
        ``report(result)`` is what the client receives; None: nothing (an
        intermediate task of the batch).
    """

    key: str
    func: Callable
    args: tuple
    address: Any = None
    report: Any = None


class ReplyChannel:
    """Submit batches of placed tasks and receive their reports, one link round trip each.

    Parameters
    ----------
    client : distributed.Client

    Attributes
    ----------
    topic : str
        The Dask event topic the workers publish on (unique per channel).
    """

    def __init__(self, client):
        self.client = client
        self.topic = f"dingo-replies-{uuid.uuid4().hex[:12]}"
        self._messages = {}
        self._arrived = threading.Condition()
        self._closed = False
        self._batches = 0
        # The subscription travels on the client's stream to the scheduler
        # before any graph of this channel does: no report can be missed.
        client.subscribe_topic(self.topic, self._deliver)

    def _deliver(self, event):
        _, message = event
        with self._arrived:
            # A recomputed task (after a lost worker) reports the same value again.
            self._messages.setdefault((message["tag"], message["index"]), message)
            self._arrived.notify_all()

    def submit(self, tag, tasks, threads=None):
        """Send a batch of tasks to the cluster in one graph submission.

        Parameters
        ----------
        tag : str
            Names the batch for :meth:`receive` (unique per channel).
        tasks : list of PlacedTask
        threads : dict of str to int, optional
            Threads of each worker: a worker's tasks beyond its threads are
            chained behind its earlier ones (see the module docstring). A
            worker not in it gets all its tasks at once.

        Returns
        -------
        list of distributed.Future
            In the order of ``tasks``.
        """
        import dask
        from dask import delayed

        if self._closed:
            raise RuntimeError("this ReplyChannel is closed.")
        threads = threads or {}
        on_worker = {}
        nodes = []
        for index, task in enumerate(tasks):
            placed = on_worker.setdefault(task.address, [])
            width = threads.get(task.address, 0)
            after = (placed[-width],) if task.address is not None and width and len(placed) >= width else ()
            args = tuple(nodes[a.index] if isinstance(a, Earlier) else a for a in task.args)
            with dask.annotate(**pinned(task.address)):
                node = delayed(run_and_report, pure=False)(
                    self.topic, tag, index, task.report, task.func, args, *after, dask_key_name=task.key
                )
            placed.append(node)
            nodes.append(node)
        return self.client.compute(nodes, optimize_graph=False)

    def receive(self, tag, futures, tasks):
        """The reports of a batch, in task order, once every reporting task has published.

        Parameters
        ----------
        tag : str
            As given to :meth:`submit`.
        futures : list of distributed.Future
            As :meth:`submit` returned them.
        tasks : list of PlacedTask
            As given to :meth:`submit`.

        Returns
        -------
        list of (object, str)
            For each task with a report: its report and the worker that made it.

        Raises
        ------
        Exception
            A failed task's own error; ``concurrent.futures.CancelledError``
            when its data were lost and cannot be recomputed.
        """
        wanted = [index for index, task in enumerate(tasks) if task.report is not None]
        finished_since = None
        while missing := self._missing_after_a_wait(tag, wanted):
            failed = [futures[index] for index in missing if futures[index].status in ("error", "cancelled")]
            if failed:
                failed[0].result()  # raises the task's own error, or CancelledError when lost
            if not all(futures[index].status == "finished" for index in missing):
                finished_since = None
            elif finished_since is None:
                finished_since = time.monotonic()
            elif time.monotonic() - finished_since > _REPORT_GRACE_SECONDS:
                self._fetch(tag, [(index, futures[index], tasks[index].report) for index in missing])
        with self._arrived:
            messages = [self._messages.pop((tag, index)) for index in wanted]
        self._batches += 1
        if self._batches % _BATCHES_BETWEEN_TRUNCATIONS == 0:
            self.client.run_on_scheduler(forget_event_topic, self.topic, keep_subscribers=True)
        # The scheduler names the worker as it knows it (its contact address).
        return [(pickle.loads(message["value"]), message.get("worker", message["address"])) for message in messages]

    def _missing_after_a_wait(self, tag, wanted):
        """The wanted reports of ``tag`` not in yet, after waiting for one (at most a moment)."""
        with self._arrived:
            missing = [index for index in wanted if (tag, index) not in self._messages]
            if missing:
                self._arrived.wait(_POLL_SECONDS)  # woken by the next report that arrives
                missing = [index for index in wanted if (tag, index) not in self._messages]
        return missing

    def _fetch(self, tag, missing):
        """Reports that did not arrive, computed from the results where they are."""
        fetched = [
            self.client.submit(report_message, tag, index, report, future, key=f"{future.key}-report", pure=False)
            for index, future, report in missing
        ]
        messages = self.client.gather(fetched)
        with self._arrived:
            for message in messages:
                self._messages.setdefault((message["tag"], message["index"]), message)

    def close(self):
        """Stop listening, and drop the reports the scheduler kept of this channel."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client.unsubscribe_topic(self.topic)
            self.client.run_on_scheduler(forget_event_topic, self.topic)
        except (OSError, RuntimeError, ValueError):  # pragma: no cover - a client or scheduler already gone
            pass
        self._messages.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def thread_groups(addresses, threads):
    """Items placed on workers, in at most as many groups per worker as it has threads.

    For work that runs many times (a round of the fit), one task per group,
    running its items one after the other, is better than chaining the
    tasks: a round then costs one link round trip however many shards a
    worker holds.

    Parameters
    ----------
    addresses : list of str or None
        The worker of each item (None: unknown, a group of its own).
    threads : dict of str to int
        Threads of each worker (a worker not in it: a group per item).

    Returns
    -------
    list of list of int
        Indices of the items of each group, sorted by their first item; a
        worker's items are dealt to its groups in turn.
    """
    by_worker = {}
    for j, address in enumerate(addresses):
        by_worker.setdefault(address, []).append(j)
    groups = []
    for address, members in by_worker.items():
        width = len(members) if address is None else max(1, min(threads.get(address, len(members)), len(members)))
        groups.extend(members[k::width] for k in range(width))
    return sorted(groups)

