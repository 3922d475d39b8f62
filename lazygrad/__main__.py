"""``python -m lazygrad script.py [args...]``: run a PyTorch script unchanged, with lazygrad as ``torch``.

As under ``python script.py``, the script runs as ``__main__``, sees the arguments after its path as
``sys.argv[1:]`` and imports its neighbours from its own folder; ``LAZYGRAD_BACKEND`` picks the backend.
"""

from __future__ import annotations

import os
import runpy
import sys

from .as_torch import installed_as_torch


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if argv else 2)
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))  # where ``python script.py`` looks first
    with installed_as_torch():
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
