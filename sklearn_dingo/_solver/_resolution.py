"""Where a DINGO run has resolved the gradient as far as the data's precision allows.

The gradient is resolved only as far as the data's precision allows: with
float32 data its products carry rounding of about 1e-7 relative, and the
fitted coefficients are stored in float32. Once there, the line search still
accepts steps, but each shrinks ‖g‖ by a hair (measured: ‖g_{t+1}‖/‖g_t‖ of
0.996-1.0 for tens of iterations on breast cancer, digits and a 50,000 x 50
problem in float32, after quadratic convergence to 1e-9-1e-6). Two rules,
each a threshold on ‖g‖ and one on the contraction, end the run there with
:attr:`~._state.StopReason.RESOLUTION` (:class:`Resolution`). The thresholds
scale with ‖∇f(0)‖, a property of the problem rather than of the start: a
warm start already at the resolution recognises it as a cold start would.
"""

import math

from ._state import StopReason

__all__ = ["RESOLUTION_STALL", "ROUNDING_FLOOR", "ROUNDING_STALL", "Resolution"]

# The run stops when an iteration shrinks ‖g‖ by less than RESOLUTION_STALL
# and ‖g‖ is below sqrt(eps) of ‖∇f(0)‖ (3.5e-4 in float32, 1.5e-8 in
# float64): far below where DINGO's steps are short for any other reason. A
# line search or descent test failing down there ends it for the same reason.
RESOLUTION_STALL = 0.99
# Closer to the rounding itself, within ROUNDING_FLOOR·eps of ‖∇f(0)‖, the
# tail crept: after Newton-like contractions (0.003-0.05),
# ‖g_{t+1}‖/‖g_t‖ of 0.5-0.95 for 5-10 iterations, while the gradient
# recomputed in float64 at those points no longer decreased (breast cancer
# in float32: reported 7.5e-10, float64 5.6e-9). A contraction above
# ROUNDING_STALL there is rounding, not progress.
ROUNDING_FLOOR = 16.0
ROUNDING_STALL = 0.5


class Resolution:
    """The two resolution rules of a run, their thresholds fixed by its problem.

    Parameters
    ----------
    data_epsilon : float
        Machine epsilon of the data's precision.
    initial_grad_norm : float
        ‖∇f(0)‖: ‖g_0‖ of a cold start, and the same for a warm one (the
        driver's :func:`~._dingo.start`), so that where a fit starts does not
        change where it is resolved.

    Attributes
    ----------
    resolution : float
        ``sqrt(data_epsilon)·‖∇f(0)‖``: below it, a contraction above
        :data:`RESOLUTION_STALL`, a failed descent test or a failed line
        search is the data's precision speaking.
    rounding_floor : float
        ``ROUNDING_FLOOR·data_epsilon·‖∇f(0)‖``: below it, a contraction above
        :data:`ROUNDING_STALL` is rounding.
    """

    def __init__(self, data_epsilon, initial_grad_norm):
        self.resolution = math.sqrt(data_epsilon) * initial_grad_norm
        self.rounding_floor = ROUNDING_FLOOR * data_epsilon * initial_grad_norm

    def within(self, grad_norm2):
        """Whether ‖g‖ (given squared) is where rounding of the data's precision may stall the run."""
        return math.sqrt(grad_norm2) <= self.resolution

    def failure(self, reason, grad_norm2):
        """Why the run ends at ‖g‖ (given squared) when a step gave ``reason``.

        A failed descent test (:attr:`~StopReason.NO_DESCENT`) or line search
        (:attr:`~StopReason.LINE_SEARCH_FAILED`) within the resolution is the
        data's precision speaking (:attr:`~StopReason.RESOLUTION`); any other
        reason, or one above the resolution, stands.
        """
        if reason in (StopReason.NO_DESCENT, StopReason.LINE_SEARCH_FAILED) and self.within(grad_norm2):
            return StopReason.RESOLUTION
        return reason

    def stalled(self, contraction, new_grad_norm):
        """Whether an iteration only met rounding: the run stops after it.

        Parameters
        ----------
        contraction : float
            ``‖g_{t+1}‖ / ‖g_t‖``.
        new_grad_norm : float
            ‖g_{t+1}‖.
        """
        return (contraction > RESOLUTION_STALL and new_grad_norm <= self.resolution) or (
            contraction > ROUNDING_STALL and new_grad_norm <= self.rounding_floor
        )
