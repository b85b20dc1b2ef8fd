"""What a DINGO run is told, what it keeps between iterations, and what it returns.

Three records, in the manner of glum's ``IRLSData`` / ``IRLSState``:

- :class:`DingoConfig`, immutable settings of the run;
- :class:`IterationState`, the point, its gradient and what the next
  iteration needs from the previous ones (the shards' handles, the step they
  have yet to take, the secant pairs, whether directions are corrected);
- :class:`DingoResult`, the outcome, with :class:`StopReason` naming why the
  run ended.
"""

import enum
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._shard import SubproblemConfig
from ._prices import ForcingSequence
from ._secant import SecantPairs

__all__ = ["DingoConfig", "DingoResult", "IterationState", "RoundClock", "StopReason"]


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
        Whether the backend rebalances the rows of its shards: ``True``
        before the first round (if it can), ``"auto"`` after an iteration
        that shows the shards disagree, when the move pays, ``False`` never
        (:func:`~._rebalance.should_rebalance` decides).
    secant_memory : int
        Secant pairs kept for the corrected direction of disagreeing shards
        (0: never correct).
    data_epsilon : float
        Machine epsilon of the data's precision (float32: 1.2e-7): below
        ``sqrt(data_epsilon)`` times ‖∇f(0)‖ (a cold start's ‖g_0‖), an iteration
        that barely shrinks ‖g‖ ends the run (:attr:`StopReason.RESOLUTION`).
    local_effort : {"fixed", "auto"}
        ``"fixed"``: every round trip A runs the Krylov solves of
        ``subproblem`` (cap and tolerance) and every line search batches
        ``line_search_batch`` trials, whatever a round costs (the fewest
        rounds). ``"auto"``: both are chosen before every iteration from the
        measured prices of a round and a pass, within those settings
        (:func:`~._prices.choose_effort`).
    aggregate_hessian : {"auto", True, False}
        Whether iterations take the exact Newton step from the shards'
        aggregated Hessians (D² numbers per shard) instead of DINGO's
        vector rounds: ``"auto"`` when the measured prices say it is cheaper
        (:func:`~._prices.newton_pays`).
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
    local_effort: str = "fixed"
    aggregate_hessian: object = False


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
        One entry per column of :data:`~._history.HISTORY_COLUMNS`; row 0 is
        the starting point, row t the state after iteration t.
    rounds, bytes_down, bytes_up : int
        Communication totals (ALGORITHM.md §4), a rebalance of rows included.
    bytes_moved : int
        Bytes of data rows moved (or copied) to rebalance the shards.
    disagreement : float
        δ of the shards as first built, measured in the first round trip A
        (NaN if no iteration ran).
    rebalanced : bool
        Whether the rows were rebalanced during the run.
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
    rebalanced: bool = False

    @property
    def converged(self):
        """Whether ‖g‖ reached tol, or the resolution of the data's precision."""
        return self.stop_reason in (StopReason.CONVERGED, StopReason.RESOLUTION)

    @property
    def stopped_by_callback(self):
        return self.stop_reason is StopReason.CALLBACK


@dataclass(frozen=True)
class RoundClock:
    """When the first iteration started, to price a round of this fit.

    Attributes
    ----------
    start : float
        ``time.perf_counter()`` at the start of the first iteration.
    rounds : int
        The backend's rounds then (the initial reduce, and a rebalance at the
        start, are not iterations: they stay out of the price).
    """

    start: float
    rounds: int

    @classmethod
    def now(cls, backend):
        return cls(time.perf_counter(), backend.rounds)

    def seconds_per_round(self, backend):
        """Measured seconds per round of the iterations since :attr:`start`."""
        return (time.perf_counter() - self.start) / max(backend.rounds - self.rounds, 1)


@dataclass
class IterationState:
    """What the driver holds between iterations (ALGORITHM.md §2).

    Attributes
    ----------
    w, g : ndarray of shape (D,)
        The point w_t and the averaged gradient ∇f(w_t).
    loss : float
        f(w_t).
    iteration : int
        t, the iterations completed.
    handles : object
        The backend's handles of the shards' last round (their states).
    pending_step_size : float
        The accepted step size α that the shards have yet to take along their
        stored direction: they take it at the start of the next round trip A
        (0 at the start, and after a rebalance, whose new shards were placed
        at w_t).
    secants : SecantPairs
        The last secant pairs ``(α p, g_{t+1} − g_t)``.
    correct_directions : bool
        Whether the shards were seen to disagree while their rows stay where
        they are: from then on, case 4 (the secant-corrected direction) is
        tried first. Rebalanced shards are never corrected: they differ as
        random samples do, and their spread and a slow step say nothing more
        (ALGORITHM.md §7).
    rebalanced : bool
        Whether the rows were rebalanced during the run.
    disagreement : float
        δ measured in the first round trip A (NaN until then).
    clock : RoundClock
        When the first iteration started.
    forcing : ForcingSequence
        The relative tolerances of inexact local solves (``local_effort="auto"``).
    effort_boost : int
        Multiplier of the Lanczos steps after iterations that contracted
        ‖g‖ slowly (:func:`~._prices.next_boost`).
    hessian : ndarray of shape (D(D+1)/2,) or None
        The upper triangle of ∇²f(w_t), when a Newton iteration's search
        brought it with the accepted unit step (the next Newton iteration
        needs no round trip A).
    """

    w: np.ndarray
    g: np.ndarray
    loss: float
    handles: object
    secants: SecantPairs
    clock: RoundClock
    iteration: int = 0
    pending_step_size: float = 0.0
    correct_directions: bool = False
    rebalanced: bool = False
    disagreement: float = math.nan
    forcing: ForcingSequence = field(default_factory=ForcingSequence)
    hessian: np.ndarray = None
    effort_boost: int = 1

    @property
    def grad_norm2(self):
        """‖g_t‖²."""
        return float(self.g @ self.g)

    @property
    def grad_norm(self):
        """‖g_t‖ (as the history records it)."""
        return float(np.linalg.norm(self.g))
