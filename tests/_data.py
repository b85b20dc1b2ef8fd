"""Seeded data sets shared by the tests: the same call gives the same rows, in every module.

Nothing here imports sklearn_dingo or Dask.
"""

import numpy as np


def n_classes_of(kind):
    """2 classes for ``"binary"``, 3 for any other kind (``"softmax"``, ``"multinomial"``)."""
    return 2 if kind == "binary" else 3


def gumbel_rows(rng, n, d, n_classes, *, scale=1.0, standardize=False, sparsity=0.0):
    """Gaussian features and the labels of a linear softmax model with Gumbel noise (not separable).

    Draws from ``rng``, in this order: X of shape ``(n, d)`` (standardised
    column by column if asked); the entries of X set to zero with
    probability ``sparsity`` (only when it is not zero); the model
    ``W = scale * N(0, 1)`` of shape ``(d, n_classes)``; the noise. Returns
    ``(X, y)`` with integer labels ``y = argmax(X W + Gumbel)``. The caller
    may go on drawing from ``rng`` (weights, a permutation, ...).
    """
    X = rng.standard_normal((n, d))
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    if sparsity:
        X[rng.random(X.shape) < sparsity] = 0.0
    W = scale * rng.standard_normal((d, n_classes))
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


def make_data(kind, n, d, *, seed=0, scale=1.0, standardize=False, labels=None, weights=None):
    """``(X, y)`` of :func:`gumbel_rows` with ``n_classes_of(kind)`` classes, or ``(X, y, sample_weight)``.

    ``labels``: names the integer labels are replaced by (``labels[y]``).
    ``weights``: ``(low, high)`` of uniform sample weights, drawn after the labels.
    """
    rng = np.random.default_rng(seed)
    X, y = gumbel_rows(rng, n, d, n_classes_of(kind), scale=scale, standardize=standardize)
    if labels is not None:
        y = np.asarray(labels)[y]
    if weights is None:
        return X, y
    return X, y, rng.uniform(*weights, n)


def make_informative(kind, n=20_000, d=30, seed=0):
    """scikit-learn's ``make_classification`` with 10 informative features: 2 classes, or 4 for other kinds."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=n, n_features=d, n_informative=10, n_classes=2 if kind == "binary" else 4, random_state=seed
    )
