"""The interface between the driver and wherever the shards live.

The driver only ever asks a backend three things: run this shard function
with these arguments on every shard (results stay where they are), give me
the π-weighted sum of those results, and how much communication that took.
A backend whose shards can still be rebalanced (each shard's rows spread
over the whole input, see ALGORITHM.md §6-§7) also says what rebalancing
them would cost, and rebalances them when the driver asks.
"""

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .._shard import Metered, ShardTiming


def payload_nbytes(payload):
    """Bytes of one shard message: arrays by size, Python scalars as 8-byte floats."""
    return sum(int(getattr(item, "nbytes", 8)) for item in payload)


@dataclass(frozen=True)
class RebalanceCost:
    """What rebalancing the rows of a backend's shards once would cost.

    Attributes
    ----------
    nbytes : int
        Bytes of rows the move carries (between workers, or copied in memory).
    seconds : float
        Estimated time of the move.
    rounds : int
        Communication rounds the move adds (ALGORITHM.md §4 counting).
    """

    nbytes: int
    seconds: float
    rounds: int


@dataclass(frozen=True)
class RoundTrip:
    """The seconds of one round trip (a map and the reduce of its replies), and where they went.

    Attributes
    ----------
    seconds : float
        Wall seconds from the map to the replies on the driver.
    shard_seconds : float
        Seconds of the shards' work on the critical path (the slowest
        shard, or the shards' total over the threads running them when
        there are more shards than threads).
    pass_seconds : float
        Seconds per pass over its rows of the slowest shard that read its
        rows at least once in the round (NaN if none did).
    """

    seconds: float
    shard_seconds: float
    pass_seconds: float

    @property
    def overhead_seconds(self):
        """What the trip cost beyond the shards' work: latency, scheduling, bytes."""
        return max(self.seconds - self.shard_seconds, 0.0)


def _round_trip(seconds, timings, concurrency):
    """The :class:`RoundTrip` of a round whose shards reported ``timings``."""
    shard_seconds = [t.seconds for t in timings]
    critical = max(max(shard_seconds), sum(shard_seconds) / max(concurrency, 1))
    reading = [t for t in timings if t.passes >= 0.5]
    slowest = max(reading, key=lambda t: t.seconds, default=None)
    pass_seconds = slowest.seconds / slowest.passes if slowest is not None else float("nan")
    return RoundTrip(seconds, critical, pass_seconds)


