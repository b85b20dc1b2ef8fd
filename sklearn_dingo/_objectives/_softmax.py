"""Multinomial softmax regression, full parametrisation (ALGORITHM.md §1)."""

import numpy as np

from ._base import LinearObjective


class MultinomialSoftmax(LinearObjective):
    """Softmax (cross-entropy) loss over K classes with one-hot targets Y.

    With margins η = xᵀW + b ∈ R^K and P = softmax(η):

        ℓ(η, y)            = logsumexp(η) − ⟨η, Y⟩
        ∂ℓ/∂η              = P − Y
        (∂²ℓ/∂η²) z        = P ⊙ z − P ⟨P, z⟩
        ∂²ℓ/∂η_k∂η_l       = P_k δ_kl − P_k P_l

    The curvature weights are P. The parametrisation has a null space:
    adding one constant to all K intercepts changes nothing, and with
    C = ∞ neither does adding one constant to the K coefficients of a
    feature. With a penalty the coefficients are still centred at the
    minimiser, since every gradient is (Σ_k (P_k − Y_k) = 0). So the model is
    identified on the parameters centred across classes, row by row
    (:meth:`identifiable`), which is scikit-learn's solution; directions are
    kept there, as rounding (float32 Hessians above all) would otherwise
    leak into the null space and the pseudo-inverse amplify it.

    See :class:`LinearObjective` for the parameters and the layout.
    """

    def __init__(self, *, n_features, n_classes, fit_intercept, C, total_weight):
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes!r}.")
        super().__init__(
            n_features=n_features,
            n_outputs=n_classes,
            fit_intercept=fit_intercept,
            C=C,
            total_weight=total_weight,
        )

    def identifiable(self, xp, w):
        W = self._matrix(xp, w)
        return xp.reshape(W - xp.mean(W, axis=-1, keepdims=True), w.shape)

    def encode_targets(self, y_index):
        y_index = np.asarray(y_index)
        return (y_index[:, None] == np.arange(self.n_outputs)[None, :]).astype(np.float64)

    def _log_softmax(self, xp, eta):
        top = xp.max(eta, axis=-1, keepdims=True)
        shifted = eta - top
        lse = xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
        return shifted - lse, lse + top

    def _loss_residual(self, xp, eta, Y):
        # P from the shifted exponentials already at hand: one exp per entry, not two
        top = xp.max(eta, axis=-1, keepdims=True)
        exp_shifted = xp.exp(eta - top)
        total = xp.sum(exp_shifted, axis=-1, keepdims=True)
        loss = (xp.log(total) + top)[..., 0] - xp.sum(eta * Y, axis=-1)
        return loss, exp_shifted / total - Y

    def _curvature_weights(self, xp, eta):
        return xp.exp(self._log_softmax(xp, eta)[0])

    def _curvature_apply(self, xp, weights, Z):
        PZ = weights * Z
        return PZ - weights * xp.sum(PZ, axis=-1, keepdims=True)

    def _hessian_blocks(self, xp, weights):
        K = self.n_outputs
        blocks = []
        for k in range(K):
            for l in range(k, K):
                a_kl = -weights[:, k] * weights[:, l]
                if k == l:
                    a_kl = a_kl + weights[:, k]
                blocks.append(((k, l), a_kl))
        return blocks
