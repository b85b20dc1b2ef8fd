"""Float32 Gram blocks of alike rows: iterations of DINGO with centred and raw blocks, in one run.

Studies ``GRAM_BLOCK_ROWS`` (``sklearn_dingo/_objectives/_base.py``: the rows
of one Gram block, each centred on its own mean in float32 by
``ShardData.X_single_centred``) and the float32 local Hessians that
``hessian_precision="auto"`` uses above ``SINGLE_PRECISION_MIN_ENTRIES``
(``sklearn_dingo/_shard/_subproblems.py``).

Problem a of the ``layouts`` suite (softmax, 5 classes, 200,000 x 40, with
intercept) with its rows sorted by the first feature, fitted in-process on 4
shards of every 4th row (the package's default split: each shard's rows stay
sorted, so every 2,048-row Gram block holds alike rows), to ‖g‖ <= 1e-8 with

- ``hessian_precision="single"``: float32 Gram blocks of the rows less
  their block's mean (the package);
- the same with raw float32 rows (block means set to zero: the kernel before
  centring);
- ``hessian_precision="full"``: float64 blocks, the reference;

and, for each, the same shards with their rows shuffled within each shard
(which breaks up the alike rows of a block, not the shards).

    python -m benchmarks study alike-rows [--quick]
"""

import argparse
import time
from unittest import mock

import numpy as np

from sklearn_dingo import DingoSoftmaxRegression
from sklearn_dingo._backends import LocalBackend
from sklearn_dingo._data._training_data import training_data
from sklearn_dingo._objectives import GRAM_BLOCK_ROWS
from sklearn_dingo._shard import ShardData
from sklearn_dingo._solver._dingo import dingo

from ..common.layout_problems import make_problem

CONSTANTS = {
    "GRAM_BLOCK_ROWS": "sklearn_dingo._objectives._base",
    "SINGLE_PRECISION_MIN_ENTRIES": "sklearn_dingo._shard._subproblems",
}
N_SHARDS = 4


def raw_blocks(self):
    """The float32 copy with zero block means: Gram blocks of the raw rows."""
    n_blocks = -(-self.X.shape[0] // GRAM_BLOCK_ROWS)
    return self.X_single, np.zeros((n_blocks, self.X.shape[1]))


def shards_of(problem, shuffle_within, seed=0):
    """Every N_SHARDS-th row of the problem per shard, its rows in order or shuffled."""
    est = DingoSoftmaxRegression(C=problem.C, fit_intercept=True)
    data = training_data(problem.X, problem.y, None, backend="local")
    class_weights = est._fit_classes(data.classes, data.class_weight_sums)
    objective = est._make_objective(data.n_features, len(data.classes), float(np.sum(data.class_weight_sums)), est.C)
    Y = objective.encode_targets(np.searchsorted(data.classes, problem.y))
    s = class_weights[np.searchsorted(data.classes, problem.y)]
    rng = np.random.default_rng(seed)
    shards = []
    for j in range(N_SHARDS):
        rows = np.arange(j, problem.X.shape[0], N_SHARDS)
        if shuffle_within:
            rows = rng.permutation(rows)
        shards.append(ShardData(np.ascontiguousarray(problem.X[rows]), Y[rows], s[rows], float(s[rows].sum())))
    return objective, shards


def fit(problem, precision, raw, shuffle_within):
    objective, shards = shards_of(problem, shuffle_within)
    config = DingoSoftmaxRegression(
        C=problem.C, fit_intercept=True, tol=1e-8, max_iter=100, hessian_precision=precision
    )._config()
    patch = mock.patch.object(ShardData, "X_single_centred", property(raw_blocks)) if raw else mock.MagicMock()
    start = time.perf_counter()
    with patch, LocalBackend(shards) as backend:
        backend.rows_rebalanced = True
        result = dingo(backend, objective, config)
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks study alike-rows", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="problem a at its quick size")
    args = parser.parse_args(argv)
    problem = make_problem("a", "quick" if args.quick else "default").in_layout("feature")
    print(f"problem a, rows sorted by x_0, {problem.X.shape[0]:,} x {problem.X.shape[1]}, {N_SHARDS} shards of "
          "every 4th row, tol 1e-8")
    print(f"{'Gram blocks':<34} {'rows in shard':<14} {'iters':>5} {'rounds':>6} {'wall s':>7}  "
          "‖g‖ after each iteration")
    for label, precision, raw in (
        ("float32, centred (package)", "single", False),
        ("float32, raw rows (before)", "single", True),
        ("float64", "full", False),
    ):
        for shuffle_within in (False, True):
            result, seconds = fit(problem, precision, raw, shuffle_within)
            norms = " ".join(f"{v:.1e}" for v in result.history["grad_norm"][1:])
            order = "shuffled" if shuffle_within else "sorted"
            print(f"{label:<34} {order:<14} {result.n_iter:>5} {result.rounds:>6} {seconds:>7.2f}  {norms}")
