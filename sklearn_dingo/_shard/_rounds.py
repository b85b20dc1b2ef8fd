"""What one shard computes in each round (ALGORITHM.md §2).

Every function here is pure: ``round_*(shard, state, *payload, **static)``
returns ``(reply, new_state)``. ``payload`` is what the driver broadcasts in
that round (host NumPy arrays and floats, counted as communication);
``static`` is configuration fixed for the whole fit. ``reply`` is a tuple of
host NumPy arrays that the driver π-averages; ``new_state`` stays where the
shard lives (a Python object in-process, a future on a Dask worker) and is
handed to the shard's next round.

The state remembers what a later round needs, so that only small vectors
travel: the margins ``X̃ w`` (so a step updates them in O(n) instead of a pass
over X), the last search direction and its margins, and the sub-problem
solver at w_t (its eigendecomposition or cached curvature) together with
``v_j`` for case 3.
"""

import functools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._array_api import device, from_numpy, to_numpy
from ._subproblems import make_solver


@dataclass(frozen=True)
class ShardState:
    """What a shard keeps between rounds.

    Attributes
    ----------
    w : array of shape (D,)
        Current point w_t.
    eta : array of shape (n_j, K)
        Margins ``X̃ w_t``.
    direction, eta_direction : arrays of shape (D,) and (n_j, K), or None
        Last search direction p and ``X̃ p`` (set by the line search).
    solver : ExactSolver or KrylovSolver or None
        Local sub-problem solver at w_t (set in round A).
    damped_direction : array of shape (D,) or None
        v_j of round A, reused by case 3.
    grad_norm2 : float
        ‖g_t‖² as broadcast in round A.
    """

    w: Any
    eta: Any
    direction: Any = None
    eta_direction: Any = None
    solver: Any = None
    damped_direction: Any = None
    grad_norm2: float = float("nan")


