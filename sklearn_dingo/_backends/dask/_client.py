"""The Dask client side of the engine: finding the client, its workers and blocks, errors.

Tasks are submitted and their results received through a
:class:`~._dask_channel.ReplyChannel`.
"""

import asyncio
from concurrent.futures import CancelledError
from contextlib import contextmanager

__all__ = [
    "active_client_or_none",
    "block_holders",
    "cluster_threads",
    "get_active_client",
    "row_block_futures",
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


def pinned(address):
    """Submit options that run a task on ``address`` if it is alive, elsewhere otherwise."""
    if address is None:
        return {}
    return {"workers": [address], "allow_other_workers": True}


def block_holders(client, futures):
    """Once every future is computed: the worker holding each, and every worker's threads.

    One request: the scheduler waits for the futures itself. If it cannot
    (a task failed, or the futures' graph has not reached it in time), the
    futures are gathered, which raises a failed task's own error, and the
    scheduler is then asked in two plain queries.
    """
    keys = [future.key for future in futures]
    holders, threads = client.run_on_scheduler(_holders_when_computed, keys=keys)
    if holders is None:
        client.gather(futures)
        who_has = client.who_has(futures)
        holders = [min(who_has[key]) for key in keys]
        threads = dict(client.nthreads())
    return holders, threads


async def _holders_when_computed(keys, dask_scheduler=None, patience=30.0):
    """Scheduler side of :func:`block_holders`: ``(holders, threads)``, or ``(None, None)``."""
    keys = [_as_key(key) for key in keys]
    waited = 0.0
    while True:
        states = [dask_scheduler.tasks.get(key) for key in keys]
        if any(ts is not None and ts.state == "erred" for ts in states):
            return None, None
        if all(ts is not None and ts.state == "memory" and ts.who_has for ts in states):
            break
        if waited > patience and any(ts is None for ts in states):
            return None, None  # the graph did not arrive: let the client wait its own way
        await asyncio.sleep(0.005)
        waited += 0.005
    holders = [min(ws.address for ws in ts.who_has) for ts in states]
    threads = {ws.address: ws.nthreads for ws in dask_scheduler.workers.values()}
    return holders, threads


def _as_key(key):
    """A task key as the scheduler stores it (messages turn tuples into lists)."""
    return tuple(_as_key(part) for part in key) if isinstance(key, list) else key


def cluster_threads(client):
    """Total worker threads of the client's cluster (e.g. to choose a number of shards).

    Raises
    ------
    ValueError
        If the cluster has no workers.
    """
    return len(worker_slots(client))


def worker_slots(client):
    """Worker addresses, each repeated once per thread, interleaved (for round-robin)."""
    threads = dict(sorted(client.nthreads().items()))
    if not threads:
        raise ValueError("The Dask cluster has no workers; start some before fitting.")
    slots = []
    for t in range(max(threads.values())):
        slots.extend(address for address, n in threads.items() if n > t)
    return slots


@contextmanager
def round_errors(round_name):
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


def _row_chunk_keys(array):
    """Keys of the chunks of an array with one column chunk, in row order."""
    keys = array.__dask_keys__()
    return [k[0] if array.ndim == 2 else k for k in keys]


def row_block_futures(array):
    """The persisted blocks of a Dask array with one column chunk, in row order."""
    from distributed import futures_of

    by_key = {future.key: future for future in futures_of(array)}
    missing = [key for key in _row_chunk_keys(array) if key not in by_key]
    if missing:  # never hand the scheduler a graph with blocks nobody computed
        raise RuntimeError(f"{len(missing)} blocks of a persisted input have no data (e.g. {missing[0]!r}).")
    return [by_key[key] for key in _row_chunk_keys(array)]
