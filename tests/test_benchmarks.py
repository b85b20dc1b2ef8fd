"""The benchmarks (``python -m benchmarks ...``): each suite end to end at a tiny size, and their tools.

The benchmarks are not installed with the package: they run from the
repository root. The end-to-end tests run them as ``python -m benchmarks``
there; the unit tests load the ``benchmarks`` package from its folder.
"""

import csv
import importlib
import importlib.util
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

from _benchmarks import BENCHMARKS, ROOT, bench, needs_benchmarks

pytestmark = needs_benchmarks

PROBLEMS = {"1", "2", "3", "4", "5", "6", "7"}
SPARSE_PROBLEMS = {"5", "7"}
SOFTMAX_PROBLEMS = {"4", "6"}
# the honest clock's scikit-learn fits: newton-cholesky on dense binary problems, newton-cg on the others
CLOCK_SOLVERS = {"sklearn lbfgs tol=1e-6", "sklearn newton-cholesky tol=1e-6", "sklearn newton-cg tol=1e-6"}
SOLVERS = {
    "dingo",
    "dingo (dask)",
    "sklearn lbfgs",
    "sklearn newton-cholesky",
    *CLOCK_SOLVERS,
    "dask-ml lbfgs",
    "dask-ml lbfgs (normalize=False)",
    "dask-ml newton",
    "scipy lbfgs (dask)",
    "dingo float32",
    "sklearn lbfgs float32",
    "dingo float32 (dask)",
}
FLOAT32_SOLVERS = {s for s in SOLVERS if "float32" in s}
# float64 counterpart of each float32 row
FLOAT64_OF = {
    "dingo float32": "dingo",
    "sklearn lbfgs float32": "sklearn lbfgs",
    "dingo float32 (dask)": "dingo (dask)",
}



