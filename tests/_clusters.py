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


def close_and_check(client, cluster, before):
    """Close client and cluster; assert that every process they started is gone."""
    started = [psutil.Process(pid) for pid in new_children() - before if psutil.pid_exists(pid)]
    client.close()
    cluster.close()
    _, alive = psutil.wait_procs(started, timeout=20)
    assert not alive, f"processes left behind: {alive}"
    assert not (new_children() - before)


@contextmanager
def local_cluster(n_workers=2, threads_per_worker=1, security=None):
    """A ``LocalCluster`` of worker processes and a client of it, closed and checked on exit.

    The client is not the default one: code under test must use the client
    it is given (or find none). ``dashboard_address=":0"`` takes a free port
    (None does not turn the dashboard off in recent distributed; it would
    warn and move off a busy 8787).
    """
    from distributed import Client, LocalCluster

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
