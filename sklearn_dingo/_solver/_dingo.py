"""The DINGO loop (ALGORITHM.md §2) on flat parameter vectors.

The driver knows neither scikit-learn nor where the shards live: it talks to
them only through a :class:`~sklearn_dingo._backends.ShardBackend`, sending
small vectors and receiving π-weighted sums. It is an explicit iteration
state (:class:`~._state.IterationState`) and named steps, in the order of
ALGORITHM.md §2: the stop test (:func:`stop_test`), round trip A
(:func:`~._direction.round_a`), the direction of case 4, 1, 2 or, through
round trip B, 3 (:func:`~._direction.choose_direction`), the batched line
search on ‖g‖² (:func:`~._line_search.line_search`, round trip C), the
update (:func:`update`), and the record (:class:`~._history.HistoryRecorder`).
:class:`~._resolution.Resolution` ends a run that has resolved the gradient as
far as the data's precision allows.

Two additions keep the rounds few when the shards disagree (rows sorted by
label, time or a feature; ALGORITHM.md §6-§7), and change nothing when they
agree. Round trip A measures the disagreement δ of the shards' local Newton
directions (:mod:`._rebalance`). Once an iteration shows them disagreeing
(:func:`rebalance_or_correct`), the backend rebalances the rows of its shards
if ``rebalance`` allows it and the move pays
(:func:`~._rebalance.should_rebalance`, which also decides the move at the
start of a fit, :func:`start`); otherwise the driver tries first a
secant-corrected case-1 direction (:mod:`._secant`, "case 4" in the history),
which costs no extra round, with cases 1-3 as the fallback.

Before every iteration the prices measured so far (:mod:`._prices`: the
seconds of a round and of a pass over a shard) set its local effort (the
Krylov solves' cap and tolerance, the line search's batch) and whether it
takes the exact Newton step from the shards' aggregated Hessians
(:mod:`._newton`, "case 5") instead of DINGO's cases (ALGORITHM.md §8).
"""

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from .. import _shard
from ._direction import CASE3_AIM, choose_direction, round_a
from ._history import HISTORY_COLUMNS, HistoryRecorder
from ._line_search import line_search
from ._newton import NEWTON_CASE, newton_direction
from ._prices import (
    LocalEffort,
    check_aggregate_hessian,
    choose_effort,
    measured_prices,
    newton_pays,
    next_boost,
)
from ._rebalance import remaining_fraction, shards_disagree, should_rebalance
from ._resolution import Resolution
from ._secant import SecantPairs
from ._state import DingoConfig, DingoResult, IterationState, RoundClock, StopReason

__all__ = ["CASE3_AIM", "HISTORY_COLUMNS", "NEWTON_CASE", "DingoConfig", "DingoResult", "StopReason", "dingo"]

logger = logging.getLogger(__name__)


def dingo(backend, objective, config, w0=None, callback=None):
    """Minimise ``f = Σ_j π_j f_j`` over the backend's shards with DINGO.

    Parameters
    ----------
    backend : ShardBackend
        Where the shards live; all communication goes through it.
    objective : LinearObjective
        The per-shard objective (passed to the shards as configuration).
    config : DingoConfig
    w0 : ndarray of shape (D,) or None
        Starting point; None is zero (no broadcast needed).
    callback : callable or None
        Called as ``callback(record)`` after every iteration with that
        iteration's history row (a dict), and the point reached under the
        key ``"w"``. A true return value stops the run
        (:attr:`StopReason.CALLBACK`).

    Returns
    -------
    DingoResult

    Raises
    ------
    ValueError
        If ``config.aggregate_hessian`` is True for a model whose D × D
        Hessian would not fit in memory.
    """
    check_aggregate_hessian(config, objective.n_params)
    history = HistoryRecorder(backend)
    state, scale = start(backend, objective, config, w0)
    history.record(state)
    resolution = Resolution(config.data_epsilon, scale)
    while (reason := stop_test(state, backend, config)) is None:
        # The local effort and the kind of step this iteration's prices buy (§8).
        plan = plan_iteration(backend, objective, config, state)
        # Steps 1-5: round trip A and the direction (Newton's, or case 4, 1, 2, 3).
        direction, spread = search_direction(backend, objective, config, state, plan)
        if isinstance(direction, StopReason):
            reason = resolution.failure(direction, state.grad_norm2)
            break
        # Step 6, round trip C: batches of trial steps until one passes.
        accepted = line_search(
            backend, objective, config, state, direction, plan.effort.line_search_batch,
            newton=config.subproblem if plan.newton else None,
        )
        if accepted is None:
            reason = resolution.failure(StopReason.LINE_SEARCH_FAILED, state.grad_norm2)
            break
        # Step 7: the update, with g_{t+1} from the line search; then §7.
        contraction = update(state, direction, accepted)
        stalled = resolution.stalled(contraction, state.grad_norm)
        if not plan.newton:
            state.effort_boost = next_boost(state.effort_boost, contraction)
            rebalance_or_correct(backend, objective, config, state, spread, contraction, history.initial_grad_norm)
        row = history.record(state, direction, accepted, spread, plan)
        if callback is not None and callback({**row, "w": state.w}):
            reason = StopReason.CALLBACK
            break
        if stalled:
            reason = StopReason.RESOLUTION
            break
    return finish(state, history, backend, reason)


