"""Sparse products split over threads equal SciPy's own, and the backend sets their threads."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from sklearn_dingo._objectives import _sparse, row_block_view, sparse_product, sparse_product_threads


@pytest.fixture
def csr():
    rng = np.random.default_rng(0)
    return sp.random(3000, 500, density=0.05, format="csr", random_state=rng)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_products_equal_scipys(csr, threads, monkeypatch):
    monkeypatch.setattr(_sparse, "MIN_THREADED_NNZ", 0)
    rng = np.random.default_rng(1)
    V, R = rng.standard_normal((500, 4)), rng.standard_normal((3000, 4))
    with sparse_product_threads(threads):
        assert _sparse._threads == threads
        assert_allclose(sparse_product(csr, V), csr.toarray() @ V, rtol=1e-12, atol=1e-12)
        assert_allclose(sparse_product(csr, R, transpose=True), csr.toarray().T @ R, rtol=1e-12, atol=1e-12)
        assert_allclose(sparse_product(csr, R[:, 0], transpose=True), csr.toarray().T @ R[:, 0], atol=1e-12)
    assert _sparse._threads == 1


def test_blocks_hold_about_equal_entries_and_cover_the_rows(csr, monkeypatch):
    monkeypatch.setattr(_sparse, "MIN_THREADED_NNZ", 0)
    blocks = _sparse._blocks(csr, 3)
    rows = [block[0] for block in blocks]
    assert rows[0].start == 0 and rows[-1].stop == csr.shape[0]
    assert all(a.stop == b.start for a, b in zip(rows[:-1], rows[1:]))
    sizes = [block[1].nnz for block in blocks]
    assert max(sizes) - min(sizes) <= 2 * csr.getnnz(axis=1).max()
    assert _sparse._blocks(csr, 3) is blocks  # made once per matrix


def test_row_block_views_share_the_data(csr):
    block = row_block_view(csr, 100, 900)
    assert np.shares_memory(block.data, csr.data)
    assert_allclose(block.toarray(), csr[100:900].toarray())


def test_the_local_backend_gives_sparse_shards_the_free_cores(csr):
    from sklearn_dingo._backends import LocalBackend, available_cores, split_rows

    Y, s = np.ones((3000, 1)), np.ones(3000)
    cores = available_cores()
    with LocalBackend(split_rows(csr, Y, s, [0, 3000])):
        assert _sparse._threads == cores  # one shard: every core for its products
    with LocalBackend(split_rows(csr.toarray(), Y, s, [0, 3000])):
        assert _sparse._threads == 1  # dense: BLAS's threads instead
    assert _sparse._threads == 1



def test_threaded_products_copy_no_rows(monkeypatch):
    """The row blocks and their transposes are views of X's buffers: no copy of X is kept."""
    monkeypatch.setattr(_sparse, "MIN_THREADED_NNZ", 0)
    X = sp.random(4000, 300, density=0.05, format="csr", random_state=np.random.default_rng(2))
    for _, block, transposed in _sparse._blocks(X, 2):
        for part in (block, transposed):
            assert np.shares_memory(part.data, X.data) and np.shares_memory(part.indices, X.indices)
    assert_allclose(_sparse._blocks(X, 2)[1][2].toarray(), X[_sparse._blocks(X, 2)[1][0]].toarray().T)
