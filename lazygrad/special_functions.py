"""The functions of ``torch.special`` with no ``torch.*`` counterpart: the modified Bessel functions of the first
kind (i0e, i1, i1e, modified_bessel_i0/i1) and second kind (modified_bessel_k0/k1 and their scaled forms),
the Bessel functions bessel_j0/j1, spherical_bessel_j0, erfcx and ndtri.

All compute in float64 and round to the input's float dtype once, so a float32 result is the correctly rounded
float64 value (torch's float32 kernels are within a few units in the last place of it). I_nu for nu = 0, 1 sums
its power series up to |x| = 30 and its asymptotic expansion beyond, like i0; erfcx is exp(x^2) erfc(x) where
erfc does not cancel and erfc's continued fraction without its exp(-x^2) beyond; ndtri takes Newton steps on
log ndtr written through erfcx, which stays accurate where the probability is far below float64's smallest
normal number.

J_nu takes Bessel's integral over a period by the midpoint rule below 25 and Hankel's expansion beyond: off by
float64's rounding in absolute terms (relative to J the error grows near its zeros, as any does), where torch's
float64 kernels are off by up to 4e-7 for 2 < |x| < 21. K_nu takes its power series up to 2, the trapezoidal
rule on its integral over e^(-x cosh t) up to 20, and its asymptotic expansion beyond.

torch differentiates i0e, i1, i1e, erfcx and ndtri (their grad_fn names are torch's); the modified_bessel_*
names, bessel_j0/j1 and spherical_bessel_j0 have no derivative in torch, and their results here are not tracked
either.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import dtypes, ops, special_ops
from .ir import Node
from .math_ops import _b, _c, _u
from .special_ops import _constant_where, _poly, _sub
from .tensor import Tensor, _float_dtype, _record, _torch_type_name, _wrap

_SERIES_LIMIT = 30.0  # as i0: both the series and the expansion are exact to float64's rounding on their sides
_SERIES_TERMS = 50
_ASYMPTOTIC_TERMS = 25
# Where exp overflows in the dtype torch computes in (the 16-bit floats compute in float32).
_EXP_OVERFLOW = {dtypes.float64: math.log(1.7976931348623157e308), dtypes.float32: math.log(3.4028234663852886e38)}


def _series_coefficients(order: int) -> tuple[float, ...]:
    """I_order(x) / (x/2)^order = sum_k t^k / (k! (k + order)!), t = x^2/4: the coefficients, highest first."""
    return tuple(1 / (math.factorial(k) * math.factorial(k + order)) for k in range(_SERIES_TERMS, -1, -1))


def _asymptotic_coefficients(order: int, terms: int = _ASYMPTOTIC_TERMS) -> tuple[float, ...]:
    """I_order(x) sqrt(2 pi x) / e^x ~ sum_k (-1)^k prod_{j<=k} (4 order^2 - (2j - 1)^2) / (k! 8^k) / x^k."""
    mu = 4 * order * order
    return tuple((-1) ** k * math.prod(mu - (2 * j - 1) ** 2 for j in range(1, k + 1)) / (math.factorial(k) * 8 ** k)
                 for k in range(terms, -1, -1))


_COEFFICIENTS = {order: (_series_coefficients(order), _asymptotic_coefficients(order)) for order in (0, 1)}


def _bessel_i(x: Node, order: int, scaled: bool) -> Node:
    """I_order(x) (or e^-|x| I_order(x) if ``scaled``) in x's dtype, which is float64. The series is in x itself
    (even, or odd for I_1), so its slope at 0 is the true one; the expansion is in |x|, I_1's made odd after."""
    series_terms, asymptotic_terms = _COEFFICIENTS[order]
    size = _u("abs", x)
    near = _b("le", size, _c(_SERIES_LIMIT, x))
    small = ops.select(near, x, ops.broadcast_to(_c(0, x), x.shape))
    large = ops.select(near, ops.broadcast_to(_c(_SERIES_LIMIT + 1, x), x.shape), size)
    series = _poly(ops.scale(ops.mul(small, small), 0.25), series_terms)
    if order:
        series = ops.mul(series, ops.scale(small, 0.5))
    if scaled:
        series = ops.mul(series, _u("exp", ops.neg(_u("abs", small))))
        scale = _u("rsqrt", ops.scale(large, 2 * math.pi))
    else:  # e^x directly: one rounding's relative error, and it overflows where torch's does
        scale = ops.div(_u("exp", large), _u("sqrt", ops.scale(large, 2 * math.pi)))
    asymptotic = ops.mul(scale, _poly(ops.div(_c(1, x), large), asymptotic_terms))
    if order:
        asymptotic = ops.select(_b("lt", x, _c(0, x)), ops.neg(asymptotic), asymptotic)
    out = ops.select(near, series, asymptotic)
    return _constant_where(_b("ne", x, x), math.nan, out)


