"""``torch.cuda`` for programs that ask before they use a GPU: answered from jax's GPU devices.

lazygrad reaches a GPU only through the jax backend, so "CUDA is available" means jax sees a GPU. Without
one the answers match a CPU-only torch: ``is_available()`` is False, seeding is a no-op, and moving a tensor
to ``"cuda"`` raises torch's "Torch not compiled with CUDA enabled".
"""

from __future__ import annotations

from typing import Any

from .amp import device_namespace
from .conversion import move
from .creation import manual_seed as _seed_every_device
from .device import NO_CUDA, accelerator_devices
from .device import of as device_of
from .tensor import Tensor


def is_available() -> bool:
    return bool(accelerator_devices("gpu"))


def device_count() -> int:
    return len(accelerator_devices("gpu"))


def current_device() -> int:
    if not is_available():
        raise AssertionError(NO_CUDA)
    return 0


def manual_seed(seed: int) -> None:
    """Seed GPU draws; lazygrad draws every device's numbers from one generator, so this seeds that one."""
    if is_available():  # with no GPU there are no GPU draws to seed, as in torch
        _seed_every_device(seed)


manual_seed_all = manual_seed


def is_bf16_supported() -> bool:
    """Whether there is a GPU to run bfloat16 on (as in torch, False without one)."""
    return is_available()


def empty_cache() -> None:
    """Nothing to release: a buffer is freed when the last tensor holding it goes away."""


def _cuda(self: Tensor, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> Tensor:
    """The tensor on a GPU (``"cuda"`` or ``"cuda:<index>"``); raises torch's error when there is none."""
    target = "cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device
    return move(self, target)


def _is_cuda(self: Tensor) -> bool:
    here = device_of(self)
    return here.backend == "jax" and here.type == "gpu"


amp = device_namespace("cuda")

Tensor.cuda = _cuda
Tensor.is_cuda = property(_is_cuda)
