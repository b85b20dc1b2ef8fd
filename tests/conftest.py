"""Shared fixtures and markers of the test suite.

* ``cluster_client``: one 2-worker Dask ``LocalCluster`` for the whole session,
  shared by every Dask test module; its client is not the default one.
  ``client`` is the same client made current for one test; ``no_client``
  checks that no client is current. After every test on it, the cluster is
  checked to be whole again (two single-thread workers, no client left
  current), so that a test killing a worker cannot break the tests after it.
* ``tls_client``: a TLS-secured cluster of its own, built only for (and by)
  a test that asks for it, and closed after it.
* ``xp``: the array namespaces the array API code is tested with.

Markers (registered in pyproject.toml): every test using a cluster fixture is
marked ``cluster`` here; ``slow`` and ``docs`` are set in the test modules.
The quick local run is ``python -m pytest -m "not slow"``.
"""

import pytest

from _clusters import local_cluster

N_WORKERS, THREADS_PER_WORKER = 2, 1
CLUSTER_FIXTURES = ("cluster_client", "tls_client")


def pytest_collection_modifyitems(config, items):
    """Mark ``cluster`` every test that uses a Dask cluster fixture (directly or through another fixture)."""
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in CLUSTER_FIXTURES):
            item.add_marker(pytest.mark.cluster)


# -- Dask clusters -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def cluster_client():
    """A client of one 2-worker ``LocalCluster`` (one thread each) shared by the whole session.

    It is not the default client: code under test must use the client it is
    given (or find none). Tests that need it current use ``client`` below,
    or ``cluster_client.as_current()``.
    """
    with local_cluster(n_workers=N_WORKERS, threads_per_worker=THREADS_PER_WORKER) as client:
        yield client


@pytest.fixture
def client(cluster_client):
    """The session cluster's client, current for this test only."""
    with cluster_client.as_current():
        yield cluster_client


@pytest.fixture(autouse=True)
def _session_cluster_is_whole_again(request):
    """After a test on the session cluster: its workers are all back, and no client is left current.

    Tests that kill a worker wait for its nanny's replacement; this checks
    it, so that the cluster every later test gets is the one it expects.
    """
    yield
    if "cluster_client" not in request.fixturenames:
        return
    from distributed.client import default_client

    client = request.getfixturevalue("cluster_client")
    client.wait_for_workers(N_WORKERS, timeout=60)
    assert sorted(client.nthreads().values()) == [THREADS_PER_WORKER] * N_WORKERS, client.nthreads()
    with pytest.raises(ValueError):
        default_client()  # "No clients found": the session client is current only inside a test


@pytest.fixture
def no_client():
    """No distributed client is current, before and after the test (Dask's local scheduler runs)."""
    from sklearn_dingo._backends.dask._engine import active_client_or_none

    assert active_client_or_none() is None
    yield
    assert active_client_or_none() is None


@pytest.fixture
def tls_client():
    """A client of a TLS-secured ``LocalCluster`` of one 2-thread worker, for this test only.

    The cluster is ``tls_client.cluster``; a test may close it itself. Its
    processes are checked to be gone after the test.
    """
    from distributed.security import Security  # Security.temporary() needs cryptography

    with local_cluster(n_workers=1, threads_per_worker=2, security=Security.temporary()) as client:
        yield client


# -- array namespaces --------------------------------------------------------------------
@pytest.fixture(params=["numpy", "array_api_strict"])
def xp(request):
    """NumPy, and array-api-strict (skipped where it is not installed)."""
    if request.param == "numpy":
        import numpy

        return numpy
    return pytest.importorskip("array_api_strict")
