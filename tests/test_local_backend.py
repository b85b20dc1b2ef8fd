"""In-process backend: row-block views, π weights, reduce, accounting, threads."""

import os
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from sklearn_dingo._backends import LocalBackend, even_row_bounds, split_rows
from sklearn_dingo._backends._local import row_slices
from sklearn_dingo._shard import ShardData

CORES = len(os.sched_getaffinity(0))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n, d = 103, 7
    X = rng.normal(size=(n, d))
    Y = rng.normal(size=(n, 3))
    s = rng.uniform(0.1, 2.0, size=n)
    return X, Y, s


def _blas_threads():
    return [m["num_threads"] for m in threadpool_info() if m["user_api"] == "blas"]


# -- row bounds and views ----------------------------------------------------------


@pytest.mark.parametrize("n, m", [(10, 1), (10, 3), (103, 7), (5, 5)])
def test_even_row_bounds(n, m):
    bounds = even_row_bounds(n, m)
    assert len(bounds) == m + 1 and bounds[0] == 0 and bounds[-1] == n
    sizes = np.diff(bounds)
    assert sizes.min() >= 1 and sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("m", [0, 11])
def test_even_row_bounds_invalid(m):
    with pytest.raises(ValueError, match="n_shards"):
        even_row_bounds(10, m)


def test_dense_shards_are_views(data):
    X, Y, s = data
    bounds = even_row_bounds(X.shape[0], 4)
    shards = split_rows(X, Y, s, bounds)
    assert len(shards) == 4
    for shard, (lo, hi) in zip(shards, zip(bounds[:-1], bounds[1:])):
        assert isinstance(shard, ShardData)
        assert np.shares_memory(shard.X, X) and np.shares_memory(shard.Y, Y)
        assert np.shares_memory(shard.sample_weight, s)
        np.testing.assert_array_equal(shard.X, X[lo:hi])
        np.testing.assert_array_equal(shard.Y, Y[lo:hi])
        assert shard.weight_sum == pytest.approx(s[lo:hi].sum(), rel=1e-15)
        assert shard.n_samples == hi - lo and shard.nnz == (hi - lo) * X.shape[1]


def test_csr_shards_share_data_and_indices(data):
    X, Y, s = data
    X = X.copy()
    X[np.random.default_rng(1).random(X.shape) < 0.6] = 0.0
    Xs = sp.csr_matrix(X)
    bounds = [0, 20, 21, 70, 103]
    shards = split_rows(Xs, Y, s, bounds)
    for shard, (lo, hi) in zip(shards, zip(bounds[:-1], bounds[1:])):
        assert sp.issparse(shard.X) and shard.X.format == "csr"
        assert shard.X.shape == (hi - lo, X.shape[1])
        assert np.shares_memory(shard.X.data, Xs.data)
        assert np.shares_memory(shard.X.indices, Xs.indices)
        np.testing.assert_array_equal(shard.X.toarray(), X[lo:hi])
        assert shard.nnz == np.count_nonzero(X[lo:hi])


def test_zero_weight_blocks_are_dropped(data):
    X, Y, s = data
    s = s.copy()
    bounds = [0, 30, 60, 103]
    s[30:60] = 0.0
    shards = split_rows(X, Y, s, bounds)
    assert len(shards) == 2
    np.testing.assert_array_equal(shards[0].X, X[:30])
    np.testing.assert_array_equal(shards[1].X, X[60:])
    with LocalBackend(shards) as backend:
        np.testing.assert_allclose(backend.weights, [s[:30].sum(), s[60:].sum()] / s.sum(), rtol=1e-15)


# -- rebalanced rows ----------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(10, 1), (10, 3), (103, 7), (5, 5)])
@pytest.mark.parametrize("strided", [False, True])
def test_row_slices_partition_the_rows(n, m, strided):
    slices = row_slices(n, m, strided=strided)
    rows = np.concatenate([np.arange(n)[sl] for sl in slices])
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))
    sizes = [len(range(n)[sl]) for sl in slices]
    assert max(sizes) - min(sizes) <= 1
    if strided:  # every m-th row
        assert [sl.step for sl in slices] == [m] * m


