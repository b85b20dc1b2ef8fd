"""The DINGO loop (ALGORITHM.md §2) on flat parameter vectors.

The driver knows neither scikit-learn nor where the shards live: it talks to
them only through a :class:`~sklearn_dingo._backends.ShardBackend`, sending
small vectors and receiving π-weighted sums. Each iteration is an ordered
template: round trip A (local products), the case test (1, 2, or round trip B
for case 3), the batched line search on ‖g‖² (round trip C, more batches if
needed), the update, the record.

Two additions keep the rounds few when the shards disagree (rows sorted by
label, time or a feature; ALGORITHM.md §6), and change nothing when they
agree. Round trip A measures the disagreement δ of the shards' local Newton
directions (:mod:`._mixing`). Once δ exceeds its threshold, the driver tries
first a secant-corrected case-1 direction (:mod:`._secant`, "case 4" in the
history), which costs no extra round, with cases 1-3 as the fallback. And
with ``rebalance`` allowing it, the backend mixes the rows of its shards once
(at the start, or after the first iteration when that pays).
"""

import enum
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _shard
from ._line_search import first_accepted
from ._rebalance import direction_spread, remaining_fraction, shards_disagree, should_mix
from ._secant import SecantPairs
from .._shard import SubproblemConfig

logger = logging.getLogger(__name__)

# Case 3 builds each p_j to meet ⟨p_j, Hg⟩ = −aim·θ‖g‖² exactly (in exact
# arithmetic), and the case test asks for ≤ −θ‖g‖². Aiming at the threshold
# itself (aim = 1, the paper's choice) leaves the sign of the test to rounding:
# ⟨v_j, Hg⟩ is a sum of terms as large as ‖v_j‖‖Hg‖, which on ill-conditioned
# shards is 1e8 times θ‖g‖², and a direction built to pass landed 1e-8 relative
# on the wrong side (tests/test_driver.py). Aiming at twice the threshold
# leaves a margin of θ‖g‖² that rounding cannot cross.
CASE3_AIM = 2.0

# The gradient is resolved only as far as the data's precision allows: with
# float32 data its products carry rounding of about 1e-7 relative, and the
# fitted coefficients are stored in float32. Once there, the line search
# still accepts steps, but each shrinks ‖g‖ by a hair (measured: ‖g_{t+1}‖/‖g_t‖
# of 0.996-1.0 for tens of iterations on breast cancer, digits and a
# 50,000 x 50 problem in float32, after quadratic convergence to
# 1e-9-1e-6). The run stops there when an iteration shrinks ‖g‖ by less than
# RESOLUTION_STALL and ‖g‖ is below sqrt(eps) of the start's (3.5e-4 in
# float32, 1.5e-8 in float64): far below where DINGO's steps are short for
# any other reason. A line search or descent test failing down there ends
# it for the same reason.
RESOLUTION_STALL = 0.99
# Closer to the rounding itself, within ROUNDING_FLOOR·eps of the starting
# gradient norm, the tail crept: after Newton-like contractions (0.003-0.05),
# ‖g_{t+1}‖/‖g_t‖ of 0.5-0.95 for 5-10 iterations, while the gradient
# recomputed in float64 at those points no longer decreased (breast cancer
# in float32: reported 7.5e-10, float64 5.6e-9). A contraction above
# ROUNDING_STALL there is rounding, not progress.
ROUNDING_FLOOR = 16.0
ROUNDING_STALL = 0.5

#: Columns of the per-iteration history, in order.
HISTORY_COLUMNS = (
    "iteration",
    "rounds",
    "bytes_down",
    "bytes_up",
    "bytes_moved",
    "case",
    "step_size",
    "direction_norm",
    "direction_spread",
    "descent_ratio",
    "line_search_trials",
    "loss",
    "grad_norm",
    "time",
)


