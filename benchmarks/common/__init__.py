"""What every suite shares: problems, solvers, measuring, running a fit, reporting.

- :mod:`.problems` and :mod:`.layout_problems`: the generated problems (fixed seeds).
- :mod:`.solvers`: the solvers compared and how each is run; data on the cluster.
- :mod:`.measure`: the independent objective, peak memory, the one-pass floor,
  the Dask client meter and its per-iteration marks (a scikit-learn callback).
- :mod:`.counting`: passes over X, through the package's hook
  (``sklearn_dingo._objectives.pass_counter``) and scikit-learn's wrapped products.
- :mod:`.runner`: one timed, metered fit; the ``LocalCluster`` the suites share.
- :mod:`.report`: one report format for every suite (Markdown, CSV, goals).
- :mod:`.cli`: the options every suite has (``--quick``, ``--out``).
"""
