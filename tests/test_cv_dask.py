"""The cross-validated estimators on a Dask cluster: same search as in-process, rows never move.

The in-process reference holds the same shards (the Dask arrays' row chunks,
as contiguous blocks with ``rebalance=False``), so every number must agree
to rounding.
"""

import time

import dask.array as da
import numpy as np
import pytest
from _clusters import local_cluster
from numpy.testing import assert_allclose
from sklearn.model_selection import StratifiedKFold

from sklearn_dingo import DingoLogisticRegressionCV, DingoSoftmaxRegressionCV

N, D, CHUNK = 4000, 8, 1000  # four chunks of 1,000 rows: four shards, two on each worker
CV_ESTIMATORS = {"binary": DingoLogisticRegressionCV, "multinomial": DingoSoftmaxRegressionCV}
SEARCH = dict(Cs=[0.001, 0.03, 1.0, 30.0], tol=1e-10, max_iter=200, rebalance=False)


@pytest.fixture(autouse=True)
def _shards_of_one_chunk(monkeypatch):
    """Chunks of 1,000 rows stay shards of their own (no merging of neighbours)."""
    monkeypatch.setattr("sklearn_dingo._data._training_data.MIN_ROWS_PER_PARAM", 10)


@pytest.fixture(scope="module")
def client():
    with local_cluster() as client:
        yield client


def make_data(kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    n_classes = 2 if kind == "binary" else 3
    y = np.argmax(X @ rng.standard_normal((D, n_classes)) + rng.gumbel(size=(N, n_classes)), axis=1)
    weights = rng.uniform(0.5, 2.0, N)
    return X, np.array(["no", "yes", "maybe"])[y], weights


def transfers_between_workers(client, since):
    """``(bytes, keys)`` of what the workers fetched from one another since ``since`` (``time.time()``)."""
    logs = client.run(
        lambda dask_worker: [(t["total"], list(map(str, t["keys"]))) for t in dask_worker.transfer_incoming_log if t["start"] >= since]
    )
    return [entry for log in logs.values() for entry in log]


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
@pytest.mark.parametrize("scoring", ["neg_log_loss", "roc_auc_ovr"])
def test_dask_search_matches_the_in_process_one_and_moves_no_rows(client, kind, scoring):
    X, y, weights = make_data(kind)
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


def test_dask_dataframe_search(client):
    """A DataFrame of features and a Series of labels: the same search as the arrays in memory."""
    import dask.dataframe as dd
    import pandas as pd

    X, y, _ = make_data("multinomial", seed=1)
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
