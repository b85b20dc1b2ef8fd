"""Secant corrections of DINGO's averaged local inverse, for shards that disagree.

Case 1 of DINGO steps along ``−P g`` with ``P = Σ_j π_j H_j^†``, the average of
the shards' local pseudo-inverses. When every shard looks like the whole data,
``P`` is nearly ``H^{-1}`` and the step is nearly Newton's. When rows arrive
sorted (by label, time, place), the local Hessians differ and ``P`` is a poor
inverse of ``H`` in a few directions, so the gradient norm shrinks only by a
constant factor per iteration.

The driver corrects ``P`` with the curvature it observes along its own steps,
as L-BFGS does with a fixed initial matrix: the two-loop recursion (Nocedal
and Wright, *Numerical Optimization*, Algorithm 7.4) with ``H_0^{-1} = P``
instead of a multiple of the identity (Morales and Nocedal, "Automatic
preconditioning by limited memory quasi-Newton updating", SIAM J. Optim. 10,
2000). The secant pairs come for free: ``s = α p`` is the accepted step and
``y`` the difference of the gradients the line search already returned. The
recursion needs ``P`` once, applied to the vector ``q`` of its first loop,
which depends only on ``g`` and the pairs: the driver broadcasts ``q`` with
``g`` in round trip A, each shard returns ``H_j^† q`` from the factorisation
it holds anyway, and the second loop turns ``P q`` into the direction. No
round is added; the direction still has to pass DINGO's descent test
``⟨p, Hg⟩ ≤ −θ‖g‖²``, with cases 1-3 as the fallback.
"""

from collections import deque

import numpy as np

__all__ = ["SecantPairs"]


class SecantPairs:
    """The last ``size`` secant pairs ``(s, y)`` and their two-loop recursion.

    Parameters
    ----------
    size : int
        Pairs kept (the oldest is dropped first).

    Notes
    -----
    A pair enters only if ``yᵀs > ε ‖s‖ ‖y‖`` (ε = 1e-10): for the convex
    objectives here ``yᵀs > 0`` holds for every step, and the guard keeps
    rounding of a tiny step from entering the recursion.
    """

    CURVATURE_EPS = 1e-10

    def __init__(self, size):
        self.size = int(size)
        self._pairs = deque(maxlen=max(self.size, 1))

    def __len__(self):
        return len(self._pairs) if self.size > 0 else 0

    def add(self, s, y):
        """Remember the step ``s`` and the change of gradient ``y`` it caused."""
        if self.size <= 0:
            return
        s = np.asarray(s, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        ys = float(y @ s)
        if not ys > self.CURVATURE_EPS * np.linalg.norm(s) * np.linalg.norm(y):
            return
        self._pairs.append((s, y, 1.0 / ys))

    def first_loop(self, g):
        """``q = g − Σ c_i y_i`` (newest pair first) and the coefficients ``c_i``.

        The coefficients ``c_i = ρ_i s_iᵀ q`` are the α_i of Nocedal and
        Wright's Algorithm 7.4, renamed here: in the driver α is a step size.

        Returns
        -------
        q : ndarray of shape (D,)
        coefficients : list of float
            ``c_i``, newest pair first, for :meth:`second_loop`.
        """
        q = np.array(g, dtype=np.float64, copy=True)
        coefficients = []
        for s, y, rho in reversed(self._pairs):
            c = rho * float(s @ q)
            q -= c * y
            coefficients.append(c)
        return q, coefficients

    def second_loop(self, r, coefficients):
        """The corrected inverse applied to g, from ``r = P q`` (oldest pair first).

        Parameters
        ----------
        r : ndarray of shape (D,)
            ``P q``, the averaged local pseudo-inverse applied to :meth:`first_loop`'s q.
        coefficients : list of float
            :meth:`first_loop`'s coefficients.

        Returns
        -------
        ndarray of shape (D,)
            ``H_k g`` of the recursion; the search direction is its negative.
        """
        r = np.array(r, dtype=np.float64, copy=True)
        for (s, y, rho), c in zip(self._pairs, reversed(coefficients)):
            beta = rho * float(y @ r)
            r += (c - beta) * s
        return r
