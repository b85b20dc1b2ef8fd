"""Local sub-problem solvers of one shard (ALGORITHM.md §3).

Round A asks each shard for three products with its local Hessian H_j at
the current point (:meth:`round_a_products`), and case 3 for a fourth:

    h_j = H_j g                     (:meth:`hess_vec`)
    u_j = H_j^† g                   (:meth:`pinv`: minimum-norm least squares)
    v_j = (H_j² + φ² I)⁻¹ H_j g      (:meth:`damped`: argmin ‖H_j x − g‖² + φ²‖x‖²)
    q_j = (H_j² + φ² I)⁻¹ r          (:meth:`damped_normal`)

:class:`ExactSolver` takes one symmetric eigendecomposition of the explicit
H_j, after which every product is a diagonal scaling; :class:`KrylovSolver`
needs only Hessian-vector products with the cached curvature (MINRES-QLP,
LSMR and CG). :func:`make_solver` picks one by a cost estimate.
"""

from dataclasses import dataclass

from .._array_api import get_namespace
from .._linalg import cg, lanczos_solves, lsmr, minres_qlp

SUBPROBLEM_METHODS = ("auto", "exact", "krylov")
HESSIAN_PRECISIONS = ("auto", "single", "full")

# "auto" uses a shard's Hessian in single precision only when the shard is
# large enough for memory traffic and BLAS speed to matter (a smaller X stays
# in cache, where float32 saves little, and full precision keeps small fits
# reproducible to the last digits) and, for Krylov solves, when they ask for
# no more than SINGLE_PRECISION_MIN_RTOL (float32 rounding, about 1e-7
# relative in H_j v, then stays well below the tolerance). An explicit H_j
# built from float32 Gram blocks is accurate to about 1e-7 relative to
# sqrt(H_ii H_jj): on the 200,000 x 200 benchmark problems, standardised or
# with column scales over three decades, the fits kept their iteration counts
# and the gradient norm after each iteration agreed with a float64 fit's to
# 4-9 digits (benchmarks/RESULTS.md).
SINGLE_PRECISION_MIN_RTOL = 1e-5
SINGLE_PRECISION_MIN_ENTRIES = 1 << 20

# Cost model of "auto", in units of one multiply-add of a BLAS-3 symmetric
# rank-k update, measured by `python -m benchmarks study subproblem-crossover` (one-shard fits,
# BLAS on all cores of a 2-core machine):
# - an eigendecomposition costs about EIGH_COST·D³ (6.5 at D = 1,000-2,000,
#   12-18 below D = 500);
# - a pass over X in a Hessian-vector product is memory-bound, about
#   PASS_PENALTY times slower per multiply-add than the Gram update
#   (2.5 in cache, 18 for a 100 MB shard);
# - a round A takes about HESSP_PER_ROUND Hessian-vector products, one per
#   Lanczos step (counted over whole fits: 5 per shard on a well-conditioned
#   binary problem, 16-39 on breast cancer, digits and the 10-class
#   reference problem, and the cap max_iter on badly scaled features).
#
# The model deliberately leans towards "exact": measured per iteration on
# well-conditioned random data, exact costs 1.4-10x more than Krylov (up to
# 50x at D = 1,000), but on badly scaled features a Krylov solve capped at
# max_iter gives poor directions (a 20,000 x 200 binary problem with column
# scales over three decades: exact 6 iterations, Krylov 200 without
# converging), while the eigendecomposition is exact at any conditioning.
EIGH_COST = 8.0
PASS_PENALTY = 10.0
HESSP_PER_ROUND = 25.0