class ShardBackend(ABC):
    """Runs per-shard rounds and reduces their replies, counting communication.

    Counting follows ALGORITHM.md §4: every :meth:`map` that carries a
    payload is one broadcast round, every :meth:`reduce` one reduce round;
    bytes are counted per shard message.

    Attributes
    ----------
    weight_sums : ndarray of shape (m,)
        ``S_j`` of each shard; their sum is the objective's ``total_weight``.
    weights : ndarray of shape (m,)
        π_j = S_j / S of each shard (shards of zero weight are never built).
    rounds, bytes_down, bytes_up : int
        Cumulative communication so far.
    bytes_moved : int
        Bytes of data rows moved (or copied) by :meth:`rebalance_rows`.
    move_seconds : float
        Time spent rebalancing rows.
    rows_rebalanced : bool
        Whether every shard holds every m-th row of the whole input (split
        that way, or after :meth:`rebalance_rows`): the shards then differ
        only as random samples do.
    row_selections : list of (slice or ndarray of int) or None
        Which rows of the fit's input each shard holds, in the shard's own
        order (None: not known). :meth:`map_rows` sends each shard its rows
        of a per-row array.
    round_log : list of RoundTrip
        Every round trip so far, timed (only by backends that meter their
        shards, :attr:`meters_rounds`).
    shard_rows : list of int or None
        Rows of each shard (None: not known).
    concurrency : int
        Shards that run at the same time (threads over all workers).
    bytes_per_second : float
        Bandwidth between the shards and the driver, for the driver's cost
        model (infinite in process, where replies are not copied).
    free_rounds : bool
        Whether a round costs nothing that local work could save (in
        process: a function call). The driver then prices rounds at zero
        instead of timing them, so that its choices, and the fit, do not
        depend on the machine's noise.
    """

    #: Whether :meth:`map` meters the shards' work (:class:`~sklearn_dingo._shard.Metered`).
    meters_rounds = True
    bytes_per_second = float("inf")
    free_rounds = False

    def __init__(self, weight_sums):
        self._set_weights(weight_sums)
        self.rounds = 0
        self.bytes_down = 0
        self.bytes_up = 0
        self.bytes_moved = 0
        self.move_seconds = 0.0
        self.rows_rebalanced = False
        self.row_selections = None
        self.round_log = []
        self.shard_rows = None
        self.concurrency = len(self.weights)
        self._trip_started = None

    def _set_weights(self, weight_sums):
        self.weight_sums = np.asarray(weight_sums, dtype=np.float64)
        self.weights = self.weight_sums / self.weight_sums.sum()

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
        self._trip_started = time.perf_counter()
        return self._map(name, self._metered(func), handles, payload, static)

    def _metered(self, func):
        return Metered(func) if self.meters_rounds else func

    def map_rows(self, name, func, handles, values, **static):
        """Run ``func(shard, state, own_values, **static)``, each shard with its rows of ``values``.

        One broadcast round, in which each shard receives only its own rows
        of a per-row array (fold memberships, say): the bytes counted are
        those of ``values``, not m times them.

        Parameters
        ----------
        name, func, handles, **static
            As for :meth:`map`.
        values : ndarray of shape (n, ...)
            One entry per row of the fit's input.

        Returns
        -------
        handles : object

        Raises
        ------
        RuntimeError
            If the backend does not know which rows its shards hold.
        """
        if self.row_selections is None:
            raise RuntimeError(f"{type(self).__name__} does not know which rows of the input its shards hold.")
        values = np.asarray(values)
        own = [(values[rows],) for rows in self.row_selections]
        self.rounds += 1
        self.bytes_down += sum(payload_nbytes(part) for part in own)
        self._trip_started = time.perf_counter()
        return self._map(name, self._metered(func), handles, (), static, own)

    def gather(self, handles):
        """Every shard's reply as it is, in shard order (one reduce round, counted as :meth:`reduce`)."""
        return self._gathered(handles)

    def reduce(self, handles):
        """π-weighted sum of the shards' replies, component by component."""
        return self._weighted_means(self._gathered(handles))

    def reduce_with_spread(self, handles, component):
        """:meth:`reduce`, and the spread ``Σ_j π_j ‖r_j − r̄‖²`` of one reply component.

        The driver receives every shard's reply anyway (bytes are counted per
        shard message), so the spread costs no communication.
        """
        replies = self._gathered(handles)
        means = self._weighted_means(replies)
        centre = means[component]
        spread = sum(
            pi * float(np.sum((np.asarray(reply[component], dtype=np.float64) - centre) ** 2))
            for pi, reply in zip(self.weights, replies)
        )
        return means, spread

    def _gathered(self, handles):
        """The shards' replies brought to the driver, counted as one reduce round."""
        replies = self._gather_replies(handles)
        timings = [reply[-1] for reply in replies if reply and isinstance(reply[-1], ShardTiming)]
        if timings and len(timings) == len(replies):
            replies = [reply[:-1] for reply in replies]
            seconds = time.perf_counter() - (self._trip_started or time.perf_counter())
            self.round_log.append(_round_trip(seconds, timings, self.concurrency))
        self.rounds += 1
        self.bytes_up += sum(payload_nbytes(reply) for reply in replies)
        return replies

    def _weighted_means(self, replies):
        return tuple(
            sum(pi * np.asarray(reply[i], dtype=np.float64) for pi, reply in zip(self.weights, replies))
            for i in range(len(replies[0]))
        )

    # -- rebalancing rows (ALGORITHM.md §6-§7) -----------------------------------
    def rebalance_cost(self):
        """What :meth:`rebalance_rows` would cost, or None when these shards cannot be rebalanced.

        A backend that returns a cost also implements ``_rebalance_rows()``,
        which replaces the shards by rebalanced ones and returns their weight
        sums ``S_j``; :meth:`rebalance_rows` does the rest.

        Returns
        -------
        RebalanceCost or None
        """
        return None

    def rebalance_rows(self):
        """Redistribute rows once so that every shard is spread over the whole input.

        Afterwards the shards are new: the next round starts without handles.
        Counts the move in ``rounds``, ``bytes_moved`` and ``move_seconds``.

        Returns
        -------
        int
            Bytes moved.

        Raises
        ------
        RuntimeError
            If the shards cannot be rebalanced (:meth:`rebalance_cost` is None).
        """
        cost = self.rebalance_cost()
        if cost is None:
            raise RuntimeError(
                f"these shards cannot be rebalanced ({type(self).__name__}: already rebalanced, one shard, or closed)."
            )
        start = time.perf_counter()
        self._set_weights(self._rebalance_rows())
        self.bytes_moved += int(cost.nbytes)
        self.rounds += int(cost.rounds)
        self.move_seconds += time.perf_counter() - start
        self.rows_rebalanced = True
        return cost.nbytes

    @abstractmethod
    def _map(self, name, func, handles, payload, static, own=None):
        """Start the round; return handles to ``(reply, state)`` per shard.

        Shard j runs ``func(shard, state, *payload, *own[j], **static)``
        (``own``: None, or one tuple of arguments per shard).
        """

    @abstractmethod
    def _gather_replies(self, handles):
        """Bring the replies (only) of the given handles to the driver, in shard order."""

    def close(self):
        """Release whatever the backend holds (threads, remote data)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
