"""Dask collections in: the chunk-merging rule (no cluster needed)."""

import pytest

from sklearn_dingo._data._dask_layout import shard_bounds_for_dask_chunks
from _references import merge_small_chunks


# -- the merging rule ---------------------------------------------------------------
@pytest.mark.parametrize(
    "chunks, n_params, n_outputs, expected",
    [
        ((1000, 1000, 1000), 10, 1, (1000, 1000, 1000)),
        ((1000, 1000, 1000, 50), 10, 1, (1000, 1000, 1050)),  # short trailing chunk
        ((50, 1000, 1000, 1000), 10, 1, (1050, 1000, 1000)),  # short leading chunk
        ((1000, 800, 100, 1000), 10, 1, (1000, 900, 1000)),  # into the smaller neighbour
        ((1000, 260, 1000), 10, 1, (1000, 260, 1000)),  # above a quarter of the median
        ((1000, 240, 1000), 10, 1, (1240, 1000)),  # below it; on a tie, the left one
        ((300, 300, 300), 400, 1, (900,)),  # n_j < D: all merge into one
        ((300, 300, 300, 300), 700, 3, (600, 600)),  # n_j (K-1) < D
        ((300, 300, 300, 300), 500, 3, (300, 300, 300, 300)),  # n_j (K-1) >= D
        ((0, 1000, 0, 1000), 10, 1, (1000, 1000)),  # empty chunks (e.g. after a mask)
        ((7,), 100, 1, (7,)),  # a single chunk stays, however small
    ],
)
def test_shard_bounds_for_dask_chunks(chunks, n_params, n_outputs, expected):
    sizes = shard_bounds_for_dask_chunks(chunks, n_params, n_outputs)
    assert sizes == expected
    assert sum(sizes) == sum(chunks)
    assert all(isinstance(c, int) for c in sizes)


@pytest.mark.parametrize(
    "chunks, min_rows, max_shards, expected",
    [
        ((1000, 1000, 1000, 1000), 0, None, (1000, 1000, 1000, 1000)),
        ((1000, 1000, 1000, 1000), 1500, None, (2000, 2000)),
        ((1000, 1000, 1000, 1000), 5000, None, (4000,)),  # fewer rows than asked: one shard
        ((1000, 900, 800, 1000), 0, 2, (2700, 1000)),  # greedy: smallest first
        ((1000, 1000, 1000, 1000), 0, 3, (2000, 1000, 1000)),  # left neighbour on a tie
        ((1000, 1000, 1000, 1000), 0, 8, (1000, 1000, 1000, 1000)),  # chunks are never split
        ((3000, 100, 3000, 3000), 2000, 1, (9100,)),
    ],
)
def test_shard_bounds_min_rows_and_max_shards(chunks, min_rows, max_shards, expected):
    sizes = shard_bounds_for_dask_chunks(chunks, 10, 1, min_rows=min_rows, max_shards=max_shards)
    assert sizes == expected
    assert sizes == tuple(merge_small_chunks(chunks, 10, 1, min_rows=min_rows, max_shards=max_shards))


def test_shard_bounds_rejects_unknown_sizes():
    with pytest.raises(ValueError, match="known"):
        shard_bounds_for_dask_chunks((100, float("nan")), 10, 1)