def test_rebalanced_dense_shards_are_strided_views(data):
    X, Y, s = data
    shards = split_rows(X, Y, s, row_slices(X.shape[0], 4, strided=True))
    for j, shard in enumerate(shards):
        assert np.shares_memory(shard.X, X) and np.shares_memory(shard.Y, Y)
        assert shard.X.strides == (4 * X.strides[0], X.strides[1])  # BLAS reads it through lda
        np.testing.assert_array_equal(shard.X, X[j::4])
        assert shard.weight_sum == pytest.approx(s[j::4].sum(), rel=1e-15)


def _sparse(X):
    X = X.copy()
    X[np.random.default_rng(1).random(X.shape) < 0.6] = 0.0
    return X, sp.csr_matrix(X)


@pytest.mark.parametrize("rebalance", ["auto", True, False])
def test_from_arrays_dense(data, rebalance):
    X, Y, s = data
    with LocalBackend.from_arrays(X, Y, s, 4, rebalance=rebalance) as backend:
        assert backend.rebalance_cost() is None  # dense shards are rebalanced, or stay as asked, from the start
        bounds = even_row_bounds(X.shape[0], 4)
        contiguous = [X[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
        expected = [X[j::4] for j in range(4)] if rebalance is not False else contiguous
        assert backend.rows_rebalanced is (rebalance is not False)
        for shard, rows in zip(backend.shards, expected):
            assert np.shares_memory(shard.X, X)
            np.testing.assert_array_equal(shard.X, rows)


def test_from_arrays_csr_rebalances_only_when_asked(data):
    X, Y, s = data
    dense, Xs = _sparse(X)
    with LocalBackend.from_arrays(Xs, Y, s, 3, rebalance=False) as backend:
        assert backend.rebalance_cost() is None
        assert all(np.shares_memory(shard.X.data, Xs.data) for shard in backend.shards)
    with LocalBackend.from_arrays(Xs, Y, s, 1, rebalance=True) as backend:
        assert backend.rebalance_cost() is None  # one shard: nothing to rebalance


@pytest.mark.parametrize("rebalance", ["auto", True])
def test_csr_rebalances_on_request(data, rebalance):
    """CSR shards start as views; the driver has them copied into rebalanced shards (at once with True)."""
    X, Y, s = data
    dense, Xs = _sparse(X)
    s = s.copy()
    s[1::3] = 0.0  # a rebalanced shard of zero weight is dropped
    with LocalBackend.from_arrays(Xs, Y, s, 3, rebalance=rebalance) as backend:
        assert all(np.shares_memory(shard.X.data, Xs.data) for shard in backend.shards)  # views first
        assert not backend.rows_rebalanced
        cost = backend.rebalance_cost()
        nbytes = Xs.data.nbytes + Xs.indices.nbytes + Xs.indptr.nbytes
        assert cost.nbytes == nbytes and cost.rounds == 0 and cost.seconds > 0
        rounds = backend.rounds
        assert backend.rebalance_rows() == nbytes
        assert backend.bytes_moved == nbytes and backend.rounds == rounds
        assert backend.rebalance_cost() is None and backend.rows_rebalanced
        assert backend.n_shards == 2
        for shard, j in zip(backend.shards, (0, 2)):
            np.testing.assert_array_equal(shard.X.toarray(), dense[j::3])
            np.testing.assert_array_equal(shard.Y, Y[j::3])
        np.testing.assert_allclose(backend.weights, [s[0::3].sum() / s.sum(), s[2::3].sum() / s.sum()])
        with pytest.raises(RuntimeError, match="cannot be rebalanced"):
            backend.rebalance_rows()


# -- weights, reduce, accounting ------------------------------------------------------


def _reply(shard, state, *payload, scale=1.0):
    """A pure shard function: replies (scalar, vector) and counts its calls in the state."""
    calls = 0 if state is None else state
    offset = payload[0] if payload else 0.0
    vec = scale * shard.X.sum(axis=0) + offset
    return (float(shard.weight_sum), vec), calls + 1


@pytest.mark.parametrize("n_threads", [None, 1])
def test_weights_and_reduce(data, n_threads):
    X, Y, s = data
    bounds = [0, 10, 50, 51, 103]
    shards = split_rows(X, Y, s, bounds)
    S = np.array([s[lo:hi].sum() for lo, hi in zip(bounds[:-1], bounds[1:])])
    with LocalBackend(shards, n_threads=n_threads) as backend:
        assert backend.n_shards == 4
        np.testing.assert_allclose(backend.weights, S / S.sum(), rtol=1e-15)
        assert backend.weights.sum() == pytest.approx(1.0, rel=1e-15)
        handles = backend.map("first", _reply, None, scale=2.0)
        total, vec = backend.reduce(handles)
        pi = S / S.sum()
        assert total == pytest.approx(np.sum(pi * S), rel=1e-14)
        expected = sum(p * 2.0 * X[lo:hi].sum(axis=0) for p, lo, hi in zip(pi, bounds[:-1], bounds[1:]))
        np.testing.assert_allclose(vec, expected, rtol=1e-13)
        # states travel from one round to the next
        offset = np.arange(X.shape[1], dtype=float)
        handles = backend.map("second", _reply, handles, offset)
        assert [state for _, state in handles] == [2, 2, 2, 2]
        _, vec2 = backend.reduce(handles)
        np.testing.assert_allclose(vec2, expected / 2.0 + offset, rtol=1e-13)
        # the spread of one reply component, at no extra round's cost
        rounds = backend.rounds
        (_, vec3), spread = backend.reduce_with_spread(handles, 1)
        assert backend.rounds == rounds + 1
        local = [X[lo:hi].sum(axis=0) + offset for lo, hi in zip(bounds[:-1], bounds[1:])]
        np.testing.assert_allclose(vec3, vec2, rtol=1e-15)
        assert spread == pytest.approx(sum(p * np.sum((v - vec2) ** 2) for p, v in zip(pi, local)), rel=1e-12)


def test_round_and_byte_accounting(data):
    X, Y, s = data
    shards = split_rows(X, Y, s, even_row_bounds(X.shape[0], 3))
    d = X.shape[1]
    with LocalBackend(shards) as backend:
        handles = backend.map("no payload", _reply, None)  # nothing broadcast: no round
        assert (backend.rounds, backend.bytes_down, backend.bytes_up) == (0, 0, 0)
        backend.reduce(handles)  # reply: one scalar and d floats per shard
        assert (backend.rounds, backend.bytes_down, backend.bytes_up) == (1, 0, 3 * 8 * (d + 1))
        handles = backend.map("payload", _reply, handles, np.zeros(d))
        assert (backend.rounds, backend.bytes_down) == (2, 3 * 8 * d)
        handles = backend.map("scalar", _reply, handles, 0.5)
        assert (backend.rounds, backend.bytes_down) == (3, 3 * 8 * (d + 1))
        backend.reduce(handles)
        assert (backend.rounds, backend.bytes_up) == (4, 2 * 3 * 8 * (d + 1))


# -- threads ----------------------------------------------------------------------------


@pytest.mark.parametrize("n_shards, n_threads", [(1, None), (3, None), (5, None), (3, 1), (4, 2)])
def test_threads_times_blas_threads_at_most_cores(data, n_shards, n_threads):
    X, Y, s = data
    shards = split_rows(X, Y, s, even_row_bounds(X.shape[0], n_shards))
    seen = []
    lock = threading.Lock()

    def probe(shard, state):
        with lock:
            seen.append((threading.current_thread().name, tuple(_blas_threads())))
        return (0.0,), state

    before = threadpool_info()
    backend = LocalBackend(shards, n_threads=n_threads)
    try:
        expected_threads = n_threads or min(n_shards, CORES)
        assert backend.n_threads == expected_threads
        backend.reduce(backend.map("probe", probe, None))
    finally:
        backend.close()
    assert len(seen) == n_shards
    for _, blas in seen:
        assert blas, "no BLAS library visible to threadpoolctl"
        assert all(1 <= t and backend.n_threads * t <= max(CORES, backend.n_threads) for t in blas)
    # close() restores the BLAS limits found before the backend was opened
    after = threadpool_info()
    assert [(m["filepath"], m["num_threads"]) for m in after] == [
        (m["filepath"], m["num_threads"]) for m in before
    ]


def test_blas_limited_while_open_on_multicore():
    """With one thread per core, each shard's BLAS runs single-threaded."""
    rng = np.random.default_rng(0)
    n = 4 * CORES
    shards = split_rows(rng.normal(size=(n, 2)), np.zeros((n, 1)), np.ones(n), even_row_bounds(n, CORES))
    before = _blas_threads()
    with LocalBackend(shards) as backend:
        assert backend.n_threads == CORES
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
