"""What runs on the Dask workers: the engine's task functions, and the sizes the scheduler sees.

The functions are top level so that they pickle by reference; a worker that
unpickles one imports this module, which also registers the real sizes of
shards and shard states with ``dask.sizeof`` before the worker sizes them.
"""

import pickle
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from dask.sizeof import sizeof

from ..._array_api import from_numpy, get_namespace, to_numpy
from ..._shard import FoldShards, ShardData, ShardState
from .. import take_rows


# -- sizes the scheduler sees -------------------------------------------------------
# Workers report each result's size with ``dask.sizeof``, whose fallback for an
# unknown object is ``sys.getsizeof``: a few dozen bytes for a shard of many
# megabytes. The scheduler would then think moving a shard or a state is free
# (work stealing, memory accounting, the dashboard).
@sizeof.register(ShardData)
def _sizeof_shard(shard):
    size = sizeof(shard.X) + sizeof(shard.Y) + sizeof(shard.sample_weight) + 64
    # the float32 copies of the Krylov and exact paths, once a round A made them
    for name in shard.features.made():
        made = getattr(shard.features, name)
        size += sum(sizeof(part) for part in made) if isinstance(made, tuple) else sizeof(made)
    return size


@sizeof.register(ShardState)
def _sizeof_state(state):
    arrays = [state.w, state.eta, state.direction, state.eta_direction, state.damped_direction]
    if state.solver is not None:  # eigendecomposition of an exact solver, if any
        arrays.extend(value for value in vars(state.solver).values() if hasattr(value, "nbytes"))
    return sum(sizeof(a) for a in arrays if a is not None) + 64


@sizeof.register(FoldShards)
def _sizeof_fold_shards(folds):
    # the shard once (every fold's view shares its rows), each fold's weights and state
    weights = sum(sizeof(view.sample_weight) for view in folds.train)
    return sizeof(folds.shard) + weights + sum(sizeof(state) for state in folds.states if state is not None)


# -- task functions ------------------------------------------------------------------
def make_shard(X, Y, sample_weight):
    """A ShardData from one row block, or from a list of consecutive row blocks.

    SciPy sparse blocks become one CSR matrix. Targets and weights are moved
    to the namespace and device of X, so a CuPy chunk computes on the GPU
    that holds it.
    """
    X, Y, sample_weight = (_joined(part) for part in (X, Y, sample_weight))
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        if isinstance(X, np.ndarray) and X.ctypes.data % X.dtype.alignment:
            # Arrays unpickled from a message can start at an unaligned address,
            # where BLAS runs several times slower: one aligned copy per fit.
            X = np.array(X, copy=True)
        xp = get_namespace(X)
        Y = from_numpy(to_numpy(Y), xp, like=X)
        sample_weight = from_numpy(to_numpy(sample_weight), xp, like=X)
    return ShardData(X, Y, sample_weight, float(get_namespace(sample_weight).sum(sample_weight)))


def make_encoded_shard(X, y, sample_weight, encoding):
    """A ShardData from row blocks of labels and raw weights (None: all ones), encoded here.

    ``encoding`` is ``(classes, class_weights, objective)``: the shard's
    targets are the objective's encoding of each label's index in
    ``classes``, its weights the raw weights times the label's class weight.
    Encoding where the shard is built costs no task (and no link round trip)
    of its own.
    """
    y = _joined(y)
    sample_weight = None if sample_weight is None else _joined(sample_weight)
    Y, weights = encoded_targets(y, sample_weight, *encoding)
    return make_shard(X, Y, weights)


def encoded_targets(y, sample_weight, classes, class_weights, objective):
    """The objective's targets (n, K) and the final weights (n,) of labels and raw weights."""
    index = np.searchsorted(classes, to_numpy(y).reshape(-1))
    s = np.ones(index.shape[0]) if sample_weight is None else to_numpy(sample_weight).astype(np.float64)
    return objective.encode_targets(index), s * np.asarray(class_weights)[index]


def _joined(blocks):
    """Consecutive row blocks as one array (a single block as it is)."""
    if not isinstance(blocks, (list, tuple)):
        return blocks
    if len(blocks) == 1:
        return blocks[0]
    if sp.issparse(blocks[0]):
        return sp.vstack(blocks, format="csr")
    return get_namespace(blocks[0]).concat(list(blocks), axis=0)


class ShardSummary(NamedTuple):
    """What a worker reports of a shard it has built."""

    rows: int
    weight_sum: float
    address: str
    threads: int
    nbytes: int


def shard_summary(shard):
    """Rows, weight sum, worker address and threads, and bytes of a built shard."""
    from distributed import get_worker

    worker = get_worker()
    nbytes = sum(int(sizeof(a)) for a in (shard.X, shard.Y, shard.sample_weight))
    return ShardSummary(shard.n_samples, shard.weight_sum, worker.address, worker.state.nthreads, nbytes)


def rows_of_shard(shard, first, step):
    """Rows ``first, first + step, …`` of a shard as ``(X, Y, sample_weight)`` (a copy: it travels)."""
    rows = slice(first, shard.n_samples, step)
    X = take_rows(shard.X, rows)
    if not sp.issparse(X):
        X = shard.xp.asarray(X, copy=True)
    return X, shard.Y[rows, ...], shard.sample_weight[rows]


def assemble_shard(*pieces):
    """One shard from row pieces ``(X, Y, sample_weight)``, concatenated in order."""
    return make_shard(*(list(part) for part in zip(*pieces)))


def run_rounds(func, shards, previous, positions, payload, static, own=None):
    """A round of a group of shards on one worker, one shard after the other.

    Each shard computes ``func(shard, state, *payload, *own_i, **static) ->
    (reply, state)``, its state taken from the previous round: ``previous``
    are the previous round's results of the groups that held these shards,
    ``positions[i] = (group, position)`` says where shard i's is (None: a
    first round); ``own``, if given, holds each shard's own arguments.

    Returns
    -------
    list of (reply, state)
        In the order of ``shards``.
    """
    results = []
    for i, (shard, where) in enumerate(zip(shards, positions)):
        state = None if where is None else previous[where[0]][where[1]][1]
        results.append(func(shard, state, *payload, *(() if own is None else own[i]), **static))
    return results


def round_replies(results):
    """The replies of a group's round: what its task reports to the client."""
    return [reply for reply, _ in results]


def whole(result):
    """A task's whole (small) result as its report."""
    return result


def run_and_report(topic, tag, index, report, func, args, *after):
    """Run ``func(*args)`` and publish ``report(result)`` on ``topic``; return the result.

    The report is a Dask event: the worker sends it to the scheduler on the
    stream that carries the task's completion, and the scheduler forwards it
    to the client subscribed to the topic (see :mod:`._dask_channel`).
    ``after`` are the tasks this one was chained behind (ignored: they only
    order the tasks of one worker).
    """
    from distributed import get_worker

    result = func(*args)
    if report is not None:
        get_worker().log_event(topic, report_message(tag, index, report, result))
    return result


def report_message(tag, index, report, result):
    """The event of one task's report: tag, index, the pickled report and the worker's address.

    Event messages must be plain (msgpack) data: the report travels pickled.
    """
    from distributed import get_worker

    return {
        "tag": tag,
        "index": index,
        "value": pickle.dumps(report(result), protocol=pickle.HIGHEST_PROTOCOL),
        "address": get_worker().address,
    }
