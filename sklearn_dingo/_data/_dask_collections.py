"""Dask collections in and out: inputs, target summary, label encoding, lazy prediction.

The estimators' training data (:class:`~sklearn_dingo._data._training_data.DaskTrainingData`)
hand Dask collections here and get back aligned Dask arrays, NumPy summaries
(classes, weight sums) or located row blocks, which :mod:`._dask_layout`
groups into shards for the engine (:mod:`sklearn_dingo._backends.dask`);
predictions come back as lazy Dask arrays. Only small summaries ever travel
to the client, never X.
"""

import math
import uuid
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from .._array_api import get_namespace, to_numpy
from .._backends.dask import (
    DaskBackend,
    PlacedTask,
    ReplyChannel,
    block_holders,
    encoded_targets,
    row_block_futures,
    thread_groups,
    whole,
)
from ._dask_layout import shard_parts

__all__ = [
    "DaskInputs",
    "as_dask_features",
    "dask_backend_from_arrays",
    "align_rows",
    "encode_targets",
    "map_rows",
    "located_row_blocks",
    "read_training_data",
]


# -- training inputs --------------------------------------------------------------
# With a client, the inputs are persisted once (a file read or DataFrame
# pipeline runs once per fit) and the rows of X then stay on the workers that
# hold them: every task that reads a block of X depends on that block alone
# (Dask then runs it where the block is) or is pinned to that block's worker.
# Only the merging of chunks too small to be shards moves rows of X.


@dataclass
class DaskInputs:
    """Aligned training inputs, X's row counts known.

    Attributes
    ----------
    X : dask.array.Array of shape (n, d)
        Float64, one column chunk, known row chunks.
    y : dask.array.Array of shape (n,)
    sample_weight : dask.array.Array of shape (n,) or None
        Aligned with X's row chunks.
    feature_names : ndarray of str or None
    blocks : list of distributed.Future or None
        With a client: X's persisted row blocks, in row order.
    workers : list of str or None
        With a client: the worker holding each block.
    threads : dict of str to int or None
        With a client: every worker's threads.
    """

    X: object
    y: object
    sample_weight: object
    feature_names: object
    blocks: list = None
    workers: list = None
    threads: dict = None


def feature_names_of(X):
    """String column names of a Dask DataFrame, or None (a Series is refused as X)."""
    import dask.dataframe as dd

    if isinstance(X, dd.Series):
        raise ValueError(
            "Expected a 2-D Dask array or Dask DataFrame for X, got a Dask Series; "
            "use X.to_frame() for a single feature."
        )
    if isinstance(X, dd.DataFrame):
        columns = list(X.columns)
        if columns and all(isinstance(c, str) for c in columns):
            return np.asarray(columns, dtype=object)
    return None


def as_dask_features(X):
    """X as a 2-D float64 (or float32) Dask array with one column chunk, and its feature names (or None).

    Nothing is computed: row counts of a DataFrame stay unknown (fitting
    reads them off the blocks; lazy prediction does not need them).
    """
    import dask.array as da

    feature_names = feature_names_of(X)
    X = _as_array(X)
    if not isinstance(X, da.Array):
        X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array for X, got a {X.ndim}-D Dask array of shape {X.shape}.")
    if X.dtype not in (np.float32, np.float64):  # float32 stays float32, as scikit-learn keeps it
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X, feature_names


def _as_array(v):
    """A Dask DataFrame or Series as a Dask array of unknown row counts; anything else as given.

    Never ``to_dask_array(lengths=True)``: on a column selection it counts the
    rows of dask's optimised expression, whose partitions need not be those
    of the collection (dask/dask#12411).
    """
    import dask.dataframe as dd

    return v.to_dask_array() if isinstance(v, (dd.DataFrame, dd.Series)) else v


def _one_column(name, v):
    """The single column of a Dask DataFrame given as y or weights."""
    import dask.dataframe as dd

    if isinstance(v, dd.DataFrame):
        if len(v.columns) != 1:
            raise ValueError(f"{name} must be 1-D, got a Dask DataFrame with {len(v.columns)} columns.")
        v = v[v.columns[0]]
    return v


