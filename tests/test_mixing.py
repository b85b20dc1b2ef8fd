"""How much shards disagree, and the rule that decides whether moving rows pays."""

import math

import numpy as np
import pytest

from sklearn_dingo._backends._base import MixingCost
from sklearn_dingo._solver._rebalance import (
    DISAGREEMENT,
    EXTRA_ROUNDS_IF_DISAGREE,
    SLOW_CONTRACTION,
    direction_spread,
    remaining_fraction,
    shards_disagree,
    should_mix,
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


def test_should_mix():
    cheap = MixingCost(nbytes=10, seconds=0.0, rounds=2)
    assert not should_mix(False, cheap, 1.0)
    assert not should_mix("auto", None, 1.0)  # the backend cannot mix
    assert should_mix(True, MixingCost(nbytes=10**12, seconds=1e9, rounds=2), 1.0)
    # auto: the move (its time plus its rounds and the point's broadcast) against the extra rounds
    per_round = 0.5
    budget = EXTRA_ROUNDS_IF_DISAGREE * per_round - 3 * per_round
    assert should_mix("auto", MixingCost(nbytes=1, seconds=0.99 * budget, rounds=2), per_round)
    assert not should_mix("auto", MixingCost(nbytes=1, seconds=1.01 * budget, rounds=2), per_round)
    # late in the fit the extra rounds still ahead are fewer: the same move no longer pays
    assert not should_mix("auto", MixingCost(nbytes=1, seconds=0.0, rounds=2), per_round, remaining=0.1)
    assert should_mix(True, MixingCost(nbytes=1, seconds=0.0, rounds=2), per_round, remaining=0.0)


def test_remaining_fraction():
    assert remaining_fraction(1.0, 1.0, 1e-8) == 1.0
    assert remaining_fraction(1e-4, 1.0, 1e-8) == pytest.approx(0.5)
    assert remaining_fraction(1e-9, 1.0, 1e-8) == 0.0
    assert remaining_fraction(10.0, 1.0, 1e-8) == 1.0  # ‖g‖ grew: all of it still ahead
