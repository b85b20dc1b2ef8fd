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

from .._shard import EIGH_COST

__all__ = [
    "ForcingSequence",
    "check_aggregate_hessian",
    "LocalEffort",
    "Prices",
    "choose_effort",
    "iteration_seconds",
    "measured_prices",
    "newton_pays",
    "next_boost",
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
# An iteration that shrinks ‖g‖ by less than SLOW_CONTRACTION was starved of
# local work (short Krylov solves on badly conditioned shards): the next one
# gets twice the Lanczos steps at the configured tolerance; one faster than
# FAST_CONTRACTION gives half of that back.
SLOW_CONTRACTION = 0.5
FAST_CONTRACTION = 0.1
# Eisenstat and Walker's choice 2: η_t = γ (‖g_t‖ / ‖g_{t-1}‖)^2, at most η_max.
# Their η_max is 0.9; measured on the 20-class softmax and the sparse
# 100,000-feature problems (medians of 3 runs), 0.5 reached scikit-learn's
# tol=1e-6 objective 10-20% sooner than 0.1, with the same iterations.
FORCING_GAMMA = 0.9
FORCING_MAX = 0.5
# The aggregated Hessian: largest D (a D x D float64 matrix per shard, and a
# Cholesky factorisation of one on the driver); how many DINGO iterations a
# Newton iteration is worth: 1.25 while the shards agree (its direction is
# exact: never more iterations, often one fewer), and 8 once they are seen
# to disagree while their rows stay where they are (measured, rows sorted
# by label or a feature, 4-8 shards: DINGO 15-35 iterations against
# Newton's 6, each DINGO iteration also 4-6 rounds against Newton's 2).
NEWTON_MAX_PARAMS = 2048
NEWTON_AGREEMENT_GAIN = 1.25
NEWTON_DISAGREEMENT_GAIN = 8.0
# aggregate_hessian=True beyond this many bytes of one D x D Hessian is refused
# (D = 16,384): every shard would make one, and the driver one more.
NEWTON_MAX_HESSIAN_BYTES = 1 << 31
# Columns of X̃ whose Gram block costs one read of the shard: measured in
# float32 on 2 cores, 29 for a binary 200,000 x 200 shard (124 ms against
# 18 ms per read), 15 for a 5-class 200,000 x 40 one (narrow blocks use
# BLAS less well); the smaller keeps the estimate on the safe side.
GRAM_READ_COLUMNS = 15


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


def next_boost(boost, contraction):
    """The multiplier of the next iteration's Lanczos steps after one that contracted ‖g‖ by ``contraction``."""
    if contraction > SLOW_CONTRACTION:
        return boost * 2
    if contraction < FAST_CONTRACTION:
        return max(1, boost // 2)
    return boost


def choose_effort(prices, config, eta, boost=1):
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
    boost : int
        Multiplier of the steps after slow iterations (:func:`next_boost`);
        above 1 the configured tolerance applies.
    """
    subproblem = config.subproblem
    fixed = LocalEffort(subproblem.max_iter, subproblem.rtol, config.line_search_batch)
    if config.local_effort == "fixed" or prices is None:
        return fixed
    worth = prices.round_in_passes
    cap = subproblem.max_iter
    wanted = MIN_LANCZOS_STEPS + ROUNDS_PER_ITERATION * worth / 2
    dear = not wanted * boost < cap  # the round buys the whole configured effort (inf included)
    steps = cap if dear else max(1, min(cap, math.ceil(wanted) * boost))
    rtol = subproblem.rtol if dear or boost > 1 else max(subproblem.rtol, eta)
    batch = config.line_search_batch if worth >= BATCH_ROUND_PASSES else 1
    return LocalEffort(steps, rtol, batch)


def iteration_seconds(
    prices, *, n_params, n_outputs, n_rows, shard_rows, n_shards, bytes_per_second, lanczos_steps
):
    """Estimated seconds of one iteration of each kind: ``(newton, dingo)``.

    In units of the measured read of a shard (:attr:`Prices.pass_seconds`)
    and round (:attr:`Prices.round_seconds`):

    - a Gram block ``X̃ᵀ diag(a) X̃`` costs one read per
      ``GRAM_READ_COLUMNS`` columns of X̃, and a D³ factorisation runs at
      the Gram's multiply-adds per second;
    - newton: the K(K+1)/2 Gram blocks, the D(D+1)/2 floats of each of
      ``n_shards`` shards' upper triangle at ``bytes_per_second``, one Cholesky
      factorisation (D³/3) on the driver, and 2 rounds (the unit step
      accepted brings the next Hessian);
    - dingo: the cheaper of the exact solver (the Gram blocks and an
      eigendecomposition, ``EIGH_COST · D³``, on the shard) and
      ``lanczos_steps`` Hessian-vector products (one read each), and 4
      rounds.

    Both kinds also pay a line search (the same), left out.
    """
    D, K = n_params, n_outputs
    blocks = K * (K + 1) / 2
    gram = prices.pass_seconds * blocks * n_rows / GRAM_READ_COLUMNS
    multiply_add_seconds = gram / max(blocks * shard_rows * n_rows**2, 1)
    transfer = n_shards * D * (D + 1) / 2 * 8 / bytes_per_second
    newton = gram + transfer + multiply_add_seconds * D**3 / 3 + 2 * prices.round_seconds
    exact = gram + multiply_add_seconds * EIGH_COST * D**3
    krylov = lanczos_steps * prices.pass_seconds
    dingo = min(exact, krylov) + ROUNDS_PER_ITERATION * prices.round_seconds
    return newton, dingo


def check_aggregate_hessian(config, n_params):
    """Refuse ``aggregate_hessian=True`` for a model whose Hessian would not fit in memory.

    Raises
    ------
    ValueError
        If one D × D float64 Hessian exceeds ``NEWTON_MAX_HESSIAN_BYTES``.
    """
    nbytes = 8 * n_params * n_params
    if config.aggregate_hessian is True and nbytes > NEWTON_MAX_HESSIAN_BYTES:
        raise ValueError(
            f"aggregate_hessian=True needs a {n_params} x {n_params} Hessian ({nbytes / 2**30:.1f} GiB) on every "
            f"shard and on the driver; use aggregate_hessian='auto' or False for models of more than "
            f"{math.isqrt(NEWTON_MAX_HESSIAN_BYTES // 8)} coefficients."
        )


def newton_pays(
    prices, config, *, n_params, n_outputs, n_rows, shard_rows, n_shards, bytes_per_second, lanczos_steps,
    shards_disagree=False,
):
    """Whether the next iteration takes the exact Newton step from the aggregated Hessian.

    ``config.aggregate_hessian``: True always, False never, ``"auto"`` when D
    is at most ``NEWTON_MAX_PARAMS`` and an iteration of it is estimated to
    cost no more than ``NEWTON_AGREEMENT_GAIN`` of DINGO's
    (:func:`iteration_seconds`; Newton's directions are exact, so it takes
    no more iterations), or, once the shards are seen to disagree while
    their rows stay where they are (``shards_disagree``: DINGO's iterations
    then multiply, ALGORITHM.md §7), no more than
    ``NEWTON_DISAGREEMENT_GAIN`` of them.
    """
    choice = config.aggregate_hessian
    if choice is False or choice is None:
        return False
    if choice is True:
        return True
    if n_params > NEWTON_MAX_PARAMS or prices is None or shard_rows is None:
        return False
    newton, dingo = iteration_seconds(
        prices, n_params=n_params, n_outputs=n_outputs, n_rows=n_rows, shard_rows=shard_rows,
        n_shards=n_shards, bytes_per_second=bytes_per_second, lanczos_steps=lanczos_steps,
    )
    return newton <= (NEWTON_DISAGREEMENT_GAIN if shards_disagree else NEWTON_AGREEMENT_GAIN) * dingo
