"""The line-search decision: largest step with ‖∇f(w + αp)‖² ≤ ‖g‖² + 2αρ⟨p, Hg⟩."""

import math

import numpy as np
import pytest

from sklearn_dingo._solver._line_search import first_accepted

ALPHAS = [1.0, 0.5, 0.25, 0.125]


def _brute_force(values, alphas, grad_norm2, slope, rho):
    for k, (value, alpha) in enumerate(zip(values, alphas)):
        if math.isfinite(value) and value <= grad_norm2 + 2.0 * alpha * rho * slope:
            return k
    return None


@pytest.mark.parametrize(
    "values, expected",
    [
        # bounds with ‖g‖² = 1, slope = −1, ρ = 0.1: 0.8, 0.9, 0.95, 0.975
        ([0.85, 0.89, 0.5, 2.0], 1),  # the first (largest) passing step, not the smallest value
        ([0.1, 0.2, 0.3, 0.4], 0),
        ([0.81, 0.91, 0.96, 0.975], 3),  # equality passes
        ([0.81, 0.91, 0.96, 0.98], None),
        ([np.nan, np.inf, 0.9, 0.1], 2),  # non-finite trial values fail
        ([-np.inf, np.nan, np.nan, np.nan], None),
    ],
)
def test_first_accepted_table(values, expected):
    assert first_accepted(np.array(values), ALPHAS, 1.0, -1.0, 0.1) == expected


def test_returns_python_int():
    k = first_accepted(np.array([2.0, 0.1]), [1.0, 0.5], 1.0, -1.0, 1e-4)
    assert k == 1 and type(k) is int


def test_bound_uses_each_alpha():
    """A later batch has small steps: the bound is ‖g‖² + 2 α_k ρ slope for its own α_k."""
    alphas = [2.0**-k for k in range(8, 12)]
    grad_norm2, slope, rho = 4.0, -3.0, 0.5
    bounds = grad_norm2 + 2.0 * np.array(alphas) * rho * slope
    values = bounds + np.array([1e-12, 1e-12, -1e-12, -1.0])
    assert first_accepted(values, alphas, grad_norm2, slope, rho) == 2


@pytest.mark.parametrize("seed", range(20))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    B = int(rng.integers(1, 9))
    first = int(rng.integers(0, 40))
    alphas = [2.0**-k for k in range(first, first + B)]
    grad_norm2 = float(rng.uniform(0.1, 10.0))
    slope = -float(rng.uniform(0.0, 5.0))
    rho = float(rng.choice([1e-4, 0.1, 0.5]))
    values = grad_norm2 * rng.uniform(0.9, 1.05, size=B)
    values[rng.random(B) < 0.15] = np.nan
    values[rng.random(B) < 0.1] = np.inf
    assert first_accepted(values, alphas, grad_norm2, slope, rho) == _brute_force(
        values, alphas, grad_norm2, slope, rho
    )
