"""Elementwise math on special values against torch, bit for bit: signed zeros, NaN, infinities, subnormals, huge
values and integer edges (negative operands, division by zero, wrap-around, bool).

Each op runs on one fixed vector per dtype (a binary op on every pair of a shorter one), in lazygrad and in torch.
A value or gradient (of ``.sum()``) matches when both are NaN, or both are equal with the same sign bit; only the
transcendental kernels named in ``ULPS`` may differ, by that many units in the last place, since torch's vectorized
kernels round otherwise than the C library numpy calls and XLA's own. ``SKIP`` names the few inputs where torch's
answer comes from how its kernel happens to round or flush, each with its reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

NAN, INF, TINY = math.nan, math.inf, 1e-45  # TINY is float32's smallest subnormal
SPECIAL = np.array([-0.0, 0.0, NAN, INF, -INF, TINY, -TINY, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 1.5, 3.0, -3.0, 1e30,
                    -1e30, 0.3, 1e-8])
_PAIRED = [-0.0, 0.0, NAN, INF, -INF, 1.0, -1.0, 2.5, -2.5, 0.5, 3.0, TINY]
LEFT, RIGHT = np.repeat(_PAIRED, len(_PAIRED)), np.tile(_PAIRED, len(_PAIRED))  # every pair
INTEGERS = np.array([-7, -1, 0, 1, 7, 2**31 - 1, -2**31])
INT_LEFT, INT_RIGHT = np.repeat(INTEGERS, len(INTEGERS)), np.tile(INTEGERS, len(INTEGERS))

UNARY = {
    "abs": lambda T, x: x.abs(), "neg": lambda T, x: -x, "sign": lambda T, x: x.sign(), "sgn": lambda T, x: x.sgn(),
    "signbit": lambda T, x: x.signbit(), "floor": lambda T, x: x.floor(), "ceil": lambda T, x: x.ceil(),
    "round": lambda T, x: x.round(), "round_2": lambda T, x: x.round(decimals=2),
    "round_-1": lambda T, x: x.round(decimals=-1), "trunc": lambda T, x: x.trunc(), "frac": lambda T, x: x.frac(),
    "exp": lambda T, x: x.exp(), "exp2": lambda T, x: T.exp2(x), "expm1": lambda T, x: x.expm1(),
    "log": lambda T, x: x.log(), "log2": lambda T, x: x.log2(), "log10": lambda T, x: x.log10(),
    "log1p": lambda T, x: x.log1p(), "sqrt": lambda T, x: x.sqrt(), "rsqrt": lambda T, x: x.rsqrt(),
    "reciprocal": lambda T, x: x.reciprocal(), "square": lambda T, x: x.square(),
    "pow_0": lambda T, x: x**0, "pow_0.5": lambda T, x: x**0.5, "pow_-0.5": lambda T, x: x**-0.5,
    "pow_2": lambda T, x: x**2, "pow_3": lambda T, x: x**3, "pow_-1": lambda T, x: x**-1,
    "pow_-2": lambda T, x: x**-2, "pow_1.5": lambda T, x: x**1.5, "pow_inf": lambda T, x: x**INF,
    "rpow_2": lambda T, x: 2**x, "rpow_0": lambda T, x: 0**x, "rpow_-2": lambda T, x: (-2) ** x,
    "clamp": lambda T, x: x.clamp(-1.0, 1.0), "clamp_reversed": lambda T, x: x.clamp(1.0, -1.0),
    "clamp_nan_min": lambda T, x: x.clamp(min=NAN), "clamp_nan_max": lambda T, x: x.clamp(max=NAN),
    "nan_to_num": lambda T, x: T.nan_to_num(x),
    "nan_to_num_args": lambda T, x: T.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0),
    "isnan": lambda T, x: x.isnan(), "isinf": lambda T, x: x.isinf(), "isfinite": lambda T, x: x.isfinite(),
    "isposinf": lambda T, x: T.isposinf(x), "isneginf": lambda T, x: T.isneginf(x),
    "sinc": lambda T, x: T.sinc(x), "logit": lambda T, x: T.logit(x), "logit_eps": lambda T, x: T.logit(x, eps=0.25),
    "erfinv": lambda T, x: T.erfinv(x), "sin": lambda T, x: x.sin(), "cos": lambda T, x: x.cos(),
    "tan": lambda T, x: x.tan(), "div_0": lambda T, x: x / 0.0, "div_-0": lambda T, x: x / -0.0,
    "rdiv": lambda T, x: 1.0 / x, "rdiv_3": lambda T, x: 3.0 / x, "fmod_2": lambda T, x: T.fmod(x, 2.0),
    "remainder_-2": lambda T, x: x % -2.0,
    "floordiv_-2": lambda T, x: x // -2.0, "div_trunc_2": lambda T, x: T.div(x, 2.0, rounding_mode="trunc"),
    "xlogy_2": lambda T, x: T.xlogy(x, 2.0), "xlogy_0": lambda T, x: T.xlogy(0.0, x),
    "heaviside": lambda T, x: T.heaviside(x, T.tensor(0.5, dtype=x.dtype)),
}

BINARY = {
    "add": lambda T, a, b: a + b, "sub": lambda T, a, b: a - b, "mul": lambda T, a, b: a * b,
    "div": lambda T, a, b: a / b, "pow": lambda T, a, b: a**b, "maximum": lambda T, a, b: T.maximum(a, b),
    "minimum": lambda T, a, b: T.minimum(a, b), "fmax": lambda T, a, b: T.fmax(a, b),
    "fmin": lambda T, a, b: T.fmin(a, b), "remainder": lambda T, a, b: T.remainder(a, b),
    "fmod": lambda T, a, b: T.fmod(a, b), "floor_divide": lambda T, a, b: T.floor_divide(a, b),
    "div_floor": lambda T, a, b: T.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda T, a, b: T.div(a, b, rounding_mode="trunc"), "atan2": lambda T, a, b: T.atan2(a, b),
    "copysign": lambda T, a, b: T.copysign(a, b), "hypot": lambda T, a, b: T.hypot(a, b),
    "logaddexp": lambda T, a, b: T.logaddexp(a, b), "logaddexp2": lambda T, a, b: T.logaddexp2(a, b),
    "xlogy": lambda T, a, b: T.xlogy(a, b), "lerp": lambda T, a, b: T.lerp(a, b, 0.75),
    "lerp_weight": lambda T, a, b: T.lerp(T.ones_like(a), T.full_like(a, 2.0), b),
    "addcmul": lambda T, a, b: T.addcmul(T.ones_like(a), a, b, value=0.5),
    "addcdiv": lambda T, a, b: T.addcdiv(T.ones_like(a), a, b, value=0.5),
    "clamp_min_tensor": lambda T, a, b: T.clamp(a, min=b), "clamp_max_tensor": lambda T, a, b: T.clamp(a, max=b),
    "where": lambda T, a, b: T.where(a > b, a, b), "heaviside": lambda T, a, b: T.heaviside(a, b),
}

INTEGER_UNARY = {name: UNARY[name] for name in (
    "abs", "neg", "sign", "sgn", "signbit", "floor", "ceil", "round", "trunc", "square", "pow_0", "pow_2", "pow_3",
    "rpow_2", "rpow_0", "rpow_-2", "reciprocal", "sqrt", "exp", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "nan_to_num")} | {
    "clamp": lambda T, x: x.clamp(-1, 1), "fmod_2": lambda T, x: T.fmod(x, 2), "remainder_-2": lambda T, x: x % -2,
    "floordiv_-2": lambda T, x: x // -2, "div_trunc_-2": lambda T, x: T.div(x, -2, rounding_mode="trunc"),
    "div_0": lambda T, x: x / 0, "times_3": lambda T, x: x * 3, "plus_1": lambda T, x: x + 1,
}
INTEGER_BINARY = {name: BINARY[name] for name in (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmax", "fmin", "copysign", "where", "heaviside")}
INTEGER_DIVISIONS = {name: BINARY[name] for name in ("remainder", "fmod", "floor_divide", "div_floor", "div_trunc")}
BOOL_UNARY = {name: UNARY[name] for name in (
    "sign", "sgn", "signbit", "square", "isnan", "isfinite", "sqrt", "exp", "neg", "abs", "floor", "frac")}

# Units in the last place a result may differ from torch's, for the kernels whose rounding is the library's own
# (values and gradients alike); gradients composed of several such kernels get the second number.
ULPS = {name: 1 for name in (
    "sqrt", "rsqrt", "pow_0.5", "pow_-0.5", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos",
    "tan", "sinc", "erfinv", "atan2", "hypot", "logaddexp", "logit", "logit_eps", "pow", "pow_1.5", "rpow_2",
    "rpow_-2", "xlogy", "xlogy_2", "xlogy_0")}
ULPS["logaddexp2"] = ULPS["log10"] = 2  # a kernel's rounding, and another (log1p and exp2; a division by ln 10)
# torch's AVX-512 kernels (and numpy's) round float32 tan, atan2 and logaddexp up to one more ulp apart
ULPS["tan"] = ULPS["atan2"] = ULPS["logaddexp"] = 2
GRADIENT_ULPS = {"hypot": 2, "tan": 4, "log2": 4, "log10": 4, "expm1": 16, "logaddexp": 4, "erfinv": 4,
                 "addcdiv": 1,  # torch's addcdiv slope divides by the divisor squared, the composition twice
                 "pow_-2": 2}  # -2 x^-3: torch's AVX-512 pow rounds x^-3 otherwise


def _subnormal(x: np.ndarray) -> np.ndarray:
    return (x != 0) & (np.abs(x) < np.finfo(np.float32).tiny)


def _zero_quotient(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.floor(a / b) == 0


# op -> (which elements to leave out given the inputs, dtype and backend; "values" or "gradients" or both, why).
SKIP = {
    "log1p": (lambda dtype, backend, x: dtype == np.float32 and _subnormal(x), "values",
              "torch's float32 log1p flushes a subnormal to 0"),
    "logaddexp2": (lambda dtype, backend, a, b: (a == b) & (a == -1), "values",
                   "torch's logaddexp2(-1, -1) rounds to a little below 0"),
    "clamp_min_tensor": (lambda dtype, backend, a, b: (a == 0) & (b == 0), "values",
                         "which zero a tie keeps depends on whether torch's kernel ran vectorized"),
    "clamp_max_tensor": (lambda dtype, backend, a, b: (a == 0) & (b == 0), "values", "as clamp_min_tensor"),
    # gradients at points where torch's own formula, not the composition's slope, decides
    "sinc": (lambda dtype, backend, x: np.ones_like(x, bool), "gradients",
             "torch differentiates its own formula, which rounds (and overflows) otherwise"),
    "logit": (lambda dtype, backend, x: ~((x > 0) & (x < 1)), "gradients",
              "torch's slope is 1 / (x (1 - x)): infinite at 0 and 1, NaN outside"),
    "logit_eps": (lambda dtype, backend, x: np.isnan(x), "gradients",
                  "at NaN torch's AVX2 kernel gives the clamped slope 0 and its AVX-512 kernel NaN"),
    "erfinv": (lambda dtype, backend, x: np.abs(x) == 1, "gradients", "torch's slope at +-1 is inf"),
    "xlogy": (lambda dtype, backend, a, b: (a == 0) | np.isinf(b), "gradients",
              "torch's slopes at x = 0 are log(y) and x / y, even where those are infinite"),
    "xlogy_0": (lambda dtype, backend, x: x <= 0, "gradients", "as xlogy"),
    "copysign": (lambda dtype, backend, a, b: (a == 0) | ~np.isfinite(a), "gradients",
                 "torch's slope is result / input: +0 at 0 whatever the sign, NaN at NaN and infinities"),
    "remainder_-2": (lambda dtype, backend, x: x == 0, "gradients", "the sign of a zero slope"),
    "fmod": (lambda dtype, backend, a, b: (a == 0) | (dtype == np.float32) & _subnormal(b), "both",
             "torch's float32 fmod by a subnormal gives NaN; the sign of a zero slope"),
    "remainder": (lambda dtype, backend, a, b: _zero_quotient(a, b) | np.isinf(a) | (dtype == np.float32)
                  & _subnormal(b), "both", "as fmod; torch's slope floor-divides an infinity, which gives NaN"),
    "addcdiv": (lambda dtype, backend, a, b: _subnormal(b), "gradients",
                "torch's slope divides by the divisor squared, which underflows"),
}


def _flushes(dtype: type, backend: str, *inputs: np.ndarray) -> np.ndarray:
    """XLA on CPU flushes float32 subnormals to zero, inputs and results alike."""
    if backend != "jax" or dtype != np.float32:
        return np.zeros(inputs[0].shape, bool)
    return np.logical_or.reduce([_subnormal(x) for x in inputs])


def _mismatches(got: np.ndarray, want: np.ndarray, ulps: int) -> np.ndarray:
    """Where ``got`` is not ``want``: NaN against a number, another sign bit, or further than ``ulps`` apart."""
    if got.dtype.kind != "f":
        return got != want
    nan = np.isnan(got)
    near = got == want
    if ulps:
        with np.errstate(invalid="ignore", over="ignore"):
            gap = np.abs(got.astype(np.float64) - want.astype(np.float64))
            near |= gap <= ulps * np.spacing(np.maximum(np.abs(got), np.abs(want)))
    return (nan != np.isnan(want)) | (~nan & (~near | (np.signbit(got) != np.signbit(want))))


def _assert_same(name: str, what: str, got: np.ndarray, want: np.ndarray, ulps: int, left_out: np.ndarray,
                 inputs: tuple[np.ndarray, ...]) -> None:
    assert got.dtype == want.dtype, f"{name} {what}: dtype {got.dtype}, torch's {want.dtype}"
    bad = np.flatnonzero(_mismatches(got, want, ulps) & ~left_out)
    cases = [(tuple(float(x[i]) for x in inputs), got[i], want[i]) for i in bad[:6]]
    assert not len(bad), f"{name} {what} differs from torch at (inputs, lazygrad, torch): {cases}"


def _left_out(name: str, part: str, dtype: type, backend: str, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    left_out = _flushes(dtype, backend, *inputs)
    rule = SKIP.get(name)
    if rule is not None and rule[1] in (part, "both"):
        left_out = left_out | rule[0](dtype, backend, *inputs)
    return left_out


def _check(name: str, fn, inputs: tuple[np.ndarray, ...], dtype: type, backend: str) -> None:
    arrays = tuple(x.astype(dtype) for x in inputs)
    differentiable = np.dtype(dtype).kind == "f"
    theirs = [torch.tensor(x, requires_grad=differentiable) for x in arrays]
    mine = [lazygrad.tensor(x, requires_grad=differentiable) for x in arrays]
    try:
        want = fn(torch, *theirs)
    except (RuntimeError, NotImplementedError) as error:
        with pytest.raises(type(error)):
            fn(lazygrad, *mine).numpy()
        return
    got = fn(lazygrad, *mine)
    with np.errstate(all="ignore"):
        values = got.detach().numpy()
    left_out = _left_out(name, "values", dtype, backend, arrays)
    _assert_same(name, "values", values, want.detach().numpy(), ULPS.get(name, 0), left_out, arrays)
    if not want.requires_grad:
        return
    try:
        want.sum().backward()
    except RuntimeError as error:  # floor_divide and heaviside have no derivative in torch
        assert "not implemented" in str(error)
        return
    got.sum().backward()
    left_out = _left_out(name, "gradients", dtype, backend, arrays)
    ulps = GRADIENT_ULPS.get(name, ULPS.get(name, 0))
    for k, (t, m) in enumerate(zip(theirs, mine)):
        if t.grad is not None:
            assert m.grad is not None, f"{name}: no gradient for argument {k}"
            _assert_same(name, f"gradient {k}", m.grad.numpy(), t.grad.numpy(force=True), ulps, left_out, arrays)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_float_special_values_match_torch(name, dtype, backend):
    _check(name, UNARY[name], (SPECIAL,), dtype, backend)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_float_special_values_match_torch(name, dtype, backend):
    _check(name, BINARY[name], (LEFT, RIGHT), dtype, backend)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("name", list(INTEGER_UNARY))
def test_integer_unary_edges_match_torch(name, dtype, backend):
    _check(name, INTEGER_UNARY[name], (INTEGERS,), dtype, backend)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("name", list(INTEGER_BINARY))
def test_integer_binary_edges_match_torch(name, dtype, backend):
    _check(name, INTEGER_BINARY[name], (INT_LEFT, INT_RIGHT), dtype, backend)


@pytest.mark.parametrize("name", list(INTEGER_DIVISIONS))
def test_integer_division_matches_torch_and_refuses_zero(name, backend):
    """Every nonzero divisor against torch (the most negative number over -1 wraps), and a zero one raises."""
    nonzero = INT_RIGHT != 0
    _check(name, INTEGER_DIVISIONS[name], (INT_LEFT[nonzero], INT_RIGHT[nonzero]), np.int64, backend)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        INTEGER_DIVISIONS[name](lazygrad, lazygrad.tensor([1, 2]), lazygrad.tensor([1, 0])).numpy()


@pytest.mark.parametrize("name", list(BOOL_UNARY))
def test_bool_unary_matches_torch(name, backend):
    _check(name, BOOL_UNARY[name], (np.array([True, False]),), np.bool_, backend)


def test_integer_power_with_a_negative_number_raises_when_built():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        lazygrad.tensor([1, 2]) ** -1


def test_scalar_power_kernels_keep_torchs_signed_zeros_and_slopes(backend):
    """x ** 0.5 is sqrt and x ** -0.5 rsqrt in torch: -0.0 ** -0.5 is -inf, and -0.0 ** 0.5's slope -inf."""
    x = lazygrad.tensor([-0.0, -INF, 4.0], dtype=lazygrad.float64, requires_grad=True)
    assert np.signbit((x**-0.5).detach().numpy()[0]) and np.isnan((x**-0.5).detach().numpy()[1])
    (x**0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-INF, NAN, 0.25])


