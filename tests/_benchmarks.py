"""The ``benchmarks`` package of this checkout, for the tests of the benchmarks themselves.

``benchmarks/`` is not installed with the package: a test module that needs
it sets ``pytestmark = needs_benchmarks`` and loads its modules with
:func:`bench`.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="benchmarks/ is not part of this installation")


def bench(module):
    """A module of the ``benchmarks`` package of this checkout, loaded from its folder (not installed)."""
    if "benchmarks" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "benchmarks", BENCHMARKS / "__init__.py", submodule_search_locations=[str(BENCHMARKS)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"benchmarks.{module}")
