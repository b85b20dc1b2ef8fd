"""One reporting path for every suite: a Markdown document, its CSV, its goals.

A suite fills a :class:`Report` (title, the command that reproduces it,
notes, checks, sections of tables, PASS/FAIL goals, the rows for the CSV)
and calls :func:`write`: ``DIR/<name>.md`` (also printed) and
``DIR/<name>.csv``. The header of every document says the same things the
same way: the machine and library versions, the package's commit, the load
average at the start and the end, the run time.
``python -m benchmarks results`` copies these documents into
``benchmarks/RESULTS.md`` (:mod:`benchmarks.results`).
"""

import csv
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository
DEFAULT_OUT = ROOT / "benchmarks" / "results"  # git-ignored
_T0 = time.perf_counter()


def log(message):
    """A progress line on stderr, with the seconds since the start."""
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


# -- numbers as text -------------------------------------------------------------------
def fmt(x, digits=3):
    """A number in a table: ints with separators, floats to ``digits`` significant digits."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e5 or ax < 1e-2:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def fmt_bytes(n):
    if n is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def ratio(mine, theirs):
    """mine / theirs, or None when either is missing (or theirs is 0)."""
    return mine / theirs if mine is not None and theirs else None


def markdown_table(header, rows):
    """A Markdown table from a header (titles) and rows (lists of cell texts)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def column_table(rows, columns, cell):
    """A Markdown table of dict rows: ``columns`` are (title, key) pairs, ``cell(row, key)`` the text."""
    return markdown_table([title for title, _ in columns], [[cell(r, key) for _, key in columns] for r in rows])


def write_rows(path, rows, columns):
    """Rows (dicts) as CSV with these columns: None as empty, ``wall_runs`` space-separated."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            flat = dict(r)
            if "wall_runs" in r:
                flat["wall_runs"] = " ".join(f"{t:.4g}" for t in r["wall_runs"] or [])
            writer.writerow({k: ("" if flat.get(k) is None else flat.get(k)) for k in columns})


# -- goals -----------------------------------------------------------------------------------
@dataclass
class Goal:
    """One PASS / FAIL / n/a line: what is asked and what was measured."""

    verdict: str
    name: str
    detail: str = ""


def bound_goal(name, value, bound, sense="<="):
    """A goal that ``value`` is ``<=`` (or ``>=``) ``bound``; FAIL when value is None."""
    if value is None:
        return Goal("FAIL", name, "not measured")
    ok = value <= bound if sense == "<=" else value >= bound
    return Goal("PASS" if ok else "FAIL", name, f"{value:.3g} ({sense} {bound:g})")


def goals_table(goals):
    return markdown_table(["verdict", "goal", "measured"], [[f"**{g.verdict}**", g.name, g.detail] for g in goals])


# -- the machine and the run -----------------------------------------------------------------
def load_text():
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def git_text():
    """The package's commit, and whether sklearn_dingo/ has uncommitted changes."""

    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)

    try:
        head = git("rev-parse", "--short", "HEAD").stdout.strip()
        dirty = git("status", "--porcelain", "--", "sklearn_dingo").stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes in sklearn_dingo/" if dirty else "")


def environment_text(client=None):
    """Machine, versions, and the Dask cluster of ``client`` if one ran."""
    import dask
    import distributed
    import psutil
    import scipy

    import sklearn_dingo
    from sklearn_dingo._backends._local import available_cores

    versions = [
        f"sklearn_dingo {getattr(sklearn_dingo, '__version__', '?')}",
        f"scikit-learn {sklearn_version()}",
        f"numpy {np.__version__}",
        f"scipy {scipy.__version__}",
        f"dask {dask.__version__}",
        f"distributed {distributed.__version__}",
    ]
    try:
        import dask_ml

        versions.append(f"dask-ml {dask_ml.__version__}")
    except ImportError:
        versions.append("dask-ml not installed")
    text = (
        f"Machine: {platform.machine()}, {available_cores()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB "
        f"RAM, Python {platform.python_version()}; {', '.join(versions)}."
    )
    if client is not None:
        workers = client.scheduler_info()["workers"]
        threads = sorted({w["nthreads"] for w in workers.values()})
        text += (
            f" Cluster: {len(workers)} worker processes x {'/'.join(map(str, threads))} thread(s) on the same machine."
        )
    return text


def sklearn_version():
    import sklearn

    return sklearn.__version__


def command_line(suite, quick, options=()):
    """``python -m benchmarks SUITE [--quick] [--option value ...]`` for the options not at their default.

    ``options``: (flag, value, default) triples; list values are joined with commas.
    """
    command = f"python -m benchmarks {suite}" + (" --quick" if quick else "")
    for flag, value, default in options:
        if value == default:
            continue
        command += f" {flag}" if value is True else f" {flag} {_option_text(value)}"
    return command


def _option_text(value):
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# -- the document --------------------------------------------------------------------------------
@dataclass
class Report:
    """What a suite measured, in the form every suite writes it.

    ``name`` is the file stem (``DIR/<name>.md``, ``.csv``) and the section of
    ``RESULTS.md`` it fills; ``sections`` are (heading, body) pairs, each
    heading Markdown (``## ...``).
    """

    name: str
    title: str
    command: str
    environment: str = ""
    intro: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    goals: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    load_start: str = field(default_factory=load_text)
    started: float = field(default_factory=time.perf_counter)

    def markdown(self):
        elapsed = time.perf_counter() - self.started
        lines = [f"# {self.title}", "", f"Command: `{self.command}`", ""]
        run = (
            f"Package at commit {git_text()}. Load average (1/5/15 min) at the start {self.load_start}, at the end "
            f"{load_text()} (other processes on the machine make timings noisy; rounds, round trips and bytes are "
            f"not affected). Total run time {elapsed / 60:.1f} min."
        )
        lines += [self.environment, run, ""] if self.environment else [run, ""]
        for paragraph in self.intro:
            lines += [paragraph, ""]
        for title, items in (("Notes", self.notes), ("Checks", self.checks)):
            if items:
                lines += [f"{title}:", ""] + [f"- {item}" for item in items] + [""]
        for heading, body in self.sections:
            lines += [heading, "", body.rstrip(), ""]
        if self.goals:
            lines += ["## Goals", "", goals_table(self.goals), ""]
        return "\n".join(lines)


def write(report, out_dir):
    """Write ``<name>.md`` (and ``<name>.csv`` if the report has rows) into ``out_dir``; print the Markdown."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    document = report.markdown()
    (out_dir / f"{report.name}.md").write_text(document)
    written = [out_dir / f"{report.name}.md"]
    if report.rows:
        write_rows(out_dir / f"{report.name}.csv", report.rows, report.columns)
        written.append(out_dir / f"{report.name}.csv")
    print(document)
    log(f"wrote {' and '.join(map(str, written))}")
    return written
