"""One shard's data, and what is derived from its rows once and kept with them.

A shard is its rows X, their encoded targets Y and their weights. Several
shards may share the same rows with different weights (the folds of a
cross-validation are weight masks on one shard): what depends on X alone,
its float32 copies above all, lives in one :class:`FeatureCache` that all of
them share, so a fold never makes a copy of its own.
"""

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import scipy.sparse as sp

from .._array_api import as_dtype, device, get_namespace
from .._objectives import gram_block_slices

# Largest |x| for which a shard is used in float32: products of two entries,
# weighted and summed over a row block, then stay far inside float32's range
# (3.4e38).
SINGLE_PRECISION_MAX_ABS = 1e12


class FeatureCache:
    """What the products of a shard derive from X alone, made on first use and kept.

    Parameters
    ----------
    X : array of shape (n_j, d) or scipy.sparse matrix
    """

    def __init__(self, X):
        self.X = X

    @property
    def xp(self):
        return get_namespace(self.X)

    @cached_property
    def X_single(self):
        """Dense X in float32 (see :attr:`ShardData.X_single`)."""
        return self.xp.astype(self.X, self.xp.float32)

    @cached_property
    def block_means(self):
        """Float64 mean of each row block of dense X (see :attr:`ShardData.block_means`)."""
        xp, X = self.xp, self.X
        means = [xp.mean(as_dtype(xp, X[rows, :], xp.float64), axis=0) for rows in gram_block_slices(X.shape[0])]
        return xp.stack(means, axis=0) if means else xp.zeros((0, X.shape[1]), dtype=xp.float64, device=device(X))

    @cached_property
    def X_single_centred(self):
        """Row blocks of X less their means, in float32 (see :attr:`ShardData.X_single_centred`)."""
        xp, X, centres = self.xp, self.X, self.block_means
        pieces = [
            xp.astype(X[rows, :] - centres[b, :][None, :], xp.float32)
            for b, rows in enumerate(gram_block_slices(X.shape[0]))
        ]
        return (xp.concat(pieces, axis=0) if pieces else xp.astype(X, xp.float32)), centres

    @cached_property
    def fits_single_precision(self):
        """Whether X is dense with every ``|x| <= 1e12`` (see :attr:`ShardData.fits_single_precision`)."""
        if sp.issparse(self.X):
            return False
        if self.X.shape[0] * self.X.shape[1] == 0:
            return True
        xp = self.xp
        largest = max(float(xp.max(self.X)), -float(xp.min(self.X)))
        return largest <= SINGLE_PRECISION_MAX_ABS

    def made(self):
        """Names of what has been made so far (and is kept)."""
        return [name for name in ("X_single", "X_single_centred", "block_means") if name in vars(self)]


@dataclass(frozen=True)
class ShardData:
    """One shard's rows, targets and weights, ready for an objective.

    Parameters
    ----------
    X : array of shape (n_j, d) or scipy.sparse matrix
        The shard's feature rows (a view of the caller's data where possible).
    Y : array of shape (n_j, K)
        Targets encoded by the objective (:meth:`LinearObjective.encode_targets`).
    sample_weight : array of shape (n_j,)
        Non-negative weights, class weights already multiplied in.
    weight_sum : float
        ``S_j = Σ sample_weight``, positive.
    features : FeatureCache, optional
        What is derived from X; a new one by default. Shards of the same rows
        under other weights (:meth:`reweighted`) share it.
    """

    X: Any
    Y: Any
    sample_weight: Any
    weight_sum: float
    features: FeatureCache = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.features is None:
            object.__setattr__(self, "features", FeatureCache(self.X))

    def reweighted(self, sample_weight, weight_sum):
        """The same rows (and cached derivations of X) under other weights."""
        return replace(self, sample_weight=sample_weight, weight_sum=weight_sum)

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def xp(self):
        return get_namespace(self.X, self.Y)

    @property
    def nnz(self):
        """Stored entries of X: the cost of one pass over the shard."""
        if sp.issparse(self.X):
            return self.X.nnz
        return self.X.shape[0] * self.X.shape[1]

    @property
    def X_single(self):
        """Dense X in float32, made on first use and kept with the shard.

        Hessian-vector products read it instead of X when single-precision
        products are asked for (:meth:`LinearObjective.hessian_operator`):
        half the memory traffic and twice the BLAS speed, at the cost of a
        copy half the size of a float64 X.
        """
        return self.features.X_single

    @property
    def block_means(self):
        """Float64 mean of each row block of dense X (blocks of ``GRAM_BLOCK_ROWS``), made once.

        Shape (n_blocks, d). The explicit Hessian's float32 Gram blocks are
        made from the rows less their block's mean.
        """
        return self.features.block_means

    @property
    def X_single_centred(self):
        """Dense X in float32, each row block less its mean, made on first use and kept.

        Returns ``(Xc, centres)``: ``centres[b]`` is the float64 mean of row
        block b (:attr:`block_means`) and ``Xc`` holds ``X − centres[b]`` in
        float32. The explicit Hessian's float32 Gram blocks of float64 data
        read it (:meth:`LinearObjective.hessian`): rounding errors then scale
        with the rows' spread within a block instead of their size, which
        matters when a block's rows are alike (rows sorted by a feature),
        where the Gram block is nearly rank-deficient and float32 products
        of the raw rows lose the small curvature in between.
        """
        return self.features.X_single_centred

    @property
    def fits_single_precision(self):
        """Whether X is dense with every ``|x| <= 1e12``, so float32 products cannot overflow.

        Rounding to float32 is relative per entry, so column scales over
        many decades lose nothing more than well-scaled columns; only the
        range is checked (two reductions, once per shard).
        """
        return self.features.fits_single_precision
