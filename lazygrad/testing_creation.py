"""``torch.testing.make_tensor``: a random tensor for a test, drawn as torch draws it.

Values come from ``randint`` (booleans, integers) or ``uniform_`` (floats) over a per-dtype default range, so
under the same seed the tensor is torch's, value for value. Bounds outside the dtype's finite range are clamped
to it; integer bounds are rounded up, so no value falls below ``low``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from . import dtypes
from .creation import empty, randint
from .dtypes import DType
from .tensor import Tensor
from .type_info import finfo, iinfo

_INTEGRAL = (dtypes.uint8, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64)
_FLOATING = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


def _bounds(low: float | None, high: float | None, dtype: DType, limits: tuple[float, float],
            defaults: tuple[float, float]) -> tuple[float, float]:
    """``[low, high)`` from the user's bounds or the dtype's defaults, checked and clamped to ``limits``."""
    low = defaults[0] if low is None else low
    high = defaults[1] if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
    if low == high and dtype in _FLOATING:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
                      "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                      FutureWarning, stacklevel=4)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < limits[0] or low >= limits[1]:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype} only "
                         f"supports [{limits[0]}, {limits[1]})")
    low, high = (min(max(v, limits[0]), limits[1]) for v in (low, high))
    if dtype in _FLOATING:
        return low, high
    return math.ceil(low), math.ceil(high)  # randint's high is exclusive, so it is rounded up too


def make_tensor(*shape: int | Sequence[int], dtype: DType, device: Any, low: float | None = None,
                high: float | None = None, requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format: Any = None) -> Tensor:
    """A tensor of ``shape`` with values drawn uniformly from ``[low, high)`` (defaults per dtype, as torch's)."""
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = shape[0]
    size = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"{noncontiguous=} and {memory_format=}")
    integral = dtype is dtypes.bool_ or dtype in _INTEGRAL
    if requires_grad and integral:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got {dtype=}")
    noncontiguous = noncontiguous and math.prod(size) > 1
    if noncontiguous:  # twice as wide, then every other column: distinct values, and an offset of one
        size = (*size[:-1], 2 * size[-1])
    if dtype is dtypes.bool_:
        low, high = _bounds(low, high, dtype, (0, 2), (0, 2))
        result = randint(low, high, size, device=device, dtype=dtype)
    elif dtype in _INTEGRAL:
        info = iinfo(dtype)
        # randint takes its bounds as int64, so int64's own maximum cannot be an exclusive bound
        limits = (info.min, info.max + (dtype is not dtypes.int64))
        low, high = _bounds(low, high, dtype, limits, (-9, 10))
        result = randint(low, high, size, device=device, dtype=dtype)
    elif dtype in _FLOATING:
        info = finfo(dtype)
        low, high = _bounds(low, high, dtype, (info.min, info.max), (-9, 9))
        result = empty(size, device=device, dtype=dtype)
        # uniform_ needs ``high - low`` finite in the dtype: a wider range is drawn at half scale
        if high - low >= info.max:
            result.uniform_(low / 2, high / 2).mul_(2)
        else:
            result.uniform_(low, high)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor(). To "
                        "request support, file an issue at: https://github.com/pytorch/pytorch/issues")
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if integral else finfo(dtype).tiny
    if dtype in _FLOATING:
        result.requires_grad = requires_grad
    return result
