"""The DINGO loop (ALGORITHM.md §2) on flat parameter vectors.

The driver knows neither scikit-learn nor where the shards live: it talks to
them only through a :class:`~sklearn_dingo._backends.ShardBackend`, sending
small vectors and receiving π-weighted sums. Each iteration is an ordered
template: round trip A (local products), the case test (1, 2, or round trip B
for case 3), the batched line search on ‖g‖² (round trip C, more batches if
needed), the update, the record.
"""

import enum
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import _shard
from ._line_search import first_accepted
from ._subproblems import SubproblemConfig

logger = logging.getLogger(__name__)

#: Columns of the per-iteration history, in order.
HISTORY_COLUMNS = (
    "iteration",
    "rounds",
    "bytes_down",
    "bytes_up",
    "case",
    "step_size",
    "direction_norm",
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
    NON_FINITE = "the search direction became non-finite"

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
    """

    tol: float = 1e-6
    max_iter: int = 100
    max_rounds: float = math.inf
    theta: float = 1e-4
    rho: float = 1e-4
    line_search_batch: int = 4
    max_steps: int = 50
    subproblem: SubproblemConfig = field(default_factory=SubproblemConfig)


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
        Communication totals (ALGORITHM.md §4).
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

    @property
    def converged(self):
        return self.stop_reason is StopReason.CONVERGED


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
        iteration's history row (a dict).

    Returns
    -------
    DingoResult
    """
    start_time = time.perf_counter()
    subproblem = config.subproblem
    search = dict(objective=objective, batch_size=config.line_search_batch, max_steps=config.max_steps)

    if w0 is None:
        w = np.zeros(objective.n_params)
        handles = backend.map("initial", _shard.initial_round, None, objective=objective)
    else:
        w = np.asarray(w0, dtype=np.float64).copy()
        handles = backend.map("initial", _shard.initial_round, None, w, objective=objective)
    loss, g = backend.reduce(handles)
    loss = float(loss)

    rows = []

    def record(iteration, case, step, direction_norm):
        row = dict(
            iteration=iteration,
            rounds=backend.rounds,
            bytes_down=backend.bytes_down,
            bytes_up=backend.bytes_up,
            case=case,
            step_size=step,
            direction_norm=direction_norm,
            loss=loss,
            grad_norm=float(np.linalg.norm(g)),
            time=time.perf_counter() - start_time,
        )
        rows.append(row)
        logger.debug("DINGO %s", row)
        return row

    record(0, 0, 0.0, 0.0)
    step = 0.0
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

        # Round trip A: H_j g, H_j^† g, v_j from every shard.
        handles = backend.map(
            f"A-{iteration}", _shard.round_a, handles, g, step, objective=objective, subproblem=subproblem
        )
        Hg, u, v = backend.reduce(handles)
        if np.linalg.norm(Hg) <= 1e-12 * math.sqrt(grad_norm2):
            reason = StopReason.STATIONARY
            break

        threshold = -config.theta * grad_norm2
        p, case = -u, 1
        if not float(p @ Hg) <= threshold:
            p, case = -v, 2
        if not float(p @ Hg) <= threshold:
            case = 3
            handles = backend.map(
                f"B-{iteration}", _shard.round_case3, handles, Hg, theta=config.theta
            )
            (p,) = backend.reduce(handles)
        if not np.all(np.isfinite(p)):
            reason = StopReason.NON_FINITE
            break
        slope = float(p @ Hg)

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
            alphas = _shard.step_sizes(first, config.line_search_batch, config.max_steps)
            k = first_accepted(np.sum(grads * grads, axis=1), alphas, grad_norm2, slope, config.rho)
            if k is not None:
                accepted = (alphas[k], float(losses[k]), grads[k])
            first += len(alphas)
        if accepted is None:
            reason = StopReason.LINE_SEARCH_FAILED
            break

        step, loss, g = accepted
        w = w + step * p
        iteration += 1
        row = record(iteration, case, step, float(np.linalg.norm(p)))
        if callback is not None:
            callback(row)

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
    )
