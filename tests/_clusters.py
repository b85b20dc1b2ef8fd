"""Dask clusters for the tests, and the process bookkeeping that checks they are gone."""

from contextlib import contextmanager

import psutil


def new_children():
    """PIDs of this process's descendants, except multiprocessing's resource tracker.

    The tracker is started with the first spawned process and lives as long as
    this interpreter, by design; it is not part of any cluster.
    """
    pids = set()
    for process in psutil.Process().children(recursive=True):
        try:
            if not any("resource_tracker" in part for part in process.cmdline()):
                pids.add(process.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def cluster_processes(client):
    """PIDs of the cluster's worker processes and of their descendants (its nannies run in this process)."""
    import os

    pids = set()
    for pid in client.run(os.getpid).values():
        try:
            pids |= {pid} | {child.pid for child in psutil.Process(pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    return pids


def close_and_check(client, cluster, before):
    """Close client and cluster; assert that every process they started is gone.

    The cluster's processes are its workers' (and their descendants): a
    cluster living through many tests (the session's) must not be blamed for
    processes other code started in the meantime (joblib's reusable workers,
    say). Where the workers cannot be asked, every process started since
    ``before`` (this process's descendants then) is checked instead.
    """
    try:
        started = cluster_processes(client) & new_children()
    except Exception:  # noqa: BLE001 - a broken cluster: the conservative check
        started = new_children() - before
    started = [psutil.Process(pid) for pid in started if psutil.pid_exists(pid)]
    client.close()
    cluster.close()
    _, alive = psutil.wait_procs(started, timeout=20)
    assert not alive, f"processes left behind: {alive}"
    assert not ({process.pid for process in started} & new_children())


@contextmanager
def local_cluster(n_workers=2, threads_per_worker=1, security=None):
    """A ``LocalCluster`` of worker processes and a client of it, closed and checked on exit.

    The client is not the default one: code under test must use the client
    it is given (or find none). ``dashboard_address=":0"`` takes a free port
    (None does not turn the dashboard off in recent distributed; it would
    warn and move off a busy 8787).

    A worker a test kills is replaced by its nanny, under the same name. The
    cluster closes for good the nanny of a worker still missing
    ``distributed.deploy.lost-worker-timeout`` (15 s) after its removal:
    when a test kills a worker within 15 s of another kill of the same one,
    the first kill's timer finds the second replacement not registered yet,
    and the cluster is left one worker short. The timeout is made longer than
    any test session while the cluster lives.
    """
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1 day"}):
        before = new_children()
        kwargs = {} if security is None else {"security": security}
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=":0", **kwargs
        )
        try:
            client = Client(cluster, set_as_default=False, **kwargs)
        except BaseException:
            cluster.close()
            raise
        try:
            yield client
        finally:
            close_and_check(client, cluster, before)


@contextmanager
def counted_graphs(client):
    """Count the graph submissions (``update-graph`` messages) the scheduler receives.

    Yields a function returning, for every submission so far, the sorted
    keys of the tasks it asked for.
    """
    from distributed.diagnostics.plugin import SchedulerPlugin

    class GraphCounter(SchedulerPlugin):
        def __init__(self):
            self.graphs = []

        def update_graph(self, scheduler, *args, keys=None, **kwargs):
            self.graphs.append(sorted(str(key) for key in keys or ()))

    import uuid

    name = f"graph-counter-{uuid.uuid4().hex[:8]}"
    client.register_plugin(GraphCounter(), name=name)
    try:
        yield lambda: client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.plugins[name].graphs))
    finally:
        client.unregister_scheduler_plugin(name)


def shards_of_round_key(key):
    """The shard indices a round task runs, read off its key (``dingo-{round}-shard{j}-…`` or ``…-shards{i}_{j}-…``)."""
    return [int(j) for j in key.rsplit("-", 1)[0].split("-shard")[-1].lstrip("s").split("_")]


def kill_worker(client, address, timeout=60.0):
    """Kill a worker's process abruptly, as a crash would; return once its replacement has joined.

    The scheduler removes the worker (its data are lost) and its nanny starts
    a new worker process, at a new address. (``Client.restart_workers`` races
    with the nanny's own restart in recent distributed: the nanny sometimes
    closed, and the restart waited for a worker that never came.)
    """
    import os
    import time

    async def crash():  # a coroutine: what Client.run can start without waiting for an answer
        os._exit(1)

    before = len(client.scheduler_info(n_workers=-1)["workers"])
    client.run(crash, workers=[address], wait=False)
    deadline = time.monotonic() + timeout
    while True:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        if address not in workers and len(workers) >= before:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker {address} not replaced {timeout} s after it was killed")
        time.sleep(0.02)
