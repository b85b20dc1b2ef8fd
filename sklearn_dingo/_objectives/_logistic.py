"""Binary logistic regression (ALGORITHM.md §1, "Binary logistic")."""

import numpy as np

from ._base import LinearObjective


class BinaryLogistic(LinearObjective):
    """Binary logistic loss with labels z ∈ {0, 1} (z = 1 means ``classes_[1]``).

    With margins η = xᵀw + b (K = 1 output column):

        ℓ(η, z)   = log(1 + e^η) − z η          (computed as logaddexp(0, η))
        ∂ℓ/∂η     = σ(η) − z
        ∂²ℓ/∂η²   = c = σ(η) σ(−η)

    ``c`` is formed as ``exp(−logaddexp(0, η) − logaddexp(0, −η))``, never as
    ``p (1 − p)``, which is exactly 0 beyond |η| ≈ 37 and would make the
    curvature of saturated samples vanish too early; no step of these
    formulas overflows for |η| ~ 1e3.

    See :class:`LinearObjective` for the parameters and the layout.
    """

    def __init__(self, *, n_features, fit_intercept, C, total_weight):
        super().__init__(
            n_features=n_features,
            n_outputs=1,
            fit_intercept=fit_intercept,
            C=C,
            total_weight=total_weight,
        )

    def encode_targets(self, y_index):
        return (np.asarray(y_index) == 1).astype(np.float64)[:, None]

    def class_probability(self, xp, eta, Y):
        """As scikit-learn's scorers see it: p = σ(η) of the second class, ``1 − p`` of the first.

        σ(η) = exp(−softplus(−η)) (``ℓ(η, 1) = softplus(η) − η`` would cancel
        for large η); ``1 − p`` loses digits beyond margins of about 20, as
        scikit-learn's ``log_loss`` does from the positive class's column.
        """
        positive = xp.exp(-xp.logaddexp(xp.zeros_like(eta[:, 0]), -eta[:, 0]))
        return xp.where(Y[:, 0] > 0.5, positive, 1.0 - positive)

    def _loss_residual(self, xp, eta, Y):
        softplus = xp.logaddexp(xp.zeros_like(eta), eta)
        loss = softplus - Y * eta
        # σ(η) = exp(η − softplus(η)): stable at both ends
        residual = xp.exp(eta - softplus) - Y
        return loss[..., 0], residual

    def _curvature_weights(self, xp, eta):
        zero = xp.zeros_like(eta)
        return xp.exp(-xp.logaddexp(zero, eta) - xp.logaddexp(zero, -eta))

    def _curvature_apply(self, xp, weights, Z):
        return weights * Z

    def _hessian_blocks(self, xp, weights):
        return [((0, 0), weights[:, 0])]
