"""cProfile of one in-process DINGO fit on a problem of the ``compare`` suite.

Usage::

    python -m benchmarks profile --problem 2 [--quick] [--top 25] [--sort tottime]

cProfile sees only the calling thread, so the in-process backend is made to
run its shards one after the other in this thread (``n_threads=1``; BLAS then
uses all cores per shard). The sharding itself is the estimator's default.
Also prints the wall time per DINGO round kind (A, case 3, line search), read
off the backend.
"""

import argparse
import cProfile
import io
import pstats
import time
import warnings
from collections import defaultdict
from unittest import mock

from ..common.problems import make_problem
from ..common.solvers import DINGO_TOL


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args(argv)

    from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
    from sklearn_dingo._backends import LocalBackend

    problem = make_problem(args.problem, "quick" if args.quick else "default")
    seconds = defaultdict(float)
    calls = defaultdict(int)

    class SequentialBackend(LocalBackend):
        def __init__(self, shards, n_threads=None, **kwargs):
            super().__init__(shards, n_threads=1, **kwargs)

        def _map(self, name, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return super()._map(name, *args, **kwargs)
            finally:
                kind = name.split("-")[0] if name[:2] != "C-" or name.count("-") == 1 else "C+"
                seconds[kind] += time.perf_counter() - t0
                calls[kind] += 1

    Est = DingoLogisticRegression if problem.binary else DingoSoftmaxRegression
    model = Est(C=problem.C, fit_intercept=False, tol=DINGO_TOL, max_iter=1000)
    profiler = cProfile.Profile()
    # the in-process training data build their backend here (a profiling aid, not a measurement)
    with mock.patch("sklearn_dingo._data._training_data.LocalBackend", SequentialBackend), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        profiler.enable()
        model.fit(problem.X, problem.y)
        profiler.disable()
        wall = time.perf_counter() - t0
    print(
        f"problem {problem.key} ({problem.shape_text()}): {wall:.2f} s, {model.n_iter_[0]} iterations, "
        f"{model.n_communication_rounds_} rounds, {len(model.history_['loss'])} history rows, "
        f"stop: {model.stop_reason_}"
    )
    print("shard work per round kind (s, calls):", {k: (round(v, 3), calls[k]) for k, v in seconds.items()})
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats(args.sort).print_stats(args.top)
    print(stream.getvalue())
    return 0
