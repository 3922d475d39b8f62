"""Elementwise special functions composed from the primitive set: erfc, erfinv, lgamma, digamma, and the
smaller ones torch offers beside them (logit, xlogy, frac, sgn, signbit, copysign, logaddexp, logaddexp2,
deg2rad, rad2deg, heaviside, sinc, float_power, fmax, fmin).

The special functions use approximations accurate to float32 rounding or better: erfc a Chebyshev fit
where ``1 - erf`` would cancel, erfinv Giles' polynomial refined by Newton steps on erf, lgamma Lanczos'
series with the reflection formula below 1/2, digamma the asymptotic series after shifting the argument up
by the recurrence. Where an approximation's own slope would be less accurate than the exact derivative, the
value is taken from the approximation and the gradient from a function with the exact derivative.
Each records torch's op name, so its ``grad_fn`` reads like torch's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import dtypes, ops
from .arithmetic import _trunc
from .creation import _as_tensor
from .ir import Node
from .math_ops import _b, _c, _u
from .tensor import Tensor, _float_dtype, _promote_any, _record, _torch_type_name, _wrap, attach


def _sub(a: Node, b: Node) -> Node:
    return _b("sub", a, b)


def _poly(x: Node, coefficients: tuple[float, ...]) -> Node:
    """Horner's rule, coefficients from the highest power down."""
    out = _c(coefficients[0], x)
    for a in coefficients[1:]:
        out = ops.add(ops.mul(out, x), _c(a, x))
    return out


def _constant_where(pred: Node, value: float, x: Node) -> Node:
    return ops.select(pred, ops.broadcast_to(_c(value, x), x.shape), x)


def _value_with_slope(value: Node, slope_of: Node) -> Node:
    """``value``'s number with ``slope_of``'s derivative: ``slope_of + stop_gradient(value - slope_of)``."""
    return ops.add(slope_of, _u("stop_gradient", _sub(value, slope_of)))


def _special_dtype(dtype: dtypes.DType) -> dtypes.DType:
    """The dtype a special function computes in: float64, whose rounding the series' sums of large terms of
    either sign leave far below a float32 result's last digit (computed in float32, Lanczos' lgamma is off by
    thousands of units in the last place near its zeros, where torch's is correctly rounded)."""
    return dtypes.float64


# ---- erfc and erfinv ---------------------------------------------------------------------------------------

# Numerical Recipes' Chebyshev fit of erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2): relative error < 1.2e-7.
_ERFC_FIT = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
             1.00002368, -1.26551223)
_ERFC_FRACTION_TERMS = 30  # the continued fraction's error at z >= 3 is below float64's rounding by then


def _erfc_fit(z: Node) -> Node:
    t = ops.div(_c(1, z), ops.add(_c(1, z), ops.scale(z, 0.5)))
    return ops.mul(t, _u("exp", ops.add(ops.neg(ops.mul(z, z)), _poly(t, _ERFC_FIT))))


def _erfc_fraction(z: Node) -> Node:
    """exp(-z^2) / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))), evaluated from the bottom up."""
    fraction = z
    for k in range(_ERFC_FRACTION_TERMS, 0, -1):
        fraction = ops.add(z, ops.div(_c(k / 2, z), fraction))
    return ops.div(_u("exp", ops.neg(ops.mul(z, z))), ops.scale(fraction, math.sqrt(math.pi)))


# Per dtype: below which x ``1 - erf(x)`` is accurate enough (erf's rounding error still small next to erfc),
# and the tail above it. float64 gets the continued fraction, as accurate as its rounding; others the fit.
_ERFC_TAIL: dict[str, tuple[float, Callable[[Node], Node]]] = {"float64": (3.0, _erfc_fraction)}
_ERFC_DEFAULT_TAIL = (0.5, _erfc_fit)


def _erfc(x: Node) -> Node:
    """erfc: ``1 - erf`` where erf is small enough not to cancel, the tail elsewhere (its argument moved into the
    tail's domain where it is not taken, so that it adds no NaN there)."""
    below, tail = _ERFC_TAIL.get(x.dtype.name, _ERFC_DEFAULT_TAIL)
    small = _b("lt", x, _c(below, x))
    direct = _sub(_c(1, x), _u("erf", x))
    far = tail(_constant_where(small, below, x))
    return ops.select(small, direct, _value_with_slope(far, direct))  # 1 - erf has erfc's exact slope


