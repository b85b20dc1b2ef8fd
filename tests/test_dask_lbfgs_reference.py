"""The benchmarks' SciPy L-BFGS-B over Dask (``benchmarks/common/dask_lbfgs.py``) against scikit-learn.

* One evaluation of (f, ∇f), over several Dask chunks, equals scikit-learn's
  ``LinearModelLoss.loss_gradient`` with ``l2_reg_strength = 1 / (C n)``
  (what ``LogisticRegression(solver="lbfgs")`` minimises), binary and
  3-class, with and without intercept.
* A fit on the session's ``LocalCluster`` finds ``LogisticRegression``'s
  coefficients, and submits exactly one graph per evaluation (counted by the
  scheduler, independently of the solver's own count).
"""

import dask.array as da
import numpy as np
import pytest
from distributed import wait
from numpy.testing import assert_allclose
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._linear_loss import LinearModelLoss

from _benchmarks import BENCHMARKS, bench, needs_benchmarks
from _clusters import counted_graphs

pytestmark = needs_benchmarks
dask_lbfgs = bench("common.dask_lbfgs") if BENCHMARKS.is_dir() else None

C = 0.7
CHUNKS = 70  # 200 rows: three chunks, the last one short


def make_data(n_classes, n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d)
    W = rng.standard_normal((d, n_classes))
    logits = X @ W + rng.gumbel(size=(n, n_classes))
    y = np.argmax(logits, axis=1)
    labels = np.array([-3, 4, 10])[:n_classes]  # labels that are not their indices
    return X, labels[y], labels


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_one_evaluation_equals_sklearns_linear_model_loss(n_classes, fit_intercept):
    X, y, classes = make_data(n_classes)
    n, d = X.shape
    fun = dask_lbfgs.DaskLossGradient(
        da.from_array(X, chunks=(CHUNKS, d)),
        da.from_array(y, chunks=CHUNKS),
        classes=classes,
        C=C,
        fit_intercept=fit_intercept,
        scheduler="synchronous",
    )
    binary = n_classes == 2
    n_dof = d + int(fit_intercept)
    w = np.random.default_rng(1).standard_normal(n_dof * (1 if binary else n_classes))
    f, grad = fun(w)
    assert fun.n_evaluations == 1

    if binary:
        loss = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=fit_intercept)
        target = (y == classes[1]).astype(np.float64)
        coef = w
    else:
        loss = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=n_classes), fit_intercept=fit_intercept)
        target = np.searchsorted(classes, y).astype(np.float64)
        coef = w  # scikit-learn's flat layout: the classes of one feature contiguous
    f_ref, grad_ref = loss.loss_gradient(coef, X, target, l2_reg_strength=1.0 / (C * n))
    assert abs(f - f_ref) <= 1e-12 * abs(f_ref)
    assert grad.shape == grad_ref.shape
    assert_allclose(grad, grad_ref, rtol=1e-11, atol=1e-14 * np.abs(grad_ref).max())


def test_bad_inputs_are_refused():
    X, y, classes = make_data(3)
    Xd, yd = da.from_array(X, chunks=(CHUNKS, 5)), da.from_array(y, chunks=CHUNKS)
    with pytest.raises(ValueError, match="sorted"):
        dask_lbfgs.DaskLossGradient(Xd, yd, classes=classes[::-1], C=C, fit_intercept=False)
    with pytest.raises(ValueError, match="column"):
        dask_lbfgs.DaskLossGradient(da.from_array(X, chunks=(CHUNKS, 2)), yd, classes=classes, C=C, fit_intercept=False)
    with pytest.raises(ValueError, match="chunks"):
        dask_lbfgs.DaskLossGradient(Xd, da.from_array(y, chunks=50), classes=classes, C=C, fit_intercept=False)
    fun = dask_lbfgs.DaskLossGradient(Xd, yd, classes=classes[:2], C=C, fit_intercept=False, scheduler="synchronous")
    with pytest.raises(ValueError, match="outside classes"):
        fun(np.zeros(5))


@pytest.mark.cluster
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_cluster_fit_matches_logistic_regression_one_graph_per_evaluation(client, n_classes, fit_intercept):
    X, y, classes = make_data(n_classes, n=600, d=5, seed=2)
    Xd, yd = client.persist([da.from_array(X, chunks=(300, 5)), da.from_array(y, chunks=300)])
    wait([Xd, yd])  # persist returns at once: its graph must reach the scheduler before the counting
    with counted_graphs(client) as graphs:
        result = dask_lbfgs.fit_lbfgs_over_dask(
            Xd, yd, classes=classes, C=C, fit_intercept=fit_intercept, tol=1e-10, max_iter=1000
        )
        submitted = len(graphs())
    assert result.converged, result.message
    assert result.n_evaluations >= result.n_iter >= 1
    assert submitted == result.n_evaluations

    ref = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-10, max_iter=1000).fit(X, y)
    K = 1 if n_classes == 2 else n_classes
    assert result.coef.shape == ref.coef_.shape == (K, 5)
    assert result.intercept.shape == (K,)
    scale = np.abs(ref.coef_).max()
    assert_allclose(result.coef, ref.coef_, rtol=1e-5, atol=1e-5 * scale)
    if fit_intercept:
        assert_allclose(result.intercept, ref.intercept_, rtol=1e-5, atol=1e-5 * scale)
    else:
        assert not result.intercept.any()
