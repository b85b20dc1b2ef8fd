"""The Dask engine: shards resident on the workers, one link round trip per round.

- :class:`DaskBackend` (``_engine``): the backend itself;
- ``_channel``: the reply channel through which each task's small report
  comes back with its completion (no gather);
- ``_client``: finding the active client, where blocks live, threads per worker;
- ``_tasks``: the functions that run on the workers.

Imported only when a fit or a prediction needs Dask.
"""

from ._channel import Earlier, PlacedTask, ReplyChannel, thread_groups
from ._client import (
    active_client_or_none,
    block_holders,
    cluster_threads,
    get_active_client,
    row_block_futures,
)
from ._engine import DaskBackend
from ._tasks import encoded_targets, whole

__all__ = [
    "DaskBackend",
    "Earlier",
    "PlacedTask",
    "ReplyChannel",
    "active_client_or_none",
    "block_holders",
    "cluster_threads",
    "encoded_targets",
    "get_active_client",
    "row_block_futures",
    "thread_groups",
    "whole",
]