# Giles' single-precision erfinv ("Approximating the erfinv function", 2010): central and tail polynomials in w.
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                   -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                0.00943887047, 1.00167406, 2.83297682)


def _newton_erf(x: Node, y: Node) -> Node:
    """One Newton step towards erf(x) = y; its derivative in y is 1 / erf'(x)."""
    slope = ops.scale(_u("exp", ops.neg(ops.mul(x, x))), 2 / math.sqrt(math.pi))
    return _sub(x, ops.div(_sub(_u("erf", x), y), slope))


def _erfinv(y: Node) -> Node:
    w = ops.neg(_u("log", ops.mul(_sub(_c(1, y), y), ops.add(_c(1, y), y))))
    central = _poly(_sub(w, _c(2.5, y)), _ERFINV_CENTRAL)
    tail = _poly(_sub(_u("sqrt", w), _c(3, y)), _ERFINV_TAIL)
    start = _u("stop_gradient", ops.mul(ops.select(_b("lt", w, _c(5, y)), central, tail), y))
    if y.dtype is dtypes.float64:  # two Newton steps take the float32 start to float64's precision
        x = _newton_erf(_u("stop_gradient", _newton_erf(start, y)), y)
    else:  # the start is as precise as float32 gets (near |y| = 1 erf rounds to 1 and Newton would not help)
        x = _value_with_slope(start, _newton_erf(start, y))
    edge = _b("eq", _u("abs", y), _c(1, y))
    # erfinv(-0.0) is -0.0: y times erfinv's slope at 0 keeps the sign and the gradient
    x = ops.select(_b("eq", y, _c(0, y)), ops.scale(y, math.sqrt(math.pi) / 2), x)
    return ops.select(edge, ops.mul(_u("sign", y), ops.broadcast_to(_c(math.inf, y), y.shape)), x)


# ---- lgamma and digamma ------------------------------------------------------------------------------------

# Lanczos' approximation with g = 7 and nine terms: relative error ~1e-15 for x >= 1/2.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)


def _sin_pi(x: Node) -> Node:
    """sin(pi x) with x first reduced to [-1, 1] (exact in floating point), so large x loses no digits."""
    reduced = _sub(x, ops.scale(_u("round", ops.scale(x, 0.5)), 2.0))
    return _u("sin", ops.scale(reduced, math.pi))


def _lgamma_right(x: Node) -> Node:
    """log Gamma(x) for x >= 1/2 by Lanczos' series (any x gives a number; the caller picks where it holds)."""
    shifted = _sub(x, _c(1, x))
    series = _c(_LANCZOS[0], x)
    for k, a in enumerate(_LANCZOS[1:], 1):
        series = ops.add(series, ops.div(_c(a, x), ops.add(shifted, _c(k, x))))
    t = ops.add(shifted, _c(_LANCZOS_G + 0.5, x))
    head = ops.add(_c(0.5 * math.log(2 * math.pi), x), ops.mul(ops.add(shifted, _c(0.5, x)), _u("log", t)))
    return ops.add(_sub(head, t), _u("log", series))


def _reflection_args(x: Node) -> tuple[Node, Node, Node]:
    """Below 1/2 the reflection formula holds: where x is, and the arguments of the two branches. Each branch
    sees an argument it is defined on (1 - x and x below 1/2, x and 1/2 above), so the branch not taken adds
    no NaN to the gradient."""
    left = _b("lt", x, _c(0.5, x))
    right_arg = ops.select(left, _sub(_c(1, x), x), x)
    left_arg = ops.select(left, x, ops.broadcast_to(_c(0.5, x), x.shape))
    return left, right_arg, left_arg


def _lgamma(x: Node) -> Node:
    left, right_arg, left_arg = _reflection_args(x)
    right = _lgamma_right(right_arg)
    reflected = _sub(_u("log", ops.div(_c(math.pi, x), _u("abs", _sin_pi(left_arg)))), right)
    out = ops.select(left, reflected, right)
    # Gamma(1) = Gamma(2) = 1 exactly, as torch gives: the series would leave a rounding error there (its slope,
    # digamma, stays).
    exact = _value_with_slope(ops.broadcast_to(_c(0, x), x.shape), out)
    out = ops.select(_b("or", _b("eq", x, _c(1, x)), _b("eq", x, _c(2, x))), exact, out)
    pole = _b("and", _b("le", x, _c(0, x)), _b("eq", _u("floor", x), x))
    return _constant_where(_b("or", pole, _b("eq", _u("abs", x), _c(math.inf, x))), math.inf, out)


