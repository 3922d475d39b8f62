"""Integer and bit-level math: gcd and lcm, the bit shifts (``<<``, ``>>`` and their named forms), and the
float-layout functions ldexp, frexp and nextafter.

There is no shift or bit-cast primitive, so each is arithmetic: a shift is a product with (or a floored quotient
by) a power of two, wrapped to the dtype's width as the integer product wraps; Euclid's algorithm runs for as many
steps as the dtype's largest inputs can need; a float's exponent comes from its logarithm, corrected by one where
the logarithm rounded across a power of two.
"""

from __future__ import annotations

import math
from typing import Any

from . import dtypes, ops, return_types
from .ir import Node, broadcast_shapes
from .math_ops import _b, _c, _u
from .special_ops import _pair
from .tensor import Tensor, _record, _torch_type_name, _wrap, attach

# Bits per integer dtype: a shift by this much or more (or by a negative count) moves every bit out.
_BITS = {dtypes.uint8: 8, dtypes.int8: 8, dtypes.int16: 16, dtypes.int32: 32, dtypes.int64: 64}

# Per float dtype: (significand bits, frexp's exponent of the smallest normal number).
_FLOAT_LAYOUT = {dtypes.float16: (11, -13), dtypes.bfloat16: (8, -125), dtypes.float32: (24, -125),
                 dtypes.float64: (53, -1021)}


def _integer_pair(kernel: str, input: Any, other: Any) -> tuple[Node, Node, tuple[Tensor, ...]]:
    """Both operands in their promoted dtype, refused as torch's CPU kernel refuses floats and bools."""
    a, b, tensors = _pair(input, other, False)
    if a.dtype not in _BITS:
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{_torch_type_name(a.dtype)}'")
    return *_together(a, b), tensors


def _together(a: Node, b: Node) -> tuple[Node, Node]:
    """Both broadcast to their common shape."""
    shape = broadcast_shapes(a.shape, b.shape)
    return ops.broadcast_to(a, shape), ops.broadcast_to(b, shape)


def _zero_where(pred: Node, x: Node) -> Node:
    return ops.select(pred, ops.broadcast_to(_c(0, x), x.shape), x)