def _widened(input: Tensor, name: str = "") -> tuple[Node, dtypes.DType]:
    """The input in float64, and the result's dtype. With a ``name``, 16-bit floats are refused as torch
    refuses them (it has kernels for them only for i0e, i1 and i1e)."""
    out_dtype = _float_dtype(input.dtype)
    if name and out_dtype not in _EXP_OVERFLOW:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_torch_type_name(out_dtype)}'")
    return ops.cast(input.node, dtypes.float64), out_dtype


def _bessel_i_result(input: Tensor, order: int, scaled: bool, name: str = "") -> Node:
    """I_order or its scaled form, in the result's dtype. Unscaled, it overflows where torch's exponential does
    in the dtype torch computes in, and is NaN at the infinities, as torch's (its e^x / sqrt(x) is inf / inf)."""
    x, out_dtype = _widened(input, name)
    out = _bessel_i(x, order, scaled)
    if not scaled:
        size = _u("abs", x)
        overflow = _EXP_OVERFLOW.get(out_dtype, _EXP_OVERFLOW[dtypes.float32])
        big = ops.broadcast_to(_c(math.inf, x), x.shape)
        out = ops.select(_b("gt", size, _c(overflow, x)), ops.mul(_u("sign", x), big) if order else big, out)
        out = _constant_where(_b("eq", size, _c(math.inf, x)), math.nan, out)
    return ops.cast(out, out_dtype)