# The asymptotic series of digamma, log y - 1/(2y) - sum B_2k / (2k y^2k): the sum's coefficients of 1/y^2k,
# from k = 7 down to k = 1.
_DIGAMMA_SERIES = (-1 / 12, 691 / 32760, -1 / 132, 1 / 240, -1 / 252, 1 / 120, -1 / 12)
_DIGAMMA_SHIFT = 8  # the series is accurate to ~1e-15 once the argument is at least this


def _digamma_right(x: Node) -> Node:
    """digamma(x) for x > 0: recurrence up to x + 8, then the asymptotic series."""
    recurrence = _c(0, x)
    for k in range(_DIGAMMA_SHIFT):
        recurrence = ops.add(recurrence, ops.div(_c(1, x), ops.add(x, _c(k, x))))
    y = ops.add(x, _c(_DIGAMMA_SHIFT, x))
    inv2 = ops.div(_c(1, x), ops.mul(y, y))
    series = ops.mul(inv2, _poly(inv2, _DIGAMMA_SERIES))
    asymptotic = ops.add(_sub(_u("log", y), ops.div(_c(0.5, x), y)), series)
    return _sub(asymptotic, recurrence)


def _digamma(x: Node) -> Node:
    left, right_arg, left_arg = _reflection_args(x)
    right = _digamma_right(right_arg)
    reduced = _sub(left_arg, ops.scale(_u("round", ops.scale(left_arg, 0.5)), 2.0))
    cot = ops.div(_u("cos", ops.scale(reduced, math.pi)), _sin_pi(left_arg))
    out = ops.select(left, _sub(right, ops.scale(cot, math.pi)), right)
    # torch's values at the poles: -inf at +0, +inf at -0, NaN at the negative integers and -inf.
    zero = _b("eq", x, _c(0, x))
    negative_zero = _b("lt", ops.div(_c(1, x), x), _c(0, x))
    out = _constant_where(_b("and", zero, negative_zero), math.inf, _constant_where(zero, -math.inf, out))
    pole = _b("and", _b("lt", x, _c(0, x)), _b("eq", _u("floor", x), x))
    out = _constant_where(pole, math.nan, out)
    return _constant_where(_b("eq", x, _c(math.inf, x)), math.inf, out)


# name -> (torch's grad_fn name, the composition on a floating-point node)
_SPECIAL: dict[str, tuple[str, Callable[[Node], Node]]] = {
    "erfc": ("ErfcBackward0", _erfc),
    "erfinv": ("ErfinvBackward0", _erfinv),
    "lgamma": ("LgammaBackward0", _lgamma),
    "digamma": ("DigammaBackward0", _digamma),
}


def _special(name: str) -> Callable[[Tensor], Tensor]:
    grad_fn, build = _SPECIAL[name]

    def op(self: Tensor) -> Tensor:
        out_dtype = _float_dtype(self.dtype)
        node = build(ops.cast(self.node, _special_dtype(self.dtype)))
        return _record(grad_fn, ops.cast(node, out_dtype), self)

    op.__name__, op.__qualname__ = name, f"Tensor.{name}"
    op.__doc__ = f"torch.{name}, elementwise (integer inputs give the default float dtype)."
    return op


# ---- the smaller elementwise functions ---------------------------------------------------------------------


def _floats(input: Tensor) -> Node:
    return ops.cast(input.node, _float_dtype(input.dtype))


def _pair(input: Any, other: Any, float_result: bool) -> tuple[Node, Node, tuple[Tensor, ...]]:
    """Both operands cast to their promoted dtype (a float one if ``float_result``), and the tensors among them."""
    tensors = tuple(t for t in (input, other) if isinstance(t, Tensor))
    if not isinstance(input, Tensor):
        input = _as_tensor(input, dtypes.scalar_dtype(input)) if isinstance(other, Tensor) else input
    dtype = _promote_any(input, other) if isinstance(input, Tensor) else _promote_any(other, input)
    if float_result:
        dtype = _float_dtype(dtype)
    a = ops.cast(input.node, dtype)
    b = ops.cast(other.node, dtype) if isinstance(other, Tensor) else ops.scalar(other, dtype)
    return a, b, tensors


