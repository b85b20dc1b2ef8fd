"""Krylov solvers written against the array API.

The solvers take the operator as a callable ``v -> A @ v`` and work in the
array namespace (and on the device) of the right-hand side, so the same code
runs on NumPy, CuPy or any array API compatible library.

- :func:`cg`: conjugate gradients for symmetric positive (semi)definite ``A``.
- :func:`lsmr`: damped least squares ``min ||A x - b||^2 + damp^2 ||x||^2``.
- :func:`minres_qlp`: minimum-norm solution of symmetric, possibly singular
  and inconsistent, systems.
- :func:`lanczos_solves`: ``A b``, the minimum-norm ``A^† b`` and the damped
  ``(A² + φ²I)⁻¹ A b`` of a symmetric ``A`` from one Lanczos run.

Each returns a :class:`KrylovResult`.
"""

from ._cg import cg
from ._lanczos import LanczosSolves, lanczos_solves
from ._lsmr import lsmr
from ._minres_qlp import minres_qlp
from ._result import KrylovResult

__all__ = ["KrylovResult", "LanczosSolves", "cg", "lanczos_solves", "lsmr", "minres_qlp"]
