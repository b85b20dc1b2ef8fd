"""``python -m benchmarks COMMAND [options]``: every suite, study and tool from one entry point.

``python -m benchmarks --help`` lists the commands; ``python -m benchmarks
COMMAND --help`` says what one measures and how. Run from the repository root.
"""

import importlib
import sys

from . import __doc__ as OVERVIEW
from . import studies
from .suites import SUITES

COMMANDS = {**SUITES, "profile": "benchmarks.tools.profile_fit", "results": "benchmarks.results"}
USAGE = f"usage: python -m benchmarks {{{','.join([*COMMANDS, 'study'])}}} [options]"


def study(argv):
    """``study NAME [options]`` runs one study; ``study`` alone lists them with the constants they study."""
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m benchmarks study NAME [options]\n\nstudies (and the package constants they set):")
        for name in studies.STUDIES:
            module = studies.load(name)
            print(f"  {name:<22} {module.__doc__.splitlines()[0]}")
            print(f"  {'':<22} constants: {', '.join(f'{m}.{c}' for c, m in module.CONSTANTS.items())}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in studies.STUDIES:
        print(f"unknown study {name!r}; choose from {', '.join(studies.STUDIES)}", file=sys.stderr)
        return 2
    return studies.load(name).main(rest)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + OVERVIEW.strip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "study":
        return study(rest)
    if command not in COMMANDS:
        print(f"{USAGE}\nunknown command {command!r}", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[command]).main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
