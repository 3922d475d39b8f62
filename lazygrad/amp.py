"""``torch.amp``: autocast regions and ``GradScaler``, plus the deprecated ``torch.cpu.amp``/``torch.cuda.amp`` names.

``GradScaler`` multiplies the loss by a large factor before ``backward()`` so that small float16 gradients do
not flush to zero, divides the gradients back before the optimizer sees them, and skips any step whose
gradients hold an inf or NaN (then lowers the factor; after ``growth_interval`` clean steps it raises it).
Deciding whether to skip reads one value, so ``step()`` computes the pending forward and backward first, as
torch's does when it synchronizes with the GPU.
"""

from __future__ import annotations

import enum
import sys
import types
import warnings
from typing import Any

import numpy as np

from . import dtypes
from .autocast_mode import (
    autocast,
    clear_autocast_cache,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_cache_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
)
from .creation import tensor
from .custom_amp import custom_bwd, custom_fwd
from .device import accelerator_devices
from .dtypes import DType
from .grad_mode import no_grad
from .tensor import Tensor

__all__ = ["GradScaler", "autocast", "clear_autocast_cache", "custom_bwd", "custom_fwd", "get_autocast_dtype",
           "is_autocast_available",
           "is_autocast_cache_enabled", "is_autocast_enabled", "set_autocast_cache_enabled"]


_FLOAT32_MAX = float(np.finfo(np.float32).max)


class _Stage(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


class _OptimizerState:
    __slots__ = ("found_inf", "stage")

    def __init__(self) -> None:
        self.stage = _Stage.READY
        self.found_inf: Tensor | None = None  # a lazy bool: some gradient was inf or NaN


class GradScaler:
    """Dynamic loss scaling for float16 training: ``scale(loss).backward(); step(opt); update()``."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        if enabled and device == "cuda" and not accelerator_devices("gpu"):
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          stacklevel=2)
            enabled = False
        self._enabled = enabled
        if enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, _OptimizerState] = {}

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a tensor, or lists and tuples of them) times the current scale; unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if outputs.dtype in dtypes.HALF:
                # torch multiplies a 16-bit tensor by the float32 scale in float32 and rounds the product once:
                # the scale itself (65536) would already be inf in float16
                return (outputs.float() * self._scale).to(outputs.dtype)
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state(self, optimizer: Any) -> _OptimizerState:
        return self._per_optimizer.setdefault(id(optimizer), _OptimizerState())

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place and note whether any is inf or NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state.stage is _Stage.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state.stage is _Stage.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = 1.0 / self._scale
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.dtype is dtypes.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    bad = grad.isfinite().logical_not().any()
                    state.found_inf = bad if state.found_inf is None else state.found_inf.logical_or(bad)
                    grad.mul_(inv_scale)
        if state.found_inf is None:  # no gradients at all: nothing can overflow
            state.found_inf = tensor(False)
        state.stage = _Stage.UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step()`` on unscaled gradients, skipped if any was inf or NaN; returns what it returns."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state.stage is _Stage.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state.stage is _Stage.READY:
            self.unscale_(optimizer)
        assert state.found_inf is not None, "No inf checks were recorded for this optimizer."
        result = None
        if not state.found_inf.item():
            result = optimizer.step(*args, **kwargs)
        state.stage = _Stage.STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Lower the scale after a skipped step, raise it after ``growth_interval`` clean ones (or set it)."""
        if not self._enabled:
            return
        if new_scale is not None:
            if isinstance(new_scale, Tensor) and new_scale.numel() != 1:
                raise AssertionError("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                                     "torch.FloatTensor with requires_grad=False.")
            self._scale = float(new_scale)
        else:
            found = [s.found_inf for s in self._per_optimizer.values() if s.found_inf is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(bool(f.item()) for f in found):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if grown <= _FLOAT32_MAX:  # torch keeps the scale in float32 and never lets it grow to inf
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer.clear()

    # ---- the hyper-parameters, and state dicts ----
    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict[str, Any]:
        """The scale and its schedule, as torch saves them (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


# ---- torch.cpu.amp and torch.cuda.amp: the per-device spellings torch has deprecated ------------------------


def _deprecated(device: str, what: str) -> None:
    warnings.warn(f"`torch.{device}.amp.{what}(args...)` is deprecated. Please use `torch.amp.{what}('{device}', "
                  "args...)` instead.", FutureWarning, stacklevel=3)


def _deprecated_decorator(what: str) -> None:
    warnings.warn(f"`torch.cuda.amp.{what}(args...)` is deprecated. Please use `torch.amp.{what}(args..., "
                  "device_type='cuda')` instead.", FutureWarning, stacklevel=3)


def _device_custom_fwd(fwd: Any = None, *, cast_inputs: DType | None = None) -> Any:
    """``torch.cuda.amp.custom_fwd``: ``amp.custom_fwd`` for ``"cuda"``, with torch's deprecation warning."""
    _deprecated_decorator("custom_fwd")
    return custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def _device_custom_bwd(bwd: Any) -> Any:
    """``torch.cuda.amp.custom_bwd``: ``amp.custom_bwd`` for ``"cuda"``, with torch's deprecation warning."""
    _deprecated_decorator("custom_bwd")
    return custom_bwd(bwd, device_type="cuda")


def device_namespace(device: str) -> types.ModuleType:
    """The ``torch.<device>.amp`` module: ``autocast`` and ``GradScaler`` fixed to ``device``, each warning once
    per use that the ``torch.amp`` spelling replaces it. Registered so ``from lazygrad.cuda.amp import ...`` works."""
    default_dtype = get_autocast_dtype(device)

    class DeviceAutocast(autocast):
        def __init__(self, enabled: bool = True, dtype: DType = default_dtype, cache_enabled: bool = True) -> None:
            _deprecated(device, "autocast")
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class DeviceGradScaler(GradScaler):
        def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                     growth_interval: int = 2000, enabled: bool = True) -> None:
            _deprecated(device, "GradScaler")
            super().__init__(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    DeviceAutocast.__name__ = DeviceAutocast.__qualname__ = "autocast"
    DeviceGradScaler.__name__ = DeviceGradScaler.__qualname__ = "GradScaler"
    module = types.ModuleType(f"lazygrad.{device}.amp", f"Deprecated per-device names: use lazygrad.amp ('{device}').")
    module.autocast, module.GradScaler = DeviceAutocast, DeviceGradScaler  # type: ignore[attr-defined]
    if device == "cuda":  # torch.cpu.amp never had the Function decorators
        module.custom_fwd, module.custom_bwd = _device_custom_fwd, _device_custom_bwd  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module

