"""Run code written for PyTorch on lazygrad unchanged: lazygrad installed under every ``torch`` module name.

``python -m lazygrad script.py`` runs a script this way; the program tests and the whole-program benchmark
use the same context. Every loaded ``lazygrad.x`` module is registered as ``torch.x`` too, so
``import torch.nn.functional as F`` finds the very module lazygrad itself uses, and ``isinstance`` checks
between the two names agree.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import lazygrad


def _is_torch(name: str) -> bool:
    return name == "torch" or name.startswith("torch.")


@contextlib.contextmanager
def installed_as_torch() -> Iterator[None]:
    """lazygrad as ``torch`` inside the block; the torch modules loaded before it (if any) are back after it."""
    saved = {name: module for name, module in sys.modules.items() if _is_torch(name)}
    for name in saved:
        del sys.modules[name]
    sys.modules["torch"] = lazygrad
    for name, module in list(sys.modules.items()):
        if name.startswith("lazygrad."):
            sys.modules["torch" + name[len("lazygrad") :]] = module
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _is_torch(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