def _as_rows(name, v, row_chunks):
    """A 1-D Dask array aligned with the row chunks of X."""
    import dask.array as da

    v = _as_array(v)
    if not isinstance(v, da.Array):
        v = np.asarray(v)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1 or v.shape[0] != sum(row_chunks):
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"[{sum(row_chunks)}, {v.shape[0] if v.ndim else 1}] (X and {name})."
            )
        return da.from_array(v, chunks=(row_chunks,))
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got a Dask array of shape {v.shape}.")
    if any(math.isnan(c) for c in v.chunks[0]):
        v = v.compute_chunk_sizes()
    if v.shape[0] != sum(row_chunks):
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{sum(row_chunks)}, {v.shape[0]}] (X and {name})."
        )
    return v.rechunk((row_chunks,))


def _partition_values(partition):
    """A DataFrame or Series partition as a NumPy array."""
    return partition.to_numpy()


def _array_of_persisted_frame(frame):
    """A persisted Dask DataFrame or Series as a Dask array with one block per persisted partition.

    ``Client.persist`` computes the partitions of dask's *optimised*
    expression but describes the result with the partition count of the
    original one; a column selection of a parquet read has fewer optimised
    partitions, and the collection then names blocks that were never
    computed (dask/dask#12488: "lost dependencies" on first use). The blocks
    here are exactly the futures that exist, in partition order.
    """
    import dask.array as da
    from dask.base import tokenize
    from dask.dataframe.utils import make_meta
    from distributed import futures_of

    futures = sorted(futures_of(frame), key=lambda future: future.key[1])
    keys = [future.key for future in futures]
    if not keys or len({key[0] for key in keys}) != 1 or [key[1] for key in keys] != list(range(len(keys))):
        raise RuntimeError(f"unexpected keys of a persisted Dask collection: {keys[:3]}")
    meta = make_meta(frame).to_numpy()  # the collection's empty pandas frame or series
    name = "dingo-input-" + tokenize(*keys)
    index = (lambda i: (name, i, 0)) if meta.ndim == 2 else (lambda i: (name, i))
    graph = {index(i): (_partition_values, future) for i, future in enumerate(futures)}
    chunks = ((math.nan,) * len(futures),) + (((meta.shape[1],),) if meta.ndim == 2 else ())
    return da.Array(graph, name, chunks, meta=meta)  # the graph holds the futures


def _persisted(client, *collections):
    """The Dask collections among ``collections`` persisted together, as Dask arrays.

    One ``persist`` call, so that a source shared by X and y (columns of one
    DataFrame) is computed once; DataFrames and Series then become arrays of
    their persisted partitions (:func:`_array_of_persisted_frame`).
    """
    import dask
    import dask.dataframe as dd

    positions = [j for j, c in enumerate(collections) if dask.is_dask_collection(c)]
    with warnings.catch_warnings():
        # An array and a DataFrame persisted in one call make dask materialise
        # the DataFrame's expression, and it says so: that is the point here.
        warnings.filterwarnings("ignore", message="Computing mixed collections", category=UserWarning)
        persisted = client.persist([collections[j] for j in positions])
    out = list(collections)
    for j, collection in zip(positions, persisted):
        if isinstance(collection, (dd.DataFrame, dd.Series)):
            collection = _array_of_persisted_frame(collection)
        out[j] = collection
    return out


def _inspect_block(X_block):
    """Rows of one block of X, what is wrong with its values, and the worker it is on.

    Its only dependency is the block, so Dask runs it where the block is: the
    address says where the block's rows live. X is checked in its own
    namespace (a CuPy chunk on its GPU).
    """
    values = X_block.data if sp.issparse(X_block) else X_block
    xp = get_namespace(values)
    problem = None
    if not bool(xp.all(xp.isfinite(values))):  # one pass over a clean block; the second only names the fault
        if bool(xp.any(xp.isnan(values))):
            problem = "Input X contains NaN."
        else:
            problem = f"Input X contains infinity or a value too large for {values.dtype!r}."
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):  # Dask's local scheduler
        address = None
    return int(X_block.shape[0]), problem, address


