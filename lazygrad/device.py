"""Devices: which backend holds a tensor's buffer and, for a backend with several, which of its devices.

A device is written ``backend[:platform][:index]``: ``"numpy"``, ``"jax"`` (jax's default device, or the
one ``LAZYGRAD_DEVICE`` picks), ``"jax:1"``, ``"jax:gpu:0"``. torch's spellings work too: ``"cpu"`` is the
CPU of the current backend, ``"cuda"``/``"gpu"``/``"tpu"`` (with an optional index) are jax's accelerators.
As in torch, naming an accelerator is always allowed (``device("cuda")`` on a machine without one); putting
a tensor there is what fails, with torch's "Torch not compiled with CUDA enabled".

Moving a tensor to another device is explicit (``.to(device)``) and is a sync point: the tensor is
computed, then its buffer is copied. A move does not carry autograd history, because one program runs on
one backend; a leaf that requires grad stays a leaf that requires grad.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from . import backends, realization

if TYPE_CHECKING:
    from .tensor import Tensor

# torch's device words, and the jax platform each one means.
_ACCELERATORS = {"cuda": "gpu", "gpu": "gpu", "rocm": "gpu", "tpu": "tpu"}
_PLATFORMS = set(_ACCELERATORS.values())
_TORCH_WORDS = {"gpu": "cuda", "tpu": "tpu"}
NO_CUDA = "Torch not compiled with CUDA enabled (lazygrad reaches GPUs through jax, and jax finds none here)"


class device:  # lower case, like torch.device
    """Where a tensor's buffer lives: ``backend``, and ``type``/``index`` of the device within it."""

    __slots__ = ("backend", "index", "type")

    def __init__(self, spec: str | device, index: int | None = None) -> None:
        if isinstance(spec, device):
            self.backend, self.type, self.index = spec.backend, spec.type, spec.index
            return
        parts = str(spec).split(":")
        if index is not None:
            parts.append(str(index))
        self.backend, self.type, self.index = _parse(parts, str(spec))

    @classmethod
    def _of(cls, backend: backends.Backend, place: Any) -> device:
        """The device of a buffer at ``place`` (a backend's own device object, or None if it has one)."""
        d = object.__new__(cls)
        d.backend, d.type = backend.name, getattr(place, "platform", "cpu")
        d.index = None if place is None else backend.devices(d.type).index(place)
        return d

    def __str__(self) -> str:
        # torch's text, so programs that print a device print the same: the backend is an attribute, not a name
        word = _TORCH_WORDS.get(self.type, self.type)
        return word if self.index is None or (word == "cpu" and self.index == 0) else f"{word}:{self.index}"

    def __repr__(self) -> str:
        word = _TORCH_WORDS.get(self.type, self.type)
        return f"device(type='{word}'" + (f", index={self.index})" if str(self) != word else ")")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:  # not a device at all, so not this one
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.backend, self.type, self.index) == (other.backend, other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.backend, self.type, self.index))


def _parse(parts: list[str], spec: str) -> tuple[str, str, int | None]:
    head, rest = parts[0], parts[1:]
    if head in _ACCELERATORS:  # checked when a tensor goes there, so the name itself never fails
        if len(rest) > 1 or (rest and not rest[0].isdigit()):
            raise RuntimeError(f"Invalid device string: {spec!r}")
        return "jax", _ACCELERATORS[head], int(rest[0]) if rest else None
    if head == "cpu":
        head, rest = realization.backend().name, ["cpu", *rest]
    try:
        chosen = backends.get(head)
    except ValueError:
        raise RuntimeError(f"unknown device {spec!r}: expected a backend ({', '.join(backends.available())}) "
                           "or one of cpu, cuda, gpu, tpu, optionally followed by :index") from None
    if not hasattr(chosen, "devices"):
        if rest not in ([], ["cpu"], ["cpu", "0"]):
            raise RuntimeError(f"backend {head!r} has a single device, so {spec!r} names none")
        return head, "cpu", None
    platform = rest.pop(0) if rest and not rest[0].isdigit() else None
    if len(rest) > 1 or (rest and not rest[0].isdigit()):
        raise RuntimeError(f"malformed device {spec!r}: expected backend[:platform][:index]")
    if platform is None and not rest:
        default = device._of(chosen, chosen.device)
        return default.backend, default.type, default.index
    platform = platform or chosen.device.platform
    index = int(rest[0]) if rest else 0
    found = chosen.devices(platform)
    if index >= len(found):
        raise RuntimeError(f"device {spec!r} does not exist: backend {head!r} has {len(found)} {platform} device(s)")
    return head, platform, index


def accelerator_devices(platform: str) -> list[Any]:
    """jax's devices on an accelerator platform (``"gpu"``, ``"tpu"``); empty when jax or the hardware is missing."""
    if importlib.util.find_spec("jax") is None:
        return []
    return backends.get("jax").devices(platform)


def _placed(target: device) -> tuple[backends.Backend, Any, device]:
    """The backend, its device object (None for a single-device backend) and the concrete device ``target`` names.

    An accelerator named without an index means its first one: ``"cuda"`` moves a tensor to ``"cuda:0"``.
    """
    if target.type not in _PLATFORMS:
        dest = backends.get(target.backend)
        return dest, None if target.index is None else dest.devices(target.type)[target.index], target
    found = accelerator_devices(target.type)
    if not found and target.type == "gpu":
        raise AssertionError(NO_CUDA)
    index = target.index or 0
    if index >= len(found):
        raise RuntimeError(f"device {target} does not exist: jax has {len(found)} {target.type} device(s)")
    dest = backends.get("jax")
    return dest, found[index], device._of(dest, found[index])


def of(t: Tensor) -> device:
    """The device holding ``t``; a tensor still pending (or a host scalar) is on the current backend's default."""
    buffer = t.node.buffer
    made_by = realization.owner(buffer) if buffer is not None else None
    if made_by is None:
        made_by = realization.backend()
        return device._of(made_by, getattr(made_by, "device", None))
    return device._of(made_by, made_by.device_of(buffer) if hasattr(made_by, "device_of") else None)
