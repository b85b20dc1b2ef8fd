"""Per-shard objective of an L2-regularised linear classification model.

The contract every model family fulfils (ALGORITHM.md §1):

    f_j(w) = (1/S_j) Σ_{i in shard j} s_i ℓ(η_i, y_i)  +  λ/2 ‖w_pen‖²,
    η_i = x_iᵀ W + b,   λ = 1 / (C S)  (0 when C = ∞)

with S_j the shard's weight sum and S the *global* weight sum, so that
Σ_j (S_j/S) f_j is scikit-learn's ``LogisticRegression`` objective.

Parameter layout (the wire format): the flat vector ``w`` of size
``D = (d + fit_intercept) * K`` is the ``(d + fit_intercept, K)`` matrix in C
order; its first ``d`` rows are the coefficients ``W`` and, with an intercept,
its last row is ``b``. The intercept is never penalised and its column of
ones is never materialised: every product treats it by block algebra.

A model family only supplies the pointwise parts (loss, residual ∂ℓ/∂η,
curvature weights and their action); this base class turns them into
values, gradients, batched line-search evaluations, Hessian-vector products
and explicit Hessians, for dense arrays of any array API namespace and for
SciPy sparse CSR/CSC shards.
"""

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import scipy.sparse as sp

from .._array_api import as_dtype, device, get_namespace, is_numpy
from . import _passes
from ._sparse import sparse_product

# Rows per block when forming an explicit Hessian from a dense shard: keeps
# the weighted copy of X small while every product stays a BLAS-3 call.
GRAM_BLOCK_ROWS = 2048


def gram_block_slices(n):
    """Row slices of the blocks of ``GRAM_BLOCK_ROWS`` rows covering ``n`` rows."""
    return [slice(start, min(start + GRAM_BLOCK_ROWS, n)) for start in range(0, n, GRAM_BLOCK_ROWS)]


# Bytes of X per row block in a host Hessian-vector product or line-search
# batch: a block this size is still in cache when its transpose product reads
# it again, so X is read from memory once instead of twice (a product 1.2-1.5x
# faster at 60,000 x 784, K = 10: `python -m benchmarks study shard-kernels`).
_PRODUCT_BLOCK_BYTES = 1 << 21


@dataclass(frozen=True)
class Curvature:
    """Curvature of one shard at one point, reused by every Hessian product there.

    Attributes
    ----------
    weights : array of shape (n_j, K)
        The model family's curvature weights at the point (σ(η)σ(−η) for the
        binary model, the class probabilities for softmax).
    """

    weights: Any


