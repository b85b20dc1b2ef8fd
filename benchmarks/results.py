"""Rewrite the generated sections of ``benchmarks/RESULTS.md`` from the suites' reports.

``RESULTS.md`` is prose (what the figures say, before/after comparisons)
around sections that a suite wrote. Each such section sits between two
markers that name its suite::

    <!-- begin generated: compare (heading offset 2) -->
    ...the body of DIR/compare.md...
    <!-- end generated: compare -->

and is replaced by that suite's report (``DIR/<suite>.md``, as written by
``python -m benchmarks SUITE --out DIR``) without its title, its headings
moved down by the offset so that they nest under the section around them.
Only the sections named (``--sections``), or else those whose report is in
DIR, are rewritten: the others keep their figures. Usage::

    python -m benchmarks compare --out my-runs          # any suites, any sizes
    python -m benchmarks results --from my-runs         # rewrite what my-runs has

    python -m benchmarks results --run compare,cv          # run those suites (into
                                                           # benchmarks/results/) and rewrite theirs
    python -m benchmarks results --list                    # the generated sections of RESULTS.md
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

from .common.report import DEFAULT_OUT, ROOT
from .suites import SUITES

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN = re.compile(r"^<!-- begin generated: (?P<name>[\w-]+) \(heading offset (?P<offset>\d+)\) -->$", re.M)
END = "<!-- end generated: {name} -->"


def sections(text):
    """``{name: (offset, start, end)}`` of the generated sections: the span between each pair of markers."""
    found = {}
    for match in BEGIN.finditer(text):
        name = match["name"]
        end = text.find(END.format(name=name), match.end())
        if end < 0:
            raise ValueError(f"{RESULTS.name}: '{match.group(0)}' has no '{END.format(name=name)}'")
        if name in found:
            raise ValueError(f"{RESULTS.name}: two generated sections named {name!r}")
        found[name] = (int(match["offset"]), match.end(), end)
    return found


def body_of(report, offset):
    """A suite's Markdown report without its title line, every heading ``offset`` levels deeper."""
    lines = report.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#+ ", line):
            line = "#" * offset + line
        out.append(line)
    return "\n".join(out).strip()


def rewrite(text, reports):
    """``text`` with the generated section of each ``{name: report text}`` replaced."""
    spans = sections(text)
    missing = sorted(set(reports) - set(spans))
    if missing:
        raise ValueError(f"no generated section for {missing} in {RESULTS.name}; sections: {sorted(spans)}")
    for name in sorted(reports, key=lambda n: spans[n][1], reverse=True):  # from the end: spans stay valid
        offset, start, end = spans[name]
        text = text[:start] + "\n\n" + body_of(reports[name], offset) + "\n\n" + text[end:]
    return text


def run_suites(names, extra, out):
    """Run each suite (a fresh process each) into ``out``."""
    for name in names:
        command = [sys.executable, "-m", "benchmarks", name, *extra, "--out", str(out)]
        print("running:", " ".join(command[1:]), file=sys.stderr, flush=True)
        subprocess.run(command, cwd=ROOT, check=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks results", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from", dest="source", default=str(DEFAULT_OUT), help="directory of the reports")
    parser.add_argument("--into", default=str(RESULTS), help="the file to rewrite (default: %(default)s)")
    parser.add_argument("--sections", default=None, help="comma-separated suites to rewrite (default: every "
                        "generated section whose report is in --from)")
    parser.add_argument("--run", default=None, help="comma-separated suites to run first, into --from")
    parser.add_argument("--quick", action="store_true", help="with --run: the suites' --quick size")
    parser.add_argument("--list", action="store_true", help="list the generated sections of --into and exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    target = Path(args.into)
    text = target.read_text()
    if args.list:
        for name, (offset, _, _) in sections(text).items():
            print(f"{name} (heading offset {offset})")
        return 0
    source = Path(args.source)
    if args.run:
        names = [n.strip() for n in args.run.split(",") if n.strip()]
        unknown = [n for n in names if n not in SUITES]
        if unknown:
            raise SystemExit(f"--run: unknown suites {unknown}; choose from {', '.join(SUITES)}")
        run_suites(names, ["--quick"] if args.quick else [], source)
        args.sections = args.sections or ",".join(names)
    if args.sections:
        names = [n.strip() for n in args.sections.split(",") if n.strip()]
    else:
        names = [name for name in sections(text) if (source / f"{name}.md").exists()]
    missing = [name for name in names if not (source / f"{name}.md").exists()]
    if missing:
        raise SystemExit(f"no report for {missing} in {source}")
    if not names:
        raise SystemExit(f"no report in {source} for any generated section of {target} ({', '.join(sections(text))})")
    target.write_text(rewrite(text, {name: (source / f"{name}.md").read_text() for name in names}))
    print(f"rewrote {', '.join(names)} in {target} from {source}", file=sys.stderr)
    return 0
