"""In-process backend: shards are row views of the caller's arrays, run on threads.

Shards either take contiguous row blocks ``X[a:b]`` (rows stay in the order
given) or *strided* rows: shard j takes every m-th row, ``X[j::m]``. Rows that
arrive sorted by label, by time or by a feature make contiguous blocks that
disagree with one another, and DINGO's averaged directions then need many
more iterations (ALGORITHM.md §6); every m-th row spreads each shard over the
whole input, which is what rebalancing the rows means. For dense data both
are views (BLAS reads a strided row block through its leading dimension), so
rebalancing is free; a CSR matrix can only be rebalanced by one copy of its
rows, which :meth:`LocalBackend.rebalance_rows` makes when the driver decides
that it pays.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .._array_api import get_namespace
from .._objectives import row_block_view, sparse_product_threads
from .._shard import ShardData
from ._base import RebalanceCost, ShardBackend

# Bytes a host copy of sparse rows moves per second, for the driver's
# "does rebalancing pay" estimate. A fancy-indexed CSR copy runs at a few GB/s on
# current machines; the estimate only has to be right within a factor of a few
# against the seconds of a communication round.
HOST_COPY_BYTES_PER_SECOND = 1e9


def take_rows(X, rows):
    """Rows ``rows`` (a slice) of X: a view for dense X or a contiguous CSR block, else a copy."""
    if sp.issparse(X) and rows.step not in (None, 1):
        return X[rows]
    if sp.issparse(X):
        start, stop, _ = rows.indices(X.shape[0])
        return row_block_view(X, start, stop)
    return X[rows, ...]


def even_row_bounds(n_samples, n_shards):
    """Boundaries of ``n_shards`` contiguous row blocks whose sizes differ by at most one."""
    if not 1 <= n_shards <= n_samples:
        raise ValueError(
            f"n_shards must be between 1 and the number of samples ({n_samples}), got {n_shards}."
        )
    return [(i * n_samples) // n_shards for i in range(n_shards + 1)]


def row_slices(n_samples, n_shards, *, strided):
    """Rows of each of ``n_shards`` shards as slices, sizes differing by at most one.

    ``strided``: shard j takes rows ``j, j + m, j + 2m, …`` (spread over the
    whole input: rebalanced shards); otherwise contiguous blocks in the order
    given.
    """
    bounds = even_row_bounds(n_samples, n_shards)  # also checks n_shards
    if strided:
        return [slice(j, n_samples, n_shards) for j in range(n_shards)]
    return bounds_to_slices(bounds)


def row_indices(rows):
    """Rows (a slice of known bounds, or indices) as an array of indices."""
    if isinstance(rows, slice):
        return np.arange(rows.start or 0, rows.stop, rows.step or 1)
    return np.asarray(rows, dtype=np.int64)


def bounds_to_slices(bounds):
    """Contiguous slices from row boundaries ``b_0 < b_1 < … < b_m``."""
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def available_cores():
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def split_rows(X, Y, sample_weight, rows):
    """Shards of ``(X, Y, sample_weight)`` on the given rows, dropping those of zero weight.

    :func:`shards_and_rows` without the rows.
    """
    return shards_and_rows(X, Y, sample_weight, rows)[0]


def shards_and_rows(X, Y, sample_weight, rows):
    """Shards of ``(X, Y, sample_weight)`` on the given rows, and those rows; zero weight dropped.

    Parameters
    ----------
    X : array of shape (n, d) or scipy.sparse CSR matrix
    Y : array of shape (n, K)
    sample_weight : array of shape (n,)
    rows : list of slice or sequence of int
        The rows of each shard (:func:`row_slices`), or row boundaries
        ``0 = b_0 < … < b_m = n`` of contiguous blocks (:func:`even_row_bounds`).

    Returns
    -------
    shards : list of ShardData
        Views of the inputs, except the rows of a strided CSR shard (a copy).
    selections : list of slice
        The rows of each shard kept.
    """
    if len(rows) and not isinstance(rows[0], slice):
        rows = bounds_to_slices(rows)
    xp = get_namespace(Y)
    shards, selections = [], []
    for selection in rows:
        s = sample_weight[selection]
        total = float(xp.sum(s))
        if total > 0:
            shards.append(ShardData(take_rows(X, selection), Y[selection, ...], s, total))
            selections.append(selection)
    return shards, selections


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
    rebalance_from : tuple or None
        ``(X, Y, sample_weight, n_shards)`` of contiguous shards that
        :meth:`rebalance_rows` may rebuild as strided ones (CSR data, whose
        strided shards are a copy); None: the shards stay as they are.
    row_selections : list of slice, optional
        The rows of the input each shard holds.
    """

    free_rounds = True

    def __init__(self, shards, n_threads=None, *, rebalance_from=None, row_selections=None):
        super().__init__([s.weight_sum for s in shards])
        self.shards = list(shards)
        self.row_selections = None if row_selections is None else list(row_selections)
        self._rebalance_from = rebalance_from
        cores = available_cores()
        self.n_threads = n_threads or max(1, min(len(self.shards), cores))
        product_threads = max(1, cores // self.n_threads)
        sparse = any(sp.issparse(shard.X) for shard in self.shards)
        # SciPy's sparse products ignore BLAS's limit: they get the threads by
        # row blocks instead, and BLAS (left with vector work) one, whose
        # idle threads would otherwise spin on the cores the products need.
        self._blas_limit = threadpool_limits(limits=1 if sparse else product_threads, user_api="blas")
        self._sparse_threads = sparse_product_threads(product_threads if sparse else 1)
        self._pool = ThreadPoolExecutor(self.n_threads, thread_name_prefix="dingo-shard")
        self.concurrency = self.n_threads
        self.shard_rows = [s.n_samples for s in self.shards]

    @classmethod
    def from_arrays(cls, X, Y, sample_weight, n_shards, *, rebalance="auto"):
        """Shards of in-memory data, rows rebalanced as ``rebalance`` says.

        Parameters
        ----------
        X : array of shape (n, d) or scipy.sparse CSR matrix
        Y : array of shape (n, K)
        sample_weight : array of shape (n,)
        n_shards : int
        rebalance : {"auto", True, False}
            ``False``: contiguous row blocks in the order given. Dense X,
            otherwise: every m-th row (views, free). CSR X: contiguous blocks
            (views) that the driver rebalances (:meth:`rebalance_rows`, one copy of X)
            before the first round with ``True``, or with ``"auto"`` once it
            has measured that they disagree.
        """
        strided = rebalance is not False and not sp.issparse(X)
        shards, rows = shards_and_rows(X, Y, sample_weight, row_slices(X.shape[0], n_shards, strided=strided))
        later = sp.issparse(X) and rebalance is not False and n_shards > 1
        backend = cls(shards, rebalance_from=(X, Y, sample_weight, n_shards) if later else None, row_selections=rows)
        backend.rows_rebalanced = strided and n_shards > 1
        return backend

    def rebalance_cost(self):
        if self._rebalance_from is None:
            return None
        X = self._rebalance_from[0]
        nbytes = int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
        return RebalanceCost(nbytes=nbytes, seconds=nbytes / HOST_COPY_BYTES_PER_SECOND, rounds=0)

    def _rebalance_rows(self):
        """Rebuild the shards from every m-th row: a copy of the CSR rows."""
        X, Y, sample_weight, n_shards = self._rebalance_from
        self.shards, self.row_selections = shards_and_rows(
            X, Y, sample_weight, row_slices(X.shape[0], n_shards, strided=True)
        )
        self._rebalance_from = None
        self.shard_rows = [s.n_samples for s in self.shards]
        return [s.weight_sum for s in self.shards]

    def _map(self, name, func, handles, payload, static, own=None):
        states = [None] * len(self.shards) if handles is None else [state for _, state in handles]

        def run(j):
            return func(self.shards[j], states[j], *payload, *(own[j] if own else ()), **static)

        if self.n_threads == 1:
            return [run(j) for j in range(len(self.shards))]
        return list(self._pool.map(run, range(len(self.shards))))

    def _gather_replies(self, handles):
        return [reply for reply, _ in handles]

    def close(self):
        self._pool.shutdown(wait=True)
        self._blas_limit.restore_original_limits()
        self._sparse_threads.restore()
