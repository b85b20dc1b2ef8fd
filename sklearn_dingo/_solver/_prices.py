"""What a fit's rounds and passes cost, and the local work and kind of step they buy (ALGORITHM.md §8).

A fit knows two prices once its first round is back (:func:`measured_prices`):
the seconds of a communication round (latency, scheduling, bytes: what a
round trip costs beyond the shards' work) and the seconds of a pass over the
slowest shard. From them, before every iteration:

- :func:`choose_effort` sets the local work of round trip A (the Lanczos
  run's length and tolerance) and the line search's batch: local passes are
  spent only where a round is dear enough to be worth them, and the
  tolerance follows a forcing sequence (:class:`ForcingSequence`): loose
  while ‖g‖ falls fast, tight as it slows;
- :func:`newton_pays` chooses between DINGO's vector rounds and the exact
  Newton step from the shards' aggregated Hessians, on the estimated
  seconds of an iteration of each.

Both decisions are pure functions of the prices and the problem's sizes,
tested on constructed prices (``tests/test_prices.py``).
"""

import math
import statistics
from dataclasses import dataclass

from .._shard._subproblems import EIGH_COST, PASS_PENALTY

__all__ = [
    "ForcingSequence",
    "LocalEffort",
    "Prices",
    "choose_effort",
    "iteration_seconds",
    "measured_prices",
    "newton_pays",
]

# Lanczos steps of round A when rounds cost nothing (in process). Measured by
# `python -m benchmarks study pass-price` on the 20-class softmax problem:
# caps of 5 and 10 take about the same time (more rounds against fewer
# passes), against 1.3x at today's 50; 8 sits between them.
MIN_LANCZOS_STEPS = 8
# Rounds an iteration costs at least (broadcast and reduce of round trips A and C).
ROUNDS_PER_ITERATION = 4
# A line-search batch of B trial steps costs about B gradient passes even
# when the first trial is accepted (usually it is); a second batch costs two
# rounds. Batch only when a round is worth this many passes.
BATCH_ROUND_PASSES = 8.0
# Eisenstat and Walker's choice 2: η_t = γ (‖g_t‖ / ‖g_{t-1}‖)^2, at most η_max.
# Their η_max is 0.9; measured on the 20-class softmax and the sparse
# 100,000-feature problems (medians of 3 runs), 0.5 reached scikit-learn's
# tol=1e-6 objective 10-20% sooner than 0.1, with the same iterations.
FORCING_GAMMA = 0.9
FORCING_MAX = 0.5
# The aggregated Hessian: largest D (a D x D float64 matrix per shard, and a
# Cholesky factorisation of one on the driver), and the iterations DINGO is
# assumed to take for every Newton iteration (Newton's are never more, and
# far fewer when the shards disagree).
NEWTON_MAX_PARAMS = 2048
NEWTON_ITERATION_GAIN = 1.5


@dataclass(frozen=True)
class Prices:
    """The measured price of a round and of a pass.

    Attributes
    ----------
    round_seconds : float
        One communication round: half of what a round trip costs beyond
        the shards' work.
    pass_seconds : float
        One pass over the slowest shard's rows.
    """

    round_seconds: float
    pass_seconds: float

    @property
    def round_in_passes(self):
        """How many passes over a shard one round is worth."""
        if not self.pass_seconds > 0:
            return math.inf
        return self.round_seconds / self.pass_seconds


def measured_prices(round_log, recent=8, *, free_rounds=False):
    """:class:`Prices` from a backend's :attr:`round_log`, or None before any timed round.

    Medians of the last ``recent`` round trips (and of the last ``recent``
    that read their shards, for the pass): robust to one slow trip.
    ``free_rounds`` (in process): a round costs 0, whatever its overhead
    measured (a function call's), so that the choices made from the prices
    do not depend on timing noise.
    """
    if not round_log:
        return None
    trips = round_log[-recent:]
    round_seconds = 0.0 if free_rounds else statistics.median(trip.overhead_seconds for trip in trips) / 2
    passes = [trip.pass_seconds for trip in round_log if math.isfinite(trip.pass_seconds)][-recent:]
    if not passes:
        return None
    return Prices(round_seconds, statistics.median(passes))


@dataclass(frozen=True)
class LocalEffort:
    """The local work of one iteration.

    Attributes
    ----------
    lanczos_steps : int
        Cap of round trip A's Krylov solves (Hessian-vector products).
    rtol : float
        Their relative tolerance.
    line_search_batch : int
        Trial steps per line-search round trip (B).
    """

    lanczos_steps: int
    rtol: float
    line_search_batch: int


