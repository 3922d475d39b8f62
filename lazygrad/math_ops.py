"""Elementwise functions and reductions composed from the primitive set: logarithms and exponentials in
other bases, hyperbolic and inverse trigonometric functions, hypot, lerp, isclose, one-sided clamps,
cumprod, and the paired reductions std_mean, var_mean and aminmax.

Each is written in the form that stays accurate where the textbook one loses digits (``sinh`` through
``expm1``, ``asin`` through ``atan2``, ``atanh`` through ``log1p``), and each records torch's op name, so
its gradient is the composition's and its ``grad_fn`` reads like torch's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import dtypes, ops, return_types
from .grad_mode import no_grad
from .ir import Node, apply
from .reductions import _nan_poisoned, _safe_sqrt, _variance
from .tensor import _C10_NAMES, Tensor, _dim, _dims, _promote, _record, _torch_type_name, _wrap


def _c(value: float, like: Node) -> Node:
    return ops.const(value, like.dtype)


def _u(op: str, x: Node) -> Node:
    return apply(op, (x,))


def _b(op: str, a: Node, b: Node) -> Node:
    return apply(op, (a, b))


def _ascending(t: Node) -> Node:
    """asinh for t >= 0 without cancellation: log1p(t + t^2 / (1 + sqrt(1 + t^2)))."""
    square = ops.mul(t, t)
    return _u("log1p", ops.add(t, ops.div(square, ops.add(_c(1, t), _u("sqrt", ops.add(_c(1, t), square))))))


def _asinh(x: Node) -> Node:
    # Odd: evaluate on |x| and restore the sign. Selects rather than abs/sign keep the slope 1 at x = 0.
    negative = _b("lt", x, _c(0, x))
    value = _ascending(ops.select(negative, ops.neg(x), x))
    return ops.select(negative, ops.neg(value), value)


def _one_minus_square(x: Node) -> Node:
    return ops.mul(_b("sub", _c(1, x), x), ops.add(_c(1, x), x))  # (1 - x)(1 + x): exact near |x| = 1


# name -> (torch's grad_fn name, the composition on a floating-point node)
_UNARY: dict[str, tuple[str, Callable[[Node], Node]]] = {
    "log2": ("Log2Backward0", lambda x: ops.div(_u("log", x), _c(math.log(2), x))),
    "log10": ("Log10Backward0", lambda x: ops.div(_u("log", x), _c(math.log(10), x))),
    "exp2": ("Exp2Backward0", lambda x: _b("pow", _c(2, x), x)),
    "sinh": ("SinhBackward0", lambda x: ops.scale(_b("sub", _u("expm1", x), _u("expm1", ops.neg(x))), 0.5)),
    "cosh": ("CoshBackward0", lambda x: ops.scale(ops.add(_u("exp", x), _u("exp", ops.neg(x))), 0.5)),
    "tan": ("TanBackward0", lambda x: ops.div(_u("sin", x), _u("cos", x))),
    "atan": ("AtanBackward0", lambda x: _b("atan2", x, _c(1, x))),
    "asin": ("AsinBackward0", lambda x: _b("atan2", x, _u("sqrt", _one_minus_square(x)))),
    "acos": ("AcosBackward0", lambda x: _b("atan2", _u("sqrt", _one_minus_square(x)), x)),
    "asinh": ("AsinhBackward0", _asinh),
    "acosh": ("AcoshBackward0", lambda x: _u("log1p", ops.add(
        _b("sub", x, _c(1, x)), _u("sqrt", ops.mul(_b("sub", x, _c(1, x)), ops.add(x, _c(1, x))))))),
    "atanh": ("AtanhBackward0", lambda x: ops.scale(_u("log1p", ops.div(ops.scale(x, 2.0), _b("sub", _c(1, x), x))),
                                                    0.5)),
}


def _unary(name: str) -> Callable[[Tensor], Tensor]:
    grad_fn, build = _UNARY[name]

    def op(input: Tensor) -> Tensor:
        node = input.node if input.dtype.is_floating_point else ops.cast(input.node, dtypes.default_float())
        return _record(grad_fn, build(node), input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"torch.{name}, elementwise (integer inputs give the default float dtype)."
    return op


log2, log10, exp2, sinh, cosh, tan, atan, asin, acos, asinh, acosh, atanh = (_unary(n) for n in _UNARY)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2`` as torch's CPU kernel computes it: ``value * tensor1`` rounded, then one
    fused multiply-add."""
    dtype = _promote(input, tensor1, tensor2)

    def build(work: dtypes.DType) -> Node:
        a, t1, t2 = (ops.cast(t.node, work) for t in (input, tensor1, tensor2))
        scaled = t1 if value == 1 else ops.mul(ops.scalar(value, work), t1)
        return ops.fma(scaled, t2, a)

    return _record("AddcmulBackward0", ops.fused(dtype, build), input, tensor1, tensor2)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2``: the product first, then the quotient, as torch's kernel does (16-bit
    floats in float32)."""
    dtype = _promote(input, tensor1, tensor2)
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a "
            "true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + "
            "value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as (input + value * "
            "tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")

    def build(work: dtypes.DType) -> Node:
        a, t1, t2 = (ops.cast(t.node, work) for t in (input, tensor1, tensor2))
        return ops.add(a, ops.div(ops.mul(ops.scalar(value, work), t1), t2))

    return _record("AddcdivBackward0", ops.fused(dtype, build), input, tensor1, tensor2)


def _float_pair(op: str, input: Tensor, other: Tensor) -> tuple[Node, Node]:
    dtype = _promote(input, other)
    if not dtype.is_floating_point:
        raise NotImplementedError(f"\"{op}\" not implemented for '{_torch_type_name(dtype)}'")
    return ops.cast(input.node, dtype), ops.cast(other.node, dtype)


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """sqrt(input^2 + other^2), elementwise, without the squares' overflow or underflow; infinite where either is
    infinite, NaN or not."""
    a, b = _float_pair("hypot_cpu", input, other)
    return _record("HypotBackward0", _b("hypot", a, b), input, other)


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)`` as torch's CPU kernel computes it: one fused multiply-add from the nearer
    end (``end + (weight - 1) * (end - input)`` when ``|weight| >= 0.5``), so that weight 1 gives ``end`` exactly."""
    if end.dtype is not input.dtype:
        raise RuntimeError(f"expected dtype {_C10_NAMES[input.dtype.name]} for `end` but got dtype "
                           f"{_C10_NAMES[end.dtype.name]}")
    start, stop = _float_pair("lerp_kernel_scalar", input, end)

    def build(work: dtypes.DType) -> Node:
        a, b = ops.cast(start, work), ops.cast(stop, work)
        if isinstance(weight, Tensor):
            w = ops.cast(weight.node, work)
            near_start = _b("lt", _u("abs", w), _c(0.5, w))
            coefficient, base = ops.select(near_start, w, _b("sub", w, _c(1, w))), ops.select(near_start, a, b)
        else:
            w = ops.scalar(weight, work)
            coefficient, base = (w, a) if abs(weight) < 0.5 else (_b("sub", w, _c(1, w)), b)
        return ops.fma(coefficient, _b("sub", b, a), base)

    node = ops.fused(start.dtype, build)
    if isinstance(weight, Tensor):
        return _record("LerpBackward1", node, input, end, weight)
    return _record("LerpBackward0", node, input, end)


