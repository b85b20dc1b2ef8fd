"""Secant corrections: the two-loop recursion against the explicit BFGS inverse update."""

import numpy as np
import pytest

from sklearn_dingo._solver._secant import SecantPairs


def explicit_inverse(P, pairs):
    """BFGS inverse updates of H_0 = P, as dense matrices (Nocedal and Wright, eq. 6.17)."""
    H = P.copy()
    eye = np.eye(P.shape[0])
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        H = (eye - rho * np.outer(s, y)) @ H @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return H


def spd(rng, n, cond=1e3):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.geomspace(1.0, cond, n)) @ Q.T


@pytest.mark.parametrize("n_pairs, size", [(1, 5), (4, 5), (8, 5), (3, 0)])
def test_two_loop_equals_explicit_update(n_pairs, size):
    rng = np.random.default_rng(n_pairs)
    D = 12
    A = spd(rng, D)  # the curvature the pairs see
    P = np.linalg.inv(spd(rng, D, cond=10.0))  # a poor initial inverse, as the averaged local ones
    pairs = [(s, A @ s) for s in rng.standard_normal((n_pairs, D))]
    memory = SecantPairs(size)
    for s, y in pairs:
        memory.add(s, y)
    kept = pairs[-size:] if size else []
    assert len(memory) == len(kept)

    g = rng.standard_normal(D)
    q, coefficients = memory.first_loop(g)
    direction = memory.second_loop(P @ q, coefficients)  # P applied once, as the shards do
    np.testing.assert_allclose(direction, explicit_inverse(P, kept) @ g, rtol=1e-10, atol=1e-12)


def test_the_update_learns_the_curvature_of_its_steps():
    """The newest secant equation holds, and pairs along A-conjugate steps make it A⁻¹.

    BFGS keeps every secant equation of A-conjugate steps (what CG-like
    steps on a quadratic give), so D of them turn any initial inverse into
    A⁻¹: the correction can repair P completely where the steps explore.
    """
    rng = np.random.default_rng(3)
    D = 6
    A = spd(rng, D)
    P = np.linalg.inv(spd(rng, D, cond=50.0))
    memory = SecantPairs(10)
    for s in rng.standard_normal((2, D)):
        memory.add(s, A @ s)
    q, coefficients = memory.first_loop(A @ s)
    np.testing.assert_allclose(memory.second_loop(P @ q, coefficients), s, rtol=1e-10)

    conjugate_steps = np.linalg.eigh(A)[1].T  # s_iᵀ A s_j = 0 for i ≠ j
    memory = SecantPairs(10)
    for s in conjugate_steps:
        memory.add(s, A @ s)
    g = rng.standard_normal(D)
    q, coefficients = memory.first_loop(g)
    np.testing.assert_allclose(memory.second_loop(P @ q, coefficients), np.linalg.solve(A, g), rtol=1e-8)


def test_pairs_without_positive_curvature_are_skipped():
    memory = SecantPairs(4)
    s = np.array([1.0, 0.0])
    memory.add(s, np.array([-1.0, 0.0]))  # yᵀs < 0
    memory.add(s, np.array([0.0, 1.0]))  # yᵀs = 0
    memory.add(s, np.array([1e-14, 1.0]))  # yᵀs ≈ 0 relative to ‖s‖‖y‖
    assert len(memory) == 0
    memory.add(s, np.array([2.0, 1.0]))
    assert len(memory) == 1
    g = np.array([1.0, 1.0])
    q, coefficients = memory.first_loop(g)
    np.testing.assert_allclose(memory.second_loop(q, coefficients), explicit_inverse(np.eye(2), [(s, [2.0, 1.0])]) @ g)


def test_oldest_pair_dropped_first():
    memory = SecantPairs(2)
    rng = np.random.default_rng(0)
    A = spd(rng, 4)
    pairs = [(s, A @ s) for s in rng.standard_normal((3, 4))]
    for s, y in pairs:
        memory.add(s, y)
    g = rng.standard_normal(4)
    q, coefficients = memory.first_loop(g)
    np.testing.assert_allclose(
        memory.second_loop(q, coefficients), explicit_inverse(np.eye(4), pairs[1:]) @ g, rtol=1e-10
    )
