"""The special functions defined by series: the modified Bessel function i0, polygamma (through Hurwitz's zeta,
itself torch.special.zeta) and the multivariate log-gamma mvlgamma, as torch functions and Tensor methods with
their in-place forms.

i0 sums its power series in float64 up to |x| = 30 and its asymptotic expansion beyond, where both are accurate
to float64's rounding; torch's exponential overflows where the input dtype's does, and so does this one.
polygamma(n, x) for n >= 1 is (-1)^(n+1) n! zeta(n + 1, x), with zeta summed directly over its first terms and
the rest by the Euler-Maclaurin formula; the direct sum covers x down to -20 (below, fewer terms would be left
to the direct sum than the formula's remainder needs, and the values lose digits).

The regularized incomplete gamma functions (torch's igamma, igammac) are not offered: their series and continued
fraction need a number of terms growing as sqrt(a), so any fixed composition loses accuracy for large a, where
torch switches to an asymptotic expansion driven by a table of coefficients.
"""

from __future__ import annotations

import math
from typing import Any

from . import dtypes, ops
from .ir import Node
from .math_ops import _b, _c, _u
from .special_ops import _constant_where, _pair, _poly
from .tensor import Tensor, _float_dtype, _record, _torch_type_name, attach

_I0_SERIES_LIMIT = 30.0
# The power series sum_k (x^2/4)^k / (k!)^2 in t = x^2/4, highest power first: at t = 225 the 50th term is
# 1e-18 of the sum.
_I0_SERIES = tuple(1 / math.factorial(k) ** 2 for k in range(50, -1, -1))
# The asymptotic series e^x / sqrt(2 pi x) * sum_k c_k / x^k, c_k = ((2k - 1)!!)^2 / (k! 8^k), highest first:
# at x = 30 its 25th term is below float64's rounding of the first.
_I0_ASYMPTOTIC = tuple(math.prod((2 * j - 1) ** 2 for j in range(1, k + 1)) / (math.factorial(k) * 8 ** k)
                       for k in range(25, -1, -1))
# Where exp overflows in each dtype i0 computes in (the 16-bit floats compute in float32, as torch's do).
_EXP_OVERFLOW = {dtypes.float64: math.log(1.7976931348623157e308), dtypes.float32: math.log(3.4028234663852886e38)}


def _i0(x: Node, overflow: float) -> Node:
    size = _u("abs", x)
    near = _b("le", size, _c(_I0_SERIES_LIMIT, x))
    small = ops.select(near, size, ops.broadcast_to(_c(0, x), x.shape))
    large = ops.select(near, ops.broadcast_to(_c(_I0_SERIES_LIMIT + 1, x), x.shape), size)
    series = _poly(ops.scale(ops.mul(small, small), 0.25), _I0_SERIES)
    # e^x directly: its relative error stays at one rounding for large x, and it overflows where torch's does
    scale = ops.div(_u("exp", large), _u("sqrt", ops.scale(large, 2 * math.pi)))
    asymptotic = ops.mul(scale, _poly(ops.div(_c(1, x), large), _I0_ASYMPTOTIC))
    out = _constant_where(_b("gt", size, _c(overflow, x)), math.inf, ops.select(near, series, asymptotic))
    return _constant_where(_b("eq", size, _c(math.inf, x)), math.nan, out)  # torch's e^x / sqrt(x) is inf / inf


# Bernoulli numbers B_2 ... B_20 for the Euler-Maclaurin remainder of zeta.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330)
_ZETA_TERMS = 32  # summed directly, so the remainder's series starts at q + 32


def _signed_power(base: Node, s: Node) -> Node:
    """base ** -s, also for a negative base and an integer s (whose power of a float exponent would be NaN)."""
    out = _b("pow", _u("abs", base), ops.neg(s))
    odd = _b("ne", _b("sub", s, ops.scale(_u("floor", ops.scale(s, 0.5)), 2.0)), _c(0, s))
    return ops.select(_b("and", _b("lt", base, _c(0, base)), odd), ops.neg(out), out)


