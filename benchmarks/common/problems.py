"""The benchmark problems, generated with fixed seeds.

Every problem is a labelled data set plus the regularisation ``C`` at which
all solvers are compared (``fit_intercept=False`` everywhere: dask-ml
penalises its intercept, so an intercept would make the objectives differ).

=====  ===============================  =========  =======  =====  ===========  ===
key    kind                             n          d        K      density      C
=====  ===============================  =========  =======  =====  ===========  ===
1      binary dense, standardised       200,000    200      2      1            10
2      binary dense, unscaled columns   200,000    200      2      1            10
3      binary dense, wide               20,000     2,000    2      1            10
4      softmax dense                    60,000     784      10     1            10
5      binary sparse CSR                100,000    50,000   2      1e-3         10
6      softmax dense, many classes      100,000    300      20     1            1
7      binary sparse CSR, wide          200,000    100,000  2      40 per row   1
=====  ===============================  =========  =======  =====  ===========  ===

Problem 6 is the data of ``python -m benchmarks study pass-price`` (the same
generator and seed: problem 4's, with 20 classes), so that the figures of the
two agree. Problem 7 has 40 standard-normal entries per row in random columns
(a repeated column merges: a few rows have 39) and labels drawn through the
logistic link from a sparse coefficient vector (a tenth of the features).

``--quick`` shrinks every problem so that the whole run takes a minute or two
on two cores (for CI); the kinds, seeds and ``C`` stay the same.

Every problem also offers ``X_float32``, its X rounded to float32 (CSR: float32
data, the same indices), made once on first use: the float32 solvers fit it,
and their coefficients are judged on the float64 X like every other row's.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax

SEED = 20190105  # arXiv:1901.05134, the DINGO paper

# (n, d) of each problem, default and --quick.
SIZES = {
    "default": {
        1: (200_000, 200), 2: (200_000, 200), 3: (20_000, 2_000), 4: (60_000, 784), 5: (100_000, 50_000),
        6: (100_000, 300), 7: (200_000, 100_000),
    },
    # Small enough for CI, with shards (one per core/worker) much taller than
    # the number of parameters, so that every solver converges quickly.
    "quick": {
        1: (4_000, 20), 2: (4_000, 20), 3: (4_000, 100), 4: (3_000, 24), 5: (10_000, 500),
        # 6 and 7: scikit-learn's newton-cholesky (tol=1e-10) in about a second each on 2 cores
        6: (4_000, 12), 7: (5_000, 500),
    },
}
N_CLASSES = 10
DENSITY = {"default": 1e-3, "quick": 2e-2}
C_VALUE = 10.0
# Problems 6 and 7: C=1, as the pass-price study's fits (problem 6's data).
MANY_CLASSES = 20
C_VALUE_6_7 = 1.0
PASS_PRICE_SEED = SEED + 40  # benchmarks/studies/pass_price.py's make_data
NNZ_PER_ROW = 40  # problem 7, both sizes
SUPPORT_FRACTION = 0.1  # problem 7: features with a nonzero true coefficient


def stored_bytes(X):
    """Bytes of X as stored (CSR: data + indices + indptr)."""
    if sp.issparse(X):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(X.nbytes)


@dataclass
class Problem:
    key: int
    name: str
    description: str
    X: object  # ndarray or CSR matrix, float64
    y: np.ndarray  # int labels 0..K-1
    C: float
    n_classes: int = 2

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def sparse(self):
        return sp.issparse(self.X)

    @property
    def binary(self):
        return self.n_classes == 2

    @property
    def n_params(self):
        return self.n_features * (1 if self.binary else self.n_classes)

    @property
    def nbytes(self):
        """Bytes of X as stored (CSR: data + indices + indptr)."""
        return stored_bytes(self.X)

    @cached_property
    def X_float32(self):
        """X in float32 (CSR: float32 data, the same indices), kept once made.

        Made on first use: the benchmark touches it before any float32 fit, so
        that the conversion is neither timed nor counted in a fit's memory.
        """
        if self.sparse:
            return self.X.astype(np.float32)
        return np.ascontiguousarray(self.X, dtype=np.float32)

    @property
    def nbytes_float32(self):
        """Bytes of the float32 X as stored (CSR: data + indices + indptr)."""
        return stored_bytes(self.X_float32)

    def shape_text(self):
        text = f"n={self.n_samples:,}, d={self.n_features:,}"
        if not self.binary:
            text += f", K={self.n_classes}"
        if self.sparse:
            text += f", nnz={self.X.nnz:,}"
        return text


def correlated_standardised(rng, n, d):
    """Gaussian features with mild correlations, then standardised column-wise."""
    mix = np.eye(d) + 0.3 * rng.standard_normal((d, d)) / np.sqrt(d)
    X = rng.standard_normal((n, d)) @ mix
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    return np.ascontiguousarray(X)


def binary_labels(rng, X, margin_scale=3.0):
    d = X.shape[1]
    w = rng.standard_normal(d) * (margin_scale / np.sqrt(d))
    return (rng.random(X.shape[0]) < expit(X @ w)).astype(np.int64)


def softmax_labels(rng, X, n_classes):
    """One class per row, drawn from softmax(X W) with a random W (margins of scale 3)."""
    n, d = X.shape
    W = rng.standard_normal((d, n_classes)) * (3.0 / np.sqrt(d))
    P = softmax(X @ W, axis=1)
    # inverse-CDF sampling of one class per row
    y = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    return np.minimum(y, n_classes - 1).astype(np.int64)


def _sparse_rows(rng, n, d, per_row, values):
    """CSR of ``per_row`` entries in random columns per row (repeats merged), values from ``values(shape)``."""
    indices = rng.integers(0, d, size=(n, per_row))
    indices.sort(axis=1)
    data = values((n, per_row))
    X = sp.csr_matrix((data.ravel(), indices.ravel(), np.arange(0, n * per_row + 1, per_row)), shape=(n, d))
    X.sum_duplicates()  # a few repeated columns per row merge
    return X


def _dense_standardised(size, rng):
    n, d = SIZES[size][1]
    X = correlated_standardised(rng, n, d)
    return X, binary_labels(rng, X)


def make_problem(key, size="default"):
    """Problem ``key`` (1-5) at ``size`` ("default" or "quick")."""
    if key in (1, 2):
        X, y = _dense_standardised(size, np.random.default_rng(SEED + 1))
        if key == 1:
            return Problem(1, "dense-standardised", "binary dense, standardised features", X, y, C_VALUE)
        # Column scales log-uniform over three decades (1e-1.5 .. 1e1.5), as
        # raw features often come: same labels, badly conditioned Hessian.
        scales = 10.0 ** np.random.default_rng(SEED + 2).uniform(-1.5, 1.5, X.shape[1])
        X *= scales
        return Problem(
            2, "dense-unscaled", "binary dense, column scales spread over three decades", X, y, C_VALUE
        )
    if key == 3:
        rng = np.random.default_rng(SEED + 3)
        n, d = SIZES[size][3]
        X = correlated_standardised(rng, n, d)
        return Problem(3, "dense-wide", "binary dense, wide (n/d = 10)", X, binary_labels(rng, X), C_VALUE)
    if key in (4, 6):
        # problem 6: the pass-price study's seed and classes, so that its figures and these agree
        seed, n_classes = (SEED + 4, N_CLASSES) if key == 4 else (PASS_PRICE_SEED, MANY_CLASSES)
        rng = np.random.default_rng(seed)
        n, d = SIZES[size][key]
        X = correlated_standardised(rng, n, d)
        y = softmax_labels(rng, X, n_classes)
        if key == 4:
            return Problem(4, "softmax", f"softmax dense, {n_classes} classes", X, y, C_VALUE, n_classes=n_classes)
        return Problem(
            6, "softmax-many", f"softmax dense, {n_classes} classes", X, y, C_VALUE_6_7, n_classes=n_classes
        )
    if key == 5:
        rng = np.random.default_rng(SEED + 5)
        n, d = SIZES[size][5]
        per_row = max(1, round(DENSITY[size] * d))
        X = _sparse_rows(rng, n, d, per_row, lambda shape: rng.random(shape) + 0.1)  # positive, tf-idf-like
        w = rng.standard_normal(d) * 0.5
        y = (rng.random(n) < expit(X @ w)).astype(np.int64)
        return Problem(5, "sparse", f"binary sparse CSR, density {DENSITY[size]:g}", X, y, C_VALUE)
    if key == 7:
        rng = np.random.default_rng(SEED + 7)
        n, d = SIZES[size][7]
        X = _sparse_rows(rng, n, d, NNZ_PER_ROW, rng.standard_normal)
        # a row meets about 4 nonzero coefficients: margins of standard deviation about 3
        w = rng.standard_normal(d) * 1.5 * (rng.random(d) < SUPPORT_FRACTION)
        y = (rng.random(n) < expit(X @ w)).astype(np.int64)
        return Problem(
            7, "sparse-wide", f"binary sparse CSR, {NNZ_PER_ROW} nonzeros per row", X, y, C_VALUE_6_7
        )
    raise ValueError(f"unknown problem {key!r}; choose from 1-7.")