def run_benchmarks(*args):
    """``python -m benchmarks ARGS`` from the repository root; the completed process (exit status 0 asserted)."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *map(str, args)], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# -- the entry point ---------------------------------------------------------------------
def test_entry_point_lists_every_command_and_refuses_unknown_ones():
    out = run_benchmarks("--help").stdout
    for command in ("compare", "layouts", "slow-link", "cv", "gpu", "study", "profile", "results"):
        assert command in out
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "no-such-suite"], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "unknown command" in proc.stderr
    assert "--quick" in run_benchmarks("compare", "--help").stdout


def test_no_benchmark_module_edits_sys_path():
    for path in BENCHMARKS.rglob("*.py"):
        assert "sys.path" not in path.read_text(), path


# -- compare -------------------------------------------------------------------------------
@pytest.mark.slow  # a subprocess running the whole compare suite at its --quick size
@pytest.mark.cluster  # its Dask rows, on a cluster of its own
def test_quick_compare_writes_a_row_per_solver_per_problem(tmp_path):
    run_benchmarks("compare", "--quick", "--out", tmp_path)

    markdown = (tmp_path / "compare.md").read_text()
    assert markdown.startswith("# sklearn-dingo against its peers (quick size)")
    assert "Command: `python -m benchmarks compare --quick`" in markdown
    assert "## Goals" in markdown
    for key in PROBLEMS:
        assert f"## Problem {key}:" in markdown
    assert markdown.count("float32 vs float64, same run") == len(PROBLEMS)
    assert "dingo float32 fit <= 1.1 x X.nbytes (float32)" in markdown
    assert markdown.count("Honest clock (scikit-learn at tol=1e-6") == len(PROBLEMS)
    goals = markdown.split("## Goals", 1)[1]
    clock_goal = "in-process: dingo reaches the fastest scikit-learn solver's tol=1e-6 objective in <= 0.5 x its time"
    assert goals.count(clock_goal) == len(PROBLEMS)

    rows = read_csv(tmp_path / "compare.csv")
    pairs = {(r["problem"], r["solver"]) for r in rows}
    assert pairs == {(p, s) for p in PROBLEMS for s in SOLVERS}
    assert len(rows) == len(pairs)

    # Every row says what happened; this package and scikit-learn always run.
    by = {(r["problem"], r["solver"]): r for r in rows}
    for (key, solver), r in by.items():
        assert r["status"] in {"ok", "n/a", "failed"}, r
        if r["status"] != "ok":
            assert r["reason"], r
        newton_cg_here = key in SPARSE_PROBLEMS | SOFTMAX_PROBLEMS
        if solver in ("sklearn newton-cholesky tol=1e-6", "sklearn newton-cg tol=1e-6"):
            applies = newton_cg_here == solver.startswith("sklearn newton-cg")
            assert r["status"] == ("ok" if applies else "n/a"), r
            if not applies:
                continue
        if solver.startswith(("dingo", "sklearn")):
            assert r["status"] == "ok", r
            # scikit-learn's lbfgs on float32 data stops on its float64
            # relative-decrease test against a float32-rounded loss: early
            assert float(r["rel_gap"]) < (1e-3 if solver == "sklearn lbfgs float32" else 1e-6), r
            assert float(r["wall"]) > 0
            # passes over X, counted by the package's hook (dingo, on the workers too) or sklearn's products
            assert float(r["passes"]) >= 1, r
    # The float32 rows fit the float32 X, and their memory is over its bytes.
    for problem in PROBLEMS:
        for solver in FLOAT32_SOLVERS:
            single, double = by[(problem, solver)], by[(problem, FLOAT64_OF[solver])]
            assert single["dtype"] == "float32" and double["dtype"] == "float64"
            assert int(single["X_nbytes"]) < int(double["X_nbytes"])
            if problem not in SPARSE_PROBLEMS:  # dense: exactly half
                assert 2 * int(single["X_nbytes"]) == int(double["X_nbytes"])
            assert single["stop"], single
        # a float32 DINGO fit ends at tol or at float32's resolution: converged either way
        for solver in ("dingo float32", "dingo float32 (dask)"):
            assert by[(problem, solver)]["capped"] == "False", by[(problem, solver)]
        assert float(by[(problem, "dingo float32")]["peak_mem_over_X"]) >= 0
        # the cluster fit reached the optimum: its round trips at each iteration come from the callback
        assert by[(problem, "dingo (dask)")]["dingo_to_opt_round_trips"], by[(problem, "dingo (dask)")]
        # the honest clock: every dingo row timed against the fastest scikit-learn fit at tol=1e-6
        reference = by[(problem, "dingo")]["clock_ref_solver"]
        assert reference in CLOCK_SOLVERS and by[(problem, reference)]["status"] == "ok", reference
        for solver in ("dingo", "dingo (dask)"):
            r = by[(problem, solver)]
            assert float(r["clock_time"]) > 0 and float(r["clock_ratio"]) > 0, r
            assert r["clock_ref_solver"] == reference, r
    # dask-ml is binary only; where it is installed its lbfgs runs on dense binary problems.
    for solver in ("dask-ml lbfgs", "dask-ml newton"):
        assert all(by[(p, solver)]["status"] == "n/a" for p in SOFTMAX_PROBLEMS)
    try:
        import dask_ml  # noqa: F401
    except ImportError:
        assert all(by[(p, "dask-ml lbfgs")]["status"] == "n/a" for p in PROBLEMS)
    else:
        assert by[("1", "dask-ml lbfgs")]["status"] == "ok"
        assert int(by[("1", "dask-ml lbfgs")]["round_trips"]) > 0
        assert int(by[("1", "dingo (dask)")]["round_trips"]) > 0


# -- layouts ---------------------------------------------------------------------------------
@pytest.mark.slow  # a subprocess with a cluster of its own
@pytest.mark.cluster
def test_layouts_suite_reports_rounds_per_layout_and_goals(tmp_path):
    run_benchmarks(
        "layouts", "--quick", "--problems", "b", "--layouts", "shuffled,label", "--shards", "2",
        "--variants", "auto,False", "--out", tmp_path,
    )
    markdown = (tmp_path / "layouts.md").read_text()
    for heading in ("## Problem b:", "### Rounds at a glance", "### Problem b, in-process", "### Problem b, cluster"):
        assert heading in markdown
    rows = read_csv(tmp_path / "layouts.csv")
    dingo = [r for r in rows if r["solver"].startswith("dingo")]
    assert len(dingo) == 2 * 2 * 2  # layouts x settings x variants
    assert all(r["status"] == "ok" and int(r["rounds"]) > 0 for r in dingo), dingo
    assert {r["solver"] for r in rows} == {"dingo auto", "dingo False", "sklearn lbfgs", "dask-ml lbfgs"}
    goals = markdown.split("## Goals", 1)[1]
    assert "DINGO rebalance=auto in <= dask-ml lbfgs's round trips" in goals


# -- slow link ---------------------------------------------------------------------------------
def test_emulated_link_queues_each_direction_then_delays():
    Link = bench("suites.slow_link").Link
    link = Link(delay=0.05, rate=1000.0)  # 50 ms one way, 1,000 bytes/s per direction
    assert link.arrival("up", 500, now=0.0) == pytest.approx(0.5 + 0.05)
    # the next chunk waits for the first to be on the wire, however early it is read
    assert link.arrival("up", 500, now=0.1) == pytest.approx(1.0 + 0.05)
    assert link.arrival("down", 100, now=0.0) == pytest.approx(0.1 + 0.05)  # the other direction is free
    assert link.arrival("up", 0, now=5.0) == pytest.approx(5.05)
    assert Link(delay=0.01, rate=None).arrival("up", 10**9, now=1.0) == pytest.approx(1.01)
    assert link.bytes == 1100


@pytest.mark.slow  # two clusters behind the emulator, in subprocesses
@pytest.mark.cluster
def test_slow_link_suite_runs_and_reports(tmp_path):
    """--quick: two clusters behind the emulator (0 and 10 ms), both solvers, the report's sections."""
    run_benchmarks("slow-link", "--quick", "--solvers", "dingo,newton", "--out", tmp_path)
    markdown = (tmp_path / "slow-link.md").read_text()
    rows = read_csv(tmp_path / "slow-link.csv")
    assert {(float(r["rtt_ms"]), r["solver"]) for r in rows} == {(0.0, "dingo"), (0.0, "newton"),
                                                                  (10.0, "dingo"), (10.0, "newton")}
    assert all(int(float(r["rounds"])) > 0 for r in rows if r["solver"] == "dingo")
    assert "per cycle" in markdown and "for the setup" in markdown
    goals = markdown.split("## Goals", 1)[1]
    assert "round trips per cycle" in goals and "x faster than dask-ml newton" in goals
    assert "modelled s" in markdown


