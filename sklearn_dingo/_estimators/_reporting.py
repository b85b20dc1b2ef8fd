"""What a fit tells the person running it: verbose lines, callbacks, warnings.

The driver calls one function after every iteration with that iteration's
history row and the point reached (:func:`~sklearn_dingo._solver.dingo`'s ``callback``);
:class:`IterationReport` turns it into the ``verbose`` lines and the
scikit-learn callback hooks (one sub-task per DINGO iteration, as
``LogisticRegression``'s lbfgs bridge has one per lbfgs iteration), and
passes on a callback's request to stop.
"""

import os
import sys
import warnings

from .._compat import FIT_CONTEXT_FILENAME

# Paths as the interpreter records them in frames (they may differ from
# ``__file__`` for installed, precompiled modules); this module is in _estimators/.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(sys._getframe().f_code.co_filename)) + os.sep


def warn_at_caller(message, category):
    """``warnings.warn`` attributed to the first frame outside this package.

    That is the user's ``fit`` call (or the meta-estimator's that made it),
    however deep in the package the warning is raised.
    """
    frame, level = sys._getframe(1), 2  # stacklevel 1 is this function's own call
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR) or frame.f_code.co_filename == FIT_CONTEXT_FILENAME
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


class IterationReport:
    """The per-iteration hook of one fit: verbose lines and scikit-learn callbacks.

    Parameters
    ----------
    verbose : int
        0: silent; 1: one line per iteration and one at the end; 2: also the
        case test's margin and the line search's trials.
    callback_context : CallbackContext or None
        The fit's root callback context, or None without callbacks.
    estimator : estimator
        The estimator being fitted (passed to the hooks).
    X, y, metadata
        The training data and metadata passed to the hooks.
    attributes : callable
        ``w -> {"coef_": ..., "intercept_": ...}``: the fitted attributes of
        a point, from which callbacks rebuild a fitted estimator.
    w0 : ndarray
        The starting point (the first sub-task starts there).
    """

    def __init__(self, *, verbose, callback_context, estimator, X, y, metadata, attributes, w0):
        self.verbose = verbose
        self._context = callback_context
        self._hook_args = dict(estimator=estimator, X=X, y=y, metadata=metadata)
        self._attributes = attributes
        self._iteration_context = None
        if verbose:
            print(self._header())
        if callback_context is not None:
            self._iteration_context = self._begin(w0)

    def _header(self):
        columns = f"{'iter':>5} {'rounds':>7} {'kind':>6} {'case':>4} {'step':>9} {'f':>14} {'|g|':>10} {'time':>8}"
        if self.verbose >= 2:
            columns += f" {'descent':>9} {'trials':>6} {'spread':>8}"
        return columns

    def _begin(self, w):
        context = self._context.subcontext(task_name="dingo-iter")
        context.call_on_fit_task_begin(**self._hook_args, reconstruction_attributes=lambda: self._attributes(w))
        return context

    def __call__(self, row):
        """Report one iteration; True if a callback asks the fit to stop."""
        if self.verbose:
            print(self._line(row))
        if self._iteration_context is None:
            return False
        w = row["w"]
        stop = self._iteration_context.call_on_fit_task_end(
            **self._hook_args, reconstruction_attributes=lambda: self._attributes(w)
        )
        # As scikit-learn's lbfgs bridge: the next sub-task starts now; the
        # last one started never runs and is closed empty (:meth:`close`).
        self._iteration_context = None if stop else self._begin(w)
        return stop

    def _line(self, row):
        line = (
            f"{row['iteration']:>5d} {row['rounds']:>7d} {row['step_kind']:>6} {row['case']:>4d} "
            f"{row['step_size']:>9.3g} {row['loss']:>14.8g} {row['grad_norm']:>10.3e} "
            f"{row['time']:>7.2f}s"
        )
        if self.verbose >= 2:
            line += f" {row['descent_ratio']:>9.3g} {row['line_search_trials']:>6d} {row['direction_spread']:>8.3g}"
        return line

    def close(self, result):
        """End the fit's report: close an open sub-task, print why the fit stopped."""
        if self._iteration_context is not None:
            self._iteration_context.call_on_fit_task_end(estimator=self._hook_args["estimator"])
            self._iteration_context = None
        if self.verbose:
            print(
                f"DINGO stopped: {result.stop_reason} after {result.n_iter} iterations, "
                f"{result.rounds} communication rounds, {result.bytes_down:,} bytes down and "
                f"{result.bytes_up:,} up (gradient norm {result.grad_norm:.3e})."
            )
