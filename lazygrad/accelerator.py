"""``torch.accelerator``: the device-agnostic way to ask for "the GPU if there is one"; here, jax's GPU."""

from __future__ import annotations

from . import cuda
from .device import device


def is_available() -> bool:
    return cuda.is_available()


def device_count() -> int:
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device("cuda")`` when jax has a GPU, else None (there is no other accelerator to report)."""
    return device("cuda") if cuda.is_available() else None
