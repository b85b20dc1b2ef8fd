"""Row chunks of Dask inputs into DINGO's shards: which chunks make a shard, and where it is built.

A shard is one row chunk of the input, or neighbouring chunks merged when
they are too small to be useful shards (:func:`shard_bounds_for_dask_chunks`).
On a cluster each shard is built on the worker that already holds most of
its rows (:func:`shard_parts`); without a client the chunks are computed into
memory with the same row bounds (:func:`compute_in_process`), so both paths
fit the same shards.
"""

import math

import numpy as np
import scipy.sparse as sp

__all__ = ["compute_in_process", "shard_bounds_for_dask_chunks", "shard_parts"]


def shard_bounds_for_dask_chunks(chunks, n_params, n_outputs, *, min_rows=0, max_shards=None):
    """Row chunk sizes after merging chunks too small to be useful shards.

    A shard whose local Hessian is (nearly) singular poisons DINGO's averaged
    directions (ALGORITHM.md §6), and Dask arrays often end in a short chunk.
    A chunk is *small* when ``n_j < median / 4`` (median of the non-empty
    input chunks), ``n_j · max(K − 1, 1) < D`` or ``n_j < min_rows``.
    Repeatedly, the smallest small chunk is merged into its smaller neighbour
    (the left one on a tie), until no chunk is small and at most
    ``max_shards`` are left, or one chunk is left. Chunks are never split.

    Parameters
    ----------
    chunks : sequence of int
        Row counts of the chunks, in order (e.g. ``X.chunks[0]``).
    n_params : int
        ``D``, the number of parameters of the model.
    n_outputs : int
        ``K``, columns of the coefficient matrix (1 for the binary model).
    min_rows : int, default=0
        Rows a shard should have at least (the estimators ask for 50 per
        parameter unless given ``n_shards``: fewer cost many more iterations).
    max_shards : int, optional
        Shards to keep at most.

    Returns
    -------
    tuple of int
        The merged row counts, in order, with the same total. Cumulative sums
        ``np.cumsum((0, *sizes))`` are row bounds for the in-process
        :func:`~sklearn_dingo._backends.split_rows`, which then reproduces the
        same shards.
    """
    if any(not math.isfinite(c) or c < 0 or c != int(c) for c in chunks):
        raise ValueError(
            f"chunk sizes must be known non-negative integers, got {tuple(chunks)} "
            "(compute unknown sizes first, e.g. with `compute_chunk_sizes()`)."
        )
    sizes = [int(c) for c in chunks]
    if not sizes:
        return ()
    nonempty = [c for c in sizes if c > 0]
    median = float(np.median(nonempty)) if nonempty else 0.0
    min_rows = max(int(n_params) / max(int(n_outputs) - 1, 1), float(min_rows))
    max_shards = len(sizes) if max_shards is None else int(max_shards)

    def small(c):
        return c < median / 4 or c < min_rows

    while len(sizes) > 1:
        candidates = [j for j, c in enumerate(sizes) if small(c)]
        if not candidates and len(sizes) > max_shards:
            candidates = range(len(sizes))
        if not candidates:
            break
        j = min(candidates, key=lambda i: (sizes[i], i))
        if j == 0:
            k = 1
        elif j == len(sizes) - 1:
            k = j - 1
        else:
            k = j - 1 if sizes[j - 1] <= sizes[j + 1] else j + 1
        lo = min(j, k)
        sizes[lo : lo + 2] = [sizes[j] + sizes[k]]
    return tuple(sizes)


def shard_parts(inputs, targets, weights, *, n_params, n_outputs, min_rows=0, max_shards=None):
    """What each shard is built from, and where: X's blocks stay where they are.

    Neighbouring row chunks too small to be shards are merged
    (:func:`shard_bounds_for_dask_chunks`): a merged shard is built on the
    worker that holds the largest of its blocks, and only the others move.
    Nothing is submitted here: the targets' and weights' blocks are Dask
    delayed objects, computed in the same graph as the shards.

    Parameters
    ----------
    inputs : DaskInputs
        With X's located blocks.
    targets : dask.array.Array of shape (n,) or (n, K)
        Labels, or targets already encoded, aligned with X's row chunks.
    weights : dask.array.Array of shape (n,) or None
        Aligned with X's row chunks; None: all ones.
    n_params, n_outputs, min_rows, max_shards
        See :func:`shard_bounds_for_dask_chunks`.

    Returns
    -------
    parts : list of tuple
        ``(X_blocks, target_blocks, weight_blocks)`` of each shard: lists of
        futures and delayed objects (``weight_blocks`` None without weights).
    workers : list of str
        Where each shard is built.
    rows : tuple of int
        Rows of each shard.
    threads : dict of str to int
        Every worker's threads.
    """
    rows = inputs.X.chunks[0]
    sizes = shard_bounds_for_dask_chunks(rows, n_params, n_outputs, min_rows=min_rows, max_shards=max_shards)
    if targets.ndim == 2:
        targets = targets.rechunk({1: -1})
    target_blocks = targets.to_delayed().ravel()
    weight_blocks = None if weights is None else weights.to_delayed().ravel()
    edges = np.cumsum((0, *rows))
    parts, workers = [], []
    start = 0
    for size in (size for size in sizes if size > 0):
        group = [i for i in range(len(rows)) if start <= edges[i] < start + size and rows[i] > 0]
        start += size
        parts.append(
            (
                [inputs.blocks[i] for i in group],
                [target_blocks[i] for i in group],
                None if weight_blocks is None else [weight_blocks[i] for i in group],
            )
        )
        workers.append(inputs.workers[max(group, key=lambda i: rows[i])])
    return parts, workers, tuple(size for size in sizes if size > 0), inputs.threads


def compute_in_process(X, Y, sample_weight, *, n_params, n_outputs, min_rows=0, max_shards=None):
    """Dask arrays computed into memory, with the row bounds a cluster fit would use.

    For Dask inputs without a distributed client: Dask's local scheduler
    computes the chunks, and the shards are the (merged) row chunks, exactly
    as :meth:`DaskBackend.from_dask_arrays` would make them on a cluster.
    """
    import dask

    sizes = shard_bounds_for_dask_chunks(
        X.chunks[0], n_params, n_outputs, min_rows=min_rows, max_shards=max_shards
    )
    X, Y, sample_weight = dask.compute(X, Y, sample_weight)
    bounds = np.cumsum((0, *(r for r in sizes if r > 0))).tolist()
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    return X, Y, sample_weight, bounds
