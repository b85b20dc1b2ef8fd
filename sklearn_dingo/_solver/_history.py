"""The per-iteration history of a DINGO run: one record per iteration, with timings."""

import logging
import math
import time

import numpy as np

__all__ = ["HISTORY_COLUMNS", "HistoryRecorder"]

logger = logging.getLogger(__name__)

#: Columns of the per-iteration history, in order.
HISTORY_COLUMNS = (
    "iteration",
    "rounds",
    "bytes_down",
    "bytes_up",
    "bytes_moved",
    "case",
    "step_kind",
    "lanczos_cap",
    "line_search_batch",
    "step_size",
    "direction_norm",
    "direction_spread",
    "descent_ratio",
    "line_search_trials",
    "loss",
    "grad_norm",
    "time",
)


class HistoryRecorder:
    """Records the state after every iteration, with the backend's counters then.

    Parameters
    ----------
    backend : ShardBackend
        Whose communication counters each record copies.

    Notes
    -----
    Times are seconds since the recorder was made, at the start of the run
    (a rebalance of rows before the first round included).
    """

    def __init__(self, backend):
        self._backend = backend
        self._start = time.perf_counter()
        self._rows = []

    @property
    def initial_grad_norm(self):
        """‖g_0‖, as recorded in row 0."""
        return self._rows[0]["grad_norm"]

    def record(self, state, direction=None, accepted=None, spread=math.nan, plan=None):
        """Append the record of ``state``, reached by ``direction`` and ``accepted``.

        Parameters
        ----------
        state : IterationState
            The state after the iteration (row 0: the starting point).
        direction : Direction or None
            The iteration's search direction (None for row 0).
        accepted : AcceptedStep or None
            The line search's accepted trial (None for row 0).
        spread : float
            δ of the iteration's round trip A.
        plan : IterationPlan or None
            The iteration's local effort and kind of step (None for row 0).

        Returns
        -------
        dict
            The record, one entry per column of :data:`HISTORY_COLUMNS`.
        """
        backend = self._backend
        row = dict(
            iteration=state.iteration,
            rounds=backend.rounds,
            bytes_down=backend.bytes_down,
            bytes_up=backend.bytes_up,
            bytes_moved=backend.bytes_moved,
            case=0 if direction is None else direction.case,
            step_kind="" if plan is None else ("newton" if plan.newton else "dingo"),
            lanczos_cap=0 if plan is None or plan.newton else plan.effort.lanczos_steps,
            line_search_batch=0 if plan is None else plan.effort.line_search_batch,
            step_size=0.0 if accepted is None else accepted.step_size,
            direction_norm=0.0 if direction is None else float(np.linalg.norm(direction.p)),
            direction_spread=spread,
            descent_ratio=math.nan if direction is None else direction.slope / direction.threshold,
            line_search_trials=0 if accepted is None else accepted.trials,
            loss=state.loss,
            grad_norm=state.grad_norm,
            time=time.perf_counter() - self._start,
        )
        self._rows.append(row)
        logger.debug("DINGO %s", row)
        return row

    def columns(self):
        """The history as one array per column of :data:`HISTORY_COLUMNS`."""
        return {name: np.asarray([row[name] for row in self._rows]) for name in HISTORY_COLUMNS}
