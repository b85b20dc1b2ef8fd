"""The benchmarks of sklearn-dingo, run from one entry point (from the repository root).

::

    python -m benchmarks compare   [--quick] [--out DIR] ...   # every solver, five problems
    python -m benchmarks layouts   [--quick] [--out DIR] ...   # sorted / clustered rows, rebalance
    python -m benchmarks slow-link [--quick] [--out DIR] ...   # a cluster behind an emulated slow link
    python -m benchmarks cv        [--quick] [--out DIR] ...   # choosing C by cross-validation
    python -m benchmarks gpu       [--quick] [--out DIR] ...   # CuPy against NumPy (needs CUDA)
    python -m benchmarks study [NAME [options]]                # what a package constant was chosen from
    python -m benchmarks profile [--problem K] [--quick]       # cProfile of one in-process fit
    python -m benchmarks results --from DIR [--sections ...]   # copy reports into RESULTS.md

Layout:

- ``suites/``: one module per suite, each writing ``DIR/<suite>.md`` and
  ``.csv`` (default DIR ``benchmarks/results/``, git-ignored) through the one
  report format of ``common/report.py``;
- ``studies/``: one module per study, each naming the constant it studies;
- ``common/``: problems, solvers, measuring (the client meter, passes over X
  through the package's ``pass_counter`` hook), running and reporting;
- ``results.py``: ``RESULTS.md``'s generated sections, rewritten from reports;
- ``tools/``: the profiler.

``--help`` of each command says what it measures and how.
"""
