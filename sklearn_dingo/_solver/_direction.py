"""DINGO's search direction (ALGORITHM.md §2, steps 1-5, and §7's case 4).

Round trip A brings every shard's local products to the driver
(:func:`round_a`); the direction is the first of the secant-corrected case 4
(when directions are corrected), case 1 and case 2 that passes the descent
test ``⟨p, Hg⟩ ≤ −θ‖g‖²``, or else case 3, built by the shards in round trip
B (:func:`choose_direction`).
"""

import math
from dataclasses import dataclass

import numpy as np

from .. import _shard
from ._rebalance import direction_spread
from ._state import StopReason

__all__ = ["CASE3_AIM", "Direction", "LocalProducts", "choose_direction", "round_a"]

# Case 3 builds each p_j to meet ⟨p_j, Hg⟩ = −aim·θ‖g‖² exactly (in exact
# arithmetic), and the case test asks for ≤ −θ‖g‖². Aiming at the threshold
# itself (aim = 1, the paper's choice) leaves the sign of the test to rounding:
# ⟨v_j, Hg⟩ is a sum of terms as large as ‖v_j‖‖Hg‖, which on ill-conditioned
# shards is 1e8 times θ‖g‖², and a direction built to pass landed 1e-8 relative
# on the wrong side (tests/test_dingo.py). Aiming at twice the threshold
# leaves a margin of θ‖g‖² that rounding cannot cross.
CASE3_AIM = 2.0


@dataclass(frozen=True)
class LocalProducts:
    """The π-averaged replies of round trip A.

    Attributes
    ----------
    Hg : ndarray of shape (D,)
        ``Σ π_j H_j g``.
    u : ndarray of shape (D,)
        ``Σ π_j H_j^† g`` (case 1 is −u).
    v : ndarray of shape (D,)
        ``Σ π_j (H_j² + φ²I)⁻¹ H_j g`` (case 2 is −v).
    spread : float
        δ of the shards' local Newton directions u_j (:func:`~._rebalance.direction_spread`).
    Pq : ndarray of shape (D,) or None
        ``Σ π_j H_j^† q`` for the secant-corrected direction (None: not corrected).
    secant_coefficients : list of float or None
        The first loop's coefficients of the secant pairs, for the second loop.
    """

    Hg: np.ndarray
    u: np.ndarray
    v: np.ndarray
    spread: float
    Pq: np.ndarray = None
    secant_coefficients: list = None


@dataclass(frozen=True)
class Direction:
    """A search direction that passed the descent test.

    Attributes
    ----------
    p : ndarray of shape (D,)
    case : int
        1-4, as the history's ``case`` column.
    slope : float
        ⟨p, Hg⟩.
    threshold : float
        −θ‖g‖², which ``slope`` does not exceed.
    """

    p: np.ndarray
    case: int
    slope: float
    threshold: float


def round_a(backend, objective, config, state, subproblem=None):
    """Round trip A: H_j g, H_j^† g, v_j (and H_j^† q for case 4) from every shard.

    The shards first take the pending step of the previous iteration. When
    directions are corrected and secant pairs exist, ``q`` of the two-loop
    recursion rides with g (no extra round). Records the first iteration's δ
    in ``state.disagreement`` and moves ``state.handles`` on.

    ``subproblem`` is the :class:`~sklearn_dingo._shard.SubproblemConfig` of
    this round (the iteration's local effort); None: ``config.subproblem``.

    Returns
    -------
    LocalProducts or StopReason
        The products, or why the run stops: non-finite products, or ``Hg``
        vanishing against ‖g‖ (a stationary point of ‖g‖² that is not a
        minimiser).
    """
    grad_norm2 = state.grad_norm2
    corrected = state.correct_directions and len(state.secants) > 0
    payload, coefficients = (state.g, state.pending_step_size), None
    if corrected:
        q, coefficients = state.secants.first_loop(state.g)
        payload += (q,)
    state.handles = backend.map(
        f"A-{state.iteration}", _shard.round_a, state.handles, *payload,
        objective=objective, subproblem=config.subproblem if subproblem is None else subproblem,
    )
    products, spread = backend.reduce_with_spread(state.handles, 1)
    if not all(np.all(np.isfinite(product)) for product in products):
        return StopReason.NON_FINITE
    # Rounding (float32 Hessians above all) leaks into the directions the
    # model cannot identify; the pseudo-inverse would amplify it there.
    products = [objective.identifiable(np, product) for product in products]
    Hg, u, v = products[:3]
    spread = direction_spread(spread, u)
    if state.iteration == 0:
        state.disagreement = spread
    if np.linalg.norm(Hg) <= 1e-12 * math.sqrt(grad_norm2):
        return StopReason.STATIONARY
    return LocalProducts(Hg, u, v, spread, products[3] if corrected else None, coefficients)


def choose_direction(backend, objective, config, state, local):
    """The direction of this iteration: case 4, 1, 2 or (round trip B) 3.

    Parameters
    ----------
    backend : ShardBackend
    objective : LinearObjective
    config : DingoConfig
    state : IterationState
        Its handles move on if round trip B runs.
    local : LocalProducts
        Round trip A's products.

    Returns
    -------
    Direction or StopReason
        The direction, or why none exists: :attr:`~StopReason.NON_FINITE`, or
        :attr:`~StopReason.NO_DESCENT` when even case 3 fails the test
        (rounding at this point; the caller may name the data's resolution).
    """
    threshold = -config.theta * state.grad_norm2
    p, case = None, None
    if local.Pq is not None:
        candidate = -state.secants.second_loop(local.Pq, local.secant_coefficients)
        if float(candidate @ local.Hg) <= threshold:
            p, case = candidate, 4
    if p is None:
        p, case = -local.u, 1
        if not float(p @ local.Hg) <= threshold:
            p, case = -local.v, 2
        if not float(p @ local.Hg) <= threshold:
            p, case = case3_direction(backend, objective, config, state, local.Hg), 3
    if not np.all(np.isfinite(p)):
        return StopReason.NON_FINITE
    slope = float(p @ local.Hg)
    if not slope <= threshold:
        return StopReason.NO_DESCENT
    return Direction(p, case, slope, threshold)


def case3_direction(backend, objective, config, state, Hg):
    """Round trip B: ``p = Σ π_j p_j``, each p_j built by its shard to pass the test.

    Every shard aims at ``⟨p_j, Hg⟩ = −CASE3_AIM·θ‖g‖²`` (:data:`CASE3_AIM`),
    from the v_j it kept from round trip A.
    """
    state.handles = backend.map(
        f"B-{state.iteration}", _shard.round_case3, state.handles, Hg, theta=CASE3_AIM * config.theta
    )
    (p,) = backend.reduce(state.handles)
    return objective.identifiable(np, p)