@dataclass(frozen=True)
class IterationPlan:
    """What the prices buy for one iteration (:mod:`._prices`).

    Attributes
    ----------
    effort : LocalEffort
        Lanczos cap and tolerance of round trip A, and the line search's batch.
    newton : bool
        Whether the iteration takes the aggregated-Hessian Newton step
        instead of DINGO's (:mod:`._newton`).
    """

    effort: LocalEffort
    newton: bool


def plan_iteration(backend, objective, config, state):
    """The :class:`IterationPlan` of the next iteration, from the prices measured so far."""
    prices = measured_prices(backend.round_log, free_rounds=backend.free_rounds)
    effort = choose_effort(prices, config, state.forcing.update(state.grad_norm), state.effort_boost)
    rows = backend.shard_rows
    newton = newton_pays(
        prices,
        config,
        n_params=objective.n_params,
        n_outputs=objective.n_outputs,
        n_rows=objective.n_rows,
        shard_rows=max(rows) if rows else None,
        n_shards=backend.n_shards,
        bytes_per_second=backend.bytes_per_second,
        lanczos_steps=effort.lanczos_steps,
        shards_disagree=state.correct_directions,
    )
    return IterationPlan(effort, newton)


def search_direction(backend, objective, config, state, plan):
    """Round trip A and the iteration's direction: ``(Direction or StopReason, spread)``.

    Newton's step from the aggregated Hessian (its spread is NaN: the
    shards' own directions are never made), or DINGO's cases with round
    trip A at the plan's local effort.
    """
    if plan.newton:
        return newton_direction(backend, objective, config, state), math.nan
    state.hessian = None  # brought by a Newton search, at a point the shards are about to leave
    subproblem = replace(config.subproblem, effort_max_iter=plan.effort.lanczos_steps, rtol=plan.effort.rtol)
    local = round_a(backend, objective, config, state, subproblem)
    if isinstance(local, StopReason):
        return local, math.nan
    return choose_direction(backend, objective, config, state, local), local.spread


def start(backend, objective, config, w0):
    """Setup: rebalance the rows if decided now, then f(w_0) and g_0 in one reduce.

    A warm start (``w0`` not None) costs one broadcast of w_0 before it, and
    its reduce also brings ∇f(0) (D more floats per shard).

    Returns
    -------
    IterationState
        At iteration 0, its clock started after these rounds.
    float
        ‖∇f(0)‖, the scale of the resolution (:class:`~._resolution.Resolution`):
        a property of the problem, not of the start, so that a warm start
        that is already at the resolution recognises it. A cold start's ‖g_0‖.
    """
    rebalanced = should_rebalance(config.rebalance, backend.rebalance_cost())
    if rebalanced:
        backend.rebalance_rows()
    if w0 is None:
        w = np.zeros(objective.n_params)
        handles = backend.map("initial", _shard.initial_round, None, objective=objective)
    else:
        # A start outside the identifiable subspace only costs penalty (ALGORITHM.md §1).
        w = objective.identifiable(np, np.asarray(w0, dtype=np.float64))
        handles = backend.map("initial", _shard.initial_round, None, w, objective=objective)
    loss, g, *at_zero = backend.reduce(handles)
    g = objective.identifiable(np, g)
    scale = float(np.linalg.norm(objective.identifiable(np, at_zero[0]) if at_zero else g))
    state = IterationState(
        w=w,
        g=g,
        loss=float(loss),
        handles=handles,
        secants=SecantPairs(config.secant_memory),
        clock=RoundClock.now(backend),
        rebalanced=rebalanced,
    )
    return state, scale


