"""Elementwise primitives: unary math, binary arithmetic and comparisons, logic, select and cast.

Binary primitives take arguments of one dtype and broadcast like numpy, so their VJPs sum each
cotangent back to its argument's shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import dtypes
from ..autodiff import Cotangents, no_gradient
from ..dtypes import DType
from ..ir import Node, Shape, apply, broadcast_known, broadcast_shapes
from ..ops import add, cast, const, div, mul, neg, scale, select
from .rules import _back, _each, _one_minus, _same_dtype, _u, declare

# ---- shape/dtype rules ------------------------------------------------------------------------------------


def _float_unary(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(x: Node) -> tuple[Shape, DType]:
        if not x.dtype.is_floating_point:
            raise TypeError(f"[{op}] expects a floating-point input, got {x.dtype.name}")
        return x.shape, x.dtype
    return rule


def _any_unary(x: Node) -> tuple[Shape, DType]:
    return x.shape, x.dtype


def _logical_not(x: Node) -> tuple[Shape, DType]:
    if x.dtype is not dtypes.bool_:
        raise TypeError(f"[logical_not] expects bool, got {x.dtype.name}")
    return x.shape, x.dtype


def _binary(op: str, out_bool: bool) -> Callable[..., tuple[Shape, DType]]:
    def rule(a: Node, b: Node) -> tuple[Shape, DType]:
        dtype = a.dtype
        if b.dtype is not dtype:
            _same_dtype(op, a, b)
        sa, sb = a.shape, b.shape
        shape = sa if sa == sb or not sb else sb if not sa else broadcast_known(sa, sb)
        return shape, dtypes.bool_ if out_bool else dtype
    return rule


def _bitwise(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(a: Node, b: Node) -> tuple[Shape, DType]:
        dtype = _same_dtype(op, a, b)
        if dtype.is_floating_point:
            raise TypeError(f"[{op}] is only defined for bool and integer tensors, got {dtype.name}")
        return broadcast_shapes(a.shape, b.shape), dtype
    return rule


def _select_rule(pred: Node, on_true: Node, on_false: Node) -> tuple[Shape, DType]:
    if pred.dtype is not dtypes.bool_:
        raise TypeError(f"[select] predicate must be bool, got {pred.dtype.name}")
    dtype = on_true.dtype if on_true.dtype is on_false.dtype else _same_dtype("select", on_true, on_false)
    if pred.shape == on_true.shape == on_false.shape:  # the usual case, without the broadcasting walk
        return pred.shape, dtype
    return broadcast_known(pred.shape, on_true.shape, on_false.shape), dtype


def _fma_rule(a: Node, b: Node, c: Node) -> tuple[Shape, DType]:
    dtype = _same_dtype("fma", a, b, c)
    if dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"[fma] expects float32 or float64 arguments, got {dtype.name}")
    if a.shape == b.shape == c.shape:
        return a.shape, dtype
    return broadcast_known(a.shape, b.shape, c.shape), dtype  # an update's scalar factor: the same shapes each step


def _cast_rule(x: Node, dtype: DType) -> tuple[Shape, DType]:
    return x.shape, dtype


# ---- VJP rules that need more than a line ------------------------------------------------------------------


def _add(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    return _each(n, needs, lambda: ct, lambda: ct)


def _sub(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    return _each(n, needs, lambda: ct, lambda: neg(ct))


def _mul(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    if a is b and needs[0]:  # a square: both positions get the same product, built once (the walk adds them)
        g = _back(mul(ct, a), a)
        return g, g
    return _each(n, needs, lambda: mul(ct, b), lambda: mul(ct, a))


def _div(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    if a.op == "const" and a.params[0] == 1:  # a reciprocal: torch's slope is -ct * (1/b)^2
        return _each(n, needs, lambda: None, lambda: neg(mul(ct, mul(n, n))))
    # -ct * ((a / b) / b), as torch: ct / b first would overflow to inf at a tiny b and give inf * 0 = nan.
    return _each(n, needs, lambda: div(ct, b), lambda: neg(mul(ct, div(n, b))))


# The number exponents torch computes with kernels of their own (x * x, x * x * x, sqrt, 1 / sqrt, 1 / x,
# 1 / (x * x)): other roundings and signed zeros than pow. Each backend has one for each of these.
KERNEL_EXPONENTS = frozenset((0.5, -0.5, 2.0, 3.0, -1.0, -2.0))


def kernel_exponent(program: Any, ins: Any) -> float | None:
    """The exponent of a float ``pow`` instruction whose exponent is a number with a torch kernel (a constant
    of the program), else None: a tensor exponent takes pow, as in torch, even when it holds such a number."""
    if ins.op != "pow" or not ins.dtype.is_floating_point or ins.args[1] < 0:
        return None
    exponent = program.instrs[ins.args[1]]
    if exponent.op != "const" or float(exponent.params[0]) not in KERNEL_EXPONENTS:
        return None
    return float(exponent.params[0])


def _pow(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x, y = n.args
    if not n.dtype.is_floating_point:
        return None, None
    zero = const(0, n.dtype)
    # d/dx x**y = y * x**(y-1), taken as 0 where y == 0 (so 0**0 does not produce nan), as torch does.
    # a number exponent's y - 1 is a number too, so the backends pick torch's kernel for it (x**3 -> 3 * x**2)
    lower = const(y.params[0] - 1, y.dtype) if y.op == "const" else apply("sub", (y, const(1, y.dtype)))
    dx = mul(y, apply("pow", (x, lower)))
    dx = select(apply("eq", (y, zero)), zero, dx)
    # d/dy x**y = x**y * log(x), taken as 0 where x == 0 and y >= 0.
    dy = mul(n, _u("log", x))
    dy = select(apply("and", (apply("eq", (x, zero)), apply("ge", (y, zero)))), zero, dy)
    return _back(mul(ct, dx), x), _back(mul(ct, dy), y)


def _extremum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    # Ties split the gradient evenly, like torch.maximum / torch.minimum; the loser gets nothing, and where a
    # NaN makes every comparison false both sides get the whole gradient, as in torch.
    zero = const(0, n.dtype)
    whole = select(apply("eq", (a, b)), scale(ct, 0.5), ct)
    loses = "lt" if n.op == "max" else "gt"
    ct_a = select(apply(loses, (a, b)), zero, whole)
    ct_b = select(apply(loses, (b, a)), zero, whole)
    return _back(ct_a, a), _back(ct_b, b)


def _rem(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    # torch's slope in b is -trunc(a / b), the rounded quotient truncated (infinite for an infinite a)
    q = div(a, b)
    quotient = select(apply("lt", (q, const(0, q.dtype))), _u("ceil", q), _u("floor", q))
    return _back(ct, a), _back(neg(mul(ct, quotient)), b)


def _atan2(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    # Where a^2 + b^2 is 0 (at the origin, or both squares underflow) torch takes 1 / (a^2 + b^2) as 0, so
    # the gradient there is 0, not 0/0; the safe denominator keeps higher derivatives finite as well.
    denom = add(mul(a, a), mul(b, b))
    zero = const(0, n.dtype)
    at_origin = apply("eq", (denom, zero))
    recip = select(at_origin, zero, div(const(1, n.dtype), select(at_origin, const(1, n.dtype), denom)))
    return _each(n, needs, lambda: mul(mul(ct, b), recip), lambda: mul(mul(ct, neg(a)), recip))


def _hypot(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    return _each(n, needs, lambda: div(mul(ct, a), n), lambda: div(mul(ct, b), n))  # torch's ct * a / hypot


def _select(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    pred = n.args[0]  # each branch makes its own zero: mostly only one is needed (ReLU's)
    return _each(n, needs, lambda: None, lambda: select(pred, ct, const(0, n.dtype)),
                 lambda: select(pred, const(0, n.dtype), ct))


def _fma(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b, _ = n.args
    return _each(n, needs, lambda: mul(ct, b), lambda: mul(ct, a), lambda: ct)


def _cast(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    differentiable = x.dtype.is_floating_point and n.dtype.is_floating_point
    return (cast(ct, x.dtype) if differentiable else None),


def _tanh(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    """``ct * (1 - y*y)`` with ``1 - y*y`` rounded once, as the fused multiply-add of torch's CPU kernel rounds it:
    a hand-written ``(1 - h**2) * dh`` then differs from autograd's where torch's does. A float32 square is exact
    in float64, so only the subtraction rounds there (and rounds again to float32 on a tie only)."""
    if n.dtype is not dtypes.float32:
        return (mul(ct, _one_minus(mul(n, n))),)
    wide = cast(n, dtypes.float64)
    return (mul(ct, cast(_one_minus(mul(wide, wide)), n.dtype)),)


# ---- the declarations: name, kind, shape rule, VJP (and, for float unary math, its Tensor method) -----------

for _name, _vjp, _method, _grad_fn in (
    ("exp", lambda ct, n, needs: (mul(ct, n),), "exp", "ExpBackward0"),
    ("log", lambda ct, n, needs: (div(ct, n.args[0]),), "log", "LogBackward0"),
    ("sqrt", lambda ct, n, needs: (div(ct, scale(n, 2.0)),), "sqrt", "SqrtBackward0"),
    ("rsqrt", lambda ct, n, needs: (mul(scale(ct, -0.5), mul(mul(n, n), n)),), "rsqrt", "RsqrtBackward0"),
    ("sin", lambda ct, n, needs: (mul(ct, _u("cos", n.args[0])),), "sin", "SinBackward0"),
    ("cos", lambda ct, n, needs: (neg(mul(ct, _u("sin", n.args[0]))),), "cos", "CosBackward0"),
    ("tanh", _tanh, "tanh", "TanhBackward0"),
    ("logistic", lambda ct, n, needs: (mul(ct, mul(n, _one_minus(n))),), "sigmoid", "SigmoidBackward0"),
    ("log1p", lambda ct, n, needs: (div(ct, add(n.args[0], const(1, n.dtype))),), "log1p", "Log1PBackward0"),
    ("expm1", lambda ct, n, needs: (mul(ct, add(n, const(1, n.dtype))),), "expm1", "Expm1Backward0"),
    ("erf", lambda ct, n, needs: (mul(ct, scale(_u("exp", neg(mul(n.args[0], n.args[0]))), 2 / math.sqrt(math.pi))),),
     "erf", "ErfBackward0"),
):
    declare(_name, "elementwise", _float_unary(_name), _vjp, method=_method, grad_fn=_grad_fn)

declare("neg", "elementwise", _any_unary, lambda ct, n, needs: (neg(ct),))
declare("abs", "elementwise", _any_unary, lambda ct, n, needs: (mul(ct, _u("sign", n.args[0])),))
for _name in ("sign", "floor", "ceil", "round"):
    declare(_name, "elementwise", _any_unary, no_gradient)
declare("logical_not", "elementwise", _logical_not, no_gradient)
for _name, _vjp in (("add", _add), ("sub", _sub), ("mul", _mul), ("div", _div), ("rem", _rem), ("pow", _pow),
                    ("max", _extremum), ("min", _extremum), ("atan2", _atan2),
                    ("hypot", _hypot)):
    declare(_name, "elementwise", _binary(_name, False), _vjp)
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    declare(_name, "elementwise", _binary(_name, True), no_gradient)
for _name in ("and", "or", "xor"):
    declare(_name, "elementwise", _bitwise(_name), no_gradient)
declare("select", "elementwise", _select_rule, _select)
# ``a * b + c`` rounded once: torch's CPU kernels fuse these multiply-adds (``add(alpha=)``, ``addcmul``, ``lerp``),
# and a separate multiply and add would differ from them in the last bit.
declare("fma", "elementwise", _fma_rule, _fma)
declare("cast", "elementwise", _cast_rule, _cast)
