"""Process bookkeeping shared by the tests that start Dask clusters."""

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