class LinearObjective(ABC):
    """Base class of the per-shard objectives of linear classification models.

    Parameters
    ----------
    n_features : int
        ``d``, the number of features.
    n_outputs : int
        ``K``, columns of the coefficient matrix (1 for the binary model).
    fit_intercept : bool
        Whether the last row of the parameter matrix is an unpenalised
        intercept.
    C : float
        Inverse L2 strength, positive, ``math.inf`` for no penalty.
    total_weight : float
        ``S``, the sum of sample weights over *all* shards.
    """

    def __init__(self, *, n_features, n_outputs, fit_intercept, C, total_weight):
        if not total_weight > 0:
            raise ValueError(f"total_weight must be positive, got {total_weight!r}.")
        if not C > 0:
            raise ValueError(f"C must be positive, got {C!r}.")
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.fit_intercept = bool(fit_intercept)
        self.C = float(C)
        self.total_weight = float(total_weight)
        self.penalty = 0.0 if math.isinf(self.C) else 1.0 / (self.C * self.total_weight)

    # -- layout ----------------------------------------------------------------
    @property
    def n_rows(self):
        """Rows of the parameter matrix: ``d + fit_intercept``."""
        return self.n_features + int(self.fit_intercept)

    @property
    def n_params(self):
        """``D``, the length of the flat parameter vector."""
        return self.n_rows * self.n_outputs

    def _matrix(self, xp, w):
        """Flat ``(..., D)`` vector(s) as ``(..., d + fit_intercept, K)`` matrices."""
        return xp.reshape(w, (*w.shape[:-1], self.n_rows, self.n_outputs))

    def identifiable(self, xp, w):
        """``w`` (or each row of a batch) in the subspace the model identifies.

        Every point, gradient and Hessian product of a fit started there
        stays in it in exact arithmetic, and the minimiser lies in it; the
        projection only removes rounding. The default is the whole space;
        a family whose parametrisation has a null space (softmax) removes it.
        """
        return w

    def identifiable_hessian(self, H):
        """``P H P`` for the projection P of :meth:`identifiable`: H on that subspace."""
        xp = get_namespace(H)
        return self.identifiable(xp, self.identifiable(xp, H).T).T

    def identifiable_operator(self, hessp, xp):
        """``v -> P H (P v)`` for a Hessian-vector product ``hessp``: the same for operators."""
        return lambda v: self.identifiable(xp, hessp(self.identifiable(xp, v)))

    # -- predictions of held-out rows (cross-validation scores) -------------------
    def row_losses(self, xp, eta, Y):
        """``ℓ(η_i, y_i)`` of each row: its negative log-likelihood, the log-loss."""
        return self._loss_residual(xp, eta, Y)[0]

    def class_probability(self, xp, eta, Y):
        """The probability the model gives each row's own class, ``exp(−ℓ(η_i, y_i))``."""
        return xp.exp(-self.row_losses(xp, eta, Y))

    def class_index(self, xp, Y):
        """Index of each row's class from its encoded targets (:meth:`encode_targets`)."""
        if self.n_outputs == 1:
            return xp.astype(Y[:, 0] > 0.5, xp.int64)
        return xp.argmax(Y, axis=1)

    def predicted_index(self, xp, eta):
        """Index of the most probable class of each row at margins ``eta``."""
        if self.n_outputs == 1:
            return xp.astype(eta[:, 0] > 0, xp.int64)
        return xp.argmax(eta, axis=1)

    def _penalised(self, xp, w):
        """``λ w_pen`` in flat layout (intercept entries zero)."""
        if self.penalty == 0.0:
            return xp.zeros_like(w)
        if not self.fit_intercept:
            return self.penalty * w
        W = self._matrix(xp, w)
        mask = xp.ones(self.n_rows, dtype=w.dtype, device=device(w))
        mask = xp.where(xp.arange(self.n_rows, device=device(w)) == self.n_rows - 1, 0.0, mask)
        return xp.reshape(self.penalty * W * mask[:, None], w.shape)

    def _penalty_value(self, xp, w):
        """``λ/2 ‖w_pen‖²`` of a flat vector or of each row of a batch."""
        if self.penalty == 0.0:
            return xp.zeros(w.shape[:-1], dtype=w.dtype, device=device(w))
        W = self._matrix(xp, w)[..., : self.n_features, :]
        return 0.5 * self.penalty * xp.sum(W * W, axis=(-2, -1))

    # -- products with X, intercept by block algebra ---------------------------
    def margins(self, X, w):
        """``η = X W + b`` of shape (n, K) for a flat parameter vector ``w``."""
        if _passes.active:  # a read of X, for benchmarks' pass counts (_passes.py)
            _passes.rows_read(X.shape[0])
        return self._matrix_margins(X, self._matrix(get_namespace(X, w), w))

    def _matrix_margins(self, X, M):
        """``X M[:d] + M[d]`` (the last row only with an intercept) for M of shape (d+fi, K)."""
        eta = _data_product(X, M[: self.n_features, :])
        if self.fit_intercept:
            eta = eta + M[self.n_features, :]
        return eta

    def _transpose_product(self, xp, X, R):
        """``X̃ᵀ R`` (not yet divided by S_j) for R of shape (n, m), as a dense (d+fi, m)."""
        if _passes.active:  # a read of X (a row block's X_b V before it is not counted)
            _passes.rows_read(X.shape[0])
        G = _data_product(X, R, transpose=True)
        if self.fit_intercept:
            G = xp.concat([G, xp.sum(R, axis=0)[None, :]], axis=0)
        return G

    # -- the pointwise parts each model family defines ---------------------------
    @abstractmethod
    def encode_targets(self, y_index):
        """NumPy targets Y of shape (n, K) from class indices in ``0..n_classes-1``."""

    @abstractmethod
    def _loss_residual(self, xp, eta, Y):
        """Pointwise loss (shape ``eta.shape[:-1]``) and residual ∂ℓ/∂η (``eta.shape``).

        ``eta`` may carry extra leading batch axes after the sample axis,
        e.g. (n, B, K) for a batch of B trial points.
        """

    @abstractmethod
    def _curvature_weights(self, xp, eta):
        """Curvature weights at margins ``eta`` of shape (n, K)."""

    @abstractmethod
    def _curvature_apply(self, xp, weights, Z):
        """Second derivative of ℓ in η applied to directions Z of shape (n, K)."""

    @abstractmethod
    def _hessian_blocks(self, xp, weights):
        """Pairs ``((k, l), a_kl)`` with ∂²ℓ/∂η_k∂η_l = a_kl, for k ≤ l."""

    # -- values, gradients, curvature ------------------------------------------
    def loss_gradient(self, shard, w, eta=None):
        """Shard objective ``f_j(w)`` and its gradient (one pass over the shard).

        Parameters
        ----------
        shard : ShardData
        w : array of shape (D,)
        eta : array of shape (n_j, K), optional
            Margins at ``w`` if already known (saves the product ``X w``).

        Returns
        -------
        loss : float
        gradient : array of shape (D,)
        """
        xp = get_namespace(shard.X, w)
        if eta is None:
            eta = self.margins(shard.X, w)
        loss, grad, _ = self.loss_gradient_batch(
            shard, w, eta, xp.zeros_like(w), xp.zeros_like(eta), xp.zeros(1, dtype=w.dtype, device=device(w))
        )
        return float(loss[0]), grad[0, :]

    def loss_gradient_batch(self, shard, w, eta, p, eta_p, alphas):
        """Objective and gradient at the trial points ``w + α_k p``, all at once.

        For a linear model the margins at every trial point are
        ``eta + α_k eta_p`` (no pass over X), and all B trial gradients are a
        single product ``X̃ᵀ R`` with R of shape (n, B·K): one pass over the
        shard for the whole batch (ALGORITHM.md §2, step 6).

        Parameters
        ----------
        shard : ShardData
        w, p : arrays of shape (D,)
            Current point and search direction.
        eta : array of shape (n_j, K)
            ``X̃ w``.
        eta_p : array of shape (n_j, K) or None
            ``X̃ p``, or None to compute it in the same pass (on dense host
            shards, row block by row block while the block is in cache).
        alphas : array of shape (B,)
            Step sizes.

        Returns
        -------
        losses : array of shape (B,)
        gradients : array of shape (B, D)
        eta_p : array of shape (n_j, K)
            ``X̃ p``, as given or as computed.
        """
        xp = get_namespace(shard.X, w)
        B, K = alphas.shape[0], self.n_outputs
        loss_sums, G, eta_p = self._trial_pass(shard, eta, p, eta_p, alphas)
        losses = loss_sums / shard.weight_sum
        G = xp.permute_dims(xp.reshape(G / shard.weight_sum, (self.n_rows, B, K)), (1, 0, 2))
        grads = xp.reshape(G, (B, self.n_params))
        points = w[None, :] + alphas[:, None] * p[None, :]
        losses = losses + self._penalty_value(xp, points)
        grads = grads + self._penalised(xp, points)
        return losses, grads, eta_p

    def _trial_sums(self, shard, rows, X_rows, eta, eta_p, alphas):
        """``Σ_i s_i ℓ_i`` at each trial point and ``X̃ᵀ R`` (unscaled), over ``rows``.

        ``X_rows``, ``eta`` and ``eta_p`` are the shard's X, ``X̃ w`` and
        ``X̃ p`` on those rows. Returns arrays of shape (B,) and
        (d + fit_intercept, B·K).
        """
        xp = shard.xp
        n, K = eta.shape
        B = alphas.shape[0]
        trial = eta[:, None, :] + alphas[None, :, None] * eta_p[:, None, :]
        point_loss, residual = self._loss_residual(xp, trial, shard.Y[rows, None, :])
        s = shard.sample_weight[rows]
        R = xp.reshape(s[:, None, None] * residual, (n, B * K))
        return s @ point_loss, self._transpose_product(xp, X_rows, R)

    def _trial_pass(self, shard, eta, p, eta_p, alphas):
        """:meth:`_trial_sums` over the shard's row blocks (:func:`_row_blocks`).

        On a dense host shard each block of X is read once for ``X_b p``
        (when ``eta_p`` is None) and again, still in cache, for ``X_bᵀ R_b``:
        the whole batch costs one pass over X from memory instead of two.

        Returns the sums of :meth:`_trial_sums` over the blocks and ``X̃ p``.
        """
        xp = shard.xp
        if eta_p is None and not _in_host_blocks(shard):
            eta_p = self.margins(shard.X, p)  # X in one piece: no block in cache to share
        direction = self._matrix(xp, p) if eta_p is None else None
        loss_sums, G, eta_p_blocks = 0.0, 0.0, []
        for rows, X_block in _row_blocks(shard):
            if direction is None:
                block_eta_p = eta_p[rows, :]
            else:
                block_eta_p = self._matrix_margins(X_block, direction)
                eta_p_blocks.append(block_eta_p)
            block_loss, block_G = self._trial_sums(shard, rows, X_block, eta[rows, :], block_eta_p, alphas)
            loss_sums, G = loss_sums + block_loss, G + block_G
        if direction is not None:
            eta_p = xp.concat(eta_p_blocks, axis=0)
        return loss_sums, G, eta_p

    def curvature(self, shard, eta):
        """Curvature of the shard at the point with margins ``eta`` (computed once)."""
        return Curvature(weights=self._curvature_weights(shard.xp, eta))

    def hessp(self, shard, curvature, v):
        """Hessian-vector product ``H_j v`` with cached curvature (two passes)."""
        xp = get_namespace(shard.X, v)
        Z = self.margins(shard.X, v)
        R = shard.sample_weight[:, None] * self._curvature_apply(xp, curvature.weights, Z)
        Hv = xp.reshape(self._transpose_product(xp, shard.X, R) / shard.weight_sum, (self.n_params,))
        return Hv + self._penalised(xp, v)

    def hessian_operator(self, shard, curvature, *, single_precision=False):
        """``v -> H_j v`` for many products at one point, as fast as the shard allows.

        The same Hessian as :meth:`hessp`. On a dense host shard each product
        is computed row block by row block, ``X_bᵀ (a ⊙ (X_b V))`` with the
        block still in cache for its second use, so X is read once per
        product. With ``single_precision`` (dense shards only) the products
        with X are made in float32 (:attr:`ShardData.X_single`); the penalty
        term, the scaling and the result stay in the shard's precision. The
        rounding (relative 1e-7 in H_j v) is far below the Krylov tolerances
        the sub-problems are solved to, and gradients, line searches and
        stopping tests never use it.

        Parameters
        ----------
        shard : ShardData
        curvature : Curvature
            Curvature at the point, from :meth:`curvature`.
        single_precision : bool, default=False

        Returns
        -------
        callable
            ``v -> H_j v`` for flat vectors of shape (D,).
        """
        X = shard.X
        if sp.issparse(X):
            return lambda v: self.hessp(shard, curvature, v)
        xp = shard.xp
        blocks = _row_blocks(shard, single_precision)
        dtype = blocks[0][1].dtype
        weights = as_dtype(xp, curvature.weights, dtype)
        sample_weight = as_dtype(xp, shard.sample_weight, dtype)

        def matvec(v):
            M = xp.astype(self._matrix(xp, v), dtype)
            G = xp.zeros((self.n_rows, self.n_outputs), dtype=dtype, device=device(v))
            for rows, X_block in blocks:
                Z = self._matrix_margins(X_block, M)
                R = sample_weight[rows, None] * self._curvature_apply(xp, weights[rows, :], Z)
                G += self._transpose_product(xp, X_block, R)
            Hv = xp.reshape(xp.astype(G, v.dtype), (self.n_params,)) / shard.weight_sum
            return Hv + self._penalised(xp, v)

        return matvec

    def hessian(self, shard, curvature, *, single_precision=False):
        """Explicit local Hessian ``H_j`` of shape (D, D), symmetric.

        Built from K(K+1)/2 weighted Gram blocks ``X̃ᵀ diag(s a_kl) X̃ / S_j``
        accumulated over row blocks, so no copy of X larger than one block is
        made; the intercept row and column come from column sums in the same
        pass.

        Parameters
        ----------
        shard : ShardData
        curvature : Curvature
            Curvature at the point, from :meth:`curvature`.
        single_precision : bool, default=False
            Dense shards only: each row block's Gram product is made in
            float32 from its rows less their mean
            (:attr:`ShardData.X_single_centred`: half the memory traffic,
            twice the BLAS speed), the mean's part added back and everything
            accumulated in the shard's precision. Each entry then carries a
            rounding error of about 1e-7 relative to ``sqrt(H_ii H_jj)``,
            whatever the column scales or the order of the rows, far below
            how much the shards' Hessians differ from one another.

        Returns
        -------
        array of shape (D, D)
        """
        xp = shard.xp
        K = self.n_outputs
        blocks = {}
        for (k, l), a_kl in self._hessian_blocks(xp, curvature.weights):
            blocks[k, l] = self._weighted_gram(shard, shard.sample_weight * a_kl, single_precision)
            blocks[l, k] = blocks[k, l] if k == l else blocks[k, l].T
        # H[(i, k), (j, l)] = G_kl[i, j] in the flat C-order layout
        H4 = xp.stack(
            [xp.stack([blocks[k, l] for l in range(K)], axis=-1) for k in range(K)],
            axis=1,
        )
        H = xp.reshape(H4, (self.n_params, self.n_params))
        if self.penalty:
            diag = self._penalised(xp, xp.ones(self.n_params, dtype=H.dtype, device=device(H)))
            H = H + xp.eye(self.n_params, dtype=H.dtype, device=device(H)) * diag[None, :]
        return H

    def _weighted_gram(self, shard, a, single_precision=False):
        """``X̃ᵀ diag(a) X̃ / S_j`` of shape (d+fi, d+fi), for ``a`` of one sign.

        Every curvature block has weights of one sign (σσ and P_k(1−P_k) are
        non-negative, −P_kP_l non-positive), so the Gram product is ``±AᵀA``
        with ``A = X̃ diag(√|a|)``, which BLAS computes as a symmetric rank-k
        update at half the cost of a general product. The intercept column
        ``aᵀX = ±√|a|ᵀA`` comes from the same row blocks.
        """
        X = shard.X
        xp = shard.xp
        if _passes.active:  # dense: one read of X (Gram and column sums per block); sparse: two
            _passes.rows_read((2 if sp.issparse(X) else 1) * X.shape[0])
        sign = -1.0 if float(xp.sum(a)) < 0 else 1.0
        root = xp.sqrt(xp.abs(a))
        if sp.issparse(X):
            A = X.multiply(as_dtype(xp, root, X.dtype)[:, None]).tocsr()
            gram = sign * as_dtype(xp, (A.T @ A).toarray(), a.dtype)
            col = _data_product(X, a, transpose=True) if self.fit_intercept else None
        else:
            d = X.shape[1]
            gram = xp.zeros((d, d), dtype=a.dtype, device=device(a))
            col = xp.zeros(d, dtype=a.dtype, device=device(a))
            for rows, X_block, c in _gram_row_blocks(shard, single_precision):
                A = X_block * as_dtype(xp, root[rows], X_block.dtype)[:, None]
                block_gram = as_dtype(xp, A.T @ A, a.dtype)
                block_col = as_dtype(xp, as_dtype(xp, root[rows], A.dtype) @ A, a.dtype)
                del A  # one weighted block alive at a time, not two
                if c is not None:
                    # Σ|a| x xᵀ from rows r = x − c: Σ|a| r rᵀ + s cᵀ + c sᵀ + S c cᵀ with
                    # s = Σ|a| r; float32 rounding then scales with r, not with x.
                    S = xp.sum(xp.abs(a[rows]))
                    cross = c[:, None] * block_col[None, :]
                    block_gram = block_gram + (cross + cross.T) + S * (c[:, None] * c[None, :])  # exactly symmetric
                    block_col = block_col + S * c
                gram += block_gram
                col += block_col
            gram, col = sign * gram, sign * col
        if self.fit_intercept:
            total = xp.sum(a)
            top = xp.concat([gram, col[:, None]], axis=1)
            bottom = xp.concat([col, xp.reshape(total, (1,))])[None, :]
            gram = xp.concat([top, bottom], axis=0)
        return gram / shard.weight_sum


