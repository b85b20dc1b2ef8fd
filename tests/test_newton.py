"""The aggregated-Hessian Newton step: its direction, its rounds on any row layout, its report."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from _data import gumbel_rows
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._backends import LocalBackend, row_slices, split_rows
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._solver import DingoConfig, dingo
from sklearn_dingo._solver._newton import NEWTON_CASE


def dense_gradient_hessian(X, Y, w, C, fit_intercept, binary):
    """Gradient and Hessian of scikit-learn's objective at ``w``, by dense linear algebra.

    The flat layout is the package's: ``w[i * K + k]`` is row i (feature, then
    the intercept) of class k. Written from the formulas, not the package.
    """
    n, d = X.shape
    Xt = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    rows = Xt.shape[1]
    K = Y.shape[1]
    W = w.reshape(rows, K)
    eta = Xt @ W
    if binary:
        p = 1.0 / (1.0 + np.exp(-eta))
        residual = p - Y
        curvature = [(p * (1 - p))[:, 0][:, None, None] * np.ones((n, 1, 1))]
        blocks = curvature[0]
    else:
        e = np.exp(eta - eta.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        residual = p - Y
        blocks = np.einsum("ik,kl->ikl", p, np.eye(K)) - np.einsum("ik,il->ikl", p, p)
    penalty = np.ones((rows, K)) / (C * n)
    if fit_intercept:
        penalty[-1] = 0.0
    grad = (Xt.T @ residual / n + penalty * W).ravel()
    H = np.einsum("ia,ib,ikl->akbl", Xt, Xt, blocks).reshape(rows * K, rows * K) / n
    return grad, H + np.diag(penalty.ravel())


def newton_case(kind, n=600, d=4, n_shards=3, seed=0):
    rng = np.random.default_rng(seed)
    K = 2 if kind == "binary" else 3
    X, y = gumbel_rows(rng, n, d, K)
    if kind == "binary":
        objective = BinaryLogistic(n_features=d, fit_intercept=True, C=0.5, total_weight=float(n))
    else:
        objective = MultinomialSoftmax(n_features=d, n_classes=K, fit_intercept=True, C=0.5, total_weight=float(n))
    Y = objective.encode_targets(y)
    w0 = objective.identifiable(np, 0.3 * rng.standard_normal(objective.n_params))
    return X, Y, objective, w0, split_rows(X, Y, np.ones(n), row_slices(n, n_shards, strided=False))


@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_the_aggregated_step_is_the_dense_newton_step(kind):
    X, Y, objective, w0, shards = newton_case(kind)
    config = DingoConfig(aggregate_hessian=True, max_iter=1, tol=0.0)
    with LocalBackend(shards) as backend:
        result = dingo(backend, objective, config, w0=w0)
    history = result.history
    assert history["case"][1] == NEWTON_CASE and history["step_kind"][1] == "newton"
    step = (result.w - w0) / history["step_size"][1]
    g, H = dense_gradient_hessian(X, Y, w0, 0.5, True, kind == "binary")
    # Softmax's full parametrisation: Newton's step on the centred subspace.
    K = objective.n_outputs
    P = np.eye(objective.n_params) if K == 1 else np.kron(np.eye(objective.n_rows), np.eye(K) - np.ones((K, K)) / K)
    expected = -np.linalg.pinv(P @ H @ P) @ (P @ g)
    assert_allclose(step, expected, rtol=1e-9, atol=1e-12)


def test_the_dense_reference_is_scikit_learns_hessian():
    """The test's reference itself, checked against scikit-learn's for the binary model."""
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    X, Y, objective, w0, _ = newton_case("binary")
    g, H = dense_gradient_hessian(X, Y, w0, 0.5, True, True)
    loss = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=True)
    g_ref, H_ref, _ = loss.gradient_hessian(w0, X, Y[:, 0], l2_reg_strength=1.0 / (0.5 * len(X)))
    assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    assert_allclose(H, H_ref, rtol=1e-12, atol=1e-14)


def sorted_problem(kind, layout, n=8000, d=12):
    rng = np.random.default_rng(7)
    X, y = gumbel_rows(rng, n, d, 2 if kind == "binary" else 5, scale=0.7)
    X = StandardScaler().fit_transform(X)
    order = {
        "shuffled": rng.permutation(n),
        "label": np.argsort(y, kind="stable"),
        "feature": np.argsort(X[:, 0], kind="stable"),
    }[layout]
    return np.ascontiguousarray(X[order]), y[order]


@pytest.mark.parametrize("kind", ["binary", "softmax"])
@pytest.mark.parametrize("layout", ["label", "feature"])
@pytest.mark.parametrize("n_shards", [4, 8])
def test_sorted_rows_kept_in_place_take_at_most_twice_the_shuffled_rounds(kind, layout, n_shards):
    Est = DingoLogisticRegression if kind == "binary" else DingoSoftmaxRegression
    params = dict(C=1.0, tol=1e-8, n_shards=n_shards, rebalance=False)
    shuffled = Est(**params).fit(*sorted_problem(kind, "shuffled"))
    X, y = sorted_problem(kind, layout)
    est = Est(**params).fit(X, y)
    assert est.converged_
    assert est.n_communication_rounds_ <= 2 * shuffled.n_communication_rounds_
    # One DINGO iteration shows the shards disagree; Newton's steps follow.
    assert "newton" in est.history_["step_kind"]
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X, y)
    assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_verbose_names_the_kind_of_step(capsys):
    X, y = sorted_problem("binary", "shuffled", n=2000, d=5)
    DingoLogisticRegression(verbose=1, n_shards=2).fit(X, y)
    DingoLogisticRegression(verbose=1, n_shards=2, aggregate_hessian=False).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert "kind" in lines[0]
    kinds = {line.split()[2] for line in lines if line.split() and line.split()[0].isdigit() and line.split()[0] != "0"}
    assert kinds == {"newton", "dingo"}


@pytest.mark.parametrize("Est", [DingoLogisticRegression, DingoSoftmaxRegression])
def test_inexact_local_solves_never_accept_a_non_descent_direction(Est):
    """Two Lanczos steps at a loose tolerance: every accepted direction still passed the case test."""
    X, y = sorted_problem("binary" if Est is DingoLogisticRegression else "softmax", "shuffled", n=4000, d=20)
    est = Est(
        C=1.0, tol=1e-8, n_shards=4, aggregate_hessian=False, subproblem_solver="krylov",
        subproblem_max_iter=2, subproblem_tol=0.5, max_iter=500,
    ).fit(X, y)
    assert est.converged_
    assert np.all(est.history_["descent_ratio"][1:] >= 1.0)  # ⟨p, Hg⟩ ≤ −θ‖g‖² for every step taken
    assert np.all(np.diff(est.history_["grad_norm"]) < 0)
    assert set(est.history_["lanczos_cap"][1:]) == {2}
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X, y)
    assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_a_rejected_unit_step_costs_the_next_iteration_a_hessian_round():
    """Accepted unit steps bring the next Hessian (2 rounds per iteration); any other step does not (4)."""
    X, Y, objective, w0, shards = newton_case("softmax")
    config = DingoConfig(aggregate_hessian=True, tol=1e-10, line_search_batch=1)
    with LocalBackend(shards) as backend:
        result = dingo(backend, objective, config, w0=30 * w0)  # far from the optimum: backtracking first
    history = result.history
    steps, trials, rounds = history["step_size"][1:], history["line_search_trials"][1:], np.diff(history["rounds"])
    assert steps[0] < 1 and steps[-1] == 1
    m, D = len(shards), objective.n_params
    triangle = D * (D + 1) // 2
    bytes_up, bytes_down = np.diff(history["bytes_up"]), np.diff(history["bytes_down"])
    for t in range(len(steps)):
        known = t > 0 and steps[t - 1] == 1.0  # the previous search's unit step brought H
        assert rounds[t] == (0 if known else 2) + 2 * trials[t]
        # ALGORITHM.md §4: H_j's upper triangle, with the first trial's reply, and in a round of its own
        assert bytes_up[t] == 8 * m * (trials[t] * (D + 1) + triangle * (1 if known else 2))
        assert bytes_down[t] == 8 * m * ((0 if known else 1) + D + 1 + (trials[t] - 1))
    g, _ = dense_gradient_hessian(X, Y, result.w, 0.5, True, binary=False)
    assert np.linalg.norm(g) <= 1e-10
