"""``python -m sklearn_dingo``: the demo (see :mod:`sklearn_dingo._demo`)."""

from ._demo import main

if __name__ == "__main__":
    raise SystemExit(main())
