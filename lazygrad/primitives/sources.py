"""Sources: primitives with no argument a gradient could flow into (constants, index ramps)."""

from __future__ import annotations

from ..dtypes import DType
from ..ir import Shape
from .rules import _check_axes, declare


def _const(value: float | int | bool, dtype: DType) -> tuple[Shape, DType]:
    return (), dtype


def _iota(shape: Shape, axis: int, dtype: DType) -> tuple[Shape, DType]:
    _check_axes("iota", shape, (axis,))
    return shape, dtype


declare("const", "source", _const, None)
declare("iota", "source", _iota, None)
