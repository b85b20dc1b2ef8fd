"""Studies: the measurements a constant of the package was chosen from.

Each module's docstring names the constant(s) it studies and where they
live; its ``CONSTANTS`` maps each name to its module (a test checks that
they still exist there). Run one with ``python -m benchmarks study NAME
[options]``; ``python -m benchmarks study`` lists them. Studies print their
tables (quoted in ``benchmarks/RESULTS.md`` as code blocks); they report
nothing to compare side by side with other solvers, unlike the suites.
"""

import importlib

STUDIES = {
    "alike-rows": "benchmarks.studies.alike_rows",
    "float32-resolution": "benchmarks.studies.float32_resolution",
    "local-effort": "benchmarks.studies.local_effort",
    "n-shards": "benchmarks.studies.n_shards_default",
    "pass-price": "benchmarks.studies.pass_price",
    "round-scale": "benchmarks.studies.round_scale",
    "shard-kernels": "benchmarks.studies.shard_kernels",
    "subproblem-crossover": "benchmarks.studies.subproblem_crossover",
}


def load(name):
    """The study module of ``name`` (a key of :data:`STUDIES`)."""
    return importlib.import_module(STUDIES[name])
