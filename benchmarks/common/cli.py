"""The options every suite shares, and comma-separated lists."""

import argparse

from .report import DEFAULT_OUT


def suite_parser(name, doc, quick_help):
    """An argument parser for ``python -m benchmarks NAME`` with ``--quick`` and ``--out``.

    The description is the first paragraph of the suite's docstring; its
    whole docstring (how every column is measured) is ``--help``'s epilog.
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks {name}",
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 1)[1] if "\n\n" in doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default: %(default)s)")
    return parser


def listed(parser, text, allowed, option):
    """The items of a comma-separated option, each one of ``allowed`` (a parser error otherwise)."""
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    unknown = [s for s in items if s not in allowed]
    if unknown or not items:
        parser.error(f"{option}: unknown {unknown or 'empty list'}; choose from {', '.join(map(str, allowed))}")
    return items
