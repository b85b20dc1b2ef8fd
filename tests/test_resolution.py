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


def test_a_warm_start_is_resolved_on_the_problem_s_scale():
    """The thresholds come from ‖∇f(0)‖, not from a warm start's ‖g_0‖ (near zero there)."""
    from sklearn_dingo._backends import LocalBackend
    from sklearn_dingo._objectives import MultinomialSoftmax
    from sklearn_dingo._solver._dingo import start
    from sklearn_dingo._solver._state import DingoConfig

    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4))
    labels = rng.integers(0, 3, 90)
    s = np.ones(90)
    config = DingoConfig(rebalance=False)

    def started(C, w0):
        objective = MultinomialSoftmax(n_features=4, n_classes=3, fit_intercept=True, C=C, total_weight=90.0)
        backend = LocalBackend.from_arrays(X, objective.encode_targets(labels), s, 3, rebalance=False)
        state, scale = start(backend, objective, config, w0)
        return state, scale, backend, objective.n_params

    cold, cold_scale, cold_backend, D = started(1.0, None)
    assert cold_scale == cold.grad_norm  # a cold start: ‖g_0‖ itself, bit for bit
    for C in (1e-2, 1e2):
        warm, warm_scale, backend, _ = started(C, rng.standard_normal(D))
        assert warm_scale == pytest.approx(cold_scale, rel=1e-12)  # whatever w0 and C
        assert warm.grad_norm != pytest.approx(cold.grad_norm, rel=1e-3)
        # One broadcast of w0, and the reduce carries ∇f_j(0) too: D more floats per shard.
        assert backend.rounds == cold_backend.rounds + 1
        assert backend.bytes_up == cold_backend.bytes_up + 3 * 8 * D
