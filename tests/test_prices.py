"""The prices of a fit and what they buy: unit tests of the decisions on constructed prices."""

import math
import threading

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_dingo._backends import LocalBackend
from sklearn_dingo._backends._base import RoundTrip
from sklearn_dingo._objectives import BinaryLogistic, ShardMeter, pass_counter
from sklearn_dingo._shard import Metered, ShardData, ShardTiming
from sklearn_dingo._shard._subproblems import SubproblemConfig
from sklearn_dingo._solver import DingoConfig
from sklearn_dingo._solver._prices import (
    BATCH_ROUND_PASSES,
    FORCING_GAMMA,
    FORCING_MAX,
    GRAM_READ_COLUMNS,
    MIN_LANCZOS_STEPS,
    NEWTON_MAX_PARAMS,
    ForcingSequence,
    Prices,
    choose_effort,
    iteration_seconds,
    measured_prices,
    newton_pays,
)

AUTO = DingoConfig(local_effort="auto", aggregate_hessian="auto")


# -- measured prices --------------------------------------------------------------------
def test_prices_are_medians_of_the_recent_round_trips():
    log = [RoundTrip(seconds=0.030 + 0.001 * k, shard_seconds=0.010, pass_seconds=0.002) for k in range(5)]
    log.append(RoundTrip(seconds=5.0, shard_seconds=0.010, pass_seconds=float("nan")))  # one slow trip, no pass
    prices = measured_prices(log)
    overheads = sorted([0.020 + 0.001 * k for k in range(5)] + [4.99])
    assert prices.round_seconds == pytest.approx(np.median(overheads) / 2)
    assert prices.pass_seconds == pytest.approx(0.002)
    assert prices.round_in_passes == pytest.approx(prices.round_seconds / 0.002)


def test_no_prices_before_a_timed_round_and_free_rounds_in_process():
    assert measured_prices([]) is None
    assert measured_prices([RoundTrip(0.1, 0.0, float("nan"))]) is None  # no shard read its rows yet
    prices = measured_prices([RoundTrip(0.5, 0.1, 0.01)], free_rounds=True)
    assert prices.round_seconds == 0.0 and prices.round_in_passes == 0.0


def test_a_round_trip_names_the_critical_path():
    from sklearn_dingo._backends._base import _round_trip

    timings = [ShardTiming(0.2, 2.0), ShardTiming(0.1, 4.0), ShardTiming(0.05, 0.0)]
    trip = _round_trip(1.0, timings, concurrency=3)
    assert trip.shard_seconds == pytest.approx(0.2) and trip.overhead_seconds == pytest.approx(0.8)
    assert trip.pass_seconds == pytest.approx(0.1)  # the slowest shard that read its rows
    serial = _round_trip(1.0, timings, concurrency=1)  # three shards on one thread
    assert serial.shard_seconds == pytest.approx(0.35)


# -- local effort -----------------------------------------------------------------------
def test_fixed_effort_is_the_configuration_whatever_the_prices():
    config = DingoConfig(subproblem=SubproblemConfig(max_iter=30, rtol=1e-5), line_search_batch=3)
    effort = choose_effort(Prices(0.0, 1.0), config, eta=0.1)
    assert (effort.lanczos_steps, effort.rtol, effort.line_search_batch) == (30, 1e-5, 3)
    assert choose_effort(None, AUTO, eta=0.1).lanczos_steps == AUTO.subproblem.max_iter  # no prices yet


def test_free_rounds_buy_short_loose_solves_and_single_trials():
    effort = choose_effort(Prices(0.0, 0.01), AUTO, eta=0.05)
    assert effort.lanczos_steps == MIN_LANCZOS_STEPS
    assert effort.rtol == 0.05  # the forcing term, looser than the configured 1e-4
    assert effort.line_search_batch == 1
    assert choose_effort(Prices(0.0, 0.01), AUTO, eta=1e-7).rtol == AUTO.subproblem.rtol  # never tighter


def test_dear_rounds_buy_the_whole_configured_effort():
    effort = choose_effort(Prices(0.05, 0.001), AUTO, eta=0.05)  # a round is worth 50 passes
    assert effort.lanczos_steps == AUTO.subproblem.max_iter
    assert effort.rtol == AUTO.subproblem.rtol
    assert effort.line_search_batch == AUTO.line_search_batch