def _zeta(s: Node, q: Node) -> Node:
    """Hurwitz's zeta(s, q) = sum_k (q + k)^-s for s > 1: the first terms directly, then the rest as
    w^(1-s) / (s-1) + w^-s / 2 + sum_j B_2j / (2j)! s (s+1) ... (s+2j-2) w^(-s-2j+1), w = q + 32.
    As torch's: inf at s = 1 and at the poles q = 0, -1, ...; NaN for s < 1, and for q < 0 unless s is an
    integer (a negative number's power)."""
    total = _signed_power(q, s)
    for k in range(1, _ZETA_TERMS):
        total = ops.add(total, _signed_power(ops.add(q, _c(k, q)), s))
    w = ops.add(q, _c(_ZETA_TERMS, q))
    head = _b("pow", w, ops.neg(s))
    tail = ops.add(ops.div(ops.mul(head, w), _b("sub", s, _c(1, s))), ops.scale(head, 0.5))
    rising, inverse_square = s, ops.div(_c(1, w), ops.mul(w, w))
    power = ops.div(head, w)
    for j, bernoulli in enumerate(_BERNOULLI, 1):
        tail = ops.add(tail, ops.scale(ops.mul(power, rising), bernoulli / math.factorial(2 * j)))
        rising = ops.mul(rising, ops.mul(ops.add(s, _c(2 * j - 1, s)), ops.add(s, _c(2 * j, s))))
        power = ops.mul(power, inverse_square)
    out = ops.add(total, tail)
    pole = _b("and", _b("le", q, _c(0, q)), _b("eq", _u("floor", q), q))
    negative_power = _b("and", _b("lt", q, _c(0, q)), _b("ne", _u("floor", s), s))
    # s = inf: some q + k is in (0, 1) whenever q < 1, and its power is inf; at q = 1 the first term is 1 and
    # the rest 0; above, torch's remainder is 0 * inf, NaN
    limit = _constant_where(_b("lt", q, _c(1, q)), math.inf,
                            _constant_where(_b("eq", q, _c(1, q)), 1.0, ops.broadcast_to(_c(math.nan, q), q.shape)))
    out = ops.select(_b("eq", s, _c(math.inf, s)), limit, _constant_where(negative_power, math.nan, out))
    out = _constant_where(pole, math.inf, out)
    return _constant_where(_b("eq", s, _c(1, s)), math.inf, _constant_where(_b("lt", s, _c(1, s)), math.nan, out))


def zeta(input: Any, other: Any) -> Tensor:
    """Hurwitz's zeta function of ``input`` (the exponent) at ``other``; either may be a number. Accurate for
    q down to about -20 (the direct sum covers 32 terms). torch differentiates only in ``other``; here both
    slopes are the composition's, the true derivatives."""
    s, q, tensors = _pair(input, other, True)
    if s.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"zeta_cpu\" not implemented for '{_torch_type_name(s.dtype)}'")
    shape = _b("add", s, q).shape
    wide_s, wide_q = (ops.broadcast_to(ops.cast(v, dtypes.float64), shape) for v in (s, q))
    kind = 0 if len(tensors) == 2 else 1 if isinstance(other, Tensor) else 2
    return _record(f"SpecialZetaBackward{kind}", ops.cast(_zeta(wide_s, wide_q), s.dtype), *tensors)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``: every element must exceed (p - 1) / 2."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    terms = input.unsqueeze(-1) - input.new_tensor([j / 2 for j in range(p)])
    out = terms.lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return _record("MvlgammaBackward0", out.node, input)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma: digamma itself for n = 0, else (-1)^(n+1) n! zeta(n + 1, input)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return _record("PolygammaBackward0", input.digamma().node, input)
    wide = ops.cast(input.node, dtypes.float64)
    out = ops.scale(_zeta(_c(n + 1, wide), wide), (-1) ** (n + 1) * math.factorial(n))
    return _record("PolygammaBackward0", ops.cast(out, _float_dtype(input.dtype)), input)


class SeriesMethods:
    """i0, polygamma and mvlgamma as Tensor methods (attached to Tensor below)."""

    def i0(self) -> Tensor:
        """The modified Bessel function of the first kind of order 0 (integer inputs give the default float)."""
        out_dtype = _float_dtype(self.dtype)
        overflow = _EXP_OVERFLOW.get(out_dtype, _EXP_OVERFLOW[dtypes.float32])
        node = _i0(ops.cast(self.node, dtypes.float64), overflow)
        return _record("I0Backward0", ops.cast(node, out_dtype), self)

    def i0_(self) -> Tensor:
        return self._inplace(Tensor.i0)

    def polygamma(self, n: int) -> Tensor:
        return polygamma(n, self)

    def polygamma_(self, n: int) -> Tensor:
        return self._inplace(Tensor.polygamma, n)

    def mvlgamma(self, p: int) -> Tensor:
        """The log of the multivariate gamma function of dimension ``p``."""
        return multigammaln(self, p)

    def mvlgamma_(self, p: int) -> Tensor:
        return self._inplace(Tensor.mvlgamma, p)


attach(SeriesMethods)


def i0(input: Tensor) -> Tensor:
    return input.i0()


FUNCTIONS: dict[str, Any] = {"i0": i0, "i0_": Tensor.i0_, "polygamma": polygamma, "mvlgamma": Tensor.mvlgamma}
TAKES_OUT = {"i0", "polygamma", "mvlgamma"}
