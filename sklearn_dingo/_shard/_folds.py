"""Cross-validation folds on a shard: weight masks, rounds of several folds, held-out scores.

A fold splits the rows of the input into a training part and a held-out
part. On a shard that is nothing but weights over the shard's own rows: the
fold's objective is the whole data's with the held-out rows weighted 0 (and
its penalty scaled by the fold's own training weight, as scikit-learn's
``LogisticRegressionCV``), so no row is copied or moved for a fold. Each
shard receives its rows' *roles* once (:func:`attach_folds`: an int8 per row
and fold), and keeps one reweighted view of itself per fold
(:meth:`~._objectives.ShardData.reweighted`, sharing X and everything
derived from it).

The DINGO runs of the folds then advance together: a round carries the
requests of every fold that has one (:class:`FoldRequest`), and each shard
answers all of them in one task (:func:`fold_round`), each fold's run with
its own state. Held-out scores are computed where the held-out rows live
(:func:`held_out_sums`): only three numbers per fold travel, or, for a
scorer that needs the predictions themselves, the held-out rows' margins
(:func:`held_out_margins`).
"""

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .._array_api import from_numpy, to_numpy
from ._data import ShardData

#: Role of a row in a fold: not used, trained on, or held out.
UNUSED, TRAIN, HELD_OUT = 0, 1, 2


class FoldRequest(NamedTuple):
    """One fold's part of a shared round.

    Attributes
    ----------
    fold : int
        Which fold (column of the roles).
    func : callable
        A shard function ``func(shard, state, *payload, **static) -> (reply, state)``
        of :mod:`._shard` (or :func:`held_out_sums`, :func:`held_out_margins`).
    n_payload : int
        How many of the round's broadcast items are this request's.
    static : dict
        The request's fixed configuration (its objective, ...).
    start : bool
        Start a new run: the fold's state is not passed on (a first round).
    held_out : bool
        Run on the fold's held-out rows (scores); the fold's state is left as it is.
    """

    fold: int
    func: Any
    n_payload: int
    static: dict
    start: bool = False
    held_out: bool = False


@dataclass(frozen=True)
class FoldShards:
    """What a shard keeps for the folds: one view per fold, the held-out rows, each fold's state.

    Attributes
    ----------
    shard : ShardData
        The shard as built (raw sample weights, no class weights).
    train : tuple of ShardData
        Per fold, the shard under the fold's training weights (class weights
        multiplied in; weight sum 1 where the fold trains on none of its rows,
        whose weights are then all 0).
    held_out_rows : tuple of ndarray of int
        Per fold, the shard's rows the fold holds out, in order.
    states : tuple
        Per fold, the state of its current run (None before its first round).
    """

    shard: ShardData
    train: tuple
    held_out_rows: tuple
    states: tuple


def attach_folds(shard, state, roles, *, class_weights, objective):
    """Keep the folds' views of a shard; reply their training and held-out weight sums.

    Parameters
    ----------
    shard : ShardData
        Built with raw sample weights (unit class weights).
    state : None
    roles : ndarray of int8, shape (n_j, n_folds)
        This shard's rows' roles (:data:`TRAIN`, :data:`HELD_OUT`, :data:`UNUSED`).
    class_weights : ndarray of shape (n_classes,)
        Multiplied into the training weights.
    objective : LinearObjective
        Decodes the class of each row from the shard's targets.

    Returns
    -------
    reply : tuple
        ``(train_sums, held_out_sums)``, arrays of shape (n_folds,): the
        training weight (class weights in) and raw held-out weight of each
        fold on this shard.
    state : FoldShards
    """
    xp = shard.xp
    classes = to_numpy(objective.class_index(xp, shard.Y))
    host_weight = to_numpy(shard.sample_weight).astype(np.float64)
    weighted = host_weight * np.asarray(class_weights, dtype=np.float64)[classes]
    roles = np.asarray(roles)
    train, held_out_rows, train_sums, held_out_sums = [], [], [], []
    for fold in range(roles.shape[1]):
        fold_weight = np.where(roles[:, fold] == TRAIN, weighted, 0.0)
        total = float(fold_weight.sum())
        fold_weight = from_numpy(fold_weight.astype(to_numpy(shard.sample_weight).dtype), xp, like=shard.sample_weight)
        train.append(shard.reweighted(fold_weight, total if total > 0 else 1.0))
        rows = np.flatnonzero(roles[:, fold] == HELD_OUT)
        held_out_rows.append(rows)
        train_sums.append(total)
        held_out_sums.append(float(host_weight[rows].sum()))
    folds = FoldShards(shard, tuple(train), tuple(held_out_rows), (None,) * roles.shape[1])
    return (np.asarray(train_sums), np.asarray(held_out_sums)), folds


