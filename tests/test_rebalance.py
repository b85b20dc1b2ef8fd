"""How much shards disagree, and the one rule that decides whether rebalancing rows pays."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification

from sklearn_dingo._backends import RebalanceCost
from sklearn_dingo._solver._rebalance import (
    DISAGREEMENT,
    EXTRA_ROUNDS_IF_DISAGREE,
    SLOW_CONTRACTION,
    direction_spread,
    remaining_fraction,
    shards_disagree,
    should_rebalance,
)


def test_direction_spread_is_the_relative_weighted_spread():
    rng = np.random.default_rng(0)
    pi = np.array([0.5, 0.3, 0.2])
    directions = rng.standard_normal((3, 7))
    mean = pi @ directions
    spread = sum(p * np.sum((d - mean) ** 2) for p, d in zip(pi, directions))
    expected = math.sqrt(np.sum(pi[:, None] * (directions - mean) ** 2)) / np.linalg.norm(mean)
    assert direction_spread(spread, mean) == pytest.approx(expected, rel=1e-14)
    # identical local directions: no spread; a vanishing mean: defined as 0
    assert direction_spread(0.0, mean) == 0.0
    assert direction_spread(1.0, np.zeros(7)) == 0.0


@pytest.mark.parametrize(
    "delta, contraction, expected",
    [
        (0.1, 0.9, False),  # slow, but the shards agree: not their fault
        (0.9, 0.05, False),  # spread near the optimum while ‖g‖ falls fast
        (DISAGREEMENT * 1.01, SLOW_CONTRACTION * 1.01, True),
        (DISAGREEMENT, 0.9, False),  # thresholds are strict
    ],
)
def test_shards_disagree_needs_spread_and_slow_progress(delta, contraction, expected):
    assert shards_disagree(delta, contraction) is expected


FREE = RebalanceCost(nbytes=10, seconds=0.0, rounds=0)  # in process: a copy, no round
DEAR = RebalanceCost(nbytes=10**12, seconds=1e9, rounds=2)  # a terabyte over the network


def test_should_rebalance():
    cheap = RebalanceCost(nbytes=10, seconds=0.0, rounds=2)
    assert not should_rebalance(False, cheap, 1.0)
    assert not should_rebalance("auto", None, 1.0)  # the backend cannot rebalance
    assert should_rebalance(True, RebalanceCost(nbytes=10**12, seconds=1e9, rounds=2), 1.0)
    # auto: the move (its time plus its rounds and the point's broadcast) against the extra rounds
    per_round = 0.5
    budget = EXTRA_ROUNDS_IF_DISAGREE * per_round - 3 * per_round
    assert should_rebalance("auto", RebalanceCost(nbytes=1, seconds=0.99 * budget, rounds=2), per_round)
    assert not should_rebalance("auto", RebalanceCost(nbytes=1, seconds=1.01 * budget, rounds=2), per_round)
    # late in the fit the extra rounds still ahead are fewer: the same move no longer pays
    assert not should_rebalance("auto", RebalanceCost(nbytes=1, seconds=0.0, rounds=2), per_round, remaining=0.1)
    assert should_rebalance(True, RebalanceCost(nbytes=1, seconds=0.0, rounds=2), per_round, remaining=0.0)


@pytest.mark.parametrize("cost", [FREE, DEAR, None], ids=["free", "dear", "no cost"])
@pytest.mark.parametrize("rebalance", ["auto", True, False])
def test_should_rebalance_at_the_start(rebalance, cost):
    """Before any round: True moves whatever it costs, "auto" waits for evidence, False never moves."""
    expected = rebalance is True and cost is not None
    assert should_rebalance(rebalance, cost) is expected


@pytest.mark.parametrize(
    "rebalance, cost, seconds_per_round, expected",
    [
        ("auto", FREE, 1e-3, True),  # a free copy pays even at a millisecond a round
        ("auto", FREE, 0.0, False),  # rounds that cost nothing: nothing to save
        ("auto", DEAR, 0.05, False),  # the move costs more than every round it could save
        ("auto", DEAR, 1e9, True),  # ... unless a round costs as much
        ("auto", None, 0.05, False),  # nothing to rebalance
        (True, DEAR, 0.05, True),  # True whenever the backend can
        (True, None, 0.05, False),
        (False, FREE, 0.05, False),
        (False, None, 0.05, False),
    ],
)
def test_should_rebalance_once_the_shards_disagree(rebalance, cost, seconds_per_round, expected):
    assert should_rebalance(rebalance, cost, seconds_per_round, remaining=1.0) is expected


@pytest.mark.parametrize("rebalance", ["auto", True, False])
def test_real_fits_decide_only_through_should_rebalance(monkeypatch, rebalance):
    """Every decision of a fit and of a search goes through the one rule, and it is followed."""
    from sklearn_dingo import DingoLogisticRegression, DingoLogisticRegressionCV
    from sklearn_dingo._estimators import _cv
    from sklearn_dingo._solver import _dingo

    decisions = []

    def recording(rebalance, cost, seconds_per_round=None, remaining=1.0):
        decision = should_rebalance(rebalance, cost, seconds_per_round, remaining)
        decisions.append((cost is not None, seconds_per_round is not None, decision))
        return decision

    monkeypatch.setattr(_dingo, "should_rebalance", recording)
    monkeypatch.setattr(_cv, "should_rebalance", recording)
    X, y = make_classification(n_samples=4000, n_features=12, n_informative=6, random_state=3)
    X[np.abs(X) < 0.8] = 0.0
    order = np.argsort(y, kind="stable")  # contiguous blocks disagree
    Xs, ys = sp.csr_matrix(X[order]), y[order]

    est = DingoLogisticRegression(n_shards=4, rebalance=rebalance, tol=1e-8, aggregate_hessian=False).fit(Xs, ys)
    start, later = decisions[0], decisions[1:]
    if rebalance is False:  # sparse rows in blocks, and they stay there
        assert start == (False, False, False) and not est.rebalanced_
        assert later == [(False, True, False)]  # asked once the shards disagree: corrected instead
        assert 4 in est.history_["case"]
    elif rebalance is True:  # copied before the first round: no later question
        assert start == (True, False, True) and later == [] and est.rebalanced_
        assert est.history_["bytes_moved"][0] > 0
    else:  # waits for an iteration to show the disagreement, then the free copy pays
        assert start == (True, False, False) and later == [(True, True, True)] and est.rebalanced_
        assert est.history_["bytes_moved"][0] == 0 < est.history_["bytes_moved"][-1]

    decisions.clear()  # dense rows: strided views from the start unless False, nothing to move
    DingoLogisticRegression(n_shards=4, rebalance=rebalance, tol=1e-8, aggregate_hessian=False).fit(X[order], ys)
    assert decisions == [(False, False, False)] + [(False, True, False)] * (rebalance is False)

    decisions.clear()
    DingoLogisticRegressionCV(Cs=[0.1, 1.0], cv=2, n_shards=4, rebalance=rebalance, tol=1e-6).fit(Xs, ys)
    search, folds = decisions[0], decisions[1:]
    assert search == (rebalance is not False, False, rebalance is True)
    assert folds and all(not has_cost and not decision for has_cost, _, decision in folds)  # folds never move


def test_remaining_fraction():
    assert remaining_fraction(1.0, 1.0, 1e-8) == 1.0
    assert remaining_fraction(1e-4, 1.0, 1e-8) == pytest.approx(0.5)
    assert remaining_fraction(1e-9, 1.0, 1e-8) == 0.0
    assert remaining_fraction(10.0, 1.0, 1e-8) == 1.0  # ‖g‖ grew: all of it still ahead