def stop_test(state, backend, config):
    """The stopping rules tested before an iteration starts: a :class:`StopReason`, or None to go on.

    An iteration starts only if its cheapest form fits the round budget: 4
    rounds, or 2 for a Newton iteration whose Hessian is already known.
    """
    if math.sqrt(state.grad_norm2) <= config.tol:
        return StopReason.CONVERGED
    if state.iteration >= config.max_iter:
        return StopReason.MAX_ITER
    if backend.rounds + (2 if state.hessian is not None else 4) > config.max_rounds:
        return StopReason.MAX_ROUNDS
    return None


def update(state, direction, accepted):
    """Step 7: ``w_{t+1} = w_t + α p`` with the line search's f and g there.

    Remembers the secant pair ``(α p, g_{t+1} − g_t)``; the shards take the
    step at the start of the next round trip A.

    Returns
    -------
    float
        The contraction ``‖g_{t+1}‖ / ‖g_t‖``.
    """
    step_size = accepted.step_size
    state.secants.add(step_size * direction.p, accepted.g - state.g)
    contraction = float(np.linalg.norm(accepted.g)) / math.sqrt(state.grad_norm2)
    state.w, state.g, state.loss = state.w + step_size * direction.p, accepted.g, accepted.loss
    state.hessian = accepted.hessian
    state.iteration += 1
    state.pending_step_size = step_size
    return contraction


def rebalance_or_correct(backend, objective, config, state, spread, contraction, initial_grad_norm):
    """After an iteration that shows the shards disagree: rebalance the rows, or correct directions.

    Asked once: rebalanced shards, and shards whose directions are already
    corrected, are left as they are. :func:`~._rebalance.should_rebalance`
    decides at this fit's measured seconds per round; the new shards take
    the current point (one broadcast) and the gradient is the one already
    known.

    Parameters
    ----------
    spread : float
        δ of the iteration's round trip A.
    contraction : float
        ``‖g_{t+1}‖ / ‖g_t‖`` of the iteration.
    initial_grad_norm : float
        ‖g_0‖, to estimate the part of the fit still ahead.
    """
    if state.correct_directions or backend.rows_rebalanced or not shards_disagree(spread, contraction):
        return
    seconds_per_round = state.clock.seconds_per_round(backend)
    remaining = remaining_fraction(state.grad_norm, initial_grad_norm, config.tol)
    if should_rebalance(config.rebalance, backend.rebalance_cost(), seconds_per_round, remaining):
        logger.info("DINGO: shards disagree (direction spread %.3g); rebalancing their rows", spread)
        backend.rebalance_rows()
        state.handles = backend.map("place", _shard.place_point, None, state.w, objective=objective)
        state.pending_step_size, state.rebalanced = 0.0, True
    else:
        state.correct_directions = True


def finish(state, history, backend, reason):
    """The :class:`DingoResult` of a run that ended for ``reason``."""
    return DingoResult(
        w=state.w,
        loss=state.loss,
        grad_norm=state.grad_norm,
        n_iter=state.iteration,
        stop_reason=reason,
        history=history.columns(),
        rounds=backend.rounds,
        bytes_down=backend.bytes_down,
        bytes_up=backend.bytes_up,
        bytes_moved=backend.bytes_moved,
        disagreement=state.disagreement,
        rebalanced=state.rebalanced,
    )
