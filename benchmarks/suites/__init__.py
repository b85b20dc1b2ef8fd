"""The suites: side-by-side comparisons that write a report (``python -m benchmarks SUITE``).

Each module has a ``main(argv)`` and writes ``DIR/<suite>.md`` and ``.csv``
through :mod:`benchmarks.common.report`; ``--quick`` is its CI size.

- ``compare`` (:mod:`.compare`): every solver on five problems, in-process and
  on a ``LocalCluster``: time, rounds, round trips, bytes, passes, memory.
- ``layouts`` (:mod:`.layouts`): shards whose rows arrive sorted or clustered,
  and what ``rebalance`` buys back.
- ``slow-link`` (:mod:`.slow_link`): a real cluster behind an emulated slow link.
- ``cv`` (:mod:`.cv`): choosing C by cross-validation against a search of fits.
- ``gpu`` (:mod:`.gpu`): CuPy against NumPy time per iteration (needs a CUDA device).
"""

SUITES = {
    "compare": "benchmarks.suites.compare",
    "layouts": "benchmarks.suites.layouts",
    "slow-link": "benchmarks.suites.slow_link",
    "cv": "benchmarks.suites.cv",
    "gpu": "benchmarks.suites.gpu",
}