def _gram_row_blocks(shard, single_precision):
    """``(rows, X_rows, centre)`` covering a dense shard in blocks of ``GRAM_BLOCK_ROWS``.

    In float32 (float32 data, or ``single_precision``) a block comes less its
    mean ``centre`` (:attr:`ShardData.block_means`): from the copy kept with
    a float64 shard (:attr:`ShardData.X_single_centred`), or, for float32
    data, made block by block so that no copy of the shard is kept. Otherwise the rows as they are, with
    centre None.
    """
    xp, X = shard.xp, shard.X
    blocks = list(enumerate(gram_block_slices(X.shape[0])))
    if X.dtype == xp.float32:
        # The means rounded to float32: x − c of two float32 numbers rounds
        # once, relative to the difference (as accurate as centring in
        # float64 and rounding), and c's part is added back exactly.
        centres = xp.astype(shard.block_means, xp.float32)
        for b, rows in blocks:
            yield rows, X[rows, :] - centres[b, :][None, :], xp.astype(centres[b, :], xp.float64)
    elif single_precision:
        X_centred, centres = shard.X_single_centred
        for b, rows in blocks:
            yield rows, X_centred[rows, :], centres[b, :]
    else:
        for _, rows in blocks:
            yield rows, X[rows, :], None


def _in_host_blocks(shard):
    """Whether products with the shard's X go row block by row block (dense host X)."""
    return not sp.issparse(shard.X) and is_numpy(shard.xp)


