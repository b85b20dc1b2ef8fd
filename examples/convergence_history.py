"""Convergence history and communication of a DINGO fit, next to scikit-learn.

Fits DingoSoftmaxRegression on scikit-learn's digits with 1 and 2 shards and
prints, per iteration, the cumulative communication rounds, the bytes sent
each way, the case DINGO took and the gradient norm; then compares the
solution with scikit-learn's LogisticRegression on the same objective.

One shard is Newton-MR and converges in a handful of iterations. Two shards
of about 900 rows for 650 parameters show DINGO's weakness with small shards
(their local Hessians differ from the global one): progress slows to short
steps and the iteration budget ends first, with a ConvergenceWarning.

Run: ``python examples/convergence_history.py`` (pandas optional, for the table).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoSoftmaxRegression

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

for n_shards in (1, 2):
    model = DingoSoftmaxRegression(C=1.0, tol=1e-8, n_shards=n_shards, max_iter=60).fit(X, y)
    print(f"\n{n_shards} shard(s): {model.n_iter_[0]} iterations, {model.n_communication_rounds_} rounds, "
          f"stop: {model.stop_reason_}")
    try:
        import pandas as pd

        print(pd.DataFrame(model.history_)[["iteration", "rounds", "bytes_down", "bytes_up", "case", "step_size", "grad_norm"]].to_string(index=False))
    except ImportError:
        for row in zip(*(model.history_[c] for c in ("iteration", "rounds", "case", "grad_norm"))):
            print(*row)

reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
print("\nmax |coef - scikit-learn's coef|:", np.max(np.abs(model.coef_ - reference.coef_)))
print("same predictions:", np.mean(model.predict(X) == reference.predict(X)))
