"""In-memory training data: shards that mix rows, so that sorted rows cost no extra rounds.

Rows sorted by label or by a feature make contiguous shards that disagree
(ALGORITHM.md §6). The estimators' in-memory shards take every m-th row
(views of dense X, no copy), so the fit on sorted rows needs the iterations
of the fit on shuffled rows and reaches the same optimum; with
``rebalance=False`` the rows stay in their blocks and the driver's secant
correction keeps the rounds bounded.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from _data import make_informative as make_data  # 20,000 x 30 (10 informative), 2 or 4 classes
from _estimator_refs import objective
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
from sklearn_dingo._data._training_data import InMemoryTrainingData, n_shards_for

# DINGO's vector rounds: these tests are about how its shards agree (the
# aggregated-Hessian step does not depend on the layout; test_newton.py).
TIGHT = dict(C=1.0, tol=1e-8, max_iter=100, aggregate_hessian=False)


def arranged(X, y, layout):
    """Rows shuffled, sorted by label (stable), or sorted by the first feature."""
    if layout == "shuffled":
        order = np.random.default_rng(0).permutation(len(y))
    elif layout == "label":
        order = np.argsort(y, kind="stable")
    else:
        order = np.argsort(X[:, 0], kind="stable")
    return np.ascontiguousarray(X[order]), y[order]


ESTIMATORS = {"binary": DingoLogisticRegression, "softmax": DingoSoftmaxRegression}


def reference_objective(est, X, y):
    return objective(est.coef_, est.intercept_, X, y, C=est.C, binary=len(est.classes_) == 2)


@pytest.fixture(scope="module", params=["binary", pytest.param("softmax", marks=pytest.mark.slow)])
def problem(request):
    kind = request.param
    X, y = make_data(kind)
    Xs, ys = arranged(X, y, "shuffled")
    fits = {n_shards: ESTIMATORS[kind](n_shards=n_shards, **TIGHT).fit(Xs, ys) for n_shards in (None, 4, 8)}
    sklearn_fit = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X, y)
    return kind, X, y, fits, reference_objective(sklearn_fit, X, y)


@pytest.mark.parametrize("n_shards", [None, 4, 8])
@pytest.mark.parametrize("layout", ["label", "feature"])
def test_sorted_rows_take_the_iterations_of_shuffled_rows(problem, layout, n_shards):
    kind, X, y, shuffled_fits, f_sklearn = problem
    shuffled = shuffled_fits[n_shards]
    Xs, ys = arranged(X, y, layout)
    est = ESTIMATORS[kind](n_shards=n_shards, **TIGHT).fit(Xs, ys)
    assert est.converged_
    assert est.n_iter_ <= shuffled.n_iter_ + 2
    assert est.shard_disagreement_ < 0.3  # mixed from the start
    assert not est.rebalanced_  # nothing had to move
    f_sorted, f_shuffled = reference_objective(est, X, y), reference_objective(shuffled, X, y)
    assert abs(f_sorted - f_shuffled) <= 1e-10 * abs(f_shuffled)
    assert f_sorted <= f_sklearn + 1e-10 * abs(f_sorted)  # and it is scikit-learn's optimum


def fit_peak_allocation(est, X, y):
    """Peak bytes allocated (tracemalloc) during ``est.fit(X, y)``, after a warm-up fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a short budget: not what is measured
        est.fit(X[::50], y[::50])  # imports and caches outside the measurement
        tracemalloc.start()
        try:
            est.fit(X, y)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.mark.slow  # 60,000 x 100, traced
@pytest.mark.parametrize("Est", [DingoLogisticRegression, DingoSoftmaxRegression], ids=["binary", "softmax"])
def test_dense_X_is_not_copied(Est):
    """Mixed shards (every m-th row) allocate no more than row blocks do: far below a copy of X.

    Sorted rows, d = 100 and shards of 15,000 rows, so that the per-row
    working arrays (margins, trial residuals: a few times n·K floats) and
    the 2,048-row blocks the explicit Hessian weights one at a time stay
    small against X; ``hessian_precision="full"``, since on shards this
    large "auto" keeps a float32 copy for the local Hessians (documented,
    half of X), which is not what is measured here.
    """
    X, y = make_data("binary" if Est is DingoLogisticRegression else "softmax", n=60_000, d=100)
    X, y = arranged(X, y, "label")
    params = dict(n_shards=4, hessian_precision="full", tol=1e-6, max_iter=10)
    mixed = fit_peak_allocation(Est(rebalance="auto", **params), X, y)
    blocks = fit_peak_allocation(Est(rebalance=False, **params), X, y)
    assert mixed <= 1.1 * blocks + 1e6
    assert mixed < 0.8 * X.nbytes, mixed / X.nbytes  # a copy of X alone would be 1.0


