"""Elementwise Tensor ops: arithmetic and its in-place forms, comparisons and logic, unary math, ``where``.

Float unary math that is one primitive (``exp``, ``sin``, ...) is generated from its declaration in
``lazygrad.primitives``; everything else here is written out. Each method is attached to Tensor by
``attach`` at the bottom and exported as ``lazygrad.<name>`` from the same function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import checks, dtypes, ops
from . import realization as realize
from .creation import _as_tensor
from .ir import Node, apply, broadcast_shapes
from .matmul_ops import matmul
from .primitives import FLOAT_UNARY_METHODS
from .primitives.elementwise import KERNEL_EXPONENTS
from .tensor import (
    _ABSENT,
    _NUMBER_OPERAND,
    Number,
    Tensor,
    _float_dtype,
    _promote,
    _promote_any,
    _record,
    _with_scalar,
    _wrap,
    attach,
)


def _scalar_value(value: Any) -> bool | int | float | None:
    if isinstance(value, Number):
        return value
    if isinstance(value, np.generic) and value.shape == ():
        return value.item()
    return None


def _integer_divisor(dividend: Tensor, divisor: Any, op: str) -> Any:
    """``divisor``, known not to be a zero that divides integers: torch raises for it, where floats give inf/nan.

    A known zero raises now; a pending divisor is checked when it is computed.
    """
    if dividend.dtype.is_floating_point or isinstance(divisor, float):
        return divisor
    if not isinstance(divisor, Tensor):
        if divisor == 0:
            raise RuntimeError("ZeroDivisionError")
        return divisor
    if divisor.dtype.is_floating_point:
        return divisor
    if divisor.node.buffer is None:
        node = divisor.node
        return _wrap(checks.guard(node, checks.nonzero(node), RuntimeError, "ZeroDivisionError", op))
    if divisor.numel() and not divisor._value().all():
        raise RuntimeError("ZeroDivisionError")
    return divisor


def _refuse_bool_subtraction(a: Tensor, other: Any) -> None:
    """torch refuses ``-`` with a bool operand (a tensor or Python's True/False), pointing to the mask ops."""
    mine = a.dtype is dtypes.bool_
    theirs = isinstance(other, bool) or (isinstance(other, Tensor) and other.dtype is dtypes.bool_)
    if mine and theirs:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if mine or theirs:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")


def _plus_scaled(a: Tensor, b: Tensor, alpha: float, name: str) -> Tensor:
    """``a + alpha * b`` rounded once, as torch's kernel for ``add(alpha=)`` and ``sub(alpha=)`` fuses it (a product
    rounded first would differ in the last bit: SGD's update is such a sum)."""
    dtype = a.node.dtype if a.node.dtype is b.node.dtype else _promote(a, b)
    if not dtype.is_floating_point and not isinstance(alpha, int):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    # a 16-bit float computes in float32 with alpha rounded to its own dtype, as torch's vectorized kernel
    node = ops.fused(dtype, lambda work: ops.fma(ops.cast(b.node, work), ops.cast(ops.scalar(alpha, dtype), work),
                                                 ops.cast(a.node, work)))
    return _record(name, node, a, b)


def _integral(a: Tensor, rounding: str) -> bool:
    """Whether ``a`` holds integers, which a rounding leaves as they are; torch has no rounding kernel for bool."""
    if a.dtype is dtypes.bool_:
        raise NotImplementedError(f"\"{rounding}_vml_cpu\" not implemented for 'Bool'")
    return not a.dtype.is_floating_point


def _trunc(x: Node) -> Node:
    """Rounding toward zero: ceil below zero, floor elsewhere, so -0.0 (and -0.5) stay -0.0 as in torch."""
    return ops.select(apply("lt", (x, ops.const(0, x.dtype))), apply("ceil", (x,)), apply("floor", (x,)))


def _operands(a: Tensor, other: Any) -> tuple[Tensor, ...]:
    return (a, other) if isinstance(other, Tensor) else (a,)


def _refuse_bool_pair(a: Tensor, other: Any, kernel: str) -> None:
    """torch has no bool kernel for the integer divisions: two bool operands compute in bool and are refused."""
    if a.dtype is dtypes.bool_ and (isinstance(other, bool) or getattr(other, "dtype", None) is dtypes.bool_):
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


class ElementwiseMethods:
    """The elementwise Tensor methods (attached to Tensor below)."""

    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self._inplace(Tensor.add, other, alpha=alpha)

    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self._inplace(Tensor.sub, other, alpha=alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(Tensor.mul, other)

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        self._check_inplace()
        return self._assign(self.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(Tensor.pow, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(Tensor.clamp, min, max)

    def neg_(self) -> Tensor:
        return self._inplace(Tensor.neg)

    def exp_(self) -> Tensor:
        return self._inplace(Tensor.exp)

    def sqrt_(self) -> Tensor:
        return self._inplace(Tensor.sqrt)

    def zero_(self) -> Tensor:
        self._check_inplace()
        return self._assign(_record("ZeroBackward0", ops.full(self.node.shape, 0, self.dtype), self), uniform=True)

    def fill_(self, value: Any) -> Tensor:
        self._check_inplace()
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                                   f"dimensions.")
            node = ops.broadcast_to(ops.cast(value.node, self.dtype), self.node.shape)
            return self._assign(_record("FillBackward3", node, self, value))
        node = ops.broadcast_to(ops.scalar(value, self.dtype), self.node.shape)
        return self._assign(_record("FillBackward2", node, self), uniform=True)

    def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
        self._check_inplace()
        src = src if isinstance(src, Tensor) else _as_tensor(src, self.dtype)
        broadcast_shapes(self.node.shape, src.node.shape)
        node = ops.broadcast_to(ops.cast(src.node, self.dtype), self.node.shape)
        return self._assign(_record("CopyBackwards", node, self, src), cast=True)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # Python falls back to ``x = x op y`` for an augmented operator a class lacks: a new tensor, where torch
    # writes into x (and so into every view sharing its memory).
    def __ifloordiv__(self, other: Any) -> Tensor:
        return self._inplace(Tensor.floor_divide, other)

    def __imod__(self, other: Any) -> Tensor:
        return self._inplace(Tensor.remainder, other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)

    def __iand__(self, other: Any) -> Tensor:
        return self._inplace(Tensor.__and__, other)

    def __ior__(self, other: Any) -> Tensor:
        return self._inplace(Tensor.__or__, other)

    def __ixor__(self, other: Any) -> Tensor:
        return self._inplace(Tensor.__xor__, other)

    # ---- elementwise arithmetic ----
    def _binary(self, other: Any, op: str, name: str, reverse: bool = False, float_only: bool = False) -> Tensor:
        """Promote, build ``op`` and record it under ``name`` (an empty name records no history)."""
        if isinstance(other, Tensor):
            a, b = self.node, other.node
            if a.dtype is not b.dtype or (float_only and not a.dtype.is_floating_point):  # else nothing to cast
                dtype = a.dtype if a.dtype is b.dtype else _promote(self, other)
                if float_only:
                    dtype = _float_dtype(dtype)
                a, b = ops.cast(a, dtype), ops.cast(b, dtype)
            inputs: tuple[Tensor, ...] = (self, other)
        else:
            a, kind = self.node, type(other)
            if kind is float or kind is int:  # the usual number: its promotion looked up directly
                value = other
                dtype = dtypes.WITH_SCALAR.get((a.dtype, kind)) or _with_scalar(a.dtype, value)
            else:
                value = _scalar_value(other)
                if value is None:
                    return NotImplemented
                dtype = _with_scalar(a.dtype, value)
            if float_only:
                dtype = _float_dtype(dtype)
            if dtype in dtypes.HALF and (op == "mul" or (op == "div" and not reverse)):
                # torch scales a 16-bit tensor by a Python number held in float32 and rounds the product once
                # (it adds and compares the number rounded to the tensor's dtype, as below)
                wide = apply(op, (ops.cast(a, dtypes.float32), ops.scalar(value, dtypes.float32)))
                return _record(name, ops.cast(wide, dtype), self)
            a, b = ops.cast(a, dtype), ops.scalar(value, dtype)
            # torch makes the number a tensor operand of these ops: its record lists it as (None, 0)
            inputs = (self, _ABSENT) if name in _NUMBER_OPERAND else (self,)
        node = apply(op, (b, a) if reverse else (a, b))
        if not node.shape and a.buffer is not None and not node.dtype.is_floating_point:
            realize.settle_number(node)  # a slice bound or a loop's test, read soon
        return _record(name, node, *inputs) if name else _wrap(node)

    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        if alpha != 1:
            if isinstance(other, Tensor):
                return _plus_scaled(self, other, alpha, "AddBackward0")
            other = other * alpha
        return self._binary(other, "add", "AddBackward0")

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        _refuse_bool_subtraction(self, other)
        if alpha != 1:
            if isinstance(other, Tensor):
                return _plus_scaled(self, other, -alpha, "SubBackward0")
            other = other * alpha
        return self._binary(other, "sub", "SubBackward0")

    def mul(self, other: Any) -> Tensor:
        return self._binary(other, "mul", "MulBackward0")

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self._binary(other, "div", "DivBackward0", float_only=True)
        if rounding_mode == "floor":
            result = self.floor_divide(other)
        else:
            _refuse_bool_pair(self, other, "div_trunc_cpu")
            other = _integer_divisor(self, other, "div")
            integers = not _promote_any(self, other).is_floating_point
            # the integer primitive divides exactly, truncating (through floats 2**31 - 1 would round)
            result = self._binary(other, "div", "") if integers else \
                self._binary(other, "div", "DivBackward0", float_only=True).trunc()
        # a rounded quotient is flat where it is defined: torch gives it a zero gradient
        return _record("DivBackward2", apply("stop_gradient", (result.node,)), *_operands(self, other))

    def pow(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor):  # a Python bool exponent computes in the tensor's dtype
            _refuse_bool_pair(self, exponent, "pow")
        elif type(exponent) is int and exponent < 0 and not self.dtype.is_floating_point:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if type(exponent) in (int, float) and self.dtype.is_floating_point and (
                float(exponent) in KERNEL_EXPONENTS or float(exponent) - 1 in KERNEL_EXPONENTS):
            # torch has its own kernel for these (x * x, 1 / x, sqrt, ...: other roundings and signed zeros), also
            # in the gradient's x ** (y - 1) (x ** 1.5 differentiates through sqrt), so the exponent is part of the
            # program's structure and each backend picks that kernel when it compiles
            return _record("PowBackward0", apply("pow", (self.node, ops.const(float(exponent), self.dtype))), self)
        name = "PowBackward1" if isinstance(exponent, Tensor) else "PowBackward0"
        return self._binary(exponent, "pow", name)

    def remainder(self, other: Any) -> Tensor:
        # Python's %: the result takes the sign of the divisor.
        _refuse_bool_pair(self, other, "remainder_cpu")
        other = _integer_divisor(self, other, "remainder")
        divisor = other if isinstance(other, Tensor) else _as_tensor(other, _with_scalar(self.dtype, other))
        r = self._binary(other, "rem", "RemainderBackward0")
        fix = (r != 0) & ((r < 0) != (divisor < 0))
        return where(fix, r + divisor, r)

    def fmod(self, other: Any) -> Tensor:
        _refuse_bool_pair(self, other, "fmod_cpu")
        return self._binary(_integer_divisor(self, other, "fmod"), "rem", "FmodBackward0")

    def floor_divide(self, other: Any) -> Tensor:
        _refuse_bool_pair(self, other, "div_floor_cpu")
        if self.dtype.is_floating_point or (isinstance(other, Tensor) and other.dtype.is_floating_point) or \
                isinstance(other, float):
            return self._floor_divide_floats(other)
        other = _integer_divisor(self, other, "floor_divide")
        q = self._binary(other, "div", "DivBackward0")
        r = self._binary(other, "rem", "RemainderBackward0")
        divisor = other if isinstance(other, Tensor) else _as_tensor(other, q.dtype)
        return where((r != 0) & ((r < 0) != (divisor < 0)), q - 1, q)

    def _floor_divide_floats(self, other: Any) -> Tensor:
        """torch's (and Python's) float ``//``: the exact quotient ``(a - fmod(a, b)) / b`` floored, not
        ``floor(a / b)``, whose rounding can reach the next integer (``1.0 // 0.1`` is 9, ``floor(1.0 / 0.1)`` 10);
        ``inf // 2`` is nan and division by zero is ``a / b``. 16-bit floats compute in float32, as torch's do."""
        quotient = self / other
        if quotient.dtype in dtypes.HALF:
            wide = self.float()._floor_divide_floats(other.float() if isinstance(other, Tensor) else other)
            return _record("NotImplemented", ops.cast(wide.node, quotient.dtype), *_operands(self, other))
        mod = self.fmod(other)
        divisor = other if isinstance(other, Tensor) else _as_tensor(other, quotient.dtype)
        div = (self - mod) / other
        div = where((mod != 0) & ((divisor < 0) != (mod < 0)), div - 1, div)
        floored = div.floor()
        floored = where(div - floored > 0.5, floored + 1, floored)
        signed_zero = quotient * 0  # copysign(0, a / b): the quotient is finite where the division is 0
        result = where(divisor == 0, quotient, where(div != 0, floored, signed_zero))
        return _record("NotImplemented", result.node, *_operands(self, other))  # torch has no derivative for it

    def maximum(self, other: Tensor) -> Tensor:
        return self._binary(other, "max", "MaximumBackward0")

    def minimum(self, other: Tensor) -> Tensor:
        return self._binary(other, "min", "MinimumBackward0")

    def atan2(self, other: Tensor) -> Tensor:
        return self._binary(other, "atan2", "Atan2Backward0", float_only=True)

    __add__ = add
    __sub__ = sub
    __mul__ = mul
    __truediv__ = div
    __pow__ = pow
    __mod__ = remainder
    __floordiv__ = floor_divide

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(other, "add", "AddBackward0", reverse=True)

    def __rsub__(self, other: Any) -> Tensor:
        _refuse_bool_subtraction(self, other)
        return self._binary(other, "sub", "RsubBackward1", reverse=True)

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(other, "mul", "MulBackward0", reverse=True)

    def __rtruediv__(self, other: Any) -> Tensor:
        # torch divides a number by a tensor as the tensor's reciprocal times the number: two roundings
        if _scalar_value(other) is None:
            return NotImplemented
        return self.reciprocal()._binary(other, "mul", "MulBackward0", reverse=True)

    def __rpow__(self, other: Any) -> Tensor:
        return self._binary(other, "pow", "PowBackward2", reverse=True)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _as_tensor(other, _with_scalar(self.dtype, other)).floor_divide(self)

    def __rmod__(self, other: Any) -> Tensor:
        return _as_tensor(other, _with_scalar(self.dtype, other)).remainder(self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return matmul(other, self)

    # ---- comparisons and logic (no gradient) ----
    def _compare(self, other: Any, op: str) -> Tensor:
        if other is None or not (isinstance(other, Tensor) or _scalar_value(other) is not None):
            return NotImplemented
        return self._binary(other, op, "")

    def eq(self, other: Any) -> Tensor:
        return self._compare(other, "eq")

    def ne(self, other: Any) -> Tensor:
        return self._compare(other, "ne")

    def lt(self, other: Any) -> Tensor:
        return self._compare(other, "lt")

    def le(self, other: Any) -> Tensor:
        return self._compare(other, "le")

    def gt(self, other: Any) -> Tensor:
        return self._compare(other, "gt")

    def ge(self, other: Any) -> Tensor:
        return self._compare(other, "ge")

    __eq__ = eq  # type: ignore[assignment]
    __ne__ = ne  # type: ignore[assignment]
    __lt__ = lt
    __le__ = le
    __gt__ = gt
    __ge__ = ge

    def _logical(self, other: Any, op: str) -> Tensor:
        if self.dtype.is_floating_point or (isinstance(other, Tensor) and other.dtype.is_floating_point):
            raise RuntimeError(f"\"bitwise_{op}_cpu\" not implemented for 'Float'")
        return self._binary(other, op, "")

    def __and__(self, other: Any) -> Tensor:
        return self._logical(other, "and")

    def __or__(self, other: Any) -> Tensor:
        return self._logical(other, "or")

    def __xor__(self, other: Any) -> Tensor:
        return self._logical(other, "xor")

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        if self.dtype is dtypes.bool_:
            return _wrap(apply("logical_not", (self.node,)))
        if self.dtype.is_floating_point:
            raise TypeError("~ (bitwise_not) is only supported for integer and boolean tensors")
        return -self - 1

    def logical_not(self) -> Tensor:
        return _wrap(apply("logical_not", (self.bool().node,)))

    def logical_and(self, other: Tensor) -> Tensor:
        return self.bool() & other.bool()

    def logical_or(self, other: Tensor) -> Tensor:
        return self.bool() | other.bool()

    def isnan(self) -> Tensor:
        return self != self

    def isinf(self) -> Tensor:
        if not self.dtype.is_floating_point:
            return _wrap(ops.full(self.node.shape, False, dtypes.bool_))
        return self.abs() == math.inf

    def isfinite(self) -> Tensor:
        if not self.dtype.is_floating_point:
            return _wrap(ops.full(self.node.shape, True, dtypes.bool_))
        return (self == self) & (self.abs() != math.inf)

    def equal(self, other: Tensor) -> bool:
        return self.shape == other.shape and bool((self == other).all())

    def allclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        return bool(np.allclose(self._value(), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    # ---- elementwise unary ----
    def _unary(self, op: str, name: str, float_only: bool = True) -> Tensor:
        node = self.node
        if float_only and not self.dtype.is_floating_point:
            node = ops.cast(node, dtypes.default_float())
        return _record(name, apply(op, (node,)), self)

    def neg(self) -> Tensor:
        if self.dtype is dtypes.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return self._unary("neg", "NegBackward0", float_only=False)

    __neg__ = neg
    negative = neg

    def __pos__(self) -> Tensor:
        return self

    def abs(self) -> Tensor:
        if self.dtype is dtypes.bool_:
            raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
        return self._unary("abs", "AbsBackward0", float_only=False)

    __abs__ = abs

    def sign(self) -> Tensor:
        return self._unary("sign", "SignBackward0", float_only=False)

    def floor(self) -> Tensor:
        return self if _integral(self, "floor") else self._unary("floor", "FloorBackward0")

    def ceil(self) -> Tensor:
        return self if _integral(self, "ceil") else self._unary("ceil", "CeilBackward0")

    def round(self, *, decimals: int = 0) -> Tensor:
        if _integral(self, "round"):
            return self
        if decimals == 0:
            return self._unary("round", "RoundBackward0")
        # torch's way: scale, round half to even, scale back (10 ** -d is inexact, so divide by 10 ** d).
        scale = ops.scalar(10.0 ** abs(decimals), self.dtype)
        scaled = apply("mul" if decimals > 0 else "div", (self.node, scale))
        node = apply("div" if decimals > 0 else "mul", (apply("round", (scaled,)), scale))
        return _record("RoundBackward1", node, self)

    def trunc(self) -> Tensor:
        if _integral(self, "trunc"):
            return self
        return _record("TruncBackward0", _trunc(self.node), self)

    def reciprocal(self) -> Tensor:
        node = ops.cast(self.node, _float_dtype(self.dtype))
        return _record("ReciprocalBackward0", ops.div(ops.const(1, node.dtype), node), self)

    def square(self) -> Tensor:
        x = ops.cast(self.node, dtypes.int64) if self.dtype is dtypes.bool_ else self.node  # bools square as int64
        return _record("PowBackward0", ops.mul(x, x), self)

    def relu(self) -> Tensor:
        x, zero = self.node, ops.const(0, self.dtype)
        # torch's max(x, 0) keeps -0 and NaN, so the value zeroes "x < 0"; its gradient is 0 at both zeros and
        # passes at NaN, so the gradient zeroes "x <= 0" (NaN fails both tests): the outer select carries the
        # gradient, and the value it takes where "x <= 0" enters stopped.
        value = ops.select(apply("lt", (x, zero)), zero, x)
        return _record("ReluBackward0", ops.select(apply("le", (x, zero)), apply("stop_gradient", (value,)), x), self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        dtype = self.dtype
        for bound in (min, max):
            if bound is not None:
                dtype = _promote(self, bound) if isinstance(bound, Tensor) else _with_scalar(dtype, bound)
        node = ops.cast(self.node, dtype)
        # Selects rather than max/min: the gradient passes wherever the input is kept, bounds included, as in torch.
        for bound, outside in ((min, "lt"), (max, "gt")):
            if bound is not None:
                b = ops.cast(bound.node, dtype) if isinstance(bound, Tensor) else ops.scalar(bound, dtype)
                node = ops.select(apply(outside, (node, b)), ops.broadcast_to(b, node.shape), node)
                if isinstance(bound, Tensor) and dtype.is_floating_point:
                    nan = ops.broadcast_to(apply("stop_gradient", (b,)), node.shape)  # no gradient, as in torch
                    node = ops.select(apply("ne", (b, b)), nan, node)
                elif isinstance(bound, float) and math.isnan(bound):  # a NaN bound makes every element NaN
                    node = ops.broadcast_to(apply("stop_gradient", (b,)), node.shape)
        if dtype.is_floating_point:  # torch's gradient mask is min <= x <= max: none at NaN (only NaN x gives NaN)
            node = ops.select(apply("ne", (node, node)), apply("stop_gradient", (node,)), node)
        tensor_bounds = [b for b in (min, max) if isinstance(b, Tensor)]
        return _record("ClampBackward0" if tensor_bounds else "ClampBackward1", node, self, *tensor_bounds)

    clip = clamp


def where(condition: Tensor, x: Any, y: Any) -> Tensor:
    """Elementwise choice; scalars take the dtype of the tensor operand, as in torch."""
    tensors = [t for t in (x, y) if isinstance(t, Tensor)]
    if tensors:
        dtype = tensors[0].dtype if len(tensors) == 1 else _promote(x, y)
        for s in (x, y):
            if not isinstance(s, Tensor):
                dtype = _with_scalar(dtype, s)
    else:
        dtype = dtypes.promote_types(dtypes.scalar_dtype(x), dtypes.scalar_dtype(y))

    def node_of(v: Any) -> Node:
        return ops.cast(v.node, dtype) if isinstance(v, Tensor) else ops.scalar(v, dtype)

    cond = condition.node if condition.dtype is dtypes.bool_ else ops.cast(condition.node, dtypes.bool_)
    node = ops.select(cond, node_of(x), node_of(y))
    return _record("WhereBackward0", node, *tensors)


attach(ElementwiseMethods)


def _float_unary_method(name: str, op: str, grad_fn: str) -> Callable[..., Tensor]:
    """``Tensor.<name>``, the float unary primitive ``op`` declared with that method in ``lazygrad.primitives``."""
    def method(self) -> Tensor:
        return self._unary(op, grad_fn)

    method.__name__, method.__qualname__ = name, f"Tensor.{name}"
    return method


for _name, (_op, _grad_fn) in FLOAT_UNARY_METHODS.items():
    setattr(Tensor, _name, _float_unary_method(_name, _op, _grad_fn))
del _name, _op, _grad_fn
