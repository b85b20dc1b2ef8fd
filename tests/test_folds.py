"""Folds as weight masks on shards, and several DINGO runs sharing each round.

References are independent of the fold machinery: plain DINGO runs on a
LocalBackend whose shards are the same rows with the fold's weights written
out, and held-out sums computed here with dense NumPy.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_softmax
from sklearn.metrics import log_loss

from _data import make_data, n_classes_of
from sklearn_dingo._backends import LocalBackend
from sklearn_dingo._backends._fold_group import FoldGroup
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import ShardData
from sklearn_dingo._shard._folds import HELD_OUT, TRAIN, UNUSED, attach_folds, held_out_sums
from sklearn_dingo._solver._dingo import DingoConfig, dingo
from sklearn_dingo._solver._paths import fold_paths

N, D = 1200, 6


def problem(kind, seed=0):
    X, y, weights = make_data(kind, N, D, seed=seed, weights=(0.5, 2.0))
    return X, y, weights, n_classes_of(kind)


def objective_for(kind, n_classes, C=1.0, total_weight=1.0):
    if kind == "binary":
        return BinaryLogistic(n_features=D, fit_intercept=True, C=C, total_weight=total_weight)
    return MultinomialSoftmax(n_features=D, n_classes=n_classes, fit_intercept=True, C=C, total_weight=total_weight)


def random_roles(n_folds, seed=1):
    """Each row held out in one fold, trained on in the others; a few rows unused in fold 0."""
    rng = np.random.default_rng(seed)
    held = rng.integers(0, n_folds, N)
    roles = np.where(held[:, None] == np.arange(n_folds)[None, :], HELD_OUT, TRAIN).astype(np.int8)
    roles[rng.choice(N, 30, replace=False), 0] = UNUSED
    return roles


def shards_with_weights(X, Y, weights, n_shards):
    """Shards of every m-th row (as LocalBackend.from_arrays makes for dense data)."""
    return [
        ShardData(X[j::n_shards], Y[j::n_shards], weights[j::n_shards], max(float(weights[j::n_shards].sum()), 1.0))
        for j in range(n_shards)
    ]


@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_attach_folds_views_share_the_rows(kind):
    X, y, weights, n_classes = problem(kind)
    encoding = objective_for(kind, n_classes)
    shard = ShardData(X, encoding.encode_targets(y), weights, float(weights.sum()))
    roles = random_roles(3)
    class_weights = np.array([1.0, 3.0, 0.5][:n_classes])
    (train_sums, held_sums), folds = attach_folds(
        shard, None, roles, class_weights=class_weights, objective=encoding
    )
    for fold, view in enumerate(folds.train):
        expected = weights * class_weights[y] * (roles[:, fold] == TRAIN)
        assert_allclose(view.sample_weight, expected)
        assert train_sums[fold] == pytest.approx(expected.sum())
        assert held_sums[fold] == pytest.approx(weights[roles[:, fold] == HELD_OUT].sum())
        assert_array_equal(folds.held_out_rows[fold], np.flatnonzero(roles[:, fold] == HELD_OUT))
        # the same rows, and the same cache of what is derived from them: no copy per fold
        assert view.X is shard.X and view.features is shard.features


@pytest.mark.parametrize("kind", ["binary", "softmax"])
@pytest.mark.parametrize("scale", [3.0, 30.0])  # 30: margins up to ~300, many probabilities clipped
def test_held_out_sums_against_dense_log_loss(kind, scale):
    """As scikit-learn's log_loss and accuracy of the model's probabilities."""
    X, y, weights, n_classes = problem(kind)
    objective = objective_for(kind, n_classes, C=1.0, total_weight=float(weights.sum()))
    shard = ShardData(X, objective.encode_targets(y), weights, float(weights.sum()))
    rng = np.random.default_rng(3)
    w = rng.standard_normal(objective.n_params) * scale
    (sums,), _ = held_out_sums(shard, None, w, objective=objective)
    W = w.reshape(D + 1, -1)
    Z = X @ W[:D] + W[D]
    if kind == "binary":
        # the positive class's probability as DingoLogisticRegression.predict_proba makes it;
        # the scorer passes that column alone, and log_loss takes 1 - p for the other class
        scored = np.exp(-np.logaddexp(0.0, -Z[:, 0]))
        proba = np.column_stack([1 - scored, scored])
    else:
        scored = proba = np.exp(log_softmax(Z, axis=1))
    losses = log_loss(y, scored, sample_weight=weights, labels=np.arange(n_classes)) * weights.sum()
    correct = np.argmax(proba, axis=1) == y
    assert_allclose(sums, [losses, weights @ correct, weights.sum()], rtol=1e-12)


@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_folds_sharing_rounds_give_each_fold_its_own_dingo(kind):
    """Every fold's path equals plain DINGO on the fold's weights; the rounds are the longest path's."""
    X, y, weights, n_classes = problem(kind)
    encoding = objective_for(kind, n_classes)
    Y = encoding.encode_targets(y)
    n_folds, n_shards, Cs = 3, 3, [0.01, 1.0]
    roles = random_roles(n_folds)
    class_weights = np.linspace(1.0, 2.0, n_classes)
    config = DingoConfig(tol=1e-9, rebalance=False)

    def make_objective(C, total_weight):
        return objective_for(kind, n_classes, C, total_weight)

    with LocalBackend.from_arrays(X, Y, weights, n_shards) as backend:
        group = FoldGroup(backend, roles, class_weights, encoding)
        paths = fold_paths(group, range(n_folds), Cs, make_objective, config, held_out="sums")
        shared = backend.rounds

    longest = 0
    for fold, path in enumerate(paths):
        fold_weights = weights * class_weights[y] * (roles[:, fold] == TRAIN)
        w0, rounds = None, 0
        with LocalBackend(shards_with_weights(X, Y, fold_weights, n_shards)) as reference_backend:
            for run, C in zip(path, Cs):
                objective = make_objective(C, float(fold_weights.sum()))
                reference = dingo(reference_backend, objective, config, w0=w0)
                w0 = reference.w
                assert_allclose(run.result.w, reference.w, rtol=1e-9, atol=1e-12)
                assert run.result.n_iter == reference.n_iter
                # each run's own rounds: the reference counts cumulatively over the path
                assert run.result.rounds == reference.rounds
                rounds = reference.rounds
                # held-out sums at the solution, against dense NumPy
                held = roles[:, fold] == HELD_OUT
                (expected,), _ = held_out_sums(
                    ShardData(X[held], Y[held], weights[held], float(weights[held].sum())),
                    None, reference.w, objective=objective,
                )
                assert_allclose(np.sum([reply[0] for reply in run.held_out.replies], axis=0), expected, rtol=1e-9)
        longest = max(longest, rounds)
    # attaching the folds (2 rounds), the longest path, and one last round for the last held-out requests
    assert shared == 2 + longest + 2


def test_a_failing_fold_stops_the_group_and_raises():
    X, y, weights, n_classes = problem("binary")
    encoding = objective_for("binary", n_classes)
    with LocalBackend.from_arrays(X, encoding.encode_targets(y), weights, 2) as backend:
        group = FoldGroup(backend, random_roles(2), np.ones(2), encoding)

        def broken(C, total_weight):
            if C > 0.5:
                raise RuntimeError("this fold fails")
            return objective_for("binary", n_classes, C, total_weight)

        with pytest.raises(RuntimeError, match="this fold fails"):
            fold_paths(group, range(2), [0.1, 1.0], broken, DingoConfig(tol=1e-8))