@pytest.mark.parametrize("layout", ["label", "feature"])
def test_rows_kept_in_place_still_converge(layout):
    """rebalance=False: contiguous blocks of sorted rows; the secant correction bounds the rounds."""
    X, y = make_data("binary")
    shuffled = DingoLogisticRegression(n_shards=4, **TIGHT).fit(*arranged(X, y, "shuffled"))
    Xs, ys = arranged(X, y, layout)
    est = DingoLogisticRegression(n_shards=4, rebalance=False, **TIGHT).fit(Xs, ys)
    assert est.converged_ and est.history_["grad_norm"][-1] <= 1e-8
    assert est.n_communication_rounds_ <= 4 * shuffled.n_communication_rounds_
    assert est.shard_disagreement_ > 0.3
    assert 4 in est.history_["case"]  # corrected directions were taken
    assert np.all(np.diff(est.history_["grad_norm"]) < 0)
    f, f_ref = reference_objective(est, X, y), reference_objective(shuffled, X, y)
    assert abs(f - f_ref) <= 1e-10 * abs(f_ref)


def test_shards_that_agree_run_dingo_unchanged():
    """On shuffled rows the correction never engages: every direction is DINGO's case 1, 2 or 3."""
    X, y = make_data("softmax")
    for n_shards in (2, 8):
        est = DingoSoftmaxRegression(n_shards=n_shards, rebalance=False, **TIGHT).fit(*arranged(X, y, "shuffled"))
        assert set(est.history_["case"][1:]) <= {1, 2, 3}


@pytest.mark.parametrize("rebalance", ["auto", True, False])
def test_sparse_rows_are_copied_only_when_it_pays(rebalance):
    X, y = make_data("binary", n=8_000)
    X[np.abs(X) < 0.8] = 0.0
    Xs, ys = arranged(X, y, "label")
    Xs = sp.csr_matrix(Xs)
    shuffled = DingoLogisticRegression(n_shards=4, **TIGHT).fit(
        sp.csr_matrix(arranged(X, y, "shuffled")[0]), arranged(X, y, "shuffled")[1]
    )
    est = DingoLogisticRegression(n_shards=4, rebalance=rebalance, **TIGHT).fit(Xs, ys)
    assert est.converged_
    nbytes = Xs.data.nbytes + Xs.indices.nbytes + Xs.indptr.nbytes
    moved = est.history_["bytes_moved"][-1]
    if rebalance == "auto":  # views first; the disagreement seen in an iteration makes it copy
        assert est.rebalanced_ and moved == nbytes and est.shard_disagreement_ > 0.3
        assert est.n_iter_ <= shuffled.n_iter_ + 3
    elif rebalance is True:  # copied before the first round
        assert est.rebalanced_ and moved == nbytes and est.shard_disagreement_ < 0.3
        assert est.n_iter_ <= shuffled.n_iter_ + 2
    else:
        assert not est.rebalanced_ and moved == 0 and est.shard_disagreement_ > 0.3


def test_n_shards_rule():
    assert n_shards_for(10_000, 10, None, parallelism=8) == 8
    assert n_shards_for(10_000, 100, None, parallelism=8) == 2  # 50 rows per parameter
    assert n_shards_for(100, 100, None, parallelism=8) == 1
    assert n_shards_for(100, 100, 7, parallelism=1) == 7
    with pytest.raises(ValueError, match="n_shards=101 is larger than the number of samples"):
        n_shards_for(100, 1, 101, parallelism=1)


def test_training_data_answers_the_questions_of_fit():
    import pandas as pd

    X, y = make_data("softmax", n=300, d=12)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)])
    s = np.linspace(0.5, 2.0, 300)
    data = InMemoryTrainingData(frame, np.array(["abcd"[k] for k in y]), s, backend="local")
    assert data.n_features == 12
    assert list(data.feature_names) == [f"x{i}" for i in range(12)]
    np.testing.assert_array_equal(data.classes, ["a", "b", "c", "d"])
    np.testing.assert_allclose(data.class_weight_sums, [s[y == k].sum() for k in range(4)])
    assert InMemoryTrainingData(X, y, None, backend="local").feature_names is None


@pytest.mark.parametrize("value", ["yes", 1, 0, None, "Auto"])
def test_bad_rebalance_is_refused(value):
    X, y = make_data("binary", n=200, d=12)
    with pytest.raises(ValueError, match=r"The 'rebalance' parameter of DingoLogisticRegression must be"):
        DingoLogisticRegression(rebalance=value).fit(X, y)