def fold_round(shard, state, *payload, requests):
    """Answer every fold's request of a shared round, one after the other.

    Parameters
    ----------
    shard : ShardData
    state : FoldShards
    *payload
        The broadcast items of all requests, in order (request i takes the
        next ``requests[i].n_payload``).
    requests : tuple of FoldRequest

    Returns
    -------
    reply : tuple
        The replies' items, concatenated, then an int array of how many
        items each request's reply has.
    state : FoldShards
        With the states of the folds that ran.
    """
    states = list(state.states)
    items, lengths, offset = [], [], 0
    for request in requests:
        args = payload[offset : offset + request.n_payload]
        offset += request.n_payload
        if request.held_out:
            reply, _ = request.func(_held_out_shard(state, request.fold), None, *args, **request.static)
        else:
            previous = None if request.start else states[request.fold]
            reply, states[request.fold] = request.func(state.train[request.fold], previous, *args, **request.static)
        items.extend(reply)
        lengths.append(len(reply))
    return (*items, np.asarray(lengths)), replace(state, states=tuple(states))


def split_replies(reply, n_requests):
    """The per-request replies of one shard's :func:`fold_round` reply."""
    lengths = np.asarray(reply[-1])
    if len(lengths) != n_requests:  # pragma: no cover - a shard answered another round
        raise RuntimeError(f"a shard answered {len(lengths)} requests of a round of {n_requests}.")
    bounds = np.cumsum((0, *lengths))
    return [tuple(reply[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _held_out_shard(state, fold):
    """The fold's held-out rows of the shard, raw weights (a copy of those rows only)."""
    shard, rows = state.shard, state.held_out_rows[fold]
    xp = shard.xp
    index = from_numpy(rows, xp, like=shard.sample_weight)
    weights = xp.take(shard.sample_weight, index)
    X = shard.X[rows] if sp.issparse(shard.X) else xp.take(shard.X, index, axis=0)
    return ShardData(X, xp.take(shard.Y, index, axis=0), weights, float(xp.sum(weights)))


def _held_out_margins(shard, w, objective):
    return objective.margins(shard.X, from_numpy(np.asarray(w), shard.xp, like=shard.sample_weight))


def held_out_sums(shard, state, w, *, objective):
    """Weighted log-loss and correct predictions of held-out rows at ``w``.

    The log-loss of a row is what scikit-learn's ``neg_log_loss`` scorer
    computes from the model's probabilities: the probability of the row's
    class clipped to ``[eps, 1 − eps]`` (eps of float64) before the
    logarithm; for a binary model the scorer takes the second class's
    probability p and the first's as ``1 − p`` (which loses digits beyond
    margins of about 20), and so does this.

    Returns
    -------
    reply : tuple
        One array ``[Σ s_i ℓ_i, Σ s_i [ŷ_i = y_i], Σ s_i]`` over the rows.
    state : None
    """
    xp = shard.xp
    if shard.n_samples == 0:
        return (np.zeros(3),), None
    eta = xp.astype(_held_out_margins(shard, w, objective), xp.float64)
    eps = float(np.finfo(np.float64).eps)
    proba = objective.class_probability(xp, eta, shard.Y)
    losses = -xp.log(xp.clip(proba, eps, 1.0 - eps))
    correct = xp.astype(objective.predicted_index(xp, eta) == objective.class_index(xp, shard.Y), xp.float64)
    s = xp.astype(shard.sample_weight, xp.float64)
    sums = np.asarray([float(xp.sum(s * losses)), float(xp.sum(s * correct)), float(xp.sum(s))])
    return (sums,), None


def held_out_margins(shard, state, w, *, objective):
    """Margins ``X̃ w`` of the held-out rows (in order), for scorers that need the predictions."""
    return (to_numpy(_held_out_margins(shard, w, objective)).astype(np.float64),), None


def fold_roles(n_samples, splits, *, refit):
    """Each row's role in each fold (int8, one column per fold, and one for the refit's all-rows fold)."""
    roles = np.zeros((n_samples, len(splits) + int(bool(refit))), dtype=np.int8)
    for fold, (train, test) in enumerate(splits):
        roles[train, fold] = TRAIN
        roles[test, fold] = HELD_OUT
    if refit:
        roles[:, len(splits)] = TRAIN
    return roles