def _gcd(a: Node, b: Node) -> Node:
    """Euclid's algorithm on |a| and |b|: a dtype of n bits needs at most ~1.44 n steps (consecutive Fibonacci
    numbers are the slowest pair), after which b is 0 everywhere and a holds the gcd."""
    a, b = _u("abs", a), _u("abs", b)
    one = ops.broadcast_to(_c(1, b), b.shape)
    for _ in range(_BITS[a.dtype] * 3 // 2):
        nonzero = _b("ne", b, _c(0, b))
        remainder = _b("rem", a, ops.select(nonzero, b, one))
        a, b = ops.select(nonzero, b, a), _zero_where(_b("eq", nonzero, _c(False, nonzero)), remainder)
    return a


def _lcm(a: Node, b: Node) -> Node:
    """|a / gcd * b| taken in int64 and then wrapped to the dtype, as C's integer promotion makes torch's."""
    divisor = _gcd(a, b)
    zero = _b("eq", divisor, _c(0, divisor))
    quotient = _b("div", a, ops.select(zero, ops.broadcast_to(_c(1, divisor), divisor.shape), divisor))
    product = _u("abs", ops.mul(ops.cast(quotient, dtypes.int64), ops.cast(b, dtypes.int64)))
    return _zero_where(zero, ops.cast(product, a.dtype))


def _power_of_two(count: Node) -> Node:
    """2 ** count as int64, for counts 0..62 (exact in float64, and inside int64)."""
    return ops.cast(_b("pow", ops.const(2.0, dtypes.float64), ops.cast(count, dtypes.float64)), dtypes.int64)


def _out_of_range(count: Node, bits: int) -> Node:
    return _b("or", _b("lt", count, _c(0, count)), _b("ge", count, _c(bits, count)))


def _left_shift(a: Node, count: Node) -> Node:
    """a * 2**count in int64 (whose product wraps as the shift drops bits), cast back to a's width; 0 where the
    count is negative or at least the width, as torch gives."""
    bits = _BITS[a.dtype]
    wide, count = ops.cast(a, dtypes.int64), ops.cast(count, dtypes.int64)
    clipped = _b("max", _b("min", count, _c(62, count)), _c(0, count))
    product = ops.mul(wide, _power_of_two(clipped))
    product = ops.select(_b("eq", count, _c(63, count)), ops.mul(product, _c(2, product)), product)
    return _zero_where(_out_of_range(count, bits), ops.cast(product, a.dtype))


def _floor_halve(a: Node, divisor: Node) -> Node:
    """a // divisor for a positive divisor: the truncated quotient, one lower where a negative a left a remainder."""
    quotient = _b("div", a, divisor)
    inexact = _b("lt", _b("rem", a, divisor), _c(0, a))
    return ops.select(inexact, _b("sub", quotient, _c(1, quotient)), quotient)


def _right_shift(a: Node, count: Node) -> Node:
    """a // 2**count (the arithmetic shift); a count that is negative or at least the width shifts by width - 1,
    leaving the sign: -1 for negative numbers, 0 for others, as torch gives."""
    bits = _BITS[a.dtype]
    wide, count = ops.cast(a, dtypes.int64), ops.cast(count, dtypes.int64)
    count = ops.select(_out_of_range(count, bits), ops.broadcast_to(_c(bits - 1, count), count.shape), count)
    shifted = _floor_halve(wide, _power_of_two(_b("min", count, _c(62, count))))
    last = _floor_halve(shifted, ops.broadcast_to(_c(2, shifted), shifted.shape))
    return ops.cast(ops.select(_b("eq", count, _c(63, count)), last, shifted), a.dtype)


def _exponent_of(x: Node) -> Node:
    """frexp's exponent of a finite, nonzero x (float64): floor(log2|x|) + 1, then one up or down where the
    logarithm rounded across a power of two, so that |x| / 2**e lies in [1/2, 1)."""
    size = _u("abs", x)
    e = ops.add(_u("floor", ops.scale(_u("log", size), 1 / math.log(2))), _c(1, x))
    for _ in range(2):
        m = _scaled_down(size, e)
        up, down = ops.cast(_b("ge", m, _c(1, m)), x.dtype), ops.cast(_b("lt", m, _c(0.5, m)), x.dtype)
        e = ops.add(e, _b("sub", up, down))
    return e


def _scaled_down(x: Node, e: Node) -> Node:
    """x / 2**e in two halves, so that neither power overflows (e reaches 1024) or underflows (-1073)."""
    half = _u("floor", ops.scale(e, 0.5))
    two = _c(2, x)
    return ops.div(ops.div(x, _b("pow", two, half)), _b("pow", two, _b("sub", e, half)))


def _regular(x: Node) -> Node:
    """Finite and nonzero: where frexp and nextafter do arithmetic (elsewhere they pass x through)."""
    return _b("and", _b("ne", x, _c(0, x)), _b("lt", _u("abs", x), _c(math.inf, x)))


def _frexp(x: Node) -> tuple[Node, Node]:
    """(mantissa, exponent) of float64 x; 0, infinities and NaN give themselves and exponent 0."""
    regular = _regular(x)
    safe = ops.select(regular, x, ops.broadcast_to(_c(1, x), x.shape))
    e = _u("stop_gradient", _exponent_of(safe))
    e = _zero_where(_b("eq", regular, _c(False, regular)), e)
    return ops.select(regular, _scaled_down(x, e), x), e


def _nextafter(x: Node, y: Node) -> Node:
    """The float after x towards y: x plus one unit in its last place (half of one stepping down from a power of
    two towards zero; the smallest subnormal at and below the smallest normal exponent)."""
    precision, lowest = _FLOAT_LAYOUT[x.dtype]
    wide = ops.cast(x, dtypes.float64)
    mantissa, e = _frexp(wide)
    e = ops.select(_b("eq", wide, _c(0, wide)), ops.broadcast_to(_c(lowest, e), e.shape), _b("max", e, _c(lowest, e)))
    direction = _u("sign", ops.cast(_b("sub", y, x), dtypes.float64))
    inward = _b("lt", ops.mul(direction, wide), _c(0, wide))
    halved = _b("and", _b("and", inward, _b("eq", _u("abs", mantissa), _c(0.5, wide))), _b("gt", e, _c(lowest, e)))
    step = _b("pow", _c(2, wide), _b("sub", e, _c(precision, e)))
    step = ops.select(halved, ops.scale(step, 0.5), step)
    # the sum is exact in float64, and rounds to x's dtype exactly; a subnormal step added in x's own dtype would
    # be flushed to zero where the backend's arithmetic flushes subnormals (XLA's on CPU)
    out = ops.cast(ops.add(wide, ops.mul(direction, step)), x.dtype)
    largest = ops.mul(_u("sign", x), ops.broadcast_to(ops.const(float(_largest(x.dtype)), x.dtype), x.shape))
    out = ops.select(_b("eq", _u("abs", x), _c(math.inf, x)), largest, out)
    return ops.select(_b("eq", x, y), y, out)


def _largest(dtype: dtypes.DType) -> float:
    precision, lowest = _FLOAT_LAYOUT[dtype]
    exponent = 3 - lowest  # frexp's largest finite exponent mirrors its smallest normal one
    return math.ldexp(1 - 2.0 ** -precision, exponent)


class IntegerMethods:
    """The integer and float-layout Tensor methods (attached to Tensor below)."""

    def gcd(self, other: Tensor) -> Tensor:
        """The greatest common divisor, non-negative; gcd(0, 0) is 0."""
        a, b, _ = _integer_pair("gcd", self, other)
        return _wrap(_gcd(a, b))

    def lcm(self, other: Tensor) -> Tensor:
        """The least common multiple, non-negative; 0 where either is 0."""
        a, b, _ = _integer_pair("lcm", self, other)
        return _wrap(_lcm(a, b))

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return bitwise_right_shift(self, other)

    def __rlshift__(self, other: Any) -> Tensor:
        return bitwise_left_shift(other, self)

    def __rrshift__(self, other: Any) -> Tensor:
        return bitwise_right_shift(other, self)

    __lshift__ = bitwise_left_shift
    __rshift__ = bitwise_right_shift

    def gcd_(self, other: Tensor) -> Tensor:
        return self._inplace(Tensor.gcd, other)

    def lcm_(self, other: Tensor) -> Tensor:
        return self._inplace(Tensor.lcm, other)

    def bitwise_left_shift_(self, other: Any) -> Tensor:
        return self._inplace(Tensor.bitwise_left_shift, other)

    def bitwise_right_shift_(self, other: Any) -> Tensor:
        return self._inplace(Tensor.bitwise_right_shift, other)

    __ilshift__ = bitwise_left_shift_
    __irshift__ = bitwise_right_shift_

    def ldexp(self, other: Tensor) -> Tensor:
        """self * 2**other, in a float dtype."""
        a, b, tensors = _pair(self, other, True)
        return _record("LdexpBackward0", ops.mul(a, _b("pow", _c(2, b), b)), *tensors)

    def ldexp_(self, other: Tensor) -> Tensor:
        return self._inplace(Tensor.ldexp, other)

    def frexp(self) -> Any:
        """(mantissa, exponent) with self = mantissa * 2**exponent, |mantissa| in [1/2, 1), exponent int32."""
        if not self.dtype.is_floating_point:
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        mantissa, e = _frexp(ops.cast(self.node, dtypes.float64))
        return return_types.frexp(_record("FrexpBackward0", ops.cast(mantissa, self.dtype), self),
                                  _wrap(ops.cast(e, dtypes.int32)))

    def nextafter(self, other: Tensor) -> Tensor:
        """The next float after self towards other (its gradient, as torch's, is 1 for self and 0 for other)."""
        a, b, tensors = _pair(self, other, False)
        if a.dtype not in _FLOAT_LAYOUT:
            raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{_torch_type_name(a.dtype)}'")
        a, b = _together(a, b)
        # out + (a - a): out's value with a's slope where a is finite (a difference of two neighbours would be
        # subnormal near the smallest normal, and flushed to zero where the backend flushes subnormals)
        out = _u("stop_gradient", _nextafter(a, b))
        sloped = ops.add(out, _b("sub", a, _u("stop_gradient", a)))
        return _record("NextafterBackward0", ops.select(_b("lt", _u("abs", a), _c(math.inf, a)), sloped, out),
                       *tensors)

    def nextafter_(self, other: Tensor) -> Tensor:
        return self._inplace(Tensor.nextafter, other)


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """input << other; either may be a number."""
    a, b, _ = _integer_pair("lshift", input, other)
    return _wrap(_left_shift(a, b))


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """input >> other (the arithmetic shift); either may be a number."""
    a, b, _ = _integer_pair("rshift", input, other)
    return _wrap(_right_shift(a, b))


attach(IntegerMethods)

FUNCTIONS = {**{name: getattr(Tensor, name) for name in (
    "gcd", "gcd_", "lcm", "lcm_", "ldexp", "ldexp_", "frexp", "nextafter")},
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift}
TAKES_OUT = {"gcd", "lcm", "ldexp", "frexp", "nextafter", "bitwise_left_shift", "bitwise_right_shift"}