def logical_xor(input: Tensor, other: Tensor) -> Tensor:
    return _wrap(apply("ne", (ops.cast(input.node, dtypes.bool_), ops.cast(other.node, dtypes.bool_))))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise; equal infinities are close, NaNs only with
    ``equal_nan``."""
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_torch_type_name(input.dtype)} did not match {_torch_type_name(other.dtype)}")
    a, b = input.node, other.node
    close = _b("eq", a, b)
    if input.dtype is not dtypes.bool_:
        work = a.dtype if a.dtype.is_floating_point else dtypes.float64
        a, b = ops.cast(a, work), ops.cast(b, work)
        error = _u("abs", _b("sub", a, b))
        allowed = ops.add(ops.scalar(atol, work), _u("abs", ops.mul(ops.scalar(rtol, work), b)))
        finite = _b("lt", error, ops.const(math.inf, work))
        close = _b("or", close, _b("and", finite, _b("le", error, allowed)))
        if equal_nan:
            close = _b("or", close, _b("and", _b("ne", a, a), _b("ne", b, b)))
    return _wrap(close)


def _one_sided(name: str, input: Tensor, bound: Any, side: str) -> Tensor:
    with no_grad():  # clamp's dtype rules and NaN handling, recorded under torch's name for one bound
        node = input.clamp(**{side: bound}).node
    if isinstance(bound, Tensor):
        return _record(f"{name}Backward1", node, input, bound)
    return _record(f"{name}Backward0", node, input)


def clamp_min(input: Tensor, min: Any) -> Tensor:
    return _one_sided("ClampMin", input, min, "min")


def clamp_max(input: Tensor, max: Any) -> Tensor:
    return _one_sided("ClampMax", input, max, "max")


def clamp_min_(self: Tensor, min: Any) -> Tensor:
    return self._inplace(clamp_min, min)


def clamp_max_(self: Tensor, max: Any) -> Tensor:
    return self._inplace(clamp_max, max)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running products along ``dim``; integer and bool inputs accumulate in int64, as in torch.

    The gradient is exact with zeros in the input (no division by them).
    """
    target = dtypes.to_dtype(dtype) if dtype is not None else \
        (input.dtype if input.dtype.is_floating_point else dtypes.int64)
    node = apply("cumprod", (ops.cast(input.node, target),), (_dim(dim, input.ndim),)) if input.ndim else \
        ops.cast(input.node, target)
    return _record("CumprodBackward0", node, input)