def located_row_blocks(client, X):
    """X's row blocks persisted where they are, with their rows and workers, X checked.

    Parameters
    ----------
    client : distributed.Client or None
        None: Dask's local scheduler reads the blocks (nothing persisted).
    X : dask.array.Array of shape (n, d)
        One column chunk.

    Returns
    -------
    X : dask.array.Array
        With known row chunks.
    blocks, workers : list or None
        The persisted blocks and their workers (None without a client).
    threads : dict or None
        Every worker's threads (None without a client).

    Raises
    ------
    ValueError
        If X has non-finite values, with scikit-learn's wording.
    """
    X, blocks, threads, inspection = _inspection(client, X)
    X, blocks, workers = _located(X, blocks, _in_block_order(_results(client, threads, inspection)[0]), client)
    return X, blocks, workers, threads


def _inspection(client, X):
    """X persisted (with a client), its blocks, every worker's threads, and the inspection tasks.

    With a client each inspection task is placed on the worker that holds
    its block (asking the scheduler costs no link round trip: it waits for
    the blocks itself); without one they are run by Dask's local scheduler.
    """
    if client is None:
        tasks = [PlacedTask(None, _inspect_blocks, ((j,), b)) for j, b in enumerate(X.to_delayed().ravel())]
        return X, None, None, tasks
    X = client.persist(X)
    blocks = row_block_futures(X)
    holders, threads = block_holders(client, blocks)
    token = uuid.uuid4().hex[:12]
    # One task per worker thread, inspecting its blocks in turn: never a task
    # waiting in a worker's queue (work stealing would move its block).
    tasks = [
        PlacedTask(
            f"dingo-inspect{'_'.join(map(str, group))}-{token}", _inspect_blocks,
            (tuple(group), *(blocks[j] for j in group)), holders[group[0]], whole,
        )
        for group in thread_groups(holders, threads)
    ]
    return X, blocks, threads, tasks


def _inspect_blocks(indices, *X_blocks):
    """``(index, report)`` of each block (:func:`_inspect_block`), the blocks' indices given."""
    return [(j, _inspect_block(block)) for j, block in zip(indices, X_blocks)]


def _in_block_order(inspected):
    """The blocks' reports, in block order, from the inspection tasks' values."""
    return [report for _, report in sorted((pair for value in inspected for pair in value), key=lambda p: p[0])]


def _results(client, threads, *parts):
    """The values of lists of tasks, all in one batch: one link round trip on a cluster.

    Parameters
    ----------
    client : distributed.Client or None
        None: Dask's local scheduler runs them.
    threads : dict of str to int or None
        Every worker's threads (for placing the tasks).
    *parts : list of PlacedTask
        Their reports (the whole result) are the values.

    Returns
    -------
    list of list
        The values of each part.
    """
    import dask

    if client is None:
        return dask.compute(*[[dask.delayed(task.func, pure=True)(*task.args) for task in part] for part in parts])
    tasks = [task for part in parts for task in part]
    with ReplyChannel(client) as channel:
        futures = channel.submit("read", tasks, threads)
        values = [value for value, _ in channel.receive("read", futures, tasks)]
    del futures  # small results: released on the cluster
    out, start = [], 0
    for part in parts:
        out.append(values[start : start + len(part)])
        start += len(part)
    return out


def _located(X, blocks, reports, client):
    """X with the row counts of the reports, its blocks and their workers; X's values checked."""
    import dask.array as da
    from dask.array.utils import meta_from_array

    problems = sorted({problem for _, problem, _ in reports if problem})
    if problems:
        raise ValueError(" ".join(problems))
    rows = tuple(n for n, _, _ in reports)
    X = da.Array(X.dask, X.name, (rows, X.chunks[1]), meta=meta_from_array(X))  # the same blocks, sizes known
    return X, blocks, None if client is None else [address for _, _, address in reports]