def i0e(input: Tensor) -> Tensor:
    """e^-|x| I_0(x), finite where I_0 overflows."""
    return _record("SpecialI0EBackward0", _bessel_i_result(input, 0, True), input)


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1."""
    return _record("SpecialI1Backward0", _bessel_i_result(input, 1, False), input)


def i1e(input: Tensor) -> Tensor:
    """e^-|x| I_1(x), finite where I_1 overflows."""
    return _record("SpecialI1EBackward0", _bessel_i_result(input, 1, True), input)


def modified_bessel_i0(input: Tensor) -> Tensor:
    """I_0, as i0 but without a derivative (torch defines none for this name)."""
    return _wrap(_bessel_i_result(input, 0, False, "modified_bessel_i0"))


def modified_bessel_i1(input: Tensor) -> Tensor:
    """I_1, as i1 but without a derivative (torch defines none for this name)."""
    return _wrap(_bessel_i_result(input, 1, False, "modified_bessel_i1"))


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """sin(x) / x: 1 at 0, 0 at the infinities; not differentiable, as in torch."""
    x, out_dtype = _widened(input, "spherical_bessel_j0")
    zero = _b("eq", x, _c(0, x))
    safe = ops.select(zero, ops.broadcast_to(_c(1, x), x.shape), x)
    out = _constant_where(zero, 1.0, ops.div(_u("sin", safe), safe))
    out = _constant_where(_b("eq", _u("abs", x), _c(math.inf, x)), 0.0, out)
    return _wrap(ops.cast(out, out_dtype))


# ---- K_0 and K_1 ----------------------------------------------------------------------------------------------

_K_SERIES_LIMIT = 2.0  # up to here the power series (its terms cancel by at most a factor of 12)
_K_ASYMPTOTIC_FROM = 20.0  # from here the asymptotic expansion, whose smallest term is ~e^(-2x)
_K_STEP, _K_NODES = 0.1, 70  # the trapezoidal rule between: exact to float64 for 2 < x < 20
_K_TERMS = 30
_EULER_GAMMA = 0.5772156649015329


def _harmonic(k: int) -> float:
    return math.fsum(1 / j for j in range(1, k + 1))


# K_0(x) = -(log(x/2) + gamma) I_0(x) + sum_k H_k t^k / (k!)^2, and
# K_1(x) = 1/x + log(x/2) I_1(x) - x/4 sum_k (psi(k+1) + psi(k+2)) t^k / (k! (k+1)!), t = x^2/4, psi(m+1) = H_m - gamma:
# the sums' coefficients, highest power first.
_K_SERIES = {0: tuple(_harmonic(k) / math.factorial(k) ** 2 for k in range(_K_TERMS, -1, -1)),
             1: tuple((_harmonic(k) + _harmonic(k + 1) - 2 * _EULER_GAMMA) / (math.factorial(k) * math.factorial(k + 1))
                      for k in range(_K_TERMS, -1, -1))}
# K_nu(x) sqrt(2x / pi) e^x ~ sum_k prod_{j<=k} (4 nu^2 - (2j - 1)^2) / (k! 8^k) / x^k (I_nu's without the signs).
_K_ASYMPTOTIC = {order: tuple(c * (-1) ** k for k, c in zip(range(40, -1, -1), _asymptotic_coefficients(order, 40)))
                 for order in (0, 1)}


def _bessel_k(x: Node, order: int, scaled: bool) -> Node:
    """K_order(x) (times e^x if ``scaled``) for float64 x: the series up to 2, the trapezoidal rule on
    K_nu(x) = integral_0^inf e^(-x cosh t) cosh(nu t) dt up to 20 (its integrand is analytic and decays doubly
    exponentially, so equal steps converge geometrically), the asymptotic expansion beyond. Each branch reads
    an argument from its own range."""
    def within(pred: Node, default: float) -> Node:
        return ops.select(pred, x, ops.broadcast_to(_c(default, x), x.shape))

    is_small = _b("le", x, _c(_K_SERIES_LIMIT, x))
    is_large = _b("ge", x, _c(_K_ASYMPTOTIC_FROM, x))
    small = within(is_small, 1.0)
    middle = within(_b("and", _u("logical_not", is_small), _u("logical_not", is_large)), 10.0)
    large = within(is_large, _K_ASYMPTOTIC_FROM)
    t = ops.scale(ops.mul(small, small), 0.25)
    bessel_i = _bessel_i(small, order, False)
    log_half = _u("log", ops.scale(small, 0.5))
    if order == 0:
        series = _sub(_poly(t, _K_SERIES[0]), ops.mul(ops.add(log_half, _c(_EULER_GAMMA, x)), bessel_i))
    else:
        series = ops.add(ops.div(_c(1, x), small), _sub(ops.mul(log_half, bessel_i),
                                                        ops.mul(ops.scale(small, 0.25), _poly(t, _K_SERIES[1]))))
    if scaled:
        series = ops.mul(series, _u("exp", small))
    shift = 1.0 if scaled else 0.0
    trapezoid = ops.broadcast_to(_c(0, x), x.shape)
    for j in range(_K_NODES):
        weight = _K_STEP * (0.5 if j == 0 else 1.0) * math.cosh(order * j * _K_STEP)
        term = _u("exp", ops.scale(middle, shift - math.cosh(j * _K_STEP)))
        trapezoid = ops.add(trapezoid, ops.scale(term, weight))
    asymptotic = ops.mul(_u("sqrt", ops.div(_c(math.pi / 2, x), large)), _poly(ops.div(_c(1, x), large),
                                                                               _K_ASYMPTOTIC[order]))
    if not scaled:
        asymptotic = ops.mul(asymptotic, _u("exp", ops.neg(large)))
    out = ops.select(is_small, series, ops.select(is_large, asymptotic, trapezoid))
    out = _constant_where(_b("eq", x, _c(0, x)), math.inf, out)
    return _constant_where(_b("or", _b("lt", x, _c(0, x)), _b("ne", x, x)), math.nan, out)


def _bessel_k_function(order: int, scaled: bool) -> Callable[[Tensor], Tensor]:
    name = f"{'scaled_' if scaled else ''}modified_bessel_k{order}"

    def bessel_k(input: Tensor) -> Tensor:
        x, out_dtype = _widened(input, name)
        return _wrap(ops.cast(_bessel_k(x, order, scaled), out_dtype))

    bessel_k.__name__ = bessel_k.__qualname__ = name
    bessel_k.__doc__ = (f"The modified Bessel function of the second kind of order {order}"
                        f"{' times e^x' if scaled else ''} (not differentiable, as in torch).")
    return bessel_k


# ---- J_0 and J_1 ----------------------------------------------------------------------------------------------

_J_HANKEL_FROM = 25.0  # from here Hankel's expansion, whose smallest term is ~e^(-2x); below, Bessel's integral
_J_NODES = 64  # midpoints on [0, pi]: the periodic integrand's rule is exact to float64 for |x| < 25
_J_HANKEL_TERMS = 60


def _hankel_coefficients(order: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Hankel's P and Q for J_order: sum_k (-1)^k a_2k / x^2k and sum_k (-1)^k a_2k+1 / x^(2k+1), with
    a_k = prod_{j<=k} (4 order^2 - (2j - 1)^2) / (k! 8^k), as polynomials in 1/x, highest power first."""
    mu = 4 * order * order
    a = [math.prod(mu - (2 * j - 1) ** 2 for j in range(1, k + 1)) / (math.factorial(k) * 8 ** k)
         for k in range(_J_HANKEL_TERMS)]
    p = [(-1) ** (k // 2) * a[k] if k % 2 == 0 else 0.0 for k in range(_J_HANKEL_TERMS)]
    q = [(-1) ** (k // 2) * a[k] if k % 2 else 0.0 for k in range(_J_HANKEL_TERMS)]
    return tuple(reversed(p)), tuple(reversed(q))


_HANKEL = {order: _hankel_coefficients(order) for order in (0, 1)}


def _bessel_j(x: Node, order: int) -> Node:
    """J_order(x) for float64 x: below 25 Bessel's integral (1/pi) integral_0^pi cos(order t - x sin t) dt by the
    midpoint rule (a periodic analytic integrand, so the error falls geometrically with the nodes: its absolute
    error is float64's rounding), from 25 on Hankel's expansion sqrt(2 / (pi x)) (P cos w - Q sin w),
    w = x - (2 order + 1) pi / 4, with cos w and sin w from cos x and sin x, not from a rounded x - pi/4.
    J_0 is even and J_1 odd; both are NaN at the infinities, as torch's."""
    size = _u("abs", x)
    near = _b("lt", size, _c(_J_HANKEL_FROM, x))
    small = ops.select(near, size, ops.broadcast_to(_c(0, x), x.shape))
    large = ops.select(near, ops.broadcast_to(_c(_J_HANKEL_FROM, x), x.shape), size)
    integral = ops.broadcast_to(_c(0, x), x.shape)
    for j in range(_J_NODES):
        t = (j + 0.5) * math.pi / _J_NODES
        integral = ops.add(integral, _u("cos", _sub(_c(order * t, x), ops.scale(small, math.sin(t)))))
    integral = ops.scale(integral, 1 / _J_NODES)
    p, q = _HANKEL[order]
    inverse = ops.div(_c(1, x), large)
    phase = (2 * order + 1) * math.pi / 4
    cos_x, sin_x = _u("cos", large), _u("sin", large)
    cos_w = ops.add(ops.scale(cos_x, math.cos(phase)), ops.scale(sin_x, math.sin(phase)))
    sin_w = _sub(ops.scale(sin_x, math.cos(phase)), ops.scale(cos_x, math.sin(phase)))
    hankel = ops.mul(_u("sqrt", ops.div(_c(2 / math.pi, x), large)),
                     _sub(ops.mul(_poly(inverse, p), cos_w), ops.mul(_poly(inverse, q), sin_w)))
    out = ops.select(near, integral, hankel)
    if order:
        out = ops.select(_b("lt", x, _c(0, x)), ops.neg(out), out)
    return _constant_where(_b("eq", size, _c(math.inf, x)), math.nan, out)


def _bessel_j_function(order: int) -> Callable[[Tensor], Tensor]:
    name = f"bessel_j{order}"

    def bessel_j(input: Tensor) -> Tensor:
        x, out_dtype = _widened(input, name)
        return _wrap(ops.cast(_bessel_j(x, order), out_dtype))

    bessel_j.__name__ = bessel_j.__qualname__ = name
    bessel_j.__doc__ = f"The Bessel function of the first kind of order {order} (not differentiable, as in torch)."
    return bessel_j


# ---- erfcx and ndtri ---------------------------------------------------------------------------------------

_ERFCX_DIRECT = 1.0  # below, erfc(x) > 0.15, so 1 - erf x keeps all but the last digit; above, the fraction
_ERFCX_FRACTION_TERMS = 200  # its convergence at x = 1 reaches float64's rounding by then


def _erfcx_fraction(z: Node) -> Node:
    """1 / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))) for z >= 1, bottom up."""
    fraction = z
    for k in range(_ERFCX_FRACTION_TERMS, 0, -1):
        fraction = ops.add(z, ops.div(_c(k / 2, z), fraction))
    return ops.div(_c(1 / math.sqrt(math.pi), z), fraction)


def _erfcx_positive(z: Node) -> Node:
    """erfcx(z) for z >= 0 (any z gives a number; each branch sees an argument from its own side)."""
    near = _b("lt", z, _c(_ERFCX_DIRECT, z))
    small = ops.select(near, z, ops.broadcast_to(_c(0, z), z.shape))
    large = ops.select(near, ops.broadcast_to(_c(_ERFCX_DIRECT, z), z.shape), z)
    direct = ops.mul(_u("exp", ops.mul(small, small)), _sub(_c(1, z), _u("erf", small)))
    return ops.select(near, direct, _erfcx_fraction(large))


def _erfcx(x: Node) -> Node:
    """exp(x^2) erfc(x): erfcx(|x|) above 0, and 2 exp(x^2) - erfcx(-x) below (no cancellation: the first term
    is at least 2, the second at most 1), which overflows to inf, with torch's -inf slope, below -26.64. Each
    branch reads only its own side of 0, so the other's infinities reach no slope."""
    negative = _b("lt", x, _c(0, x))
    zero = ops.broadcast_to(_c(0, x), x.shape)
    positive = _erfcx_positive(ops.select(negative, ops.neg(x), x))  # not abs: its slope at 0 would be 0
    below = ops.select(negative, x, zero)
    mirrored = _sub(ops.scale(_u("exp", ops.mul(below, below)), 2.0), positive)
    out = ops.select(negative, mirrored, positive)
    return _constant_where(_b("eq", x, _c(math.inf, x)), 0.0, out)


def erfcx(input: Tensor) -> Tensor:
    """The scaled complementary error function exp(x^2) erfc(x), accurate where erfc underflows."""
    x, out_dtype = _widened(input, "erfcx")
    return _record("SpecialErfcxBackward0", ops.cast(_erfcx(x), out_dtype), input)


_NDTRI_NEWTON_STEPS = 4
# Above this p, sqrt(2) erfinv(2p - 1) (2p - 1 exact, erfinv refined on erf) is accurate relative to its small
# result, where the log-space steps below would leave an absolute error of log p's rounding.
_NDTRI_CENTRAL = 0.1
_LOG_2PI = math.log(2 * math.pi)


def _ndtri_start(p: Node) -> Node:
    """A start within a few percent for p in (0, 1/2]: sqrt(2) erfinv(2p - 1), or the tail's leading terms
    -sqrt(t - log t - log 2 pi), t = -2 log p, where 2p - 1 rounds to -1."""
    central_p = _b("max", p, _c(1e-8, p))
    central = ops.scale(special_ops._erfinv(_sub(ops.scale(central_p, 2.0), _c(1, p))), math.sqrt(2))
    t = ops.scale(_u("log", p), -2.0)
    tail = ops.neg(_u("sqrt", _sub(_sub(t, _u("log", t)), _c(_LOG_2PI, p))))
    return ops.select(_b("gt", p, _c(1e-8, p)), central, tail)


def _ndtri_lower(p: Node) -> Node:
    """ndtri(p) for p in (0, 0.1]: Newton's steps on log ndtr(x) = log p. With z = -x / sqrt 2, log ndtr(x) is
    log(erfcx(z) / 2) - z^2 and ndtr(x) / pdf(x) is sqrt(pi / 2) erfcx(z): no exp to underflow, and no erfc
    to cancel. The last step is taken with the gradient on, so the slope in p is the last step's, 1 / pdf(x) to
    the rounding."""
    log_p = _u("log", p)
    x = _u("stop_gradient", _ndtri_start(p))
    for step in range(_NDTRI_NEWTON_STEPS):
        z = ops.scale(x, -math.sqrt(0.5))
        scaled = _erfcx(z)
        log_cdf = _sub(_u("log", ops.scale(scaled, 0.5)), ops.mul(z, z))
        x = _sub(x, ops.mul(_sub(log_cdf, log_p), ops.scale(scaled, math.sqrt(math.pi / 2))))
        if step < _NDTRI_NEWTON_STEPS - 1:
            x = _u("stop_gradient", x)
    return x


def _ndtri(p: Node) -> Node:
    """ndtri(p) = -ndtri(1 - p) above 1/2 (1 - p is exact there); -inf at 0, inf at 1, NaN outside [0, 1]."""
    upper = _b("gt", p, _c(0.5, p))
    lower_p = ops.select(upper, _sub(_c(1, p), p), p)
    inside = _b("and", _b("gt", lower_p, _c(0, p)), _b("le", lower_p, _c(0.5, p)))
    safe = ops.select(inside, lower_p, ops.broadcast_to(_c(0.25, p), p.shape))
    central = _b("ge", safe, _c(_NDTRI_CENTRAL, p))
    edge = ops.broadcast_to(_c(_NDTRI_CENTRAL, p), p.shape)  # select, not max: a tie would halve the slope
    central_p, tail_p = ops.select(central, safe, edge), ops.select(central, edge, safe)
    x = ops.select(central, ops.scale(special_ops._erfinv(_sub(ops.scale(central_p, 2.0), _c(1, p))), math.sqrt(2)),
                   _ndtri_lower(tail_p))
    out = ops.select(upper, ops.neg(x), x)
    out = _constant_where(_b("eq", p, _c(0, p)), -math.inf, _constant_where(_b("eq", p, _c(1, p)), math.inf, out))
    outside = _b("or", _b("or", _b("lt", p, _c(0, p)), _b("gt", p, _c(1, p))), _b("ne", p, p))
    return _constant_where(outside, math.nan, out)


def ndtri(input: Tensor) -> Tensor:
    """The inverse of ndtr: the standard normal quantile of a probability."""
    p, out_dtype = _widened(input, "ndtri")
    return _record("SpecialNdtriBackward0", ops.cast(_ndtri(p), out_dtype), input)


FUNCTIONS = {"i0e": i0e, "i1": i1, "i1e": i1e, "modified_bessel_i0": modified_bessel_i0,
             "modified_bessel_i1": modified_bessel_i1, "spherical_bessel_j0": spherical_bessel_j0, "erfcx": erfcx,
             "ndtri": ndtri}
FUNCTIONS.update({f"{'scaled_' if scaled else ''}modified_bessel_k{order}": _bessel_k_function(order, scaled)
                  for order in (0, 1) for scaled in (False, True)})
FUNCTIONS.update({f"bessel_j{order}": _bessel_j_function(order) for order in (0, 1)})
