"""The training data of a fit: the same few questions for every input kind.

``fit`` asks its training data for the features (their number and names),
the classes and the weight of each class, and then for a backend holding
shards of the data for one objective and one set of class weights. Each input
kind answers in its own way:

- :class:`InMemoryTrainingData`: NumPy arrays, SciPy sparse matrices and
  array API arrays, validated here; shards are row views in this process
  (or blocks sent to the active Dask client with ``backend="dask"``);
- :class:`DaskTrainingData`: Dask arrays and dataframes, summarised on the
  cluster where they live (:mod:`._dask_collections`); shards are
  built from their row chunks (:mod:`._dask_layout`) on the
  workers, or, with no distributed client, from the chunks computed into
  this process.

The shards are built for an objective (its encoding of the targets) and the
class weights, so that one training-data object can serve several fits.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y

from .._array_api import from_numpy, to_numpy
from .._backends import LocalBackend, available_cores, is_dask_input, row_slices, shards_and_rows
from ._validation import check_sample_weight, feature_names_of, input_namespace

#: Values of the estimators' ``rebalance`` parameter.
REBALANCE_OPTIONS = ("auto", True, False)

# Default sharding: one shard per core (or Dask worker thread), but never
# shards so small that their local Hessians stop resembling the global one
# (ALGORITHM.md §6). `python -m benchmarks study n-shards` measured rounds and time
# against the rows per parameter of a shard; below this ratio the extra
# iterations cost more than the parallelism gains.
MIN_ROWS_PER_PARAM = 50
# On a cluster that rule alone merged the two 50,000-row chunks of a 20-class
# softmax problem (D = 6,000) into one shard: one worker thread computed while
# the other waited (2-worker LocalCluster: one shard 5.3-5.8 s, two 3.2-3.3 s).
# In process one shard still uses every core (BLAS's threads, row blocks of
# sparse products). So Dask inputs keep one shard per worker thread holding
# chunks as long as each has CLUSTER_MIN_ROWS_PER_COLUMN rows per column of
# X̃ (a softmax shard's local Hessian is K-1 weighted Gram blocks of the same
# rows, so rows per column, not per parameter, say how well it resembles
# the global one). Measured, two shards against one: 50,000 x 300, K = 20
# (167 rows per column): 3.3 s against 5.3; 30,000 x 784, K = 10 (38 per
# column): 3.9-6.9 s and 11-15 iterations against 4.4-4.9 s and 7-8; binary
# 10,000 x 2,000 (5 per column): 2.1 s against 1.7.
CLUSTER_MIN_ROWS_PER_COLUMN = 50


def training_data(X, y, sample_weight, *, backend, estimator=None):
    """The training data of ``fit(X, y, sample_weight)`` for its input kind.

    Parameters
    ----------
    X, y, sample_weight
        As given to ``fit``.
    backend : {"auto", "local", "dask"}
        The estimator's ``backend``.
    estimator : object, optional
        Named in validation messages.

    Returns
    -------
    TrainingData
    """
    if is_dask_input(X, y, sample_weight):
        return DaskTrainingData(X, y, sample_weight, backend=backend)
    return InMemoryTrainingData(X, y, sample_weight, backend=backend, estimator=estimator)


def n_shards_for(n_samples, n_params, n_shards, parallelism):
    """Shards to cut ``n_samples`` in-memory rows into.

    ``n_shards`` if given; otherwise one per unit of ``parallelism``, but no
    more than keeps :data:`MIN_ROWS_PER_PARAM` rows per parameter in a shard.
    """
    if n_shards is not None:
        if n_shards > n_samples:
            raise ValueError(
                f"n_shards={n_shards} is larger than the number of samples "
                f"({n_samples}); use at most {n_samples} shards."
            )
        return int(n_shards)
    largest = max(1, n_samples // (MIN_ROWS_PER_PARAM * n_params))
    return max(1, min(parallelism, largest))


@dataclass(frozen=True)
class ResultFormat:
    """Precision, array namespace and device of the fitted attributes.

    scikit-learn's convention: attributes fitted on float32 data are float32,
    and under array API dispatch they live in the input's namespace and on
    its device. The solver's vectors stay host float64 NumPy throughout.

    Parameters
    ----------
    namespace : module
        Array API namespace of the attributes.
    dtype : {np.float32, np.float64}
        Their floating precision (as a NumPy type).
    like : array or None
        An array on the device to use (None: the namespace's default).
    """

    namespace: Any
    dtype: Any
    like: Any = None

    def __call__(self, values):
        """Host floats as a new C-contiguous array of this format."""
        values = np.array(values, dtype=self.dtype, order="C")
        return from_numpy(values, self.namespace, like=self.like)

    def indices(self, values):
        """Host integers as an int32 array of this format (as scikit-learn's ``n_iter_``)."""
        return from_numpy(np.asarray(values, dtype=np.int32), self.namespace, like=self.like)


class TrainingData(ABC):
    """What ``fit`` asks of its training data.

    Attributes
    ----------
    n_features : int
    feature_names : ndarray of str or None
        Names of the features when the input has string column names.
    classes : ndarray
        The sorted distinct labels.
    class_weight_sums : ndarray of shape (n_classes,)
        Sum of the sample weights of each class (before class weights).
    result_format : ResultFormat
        Precision, namespace and device the fitted attributes take.
    """

    n_features: int
    feature_names: object
    classes: np.ndarray
    class_weight_sums: np.ndarray
    result_format: ResultFormat

    @abstractmethod
    def labels(self):
        """The labels of every row, in row order, in this process (for cross-validation splits)."""

    @abstractmethod
    def sample_weights(self):
        """The sample weights of every row in this process, or None if none were given."""

    @abstractmethod
    def shards(self, objective, class_weights, *, n_shards=None, rebalance="auto"):
        """A backend holding shards of these data for ``objective``.

        Parameters
        ----------
        objective : LinearObjective
            Encodes the targets of the shards.
        class_weights : ndarray of shape (n_classes,)
            Multiplied into the sample weights.
        n_shards : int or None
            The estimator's ``n_shards``.
        rebalance : {"auto", True, False}
            The estimator's ``rebalance``: whether rows may be rebalanced
            across shards (now, when free, or later, when the driver decides
            that moving them pays).

        Returns
        -------
        ShardBackend
            To be used as a context manager.
        """


class InMemoryTrainingData(TrainingData):
    """NumPy, SciPy sparse or array API training data, validated as scikit-learn does.

    X is used in float64, or float32 if given so (never copied to float64),
    dense C-contiguous in its own namespace under ``array_api_dispatch``,
    sparse as CSR. Labels and weights are kept on
    the host.
    """

    def __init__(self, X, y, sample_weight, *, backend, estimator=None):
        xp = input_namespace(X)
        self.feature_names = feature_names_of(X)
        X, y = check_X_y(
            X, y, accept_sparse="csr", dtype=[xp.float64, xp.float32], order="C", y_numeric=False,
            estimator=estimator,
        )
        y = to_numpy(y)
        check_classification_targets(y)
        self.X = X
        self.n_features = X.shape[1]
        float32 = X.dtype == (np.float32 if sp.issparse(X) else xp.float32)
        self.result_format = ResultFormat(xp, np.float32 if float32 else np.float64, None if sp.issparse(X) else X)
        self.classes, self.y_index = np.unique(y, return_inverse=True)
        self.sample_weight = check_sample_weight(
            None if sample_weight is None else to_numpy(sample_weight), y
        )
        self.weighted = sample_weight is not None
        self.class_weight_sums = np.bincount(
            self.y_index, weights=self.sample_weight, minlength=len(self.classes)
        )
        self.backend = backend

    def labels(self):
        return self.classes[self.y_index]

    def sample_weights(self):
        return self.sample_weight if self.weighted else None

    def shards(self, objective, class_weights, *, n_shards=None, rebalance="auto"):
        X = self.X
        Y = from_numpy(objective.encode_targets(self.y_index), input_namespace(X), like=X)
        weights = self.sample_weight * np.asarray(class_weights)[self.y_index]
        weights = from_numpy(weights, input_namespace(X), like=X)
        n = X.shape[0]
        if self.backend == "dask":
            from .._backends.dask import DaskBackend, cluster_threads, get_active_client

            client = get_active_client()
            m = n_shards_for(n, objective.n_params, n_shards, cluster_threads(client))
            # The rows travel to the workers anyway: sending strided blocks costs nothing more.
            rows = row_slices(n, m, strided=rebalance is not False)
            return DaskBackend.from_numpy(client, X, Y, weights, rows)
        m = n_shards_for(n, objective.n_params, n_shards, available_cores())
        return LocalBackend.from_arrays(X, Y, weights, m, rebalance=rebalance)


class DaskTrainingData(TrainingData):
    """Dask arrays or dataframes, summarised where they live.

    On the active distributed client (unless ``backend="local"``) the inputs
    are persisted once on the cluster, checked and summarised there, and the
    shards are built on the workers that hold the rows of X. Without a
    client, Dask's local scheduler computes them into this process.
    """

    def __init__(self, X, y, sample_weight, *, backend):
        from .._backends.dask import active_client_or_none, get_active_client
        from ._dask_collections import read_training_data

        client = active_client_or_none()
        if backend == "dask" and client is None:
            client = get_active_client()  # raises, saying how to start one
        self.client = client if backend != "local" else None
        self.inputs, self.classes, self.class_weight_sums = read_training_data(
            X, y, sample_weight, client=self.client
        )
        self.n_features = self.inputs.X.shape[1]
        self.result_format = ResultFormat(np, np.float32 if self.inputs.X.dtype == np.float32 else np.float64)
        self.feature_names = self.inputs.feature_names
        check_classification_targets(self.classes)

    def _computed(self, collection):
        if self.client is not None:
            return np.asarray(self.client.compute(collection).result())
        return np.asarray(collection.compute())

    def labels(self):
        return self._computed(self.inputs.y)

    def sample_weights(self):
        if self.inputs.sample_weight is None:
            return None
        return self._computed(self.inputs.sample_weight).astype(np.float64)

    def shards(self, objective, class_weights, *, n_shards=None, rebalance="auto"):
        from .._backends.dask import DaskBackend
        from ._dask_collections import encode_targets
        from ._dask_layout import compute_in_process, shard_parts

        inputs = self.inputs
        class_weights = np.asarray(class_weights, dtype=np.float64)
        merging = dict(n_params=objective.n_params, n_outputs=objective.n_outputs)
        if n_shards is None:
            merging["min_rows"] = MIN_ROWS_PER_PARAM * objective.n_params
        else:
            merging["max_shards"] = n_shards
        if self.client is not None:
            if n_shards is None:
                threads = sum(inputs.threads.get(address, 1) for address in set(inputs.workers))
                per_thread = -(-int(inputs.X.shape[0]) // max(threads, 1))
                floor = max(per_thread, CLUSTER_MIN_ROWS_PER_COLUMN * objective.n_rows)
                merging["min_rows"] = min(merging["min_rows"], floor)
            # The labels are encoded by the tasks that build the shards: the
            # whole setup after reading is one batch (one link round trip).
            placed = shard_parts(inputs, inputs.y, inputs.sample_weight, **merging)
            return DaskBackend.from_chunks(
                self.client, *placed, encoding=(self.classes, class_weights, objective)
            )
        Y, weights = encode_targets(
            inputs.y, inputs.sample_weight, self.classes, class_weights, objective
        )
        X, Y, weights, bounds = compute_in_process(inputs.X, Y, weights, **merging)
        if rebalance is False:
            shards, rows = shards_and_rows(X, Y, weights, bounds)
            return LocalBackend(shards, row_selections=rows)  # the merged chunks as they are
        # In memory, the merged chunks only fix the number of shards; their
        # rows are rebalanced as for any in-memory data.
        return LocalBackend.from_arrays(X, Y, weights, len(bounds) - 1, rebalance=rebalance)
