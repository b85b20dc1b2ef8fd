"""Demo: DINGO beside scikit-learn on bundled real data and a larger generated problem.

For each problem it fits a DINGO estimator in-process (the embedded default),
prints its per-iteration convergence table, then fits scikit-learn's
``LogisticRegression`` on the same objective and prints how closely the two
agree (objective, coefficients, probabilities) and what each cost.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from . import DingoLogisticRegression, DingoSoftmaxRegression


def _objective(model, X, y, C):
    """scikit-learn's objective: mean log-loss + ‖coef‖² / (2 C n)."""
    proba = np.clip(model.predict_proba(X), 1e-300, None)
    index = np.searchsorted(model.classes_, y)
    loss = -np.mean(np.log(proba[np.arange(len(y)), index]))
    return loss + np.sum(model.coef_**2) / (2.0 * C * len(y))


def _problems(scale):
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast cancer (569 x 30, binary)", DingoLogisticRegression, StandardScaler().fit_transform(X), y, 1.0
    X, y = load_digits(return_X_y=True)
    yield "digits (1,797 x 64, 10 classes)", DingoSoftmaxRegression, X / 16.0, y, 1.0
    n = int(60_000 * scale)
    X, y = make_classification(
        n_samples=n, n_features=100, n_informative=40, n_classes=5, n_clusters_per_class=2, random_state=0
    )
    yield f"generated ({n:,} x 100, 5 classes)", DingoSoftmaxRegression, X, y, 10.0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_dingo", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor of the generated problem")
    args = parser.parse_args(argv)

    summary = []
    for name, Estimator, X, y, C in _problems(args.scale):
        print(f"\n=== {name}, C={C:g}")
        dingo = Estimator(C=C, tol=1e-8, max_iter=300, verbose=1)
        t0 = time.perf_counter()
        dingo.fit(X, y)
        t_dingo = time.perf_counter() - t0

        reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
        t0 = time.perf_counter()
        reference.fit(X, y)
        t_sklearn = time.perf_counter() - t0

        f_dingo, f_ref = _objective(dingo, X, y, C), _objective(reference, X, y, C)
        coef_gap = (
            np.max(np.abs(dingo.coef_ - reference.coef_)) if dingo.coef_.shape == reference.coef_.shape else np.nan
        )
        proba_gap = np.max(np.abs(dingo.predict_proba(X) - reference.predict_proba(X)))
        agree = np.mean(dingo.predict(X) == reference.predict(X))
        n_iter = int(dingo.n_iter_[0])
        print(
            f"DINGO: {n_iter} iterations, {dingo.n_communication_rounds_} communication rounds, "
            f"{t_dingo:.2f} s; "
            f"scikit-learn lbfgs: {int(np.max(reference.n_iter_))} iterations, {t_sklearn:.2f} s"
        )
        print(
            f"objective DINGO {f_dingo:.12f} vs scikit-learn {f_ref:.12f} (difference {f_dingo - f_ref:+.2e}); "
            f"max |coef diff| {coef_gap:.1e}; max |proba diff| {proba_gap:.1e}; same predictions {agree:.2%}"
        )
        summary.append((name, n_iter, dingo.n_communication_rounds_, f_dingo - f_ref, t_dingo, t_sklearn))

    print("\nproblem                                   iters  rounds  objective - sklearn's  DINGO s  sklearn s")
    for name, iters, rounds, gap, td, ts in summary:
        print(f"{name:<41} {iters:>5} {rounds:>7} {gap:>+22.2e} {td:>8.2f} {ts:>10.2f}")
    return 0
