"""The cross-validated estimators on a Dask cluster: same search as in-process, rows never move.

The in-process reference holds the same shards (the Dask arrays' row chunks,
as contiguous blocks with ``rebalance=False``), so every number must agree
to rounding.
"""

import time

import dask.array as da
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import StratifiedKFold

from _data import make_data
from sklearn_dingo import DingoLogisticRegressionCV, DingoSoftmaxRegressionCV

N, D, CHUNK = 4000, 8, 1000  # four chunks of 1,000 rows: four shards, two on each worker
DATA = dict(labels=["no", "yes", "maybe"], weights=(0.5, 2.0))  # string labels, uniform sample weights
CV_ESTIMATORS = {"binary": DingoLogisticRegressionCV, "multinomial": DingoSoftmaxRegressionCV}
SEARCH = dict(Cs=[0.001, 0.03, 1.0, 30.0], tol=1e-10, max_iter=200, rebalance=False)


@pytest.fixture(autouse=True)
def _shards_of_one_chunk(monkeypatch):
    """Chunks of 1,000 rows stay shards of their own (no merging of neighbours)."""
    monkeypatch.setattr("sklearn_dingo._data._training_data.MIN_ROWS_PER_PARAM", 10)


@pytest.fixture
def client(cluster_client):
    """The session cluster's client, not current: each test makes it current where it fits on it."""
    return cluster_client


def transfers_between_workers(client, since):
    """``(bytes, keys)`` of what the workers fetched from one another since ``since`` (``time.time()``)."""
    logs = client.run(
        lambda dask_worker: [
            (t["total"], list(map(str, t["keys"]))) for t in dask_worker.transfer_incoming_log if t["start"] >= since
        ]
    )
    return [entry for log in logs.values() for entry in log]


# the binary search with the log loss is quick; the other three are marked slow
@pytest.mark.parametrize("kind", ["binary", pytest.param("multinomial", marks=pytest.mark.slow)])
@pytest.mark.parametrize("scoring", ["neg_log_loss", pytest.param("roc_auc_ovr", marks=pytest.mark.slow)])
def test_dask_search_matches_the_in_process_one_and_moves_no_rows(client, kind, scoring):
    X, y, weights = make_data(kind, N, D, **DATA)
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    model = CV_ESTIMATORS[kind]
    local = model(**SEARCH, cv=cv, scoring=scoring, n_shards=N // CHUNK).fit(X, y, sample_weight=weights)

    Xd, yd, wd = (da.from_array(a, chunks=(CHUNK,) + a.shape[1:]) for a in (X, y, weights))
    Xd, yd, wd = client.persist([Xd, yd, wd])
    with client.as_current():
        since = time.time()
        remote = model(**SEARCH, cv=cv, scoring=scoring).fit(Xd, yd, sample_weight=wd)
        moved = transfers_between_workers(client, since)
        proba = remote.predict_proba(Xd).compute()
    # The rows of X, the shards and the folds' states never travel between workers: all that
    # does are chunks of the labels and weights that this test persisted away from X's chunks
    # (to the tasks that summarise them and those that build the shards).
    moved_keys = {key for _, keys in moved for key in keys}
    assert all(yd.name in key or wd.name in key for key in moved_keys), moved_keys
    assert remote.C_ == local.C_
    assert_allclose(remote.scores_, local.scores_, atol=1e-6, rtol=0)
    assert_allclose(remote.coef_, local.coef_, atol=1e-6, rtol=0)
    assert_allclose(remote.coefs_paths_, local.coefs_paths_, atol=1e-6, rtol=0)
    assert remote.n_communication_rounds_ == local.n_communication_rounds_
    assert_allclose(proba, local.predict_proba(X), atol=1e-6, rtol=0)
    assert not client.run_on_scheduler(
        lambda dask_scheduler: [str(key) for key in dask_scheduler.tasks if "dingo" in str(key)]
    )  # nothing of the search is left on the cluster


@pytest.mark.slow  # a second search on the cluster
def test_dask_dataframe_search(client):
    """A DataFrame of features and a Series of labels: the same search as the arrays in memory."""
    import dask.dataframe as dd
    import pandas as pd

    X, y, _ = make_data("multinomial", N, D, seed=1, **DATA)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(D)])
    cv = StratifiedKFold(3)
    local = DingoSoftmaxRegressionCV(**SEARCH, cv=cv, n_shards=N // CHUNK).fit(frame, y)
    Xf = dd.from_pandas(frame, npartitions=N // CHUNK)
    yf = dd.from_pandas(pd.Series(y), npartitions=N // CHUNK)
    with client.as_current():
        remote = DingoSoftmaxRegressionCV(**SEARCH, cv=cv).fit(Xf, yf)
    assert remote.C_ == local.C_
    assert_allclose(remote.scores_, local.scores_, atol=1e-6, rtol=0)
    assert list(remote.feature_names_in_) == list(frame.columns)


def keys_left_by(client, fit):
    """Keys that ``fit()`` (run with Python's cyclic garbage collector off) left on the scheduler.

    A future kept in a reference cycle (a closure, a thread's target, an
    exception's frames, objects that refer to each other) is released only
    when the cyclic collector runs: until then its data stay on the workers.
    Releases reach the scheduler asynchronously: they are waited for (10 s
    at most).
    """
    import gc

    def keys():
        return client.run_on_scheduler(lambda dask_scheduler: set(map(str, dask_scheduler.tasks)))

    before = keys()
    gc.disable()
    try:
        with client.as_current():
            fit()
        deadline = time.monotonic() + 10.0
        while (left := keys() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        gc.enable()
    return sorted(left)


def unpersisted_data():
    """4,000 x 5 in four chunks, not persisted: a fit persists them itself, and must release them too."""
    X, y = make_data("binary", N, 5)
    return tuple(da.from_array(a, chunks=(CHUNK,) + a.shape[1:]) for a in (X, y))


@pytest.mark.parametrize("kind", ["cv", "plain"])
def test_a_fit_releases_every_key_it_made_without_the_garbage_collector(cluster_client, kind):
    from sklearn_dingo import DingoLogisticRegression

    Xd, yd = unpersisted_data()
    model = DingoLogisticRegressionCV(Cs=3, cv=3) if kind == "cv" else DingoLogisticRegression()
    assert not keys_left_by(cluster_client, lambda: model.fit(Xd, yd))
    assert model.n_communication_rounds_ > 0


def test_a_search_whose_fold_fails_releases_every_key_it_made(cluster_client, monkeypatch):
    """A fold that fails stops the others while they wait for a round; nothing of the search stays.

    The failure: the verbose line a fold prints (from its thread) at the end
    of its first run cannot be written.
    """
    import io
    import sys

    class GoneOutput(io.StringIO):
        def write(self, text):
            raise OSError("the output is gone")

    Xd, yd = unpersisted_data()
    monkeypatch.setattr(sys, "stdout", GoneOutput())

    def fit():
        with pytest.raises(OSError, match="the output is gone"):
            DingoLogisticRegressionCV(Cs=3, cv=3, verbose=1).fit(Xd, yd)

    assert not keys_left_by(cluster_client, fit)
