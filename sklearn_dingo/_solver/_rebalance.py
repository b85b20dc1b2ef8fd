"""How much the shards disagree, and when rebalancing their rows once pays (ALGORITHM.md §6-§7).

DINGO's few rounds need shards that each look like the whole data: its
directions average the shards' local Newton directions ``u_j = H_j^† g``.
How far apart those are is measured on what round trip A already returns
(every shard's u_j reaches the driver; no extra bytes):

    δ = sqrt(Σ_j π_j ‖u_j − u‖²) / ‖u‖,   u = Σ_j π_j u_j

Shards of randomly ordered rows give δ ≈ 0.05-0.16 at 50-1,000 rows per
parameter; rows sorted by label, by a feature or grouped in clusters give
0.2-0.9 (``python -m benchmarks layouts``). The spread of the local gradients at
the start, Σ π_j ‖g_j − g‖² / ‖g‖², is no substitute: it sees rows sorted by
label (2 against 0.005) but not rows sorted by a feature, whose first moments
barely differ (0.006 against 0.005) while their Hessians do.

A spread alone does not slow DINGO down: near the optimum the gradient
turns towards directions of small curvature, where even shards of random
rows differ (δ rose to 0.28 on the reference problem while ‖g‖ still fell
100-fold per iteration). The shards count as disagreeing when both hold
after an iteration: δ above :data:`DISAGREEMENT` and the gradient norm
shrunk by less than :data:`SLOW_CONTRACTION`. Shards of random rows never met
both on the problems measured (their contraction was 0.33 or better from the
first iteration on, even where δ reached 0.85); sorted and clustered ones
did within one to three iterations.

Then the driver either rebalances the rows (every shard takes every m-th row
of the whole input), which brings δ to the random level, or corrects its
directions (:mod:`._secant`). Rebalanced shards are never corrected: their
spread is sampling noise amplified in near-singular directions, and the
first step after a move starts from a poor point, where even agreeing shards
shrink ‖g‖ slowly. Rebalancing is free for dense data in memory (strided
views from the start), a copy for sparse data in memory, and a move of about
``(1 − 1/workers)·X`` between Dask workers. :func:`should_rebalance` is the
one place that decides: ``rebalance=True`` moves the rows before the first
round, ``"auto"`` once an iteration shows the shards disagree and the move
costs less time than the extra rounds that disagreeing shards take, at the
seconds a round of this fit has measured.
"""

import math

__all__ = [
    "DISAGREEMENT",
    "EXTRA_ROUNDS_IF_DISAGREE",
    "SLOW_CONTRACTION",
    "direction_spread",
    "remaining_fraction",
    "shards_disagree",
    "should_rebalance",
]

# δ above which shards may disagree: random row orders gave 0.03-0.26 at
# 40-600 rows per parameter, sorted and clustered layouts 0.3-4 once past the
# first iteration (`python -m benchmarks layouts`).
DISAGREEMENT = 0.2

# ‖g_{t+1}‖ / ‖g_t‖ above which an iteration counts as slow: DINGO on shards
# of random rows contracted by 0.33 or better in every iteration measured
# (its first ones, far from the optimum, included: 0.32 on benchmark problem
# a with 100,000-row shards, whose δ there was 0.85 because near-singular
# directions amplify small differences); on disagreeing shards it stays at
# 0.4-1 within one to three iterations.
SLOW_CONTRACTION = 0.4

# Rounds that disagreeing shards cost beyond rebalanced ones, with the secant
# correction (`python -m benchmarks layouts`: the median over the sorted and
# clustered layouts).
EXTRA_ROUNDS_IF_DISAGREE = 16


def direction_spread(spread, mean_direction):
    """δ from ``Σ_j π_j ‖u_j − u‖²`` and ``u`` (0 when u vanishes)."""
    norm2 = float(mean_direction @ mean_direction)
    if not norm2 > 0:
        return 0.0
    return math.sqrt(max(float(spread), 0.0) / norm2)


def shards_disagree(delta, contraction):
    """Whether an iteration shows shards that disagree enough to slow DINGO down.

    Parameters
    ----------
    delta : float
        δ of the iteration's round trip A (:func:`direction_spread`).
    contraction : float
        ``‖g_{t+1}‖ / ‖g_t‖`` of the iteration.
    """
    return delta > DISAGREEMENT and contraction > SLOW_CONTRACTION


def should_rebalance(rebalance, cost, seconds_per_round=None, remaining=1.0):
    """Whether to rebalance the shards' rows now: the only place that decides.

    Asked at the start of a fit (and of a cross-validation, before its folds
    are masked), with nothing measured yet, and after an iteration that shows
    the shards disagree (:func:`shards_disagree`), with the price of a round
    measured.

    Parameters
    ----------
    rebalance : {"auto", True, False}
        The estimator's ``rebalance``.
    cost : RebalanceCost or None
        What the backend says the move would cost; None if it cannot
        rebalance (one shard, rows already spread, a fold's view, closed).
    seconds_per_round : float or None
        Measured time of one round of this fit; None at the start, before
        any round has shown a price (or the shards their disagreement).
    remaining : float, default=1.0
        The part of the fit still ahead, in [0, 1]: with "auto", the extra
        rounds that disagreeing shards cost are expected in proportion
        (:func:`remaining_fraction`).

    Returns
    -------
    bool
        ``False``: never. ``True``: whenever the backend can (in practice at
        the start: afterwards the rows are spread, and no cost is offered).
        ``"auto"``: not at the start; afterwards when the move, its time and
        its rounds plus the broadcast of the point to the new shards, costs
        less than the extra rounds still ahead.
    """
    if rebalance is False or cost is None:
        return False
    if rebalance is True:
        return True
    if seconds_per_round is None:  # "auto" waits for an iteration to show disagreement
        return False
    move = cost.seconds + (cost.rounds + 1) * seconds_per_round  # +1: the point's broadcast
    return move < remaining * EXTRA_ROUNDS_IF_DISAGREE * seconds_per_round


def remaining_fraction(grad_norm, initial_grad_norm, tol):
    """The part of the decrease of log ‖g‖ from the start to ``tol`` still ahead, in [0, 1]."""
    if not (initial_grad_norm > tol and grad_norm > tol):
        return 0.0
    return min(1.0, math.log(grad_norm / tol) / math.log(initial_grad_norm / tol))
