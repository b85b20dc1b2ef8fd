"""The Dask backend: same numbers as in-process, little traffic, survives lost workers."""

import time
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

from _clusters import counted_graphs, kill_worker, shards_of_round_key
from _data import gumbel_rows, n_classes_of
from sklearn_dingo._backends import LocalBackend, split_rows
from sklearn_dingo._backends._local import row_slices
from sklearn_dingo._backends.dask._engine import (
    DaskBackend,
    active_client_or_none,
    cluster_threads,
    get_active_client,
)
from sklearn_dingo._data._dask_collections import dask_backend_from_arrays
from sklearn_dingo._data._dask_layout import shard_bounds_for_dask_chunks
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._solver._dingo import DingoConfig, dingo

CONFIG = DingoConfig(tol=1e-10, max_iter=50)
N_FEATURES = 12


# -- fixtures and helpers --------------------------------------------------------
@pytest.fixture
def client(cluster_client):
    """The session cluster's client, not current: the backend must use the client it is given."""
    return cluster_client


def make_problem(kind, sparse=False, n=4000, seed=0):
    """Features, encoded targets, sample weights (one zero-weight block) and objective."""
    rng = np.random.default_rng(seed)
    X, y = gumbel_rows(rng, n, N_FEATURES, n_classes_of(kind), sparsity=0.6 if sparse else 0.0)
    s = rng.uniform(0.5, 2.0, n)
    s[1300:1500] = 0.0  # part of a block
    objective = make_objective(kind, float(s.sum()))
    Y = objective.encode_targets(y)
    return (sp.csr_matrix(X) if sparse else X), Y, s, objective


def make_objective(kind, total_weight):
    common = dict(n_features=N_FEATURES, fit_intercept=True, C=10.0, total_weight=total_weight)
    if kind == "binary":
        return BinaryLogistic(**common)
    return MultinomialSoftmax(n_classes=3, **common)


def local_fit(X, Y, s, objective, bounds):
    with LocalBackend(split_rows(X, Y, s, bounds)) as backend:
        return dingo(backend, objective, CONFIG)


def assert_same_fit(result, reference):
    assert result.stop_reason is reference.stop_reason
    assert result.converged
    assert result.n_iter == reference.n_iter
    assert (result.rounds, result.bytes_down, result.bytes_up) == (
        reference.rounds,
        reference.bytes_down,
        reference.bytes_up,
    )
    np.testing.assert_allclose(result.w, reference.w, rtol=0, atol=1e-8)


def to_dask(X, Y, s, chunks, column_chunks=5):
    """Dask arrays with the given row chunks (SciPy CSR chunks for sparse X)."""
    if sp.issparse(X):
        Xd = da.from_array(X.toarray(), chunks=(chunks, column_chunks)).map_blocks(
            sp.csr_matrix, meta=sp.csr_matrix((0, 0))
        )
    else:
        Xd = da.from_array(X, chunks=(chunks, column_chunks))
    return Xd, da.from_array(Y, chunks=(chunks, -1)), da.from_array(s, chunks=(chunks,))


def bounds_of(sizes):
    return np.cumsum((0, *sizes))


def scheduler_tasks_with(client, token):
    return client.run_on_scheduler(
        lambda dask_scheduler: sorted(k for k in dask_scheduler.tasks if token in str(k))
    )


# -- the client -----------------------------------------------------------------------
def test_cluster_threads(client):
    assert cluster_threads(client) == 2


def test_get_active_client(client):
    # The fixture's client is not the default one: as if no client had been started.
    with pytest.raises(ValueError, match=r"Client\(\)"):
        get_active_client()
    assert active_client_or_none() is None
    with client.as_current():
        assert get_active_client() is client
        assert active_client_or_none() is client