# -- cross-validation -----------------------------------------------------------------------------
def _table_rows(markdown, heading):
    """The first cells of the markdown table under ``heading``."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")][1:]


@pytest.mark.slow  # a subprocess with a cluster of its own
@pytest.mark.cluster
def test_cv_suite_reports_both_settings(tmp_path):
    """--quick, binary: the in-process and cluster tables, every method's row, the goals (no timing asserted)."""
    run_benchmarks("cv", "--quick", "--without-dask-ml", "--out", tmp_path)  # dask-ml's search alone: ~30 s
    markdown = (tmp_path / "cv.md").read_text()
    assert "n=2,000 d=5 (binary)" in markdown
    assert _table_rows(markdown, "## In-process (NumPy data)") == [
        "DINGO CV", "sklearn LRCV lbfgs", "sklearn LRCV newton-cholesky", "GridSearchCV(DINGO)",
    ]
    expected = [
        "DINGO CV (dask)", "GridSearchCV(DINGO) on Dask arrays", "GridSearchCV(DINGO) joblib-dask",
        "dask-ml GridSearchCV(lbfgs)",  # "not run"
    ]
    assert _table_rows(markdown, "## On a 2-worker Dask LocalCluster (1 thread each)") == expected
    goals = markdown.split("## Goals", 1)[1]
    assert sum(line.startswith("| **PASS**") or line.startswith("| **FAIL**") for line in goals.splitlines()) == 4
    assert "no slower than LogisticRegressionCV (lbfgs)" in goals
    assert "1/4 of GridSearchCV's on the Dask arrays" in goals
    rows = read_csv(tmp_path / "cv.csv")
    assert int(float(next(r for r in rows if r["method"] == "DINGO CV")["rounds"])) > 0


