"""What a shard's round cost where it ran: seconds and passes over its rows.

A backend wraps every shard function it runs in :class:`Metered`, which
appends a :class:`ShardTiming` to the reply. The timing is not part of the
reply the driver averages and is not counted as communication: it is the
kind of bookkeeping a task's completion message carries anyway (Dask's
workers report every task's start and stop times with its result). The
backend strips it and keeps it (:meth:`ShardBackend.round_log
<sklearn_dingo._backends.ShardBackend>`), so that the driver can price a pass
over a shard against a round (ALGORITHM.md §8).
"""

import time
from dataclasses import dataclass

from .._objectives import ShardMeter


@dataclass(frozen=True)
class ShardTiming:
    """Cost of one shard's part of a round, measured where it ran.

    Attributes
    ----------
    seconds : float
        Wall seconds of the shard function.
    passes : float
        Rows of X its products read over the shard's rows: passes over the
        shard (a Hessian-vector product is two, a gradient one).
    """

    seconds: float
    passes: float


class Metered:
    """A shard function whose reply ends with the :class:`ShardTiming` of the call.

    Parameters
    ----------
    func : callable
        ``func(shard, state, *payload, **static) -> (reply, new_state)``.
    """

    def __init__(self, func):
        self.func = func

    def __call__(self, shard, state, *args, **kwargs):
        start = time.perf_counter()
        with ShardMeter() as meter:
            reply, new_state = self.func(shard, state, *args, **kwargs)
        seconds = time.perf_counter() - start
        return (*reply, ShardTiming(seconds, meter.rows / max(shard.n_samples, 1))), new_state

    def __repr__(self):
        return f"Metered({getattr(self.func, '__name__', self.func)!r})"
