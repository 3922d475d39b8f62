"""``torch.amp.custom_fwd`` / ``custom_bwd``: autocast for a custom ``autograd.Function``.

A Function's ``forward`` runs as user code, so autocast would otherwise cast whatever ops it happens to use.
``custom_fwd(cast_inputs=dtype)`` instead casts the floating inputs once and runs ``forward`` with autocast off;
``custom_bwd`` makes ``backward`` (which the engine runs outside any region) see the autocast state that
``forward`` saw, both kept on the ctx as torch keeps them (``_fwd_used_autocast``, ``_dtype``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from . import dtypes
from .autocast_mode import _TORCH_DEVICE, autocast, get_autocast_dtype, is_autocast_enabled
from .device import of as device_of
from .dtypes import DType
from .tensor import Tensor


def _check_device_type(device_type: Any) -> None:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")


def _cast(value: Any, device_type: str, dtype: DType) -> Any:
    """``value`` with its floating tensors on ``device_type`` (not float64) cast to ``dtype``, through containers."""
    if isinstance(value, Tensor):
        kind = device_of(value).type
        eligible = (value.dtype.is_floating_point and value.dtype is not dtypes.float64
                    and _TORCH_DEVICE.get(kind, kind) == device_type)
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, Iterable):
        items = (_cast(v, device_type, dtype) for v in value)
        return type(value)(items) if isinstance(value, (list, tuple)) else items
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: DType | None = None) -> Callable:
    """Decorate a Function's ``forward``: in an autocast region, cast floating inputs to ``cast_inputs`` (if
    given) and run with autocast disabled; outside one, a no-op."""
    _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args: Any, **kwargs: Any) -> Any:
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = enabled
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if not enabled:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast(args, device_type, cast_inputs), **_cast(kwargs, device_type, cast_inputs))

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorate a Function's ``backward`` to run under the autocast state its ``forward`` ran under."""
    _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args: Any, **kwargs: Any) -> Any:
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