def _signbit(x: Node) -> Node:
    """True for negative numbers and -0.0 (1 / -0.0 is -inf)."""
    negative = _b("lt", x, _c(0, x))
    if not x.dtype.is_floating_point:
        return negative
    return _b("or", negative, _b("and", _b("eq", x, _c(0, x)), _b("lt", ops.div(_c(1, x), x), _c(0, x))))


def _softplus_e(gap: Node) -> Node:
    return _u("log1p", _u("exp", gap))


def _softplus_2(gap: Node) -> Node:
    return ops.scale(_u("log1p", _b("pow", _c(2, gap), gap)), 1 / math.log(2))


def _logaddexp(a: Node, b: Node, softplus: Callable[[Node], Node]) -> Node:
    """max + softplus(-|a - b|) in the base ``softplus`` works in; equal infinities give themselves."""
    high = _b("max", a, b)
    out = ops.add(high, softplus(ops.neg(_u("abs", _sub(a, b)))))
    same_infinity = _b("and", _b("eq", a, b), _b("eq", _u("abs", a), _c(math.inf, a)))
    return ops.select(same_infinity, ops.broadcast_to(a, high.shape), out)


class SpecialMethods:
    """The special-function Tensor methods (attached to Tensor below)."""

    def logit(self, eps: float | None = None) -> Tensor:
        """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when ``eps`` is given."""
        x = _floats(self)
        if eps is not None:
            low, high = _c(eps, x), _c(1 - eps, x)
            x = ops.select(_b("lt", x, low), ops.broadcast_to(low, x.shape),
                           ops.select(_b("gt", x, high), ops.broadcast_to(high, x.shape), x))
            x = ops.select(_b("ne", x, x), _u("stop_gradient", x), x)  # NaN is outside the range: no gradient
        return _record("LogitBackward0", _u("log", ops.div(x, _sub(_c(1, x), x))), self)

    def xlogy(self, other: Any) -> Tensor:
        """self * log(other), 0 where self is 0 (unless other is NaN)."""
        return xlogy(self, other)

    def frac(self) -> Tensor:
        """The fractional part, with the sign of the input: x - trunc(x)."""
        if not self.dtype.is_floating_point:
            raise NotImplementedError(f"\"frac_cpu\" not implemented for '{_torch_type_name(self.dtype)}'")
        return _record("FracBackward0", _sub(self.node, _trunc(self.node)), self)

    def sgn(self) -> Tensor:
        return _record("SgnBackward0", _u("sign", self.node), self)

    def signbit(self) -> Tensor:
        return _wrap(_signbit(self.node))

    def copysign(self, other: Any) -> Tensor:
        """|self| with the sign (sign bit included) of ``other``."""
        a, b, tensors = _pair(self, other, True)
        size = _u("abs", ops.broadcast_to(a, _b("add", a, b).shape))
        out = ops.select(_signbit(b), ops.neg(size), size)
        return _record("CopysignBackward0" if isinstance(other, Tensor) else "CopysignBackward1", out, *tensors)

    def logaddexp(self, other: Tensor) -> Tensor:
        a, b, tensors = _pair(self, other, True)
        return _record("LogaddexpBackward0", _logaddexp(a, b, _softplus_e), *tensors)

    def logaddexp2(self, other: Tensor) -> Tensor:
        a, b, tensors = _pair(self, other, True)
        return _record("Logaddexp2Backward0", _logaddexp(a, b, _softplus_2), *tensors)

    def deg2rad(self) -> Tensor:
        return _record("Deg2RadBackward0", ops.scale(_floats(self), math.pi / 180), self)

    def rad2deg(self) -> Tensor:
        return _record("Rad2DegBackward0", ops.scale(_floats(self), 180 / math.pi), self)

    def heaviside(self, values: Tensor) -> Tensor:
        """0 below zero, 1 above, ``values`` at zero (torch defines no gradient for it)."""
        if self.dtype is not values.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
        x, v = self.node, values.node
        step = ops.cast(_b("gt", x, _c(0, x)), x.dtype)
        out = ops.select(_b("eq", x, _c(0, x)), ops.broadcast_to(v, _b("add", x, v).shape), step)
        return _record("NotImplemented", _u("stop_gradient", out), self, values)

    def sinc(self) -> Tensor:
        """sin(pi x) / (pi x), 1 at 0 (the 0 replaced before dividing, so its gradient is 0, not NaN)."""
        x = _floats(self)
        zero = _b("eq", x, _c(0, x))
        safe = ops.scale(ops.select(zero, ops.broadcast_to(_c(1, x), x.shape), x), math.pi)
        return _record("SincBackward0", _constant_where(zero, 1.0, ops.div(_u("sin", safe), safe)), self)

    def float_power(self, exponent: Any) -> Tensor:
        """pow in double precision: both operands become float64."""
        if isinstance(exponent, Tensor):
            return self.double().pow(exponent.double())
        return self.double().pow(float(exponent))

    def fmax(self, other: Tensor) -> Tensor:
        """The larger of the two, ignoring a NaN on one side."""
        a, b, tensors = _pair(self, other, False)
        return _record("FmaxBackward0", _nan_ignoring("max", a, b), *tensors)

    def fmin(self, other: Tensor) -> Tensor:
        a, b, tensors = _pair(self, other, False)
        return _record("FminBackward0", _nan_ignoring("min", a, b), *tensors)


