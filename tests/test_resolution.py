"""The resolution rules: where the data's precision, not DINGO, stops ‖g‖ from falling."""

import math

import numpy as np
import pytest

from sklearn_dingo._solver._resolution import RESOLUTION_STALL, ROUNDING_FLOOR, ROUNDING_STALL, Resolution
from sklearn_dingo._solver._state import StopReason

EPS32 = float(np.finfo(np.float32).eps)


def test_thresholds_scale_with_the_start_and_the_precision():
    rules = Resolution(EPS32, 2.0)
    assert rules.resolution == pytest.approx(math.sqrt(EPS32) * 2.0, rel=1e-15)
    assert rules.rounding_floor == pytest.approx(ROUNDING_FLOOR * EPS32 * 2.0, rel=1e-15)
    assert rules.rounding_floor < rules.resolution


@pytest.mark.parametrize("reason", [StopReason.NO_DESCENT, StopReason.LINE_SEARCH_FAILED])
def test_a_failure_within_the_resolution_is_the_resolution(reason):
    rules = Resolution(EPS32, 1.0)
    assert rules.failure(reason, (0.5 * rules.resolution) ** 2) is StopReason.RESOLUTION
    assert rules.failure(reason, (2.0 * rules.resolution) ** 2) is reason


@pytest.mark.parametrize("reason", [StopReason.NON_FINITE, StopReason.STATIONARY])
def test_other_failures_stand_even_within_the_resolution(reason):
    rules = Resolution(EPS32, 1.0)
    assert rules.failure(reason, 0.0) is reason


def test_stalled_needs_a_poor_contraction_below_a_threshold():
    rules = Resolution(EPS32, 1.0)
    below, above = 0.5 * rules.resolution, 2.0 * rules.resolution
    assert rules.stalled(RESOLUTION_STALL * 1.001, below)
    assert not rules.stalled(RESOLUTION_STALL * 0.999, below)  # still making progress
    assert not rules.stalled(1.0, above)  # slow, but far from the precision: DINGO's business
    # Within the rounding floor a much better contraction already counts as rounding.
    floor = 0.5 * rules.rounding_floor
    assert rules.stalled(ROUNDING_STALL * 1.001, floor)
    assert not rules.stalled(ROUNDING_STALL * 0.999, floor)
    assert not rules.stalled(ROUNDING_STALL * 1.001, below)  # above the floor: the first rule's 0.99 applies
