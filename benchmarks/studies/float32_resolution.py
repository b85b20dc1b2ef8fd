"""How far a float32 fit resolves the gradient, and where it stops.

Studies the resolution stop of the driver: ``RESOLUTION_STALL``,
``ROUNDING_FLOOR`` and ``ROUNDING_STALL`` (``sklearn_dingo/_solver/_resolution.py``).

Usage::

    python -m benchmarks study float32-resolution [--max-iter 60]

For bundled and generated problems, fits float32 data with ``tol=0`` (run to
the resolution stop) and with the default ``tol=1e-6``, and prints, side by
side: iterations, the stop reason, the gradient norm the fit reported (its
float32 products), and the gradient norm recomputed in float64 arithmetic on
the same float32 numbers at the fitted (float32) coefficients, which is what
the fit really reached. The ratio of the last two says how much of the
reported tail was rounding; the iterations say what the resolution stop
saves against running to ``max_iter``.
"""

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._objectives import BinaryLogistic, MultinomialSoftmax
from sklearn_dingo._shard import ShardData

CONSTANTS = {
    "RESOLUTION_STALL": "sklearn_dingo._solver._resolution",
    "ROUNDING_FLOOR": "sklearn_dingo._solver._resolution",
    "ROUNDING_STALL": "sklearn_dingo._solver._resolution",
}


def problems():
    """(name, X, y, estimator class) of the problems measured."""
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast cancer, standardised", StandardScaler().fit_transform(X), y, DingoLogisticRegression
    yield "breast cancer, raw scales", X, y, DingoLogisticRegression
    X, y = load_digits(return_X_y=True)
    yield "digits, standardised", StandardScaler().fit_transform(X), y, DingoSoftmaxRegression
    X, y = make_classification(50_000, 50, random_state=0)
    yield "generated 50,000 x 50", X, y, DingoLogisticRegression


def float64_gradient_norm(model, X32, y, C):
    """‖∇f‖ at the model's coefficients, in float64 arithmetic on the float32 data."""
    X = X32.astype(np.float64)
    classes, y_index = np.unique(y, return_inverse=True)
    n, d = X.shape
    if len(classes) == 2:
        objective = BinaryLogistic(n_features=d, fit_intercept=True, C=C, total_weight=float(n))
    else:
        objective = MultinomialSoftmax(
            n_features=d, n_classes=len(classes), fit_intercept=True, C=C, total_weight=float(n)
        )
    shard = ShardData(X, objective.encode_targets(y_index), np.ones(n), float(n))
    W = np.concatenate([model.coef_.T, model.intercept_[None, :]]).astype(np.float64)
    _, gradient = objective.loss_gradient(shard, W.ravel())
    return float(np.linalg.norm(objective.identifiable(np, gradient)))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks study float32-resolution", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--max-iter", type=int, default=60)
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args(argv)
    print(f"{'problem':<30} {'tol':>6} {'iters':>5} {'reported |g|':>13} {'float64 |g|':>12} {'|g0|':>9}  stop")
    for name, X, y, Estimator in problems():
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        for tol in (0.0, 1e-6):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = Estimator(C=args.C, tol=tol, max_iter=args.max_iter).fit(X32, y)
            history = model.history_["grad_norm"]
            print(
                f"{name:<30} {tol:>6g} {int(model.n_iter_[0]):>5} {history[-1]:>13.3e} "
                f"{float64_gradient_norm(model, X32, y, args.C):>12.3e} {history[0]:>9.3g}  {model.stop_reason_}"
            )