def _nan_ignoring(op: str, a: Node, b: Node) -> Node:
    """``a`` where it wins or ties (so fmax(-0.0, 0.0) is -0.0, as in torch) or where ``b`` is NaN, else ``b``; the
    gradient goes to the one chosen, as torch's does."""
    if not a.dtype.is_floating_point:
        return _b(op, a, b)
    keeps = _b("ge" if op == "max" else "le", a, b)
    shape = keeps.shape
    return ops.select(_b("or", keeps, _b("ne", b, b)), ops.broadcast_to(a, shape), ops.broadcast_to(b, shape))


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input is 0 (unless other is NaN); either may be a number."""
    return times_log(input, other, "log", 0.0, "XlogyBackward")


def times_log(input: Any, other: Any, log: str, pole: float, name: str) -> Tensor:
    """input * log(other) for the primitive ``log`` (``log`` or ``log1p``, whose pole is at ``pole``), 0 where
    input is 0 (unless other is NaN); either may be a number. ``name`` + 0, 1 or 2 is torch's grad_fn name for
    two tensors, a number input or a number other.

    Where input is 0 and log(other) finite the product is 0 already, and its slope in input is log(other), as
    torch's; only where log(other) is not finite is the 0 put in, with no slope.
    """
    a, b, tensors = _pair(input, other, True)
    shape = _b("add", a, b).shape
    a, b = ops.broadcast_to(a, shape), ops.broadcast_to(b, shape)
    unbounded = _b("or", _b("le", b, _c(pole, b)), _b("eq", b, _c(math.inf, b)))
    at_zero = _b("eq", a, _c(0, a))
    zero = _b("and", at_zero, unbounded)
    safe = ops.select(zero, ops.broadcast_to(_c(pole + 1, b), shape), b)  # no 0 * log(pole) where not taken
    product = ops.mul(a, _u(log, safe))
    # torch's 0 is +0 (-0.0 * log(2) would be -0.0): the product less itself, whose slope is still log(other)
    positive_zero = _sub(product, _u("stop_gradient", product))
    out = ops.select(zero, ops.broadcast_to(_c(0, a), shape), ops.select(at_zero, positive_zero, product))
    kind = 0 if len(tensors) == 2 else 1 if isinstance(other, Tensor) else 2
    return _record(f"{name}{kind}", out, *tensors)


def float_power(input: Any, exponent: Any) -> Tensor:
    if not isinstance(input, Tensor):
        return float(input) ** exponent.double()
    return input.float_power(exponent)


attach(SpecialMethods)
for _name in _SPECIAL:
    setattr(Tensor, _name, _special(_name))
del _name

# torch.<name> for each (the methods torch also offers as functions), and those that take ``out=``.
FUNCTIONS = {**{name: getattr(Tensor, name) for name in (*_SPECIAL, "logit", "frac", "sgn", "signbit", "copysign",
                                                         "logaddexp", "logaddexp2", "deg2rad", "rad2deg",
                                                         "heaviside", "sinc", "fmax", "fmin")},
             "xlogy": xlogy, "float_power": float_power}
TAKES_OUT = set(FUNCTIONS)
