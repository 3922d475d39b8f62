"""``torch.autocast``: inside a region, matmuls and convolutions run in a 16-bit float, losses in float32.

As in torch, the state is thread-local, regions nest, and an op is *eligible* when its floating inputs are on
the region's device and are not float64. Two policies cast them:

- lower precision (``matmul``, ``linear``, convolutions, ``addmm``, ``baddbmm``, ``einsum``, ``prelu``,
  ``scaled_dot_product_attention``): to the region's dtype, bfloat16 on the CPU by default;
- float32 (the losses, ``prod``, the linalg factorizations and solvers): to float32.

Everything else runs in the dtype of its inputs. An op runs with autocast suspended, so the ops it is built
from are not cast again. Only ``matmul`` checks the state inline (it is the hot one); the other ops carry a
decorator. A cast is an ordinary ``.to()``, so gradients flow back to the float32 parameters in float32, and
inside one region the cast of a parameter is made once and reused (``cache_enabled``).
"""

from __future__ import annotations

import copy
import functools
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import dtypes
from .device import accelerator_devices
from .device import of as device_of
from .dtypes import DType
from .grad_mode import is_grad_enabled

if TYPE_CHECKING:
    from .tensor import Tensor

F = TypeVar("F", bound=Callable[..., Any])

# The device types a region can name, with each one's default dtype and the dtypes it accepts.
_DEFAULT_DTYPE = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}
_SUPPORTED = {"cpu": (dtypes.bfloat16, dtypes.float16), "cuda": (dtypes.float16, dtypes.bfloat16)}
_SUPPORTED_TEXT = {"cpu": "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                   "cuda": "CUDA Autocast only supports dtypes of torch.float16, torch.bfloat16 currently."}
# lazygrad's device types (jax platforms) as torch names them.
_TORCH_DEVICE = {"gpu": "cuda"}


class _State(threading.local):
    """Per-thread autocast state; ``active`` (any device enabled, outside an op's own body) is the hot flag."""

    def __init__(self) -> None:
        self.active = False
        self.enabled = dict.fromkeys(_DEFAULT_DTYPE, False)
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True
        self.depth = 0  # enabled regions entered; the cast cache lives while it is above 0
        self.cache: dict[int, tuple[Tensor, Any, Tensor]] = {}


STATE = _State()


def is_autocast_available(device_type: str) -> bool:
    return device_type in _DEFAULT_DTYPE


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (with no argument, for ``"cuda"``, as in torch)."""
    return STATE.enabled.get("cuda" if device_type is None else device_type, False)


def get_autocast_dtype(device_type: str) -> DType:
    return STATE.dtype[_device_type(device_type)]


def is_autocast_cache_enabled() -> bool:
    return STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    STATE.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    STATE.cache.clear()


def _device_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in _DEFAULT_DTYPE:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return device_type


class autocast:  # lower case, like torch.autocast
    """Run eligible ops of a region in lower precision: a context manager, or a decorator for a function."""

    def __init__(self, device_type: str, dtype: DType | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device = _device_type(device_type)
        self.fast_dtype = STATE.dtype[self.device] if dtype is None else dtypes.to_dtype(dtype)
        self._cache_enabled = STATE.cache_enabled if cache_enabled is None else bool(cache_enabled)
        if enabled and self.device == "cuda" and not accelerator_devices("gpu"):
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2)
            enabled = False
        if enabled and self.fast_dtype not in _SUPPORTED[self.device]:
            warnings.warn(f"In {self.device.upper()} autocast, but the target dtype is not supported. Disabling "
                          f"autocast.\n{_SUPPORTED_TEXT[self.device]}", stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        state = STATE
        self._previous = (state.enabled[self.device], state.dtype[self.device], state.cache_enabled)
        state.enabled[self.device] = self._enabled
        state.dtype[self.device] = self.fast_dtype
        state.cache_enabled = self._cache_enabled
        state.depth += self._enabled
        state.active = any(state.enabled.values())
        return self

    def __exit__(self, *exc: object) -> None:
        state = STATE
        state.depth -= self._enabled
        if state.depth == 0:
            state.cache.clear()  # cast parameters are kept for one region: they go stale when it ends
        state.enabled[self.device], state.dtype[self.device], state.cache_enabled = self._previous
        state.active = any(state.enabled.values())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with copy.copy(self):  # a fresh region per call, so calls may nest and run on several threads
                return fn(*args, **kwargs)
        return run  # type: ignore[return-value]


# ---- casting --------------------------------------------------------------------------------------------


def _target(t: Tensor, lower: bool) -> DType | None:
    """The dtype an eligible tensor is cast to under the current state, or None to leave it."""
    dtype = t.dtype
    if not dtype.is_floating_point or dtype is dtypes.float64:
        return None
    kind = device_of(t).type
    device = _TORCH_DEVICE.get(kind, kind)
    if not STATE.enabled.get(device, False):
        return None
    return STATE.dtype[device] if lower else dtypes.float32


def _cast(value: Any, lower: bool) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, lower) for v in value)
    if not isinstance(getattr(value, "dtype", None), DType):  # not a tensor (a numpy array's dtype is numpy's)
        return value
    target = _target(value, lower)
    if target is None or target is value.dtype:
        return value
    cacheable = (lower and value.dtype is dtypes.float32 and value.is_leaf and value.requires_grad
                 and STATE.cache_enabled and is_grad_enabled())
    if not cacheable:
        return value.to(target)
    hit = STATE.cache.get(id(value))
    # Keyed by identity and checked against the node: an in-place update since the cast misses the cache.
    if hit is not None and hit[0] is value and hit[1] is value.node and hit[2].dtype is target:
        return hit[2]
    out = value.to(target)
    STATE.cache[id(value)] = (value, value.node, out)
    return out


def lower(*tensors: Any) -> tuple[Any, ...]:
    """The operands of a lower-precision op, cast for the current state (call only when ``STATE.active``)."""
    return tuple(_cast(t, True) for t in tensors)


def _policy(lower_precision: bool) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            state = STATE
            if not state.active or kwargs.get("dtype") is not None:  # an explicit dtype is the caller's choice
                return fn(*args, **kwargs)
            args = tuple(_cast(a, lower_precision) for a in args)
            kwargs = {k: _cast(v, lower_precision) for k, v in kwargs.items()}
            state.active = False  # the op's own building blocks are not cast again
            try:
                return fn(*args, **kwargs)
            finally:
                state.active = True
        return run  # type: ignore[return-value]
    return decorate


# torch's CPU autocast runs an LSTM and the plain RNNs as one lower-precision op (oneDNN's layer). GRU is on no
# list: its steps' products are cast one by one, and its state keeps the input's dtype (float32 stays float32).
_LOWER_RECURRENT = frozenset({"LSTM", "RNN_TANH", "RNN_RELU"})


def recurrent_dtype(mode: str, input: Tensor) -> DType | None:
    """The dtype a recurrent layer's input and states take in the current autocast region; None outside one."""
    target = _target(input, True) if STATE.active else None
    if target is None:
        return None
    return target if mode in _LOWER_RECURRENT else input.dtype


lower_precision_op = _policy(True)
float32_op = _policy(False)