@dataclass(frozen=True)
class SubproblemConfig:
    """How a shard solves its sub-problems.

    Parameters
    ----------
    method : {"auto", "exact", "krylov"}
        ``"exact"``: eigendecomposition of the explicit local Hessian;
        ``"krylov"``: matrix-free MINRES-QLP / LSMR / CG; ``"auto"``: the one
        with the smaller estimated cost on this shard.
    phi : float
        The damping φ > 0 of the regularised sub-problems.
    rtol : float
        Relative tolerance of the Krylov solvers.
    max_iter : int
        Iteration cap of each Krylov solve; at the cap the last iterate is
        used (the driver's case tests guard inexact directions).
    rcond : float or None
        Eigenvalues with ``|λ| ≤ rcond · max|λ|`` count as zero in ``H_j^†``;
        ``None`` means ``D`` times the machine epsilon, as ``scipy.linalg.pinvh``.
    effort_max_iter : int or None
        This iteration's cap of the Krylov solves when the driver chose a
        smaller local effort than ``max_iter`` (``local_effort="auto"``); the
        choice between the exact and the Krylov solver still weighs
        ``max_iter``, so that badly conditioned shards keep the exact solver.
    hessian_precision : {"auto", "single", "full"}
        Precision of the local Hessian on dense shards, in the Krylov path's
        Hessian-vector products and in the exact path's Gram blocks:
        ``"single"`` makes the products with X in float32 (a float32 copy of
        the shard, half its size, is kept for the fit), ``"full"`` in the
        shard's own precision, ``"auto"`` single on shards of at least
        ``SINGLE_PRECISION_MIN_ENTRIES`` entries, and for Krylov solves only
        when ``rtol`` is at least ``SINGLE_PRECISION_MIN_RTOL``. Sparse
        shards, and shards with entries beyond ``±1e12``, stay in full
        precision. Gradients and line searches are always in full precision.
    """

    method: str = "auto"
    phi: float = 1e-6
    rtol: float = 1e-4
    max_iter: int = 50
    rcond: float | None = None
    hessian_precision: str = "auto"
    effort_max_iter: int | None = None

    def __post_init__(self):
        if self.method not in SUBPROBLEM_METHODS:
            raise ValueError(
                f"subproblem_solver must be one of {SUBPROBLEM_METHODS}, got {self.method!r}."
            )
        if self.hessian_precision not in HESSIAN_PRECISIONS:
            raise ValueError(
                f"hessian_precision must be one of {HESSIAN_PRECISIONS}, "
                f"got {self.hessian_precision!r}."
            )

    def single_precision(self, shard, method):
        """Whether sub-problem solver ``method`` uses ``shard``'s Hessian in float32.

        Parameters
        ----------
        shard : ShardData
        method : {"exact", "krylov"}
            The solver chosen for the shard (:func:`choose_method`).
        """
        if self.hessian_precision == "full":
            return False
        if self.hessian_precision == "auto":
            if shard.nnz < SINGLE_PRECISION_MIN_ENTRIES:
                return False
            if method == "krylov" and self.rtol < SINGLE_PRECISION_MIN_RTOL:
                return False
        return shard.fits_single_precision


class ExactSolver:
    """Sub-problems by one eigendecomposition ``H_j = Q Λ Qᵀ``.

    Parameters
    ----------
    H : array of shape (D, D)
        Symmetric local Hessian.
    phi : float
    rcond : float or None
        Cut-off of the pseudo-inverse, see :class:`SubproblemConfig`.
    """

    def __init__(self, H, phi, rcond=None):
        xp = get_namespace(H)
        self._xp = xp
        self.eigenvalues, self.eigenvectors = xp.linalg.eigh(H)
        D = H.shape[0]
        if rcond is None:
            rcond = D * xp.finfo(H.dtype).eps
        lam = self.eigenvalues
        cutoff = rcond * float(xp.max(xp.abs(lam)))
        kept = xp.abs(lam) > cutoff
        self._inverse = xp.where(kept, 1.0 / xp.where(kept, lam, 1.0), 0.0)
        # λ/(λ² + φ²) and 1/(λ² + φ²) in units of s = max(|λ|, φ), so that
        # neither square overflows for features of any scale (|λ| ~ 1e300
        # when |x| ~ 1e150); 1/s² then underflows quietly to 0 where it must.
        scale = xp.maximum(xp.abs(lam), xp.full_like(lam, phi))
        unit_damped = (lam / scale) ** 2 + (phi / scale) ** 2  # in [1, 2]
        self._damped = (lam / scale) / (unit_damped * scale)
        self._damped_normal = (1.0 / scale) * (1.0 / scale) / unit_damped

    def _scale(self, factors, r):
        Q = self.eigenvectors
        return Q @ (factors * (r @ Q))

    def hess_vec(self, g):
        return self._scale(self.eigenvalues, g)

    def round_a_products(self, g):
        """``(H g, H^† g, (H² + φ²I)⁻¹ H g)`` from the one eigendecomposition."""
        return self.hess_vec(g), self.pinv(g), self.damped(g)

    def pinv(self, g):
        return self._scale(self._inverse, g)

    def damped(self, g):
        return self._scale(self._damped, g)

    def damped_normal(self, r):
        return self._scale(self._damped_normal, r)


