"""The line search of DINGO on ‖∇f‖² (ALGORITHM.md §2, step 6): pure decisions."""

import numpy as np


def first_accepted(trial_grad_norms2, alphas, grad_norm2, slope, rho):
    """Index of the largest step that passes the sufficient-decrease test, or None.

    A step α passes when ``‖∇f(w + αp)‖² ≤ ‖g‖² + 2αρ⟨p, Hg⟩``; non-finite
    trial values fail. ``alphas`` are in decreasing order, so the first pass
    is the largest step.

    Parameters
    ----------
    trial_grad_norms2 : array of shape (B,)
        Squared gradient norms at the trial points.
    alphas : sequence of B floats
        The trial step sizes, decreasing.
    grad_norm2 : float
        ‖g_t‖².
    slope : float
        ⟨p, Hg⟩, negative for a descent direction of ‖g‖².
    rho : float
        Armijo parameter ρ.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    values = np.asarray(trial_grad_norms2, dtype=np.float64)
    bound = grad_norm2 + 2.0 * alphas * rho * slope
    passing = np.isfinite(values) & (values <= bound)
    hits = np.flatnonzero(passing)
    return int(hits[0]) if hits.size else None
