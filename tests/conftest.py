"""Shared fixtures of the test suite: one Dask cluster for the whole session."""

import pytest

from _clusters import local_cluster


@pytest.fixture(scope="session")
def cluster_client():
    """A client of one 2-worker ``LocalCluster`` shared by the whole session.

    It is not the default client: code under test must use the client it is
    given (or find none). Tests that need it current use ``client.as_current()``.
    """
    with local_cluster() as client:
        yield client
