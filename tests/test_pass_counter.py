"""The pass-counting hook of the objectives (sklearn_dingo/_objectives/_passes.py)."""

import threading
import types
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_dingo import DingoLogisticRegression
from sklearn_dingo._objectives import BinaryLogistic, LinearObjective, MultinomialSoftmax, _passes, pass_counter
from sklearn_dingo._shard import ShardData

N, D = 300, 5


def _shard(sparse=False, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    if sparse:
        X = sp.csr_matrix(np.where(rng.random((N, D)) < 0.3, X, 0.0))
    y = rng.integers(0, n_classes, N)
    kwargs = dict(n_features=D, fit_intercept=True, C=1.0, total_weight=float(N))
    objective = BinaryLogistic(**kwargs) if n_classes == 2 else MultinomialSoftmax(n_classes=n_classes, **kwargs)
    shard = ShardData(X, objective.encode_targets(y), np.ones(N), float(N))
    w = 0.1 * rng.standard_normal(objective.n_params)
    return objective, shard, w


@pytest.mark.parametrize("sparse", [False, True])
def test_each_product_reports_the_rows_it_reads(sparse):
    """Known numbers of reads: one per product with X, two for a sparse Gram product."""
    objective, shard, w = _shard(sparse)
    eta = objective.margins(shard.X, w)  # made before counting
    with pass_counter() as counter:
        objective.loss_gradient(shard, w, eta)  # Xᵀ r only
        assert counter.take() == N
        objective.loss_gradient(shard, w)  # X w, then Xᵀ r
        assert counter.take() == 2 * N
        curvature = objective.curvature(shard, eta)  # no product with X
        assert counter.take() == 0
        objective.hessp(shard, curvature, w)  # X v, then Xᵀ (a ⊙ X v)
        assert counter.take() == 2 * N
        objective.hessian_operator(shard, curvature)(w)  # dense: row blocks, each read once
        assert counter.take() == (2 * N if sparse else N)
        objective.hessian(shard, curvature)  # binary: one Gram product
        assert counter.take() == (2 * N if sparse else N)
        alphas = np.array([1.0, 0.5, 0.25])
        objective.loss_gradient_batch(shard, w, eta, w, None, alphas)  # the whole batch, one blocked pass
        assert counter.take() == (2 * N if sparse else N)


def test_softmax_hessian_reads_the_shard_once_per_gram_block():
    objective, shard, w = _shard(n_classes=3)
    curvature = objective.curvature(shard, objective.margins(shard.X, w))
    with pass_counter() as counter:
        objective.hessian(shard, curvature)
    assert counter.rows == 6 * N  # K (K + 1) / 2 = 6 blocks


def test_nothing_is_counted_outside_the_block_and_counters_nest():
    objective, shard, w = _shard()
    outer = pass_counter()
    objective.margins(shard.X, w)
    with outer:
        objective.margins(shard.X, w)
        with pass_counter() as inner:
            objective.margins(shard.X, w)
        objective.margins(shard.X, w)
    objective.margins(shard.X, w)
    assert (outer.rows, inner.rows) == (3 * N, N)
    assert _passes.active == ()


def test_a_fit_reads_what_its_products_read():
    """A whole in-process fit: the hook's count equals the rows counted by wrapping every product."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 4))
    y = (X @ np.ones(4) + rng.standard_normal(2000) > 0).astype(int)
    seen = []
    lock = threading.Lock()

    def wrapped(name, reads):
        original = getattr(LinearObjective, name)

        def product(self, *args, **kwargs):
            X_arg = args[0].X if name == "_weighted_gram" else args[0 if name == "margins" else 1]
            with lock:
                seen.append(reads(X_arg) * X_arg.shape[0])
            return original(self, *args, **kwargs)

        return mock.patch.object(LinearObjective, name, product)

    with (
        wrapped("margins", lambda X: 1),
        wrapped("_transpose_product", lambda X: 1),
        wrapped("_weighted_gram", lambda X: 2 if sp.issparse(X) else 1),
        pass_counter() as counter,
    ):
        model = DingoLogisticRegression(n_shards=2, tol=1e-8).fit(X, y)
    assert model.n_iter_[0] > 1
    assert counter.rows == sum(seen) > 0
    assert counter.rows % 1000 == 0  # every product reads a whole shard of 1,000 rows, or blocks of one


def test_threads_are_counted_exactly():
    counter = pass_counter()
    with counter:
        threads = [threading.Thread(target=lambda: [_passes.rows_read(3) for _ in range(1000)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert counter.rows == 12_000


def test_worker_counter_lives_on_the_worker_between_calls():
    worker = types.SimpleNamespace()
    objective, shard, w = _shard()
    _passes.start_worker_counter(worker)
    _passes.start_worker_counter(worker)  # idempotent: still one counter
    try:
        objective.margins(shard.X, w)
        assert _passes.take_worker_rows(worker) == N
        assert _passes.take_worker_rows(worker) == 0
    finally:
        _passes.stop_worker_counter(worker)
    assert _passes.active == ()
    with pytest.raises(RuntimeError, match="start_worker_counter"):
        _passes.take_worker_rows(worker)


def test_worker_counters_on_a_cluster(cluster_client):
    """Installed with ``client.run``: a fit on the cluster is counted on the workers, not here."""
    import dask.array as da

    rng = np.random.default_rng(2)
    X = rng.standard_normal((2000, 4))
    y = (X[:, 0] > 0).astype(int)
    Xd, yd = da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000)
    cluster_client.run(_passes.start_worker_counter)
    try:
        with cluster_client.as_current(), pass_counter() as here:
            DingoLogisticRegression(tol=1e-6).fit(Xd, yd)
        rows = cluster_client.run(_passes.take_worker_rows)
    finally:
        cluster_client.run(_passes.stop_worker_counter)
    assert here.rows == 0
    assert sum(rows.values()) > 0 and sum(rows.values()) % 1000 == 0
