"""The interface between the driver and wherever the shards live.

The driver only ever asks a backend three things: run this shard function
with these arguments on every shard (results stay where they are), give me
the π-weighted sum of those results, and how much communication that took.
"""

from abc import ABC, abstractmethod

import numpy as np


def payload_nbytes(payload):
    """Bytes of one shard message: arrays by size, Python scalars as 8-byte floats."""
    return sum(int(getattr(item, "nbytes", 8)) for item in payload)


class ShardBackend(ABC):
    """Runs per-shard rounds and reduces their replies, counting communication.

    Counting follows ALGORITHM.md §4: every :meth:`map` that carries a
    payload is one broadcast round, every :meth:`reduce` one reduce round;
    bytes are counted per shard message.

    Attributes
    ----------
    weights : ndarray of shape (m,)
        π_j = S_j / S of each shard (shards of zero weight are never built).
    rounds, bytes_down, bytes_up : int
        Cumulative communication so far.
    """

    def __init__(self, weight_sums):
        weight_sums = np.asarray(weight_sums, dtype=np.float64)
        self.weights = weight_sums / weight_sums.sum()
        self.rounds = 0
        self.bytes_down = 0
        self.bytes_up = 0

    @property
    def n_shards(self):
        return self.weights.shape[0]

    def map(self, name, func, handles, *payload, **static):
        """Run ``func(shard, state, *payload, **static)`` on every shard.

        Parameters
        ----------
        name : str
            What the round is (shows in task names and logs).
        func : callable
            A pure shard function returning ``(reply, new_state)``.
        handles : object or None
            The previous round's result handles (their states are passed on),
            or None for the first round.
        *payload : ndarray or float
            Broadcast to every shard; counted as communication.
        **static
            Fixed configuration of the fit; not counted.

        Returns
        -------
        handles : object
            Opaque handles of the per-shard results, kept where they were made.
        """
        if payload:
            self.rounds += 1
            self.bytes_down += self.n_shards * payload_nbytes(payload)
        return self._map(name, func, handles, payload, static)

    def reduce(self, handles):
        """π-weighted sum of the shards' replies, component by component."""
        replies = self._gather_replies(handles)
        self.rounds += 1
        self.bytes_up += sum(payload_nbytes(reply) for reply in replies)
        return tuple(
            sum(pi * np.asarray(reply[i], dtype=np.float64) for pi, reply in zip(self.weights, replies))
            for i in range(len(replies[0]))
        )

    @abstractmethod
    def _map(self, name, func, handles, payload, static):
        """Start the round; return handles to ``(reply, state)`` per shard."""

    @abstractmethod
    def _gather_replies(self, handles):
        """Bring the replies (only) of the given handles to the driver, in shard order."""

    def close(self):
        """Release whatever the backend holds (threads, remote data)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