def _quiet(round_function):
    """Run a round with floating-point warnings off: non-finite results speak instead.

    Features of extreme scale (|x| ~ 1e150) overflow squares in the local
    Hessians; what comes back is then non-finite, which the driver reports
    as its stop reason (and the estimator as a ConvergenceWarning) instead of
    NumPy's RuntimeWarnings from deep inside a shard.
    """

    @functools.wraps(round_function)
    def quiet_round(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return round_function(*args, **kwargs)

    return quiet_round


def _to_shard(shard, vector):
    return from_numpy(vector, shard.xp, like=shard.sample_weight)


def _host(*arrays):
    return tuple(to_numpy(a) for a in arrays)


def step_sizes(first, batch_size, max_steps):
    """Trial steps ``2^-k`` for ``k = first … min(first + batch_size, max_steps) − 1``."""
    return [2.0**-k for k in range(first, min(first + batch_size, max_steps))]


@_quiet
def initial_round(shard, state, *w0, objective):
    """Objective and gradient at the starting point (the fit's first reduce).

    ``w0`` is empty for the zero vector (nothing is broadcast): the reply is
    ``(f_j(0), ∇f_j(0))``. For the broadcast warm start it is
    ``(f_j(w0), ∇f_j(w0), ∇f_j(0))``: the gradient at zero, which does not
    depend on C, scales the resolution of the data's precision the same way
    wherever the fit starts (:class:`~sklearn_dingo._solver._resolution.Resolution`).
    """
    if not w0:
        w, eta = _zero_point(shard, objective)
        loss, grad = objective.loss_gradient(shard, w, eta)
        return (loss, to_numpy(grad)), ShardState(w=w, eta=eta)
    w = _to_shard(shard, w0[0])
    eta = objective.margins(shard.X, w)
    loss, grad = objective.loss_gradient(shard, w, eta)
    _, grad_at_zero = objective.loss_gradient(shard, *_zero_point(shard, objective))
    return (loss, to_numpy(grad), to_numpy(grad_at_zero)), ShardState(w=w, eta=eta)


@_quiet
def place_point(shard, state, w, *, objective):
    """Take the current point on shards that were just rebalanced: margins only, no reply.

    The global gradient does not depend on how rows are split, so the driver
    already has it; the shard only needs ``X̃ w`` for its next round A.
    """
    w = _to_shard(shard, w)
    return (), ShardState(w=w, eta=objective.margins(shard.X, w))


def _zero_point(shard, objective):
    """``w = 0`` and its margins, in the shard's namespace and precision."""
    xp = shard.xp
    on = device(shard.sample_weight)
    w = xp.zeros(objective.n_params, dtype=shard.sample_weight.dtype, device=on)
    return w, xp.zeros((shard.n_samples, objective.n_outputs), dtype=w.dtype, device=on)


def _stepped(state, step):
    """``(w, X̃w)`` after the pending step ``step`` along the stored direction (none if 0)."""
    if not step:
        return state.w, state.eta
    return state.w + step * state.direction, state.eta + step * state.eta_direction


@_quiet
def round_a(shard, state, grad, step, *corrected, objective, subproblem):
    """Round trip A: take the accepted step, then return ``(H_j g, H_j^† g, v_j)``.

    Parameters
    ----------
    grad : ndarray of shape (D,)
        g_t, the averaged gradient at w_t.
    step : float
        The step size α accepted by the last line search (0 on the first
        iteration): the shard moves ``w ← w + α p`` and ``X̃w ← X̃w + α X̃p``
        itself, so w never has to be broadcast.
    *corrected : ndarray of shape (D,)
        The vector q of the driver's secant correction
        (:class:`~sklearn_dingo._secant.SecantPairs`), if any: the reply then
        also carries ``H_j^† q``, from the same factorisation.
    objective : LinearObjective
    subproblem : SubproblemConfig
    """
    w, eta = _stepped(state, step)
    g = _to_shard(shard, grad)
    curvature = objective.curvature(shard, eta)
    solver = make_solver(objective, shard, curvature, subproblem)
    h, u, v = solver.round_a_products(g)
    extra = tuple(solver.pinv(_to_shard(shard, q)) for q in corrected)
    new_state = ShardState(
        w=w,
        eta=eta,
        solver=solver,
        damped_direction=v,
        grad_norm2=float(g @ g),
    )
    return _host(h, u, v, *extra), new_state


@_quiet
def round_hessian(shard, state, step, *, objective, subproblem):
    """Round trip A of a Newton iteration: take the accepted step, then return the local Hessian H_j.

    The driver sums the shards' ``π_j H_j`` into the Hessian of f and takes
    the exact Newton step (ALGORITHM.md §8): the D(D+1)/2 numbers of H_j's
    upper triangle per shard instead of DINGO's three vectors, and no local
    solve. The Gram blocks are made in
    the precision ``subproblem`` gives the exact solver
    (:meth:`SubproblemConfig.single_precision`).

    Parameters
    ----------
    step : float
        The step size accepted by the last line search, as in :func:`round_a`.
    objective : LinearObjective
    subproblem : SubproblemConfig
    """
    w, eta = _stepped(state, step)
    return (_local_hessian(shard, eta, objective, subproblem),), ShardState(w=w, eta=eta)


def _local_hessian(shard, eta, objective, subproblem):
    """The upper triangle of H_j, row by row, on the host: D(D+1)/2 numbers (H_j is symmetric)."""
    curvature = objective.curvature(shard, eta)
    H = to_numpy(objective.hessian(shard, curvature, single_precision=subproblem.single_precision(shard, "exact")))
    return H[np.triu_indices(H.shape[0])]


@_quiet
def round_case3(shard, state, hess_grad, *, theta):
    """Round trip B (case 3): the shard's direction p_j with ⟨p_j, Hg⟩ ≤ −θ‖g‖².

    ``p_j = −v_j`` when that already suffices; otherwise
    ``p_j = −v_j − λ_j q_j`` with ``q_j = (H_j² + φ²I)⁻¹ Hg`` and
    ``λ_j = (θ‖g‖² − ⟨v_j, Hg⟩) / ⟨Hg, q_j⟩``, which makes the inequality an
    equality. A non-finite λ_j yields a non-finite p_j, which the driver
    reports as its stop reason.
    """
    Hg = _to_shard(shard, hess_grad)
    v = state.damped_direction
    target = theta * state.grad_norm2
    v_hg = float(v @ Hg)
    if v_hg >= target:
        return _host(-v), state
    q = state.solver.damped_normal(Hg)
    lam = (target - v_hg) / float(Hg @ q)
    return _host(-v - lam * q), state


@_quiet
def round_line_search(shard, state, direction, *, objective, batch_size, max_steps):
    """Round trip C: loss and gradient at the first batch of trial steps along p.

    Computes ``X̃ p`` in the same pass as the trial gradients and keeps p and
    ``X̃ p`` for the later batches and for the next round A.
    """
    p = _to_shard(shard, direction)
    reply, eta_p = _trial_batch(shard, state, p, None, 0, objective, batch_size, max_steps)
    return reply, replace(state, direction=p, eta_direction=eta_p)


@_quiet
def round_newton_search(shard, state, step, direction, *, objective, batch_size, max_steps, subproblem):
    """Round trip C of a Newton iteration, which also brings the next one's local Hessian.

    The shard takes the pending step (Newton iterations have no round trip A
    to take it), evaluates the first batch of trial steps along p as
    :func:`round_line_search`, and returns the local Hessian at the first
    trial point, ``w + p``: when the driver accepts the unit step (Newton's
    usually), the next iteration needs no round trip of its own to learn
    its Hessian (ALGORITHM.md §8). Reply: ``(losses, gradients, H_j)``.
    """
    w, eta = _stepped(state, step)
    state = replace(state, w=w, eta=eta, solver=None, damped_direction=None)
    p = _to_shard(shard, direction)
    reply, eta_p = _trial_batch(shard, state, p, None, 0, objective, batch_size, max_steps)
    unit = step_sizes(0, batch_size, max_steps)[0]
    H = _local_hessian(shard, eta + unit * eta_p, objective, subproblem)
    return (*reply, H), replace(state, direction=p, eta_direction=eta_p)


@_quiet
def round_line_search_more(shard, state, first, *, objective, batch_size, max_steps):
    """Another line-search batch, starting at trial ``first`` (only k is broadcast)."""
    reply, _ = _trial_batch(
        shard, state, state.direction, state.eta_direction, int(first), objective, batch_size, max_steps
    )
    return reply, state


def _trial_batch(shard, state, p, eta_p, first, objective, batch_size, max_steps):
    alphas = _to_shard(shard, np.asarray(step_sizes(first, batch_size, max_steps)))
    losses, grads, eta_p = objective.loss_gradient_batch(shard, state.w, state.eta, p, eta_p, alphas)
    return _host(losses, grads), eta_p
