"""Conversions: ``to`` (dtype and device), ``type`` and the dtype shorthands (``float``, ``long``...),
attached to Tensor at the bottom."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes, ops, realization
from .device import _placed, accelerator_devices, device, of
from .device import device as device_
from .dtypes import DType
from .grad_mode import is_grad_enabled
from .ir import leaf
from .tensor import (
    Tensor,
    _record,
    _torch_type_name,
    _wrap,
    attach,
)


def move(t: Tensor, target: str | device) -> Tensor:
    """``t`` on ``target``: ``t`` itself if it is already there, else a copy made after computing ``t``."""
    dest, place, target = _placed(device(target))
    if of(t) == target:
        return t
    if t.grad_fn is not None and is_grad_enabled():
        raise RuntimeError(f"moving a tensor with autograd history to {target} would cut the history (a program "
                           "runs on one backend); move the leaves instead, or detach() first")
    if t.node.buffer is None:
        realization.realize((t,))
    buffer = t.node.buffer
    source = realization.owner(buffer) or realization.backend()
    if source is dest:
        moved = dest.move(buffer, place)
    else:
        host = realization.host_copy(buffer)
        moved = dest.from_numpy(host) if place is None else dest.from_numpy(host, place)
    out = _wrap(leaf(moved, t.node.shape, t.node.dtype))
    out.requires_grad = t.requires_grad
    return out


# The names ``Tensor.type()`` gives, back to their dtypes (``x.type("torch.LongTensor")``).
_LEGACY_NAMES = {f"torch.{_torch_type_name(d)}Tensor": d for d in dtypes.ALL}

class ConversionMethods:
    """The conversion Tensor methods (attached to Tensor below)."""

    # ---- conversion ----
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        dtype = kwargs.get("dtype")
        target = kwargs.get("device")
        other = kwargs.get("other")
        if other is not None:
            dtype, target = other.dtype, other.device
        for a in args:
            if isinstance(a, (DType, type, np.dtype)):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, target = a.dtype, a.device
            elif isinstance(a, (str, device_)):
                target = a
        out = self
        if dtype is not None and dtypes.to_dtype(dtype) is not self.dtype:
            out = _record("ToCopyBackward0", ops.cast(self.node, dtypes.to_dtype(dtype)), self)
        elif kwargs.get("copy"):
            out = self.clone()
        # Cast, then move: the cast runs where the data is, and the result lives entirely on the target.
        return out if target is None else move(out, target)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """The type's name (``'torch.FloatTensor'``), or the tensor converted to a dtype, a typed constructor
        (``torch.LongTensor``) or such a name."""
        if dtype is None:
            return f"torch.{_torch_type_name(self.dtype)}Tensor"
        if isinstance(dtype, str):
            dtype = _LEGACY_NAMES[dtype]
        return self.to(getattr(dtype, "dtype", dtype))

    def float(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.float32)

    def double(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.float64)

    def half(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.float16)

    def bfloat16(self) -> Tensor:
        return self.to(dtypes.bfloat16)

    def long(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.int64)

    def int(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.bool_)

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self.to("cpu")

    def pin_memory(self, device: Any = None) -> Tensor:
        """Page-locked host memory speeds up copies to an accelerator; without one, torch refuses, as here."""
        if not accelerator_devices("gpu"):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self

    def is_pinned(self, device: Any = None) -> bool:
        return False


attach(ConversionMethods)
