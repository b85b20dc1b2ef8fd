"""Dask collections in: the chunk-merging rule (no cluster needed)."""

import numpy as np
import pytest

from sklearn_dingo._data._dask_layout import shard_bounds_for_dask_chunks

# The expected layouts below are worked out by hand from the rule as documented
# in shard_bounds_for_dask_chunks: a chunk is small when n_j < median / 4 (the
# median of the non-empty input chunks), n_j max(K - 1, 1) < D or n_j < min_rows;
# the smallest small chunk (the leftmost of equals) merges into its smaller
# neighbour, the left one on a tie; while more than max_shards are left and
# none is small, the smallest chunk does.


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
        # The median is that of the non-empty chunks (1,000): 200 is small and merges into
        # the left of its equal neighbours, after the three empty chunks merged into the first
        # 1,000. (Over all six chunks the median would be 100, and 200 would stay a shard.)
        ((0, 0, 0, 1000, 200, 1000), 10, 1, (1200, 1000)),
        # An empty chunk merges into its smaller neighbour, even an empty one, then the next.
        ((1000, 0, 0, 1000, 0), 10, 1, (1000, 1000)),
        ((0, 500, 0), 10, 1, (500,)),
        ((0, 0, 0), 10, 1, (0,)),  # empty chunks are small (0 < D): one, empty, is left
        ((0, 300, 300), 500, 3, (300, 300)),  # 300 (K - 1) >= D: only the empty chunk is small
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
        # the empty chunks merge (into the first 600, then the left of two 600s) ...
        ((0, 600, 600, 0, 600), 500, None, (600, 600, 600)),
        # ... and then, three being more than two, the leftmost of the equal smallest
        ((0, 600, 600, 0, 600), 500, 2, (1200, 600)),
        ((1000, 0, 1000), 0, 2, (1000, 1000)),  # small first: the empty chunk, not a 1,000
        ((1000, 0, 1000), 0, 1, (2000,)),
    ],
)
def test_shard_bounds_min_rows_and_max_shards(chunks, min_rows, max_shards, expected):
    sizes = shard_bounds_for_dask_chunks(chunks, 10, 1, min_rows=min_rows, max_shards=max_shards)
    assert sizes == expected
    assert sum(sizes) == sum(chunks)


def test_shard_bounds_rejects_unknown_sizes():
    with pytest.raises(ValueError, match="known"):
        shard_bounds_for_dask_chunks((100, float("nan")), 10, 1)


def test_empty_and_zero_weight_chunks_without_a_client():
    """Chunks of 1,000, 0, 1,000, 1,000 and 30 rows, rows 1,000 to 2,000 of zero weight.

    The median of the non-empty chunks is 1,000: the empty chunk and the 30
    rows are small. The empty one (the smaller) merges into the left of its
    two equal neighbours, the 30 rows into their one neighbour: row bounds
    0, 1,000, 2,000, 3,030. The second shard has zero weight and is dropped,
    as every backend does: shards of 1,000 and 1,030 rows.
    """
    import dask.array as da

    from sklearn_dingo._backends import split_rows
    from sklearn_dingo._data._dask_layout import compute_in_process

    chunks = (1000, 0, 1000, 1000, 30)
    n = sum(chunks)
    rng = np.random.default_rng(0)
    X, Y, s = rng.standard_normal((n, 3)), np.ones((n, 1)), rng.uniform(0.5, 2.0, n)
    s[1000:2000] = 0.0
    Xd = da.from_array(X, chunks=(chunks, 3))
    Yd = da.from_array(Y, chunks=(chunks, 1))
    sd = da.from_array(s, chunks=(chunks,))
    X, Y, s, bounds = compute_in_process(Xd, Yd, sd, n_params=4, n_outputs=1)
    assert bounds == [0, 1000, 2000, 3030]
    assert [shard.n_samples for shard in split_rows(X, Y, s, bounds)] == [1000, 1030]
