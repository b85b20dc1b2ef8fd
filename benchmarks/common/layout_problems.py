"""Problems and row layouts of the layouts suite (``python -m benchmarks layouts``).

Two generated problems (fixed seeds, no network), in the style of
:mod:`.problems`: standardised, mildly correlated Gaussian features and labels
drawn from a random linear model.

=====  =====================================  =========  ====  ==  =============
key    kind                                   n          d     K   fit_intercept
=====  =====================================  =========  ====  ==  =============
a      softmax dense, labels from a softmax   200,000    40    5   True
b      binary dense                           300,000    50    2   False
=====  =====================================  =========  ====  ==  =============

Both at C=1. Problem b has no intercept because dask-ml penalises its
intercept (its objective would differ from everyone else's); dask-ml does not
run on problem a (binary only), so a keeps scikit-learn's unpenalised
intercept, and :func:`objective_with_intercept` judges every solver on it.

A *layout* is an order of the same rows. DINGO's shards are row blocks of the
data as given, so the layout decides how much the shards look like the whole:

* ``shuffled``: a random permutation (every shard a random sample);
* ``label``: stable sort by label (shards hold one or two classes);
* ``feature``: stable sort by the first feature (shards cover slices of it);
* ``clustered``: stable sort by a cluster id, the argmax of ``X[:, :4] @ M``
  with a fixed random 4 x 6 matrix M (k-means-like groups of rows).
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from .measure import objective_gradient
from .problems import SEED, Problem, binary_labels, correlated_standardised

LAYOUTS = ("shuffled", "label", "feature", "clustered")
# DINGO's variants, every layout fitted with each: its three ``rebalance``
# settings, and "plain", the method of the paper on the shards as given
# (rebalance=False, secant_memory=0: what this package did before it learnt
# to rebalance rows and correct directions), the reference of what they buy.
VARIANTS = ("auto", True, False, "plain")
PROBLEM_KEYS = ("a", "b")
N_CLASSES_A = 5
C_VALUE = 1.0
# (n, d) of each problem, default and --quick. The quick sizes keep every
# in-process and cluster fit of the script within a few minutes on 2 cores.
SIZES = {
    "default": {"a": (200_000, 40), "b": (300_000, 50)},
    "quick": {"a": (20_000, 20), "b": (30_000, 20)},
}
CLUSTER_FEATURES, N_CLUSTERS = 4, 6


@dataclass
class LayoutProblem(Problem):
    """A :class:`.problems.Problem` that also says whether it fits an intercept."""

    fit_intercept: bool = False
    layout: str = "generated"

    @property
    def n_params(self):
        return (self.n_features + self.fit_intercept) * (1 if self.binary else self.n_classes)

    def in_layout(self, layout):
        """The same rows in the order of ``layout`` (a copy of X and y)."""
        order = row_order(layout, self.X, self.y)
        return LayoutProblem(
            self.key, self.name, self.description, np.ascontiguousarray(self.X[order]), self.y[order],
            self.C, self.n_classes, self.fit_intercept, layout,
        )


def make_problem(key, size="default"):
    """Problem ``key`` ("a" or "b") at ``size`` ("default" or "quick"), rows in generation order.

    Parameters
    ----------
    key : {"a", "b"}
    size : {"default", "quick"}

    Returns
    -------
    LayoutProblem
    """
    n, d = SIZES[size][key]
    if key == "a":
        rng = np.random.default_rng(SEED + 11)
        X = correlated_standardised(rng, n, d)
        W = rng.standard_normal((d, N_CLASSES_A)) * (3.0 / np.sqrt(d))
        P = softmax(X @ W, axis=1)
        # inverse-CDF sampling of one class per row, as problems.py's problem 4
        y = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
        y = np.minimum(y, N_CLASSES_A - 1).astype(np.int64)
        return LayoutProblem(
            "a", "softmax5", f"softmax dense, {N_CLASSES_A} classes, with intercept", X, y, C_VALUE,
            n_classes=N_CLASSES_A, fit_intercept=True,
        )
    if key == "b":
        rng = np.random.default_rng(SEED + 12)
        X = correlated_standardised(rng, n, d)
        return LayoutProblem(
            "b", "binary", "binary dense, no intercept", X, binary_labels(rng, X), C_VALUE, fit_intercept=False
        )
    raise ValueError(f"unknown problem {key!r}; choose from {', '.join(PROBLEM_KEYS)}.")


def row_order(layout, X, y):
    """Indices that put the rows of (X, y) in ``layout``'s order.

    Sorts are stable, so rows with equal keys keep their (random) generation
    order: only the sort key makes shards differ.
    """
    if layout == "shuffled":
        return np.random.default_rng(SEED + 100).permutation(X.shape[0])
    if layout == "label":
        return np.argsort(y, kind="stable")
    if layout == "feature":
        return np.argsort(X[:, 0], kind="stable")
    if layout == "clustered":
        centres = np.random.default_rng(SEED + 101).standard_normal((CLUSTER_FEATURES, N_CLUSTERS))
        cluster_id = np.argmax(X[:, :CLUSTER_FEATURES] @ centres, axis=1)
        return np.argsort(cluster_id, kind="stable")
    raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}.")


class ObjectiveJudge:
    """scikit-learn's objective of one problem, evaluated independently of every solver.

    Without an intercept: :func:`.measure.objective_gradient`. With one, the
    same function on ``[X, 1]`` with the intercept as the last coefficient row,
    minus the penalty it puts on the intercept (scikit-learn and this package
    do not penalise it): ``f = mean log-loss + ||coef||^2 / (2 C n)``.
    Coefficients do not depend on the row order, so every fit is judged on
    the rows in generation order.
    """

    def __init__(self, problem):
        self.problem = problem
        self._X = problem.X
        if problem.fit_intercept:
            self._X = np.hstack([problem.X, np.ones((problem.n_samples, 1))])

    def __call__(self, coef, intercept=None):
        """Objective value and gradient 2-norm at (coef, intercept).

        Parameters
        ----------
        coef : ndarray of shape (d,), (1, d) or (K, d)
        intercept : ndarray of shape (K,) or None
            Required when the problem fits an intercept.

        Returns
        -------
        f : float
        grad_norm : float
        """
        p = self.problem
        if not p.fit_intercept:
            f, G = objective_gradient(self._X, p.y, coef, p.C, p.n_classes)
            return f, float(np.sqrt((G * G).sum()))
        coef = np.asarray(coef, dtype=np.float64).reshape(-1, p.n_features)
        intercept = np.asarray(intercept, dtype=np.float64).reshape(coef.shape[0], 1)
        f, G = objective_gradient(self._X, p.y, np.hstack([coef, intercept]), p.C, p.n_classes)
        scale = p.C * p.n_samples
        f -= float(np.sum(intercept * intercept)) / (2.0 * scale)
        G[-1] -= intercept[:, 0] / scale  # the intercept row of the (d + 1, K) gradient
        return f, float(np.sqrt((G * G).sum()))