def test_effort_grows_with_the_price_of_a_round():
    worth = BATCH_ROUND_PASSES / 2  # a round worth 4 passes: 8 more Lanczos steps, single trials
    effort = choose_effort(Prices(worth * 0.01, 0.01), AUTO, eta=0.05)
    assert effort.lanczos_steps == MIN_LANCZOS_STEPS + 2 * worth
    assert effort.line_search_batch == 1
    steps = [choose_effort(Prices(r * 0.01, 0.01), AUTO, eta=0.05).lanczos_steps for r in (0, 1, 4, 10, 1e3)]
    assert steps == sorted(steps) and steps[-1] == AUTO.subproblem.max_iter


def test_forcing_sequence_follows_eisenstat_walker():
    forcing = ForcingSequence()
    assert forcing.update(1.0) == FORCING_MAX  # no contraction seen yet
    assert forcing.update(0.01) == pytest.approx(FORCING_GAMMA * 1e-4)  # fast: tight
    assert forcing.update(0.009) == FORCING_MAX  # slow (0.9 · 0.81): loose again, up to the cap
    assert forcing.update(0.0027) == pytest.approx(FORCING_GAMMA * 0.09)


# -- the aggregated-Hessian step --------------------------------------------------------
SIZES = dict(n_outputs=1, n_rows=101, shard_rows=50_000, n_shards=4, lanczos_steps=8)


def test_newton_when_asked_or_refused():
    never = DingoConfig(aggregate_hessian=False)
    always = DingoConfig(aggregate_hessian=True)
    prices = Prices(0.0, 0.01)
    assert not newton_pays(prices, never, n_params=101, bytes_per_second=math.inf, **SIZES)
    assert newton_pays(None, always, n_params=10**5, bytes_per_second=1.0, **SIZES)


def test_the_estimates_in_reads_and_rounds():
    """A binary shard of 101 columns: its Gram costs 101/15 reads; DINGO's Krylov run 8."""
    prices = Prices(0.02, 0.01)
    newton, dingo = iteration_seconds(prices, n_params=101, bytes_per_second=math.inf, **SIZES)
    gram = 0.01 * 101 / GRAM_READ_COLUMNS
    assert newton == pytest.approx(gram + gram * 101**3 / 3 / (50_000 * 101**2) + 2 * 0.02)
    assert dingo == pytest.approx(min(8 * 0.01, gram * (1 + 8.0 * 101 / 50_000)) + 4 * 0.02)


def test_newton_for_small_models_where_a_gram_is_cheaper_than_a_krylov_run():
    prices = Prices(0.0, 0.01)
    narrow = dict(SIZES, n_rows=31)  # 31 columns: about 2 reads against 8
    assert newton_pays(prices, AUTO, n_params=31, bytes_per_second=math.inf, **narrow)  # in process
    assert newton_pays(prices, AUTO, n_params=31, bytes_per_second=1e8, **narrow)  # 8 kB per shard
    assert not newton_pays(prices, AUTO, n_params=31, bytes_per_second=1e2, **narrow)  # 80 s per Hessian
    assert not newton_pays(None, AUTO, n_params=31, bytes_per_second=math.inf, **narrow)  # no prices yet
    # 201 columns: 13 reads against 8, unless rounds are dear (2 rounds against 4) or shards disagree
    wide = dict(SIZES, n_rows=201)
    assert not newton_pays(prices, AUTO, n_params=201, bytes_per_second=math.inf, **wide)
    assert newton_pays(Prices(0.05, 0.01), AUTO, n_params=201, bytes_per_second=1e8, **wide)
    assert newton_pays(prices, AUTO, n_params=201, bytes_per_second=math.inf, shards_disagree=True, **wide)


def test_no_newton_for_large_models():
    prices = Prices(0.0, 0.01)
    big = dict(SIZES, n_outputs=20, n_rows=301)
    assert 301 * 20 > NEWTON_MAX_PARAMS
    assert not newton_pays(prices, AUTO, n_params=301 * 20, bytes_per_second=math.inf, shards_disagree=True, **big)
    # Under the cap, the Gram blocks of many classes cost far more than short Krylov solves.
    many = dict(SIZES, n_outputs=10, n_rows=201)
    assert not newton_pays(Prices(0.02, 0.01), AUTO, n_params=2010, bytes_per_second=1e8, **many)


