"""The estimators on Dask inputs and Dask clusters.

Every Dask fit is checked against an in-process fit of the same objective
with the same shards (the merged row chunks of
``shard_bounds_for_dask_chunks``, or the same even blocks), to 1e-8, and
against scikit-learn's ``LogisticRegression`` to 1e-5 (relative).

The first section runs with no distributed client at all (Dask's local
scheduler, the documented fallback); the second on the session's
``LocalCluster`` (conftest's ``cluster_client``), whose client is made
current only inside those tests (the ``client`` fixture), so that the first
section really has no client.
"""

import functools
import pickle
import re
import threading
import time
import uuid
import warnings

import dask
import dask.array as da
import dask.dataframe as dd
import joblib
import numpy as np
import pandas as pd
import psutil
import pytest
from dask.sizeof import sizeof
from distributed import Client, get_client, get_task_stream
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import _data
from _clusters import counted_graphs, kill_worker, new_children, shards_of_round_key
from _estimator_refs import effective_weights, relative_error
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._backends import LocalBackend, split_rows
from sklearn_dingo._backends.dask._engine import active_client_or_none
from sklearn_dingo._solver._dingo import dingo

ESTIMATORS = {"binary": DingoLogisticRegression, "softmax": DingoSoftmaxRegression}
# The cluster tests of both models: the softmax one in the full run only (not with -m "not slow").
CLUSTER_KINDS = ["binary", pytest.param("softmax", marks=pytest.mark.slow)]
# The fits compared with in-process fits on the same row chunks keep their
# rows in place (rebalance=False); moving rows is tested on its own below.
# DINGO's vector rounds at fixed local effort: the in-process reference on
# the same shards then takes the same steps (the price-driven choices of the
# defaults depend on each backend's measured prices; tested on their own).
DINGO_PATH = dict(local_effort="fixed", aggregate_hessian=False)
TIGHT = dict(C=1.0, tol=1e-10, max_iter=500, rebalance=False, **DINGO_PATH)
N, D = 3000, 10
CHUNKS = (900, 700, 500, 880, 20)  # uneven, with a tiny trailing chunk (merged)
FEATURES = [f"f{i}" for i in range(D)]


# -- data and references ------------------------------------------------------------
# Standardised features and integer labels (2 or 3 classes), not separable: make_data(kind).
make_data = functools.partial(_data.make_data, n=N, d=D, scale=0.7, standardize=True)


