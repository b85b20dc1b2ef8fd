"""The exact Newton step from the shards' aggregated Hessians (ALGORITHM.md §8).

Where D·K is small, each shard returns its local Hessian H_j instead of
DINGO's three vectors, and the driver solves ``(Σ π_j H_j) p = −g``: the
exact Newton step at w_t, whatever the layout of the rows (shards that
disagree cost nothing more). The step then goes through DINGO's line search
on ‖g‖² unchanged: with ``Hg = H g``, ``⟨p, Hg⟩ = −‖g‖²`` in exact arithmetic,
which passes the case test with room to spare. The history names it case 5.
"""

import math

import numpy as np
import scipy.linalg

from .. import _shard
from ._direction import Direction
from ._state import StopReason

__all__ = ["NEWTON_CASE", "newton_direction", "newton_solve", "unpacked_hessian"]

#: The history's ``case`` of an iteration that took the aggregated-Hessian Newton step.
NEWTON_CASE = 5


def unpacked_hessian(packed, n_params):
    """The symmetric D × D matrix whose upper triangle, row by row, is ``packed`` (as the shards send it)."""
    H = np.zeros((n_params, n_params))
    H[np.triu_indices(n_params)] = packed
    return H + np.triu(H, 1).T


def newton_solve(objective, H, g, rcond=None):
    """``p = −H^† g`` on the subspace the model identifies.

    ``H`` is symmetrised and restricted to that subspace (``P H P``); the
    directions it does not identify (softmax's class sums) are given unit
    curvature, which leaves the solution unchanged (g has no component
    there) and makes a positive definite H factorisable by Cholesky. A
    singular H (no penalty, ``C=inf``, with separable or collinear data)
    falls back to the pseudo-inverse of its eigendecomposition, cut off at
    ``rcond · max|λ|`` (default D times the machine epsilon, as
    ``scipy.linalg.pinvh``).
    """
    D = H.shape[0]
    H = objective.identifiable_hessian(0.5 * (H + H.T))
    eye = np.eye(D)
    complement = eye - objective.identifiable(np, eye)
    try:
        factor = scipy.linalg.cho_factor(H + complement, check_finite=False)
        return -objective.identifiable(np, scipy.linalg.cho_solve(factor, g, check_finite=False))
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        pass
    eigenvalues, Q = np.linalg.eigh(H)
    rcond = D * np.finfo(np.float64).eps if rcond is None else rcond
    kept = np.abs(eigenvalues) > rcond * np.max(np.abs(eigenvalues))
    inverse = np.where(kept, 1.0 / np.where(kept, eigenvalues, 1.0), 0.0)
    return -objective.identifiable(np, Q @ (inverse * (Q.T @ g)))


def newton_direction(backend, objective, config, state):
    """The step of a Newton iteration: a :class:`Direction` or a :class:`StopReason`.

    The Hessian at w_t is the one the previous iteration's search brought
    with its accepted unit step (``state.hessian``), or else comes from a
    round trip of its own: the shards take the pending step and return
    ``H_j`` (one broadcast of the step size, one reduce of D² numbers per
    shard), moving ``state.handles`` on.
    """
    H, state.hessian = state.hessian, None
    if H is None:
        state.handles = backend.map(
            f"H-{state.iteration}", _shard.round_hessian, state.handles, state.pending_step_size,
            objective=objective, subproblem=config.subproblem,
        )
        state.pending_step_size = 0.0
        (H,) = backend.reduce(state.handles)
    H = unpacked_hessian(H, objective.n_params)
    # Features of extreme scale (|x| ~ 1e150) overflow H g: the non-finite
    # result speaks (a stop reason), not NumPy's RuntimeWarnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if not np.all(np.isfinite(H)):
            return StopReason.NON_FINITE
        p = newton_solve(objective, H, state.g, config.subproblem.rcond)
        Hg = objective.identifiable(np, H @ state.g)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(Hg))):
        return StopReason.NON_FINITE
    if np.linalg.norm(Hg) <= 1e-12 * math.sqrt(state.grad_norm2):
        return StopReason.STATIONARY
    threshold = -config.theta * state.grad_norm2
    slope = float(p @ Hg)
    if not slope <= threshold:
        return StopReason.NO_DESCENT
    return Direction(p, NEWTON_CASE, slope, threshold)