def _paired(name: str, input: Tensor, dim: Any, unbiased: bool | None, keepdim: bool, correction: int | None,
            std: bool) -> tuple[Tensor, Tensor]:
    spread = _variance("std_mean" if std else "var_mean", input, dim, unbiased, keepdim, correction)
    if std:
        spread = _safe_sqrt(spread)
    if isinstance(dim, bool):
        dim = None
    with no_grad():
        mean = input.mean(dim, keepdim=keepdim).node
    return _record(name, spread, input), _record(name, mean, input)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: int | None = None) -> tuple[Tensor, Tensor]:
    """The standard deviation and the mean over ``dim``, as a pair."""
    return _paired("StdMeanBackward0", input, dim, unbiased, keepdim, correction, std=True)


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: int | None = None) -> tuple[Tensor, Tensor]:
    """The variance and the mean over ``dim``, as a pair."""
    return _paired("VarMeanBackward0", input, dim, unbiased, keepdim, correction, std=False)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """The minimum and the maximum over ``dim`` (all elements by default) in one call."""
    axes = _dims(dim, input.ndim)
    if any(input.shape[a] == 0 for a in axes) or (dim is None and not input.numel()):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    low = ops.reduce("reduce_min", _nan_poisoned(input, "reduce_min", axes), axes, keepdim)
    high = ops.reduce("reduce_max", _nan_poisoned(input, "reduce_max", axes), axes, keepdim)
    return return_types.aminmax(_record("AminmaxBackward0", low, input), _record("AminmaxBackward0", high, input))


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return self._inplace(addcmul, tensor1, tensor2, value=value)


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return self._inplace(addcdiv, tensor1, tensor2, value=value)


def lerp_(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    return self._inplace(lerp, end, weight)


_ALIASES = {"arcsin": asin, "arccos": acos, "arctan": atan, "arcsinh": asinh, "arccosh": acosh, "arctanh": atanh}

for _name, _fn in {"log2": log2, "log10": log10, "exp2": exp2, "sinh": sinh, "cosh": cosh, "tan": tan, "atan": atan,
                   "asin": asin, "acos": acos, "asinh": asinh, "acosh": acosh, "atanh": atanh, **_ALIASES,
                   "hypot": hypot, "lerp": lerp, "logical_xor": logical_xor, "isclose": isclose,
                   "clamp_min": clamp_min, "clamp_max": clamp_max, "clamp_min_": clamp_min_,
                   "clamp_max_": clamp_max_, "cumprod": cumprod, "aminmax": aminmax, "addcmul": addcmul,
                   "addcdiv": addcdiv, "addcmul_": addcmul_, "addcdiv_": addcdiv_, "lerp_": lerp_}.items():
    setattr(Tensor, _name, _fn)