# -- same numbers as in-process ------------------------------------------------------
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("kind", ["binary", pytest.param("softmax", marks=pytest.mark.slow)])
def test_from_numpy_matches_local(client, kind, sparse):
    X, Y, s, objective = make_problem(kind, sparse)
    bounds = [0, 900, 1300, 1500, 2600, 4000]  # block 1300:1500 has zero weight
    reference = local_fit(X, Y, s, objective, bounds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The blocks travel inside the task specifications on purpose (so that a
        # lost shard can be rebuilt): the large-graph warning is not for users.
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1kB"}):
            backend = DaskBackend.from_numpy(client, X, Y, s, bounds)
    assert not [w for w in caught if "large graph" in str(w.message)]
    with backend:
        assert backend.n_shards == 4
        np.testing.assert_allclose(backend.weight_sums.sum(), s.sum())
        result = dingo(backend, objective, CONFIG)
    assert_same_fit(result, reference)


def test_every_round_kind_matches_local(client):
    """Warm start (a broadcast initial round), case 3 (round B), extra line-search batches."""
    n_iter = 4
    X, Y, s, objective = make_problem("binary")
    # Rows sorted by a feature: shards disagree, and DINGO has to work for its steps.
    order = np.argsort(X[:, 0], kind="stable")
    X, Y, s = X[order], Y[order], s[order]
    w0 = 3.0 * np.random.default_rng(0).standard_normal(objective.n_params)
    config = DingoConfig(max_iter=n_iter, theta=0.5, line_search_batch=2)
    bounds = [0, 900, 1300, 1500, 2600, 4000]
    with LocalBackend(split_rows(X, Y, s, bounds)) as backend:
        reference = dingo(backend, objective, config, w0=w0)
    with DaskBackend.from_numpy(client, X, Y, s, bounds) as backend:
        result = dingo(backend, objective, config, w0=w0)
    assert 3 in reference.history["case"]
    assert reference.rounds > 2 + 6 * n_iter  # some line searches took several batches
    np.testing.assert_array_equal(result.history["case"], reference.history["case"])
    np.testing.assert_array_equal(result.history["step_size"], reference.history["step_size"])
    assert (result.rounds, result.bytes_down, result.bytes_up) == (
        reference.rounds,
        reference.bytes_down,
        reference.bytes_up,
    )
    np.testing.assert_allclose(result.w, reference.w, rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    "kind, sparse, masked",
    [
        ("binary", False, False),
        ("softmax", False, True),
        ("binary", True, True),
        pytest.param("softmax", True, False, marks=pytest.mark.slow),
    ],
)
def test_from_dask_arrays_matches_local(client, kind, sparse, masked):
    X, Y, s, objective = make_problem(kind, sparse)
    chunks = (1100, 400, 1000, 1470, 30)  # uneven, with a tiny trailing chunk
    Xd, Yd, sd = to_dask(X, Y, s, chunks)
    if masked:  # unknown chunk sizes
        keep = np.random.default_rng(1).random(X.shape[0]) > 0.2
        mask = da.from_array(keep, chunks=(chunks,))
        Xd, Yd, sd = Xd[mask], Yd[mask], sd[mask]
        assert np.isnan(Xd.shape[0])
        X, Y, s = X[keep], Y[keep], s[keep]
        edges = bounds_of(chunks)
        chunks = tuple(int(keep[a:b].sum()) for a, b in zip(edges[:-1], edges[1:]))
    sizes = shard_bounds_for_dask_chunks(chunks, objective.n_params, objective.n_outputs)
    assert len(sizes) == len(chunks) - 1  # the tiny chunk was merged
    objective = make_objective(kind, float(s.sum()))
    reference = local_fit(X, Y, s, objective, bounds_of(sizes))
    with dask_backend_from_arrays(
        client, Xd, Yd, sd, n_params=objective.n_params, n_outputs=objective.n_outputs
    ) as backend:
        assert backend.n_shards == len(sizes)
        np.testing.assert_allclose(backend.weight_sums.sum(), s.sum())
        shards = client.gather(backend.shards)
        assert [shard.n_samples for shard in shards] == list(sizes)
        assert all(sp.isspmatrix_csr(shard.X) == sparse for shard in shards)
        result = dingo(backend, objective, CONFIG)
    assert_same_fit(result, reference)


def test_from_dask_arrays_drops_zero_weight_chunks(client):
    X, Y, s, objective = make_problem("binary")
    s = s.copy()
    s[1000:2000] = 0.0
    Xd, Yd, sd = to_dask(X, Y, s, (1000, 1000, 1000, 1000))
    with dask_backend_from_arrays(client, Xd, Yd, sd, n_params=13, n_outputs=1) as backend:
        assert backend.n_shards == 3
        np.testing.assert_allclose(backend.weight_sums.sum(), s.sum())


def test_from_dask_arrays_with_empty_and_zero_weight_chunks(client):
    """Chunks of 1,000, 0, 1,000, 1,000 and 30 rows, rows 1,000 to 2,000 of zero weight.

    Worked out from the merging rule: the median of the non-empty chunks is
    1,000, so the empty chunk and the 30 rows are small; the empty one merges
    into the left of its equal neighbours, the 30 rows into theirs. Of the
    shards of 1,000, 1,000 and 1,030 rows the second, of zero weight, is dropped.
    """
    X, Y, s, objective = make_problem("binary")
    chunks = (1000, 0, 1000, 1000, 30)
    n = sum(chunks)
    X, Y, s = X[:n], Y[:n], s[:n].copy()
    s[1000:2000] = 0.0
    Xd, Yd, sd = to_dask(X, Y, s, chunks)
    with dask_backend_from_arrays(client, Xd, Yd, sd, n_params=13, n_outputs=1) as backend:
        assert backend.n_shards == 2
        assert [shard.n_samples for shard in client.gather(backend.shards)] == [1000, 1030]
        np.testing.assert_allclose(backend.weight_sums.sum(), s.sum())


def test_bad_inputs(client):
    X, Y, s, _ = make_problem("binary")
    Xd, Yd, sd = to_dask(X, Y, s, (2000, 2000))
    with pytest.raises(ValueError, match="same number of rows"):
        dask_backend_from_arrays(client, Xd, Yd[:-1], sd, n_params=13, n_outputs=1)
    with pytest.raises(ValueError, match="2-D"):
        dask_backend_from_arrays(client, Xd, Yd[:, 0], sd, n_params=13, n_outputs=1)
    with pytest.raises(ValueError, match="all be zero"):
        dask_backend_from_arrays(client, Xd, Yd, sd * 0, n_params=13, n_outputs=1)
    with pytest.raises(ValueError, match="bounds"):
        DaskBackend.from_numpy(client, X, Y, s, [0, 10, 10, 4000])


# -- communication ------------------------------------------------------------------
@pytest.mark.parametrize("builder", ["numpy", "dask"])
def test_only_small_replies_travel_and_shards_stay(client, builder):
    X, Y, s, objective = make_problem("softmax")
    D, B = objective.n_params, CONFIG.line_search_batch
    if builder == "numpy":
        backend = DaskBackend.from_numpy(client, X, Y, s, [0, 1000, 2000, 3000, 4000])
    else:
        backend = dask_backend_from_arrays(
            client, *to_dask(X, Y, s, (1000, 1000, 1000, 1000)), n_params=D, n_outputs=3
        )
    rounds, addresses, groups = [], [], []
    map_round = backend._map

    def recording_map(*args):
        handles = map_round(*args)
        rounds.append(handles.keys)
        addresses.append(handles.addresses)
        groups.append(handles.groups)
        return handles

    backend._map = recording_map
    shard_keys = [f.key for f in backend.shards]
    placements = []

    def check_placement(row):
        keys = rounds[-1]
        # A round's replies arrive just before the scheduler records the tasks' end.
        while any(future.status != "finished" for future in backend.last_handles.futures):
            time.sleep(0.005)
        pairs = [(k, shard_keys[j]) for k, members in zip(keys, groups[-1]) for j in members]
        placements.append(
            client.run_on_scheduler(
                lambda dask_scheduler: [
                    (
                        {ws.address for ws in dask_scheduler.tasks[k].who_has or ()},
                        {ws.address for ws in dask_scheduler.tasks[sk].who_has or ()},
                    )
                    for k, sk in pairs
                ]
            )
        )

    incoming = lambda dask_worker: list(dask_worker.transfer_incoming_log)  # noqa: E731
    outgoing = lambda dask_worker: list(dask_worker.transfer_outgoing_log)  # noqa: E731
    before, sent_before = client.run(incoming), client.run(outgoing)
    with backend:
        result = dingo(backend, objective, CONFIG, callback=check_placement)
        assert result.converged
        after, sent_after = client.run(incoming), client.run(outgoing)
        dependencies = client.run_on_scheduler(
            lambda dask_scheduler: {
                k: {d.key for d in dask_scheduler.tasks[k].dependencies}
                for keys in rounds
                for k in keys
            }
        )
        shard_nbytes = client.run_on_scheduler(
            lambda dask_scheduler: [dask_scheduler.tasks[k].nbytes for k in shard_keys]
        )
    # Replies: a few parameter vectors at most (B trial gradients + losses).
    assert len(backend.reply_nbytes) == backend.n_shards * (result.rounds - len(rounds) + 1)
    assert max(backend.reply_nbytes) <= (B + 4) * (D + 1) * 8
    # Two shards share each single-thread worker: every round is one task per
    # worker (never one waiting in a worker's queue, where work stealing could
    # take it), running both shards of that worker ...
    for keys, members, where in zip(rounds, groups, addresses):
        assert len(keys) == 2 and sorted(j for group in members for j in group) == [0, 1, 2, 3]
        assert all(len({where[j] for j in group}) == 1 for group in members)
        assert len({where[group[0]] for group in members}) == 2
    # ... depends on its shards and on the previous round's results of those
    # shards (passed by reference; the states never move) ...
    holder = [{j: keys[g] for g, group in enumerate(members) for j in group} for keys, members in zip(rounds, groups)]
    for r, (keys, members) in enumerate(zip(rounds, groups)):
        for key, group in zip(keys, members):
            expected = {shard_keys[j] for j in group}
            if r:
                expected |= {holder[r - 1][j] for j in group}
            assert dependencies[key] == expected
    # ... and ran where its shards live ...
    assert placements and all(task == shard and task for p in placements for task, shard in p)
    # ... and no worker fetched anything from another during the fit, nor sent
    # any result to anyone: the replies came with the tasks' completion.
    for address in after:
        assert after[address][len(before[address]) :] == []
        assert sent_after[address][len(sent_before[address]) :] == []
    # The scheduler knows how large a shard is (for its cost and memory models).
    assert min(shard_nbytes) >= 1000 * N_FEATURES * 8
    # close() releases everything this fit put on the cluster.
    for _ in range(50):
        if not scheduler_tasks_with(client, backend.token) and not any(
            k in shard_keys for k in scheduler_tasks_with(client, "dingo-shard")
        ):
            break
        time.sleep(0.1)
    assert scheduler_tasks_with(client, backend.token) == []
    assert not set(shard_keys) & set(scheduler_tasks_with(client, "dingo-shard"))


def test_one_graph_submission_per_round_and_no_reply_tasks(client, monkeypatch):
    """Every round reaches the scheduler as one graph of one task per shard; nothing else is submitted."""
    from sklearn_dingo._backends.dask import _channel as _dask_channel

    monkeypatch.setattr(_dask_channel, "_BATCHES_BETWEEN_TRUNCATIONS", 3)
    X, Y, s, objective = make_problem("softmax")
    maps, kept_events = [], []
    with counted_graphs(client) as graphs:
        with DaskBackend.from_numpy(client, X, Y, s, [0, 1000, 2000, 3000, 4000]) as backend:
            map_round = backend._map

            def recording_map(*args):
                handles = map_round(*args)
                maps.append(sorted(handles.keys))
                return handles

            backend._map = recording_map
            result = dingo(
                backend, objective, CONFIG,
                callback=lambda row: kept_events.append(len(client.get_events(backend.channel.topic))),
            )
        submitted = graphs()
    assert result.converged and len(maps) > 5
    # The scheduler's copies of the replies: dropped every 3 batches, and all at the end.
    assert max(kept_events) <= 3 * backend.n_shards
    assert not [topic for topic in client.get_events() if topic.startswith("dingo-replies-")]
    build, *rounds = submitted
    assert len(build) == 4 and all(key.startswith("dingo-shard") for key in build)
    # One submission per round, in the order of the rounds, holding that
    # round's task for each single-thread worker, which runs the worker's two
    # shards (named in the key); no reply task, no other graph.
    assert rounds == maps
    for keys in rounds:
        assert len(keys) == 2 and sorted(j for key in keys for j in shards_of_round_key(key)) == [0, 1, 2, 3]
    assert not [key for keys in submitted for key in keys if "reply" in key]


def test_reports_missing_from_the_events_are_fetched(client, monkeypatch):
    """A cluster that drops the reports' events still gives every report (from the results)."""
    from sklearn_dingo._backends.dask import _channel as _dask_channel
    from sklearn_dingo._backends.dask._channel import PlacedTask, ReplyChannel
    from sklearn_dingo._backends.dask._tasks import whole

    monkeypatch.setattr(_dask_channel, "_REPORT_GRACE_SECONDS", 0.1)
    dropped = []
    monkeypatch.setattr(ReplyChannel, "_deliver", lambda self, event: dropped.append(event))
    workers = sorted(client.nthreads())
    tasks = [PlacedTask(f"square-{j}-{time.time_ns()}", pow, (j, 2), workers[j % 2], whole) for j in range(5)]
    with ReplyChannel(client) as channel:
        futures = channel.submit("dropped", tasks, dict(client.nthreads()))
        received = channel.receive("dropped", futures, tasks)
    assert [value for value, _ in received] == [j**2 for j in range(5)]
    assert [address for _, address in received] == [workers[j % 2] for j in range(5)]
    assert len(dropped) == 5  # the events did come, and were dropped


def test_shard_errors_propagate_with_the_round(client):
    X, Y, s, _ = make_problem("binary")

    def broken_round(shard, state):
        raise ArithmeticError("shard went wrong")

    with DaskBackend.from_numpy(client, X, Y, s, [0, 2000, 4000]) as backend:
        handles = backend.map("broken", broken_round, None)
        with pytest.raises(ArithmeticError, match="shard went wrong") as info:
            backend.reduce(handles)
    assert any("broken" in note for note in info.value.__notes__)


# -- fault tolerance ------------------------------------------------------------------
@pytest.mark.slow  # a worker killed
@pytest.mark.parametrize("builder", ["numpy", "dask"])
def test_worker_restart_mid_fit(client, builder):
    X, Y, s, objective = make_problem("softmax", sparse=builder == "dask")
    chunks = (1000, 1000, 1000, 1000)

    def build():
        if builder == "numpy":
            return DaskBackend.from_numpy(client, X, Y, s, bounds_of(chunks))
        # The longest lineage: unknown chunk sizes, a merged tiny chunk, sparse chunks.
        Xd, Yd, sd = to_dask(X, Y, s, (1000, 1000, 1000, 980, 20))
        mask = da.from_array(np.arange(X.shape[0]) % 5 != 0, chunks=((1000, 1000, 1000, 980, 20),))
        return dask_backend_from_arrays(
            client, Xd[mask], Yd[mask], sd[mask], n_params=objective.n_params, n_outputs=3
        )

    with build() as backend:
        reference = dingo(backend, objective, CONFIG)
    assert reference.n_iter > 3

    with build() as backend:
        victim = {}

        def restart_a_worker(row):
            if row["iteration"] == 2:
                holders = client.who_has(backend.shards)
                victim["address"] = holders[backend.shards[0].key][0]
                victim["lost"] = [
                    f.key for f in backend.shards if victim["address"] in holders[f.key]
                ]
                kill_worker(client, victim["address"])

        result = dingo(backend, objective, CONFIG, callback=restart_a_worker)
        stories = client.run_on_scheduler(
            lambda dask_scheduler: {
                k: [t[1:3] for t in dask_scheduler.story(k) if t[0] == k]
                for k in victim["lost"]
            }
        )
    assert victim["address"] not in client.scheduler_info()["workers"]
    # The lost shards really were rebuilt (computed again: once, or more when
    # the scheduler's timing makes it start one on the worker being restarted),
    # and the fit went on to exactly the uninterrupted solution.
    assert victim["lost"] and all(v.count(("processing", "memory")) >= 2 for v in stories.values()), stories
    assert_same_fit(result, reference)


# -- rebalancing rows -------------------------------------------------------------------
def chunked_backend(client, X, Y, s, chunks):
    Xd, Yd, sd = to_dask(X, Y, s, chunks)
    return dask_backend_from_arrays(client, Xd, Yd, sd, n_params=13 * Y.shape[1], n_outputs=Y.shape[1])


@pytest.mark.parametrize("sparse", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["dense", "csr"])
def test_rebalance_rows_gives_every_mth_row(client, sparse):
    """The all-to-all move: rebalanced shard j holds rows j, j + m, … of the input, in order."""
    X, Y, s, objective = make_problem("softmax", sparse)
    m = 4
    with chunked_backend(client, X, Y, s, (1000,) * m) as backend:
        before = list(backend._shard_addresses)
        rounds = backend.rounds
        cost = backend.rebalance_cost()
        assert not backend.rows_rebalanced
        assert backend.rebalance_rows() == cost.nbytes == backend.bytes_moved
        assert backend.rounds == rounds + cost.rounds == rounds + 2
        assert backend.rebalance_cost() is None and backend.rows_rebalanced
        assert backend._shard_addresses == before  # every worker keeps its number of shards
        shards = client.gather(backend.shards)
        dense_X = X.toarray() if sparse else X
        for j, shard in enumerate(shards):
            got = shard.X.toarray() if sparse else shard.X
            np.testing.assert_array_equal(got, dense_X[j::m])
            np.testing.assert_array_equal(shard.Y, Y[j::m])
            np.testing.assert_array_equal(shard.sample_weight, s[j::m])
        np.testing.assert_allclose(backend.weights, [s[j::m].sum() / s.sum() for j in range(m)], rtol=1e-14)
        if not sparse:  # bytes of the rows that changed worker, counted independently
            row_bytes = 8 * (X.shape[1] + Y.shape[1] + 1)
            expected = sum(
                row_bytes * len(range(1000 * i, 1000 * (i + 1))[(j - 1000 * i) % m :: m])
                for i in range(m) for j in range(m) if before[i] != before[j]
            )
            assert cost.nbytes == expected
        result = dingo(backend, objective, CONFIG)
    reference = local_fit(X, Y, s, objective, row_slices(X.shape[0], m, strided=True))
    assert result.n_iter == reference.n_iter
    np.testing.assert_allclose(result.w, reference.w, rtol=0, atol=1e-8)


@pytest.mark.slow  # a worker killed
def test_rebalanced_shards_survive_a_lost_worker(client):
    """Rebalanced shards are tasks of the shards they replace: a worker lost after the move is rebuilt."""
    X, Y, s, objective = make_problem("softmax")
    reference = local_fit(X, Y, s, objective, row_slices(X.shape[0], 4, strided=True))
    with chunked_backend(client, X, Y, s, (1000,) * 4) as backend:
        backend.rebalance_rows()
        victim = client.who_has(backend.shards)[backend.shards[0].key][0]
        kill_worker(client, victim)
        result = dingo(backend, objective, CONFIG)
    assert victim not in client.scheduler_info()["workers"]
    assert result.n_iter == reference.n_iter
    np.testing.assert_allclose(result.w, reference.w, rtol=0, atol=1e-8)


def test_shards_from_numpy_are_never_rebalanced_again(client):
    X, Y, s, _ = make_problem("binary")
    with DaskBackend.from_numpy(client, X, Y, s, row_slices(X.shape[0], 3, strided=True)) as backend:
        assert backend.rebalance_cost() is None and backend.rows_rebalanced
    with DaskBackend.from_numpy(client, X, Y, s, row_slices(X.shape[0], 3, strided=False)) as backend:
        assert not backend.rows_rebalanced
    with DaskBackend.from_numpy(client, X, Y, s, row_slices(X.shape[0], 3, strided=True)) as backend:
        shards = client.gather(backend.shards)
        for j, shard in enumerate(shards):
            np.testing.assert_array_equal(shard.X, X[j::3])


@pytest.mark.slow  # a worker killed
def test_unrecoverable_loss_fails_clearly(client):
    """Data Dask cannot recompute (scattered) lost mid-fit: a clear error, no result."""
    from dask import delayed

    X, Y, s, objective = make_problem("binary")
    victim = sorted(client.scheduler_info()["workers"])[0]
    arrays = []
    for a in (X, Y, s):
        blocks = [
            da.from_delayed(
                delayed(client.scatter(a[i : i + 2000], workers=[victim])),
                shape=(2000, *a.shape[1:]),
                dtype=a.dtype,
            )
            for i in (0, 2000)
        ]
        arrays.append(da.concatenate(blocks))
    backend = dask_backend_from_arrays(client, *arrays, n_params=13, n_outputs=1)
    del arrays, blocks

    iterations = []

    def restart_victim(row):
        iterations.append(row["iteration"])
        if row["iteration"] == 2:
            kill_worker(client, victim)

    with backend, pytest.raises(RuntimeError, match="lost and cannot be recomputed"):
        dingo(backend, objective, CONFIG, callback=restart_victim)
    assert iterations == [1, 2]  # it ran fine until the worker was lost


# -- security ---------------------------------------------------------------------------
@pytest.mark.slow  # a cluster of its own
def test_tls_cluster(tls_client):
    X, Y, s, objective = make_problem("binary", sparse=True)
    bounds = [0, 2000, 4000]
    reference = local_fit(X, Y, s, objective, bounds)
    assert tls_client.scheduler.address.startswith("tls://")
    with DaskBackend.from_numpy(tls_client, X, Y, s, bounds) as backend:
        result = dingo(backend, objective, CONFIG)
    assert_same_fit(result, reference)