# -- meters ------------------------------------------------------------------------------
def _shard(n=400, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    return ShardData(X, y[:, None], np.ones(n), float(n))


def test_shard_meters_see_only_their_own_thread():
    objective = BinaryLogistic(n_features=5, fit_intercept=True, C=1.0, total_weight=400.0)
    shards = [_shard(seed=0), _shard(seed=1)]
    rows = {}
    barrier = threading.Barrier(2)

    def work(j, products):
        with ShardMeter() as meter:
            barrier.wait()
            for _ in range(products):
                objective.loss_gradient(shards[j], np.ones(6))
        rows[j] = meter.rows

    with pass_counter() as counter:
        threads = [threading.Thread(target=work, args=(j, 3 + 2 * j)) for j in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # each loss_gradient reads the rows twice (margins, then Xᵀ r)
    assert rows == {0: 3 * 2 * 400, 1: 5 * 2 * 400}
    assert counter.rows == rows[0] + rows[1]


def test_metered_replies_are_timed_and_stripped_before_counting():
    objective = BinaryLogistic(n_features=5, fit_intercept=True, C=1.0, total_weight=800.0)

    def gradient(shard, state, w, *, objective):
        loss, grad = objective.loss_gradient(shard, w)
        return (np.asarray(loss), grad), state

    reply, _ = Metered(gradient)(_shard(), None, np.zeros(6), objective=objective)
    assert isinstance(reply[-1], ShardTiming) and reply[-1].passes == pytest.approx(2.0)
    with LocalBackend([_shard(seed=0), _shard(seed=1)]) as backend:
        handles = backend.map("g", gradient, None, np.zeros(6), objective=objective)
        loss, grad = backend.reduce(handles)
        assert backend.bytes_up == 2 * (8 + 6 * 8)  # the timing is not communication
        (trip,) = backend.round_log
        assert trip.pass_seconds > 0 and trip.seconds >= trip.shard_seconds > 0


def test_slow_iterations_buy_more_local_work_at_the_configured_tolerance():
    from sklearn_dingo._solver._prices import FAST_CONTRACTION, SLOW_CONTRACTION, next_boost

    assert next_boost(1, SLOW_CONTRACTION + 0.1) == 2 and next_boost(2, 0.9) == 4
    assert next_boost(4, FAST_CONTRACTION / 2) == 2 and next_boost(1, 0.01) == 1
    assert next_boost(2, 0.3) == 2
    boosted = choose_effort(Prices(0.0, 0.01), AUTO, eta=0.3, boost=4)
    assert boosted.lanczos_steps == 4 * MIN_LANCZOS_STEPS and boosted.rtol == AUTO.subproblem.rtol
    assert choose_effort(Prices(0.0, 0.01), AUTO, eta=0.3, boost=100).lanczos_steps == AUTO.subproblem.max_iter


def test_the_iterations_effort_does_not_move_the_choice_of_the_exact_solver():
    """A short Krylov cap for this iteration must not make Krylov look cheap on a shard that needs the exact solver."""
    from dataclasses import replace

    from sklearn_dingo._shard._subproblems import choose_method

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 20)) * np.logspace(0, 3, 20)  # column scales over three decades
    shard = ShardData(X, np.ones((20_000, 1)), np.ones(20_000), 20_000.0)
    objective = BinaryLogistic(n_features=20, fit_intercept=True, C=1.0, total_weight=20_000.0)
    config = SubproblemConfig()
    assert choose_method(objective, shard, config) == "exact"
    assert choose_method(objective, shard, replace(config, effort_max_iter=2)) == "exact"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_forced_aggregated_hessian_too_large_for_memory_is_refused():
    from sklearn_dingo import DingoLogisticRegression

    X = sp.random(50, 20_000, density=0.01, format="csr", random_state=0)
    y = np.arange(50) % 2
    with pytest.raises(ValueError, match=r"aggregate_hessian=True needs a 20001 x 20001 Hessian \(3\.0 GiB\)"):
        DingoLogisticRegression(aggregate_hessian=True).fit(X, y)
    DingoLogisticRegression(aggregate_hessian="auto", max_iter=2).fit(X, y)  # auto: DINGO's vectors
