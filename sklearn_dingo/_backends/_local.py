"""In-process backend: shards are row blocks of the caller's arrays, run on threads."""

import os
from concurrent.futures import ThreadPoolExecutor

import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .._array_api import get_namespace
from .._objectives import ShardData
from ._base import ShardBackend


def row_block_view(X, start, stop):
    """Rows ``start:stop`` of X without copying its data.

    Dense arrays slice to views. A CSR matrix's row block shares its ``data``
    and ``indices`` buffers; only the small ``indptr`` is rebased. Other
    sparse formats are converted to CSR once by the caller.
    """
    if sp.issparse(X):
        lo, hi = X.indptr[start], X.indptr[stop]
        block = sp.csr_matrix((stop - start, X.shape[1]), dtype=X.dtype)
        # Assigned after construction: the constructor would prune (copy)
        # slices much smaller than their base arrays.
        block.data = X.data[lo:hi]
        block.indices = X.indices[lo:hi]
        block.indptr = X.indptr[start : stop + 1] - lo
        return block
    return X[start:stop, ...]


def even_row_bounds(n_samples, n_shards):
    """Boundaries of ``n_shards`` contiguous row blocks whose sizes differ by at most one."""
    if not 1 <= n_shards <= n_samples:
        raise ValueError(
            f"n_shards must be between 1 and the number of samples ({n_samples}), got {n_shards}."
        )
    return [(i * n_samples) // n_shards for i in range(n_shards + 1)]


def available_cores():
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class LocalBackend(ShardBackend):
    """Shards in this process, one thread per shard up to the number of cores.

    BLAS threads are limited while the backend is open so that
    ``threads × BLAS threads`` never exceeds the cores: numerical kernels
    release the GIL, and oversubscription would only slow them down.

    Parameters
    ----------
    shards : list of ShardData
        Shards of positive weight.
    n_threads : int or None
        Threads running shards concurrently; None: ``min(m, cores)``.
    """

    def __init__(self, shards, n_threads=None):
        super().__init__([s.weight_sum for s in shards])
        self.shards = list(shards)
        cores = available_cores()
        self.n_threads = n_threads or max(1, min(len(self.shards), cores))
        self._blas_limit = threadpool_limits(limits=max(1, cores // self.n_threads), user_api="blas")
        self._pool = ThreadPoolExecutor(self.n_threads, thread_name_prefix="dingo-shard")

    def _map(self, name, func, handles, payload, static):
        states = [None] * len(self.shards) if handles is None else [state for _, state in handles]

        def run(j):
            return func(self.shards[j], states[j], *payload, **static)

        if self.n_threads == 1:
            return [run(j) for j in range(len(self.shards))]
        return list(self._pool.map(run, range(len(self.shards))))

    def _gather_replies(self, handles):
        return [reply for reply, _ in handles]

    def close(self):
        self._pool.shutdown(wait=True)
        self._blas_limit.restore_original_limits()


def split_rows(X, Y, sample_weight, bounds):
    """Row-block shards (views) of ``(X, Y, sample_weight)``, dropping zero-weight blocks.

    ``bounds`` are the block boundaries, e.g. from :func:`even_row_bounds`.
    """
    xp = get_namespace(Y)
    shards = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        s = sample_weight[start:stop]
        total = float(xp.sum(s))
        if total > 0:
            shards.append(ShardData(row_block_view(X, start, stop), Y[start:stop, ...], s, total))
    return shards
