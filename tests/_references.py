"""Independent reference implementations shared by the tests.

Nothing here imports sklearn_dingo: every number is computed from the
formulas of ALGORITHM.md §1 with dense NumPy / SciPy, or taken from
scikit-learn, so that the package is compared against code it does not share.

Flat parameter layout (the package's wire format): the ``(d + fit_intercept, K)``
matrix in C order, intercept last row; ``K = 1`` for the binary model.
"""

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.special import expit, logsumexp, softmax


def dense(X):
    """Dense float64 copy of X (sparse or dense)."""
    return np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)


def augmented(X, fit_intercept):
    """``X̃ = [X, 1]`` as a dense array (the ones column materialised on purpose)."""
    Xd = dense(X)
    if fit_intercept:
        Xd = np.hstack([Xd, np.ones((Xd.shape[0], 1))])
    return Xd


def penalty_mask(n_features, n_outputs, fit_intercept):
    """Flat 0/1 mask of the penalised parameters (intercept row excluded)."""
    M = np.ones((n_features + int(fit_intercept), n_outputs))
    if fit_intercept:
        M[-1, :] = 0.0
    return M.ravel()


def penalty_strength(C, total_weight):
    return 0.0 if math.isinf(C) else 1.0 / (C * total_weight)


def dense_objective(X, y_index, sample_weight, w, *, n_outputs, fit_intercept, C, total_weight=None):
    """Loss, gradient and dense Hessian of one shard's objective.

    ``f_j(w) = (1/S_j) Σ s_i ℓ(x̃_iᵀ W, y_i) + ‖w_pen‖² / (2 C S)`` with
    ``S_j = Σ s`` and ``S = total_weight`` (default ``S_j``). ``n_outputs == 1``
    is the binary model (``y_index`` in {0, 1}), otherwise the full softmax.
    """
    Xt = augmented(X, fit_intercept)
    n, p = Xt.shape
    K = n_outputs
    s = np.asarray(sample_weight, dtype=np.float64)
    Sj = s.sum()
    S = Sj if total_weight is None else float(total_weight)
    lam = penalty_strength(C, S)
    mask = penalty_mask(p - int(fit_intercept), K, fit_intercept)
    W = np.asarray(w, dtype=np.float64).reshape(p, K)
    eta = Xt @ W
    y_index = np.asarray(y_index)
    if K == 1:
        z = (y_index == 1).astype(np.float64)
        e = eta[:, 0]
        point = np.logaddexp(0.0, e) - z * e
        resid = (expit(e) - z)[:, None]
        c = expit(e) * expit(-e)
        H = (Xt * (s * c)[:, None]).T @ Xt / Sj
    else:
        Y = (y_index[:, None] == np.arange(K)[None, :]).astype(np.float64)
        point = logsumexp(eta, axis=1) - np.sum(eta * Y, axis=1)
        P = softmax(eta, axis=1)
        resid = P - Y
        H4 = np.empty((p, K, p, K))
        for k in range(K):
            for l in range(K):
                a = P[:, k] * ((k == l) - P[:, l])
                H4[:, k, :, l] = (Xt * (s * a)[:, None]).T @ Xt / Sj
        H = H4.reshape(p * K, p * K)
    loss = s @ point / Sj + 0.5 * lam * np.sum((w * mask) ** 2)
    grad = (Xt.T @ (s[:, None] * resid) / Sj).ravel() + lam * mask * w
    H = H + np.diag(lam * mask)
    return float(loss), grad, H


def sklearn_objective(X, y_index, sample_weight, w, *, n_outputs, fit_intercept, C):
    """scikit-learn's ``LogisticRegression`` objective at the flat point ``w``.

    Uses scikit-learn's own loss machinery (``LinearModelLoss`` with
    ``HalfBinomialLoss`` / ``HalfMultinomialLoss`` and
    ``l2_reg_strength = 1 / (C Σs)``, exactly as ``LogisticRegression`` does)
    with scikit-learn's coefficient layout, built from ``w`` here.
    """
    from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    p = X.shape[1] + int(fit_intercept)
    s = np.asarray(sample_weight, dtype=np.float64)
    l2 = 0.0 if math.isinf(C) else 1.0 / (C * s.sum())
    W = np.asarray(w, dtype=np.float64).reshape(p, n_outputs)
    y = np.asarray(y_index, dtype=np.float64)
    if n_outputs == 1:
        loss = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=fit_intercept)
        coef = np.ascontiguousarray(W[:, 0])
    else:
        loss = LinearModelLoss(
            base_loss=HalfMultinomialLoss(n_classes=n_outputs), fit_intercept=fit_intercept
        )
        coef = np.asfortranarray(W.T)  # (n_classes, n_dof), intercept last column
    return float(loss.loss(coef, X, y, sample_weight=s, l2_reg_strength=l2))