class StopReason(str, enum.Enum):
    """Why a DINGO run ended."""

    CONVERGED = "gradient norm reached tol"
    MAX_ITER = "iteration budget (max_iter) exhausted"
    MAX_ROUNDS = "communication round budget (max_rounds) exhausted"
    LINE_SEARCH_FAILED = "line search failed: no trial step decreased the gradient norm enough"
    STATIONARY = (
        "reached a stationary point of the gradient norm that is not a minimiser "
        "(H g vanishes, typically saturated margins)"
    )
    NON_FINITE = (
        "the search direction became non-finite (features of extreme scale overflow "
        "the local Hessians: standardise X, e.g. with StandardScaler)"
    )
    NO_DESCENT = (
        "no direction passed the descent test <p, Hg> <= -theta |g|^2 "
        "(rounding dominates the local solves at this point)"
    )
    CALLBACK = "a callback requested to stop"
    RESOLUTION = (
        "the gradient norm stopped decreasing at the resolution of the data's "
        "floating-point precision"
    )

    def __str__(self):
        return self.value


@dataclass(frozen=True)
class DingoConfig:
    """Immutable settings of one DINGO run.

    Parameters
    ----------
    tol : float
        Stop when ‖∇f(w)‖ ≤ tol.
    max_iter : int
        Iteration budget.
    max_rounds : float
        Communication-round budget (§4 counting); an iteration is started only
        if its cheapest form (4 rounds) fits.
    theta : float
        θ of the case tests ⟨p, Hg⟩ ≤ −θ‖g‖².
    rho : float
        ρ of the sufficient-decrease test.
    line_search_batch : int
        Trial steps evaluated per line-search round trip (B).
    max_steps : int
        Trial steps 2^0 … 2^-(max_steps-1) before the search fails.
    subproblem : SubproblemConfig
        How shards solve their sub-problems, φ included.
    rebalance : {"auto", True, False}
        Whether the backend mixes the rows of its shards: ``True`` before the
        first round (if it can), ``"auto"`` after the first iteration when the
        shards disagree and the move pays (:func:`~._mixing.should_mix`),
        ``False`` never.
    secant_memory : int
        Secant pairs kept for the corrected direction of disagreeing shards
        (0: never correct).
    data_epsilon : float
        Machine epsilon of the data's precision (float32: 1.2e-7): below
        ``sqrt(data_epsilon)`` times the starting gradient norm, an iteration
        that barely shrinks ‖g‖ ends the run (:attr:`StopReason.RESOLUTION`).
    """

    tol: float = 1e-6
    max_iter: int = 100
    max_rounds: float = math.inf
    theta: float = 1e-4
    rho: float = 1e-4
    line_search_batch: int = 4
    max_steps: int = 50
    subproblem: SubproblemConfig = field(default_factory=SubproblemConfig)
    rebalance: object = "auto"
    secant_memory: int = 50
    data_epsilon: float = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class DingoResult:
    """Outcome of a DINGO run.

    Attributes
    ----------
    w : ndarray of shape (D,)
        Last accepted point (the best reached: ‖g‖ decreases strictly).
    loss, grad_norm : float
        Objective and gradient norm at ``w``.
    n_iter : int
        Completed iterations.
    stop_reason : StopReason
    history : dict of str to ndarray
        One entry per column of :data:`HISTORY_COLUMNS`; row 0 is the
        starting point, row t the state after iteration t.
    rounds, bytes_down, bytes_up : int
        Communication totals (ALGORITHM.md §4), a move of rows included.
    bytes_moved : int
        Bytes of data rows moved (or copied) to mix the shards.
    disagreement : float
        δ of the shards as first built, measured in the first round trip A
        (NaN if no iteration ran).
    mixed : bool
        Whether the rows were mixed during the run.
    """

    w: np.ndarray
    loss: float
    grad_norm: float
    n_iter: int
    stop_reason: StopReason
    history: dict
    rounds: int
    bytes_down: int
    bytes_up: int
    bytes_moved: int = 0
    disagreement: float = math.nan
    mixed: bool = False

    @property
    def converged(self):
        """Whether ‖g‖ reached tol, or the resolution of the data's precision."""
        return self.stop_reason in (StopReason.CONVERGED, StopReason.RESOLUTION)

    @property
    def stopped_by_callback(self):
        return self.stop_reason is StopReason.CALLBACK


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
    """
    start_time = time.perf_counter()
    subproblem = config.subproblem
    search = dict(objective=objective, batch_size=config.line_search_batch, max_steps=config.max_steps)

    mixed = config.rebalance is True and backend.mixing_cost() is not None
    if mixed:
        backend.mix_rows()
    if w0 is None:
        w = np.zeros(objective.n_params)
        handles = backend.map("initial", _shard.initial_round, None, objective=objective)
    else:
        # A start outside the identifiable subspace only costs penalty (ALGORITHM.md §1).
        w = objective.identifiable(np, np.asarray(w0, dtype=np.float64))
        handles = backend.map("initial", _shard.initial_round, None, w, objective=objective)
    loss, g = backend.reduce(handles)
    loss, g = float(loss), objective.identifiable(np, g)

    rows = []

    def record(iteration, case, step, direction_norm, spread, descent_ratio=math.nan, trials=0):
        row = dict(
            iteration=iteration,
            rounds=backend.rounds,
            bytes_down=backend.bytes_down,
            bytes_up=backend.bytes_up,
            bytes_moved=backend.bytes_moved,
            case=case,
            step_size=step,
            direction_norm=direction_norm,
            direction_spread=spread,
            descent_ratio=descent_ratio,
            line_search_trials=trials,
            loss=loss,
            grad_norm=float(np.linalg.norm(g)),
            time=time.perf_counter() - start_time,
        )
        rows.append(row)
        logger.debug("DINGO %s", row)
        return row

    record(0, 0, 0.0, 0.0, math.nan)
    resolution = math.sqrt(config.data_epsilon) * rows[0]["grad_norm"]
    rounding_floor = ROUNDING_FLOOR * config.data_epsilon * rows[0]["grad_norm"]

    def within_resolution(grad_norm2):
        """Whether ‖g‖ is where rounding of the data's precision may stall the run."""
        return math.sqrt(grad_norm2) <= resolution
    secants = SecantPairs(config.secant_memory)
    disagreement = math.nan
    # Once unmixed shards are seen to disagree, directions are corrected. Mixed
    # shards never are: they differ as random samples do, and their spread
    # and a slow step say nothing more (ALGORITHM.md §7).
    correcting = False
    pending_step = 0.0  # the accepted step the shards take at the start of round A
    iteration = 0
    while True:
        grad_norm2 = float(g @ g)
        if math.sqrt(grad_norm2) <= config.tol:
            reason = StopReason.CONVERGED
            break
        if iteration >= config.max_iter:
            reason = StopReason.MAX_ITER
            break
        if backend.rounds + 4 > config.max_rounds:
            reason = StopReason.MAX_ROUNDS
            break
        if iteration == 0:
            first_iteration = (time.perf_counter(), backend.rounds)

        # Round trip A: H_j g, H_j^† g, v_j (and H_j^† q for the correction) from every shard.
        corrected = correcting and len(secants) > 0
        payload = (g, pending_step)
        if corrected:
            q, alphas = secants.first_loop(g)
            payload += (q,)
        handles = backend.map(
            f"A-{iteration}", _shard.round_a, handles, *payload, objective=objective, subproblem=subproblem
        )
        products, spread = backend.reduce_with_spread(handles, 1)
        if not all(np.all(np.isfinite(product)) for product in products):
            reason = StopReason.NON_FINITE
            break
        # Rounding (float32 Hessians above all) leaks into the directions the
        # model cannot identify; the pseudo-inverse would amplify it there.
        products = [objective.identifiable(np, product) for product in products]
        Hg, u, v = products[:3]
        spread = direction_spread(spread, u)
        if iteration == 0:
            disagreement = spread
        if np.linalg.norm(Hg) <= 1e-12 * math.sqrt(grad_norm2):
            reason = StopReason.STATIONARY
            break

        threshold = -config.theta * grad_norm2
        p, case = None, None
        if corrected:
            candidate = -secants.second_loop(products[3], alphas)
            if float(candidate @ Hg) <= threshold:
                p, case = candidate, 4
        if p is None:
            p, case = -u, 1
            if not float(p @ Hg) <= threshold:
                p, case = -v, 2
            if not float(p @ Hg) <= threshold:
                case = 3
                handles = backend.map(
                    f"B-{iteration}", _shard.round_case3, handles, Hg, theta=CASE3_AIM * config.theta
                )
                (p,) = backend.reduce(handles)
                p = objective.identifiable(np, p)
        if not np.all(np.isfinite(p)):
            reason = StopReason.NON_FINITE
            break
        slope = float(p @ Hg)
        if not slope <= threshold:
            reason = StopReason.RESOLUTION if within_resolution(grad_norm2) else StopReason.NO_DESCENT
            break

        # Round trip C: batches of trial steps until one passes.
        accepted = None
        first = 0
        while accepted is None and first < config.max_steps:
            if first == 0:
                handles = backend.map(f"C-{iteration}", _shard.round_line_search, handles, p, **search)
            else:
                handles = backend.map(
                    f"C-{iteration}-{first}", _shard.round_line_search_more, handles, float(first), **search
                )
            losses, grads = backend.reduce(handles)
            alphas_tried = _shard.step_sizes(first, config.line_search_batch, config.max_steps)
            k = first_accepted(np.sum(grads * grads, axis=1), alphas_tried, grad_norm2, slope, config.rho)
            if k is not None:
                accepted = (alphas_tried[k], float(losses[k]), objective.identifiable(np, grads[k]))
                trials = first + k + 1
            first += len(alphas_tried)
        if accepted is None:
            reason = StopReason.RESOLUTION if within_resolution(grad_norm2) else StopReason.LINE_SEARCH_FAILED
            break

        step, loss, g_new = accepted
        secants.add(step * p, g_new - g)
        new_norm = float(np.linalg.norm(g_new))
        contraction = new_norm / math.sqrt(grad_norm2)
        at_resolution = (contraction > RESOLUTION_STALL and new_norm <= resolution) or (
            contraction > ROUNDING_STALL and new_norm <= rounding_floor
        )
        w, g = w + step * p, g_new
        iteration += 1
        pending_step = step

        if not (correcting or backend.rows_mixed) and shards_disagree(spread, contraction):
            # Mix the rows if rebalance allows and the move pays; otherwise correct the directions.
            seconds_per_round = (time.perf_counter() - first_iteration[0]) / max(backend.rounds - first_iteration[1], 1)
            remaining = remaining_fraction(float(np.linalg.norm(g)), rows[0]["grad_norm"], config.tol)
            if config.rebalance == "auto" and should_mix("auto", backend.mixing_cost(), seconds_per_round, remaining):
                logger.info("DINGO: shards disagree (direction spread %.3g); mixing their rows", spread)
                backend.mix_rows()
                # New shards take the current point; the gradient is the one already known.
                handles = backend.map("place", _shard.place_point, None, w, objective=objective)
                pending_step, mixed = 0.0, True
            else:
                correcting = True

        row = record(iteration, case, step, float(np.linalg.norm(p)), spread, slope / threshold, trials)
        if callback is not None and callback({**row, "w": w}):
            reason = StopReason.CALLBACK
            break
        if at_resolution:
            reason = StopReason.RESOLUTION
            break

    history = {name: np.asarray([row[name] for row in rows]) for name in HISTORY_COLUMNS}
    return DingoResult(
        w=w,
        loss=loss,
        grad_norm=float(np.linalg.norm(g)),
        n_iter=iteration,
        stop_reason=reason,
        history=history,
        rounds=backend.rounds,
        bytes_down=backend.bytes_down,
        bytes_up=backend.bytes_up,
        bytes_moved=backend.bytes_moved,
        disagreement=disagreement,
        mixed=mixed,
    )