def read_training_data(X, y, sample_weight, client=None):
    """Aligned training inputs (:class:`DaskInputs`), the classes and their weight sums.

    X's blocks are read where they are (row counts, values checked) and the
    targets summarised chunk by chunk: one round trip when X's row counts are
    known, two when they must be read first (DataFrames, boolean masks).
    Only per-chunk summaries come back to the client. Unknown row counts are
    not rejected; y and the weights may be Dask arrays or Series (rechunked
    to X's rows) or in-memory arrays (cut into X's row chunks).

    With a ``client``, the Dask inputs are first persisted together on its
    cluster, so that whatever produces them runs once for the whole fit.

    Returns
    -------
    inputs : DaskInputs
    classes : ndarray
    class_weight_sums : ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        If X has non-finite values, the weights are negative or non-finite,
        or the inputs disagree in length, with scikit-learn's wording.
    """
    feature_names = feature_names_of(X)
    y = _one_column("y", y)
    sample_weight = _one_column("sample_weight", sample_weight)
    if client is not None:
        X, y, sample_weight = _persisted(client, X, y, sample_weight)
    X, _ = as_dask_features(X)
    X, blocks, threads, inspection = _inspection(client, X)
    with _scheduler(client):
        if any(math.isnan(c) for c in X.chunks[0]):
            (inspected,) = _results(client, threads, inspection)
            X, _, workers = _located(X, blocks, _in_block_order(inspected), client)
            y, sample_weight = _targets_aligned(X, y, sample_weight)
            (summaries,) = _results(client, threads, _target_summaries(y, sample_weight))
        else:  # X's rows known: its inspection and the targets' summary in one round trip
            y, sample_weight = _targets_aligned(X, y, sample_weight)
            inspected, summaries = _results(client, threads, inspection, _target_summaries(y, sample_weight))
            X, _, workers = _located(X, blocks, _in_block_order(inspected), client)
    classes, sums = _merged_summaries(summaries)
    return DaskInputs(X, y, sample_weight, feature_names, blocks, workers, threads), classes, sums


def _targets_aligned(X, y, sample_weight):
    y = _as_rows("y", y, X.chunks[0])
    if sample_weight is not None:
        sample_weight = _as_rows("sample_weight", sample_weight, X.chunks[0]).astype(np.float64)
    return y, sample_weight


def _scheduler(client):
    """A context computing with ``client`` (or Dask's default scheduler when None)."""
    import contextlib

    import dask

    return contextlib.nullcontext() if client is None else dask.config.set(scheduler=client)


def _chunk_summary(y_block, s_block):
    """Per-chunk labels, their weight sums, and what is wrong with the weights, if anything."""
    y_block = to_numpy(y_block)
    s = np.ones(len(y_block)) if s_block is None else to_numpy(s_block).astype(np.float64)
    problem = None
    if not np.isfinite(s).all():
        problem = "Input sample_weight contains NaN or infinity."
    elif (s < 0).any():
        problem = "Negative values in data passed to `sample_weight`"
    labels, index = np.unique(y_block, return_inverse=True)
    sums = np.bincount(index.reshape(-1), weights=s, minlength=len(labels))
    return labels, sums, problem


def _target_summaries(y, sample_weight):
    """Tasks summarising y and the weights chunk by chunk (never X), run where the chunks are."""
    yd = y.to_delayed().ravel()
    sd = [None] * len(yd) if sample_weight is None else sample_weight.to_delayed().ravel()
    token = uuid.uuid4().hex[:12]
    return [
        PlacedTask(f"dingo-targets{j}-{token}", _chunk_summary, (a, b), None, whole)
        for j, (a, b) in enumerate(zip(yd, sd))
    ]


def _merged_summaries(parts):
    """Classes and their weight sums from per-chunk summaries; weight problems raised."""
    problems = sorted({problem for _, _, problem in parts if problem})
    if problems:
        raise ValueError(" ".join(problems))
    classes = np.unique(np.concatenate([labels for labels, _, _ in parts]))
    sums = np.zeros(len(classes))
    for labels, chunk_sums, _ in parts:
        sums[np.searchsorted(classes, labels)] += chunk_sums
    return classes, sums


