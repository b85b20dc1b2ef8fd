"""The line search of DINGO on ‖∇f‖² (ALGORITHM.md §2, step 6).

:func:`first_accepted` is the pure decision on one batch of trial steps;
:func:`line_search` runs round trip C, one batch after another, until a
trial passes or the ``max_steps`` trials are spent.
"""

from dataclasses import dataclass

import numpy as np

from .. import _shard

__all__ = ["AcceptedStep", "first_accepted", "line_search"]


@dataclass(frozen=True)
class AcceptedStep:
    """The trial step the line search accepted.

    Attributes
    ----------
    step_size : float
        α, a power of two.
    loss : float
        f(w_t + αp).
    g : ndarray of shape (D,)
        ∇f(w_t + αp), the next iteration's gradient (no extra round).
    trials : int
        Trial steps evaluated up to and including the accepted one.
    hessian : ndarray of shape (D(D+1)/2,) or None
        The upper triangle of the Hessian of f at the accepted point (row by
        row), when a Newton search brought it (the unit step accepted), else None.
    """

    step_size: float
    loss: float
    g: np.ndarray
    trials: int
    hessian: np.ndarray = None


def first_accepted(trial_grad_norms2, step_sizes, grad_norm2, slope, rho):
    """Index of the largest step that passes the sufficient-decrease test, or None.

    A step α passes when ``‖∇f(w + αp)‖² ≤ ‖g‖² + 2αρ⟨p, Hg⟩``; non-finite
    trial values fail. ``step_sizes`` are in decreasing order, so the first
    pass is the largest step.

    Parameters
    ----------
    trial_grad_norms2 : array of shape (B,)
        Squared gradient norms at the trial points.
    step_sizes : sequence of B floats
        The trial step sizes α, decreasing.
    grad_norm2 : float
        ‖g_t‖².
    slope : float
        ⟨p, Hg⟩, negative for a descent direction of ‖g‖².
    rho : float
        Armijo parameter ρ.
    """
    step_sizes = np.asarray(step_sizes, dtype=np.float64)
    values = np.asarray(trial_grad_norms2, dtype=np.float64)
    bound = grad_norm2 + 2.0 * step_sizes * rho * slope
    passing = np.isfinite(values) & (values <= bound)
    hits = np.flatnonzero(passing)
    return int(hits[0]) if hits.size else None


def line_search(backend, objective, config, state, direction, batch_size=None, *, newton=None):
    """Round trip C: batches of trial steps ``2^-k`` along ``direction.p`` until one passes.

    The first batch sends p; each further batch (another round trip) sends
    only the index of its first trial. Moves ``state.handles`` on.

    Parameters
    ----------
    backend : ShardBackend
    objective : LinearObjective
    config : DingoConfig
        ``line_search_batch`` (B), ``max_steps`` and ``rho``.
    state : IterationState
    direction : Direction
    batch_size : int or None
        B of this search (the iteration's local effort); None: ``config.line_search_batch``.
    newton : SubproblemConfig or None
        A Newton iteration's search (:func:`~sklearn_dingo._shard.round_newton_search`):
        its first round trip also takes the pending step and brings the
        Hessian at the unit step, in this precision. None: DINGO's.

    Returns
    -------
    AcceptedStep or None
        None when none of the ``max_steps`` trials passes.
    """
    batch_size = config.line_search_batch if batch_size is None else int(batch_size)
    search = dict(objective=objective, batch_size=batch_size, max_steps=config.max_steps)
    grad_norm2 = state.grad_norm2
    first = 0
    while first < config.max_steps:
        if first == 0 and newton is not None:
            state.handles = backend.map(
                f"C-{state.iteration}", _shard.round_newton_search, state.handles, state.pending_step_size,
                direction.p, **search, subproblem=newton,
            )
            state.pending_step_size = 0.0
        elif first == 0:
            state.handles = backend.map(
                f"C-{state.iteration}", _shard.round_line_search, state.handles, direction.p, **search
            )
        else:
            state.handles = backend.map(
                f"C-{state.iteration}-{first}", _shard.round_line_search_more, state.handles, float(first), **search
            )
        losses, grads, *hessian = backend.reduce(state.handles)
        step_sizes = _shard.step_sizes(first, batch_size, config.max_steps)
        k = first_accepted(np.sum(grads * grads, axis=1), step_sizes, grad_norm2, direction.slope, config.rho)
        if k is not None:
            at_unit_step = hessian[0] if hessian and k == 0 else None
            g = objective.identifiable(np, grads[k])
            return AcceptedStep(step_sizes[k], float(losses[k]), g, first + k + 1, at_unit_step)
        first += len(step_sizes)
    return None
