"""The benchmark suite runs end to end at its --quick size (benchmarks/run.py)."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"

PROBLEMS = {"1", "2", "3", "4", "5"}
SOLVERS = {
    "dingo",
    "dingo (dask)",
    "sklearn lbfgs",
    "sklearn newton-cholesky",
    "dask-ml lbfgs",
    "dask-ml lbfgs (normalize=False)",
    "dask-ml newton",
    "dingo float32",
    "sklearn lbfgs float32",
    "dingo float32 (dask)",
}
FLOAT32_SOLVERS = {s for s in SOLVERS if "float32" in s}
# float64 counterpart of each float32 row
FLOAT64_OF = {"dingo float32": "dingo", "sklearn lbfgs float32": "sklearn lbfgs", "dingo float32 (dask)": "dingo (dask)"}


@pytest.mark.skipif(not RUN.exists(), reason="benchmarks/ is not part of this installation")
def test_quick_benchmark_writes_a_row_per_solver_per_problem(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(tmp_path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]

    markdown = (tmp_path / "results.md").read_text()
    assert "## Targets" in markdown
    for key in PROBLEMS:
        assert f"## Problem {key}:" in markdown
    assert markdown.count("float32 vs float64, same run") == len(PROBLEMS)
    assert "dingo float32 fit <= 1.1 x X.nbytes (float32)" in markdown

    with open(tmp_path / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pairs = {(r["problem"], r["solver"]) for r in rows}
    assert pairs == {(p, s) for p in PROBLEMS for s in SOLVERS}
    assert len(rows) == len(pairs)

    # Every row says what happened; this package and scikit-learn always run.
    by = {(r["problem"], r["solver"]): r for r in rows}
    for (problem, solver), r in by.items():
        assert r["status"] in {"ok", "n/a", "failed"}, r
        if r["status"] != "ok":
            assert r["reason"], r
        if solver.startswith(("dingo", "sklearn")):
            assert r["status"] == "ok", r
            # scikit-learn's lbfgs on float32 data stops on its float64
            # relative-decrease test against a float32-rounded loss: early
            assert float(r["rel_gap"]) < (1e-3 if solver == "sklearn lbfgs float32" else 1e-6), r
            assert float(r["wall"]) > 0
    # The float32 rows fit the float32 X, and their memory is over its bytes.
    for problem in PROBLEMS:
        for solver in FLOAT32_SOLVERS:
            single, double = by[(problem, solver)], by[(problem, FLOAT64_OF[solver])]
            assert single["dtype"] == "float32" and double["dtype"] == "float64"
            assert int(single["X_nbytes"]) < int(double["X_nbytes"])
            if problem != "5":  # dense: exactly half
                assert 2 * int(single["X_nbytes"]) == int(double["X_nbytes"])
            assert single["stop"], single
        # a float32 DINGO fit ends at tol or at float32's resolution: converged either way
        for solver in ("dingo float32", "dingo float32 (dask)"):
            assert by[(problem, solver)]["capped"] == "False", by[(problem, solver)]
        assert float(by[(problem, "dingo float32")]["peak_mem_over_X"]) >= 0
    # dask-ml is binary only; where it is installed its lbfgs runs on dense binary problems.
    for solver in ("dask-ml lbfgs", "dask-ml newton"):
        assert by[("4", solver)]["status"] == "n/a"
    try:
        import dask_ml  # noqa: F401
    except ImportError:
        assert all(by[(p, "dask-ml lbfgs")]["status"] == "n/a" for p in PROBLEMS)
    else:
        assert by[("1", "dask-ml lbfgs")]["status"] == "ok"
        assert int(by[("1", "dask-ml lbfgs")]["round_trips"]) > 0
        assert int(by[("1", "dingo (dask)")]["round_trips"]) > 0


SLOW_LINK = ROOT / "benchmarks" / "slow_link.py"


@pytest.mark.skipif(not SLOW_LINK.exists(), reason="benchmarks/ is not part of this installation")
def test_emulated_link_queues_each_direction_then_delays():
    sys.path.insert(0, str(SLOW_LINK.parent))
    try:
        from slow_link import Link
    finally:
        sys.path.remove(str(SLOW_LINK.parent))
    link = Link(delay=0.05, rate=1000.0)  # 50 ms one way, 1,000 bytes/s per direction
    assert link.arrival("up", 500, now=0.0) == pytest.approx(0.5 + 0.05)
    # the next chunk waits for the first to be on the wire, however early it is read
    assert link.arrival("up", 500, now=0.1) == pytest.approx(1.0 + 0.05)
    assert link.arrival("down", 100, now=0.0) == pytest.approx(0.1 + 0.05)  # the other direction is free
    assert link.arrival("up", 0, now=5.0) == pytest.approx(5.05)
    assert Link(delay=0.01, rate=None).arrival("up", 10**9, now=1.0) == pytest.approx(1.01)
    assert link.bytes == 1100


@pytest.mark.skipif(not SLOW_LINK.exists(), reason="benchmarks/ is not part of this installation")
def test_slow_link_benchmark_runs_and_reports():
    """A tiny end-to-end run: two clusters behind the emulator, both solvers, the report's sections."""
    proc = subprocess.run(
        [
            sys.executable, str(SLOW_LINK), "--n", "3000", "--d", "5", "--rtt-ms", "0,10", "--mbit", "inf",
            "--repeats", "1", "--solvers", "dingo,newton",
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout
    for link in ("0 ms", "10 ms"):
        for solver in ("dingo", "newton"):
            assert any(line.split()[:3] == [*link.split(), solver] for line in out.splitlines()), out
    assert "DINGO" in out and "per cycle" in out and "for the setup" in out
    assert "round trips per cycle" in out and "x faster than dask-ml newton" in out
    assert "modelled" in out


CV = ROOT / "benchmarks" / "cv.py"


def _run_cv(*args):
    proc = subprocess.run(
        [sys.executable, str(CV), "--features", "5", "--cs", "2", "--folds", "2", "--repeats", "1", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def _table_rows(out, heading):
    """The first cells of the markdown table under ``heading``."""
    section = out.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")][1:]


@pytest.mark.skipif(not CV.exists(), reason="benchmarks/ is not part of this installation")
def test_cv_benchmark_reports_both_settings():
    """A tiny binary run: the in-process and cluster tables, every method's row, the goals (no timing asserted)."""
    out = _run_cv("--rows", "2000", "--without-dask-ml")  # dask-ml's search alone takes half a minute
    assert "# Cross-validated C: n=2,000 d=5 (binary)" in out
    assert _table_rows(out, "## In-process (NumPy data)") == [
        "DINGO CV", "sklearn LRCV lbfgs", "sklearn LRCV newton-cholesky", "GridSearchCV(DINGO)",
    ]
    cluster = "## On a 2-worker Dask LocalCluster (1 thread each)"
    expected = [
        "DINGO CV (dask)", "GridSearchCV(DINGO) on Dask arrays", "GridSearchCV(DINGO) joblib-dask",
        "dask-ml GridSearchCV(lbfgs)",  # "not run"
    ]
    assert _table_rows(out, cluster) == expected
    assert "round trips" in out and "x CV trips" in out
    goals = out.split("## Goals", 1)[1]
    assert sum(line.strip().startswith(("PASS", "FAIL")) for line in goals.splitlines()) == 4
    assert "no slower than LogisticRegressionCV (lbfgs)" in goals and "1/4 of GridSearchCV's on the Dask arrays" in goals


@pytest.mark.skipif(not CV.exists(), reason="benchmarks/ is not part of this installation")
def test_cv_benchmark_softmax_in_process():
    out = _run_cv("--rows", "1500", "--classes", "3", "--settings", "in-process")
    assert "(softmax, 3 classes)" in out
    assert _table_rows(out, "## In-process (NumPy data)")[0] == "DINGO CV"
    assert "## On a" not in out
    goals = out.split("## Goals", 1)[1]
    assert sum(line.strip().startswith(("PASS", "FAIL")) for line in goals.splitlines()) == 2
