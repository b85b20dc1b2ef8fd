"""The same fits with another checkout's package and this one's, interleaved: before and after a change.

Each fit runs in a fresh process started in the checkout named, which
imports ``sklearn_dingo`` and ``benchmarks`` from there (the working folder
comes first on Python's path; the package's path is printed so that a
mistaken import shows), on a problem of the compare suite (one that both
checkouts have), at
``tol=1e-10`` with the estimator's defaults. The two trees alternate, so
that the machine's drift hits both alike; the medians and their ratio are
printed.

Usage::

    git worktree add ../before <commit>
    python -m benchmarks.tools.compare_trees ../before [--problems 1,2,3,4] [--repeats 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.common.report import ROOT

FIT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
key = int(sys.argv[1])
import numpy as np
import sklearn_dingo
from benchmarks.common.problems import make_problem
from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression
problem = make_problem(key)
Estimator = DingoLogisticRegression if len(np.unique(problem.y)) == 2 else DingoSoftmaxRegression
Estimator(C=problem.C, fit_intercept=False, max_iter=1).fit(problem.X[:2000], problem.y[:2000])  # imports, caches
start = time.perf_counter()
model = Estimator(C=problem.C, fit_intercept=False, tol=1e-10).fit(problem.X, problem.y)
seconds = time.perf_counter() - start
print(json.dumps(dict(package=sklearn_dingo.__file__, seconds=seconds, iterations=int(model.n_iter_[0]),
                      rounds=int(model.n_communication_rounds_))))
"""


def fit_in(tree, key):
    """One fit in a fresh process importing the package of ``tree``: its JSON record."""
    done = subprocess.run([sys.executable, "-c", FIT, str(key)], capture_output=True, text=True, cwd=tree)
    if done.returncode:
        raise RuntimeError(f"the fit in {tree} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tools.compare_trees", description=__doc__.splitlines()[0]
    )
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree of the commit before)")
    parser.add_argument("--problems", default="1,2,3,4", help="compare-suite problems (default: 1,2,3,4)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    trees = {"other": args.other.resolve(), "this": ROOT}
    for key in (int(k) for k in args.problems.split(",")):
        records = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                records[name].append(fit_in(tree, key))
        medians = {name: statistics.median(r["seconds"] for r in records[name]) for name in trees}
        print(f"problem {key}")
        for name in trees:
            first = records[name][0]
            runs = ", ".join(f"{r['seconds']:.2f}" for r in records[name])
            print(
                f"  {name:<5} {medians[name]:7.2f} s  ({runs})  "
                f"{first['iterations']} iterations, {first['rounds']} rounds  [{Path(first['package']).parent}]"
            )
        print(f"  this / other: {medians['this'] / medians['other']:.2f}")


if __name__ == "__main__":
    main()
