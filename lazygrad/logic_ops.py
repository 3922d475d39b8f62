"""The NaN-skipping mean (``nanmean``), bitwise ops by name (``bitwise_and`` ... ``bitwise_not`` and
the in-place ``&=``, ``|=``, ``^=``), membership (``isin``) and the predicates ``isneginf``, ``isposinf``,
``isreal``, ``is_nonzero``, ``is_floating_point`` and ``result_type``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import dtypes, ops
from .creation import _as_tensor
from .dtypes import DType
from .ir import apply
from .tensor import Tensor, _promote, _torch_type_name, _with_scalar, _wrap, attach


def _no_float(op: str, *operands: Any) -> None:
    for t in operands:
        if isinstance(t, Tensor) and t.dtype.is_floating_point:
            raise RuntimeError(f"\"{op}_cpu\" not implemented for '{_torch_type_name(t.dtype)}'")


def _infinity(input: Tensor, value: float) -> Tensor:
    if not input.dtype.is_floating_point:
        return _wrap(ops.full(input.node.shape, False, dtypes.bool_))
    return _wrap(apply("eq", (input.node, ops.const(value, input.dtype))))


class LogicMethods:
    """NaN-skipping reductions, bitwise ops and predicates (attached to Tensor below)."""

    def nanmean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The mean of the non-NaN elements: their sum over their count."""
        if not self.dtype.is_floating_point:
            raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                               f"{_torch_type_name(self.dtype)}")
        return self.nansum(dim, keepdim, dtype=dtype) / self.isnan().logical_not().sum(dim, keepdim)

    def bitwise_and(self, other: Any) -> Tensor:
        _no_float("bitwise_and", self, other)
        return self & other

    def bitwise_or(self, other: Any) -> Tensor:
        _no_float("bitwise_or", self, other)
        return self | other

    def bitwise_xor(self, other: Any) -> Tensor:
        _no_float("bitwise_xor", self, other)
        return self ^ other

    def bitwise_not(self) -> Tensor:
        _no_float("bitwise_not", self)
        return ~self

    def bitwise_and_(self, other: Any) -> Tensor:
        return self._inplace(LogicMethods.bitwise_and, other)

    def bitwise_or_(self, other: Any) -> Tensor:
        return self._inplace(LogicMethods.bitwise_or, other)

    def bitwise_xor_(self, other: Any) -> Tensor:
        return self._inplace(LogicMethods.bitwise_xor, other)

    def bitwise_not_(self) -> Tensor:
        return self._inplace(LogicMethods.bitwise_not)

    def isneginf(self) -> Tensor:
        return _infinity(self, -math.inf)

    def isposinf(self) -> Tensor:
        return _infinity(self, math.inf)

    def isreal(self) -> Tensor:
        """True everywhere: lazygrad has no complex dtypes."""
        return _wrap(ops.full(self.node.shape, True, dtypes.bool_))

    def is_nonzero(self) -> bool:
        count = self.numel()
        if count != 1:
            raise RuntimeError("Boolean value of Tensor with " + ("no values" if count == 0 else
                                                                   "more than one value") + " is ambiguous")
        return self.item() != 0


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (either may be a number), compared in their
    promoted dtype."""
    dtype = _promote_mixed(elements, test_elements)
    items = elements if isinstance(elements, Tensor) else _as_tensor(elements, dtype)
    tests = test_elements if isinstance(test_elements, Tensor) else _as_tensor(test_elements, dtype)
    probe = ops.reshape(ops.cast(items.node, dtype), (*items.node.shape, 1))
    pool = ops.reshape(ops.cast(tests.node, dtype), (1,) * items.ndim + (tests.numel(),))
    hits = apply("eq", (probe, pool))
    found = ops.reduce("reduce_max", ops.cast(hits, dtypes.int32), (items.ndim,)) if tests.numel() else \
        ops.full(items.node.shape, 0, dtypes.int32)
    found = apply("ne", (found, ops.const(0, dtypes.int32)))
    return _wrap(apply("logical_not", (found,)) if invert else found)


def _promote_mixed(a: Any, b: Any) -> DType:
    """torch's result dtype of two operands, each a tensor or a Python number."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _promote(a, b)
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        tensor, number = (a, b) if isinstance(a, Tensor) else (b, a)
        return _with_scalar(tensor.dtype, number)
    return dtypes.promote_types(dtypes.scalar_dtype(a), dtypes.scalar_dtype(b))


def result_type(tensor: Any, other: Any) -> DType:
    """The dtype an arithmetic op on these two operands gives (tensors or numbers)."""
    return _promote_mixed(tensor, other)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


attach(LogicMethods)

FUNCTIONS = {**{name: getattr(Tensor, name) for name in (
    "nanmean", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isneginf", "isposinf", "isreal",
    "is_nonzero")}, "isin": isin, "result_type": result_type, "is_floating_point": is_floating_point}
TAKES_OUT = {"nanmean", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isneginf", "isposinf",
             "isin"}
