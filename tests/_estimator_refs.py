"""Independent references for the estimator tests.

The objective here is written from its formula (ALGORITHM.md §1, the same as
scikit-learn's ``LogisticRegression``), not from the package's code:

    f = Σ_i s_i ℓ_i / S + ‖coef‖² / (2 C S),   S = Σ_i s_i,

with s the sample weights multiplied by the class weights, the intercept
unpenalised, ℓ the binary logistic loss log(1 + e^η) − z η for the binary
model (z = 1 for ``classes_[1]``) and the multinomial loss
logsumexp(η) − η_y for the softmax model.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.utils.class_weight import compute_class_weight


def effective_weights(y, sample_weight=None, class_weight=None):
    """Sample weights with the class weights multiplied in.

    As ``LogisticRegression`` (scikit-learn >= 1.8) does, "balanced" class
    weights are computed from the sample-weighted class counts.
    """
    y = np.asarray(y)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if class_weight is not None:
        classes, y_index = np.unique(y, return_inverse=True)
        weights = compute_class_weight(class_weight, classes=classes, y=y, sample_weight=s)
        s = s * weights[y_index]
    return s


def objective(coef, intercept, X, y, *, C, sample_weight=None, class_weight=None, binary):
    """The penalised weighted mean log-loss at (coef, intercept).

    Parameters
    ----------
    coef : ndarray of shape (K, d)
        K = 1 for ``binary=True``.
    intercept : ndarray of shape (K,)
    X : ndarray or sparse matrix of shape (n, d)
    y : array-like of shape (n,)
    C : float
    sample_weight, class_weight : as for ``LogisticRegression.fit``
    binary : bool
        Binary logistic loss (K = 1) or the full multinomial loss.
    """
    y = np.asarray(y)
    classes, y_index = np.unique(y, return_inverse=True)
    s = effective_weights(y, sample_weight, class_weight)
    S = s.sum()
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    eta = X @ np.asarray(coef, dtype=float).T + np.asarray(intercept, dtype=float)
    if binary:
        eta = eta[:, 0]
        z = (y_index == 1).astype(float)
        loss = np.logaddexp(0.0, eta) - z * eta
    else:
        loss = logsumexp(eta, axis=1) - eta[np.arange(len(y)), y_index]
    return float(s @ loss / S + np.sum(np.asarray(coef) ** 2) / (2.0 * C * S))


def relative_error(actual, desired, floor=1e-3):
    """‖actual − desired‖ / max(‖desired‖, floor)."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    return float(np.linalg.norm(actual - desired) / max(np.linalg.norm(desired), floor))