# A multiple of torch's vector widths: its scalar loop over a remainder rounds 16-bit results otherwise.
POWER_VALUES = np.abs(np.random.default_rng(0).standard_normal(2048) * 8).astype(np.float32)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("exponent", [0.5, 2.0, 3.0, -0.5, -1.0, -2.0])
def test_16_bit_scalar_power_kernels_round_as_torchs(exponent, dtype, backend):
    """torch's number-exponent kernels of 16-bit floats compute in float32 and round once, but bfloat16's
    ``x * x * x`` and ``1 / (x * x)`` round after each multiplication: bit for bit on both backends."""
    want = torch.tensor(POWER_VALUES).to(getattr(torch, dtype)) ** exponent
    got = lazygrad.tensor(POWER_VALUES).to(getattr(lazygrad, dtype)) ** exponent
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_a_tensor_exponent_takes_pow_even_when_it_holds_a_kernels_number(dtype, backend):
    """``x ** tensor(3.0)`` is torch's pow (one rounding of a float32 power), not its ``x * x * x`` kernel:
    7.75 ** 3 is 465.48, which bfloat16 holds as 466; two roundings give 464."""
    x = torch.tensor(POWER_VALUES).to(getattr(torch, dtype))
    y = lazygrad.tensor(POWER_VALUES).to(getattr(lazygrad, dtype))
    for exponent in (torch.tensor(3.0), torch.tensor(3, dtype=torch.uint8), torch.tensor(-2.0)):
        want = x ** exponent
        got = y ** lazygrad.tensor(exponent.numpy())
        np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())
    seven = lazygrad.tensor([7.75], dtype=getattr(lazygrad, dtype))
    if dtype == "bfloat16":
        assert (seven ** lazygrad.tensor(3, dtype=lazygrad.uint8)).item() == 466
        assert (seven ** 3).item() == 464  # torch's kernel rounds twice


def test_a_number_exponent_differentiates_through_torchs_kernel_for_y_minus_one(backend):
    """d/dx x ** 3 is 3 * x ** 2 (torch's square kernel) and d/dx x ** 1.5 is 1.5 * x ** 0.5 (its sqrt): the
    gradient's exponent is a number, so the backends pick the kernel, whose signed zeros show it."""
    x = lazygrad.tensor([-0.0, 2.0], requires_grad=True)
    (x ** 1.5).sum().backward()
    want = torch.tensor([-0.0, 2.0], requires_grad=True)
    (want ** 1.5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), want.grad.numpy())  # sqrt(-0.0) is -0.0, pow's is +0.0
    assert np.signbit(x.grad.numpy()[0])


def test_every_backend_has_a_kernel_for_each_kernel_exponent():
    from lazygrad.backends import numpy_backend

    from lazygrad.primitives.elementwise import KERNEL_EXPONENTS

    assert set(numpy_backend._POWERS) == KERNEL_EXPONENTS
    jax_backend = pytest.importorskip("lazygrad.backends.jax_backend")
    assert set(jax_backend._POWERS) == KERNEL_EXPONENTS