def _encode_block(y_block, s_block, classes, class_weights, objective):
    """Encoded targets and final weights of one chunk, side by side: shape (n, K + 1)."""
    Y, weights = encoded_targets(y_block, s_block, classes, class_weights, objective)
    return np.concatenate([Y, weights[:, None]], axis=1)


def encode_targets(y, sample_weight, classes, class_weights, objective):
    """Lazy encoded targets Y (n, K) and final weights (n,) chunk by chunk on the workers."""
    import dask.array as da

    K = objective.n_outputs
    if sample_weight is None:
        sample_weight = da.ones(y.shape[0], chunks=y.chunks, dtype=np.float64)
    encode = partial(_encode_block, classes=classes, class_weights=class_weights, objective=objective)
    encoded = da.map_blocks(
        encode, y, sample_weight, new_axis=1, chunks=(y.chunks[0], (K + 1,)), dtype=np.float64
    )
    return encoded[:, :K], encoded[:, K]


def align_rows(client, X, *arrays):
    """Dask arrays cut into X's row chunks (their unknown row counts computed first).

    Raises
    ------
    ValueError
        If their numbers of rows differ from X's.
    """
    rows = X.chunks[0]
    out = []
    for a in arrays:
        if any(math.isnan(c) for c in a.chunks[0]):
            with _scheduler(client):
                a = a.compute_chunk_sizes()
        if a.shape[0] != sum(rows):
            raise ValueError(
                "X, Y and sample_weight must have the same number of rows, got "
                f"{sum(rows)} and {a.shape[0]}."
            )
        out.append(a.rechunk((rows, *((-1,) * (a.ndim - 1)))))
    return out


def map_rows(func, X, n_columns, dtype=np.float64):
    """Lazy ``func`` over the row blocks of X, of shape (n,) or (n, n_columns).

    Nothing is computed: the result is a Dask array whose blocks are
    computed where X's blocks live.
    """
    meta = np.empty((0,) if n_columns is None else (0, 0), dtype=dtype)
    if n_columns is None:
        return X.map_blocks(func, drop_axis=1, meta=meta)
    return X.map_blocks(func, chunks=(X.chunks[0], (n_columns,)), meta=meta)


def dask_backend_from_arrays(client, X, Y, sample_weight, *, n_params, n_outputs, min_rows=0, max_shards=None):
    """Shards from the row chunks of aligned Dask arrays, built where the chunks live.

    The arrays are persisted together, X's blocks located and checked
    (:func:`located_row_blocks`),
    chunks too small to be shards merged, and each shard built on the
    worker that holds its block of X: X never travels to the client.
    Chunks of zero weight are dropped.

    Parameters
    ----------
    client : distributed.Client
    X : dask.array.Array of shape (n, d)
        Chunks are NumPy arrays (or other dense arrays) or SciPy sparse
        matrices.
    Y : dask.array.Array of shape (n, K)
        Targets encoded by the objective, float.
    sample_weight : dask.array.Array of shape (n,)
    n_params, n_outputs : int
        ``D`` and ``K`` of the model, for the chunk-merging rule.
    min_rows, max_shards : int, optional
        Further merging, see
        :func:`~sklearn_dingo._data._dask_layout.shard_bounds_for_dask_chunks`.

    Returns
    -------
    DaskBackend
    """
    if X.ndim != 2 or Y.ndim != 2 or sample_weight.ndim != 1:
        raise ValueError(
            "X and Y must be 2-D and sample_weight 1-D Dask arrays, got "
            f"{X.ndim}-D, {Y.ndim}-D and {sample_weight.ndim}-D."
        )
    X, Y, sample_weight = client.persist([X.rechunk({1: -1}), Y, sample_weight])
    X, blocks, workers, threads = located_row_blocks(client, X)
    Y, sample_weight = align_rows(client, X, Y, sample_weight)
    placed = shard_parts(
        DaskInputs(X, None, None, None, blocks, workers, threads), Y, sample_weight,
        n_params=n_params, n_outputs=n_outputs, min_rows=min_rows, max_shards=max_shards,
    )
    return DaskBackend.from_chunks(client, *placed)
