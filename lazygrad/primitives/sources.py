"""Sources: primitives with no argument a gradient could flow into (constants, index ramps, random draws)."""

from __future__ import annotations

from .. import dtypes
from ..dtypes import DType
from ..ir import Node, Shape
from .rules import _check_axes, declare


def _const(value: float | int | bool, dtype: DType) -> tuple[Shape, DType]:
    return (), dtype


def _iota(shape: Shape, axis: int, dtype: DType) -> tuple[Shape, DType]:
    _check_axes("iota", shape, (axis,))
    return shape, dtype


def _random(seed: Node, shape: Shape, dtype: DType, distribution: str) -> tuple[Shape, DType]:
    if seed.shape != () or seed.dtype is not dtypes.int64:
        raise TypeError("[random] the seed must be an int64 scalar")
    if distribution not in ("uniform", "normal") or not dtype.is_floating_point:
        raise ValueError(f"[random] unsupported {distribution} draw of {dtype.name}")
    return shape, dtype


declare("const", "source", _const, None)
declare("iota", "source", _iota, None)
declare("random", "source", _random, None)
