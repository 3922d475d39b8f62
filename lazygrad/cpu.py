"""``torch.cpu``: the host, always present; ``torch.cpu.amp`` keeps the deprecated autocast spellings working."""

from __future__ import annotations

from typing import Any

from .amp import device_namespace

amp = device_namespace("cpu")


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: a read already returns only once its program has run."""