def log_loss_objective(X, y_index, sample_weight, w, *, n_outputs, fit_intercept, C):
    """The same objective through public scikit-learn only.

    A ``LogisticRegression`` whose ``coef_`` / ``intercept_`` are set from ``w``
    gives ``predict_proba``; ``log_loss`` gives the weighted mean loss.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    d = X.shape[1]
    W = np.asarray(w, dtype=np.float64).reshape(d + int(fit_intercept), n_outputs)
    est = LogisticRegression(C=C)
    n_classes = 2 if n_outputs == 1 else n_outputs
    est.classes_ = np.arange(n_classes)
    est.coef_ = np.ascontiguousarray(W[:d].T)
    est.intercept_ = W[d].copy() if fit_intercept else np.zeros(n_outputs)
    proba = est.predict_proba(X)
    s = np.asarray(sample_weight, dtype=np.float64)
    value = log_loss(y_index, proba, sample_weight=s, labels=est.classes_)
    if not math.isinf(C):
        value += np.sum(W[:d] ** 2) / (2.0 * C * s.sum())
    return float(value)


def five_point_gradient(fun, w, h=1e-4):
    """Gradient of a scalar function by the five-point stencil (error O(h⁴))."""
    w = np.asarray(w, dtype=np.float64)
    g = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (-fun(w + 2 * e) + 8 * fun(w + e) - 8 * fun(w - e) + fun(w - 2 * e)) / (12 * h)
    return g


def central_hessp(grad, w, v, h=1e-5):
    """``H v`` by central differences of the gradient (error O(h²)·‖v‖³)."""
    return (grad(w + h * v) - grad(w - h * v)) / (2 * h)


def sklearn_solution(X, y_index, sample_weight, *, n_outputs, fit_intercept, C):
    """Flat ``w`` of scikit-learn's ``LogisticRegression(C, tol=1e-12)``."""
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression(
        C=C, tol=1e-12, max_iter=10_000, solver="newton-cholesky", fit_intercept=fit_intercept
    )
    est.fit(X, y_index, sample_weight=sample_weight)
    rows = [est.coef_.T]
    if fit_intercept:
        rows.append(np.atleast_1d(est.intercept_)[None, :])
    return np.vstack(rows).ravel()


def newton_refine(X, y_index, sample_weight, w, *, n_outputs, fit_intercept, C, steps=8):
    """A few full-data Newton steps ``w ← w − H⁺ g`` with the dense Hessian.

    The pseudo-inverse handles the singular softmax-with-intercept Hessian
    (the step is then the minimum-norm one, which leaves the sum of the
    intercepts unchanged). Returns ``(w, ‖g‖)``.
    """
    kw = dict(n_outputs=n_outputs, fit_intercept=fit_intercept, C=C)
    w = np.asarray(w, dtype=np.float64).copy()
    for _ in range(steps):
        _, g, H = dense_objective(X, y_index, sample_weight, w, **kw)
        if np.linalg.norm(g) < 1e-15:
            break
        w = w - scipy.linalg.pinvh(H) @ g
    _, g, _ = dense_objective(X, y_index, sample_weight, w, **kw)
    return w, float(np.linalg.norm(g))


def centred(w, n_features, n_outputs, fit_intercept):
    """Flat ``w`` with the softmax intercepts centred across classes."""
    W = np.asarray(w, dtype=np.float64).reshape(n_features + int(fit_intercept), n_outputs).copy()
    if fit_intercept and n_outputs > 1:
        W[-1] -= W[-1].mean()
    return W.ravel()


# On an incompatible system the distance of MINRES-QLP's truncated iterate to
# pinv(A) b has a floor that rtol does not move (see "Accuracy" in the
# minres_qlp docstring). Measured over 100 seeds of the singular_inconsistent
# family, _symmetric(40, 30, -2, 1, 10, seed), at rtol = 1e-7, 1e-8 and 1e-12:
# median 6e-9 to 2e-8, maximum 2.8e-7 (LSMR: median 5e-13, maximum 6e-12). The
# bound leaves a margin of 100x over that maximum, so that a different BLAS
# kernel (different rounding) cannot make the test fail.
MINRES_QLP_PINV_ERR = 3e-5