def make_weights(seed=1, n=N):
    """Sample weights with zeros: a whole chunk (dropped shard) and scattered rows."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.5, 2.0, n)
    s[900:1600] = 0.0  # the whole second chunk of CHUNKS
    s[rng.random(n) < 0.05] = 0.0
    return s


def to_dask(*arrays, chunks=CHUNKS):
    """Dask arrays with the given row chunks (and several column chunks for X)."""
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
        elif a.ndim == 2:
            out.append(da.from_array(a, chunks=(chunks, 4)))
        else:
            out.append(da.from_array(a, chunks=(chunks,)))
    return out


def to_dask_dataframe(X, y, chunks=CHUNKS):
    """A Dask DataFrame with named columns and partitions of ``chunks`` rows, and y as a Series."""
    df = pd.DataFrame(X, columns=FEATURES)
    df["label"] = y
    edges = np.cumsum((0, *chunks))
    ddf = dd.concat([dd.from_pandas(df.iloc[a:b], npartitions=1) for a, b in zip(edges[:-1], edges[1:])])
    assert ddf.npartitions == len(chunks)
    return ddf[FEATURES], ddf["label"]


def n_outputs(kind, n_classes):
    return 1 if kind == "binary" else n_classes


# The data here are small (25-90 rows per parameter in a chunk); the fits keep
# their chunks as shards (short ones merged), rather than one shard per 50 rows
# per parameter, so that several shards on both workers are exercised.
ROWS_PER_PARAM = 10


@pytest.fixture(autouse=True)
def _fewer_rows_per_shard(monkeypatch):
    monkeypatch.setattr("sklearn_dingo._data._training_data.MIN_ROWS_PER_PARAM", ROWS_PER_PARAM)


# The shards a Dask fit makes of CHUNKS, worked out by hand from the rule of
# shard_bounds_for_dask_chunks: a shard needs ROWS_PER_PARAM (D + 1) K rows,
# 110 (binary) or 330 (3 classes), and a chunk under a quarter of the median
# chunk (700 / 4) is small. Only the trailing 20 rows are, merged into their
# one neighbour; the four other chunks stay shards, for both kinds.
MERGED_BOUNDS = [0, 900, 1600, 2100, 3000]


def merged_bounds_where(keep):
    """The shards of the rows of CHUNKS where ``keep`` (about 3/4 of each chunk): the tiny last chunk merges again.

    The four large chunks keep over 330 rows each, so none is small (the
    median is at most 900, a quarter of it at most 225), and the last one
    (20 rows or fewer) is: the same layout as MERGED_BOUNDS, of fewer rows.
    """
    edges = np.cumsum((0, *CHUNKS))
    chunks = [int(keep[a:b].sum()) for a, b in zip(edges[:-1], edges[1:])]
    assert min(chunks[:-1]) > 330, chunks  # what the layout above is worked out from
    return np.cumsum((0, *chunks[:-2], chunks[-2] + chunks[-1])).tolist()


PREDICTION_METHODS = ["predict", "predict_proba", "predict_log_proba", "decision_function"]


def assert_same_prediction(name, computed, expected):
    """Labels equal; probabilities, log-probabilities and margins to 1e-12."""
    if name == "predict":
        assert_array_equal(computed, expected)
    else:
        assert_allclose(computed, expected, rtol=1e-12, atol=1e-12)


def assert_rejects_nan_and_negative_weights(est, X, y, nan_at, negative_at, negative):
    """A NaN in X and a negative sample weight are refused with scikit-learn's errors.

    Returns the Dask ``(X, y, sample_weight)`` (with the negative weight) for
    the caller's further checks.
    """
    X_nan = X.copy()
    X_nan[nan_at] = np.nan
    s = np.ones(N)
    s[negative_at] = negative
    Xd, yd, sd = to_dask(X, y, s)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(to_dask(X_nan)[0], yd)
    with pytest.raises(ValueError, match="Negative"):
        est.fit(Xd, yd, sample_weight=sd)
    return Xd, yd, sd


def inprocess_fit(est, X, y, sample_weight, bounds):
    """The estimator's objective and settings, fitted in-process on the row blocks ``bounds``.

    Returns ``(coef, intercept, result)``; blocks of zero weight are dropped,
    as every backend does.
    """
    classes, y_index = np.unique(y, return_inverse=True)
    s = effective_weights(y, sample_weight, est.class_weight)
    objective = est._make_objective(X.shape[1], len(classes), float(s.sum()), est.C)
    Y = objective.encode_targets(y_index)
    with LocalBackend(split_rows(X, Y, s, bounds)) as backend:
        result = dingo(backend, objective, est._config())
    W = result.w.reshape(objective.n_rows, objective.n_outputs)
    return W[: X.shape[1]].T, W[X.shape[1]], result


def assert_matches_inprocess(est, X, y, sample_weight, bounds):
    coef, intercept, result = inprocess_fit(est, X, y, sample_weight, bounds)
    assert est.converged_ and result.converged
    assert_allclose(est.coef_, coef, rtol=0, atol=1e-8)
    assert_allclose(est.intercept_, intercept, rtol=0, atol=1e-8)
    assert est.n_iter_ == result.n_iter
    assert est.n_communication_rounds_ == result.rounds
    assert est.history_["bytes_down"][-1] == result.bytes_down
    assert est.history_["bytes_up"][-1] == result.bytes_up


def assert_matches_sklearn(est, X, y, sample_weight=None):
    ref = LogisticRegression(C=est.C, class_weight=est.class_weight, tol=1e-12, max_iter=10000)
    ref.fit(X, y, sample_weight=sample_weight)
    assert_array_equal(est.classes_, ref.classes_)
    assert relative_error(est.coef_, ref.coef_) < 1e-5
    assert relative_error(est.intercept_, ref.intercept_) < 1e-5


def refuse_to_compute(*args, **kwargs):
    raise AssertionError("a Dask computation ran where nothing should be computed")


def counting(calls):
    """An identity block function that records every call (to detect computation)."""

    def identity(block):
        calls.append(len(block))
        return block

    return identity


# =========================================================================================
# Without a distributed client: Dask's local scheduler, in-process fit, same shards.
# (The session cluster's client, conftest's ``cluster_client``, is not the default
# one: these tests, asking for ``no_client``, really find none.)
# =========================================================================================
@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_no_client_fit_uses_the_merged_chunks(no_client, kind):
    X, y = make_data(kind)
    Xd, yd = to_dask(X, y)
    est = ESTIMATORS[kind](**TIGHT).fit(Xd, yd)
    bounds = MERGED_BOUNDS
    assert len(bounds) == len(CHUNKS)  # the tiny trailing chunk was merged
    assert_matches_inprocess(est, X, y, None, bounds)
    assert_matches_sklearn(est, X, y)
    assert est.n_features_in_ == D and not hasattr(est, "feature_names_in_")


def test_no_client_backend_dask_says_how_to_start_a_client(no_client):
    X, y = make_data("binary")
    Xd, yd = to_dask(X, y)
    with pytest.raises(ValueError, match=r"Client\("):
        DingoLogisticRegression(backend="dask").fit(Xd, yd)
    with pytest.raises(ValueError, match=r"Client\("):
        DingoLogisticRegression(backend="dask").fit(X, y)


def test_no_client_unknown_chunk_sizes(no_client):
    X, y = make_data("softmax")
    keep = np.random.default_rng(2).random(N) > 0.25
    Xd, yd, maskd = to_dask(X, y, keep)
    Xm, ym = Xd[maskd], yd[maskd]
    assert np.isnan(Xm.shape[0])
    est = DingoSoftmaxRegression(**TIGHT).fit(Xm, ym)
    assert_matches_inprocess(est, X[keep], y[keep], None, merged_bounds_where(keep))


def test_no_client_weights_and_balanced_classes(no_client):
    X, y = make_data("softmax")
    s = make_weights()
    Xd, yd, sd = to_dask(X, y, s)
    bounds = MERGED_BOUNDS  # the second shard, 900:1600, has zero weight: dropped, here and in-process
    est = DingoSoftmaxRegression(**TIGHT).fit(Xd, yd, sample_weight=sd)
    assert_matches_inprocess(est, X, y, s, bounds)
    balanced = DingoSoftmaxRegression(class_weight="balanced", **TIGHT).fit(Xd, yd, sample_weight=sd)
    assert_matches_inprocess(balanced, X, y, s, bounds)
    assert_matches_sklearn(balanced, X, y, s)


def test_no_client_bad_inputs(no_client):
    X, y = make_data("binary")
    est = DingoLogisticRegression()
    Xd, yd, _ = assert_rejects_nan_and_negative_weights(est, X, y, (2500, 3), 10, -1.0)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, yd[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, y[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, yd, sample_weight=da.ones(N - 5, chunks=1000))


@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_lazy_prediction_on_dask_arrays(no_client, kind):
    X, y = make_data(kind)
    est = ESTIMATORS[kind](**TIGHT).fit(X, y)
    calls = []
    Xd = da.from_array(X, chunks=(CHUNKS, -1)).map_blocks(counting(calls), dtype=np.float64)
    calls.clear()  # Dask itself may call it on an empty block, to infer meta
    lazy = {name: getattr(est, name)(Xd) for name in PREDICTION_METHODS}
    assert calls == []  # nothing computed yet
    for name, result in lazy.items():
        assert isinstance(result, da.Array), name
        assert len(result.__dask_graph__()) > 0
        expected = getattr(est, name)(X)
        assert result.shape == expected.shape
        computed = result.compute()
        assert type(computed) is np.ndarray
        assert_same_prediction(name, computed, expected)
        if name == "predict":
            assert computed.dtype == expected.dtype
    assert calls  # computed only on demand


def test_lazy_prediction_on_dask_dataframes(no_client):
    X, y = make_data("softmax")
    est = DingoSoftmaxRegression(**TIGHT).fit(pd.DataFrame(X, columns=FEATURES), y)
    calls = []
    Xdf, _ = to_dask_dataframe(X, y)
    Xdf = Xdf.map_partitions(counting(calls))
    assert list(Xdf.columns) == FEATURES  # Dask infers meta (calls on dummy frames) ...
    calls.clear()  # ... which is not computing the data
    for name in PREDICTION_METHODS:
        calls.clear()
        # Dask infers the meta of DataFrame-to-array conversions by calling the
        # partition function on a 2-row dummy frame (not data); computing real
        # partitions needs a scheduler, which refuses here.
        with dask.config.set(scheduler=refuse_to_compute):
            result = getattr(est, name)(Xdf)
        assert isinstance(result, da.Array), name
        assert all(n <= 2 for n in calls), f"{name} on a Dask DataFrame computed partitions {calls} eagerly"
        assert_same_prediction(name, result.compute(), getattr(est, name)(pd.DataFrame(X, columns=FEATURES)))


# =========================================================================================
# On a cluster: two single-thread worker processes.
# =========================================================================================
@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_fit_from_dask_arrays(client, kind):
    X, y = make_data(kind)
    Xd, yd = to_dask(X, y)
    est = ESTIMATORS[kind](**TIGHT)
    with get_task_stream(client) as stream:
        est.fit(Xd, yd)
    assert any("dingo-" in str(t["key"]) for t in stream.data)  # it ran on the cluster
    bounds = MERGED_BOUNDS
    assert len(bounds) == len(CHUNKS)
    assert_matches_inprocess(est, X, y, None, bounds)
    assert_matches_sklearn(est, X, y)
    # The same as Dask's local scheduler, no client (the documented fallback).
    with dask.config.set(scheduler="sync"):
        local = ESTIMATORS[kind](backend="local", **TIGHT).fit(Xd, yd)
    assert_allclose(est.coef_, local.coef_, rtol=0, atol=1e-8)
    assert est.n_communication_rounds_ == local.n_communication_rounds_


def _shard_data_dtypes(dask_worker):
    """dtypes of the X of the DINGO shards a worker holds."""
    return sorted({str(value.X.dtype) for key, value in dask_worker.data.items() if str(key).startswith("dingo-shard")})


class _ShardDtypes:
    """A scikit-learn callback that looks, after each iteration, at the shards on the workers."""

    def __init__(self):
        self.seen = set()  # no client kept: the estimator (and so this) is pickled into predictions

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        for dtypes in get_client().run(_shard_data_dtypes).values():
            self.seen.update(dtypes)


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_float32_dask_arrays_are_fitted_in_float32_on_the_workers(client, kind):
    X, y = make_data(kind)
    X32 = X.astype(np.float32)
    Xd, yd = to_dask(X32, y)
    probe = _ShardDtypes()
    est = ESTIMATORS[kind](**TIGHT).set_callbacks(probe).fit(Xd, yd)
    # the shards kept the user's float32 rows: no float64 copy on the cluster
    assert probe.seen == {"float32"}
    assert est.coef_.dtype == est.intercept_.dtype == np.float32
    assert est.converged_, est.stop_reason_
    # scikit-learn's float64 optimum, to float32's resolution
    ref = LogisticRegression(C=est.C, tol=1e-12, max_iter=10000).fit(X32.astype(np.float64), y)
    assert relative_error(est.coef_, ref.coef_) < 1e-4
    proba = est.predict_proba(Xd)
    assert proba.dtype == np.float32
    assert proba.compute().dtype == np.float32


def test_fit_from_dask_dataframe(client):
    X, y = make_data("softmax")
    Xdf, ys = to_dask_dataframe(X, y)
    assert isinstance(ys, dd.Series)
    est = DingoSoftmaxRegression(**TIGHT).fit(Xdf, ys)
    assert_array_equal(est.feature_names_in_, FEATURES)
    assert est.n_features_in_ == D
    assert_matches_inprocess(est, X, y, None, MERGED_BOUNDS)
    assert_matches_sklearn(est, X, y)
    # Lazy predictions on a DataFrame, checked against the columns by name.
    proba = est.predict_proba(Xdf)
    assert isinstance(proba, da.Array)
    expected = est.predict_proba(pd.DataFrame(X, columns=FEATURES))
    assert_allclose(proba.compute(), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(Xdf[FEATURES[::-1]]).compute()


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_client_waits_only_for_the_summary_the_shards_and_each_reduce(client, kind, monkeypatch):
    # Every wait of the client for the cluster is a client-cluster round trip
    # (what a slow link charges for): one to learn which worker holds each
    # block of X (the scheduler answers once they are computed), one for the
    # target summary with X's rows checked where they are, one for building
    # the shards (rows, weights and workers come with them), then one per
    # reduce round of the method; no scheduler queries of their own. The
    # scheduler is told to drop the reports it kept after reading and after
    # the fit (it sits beside the client or on the client's side of the link).
    from sklearn_dingo._backends.dask._channel import ReplyChannel

    X, y = make_data(kind)
    Xd, yd = client.persist(list(to_dask(X, y)))
    calls = []
    sync, receive = Client.sync, ReplyChannel.receive

    def counting_sync(self, *args, **kwargs):
        calls.append(getattr(args[0], "__name__", repr(args[0])))
        return sync(self, *args, **kwargs)

    def counting_receive(self, *args, **kwargs):
        calls.append("receive")
        return receive(self, *args, **kwargs)

    with counted_graphs(client) as graphs:
        monkeypatch.setattr(Client, "sync", counting_sync)
        monkeypatch.setattr(ReplyChannel, "receive", counting_receive)
        est = ESTIMATORS[kind](**TIGHT).fit(Xd, yd)
        monkeypatch.undo()
        submitted = graphs()
    reduces = (est.n_communication_rounds_ + 1) // 2  # the first reduce has no broadcast
    assert calls == (
        ["_run_on_scheduler", "receive", "_run_on_scheduler", "receive"]
        + ["receive"] * reduces
        + ["_run_on_scheduler"]
    ), calls
    # The graphs: the inputs persisted (X also as features in one column
    # chunk), X's blocks inspected with the targets summarised, the shards
    # built; then one graph per round, of one task per worker thread running
    # every shard of that worker. No reply task.
    first = next(k for k, keys in enumerate(submitted) if any(key.startswith("dingo-") for key in keys))
    read, build, *rounds = submitted[first:]
    assert all(key.startswith(("dingo-inspect", "dingo-targets")) for key in read)
    n_shards = len(build)
    assert n_shards > 1 and all(key.startswith("dingo-shard") for key in build)
    assert len(rounds) == reduces
    threads = sum(client.nthreads().values())
    for keys in rounds:
        assert len(keys) <= threads and len({key.rsplit("-shard", 1)[0] for key in keys}) == 1
        assert sorted(j for key in keys for j in shards_of_round_key(key)) == list(range(n_shards))
    assert not [key for keys in submitted for key in keys if "reply" in key]
    assert_matches_sklearn(est, X, y)


@pytest.mark.parametrize("kind, n_shards, sizes", [
    # D = 11: 550 rows at least: the 20 rows merge into the 880, then the 500 into the 700
    # (the smaller of its neighbours); 900, 1,200 and 900 are enough.
    ("binary", None, (900, 1200, 900)),
    # D = 33: 1,650 rows at least: 20 into 880, 500 into 700, then the first 900 (the left
    # one of the two smallest) into 1,200 and the last 900 into the 2,100: one shard of all 3,000.
    ("softmax", None, (3000,)),
    # Two shards asked for, no minimum: the 20 rows (under a quarter of the median, 700) into
    # the 880; then the smallest chunk while more than two are left: 500 into 700, 900 into 1,200.
    ("binary", 2, (2100, 900)),
])
def test_default_shards_have_fifty_rows_per_parameter(client, kind, n_shards, sizes, monkeypatch):
    monkeypatch.setattr("sklearn_dingo._data._training_data.MIN_ROWS_PER_PARAM", 50)  # the real default
    X, y = make_data(kind)
    Xd, yd = to_dask(X, y)
    with get_task_stream(client) as stream:
        est = ESTIMATORS[kind](n_shards=n_shards, **TIGHT).fit(Xd, yd)
    if n_shards is not None:
        assert len(sizes) == n_shards
    first_round = {str(t["key"]) for t in stream.data if str(t["key"]).startswith("dingo-initial-")}
    assert sorted(j for key in first_round for j in shards_of_round_key(key)) == list(range(len(sizes))), first_round
    assert_matches_inprocess(est, X, y, None, np.cumsum((0, *sizes)).tolist())
    assert_matches_sklearn(est, X, y)


def _logged_partition(bounds, X, y, log_dir):
    """One partition of a DataFrame source, leaving a file behind each time it is made."""
    start, stop = bounds
    (log_dir / f"{start}-{uuid.uuid4().hex}").touch()
    frame = pd.DataFrame(X[start:stop], columns=FEATURES, index=pd.RangeIndex(start, stop))
    frame["label"] = y[start:stop]
    return frame


def test_dataframe_source_is_computed_once(client, tmp_path):
    # An expensive source (files, a pipeline) must not be re-run for the row
    # counts, the target summary and the shards: the fit persists it first.
    X, y = make_data("binary")
    (tmp_path / "meta").mkdir()
    edges = np.cumsum((0, *CHUNKS))
    parts = list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    meta = _logged_partition((0, 0), X, y, tmp_path / "meta")  # not counted: another folder
    ddf = dd.from_map(_logged_partition, parts, X=X, y=y, log_dir=tmp_path, meta=meta, enforce_metadata=False)
    est = DingoLogisticRegression(**TIGHT).fit(ddf[FEATURES], ddf["label"])
    made = sorted(int(path.name.split("-")[0]) for path in tmp_path.iterdir() if path.is_file())
    assert made == sorted(edges[:-1].tolist())
    assert_matches_sklearn(est, X, y)


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_numpy_data_with_backend_dask(client, kind):
    X, y = make_data(kind)
    Est = ESTIMATORS[kind]
    est = Est(backend="dask", n_shards=3, **TIGHT)
    with get_task_stream(client) as stream:
        est.fit(X, y)
    keys = [str(t["key"]) for t in stream.data]
    assert sum("dingo-shard" in k for k in keys) == 3  # sent to the workers as 3 shards
    local = Est(backend="local", n_shards=3, **TIGHT).fit(X, y)
    assert_allclose(est.coef_, local.coef_, rtol=0, atol=1e-8)
    assert_allclose(est.intercept_, local.intercept_, rtol=0, atol=1e-8)
    assert est.n_communication_rounds_ == local.n_communication_rounds_
    assert_matches_inprocess(est, X, y, None, [0, 1000, 2000, 3000])
    assert_matches_sklearn(est, X, y)


def test_backend_local_with_a_client_stays_in_process(client):
    X, y = make_data("binary")
    Xd, yd = to_dask(X, y)
    with get_task_stream(client) as stream:
        est = DingoLogisticRegression(backend="local", **TIGHT).fit(Xd, yd)
    assert not any("dingo-" in str(t["key"]) for t in stream.data)
    assert_matches_inprocess(est, X, y, None, MERGED_BOUNDS)


def test_unknown_chunk_sizes_are_computed(client):
    X, y = make_data("binary")
    keep = np.random.default_rng(3).random(N) > 0.25
    Xd, yd, maskd = to_dask(X, y, keep)
    Xm, ym = Xd[maskd], yd[maskd]
    assert np.isnan(Xm.shape[0]) and np.isnan(ym.shape[0])
    est = DingoLogisticRegression(**TIGHT).fit(Xm, ym)
    assert_matches_inprocess(est, X[keep], y[keep], None, merged_bounds_where(keep))
    assert_matches_sklearn(est, X[keep], y[keep])


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_dask_sample_weight_and_class_weight(client, kind):
    X, y = make_data(kind)
    s = make_weights()
    Xd, yd, sd = to_dask(X, y, s)
    n_classes = len(np.unique(y))
    bounds = MERGED_BOUNDS
    Est = ESTIMATORS[kind]
    est = Est(**TIGHT).fit(Xd, yd, sample_weight=sd)
    assert_matches_inprocess(est, X, y, s, bounds)
    # Of the four shards, the second (900:1600) has zero weight: three reply from the start.
    assert est.history_["bytes_up"][0] == 8 * 3 * ((D + 1) * n_outputs(kind, n_classes) + 1)
    assert_matches_sklearn(est, X, y, s)
    # In-memory weights with Dask X and y: the same model.
    mixed = Est(**TIGHT).fit(Xd, yd, sample_weight=s)
    assert_allclose(mixed.coef_, est.coef_, rtol=0, atol=1e-12)
    balanced = Est(class_weight="balanced", **TIGHT).fit(Xd, yd, sample_weight=sd)
    assert_matches_inprocess(balanced, X, y, s, bounds)
    assert_matches_sklearn(balanced, X, y, s)
    # "balanced" is the same fit as its effective weights passed explicitly.
    explicit = Est(**TIGHT).fit(Xd, yd, sample_weight=da.from_array(
        effective_weights(y, s, "balanced"), chunks=(CHUNKS,)))
    assert_allclose(balanced.coef_, explicit.coef_, rtol=0, atol=1e-10)


def _record_gathers(client, monkeypatch):
    """Sizes (``dask.sizeof``) of everything the client gathers or receives from the cluster, item by item."""
    from sklearn_dingo._backends.dask._channel import ReplyChannel

    sizes = []
    gather, receive = client.gather, ReplyChannel.receive

    def recording_receive(self, *args, **kwargs):
        result = receive(self, *args, **kwargs)
        sizes.extend(sizeof(value) for value, _ in result)
        return result

    monkeypatch.setattr(ReplyChannel, "receive", recording_receive)

    def flatten(result):
        if isinstance(result, list):
            for item in result:
                yield from flatten(item)
        else:
            yield result

    def recording_gather(futures, *args, **kwargs):
        result = gather(futures, *args, **kwargs)
        sizes.extend(sizeof(item) for item in flatten(result))
        return result

    monkeypatch.setattr(client, "gather", recording_gather)
    return sizes


@pytest.mark.parametrize("container", ["array", "series"])
@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_string_labels(client, kind, container, monkeypatch):
    X, y_int = make_data(kind)
    names = np.array(["cat", "dog", "bird"], dtype=object)
    y = names[y_int]
    if container == "array":
        Xd, yd = to_dask(X, y)
    else:
        Xd, yd = to_dask_dataframe(X, y)
    gathered = _record_gathers(client, monkeypatch)
    est = ESTIMATORS[kind](**TIGHT).fit(Xd, yd)
    monkeypatch.undo()
    # Classes (and everything else) were found without bringing X, or y, to
    # the client: only small summaries and replies came back.
    assert gathered and max(gathered) < min(CHUNKS[:-1]) * D * 8 / 8
    assert_array_equal(est.classes_, np.unique(y))
    reference = ESTIMATORS[kind](**TIGHT).fit(X, y)
    assert_array_equal(est.classes_, reference.classes_)
    assert_matches_inprocess(est, X, y, None, MERGED_BOUNDS)
    predicted = est.predict(Xd)
    assert isinstance(predicted, da.Array)
    assert_array_equal(predicted.compute(), reference.predict(X))


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_bad_dask_inputs(client, kind):
    X, y = make_data(kind)
    est = ESTIMATORS[kind]()
    Xd, yd, sd = assert_rejects_nan_and_negative_weights(est, X, y, (1234, 5), 2999, -0.5)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, yd[:-3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, yd, sample_weight=sd[:-3])


def _references_distributed(obj, seen=None):
    """Whether ``obj`` (an estimator's attributes, recursively) holds a Dask/distributed object."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    module = type(obj).__module__ or ""
    if module.split(".")[0] in ("distributed", "dask"):
        return True
    if isinstance(obj, dict):
        return any(_references_distributed(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return any(_references_distributed(v, seen) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        return any(_references_distributed(v, seen) for v in obj.ravel())
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return any(_references_distributed(v, seen) for v in vars(obj).values())
    return False


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_fitted_model_holds_no_cluster_and_predicts_lazily(client, kind):
    X, y = make_data(kind)
    Xd, yd = to_dask(X, y)
    est = ESTIMATORS[kind](**TIGHT).fit(Xd, yd)
    assert not _references_distributed(est)
    payload = pickle.dumps(est)
    assert len(payload) < 20_000
    assert b"distributed" not in payload and b"dask" not in payload
    restored = pickle.loads(payload)
    assert_array_equal(restored.coef_, est.coef_)
    for name in PREDICTION_METHODS:
        lazy = getattr(restored, name)(Xd)
        assert isinstance(lazy, da.Array)
        assert_same_prediction(name, lazy.compute(), getattr(est, name)(X))


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_history_bytes_follow_the_accounting(client, kind):
    """ALGORITHM.md §4: initial m(D+1) up; per case-1/2 iteration m(2D+1) down, m(3D+B(D+1)) up."""
    X, y = make_data(kind)
    Xd, yd = to_dask(X, y)
    est = ESTIMATORS[kind](**TIGHT).fit(Xd, yd)
    n_classes = len(np.unique(y))
    bounds = MERGED_BOUNDS
    m = len(bounds) - 1
    Dp = (D + 1) * n_outputs(kind, n_classes)
    B = est._config().line_search_batch
    assert B == 4
    h = est.history_
    assert {"bytes_down", "bytes_up", "rounds", "case"} <= set(h)
    assert len(h["bytes_down"]) == est.n_iter_ + 1
    assert (h["rounds"][0], h["bytes_down"][0], h["bytes_up"][0]) == (1, 0, 8 * m * (Dp + 1))
    down, up, rounds = np.diff(h["bytes_down"]), np.diff(h["bytes_up"]), np.diff(h["rounds"])
    case3 = h["case"][1:] == 3
    extra = (rounds - 4 - 2 * case3) // 2  # extra line-search batches
    assert (extra >= 0).all() and (rounds == 4 + 2 * case3 + 2 * extra).all()
    assert_array_equal(down, 8 * m * (2 * Dp + 1 + Dp * case3 + extra))
    assert_array_equal(up, 8 * m * (3 * Dp + B * (Dp + 1) + Dp * case3 + extra * B * (Dp + 1)))
    plain = ~case3 & (extra == 0)
    assert plain.any()
    assert (down[plain] == 8 * m * (2 * Dp + 1)).all()
    assert (up[plain] == 8 * m * (3 * Dp + B * (Dp + 1))).all()
    _, _, result = inprocess_fit(est, X, y, None, bounds)
    assert est.n_communication_rounds_ == result.rounds == h["rounds"][-1]
    for column in ("rounds", "bytes_down", "bytes_up", "case"):
        assert_array_equal(h[column], result.history[column])


def test_grid_search_scales_out_with_joblib(client):
    X, y = make_data("binary")
    grid = {"C": [0.1, 1.0, 10.0]}
    workers_before = sorted(client.scheduler_info()["workers"])
    children = lambda: len(psutil.Process().children(recursive=True))  # noqa: E731
    worker_children_before = client.run(children)
    local_children_before = new_children()
    with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        search = GridSearchCV(DingoLogisticRegression(), grid, cv=3).fit(X, y)
    reference = GridSearchCV(DingoLogisticRegression(), grid, cv=3).fit(X, y)
    keys = [str(t["key"]) for t in stream.data]
    # All 3 candidates x 3 folds ran on the cluster, in joblib's batches
    # ("batch_of__fit_and_score_1_calls-…", "mixed_batch_of__fit_and_score_2_calls-…").
    batches = [re.search(r"batch_of__fit_and_score_(\d+)_calls", k) for k in keys]
    assert keys and all(batches), keys
    assert sum(int(b.group(1)) for b in batches) == 9
    # The fits inside the workers ran in-process: no shard or round tasks, no
    # nested cluster, no new processes, still the same two workers.
    assert not [k for k in keys if "dingo-" in k]
    assert sorted(client.scheduler_info()["workers"]) == workers_before
    assert client.run(children) == worker_children_before
    assert new_children() == local_children_before
    assert search.best_params_ == reference.best_params_
    assert_allclose(
        search.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], rtol=0, atol=1e-10
    )
    assert_allclose(search.best_estimator_.coef_, reference.best_estimator_.coef_, rtol=0, atol=1e-8)


def fit_restarting_a_worker(client, make_model, X, y, key_prefix, timeout=60):
    """Fit in a thread; restart a worker as soon as a task key starting with ``key_prefix`` exists.

    Returns ``(outcome, restarted)``: outcome holds "model" or "error".
    """
    outcome = {}

    def fit():
        try:
            with client.as_current(), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                outcome["model"] = make_model().fit(X, y)
        except Exception as exc:  # noqa: BLE001 - inspected by the caller
            outcome["error"] = exc

    thread = threading.Thread(target=fit, daemon=True)  # a hung fit must not hold pytest
    thread.start()
    victim = sorted(client.scheduler_info()["workers"])[0]
    restarted = False
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        started = client.run_on_scheduler(
            lambda dask_scheduler: any(str(k).startswith(key_prefix) for k in dask_scheduler.tasks)
        )
        if started:
            kill_worker(client, victim)
            restarted = True
            break
        time.sleep(0.01)
    thread.join(120)
    assert not thread.is_alive()
    assert len(client.scheduler_info()["workers"]) == 2
    return outcome, restarted


@pytest.mark.slow  # a worker killed
def test_worker_restart_mid_fit(client):
    """A worker restarted during an estimator fit: the same model, or a clear error."""
    X, y = sorted_problem("feature")  # shards disagree: DINGO needs many rounds
    Xd, yd = to_dask(X, y, chunks=SORTED_CHUNKS)
    params = dict(C=1.0, tol=1e-10, max_iter=25, rebalance=False, **DINGO_PATH)
    outcome, restarted = fit_restarting_a_worker(
        client, lambda: DingoSoftmaxRegression(**params), Xd, yd, "dingo-A-3-"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = DingoSoftmaxRegression(**params)
        coef, intercept, result = inprocess_fit(reference, X, y, None, np.cumsum((0, *SORTED_CHUNKS)))
    if "error" in outcome:
        exc = outcome["error"]
        text = " ".join([str(exc), *getattr(exc, "__notes__", [])])
        assert "round" in text, f"an unclear error after a worker restart: {exc!r}"
    else:
        model = outcome["model"]
        assert_allclose(model.coef_, coef, rtol=0, atol=1e-8)
        assert_allclose(model.intercept_, intercept, rtol=0, atol=1e-8)
        assert model.n_iter_ == result.n_iter
        assert model.n_communication_rounds_ == result.rounds
    assert restarted or "model" in outcome


# =========================================================================================
# Parquet-backed DataFrames whose column selections dask reads in fewer partitions.
# =========================================================================================
PARQUET_FEATURES = [f"f{i}" for i in range(4)]
PARQUET_INPUTS = {
    "columns_of_one_frame": lambda path: (dd.read_parquet(path)[PARQUET_FEATURES], dd.read_parquet(path)["label"]),
    "two_reads": lambda path: (
        dd.read_parquet(path, columns=PARQUET_FEATURES),
        dd.read_parquet(path, columns=["label"])["label"],
    ),
    "x_as_array": lambda path: (
        dd.read_parquet(path)[PARQUET_FEATURES].to_dask_array(),
        dd.read_parquet(path)["label"],
    ),
}


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory):
    """4 parquet files of 1,000 rows: 4 features, 16 columns the model does not use, a label."""
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 4))
    frame = pd.DataFrame(X, columns=PARQUET_FEATURES)
    for j in range(16):
        frame[f"other{j}"] = rng.standard_normal(4000)
    frame["label"] = (X @ rng.standard_normal(4) + rng.standard_normal(4000) > 0).astype(np.int64)
    path = tmp_path_factory.mktemp("parquet")
    dd.from_pandas(frame, npartitions=4).to_parquet(path, write_index=False)
    return path, frame


@pytest.mark.parametrize("inputs", sorted(PARQUET_INPUTS))
@pytest.mark.parametrize(
    "on_cluster", [pytest.param(True, marks=pytest.mark.cluster), False], ids=["cluster", "no-client"]
)
def test_fit_from_parquet_column_selections(request, parquet_files, inputs, on_cluster):
    """Dask reads a few columns of these files in fewer partitions than the collection says.

    Persisting such a collection used to leave it naming partitions that were
    never computed ("lost dependencies" on the cluster; without one, "the
    number of items in 'lengths' does not match the number of partitions").
    The fit reads the blocks that exist, whatever dask's optimiser did.
    """
    path, frame = parquet_files
    request.getfixturevalue("client" if on_cluster else "no_client")
    X, y = PARQUET_INPUTS[inputs](path)
    est = DingoLogisticRegression(tol=1e-10).fit(X, y)
    reference = DingoLogisticRegression(tol=1e-10).fit(frame[PARQUET_FEATURES], frame["label"])
    assert_allclose(est.coef_, reference.coef_, rtol=0, atol=1e-8)
    assert_allclose(est.intercept_, reference.intercept_, rtol=0, atol=1e-8)


# =========================================================================================
# Rows sorted across chunks: rebalance moves them once, or keeps them in place.
# =========================================================================================
SORTED_CHUNKS = (4000, 4000, 4000, 4000)


def sorted_problem(layout):
    """16,000 rows, 30 features, 3 classes; the rows shuffled, sorted by label or by a feature."""
    rng = np.random.default_rng(4)
    n = 16_000
    X, y = _data.gumbel_rows(rng, n, 30, 3, scale=0.5)
    order = {
        "shuffled": rng.permutation(n),
        "label": np.argsort(y, kind="stable"),
        "feature": np.argsort(X[:, 0], kind="stable"),
    }[layout]
    return X[order], y[order]


def sorted_dask(X, y):
    """One column chunk: the row blocks as the workers hold them (several column chunks would gather)."""
    return da.from_array(X, chunks=(SORTED_CHUNKS, -1)), da.from_array(y, chunks=(SORTED_CHUNKS,))


def incoming_transfers(client, since):
    """Transfers between workers that started after ``since`` (``time.time()``; one host): (keys, bytes)."""
    logs = client.run(
        lambda dask_worker: [
            (list(map(str, t["keys"])), t["total"]) for t in dask_worker.transfer_incoming_log if t["start"] >= since
        ]
    )
    return [entry for log in logs.values() for entry in log]


def fit_measuring_transfers(client, est, Xd, yd):
    """Fit, and the bytes the workers sent one another during it, in all and of X's rows."""
    since = time.time()
    est.fit(Xd, yd)
    transfers = incoming_transfers(client, since)
    rows_of_X = [nbytes for keys, nbytes in transfers if any(Xd.name in k or "dingo-" in k for k in keys)]
    return sum(nbytes for _, nbytes in transfers), sum(rows_of_X)


SORTED_FIT = dict(C=1.0, tol=1e-8, max_iter=100, n_shards=4, **DINGO_PATH)  # the 4 chunks stay 4 shards


@pytest.fixture(scope="module")
def shuffled_sorted_fit(cluster_client):
    X, y = sorted_problem("shuffled")
    with cluster_client.as_current():
        return DingoSoftmaxRegression(**SORTED_FIT).fit(*sorted_dask(X, y))


@pytest.mark.slow  # two fits of 16,000 rows
def test_chunks_sorted_by_label_are_rebalanced_once(client, shuffled_sorted_fit):
    X, y = sorted_problem("label")
    Xd, yd = sorted_dask(X, y)
    est = DingoSoftmaxRegression(**SORTED_FIT)
    moved, _ = fit_measuring_transfers(client, est, Xd, yd)
    assert est.converged_ and est.rebalanced_
    assert est.shard_disagreement_ > 0.3  # measured on the chunks as given
    reference = shuffled_sorted_fit
    assert est.n_communication_rounds_ <= 1.5 * reference.n_communication_rounds_ + 4
    reported = est.history_["bytes_moved"][-1]
    assert 0 < reported <= 1.1 * X.nbytes
    assert moved <= 1.1 * X.nbytes  # measured by the workers: X, targets and weights
    assert_matches_sklearn(est, X, y)


def test_rebalance_true_gives_the_in_process_strided_shards(client):
    """Rebalanced shard j holds rows j, j + 4, …: the in-process fit on those shards, plus the move's rounds."""
    from sklearn_dingo._backends._local import row_slices

    X, y = sorted_problem("label")
    est = DingoSoftmaxRegression(rebalance=True, **SORTED_FIT).fit(*sorted_dask(X, y))
    coef, intercept, result = inprocess_fit(est, X, y, None, row_slices(len(y), 4, strided=True))
    assert est.rebalanced_
    assert est.shard_disagreement_ < 0.3  # measured on the rebalanced shards
    assert est.n_iter_ == result.n_iter
    assert est.n_communication_rounds_ == result.rounds + 2  # the move: its instruction and summary
    assert_allclose(est.coef_, coef, rtol=0, atol=1e-8)
    assert_allclose(est.intercept_, intercept, rtol=0, atol=1e-8)


@pytest.mark.slow  # two fits of 16,000 rows
def test_rows_stay_in_place_with_rebalance_false(client, shuffled_sorted_fit):
    X, y = sorted_problem("feature")
    Xd, yd = sorted_dask(X, y)
    est = DingoSoftmaxRegression(rebalance=False, **SORTED_FIT)
    _, rows_moved = fit_measuring_transfers(client, est, Xd, yd)
    assert est.converged_ and est.history_["grad_norm"][-1] <= 1e-8 and est.n_iter_ <= 100
    assert est.n_communication_rounds_ <= 4 * shuffled_sorted_fit.n_communication_rounds_
    assert not est.rebalanced_ and est.history_["bytes_moved"][-1] == 0
    assert rows_moved < 0.01 * X.nbytes  # measured by the workers
    assert_matches_sklearn(est, X, y)


@pytest.mark.slow  # a worker killed
def test_worker_lost_during_the_move_gives_the_same_model(client):
    """A worker restarted while rows move between workers: the rebalanced shards are rebuilt from lineage."""
    from sklearn_dingo._backends._local import row_slices

    X, y = sorted_problem("label")
    Xd, yd = sorted_dask(X, y)
    params = dict(rebalance=True, **SORTED_FIT)
    outcome, restarted = fit_restarting_a_worker(
        client, lambda: DingoSoftmaxRegression(**params), Xd, yd, "dingo-rebalance"
    )
    reference = DingoSoftmaxRegression(**params)
    coef, intercept, result = inprocess_fit(reference, X, y, None, row_slices(len(y), 4, strided=True))
    assert "error" not in outcome, outcome.get("error")
    model = outcome["model"]
    assert_allclose(model.coef_, coef, rtol=0, atol=1e-8)
    assert_allclose(model.intercept_, intercept, rtol=0, atol=1e-8)
    assert model.n_iter_ == result.n_iter
    assert restarted  # the move was caught in the act


# =========================================================================================
# A TLS-secured cluster of its own; the model outlives it.
# =========================================================================================
@pytest.mark.slow  # a cluster of its own
def test_tls_cluster_and_the_model_outlives_it(tls_client):
    assert active_client_or_none() is None
    X, y = make_data("softmax")
    Xd, yd = to_dask(X, y)
    assert tls_client.scheduler.address.startswith("tls://")
    with tls_client.as_current(), get_task_stream(tls_client) as stream:
        est = DingoSoftmaxRegression(**TIGHT).fit(Xd, yd)
    assert any("dingo-" in str(t["key"]) for t in stream.data)
    tls_client.close()
    tls_client.cluster.close()  # (the fixture then checks that its processes are gone)
    assert_matches_inprocess(est, X, y, None, MERGED_BOUNDS)
    assert_matches_sklearn(est, X, y)
    # The cluster is gone: the model still pickles, unpickles and predicts.
    assert tls_client.status == "closed"
    restored = pickle.loads(pickle.dumps(est))
    assert_allclose(restored.predict_proba(X), est.predict_proba(X), rtol=0, atol=0)
    assert_array_equal(restored.predict(X), est.predict(X))
    assert active_client_or_none() is None


def _chunks_on_each_worker(client, X, y, n_chunks):
    """X and y as Dask arrays of ``n_chunks`` row chunks, chunk j made on worker j (round robin)."""
    workers = sorted(client.nthreads())
    bounds = np.linspace(0, len(y), n_chunks + 1).astype(int)
    Xs, ys = [], []
    for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        where = [workers[j % len(workers)]]
        Xf = client.submit(np.array, X[a:b], workers=where, pure=False)
        yf = client.submit(np.array, y[a:b], workers=where, pure=False)
        Xs.append(da.from_delayed(dask.delayed(Xf), shape=(b - a, X.shape[1]), dtype=X.dtype))
        ys.append(da.from_delayed(dask.delayed(yf), shape=(b - a,), dtype=y.dtype))
    return da.concatenate(Xs), da.concatenate(ys)


@pytest.mark.parametrize("kind, d, n_classes, expected_shards", [
    # K = 10, 10 features: D = 110 asks for 5,500 rows a shard, but 2,000 rows hold
    # 182 per column of X̃ (at least 50): each worker keeps its shard.
    ("softmax", 10, 10, 2),
    # binary, 150 features: 2,000 rows are 13 per column, under 50: merged into one.
    ("binary", 150, 2, 1),
])
def test_default_shards_keep_every_worker_busy_while_they_are_large_enough(
    client, kind, d, n_classes, expected_shards, monkeypatch
):
    monkeypatch.setattr("sklearn_dingo._data._training_data.MIN_ROWS_PER_PARAM", 50)  # the real default
    X, y = _data.gumbel_rows(np.random.default_rng(3), 4000, d, n_classes, scale=0.3)
    Xd, yd = _chunks_on_each_worker(client, X, y, 2)
    with get_task_stream(client) as stream:
        est = ESTIMATORS[kind](**TIGHT).fit(Xd, yd)
    first_round = {str(t["key"]) for t in stream.data if str(t["key"]).startswith("dingo-initial-")}
    shards = sorted(j for key in first_round for j in shards_of_round_key(key))
    assert shards == list(range(expected_shards)), first_round
    assert_matches_sklearn(est, X, y)