class KrylovSolver:
    """Matrix-free sub-problems from Hessian-vector products.

    Parameters
    ----------
    hessp : callable
        ``v -> H_j v`` with the curvature of the current point cached.
    phi, rtol, max_iter
        See :class:`SubproblemConfig`.
    """

    def __init__(self, hessp, phi, rtol, max_iter):
        self.hess_vec = hessp
        self.phi = phi
        self.rtol = rtol
        self.max_iter = max_iter

    def round_a_products(self, g):
        """``(H g, H^† g, (H² + φ²I)⁻¹ H g)`` from one Lanczos run on (H, g).

        All three lie in the Krylov space of H and g, so one run of at most
        ``max_iter`` products serves them all, where separate MINRES-QLP and
        LSMR solves (:meth:`pinv`, :meth:`damped`) would take about three
        times as many products (LSMR needs two per iteration).
        """
        result = lanczos_solves(self.hess_vec, g, damp=self.phi, rtol=self.rtol, maxiter=self.max_iter)
        return result.hess_b, result.pinv, result.damped

    def pinv(self, g):
        return minres_qlp(self.hess_vec, g, rtol=self.rtol, maxiter=self.max_iter).x

    def damped(self, g):
        # LSMR with damp = φ solves the stacked problem [H; φI] x ≈ [g; 0]
        return lsmr(
            self.hess_vec, g, damp=self.phi, atol=self.rtol, btol=self.rtol, maxiter=self.max_iter
        ).x

    def damped_normal(self, r):
        phi2 = self.phi * self.phi

        def normal_matvec(x):
            return self.hess_vec(self.hess_vec(x)) + phi2 * x

        return cg(normal_matvec, r, rtol=self.rtol, maxiter=self.max_iter).x


def estimated_costs(objective, shard, config):
    """Estimated cost of round A on one shard: ``(exact, krylov)``.

    Exact: one symmetric Gram update per curvature block
    (``K(K+1)/2 · nnz · (d+1)``) plus the eigendecomposition
    (``EIGH_COST · D³``). Krylov: ``HESSP_PER_ROUND`` Hessian-vector products
    (at most the Lanczos cap), each two memory-bound multiply-adds per entry
    of the shard and output column (``X V`` and ``Xᵀ R``). The units are those
    of the constants above; only the ratio matters.
    """
    K = objective.n_outputs
    D = objective.n_params
    n_blocks = K * (K + 1) // 2
    exact = n_blocks * shard.nnz * objective.n_rows + EIGH_COST * D**3
    n_hessp = min(HESSP_PER_ROUND, config.max_iter)
    krylov = n_hessp * PASS_PENALTY * 2.0 * K * shard.nnz
    return exact, krylov


def choose_method(objective, shard, config):
    """``"exact"`` or ``"krylov"`` for this shard under ``config.method``."""
    if config.method != "auto":
        return config.method
    exact, krylov = estimated_costs(objective, shard, config)
    return "exact" if exact <= krylov else "krylov"


def make_solver(objective, shard, curvature, config):
    """The sub-problem solver of ``shard`` at the point whose curvature is given."""
    method = choose_method(objective, shard, config)
    single = config.single_precision(shard, method)
    # Both paths see H_j on the subspace the model identifies (exact in exact
    # arithmetic): its null space then stays null in any precision.
    if method == "exact":
        H = objective.hessian(shard, curvature, single_precision=single)
        return ExactSolver(objective.identifiable_hessian(H), config.phi, config.rcond)
    hessp = objective.hessian_operator(shard, curvature, single_precision=single)
    cap = config.max_iter if config.effort_max_iter is None else min(config.max_iter, config.effort_max_iter)
    return KrylovSolver(objective.identifiable_operator(hessp, shard.xp), config.phi, config.rtol, cap)
