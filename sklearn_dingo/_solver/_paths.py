"""Regularisation paths of every cross-validation fold, their rounds shared, and the refit.

Each fold runs DINGO for every value of C, from the strongest penalty to the
weakest, each run starting from the fold's previous solution (a warm start
costs one broadcast, and the neighbouring solution is close). The folds' runs
go through one :class:`~._backends._fold_group.FoldGroup`, so all folds
share each round. After every run the fold asks for its held-out scores at
the solution; the request rides in the next shared round. Knows nothing of
scikit-learn: the estimators turn the replies into scores.
"""

from dataclasses import dataclass

import numpy as np

from .._shard import held_out_margins, held_out_sums
from ._dingo import dingo

#: Columns of the search's history, one row per DINGO run (the refit last).
SEARCH_HISTORY_COLUMNS = (
    "fold",
    "C",
    "n_iter",
    "rounds",
    "shared_rounds",
    "loss",
    "grad_norm",
    "converged",
)


@dataclass(frozen=True)
class FoldRun:
    """One DINGO run of a fold's path.

    Attributes
    ----------
    fold : int
        The fold (the refit is the fold past the last one).
    C : float
    result : DingoResult
    shared_rounds : int
        The group's shared rounds when the run ended.
    held_out : HeldOutReply or None
        Replies of the held-out request made at the run's solution.
    """

    fold: int
    C: float
    result: object
    shared_rounds: int
    held_out: object = None


#: What a fold asks of its held-out rows at each solution: score sums, or the margins themselves.
HELD_OUT_REPLIES = {"sums": held_out_sums, "margins": held_out_margins}


def fold_paths(group, folds, Cs, make_objective, config, held_out=None, on_run=None, start=None):
    """Every fold's path over ``Cs`` in the given order, warm-started, rounds shared.

    Parameters
    ----------
    group : FoldGroup
    folds : sequence of int
        The folds to run.
    Cs : sequence of float
        Values of C in the order to run them (strongest penalty first).
    make_objective : callable
        ``make_objective(C, total_weight)``: the objective of a run.
    config : DingoConfig
        Settings of every run (rows are never rebalanced within a group).
    held_out : {"sums", "margins"} or None
        What each solution asks of the fold's held-out rows
        (:data:`HELD_OUT_REPLIES`): the sums of the log-loss and accuracy
        scores, or the margins for other scorers; None: nothing.
    on_run : callable, optional
        Called with each :class:`FoldRun` as it ends (from the fold's thread).
    start : ndarray of shape (D,), optional
        Where every fold's first run starts (None: zero).

    Returns
    -------
    list of list of FoldRun
        Per fold, its runs in the order of ``Cs``.
    """
    totals = group.train_sums.sum(axis=0)

    def path(fold):
        view, w, runs = group.view(fold), start, []
        for C in Cs:
            objective = make_objective(C, float(totals[fold]))
            result = dingo(view, objective, config, w0=w)
            w = result.w
            pending = None if held_out is None else view.held_out(HELD_OUT_REPLIES[held_out], w, objective=objective)
            runs.append(FoldRun(fold, float(C), result, group.rounds_shared, pending))
            if on_run is not None:
                on_run(runs[-1])
        return runs

    return group.run([lambda fold=fold: path(fold) for fold in folds])


def refit(group, fold, C, w0, make_objective, config, on_run=None):
    """One DINGO run of ``fold`` (the refit on all rows) from ``w0`` (None: zero).

    Returns
    -------
    FoldRun
    """
    return fold_paths(group, [fold], [C], make_objective, config, on_run=on_run, start=w0)[0][0]


def search_history(runs):
    """The search's history: one row per run, columns :data:`SEARCH_HISTORY_COLUMNS`."""
    rows = [
        (
            run.fold, run.C, run.result.n_iter, run.result.rounds, run.shared_rounds,
            run.result.loss, run.result.grad_norm, run.result.converged,
        )
        for run in runs
    ]
    columns = list(zip(*rows)) if rows else [()] * len(SEARCH_HISTORY_COLUMNS)
    kinds = (int, float, int, int, int, float, float, bool)
    return {name: np.asarray(column, dtype=kind) for name, column, kind in zip(SEARCH_HISTORY_COLUMNS, columns, kinds)}


def not_converged(runs):
    """``(fold, C, stop reason)`` of every run that ended before its tolerance."""
    return [
        (run.fold, run.C, str(run.result.stop_reason))
        for run in runs
        if not run.result.converged
    ]