@pytest.mark.slow  # a subprocess
def test_cv_suite_softmax_in_process(tmp_path):
    run_benchmarks("cv", "--quick", "--rows", "1500", "--classes", "3", "--settings", "in-process", "--out", tmp_path)
    markdown = (tmp_path / "cv.md").read_text()
    assert "(softmax, 3 classes)" in markdown
    assert _table_rows(markdown, "## In-process (NumPy data)")[0] == "DINGO CV"
    assert "## On a" not in markdown
    goals = markdown.split("## Goals", 1)[1]
    assert sum(line.startswith(("| **PASS**", "| **FAIL**")) for line in goals.splitlines()) == 2


# -- studies -----------------------------------------------------------------------------------------
def test_every_study_names_the_package_constants_it_studies():
    studies = bench("studies")
    for name in studies.STUDIES:
        module = studies.load(name)
        # A study either names the constants it chose or says that it chose none.
        assert module.CONSTANTS or "Studies no package constant" in module.__doc__, name
        for constant, where in module.CONSTANTS.items():
            assert constant in module.__doc__, (name, constant)
            assert hasattr(importlib.import_module(where), constant), (name, f"{where}.{constant}")
        assert f"python -m benchmarks study {name}" in module.__doc__
        assert callable(module.main)


# -- counting passes over X -----------------------------------------------------------------------
def test_sklearn_passes_are_counted_and_the_wrapping_is_undone():
    from sklearn.linear_model import LogisticRegression, _linear_loss

    counting = bench("common.counting")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((500, 4)), rng.integers(0, 2, 500)
    original = _linear_loss.LinearModelLoss.loss_gradient
    with counting.count_passes() as passes:
        model = LogisticRegression(solver="lbfgs").fit(X, y)
    passes.require_sklearn("lbfgs")
    # each lbfgs evaluation reads X twice (X @ coef, X.T @ r); scipy evaluates at least once per iteration
    assert passes.rows >= 2 * 500 * model.n_iter_[0]
    assert passes.rows % 500 == 0
    assert _linear_loss.LinearModelLoss.loss_gradient is original


def test_a_missing_or_unused_sklearn_product_fails_loudly():
    from sklearn.linear_model import _linear_loss

    counting = bench("common.counting")
    with mock.patch.object(_linear_loss.LinearModelLoss, "gradient_hessian_product", None):
        with pytest.raises(RuntimeError, match="gradient_hessian_product"):
            with counting.count_passes():
                pass
    assert _linear_loss.LinearModelLoss.loss_gradient.__name__ == "loss_gradient"
    with counting.count_passes() as passes:
        pass  # a "scikit-learn fit" that read nothing
    with pytest.raises(RuntimeError, match="changed its internals"):
        passes.require_sklearn("lbfgs")


# -- RESULTS.md ---------------------------------------------------------------------------------------
def test_results_md_has_a_generated_section_per_suite_and_rewrites_only_those_given():
    results = bench("results")
    text = results.RESULTS.read_text()
    spans = results.sections(text)
    assert set(spans) == {"compare", "layouts", "slow-link", "cv"}
    report = "# A title\n\nCommand: `python -m benchmarks cv --quick`\n\n## In-process\n\n| a |\n|---|\n| 1 |\n"
    rewritten = results.rewrite(text, {"cv": report})
    assert results.sections(rewritten).keys() == spans.keys()
    assert "### In-process" in rewritten and "# A title" not in rewritten  # heading offset 1, title dropped
    before, after = text.split("<!-- begin generated: cv"), rewritten.split("<!-- begin generated: cv")
    assert before[0] == after[0]  # everything before the cv section kept as it was
    assert after[1].split("<!-- end generated: cv -->")[1] == before[1].split("<!-- end generated: cv -->")[1]
    with pytest.raises(ValueError, match="no generated section"):
        results.rewrite(text, {"gpu": report})


def test_results_command_rewrites_a_copy_from_a_directory(tmp_path):
    target = tmp_path / "RESULTS.md"
    target.write_text((BENCHMARKS / "RESULTS.md").read_text())
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "slow-link.md").write_text("# Slow\n\nCommand: `python -m benchmarks slow-link --quick`\n\n## Fits\n")
    run_benchmarks("results", "--from", reports, "--into", target)
    text = target.read_text()
    assert "#### Fits" in text and "python -m benchmarks slow-link --quick" in text
    assert sum(line.startswith("<!-- begin generated:") for line in text.splitlines()) == 4