def _row_blocks(shard, single_precision=False):
    """``(rows, X[rows])`` pairs covering a shard, for products that use each block twice.

    On a dense host shard: blocks of about ``_PRODUCT_BLOCK_BYTES`` (views,
    from :attr:`ShardData.X_single` with ``single_precision`` unless X is
    already float32). Sparse shards and accelerators get one block, X itself
    (accelerators prefer one large product to many small ones).
    """
    X = shard.X
    if not _in_host_blocks(shard):
        return [(slice(None), X)]
    if single_precision and X.dtype != shard.xp.float32:
        X = shard.X_single
    n, d = X.shape
    block = max(1, _PRODUCT_BLOCK_BYTES // max(1, d * X.dtype.itemsize))
    return [
        (slice(start, min(start + block, n)), X[start : start + block, :]) for start in range(0, max(n, 1), block)
    ]


def _data_product(X, B, *, transpose=False):
    """``X @ B`` (or ``Xᵀ @ B``) for X the data (any precision) and B dense, in B's precision.

    The product is made in X's precision, so float32 data are never copied
    to float64 (B, of one row or column per sample or feature, is cast
    instead); the result, a block of margins or of a gradient, is then
    summed and used in B's precision. A SciPy sparse X runs on the threads
    the backend allows (:func:`~._sparse.sparse_product`).
    """
    xp = get_namespace(B)
    B_in = as_dtype(xp, B, X.dtype)
    if sp.issparse(X) and is_numpy(xp):
        product = sparse_product(X, B_in, transpose=transpose)
    else:
        product = X.T @ B_in if transpose else X @ B_in
    if sp.issparse(product):
        product = product.toarray()
    return as_dtype(xp, product, B.dtype)