class ForcingSequence:
    """Relative tolerances of inexact local solves: loose while ‖g‖ falls fast.

    Eisenstat and Walker's choice 2 (SIAM J. Sci. Comput. 17(1), 1996):
    ``η_t = γ (‖g_t‖ / ‖g_{t−1}‖)²``, at most ``FORCING_MAX``. Their
    safeguard against η falling too fast is left out: the line search and
    the case tests already guard every direction, and a tolerance that
    tightens too early only costs passes.
    """

    def __init__(self):
        self.eta = FORCING_MAX
        self._last_grad_norm = None

    def update(self, grad_norm):
        """Move to the iteration whose gradient norm is ``grad_norm``; returns η."""
        if self._last_grad_norm is not None and self._last_grad_norm > 0:
            ratio = grad_norm / self._last_grad_norm
            self.eta = min(FORCING_GAMMA * ratio * ratio, FORCING_MAX)
        self._last_grad_norm = grad_norm
        return self.eta


def choose_effort(prices, config, eta):
    """The :class:`LocalEffort` of the next iteration.

    ``config.local_effort == "fixed"`` (or no prices yet): the configured cap,
    tolerance and batch. ``"auto"``: a round that is worth ``r`` passes buys
    about ``ROUNDS_PER_ITERATION · r / 2`` more Lanczos steps (each reads the
    shard twice) above ``MIN_LANCZOS_STEPS``, within the configured cap; the
    tolerance is the forcing term ``eta`` (never tighter than configured)
    while a round is worth less than a whole round A of local work, and the
    line search batches its trials only when a round is worth
    ``BATCH_ROUND_PASSES`` passes.

    Parameters
    ----------
    prices : Prices or None
    config : DingoConfig
    eta : float
        The forcing term of this iteration (:class:`ForcingSequence`).
    """
    subproblem = config.subproblem
    fixed = LocalEffort(subproblem.max_iter, subproblem.rtol, config.line_search_batch)
    if config.local_effort == "fixed" or prices is None:
        return fixed
    worth = prices.round_in_passes
    cap = subproblem.max_iter
    wanted = MIN_LANCZOS_STEPS + ROUNDS_PER_ITERATION * worth / 2
    dear = not wanted < cap  # the round buys the whole configured effort (inf included)
    steps = cap if dear else max(1, min(cap, math.ceil(wanted)))
    rtol = subproblem.rtol if dear else max(subproblem.rtol, eta)
    batch = config.line_search_batch if worth >= BATCH_ROUND_PASSES else 1
    return LocalEffort(steps, rtol, batch)


def iteration_seconds(prices, *, n_params, n_outputs, n_rows, shard_rows, n_shards, bytes_per_second, lanczos_steps):
    """Estimated local seconds of one iteration: ``(newton, exact, krylov)``.

    In units of the measured pass: a pass over a shard of ``shard_rows``
    rows makes ``shard_rows · n_rows · n_outputs`` memory-bound
    multiply-adds, and BLAS-3 work (Gram blocks, factorisations) runs
    ``PASS_PENALTY`` times faster per multiply-add (``_shard/_subproblems.py``).

    - newton: the K(K+1)/2 Gram blocks of the shard, its D² floats to the
      driver at ``bytes_per_second`` from each of ``n_shards`` shards, and one
      Cholesky factorisation (D³/3) there;
    - exact: the Gram blocks and an eigendecomposition (``EIGH_COST · D³``) on the shard;
    - krylov: ``lanczos_steps`` Hessian-vector products (two passes each).
    """
    D, K = n_params, n_outputs
    flop_seconds = prices.pass_seconds / max(shard_rows * n_rows * K, 1)
    gram = flop_seconds * K * (K + 1) / 2 * shard_rows * n_rows**2 / PASS_PENALTY
    transfer = n_shards * D * D * 8 / bytes_per_second
    newton = gram + transfer + flop_seconds * D**3 / 3 / PASS_PENALTY
    exact = gram + flop_seconds * EIGH_COST * D**3 / PASS_PENALTY
    krylov = 2 * lanczos_steps * prices.pass_seconds
    return newton, exact, krylov


def newton_pays(prices, config, *, n_params, n_outputs, n_rows, shard_rows, n_shards, bytes_per_second, lanczos_steps):
    """Whether the next iteration takes the exact Newton step from the aggregated Hessian.

    ``config.aggregate_hessian``: True always (up to memory), False never,
    ``"auto"`` when D is at most ``NEWTON_MAX_PARAMS`` and an iteration of it
    is estimated to cost at most ``NEWTON_ITERATION_GAIN`` times the local
    work of DINGO's cheaper sub-problem solver (:func:`iteration_seconds`).
    Both kinds cost the same rounds per iteration; Newton's directions are
    exact, so it takes no more iterations.
    """
    choice = config.aggregate_hessian
    if choice is False or choice is None:
        return False
    if choice is True:
        return True
    if n_params > NEWTON_MAX_PARAMS or prices is None or shard_rows is None:
        return False
    newton, exact, krylov = iteration_seconds(
        prices, n_params=n_params, n_outputs=n_outputs, n_rows=n_rows, shard_rows=shard_rows,
        n_shards=n_shards, bytes_per_second=bytes_per_second, lanczos_steps=lanczos_steps,
    )
    return newton <= NEWTON_ITERATION_GAIN * min(exact, krylov)
