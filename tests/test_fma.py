"""The ``fma`` primitive rounds ``a * b + c`` once, and the ops torch computes with a fused multiply-add round as
torch's kernels do (``add``/``sub`` with ``alpha``, ``addcmul``, ``lerp``), on every backend.

The oracle for ``fma`` is exact rational arithmetic; torch is the oracle for the ops when it is installed.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import HAS_TORCH
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lazygrad
from lazygrad.fma import fma

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")


def _rounded_once(a: float, b: float, c: float, dtype: type) -> np.floating:
    """The float of ``dtype`` nearest to the exact ``a * b + c`` (ties to even): a single rounding."""
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    if exact == 0:  # IEEE: -0 only when the zero product and c are both -0
        negative = bool(np.signbit(a) != np.signbit(b)) and (a == 0 or b == 0) and bool(np.signbit(c)) and c == 0
        return dtype(-0.0 if negative else 0.0)
    near = dtype(float(exact))
    candidates = [np.nextafter(near, dtype(-np.inf)), near, np.nextafter(near, dtype(np.inf))]
    distance = [abs(Fraction(float(x)) - exact) for x in candidates]
    best = min(distance)
    ties = [x for x, d in zip(candidates, distance) if d == best]
    bits = np.uint32 if dtype is np.float32 else np.uint64
    return min(ties, key=lambda x: int(np.array(x).view(bits)) & 1)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``addcmul(c, a, b)``: one ``fma`` node over the three tensors."""
    return lazygrad.tensor(c).addcmul(lazygrad.tensor(a), lazygrad.tensor(b)).numpy()


FLOATS = st.floats(-1e6, 1e6, allow_subnormal=False, width=32)


@given(arrays(np.float32, 16, elements=FLOATS), arrays(np.float32, 16, elements=FLOATS),
       arrays(np.float32, 16, elements=FLOATS))
def test_float32_fma_is_the_single_rounding_of_the_exact_value(a, b, c):
    want = np.array([_rounded_once(x, y, z, np.float32) for x, y, z in zip(a, b, c)])
    np.testing.assert_array_equal(_fma(a, b, c).view(np.uint32), want.view(np.uint32))


def test_a_double_rounding_trap_rounds_once():
    """The exact value lies just above the midpoint 1 + 2**-24; its double is the midpoint itself, which float32
    would round down to 1 (ties to even). One rounding gives 1 + 2**-23."""
    a = np.array([-(1 + 2.0**-18)], np.float32)
    b = np.array([2.0**-24 * (1 - 2.0**-18)], np.float32)
    c = np.array([1 + 2.0**-23], np.float32)
    assert (a.astype(np.float64) * b + c).astype(np.float32)[0] == 1  # what two roundings give
    assert _fma(a, b, c)[0] == np.float32(1 + 2.0**-23)


def test_a_subnormal_double_rounding_trap_rounds_once():
    """Among the subnormals the floats are 2**-149 apart and the midpoints have few bits, so the midpoint test
    of the normal range misses them. The exact value lies just below the midpoint above an odd subnormal; its
    double is the midpoint, which float32 rounds up to the even neighbour. One rounding keeps ``c``. (The numpy
    kernel: XLA's CPU code flushes float32 subnormals, docs/architecture.md.)"""
    a = np.array([2.0**-75 * (1 + 2.0**-23)], np.float32)
    b = np.array([2.0**-75 * (1 - 2.0**-23)], np.float32)
    c = np.array([2.0**-127 + 2.0**-149], np.float32)  # an odd multiple of 2**-149
    assert (a.astype(np.float64) * b + c).astype(np.float32)[0] == c[0] + np.float32(2.0**-149)
    assert fma(a, b, c)[0] == c[0]
    assert fma(-a, b, -c)[0] == -c[0]


TINY = st.floats(-(2.0**-60), 2.0**-60, width=32)
SMALL = st.floats(-(2.0**-120), 2.0**-120, width=32)  # subnormals and the smallest normals


@given(arrays(np.float32, 16, elements=TINY), arrays(np.float32, 16, elements=TINY),
       arrays(np.float32, 16, elements=SMALL))
def test_float32_fma_rounds_once_where_results_are_subnormal(a, b, c):
    want = np.array([_rounded_once(x, y, z, np.float32) for x, y, z in zip(a, b, c)])
    np.testing.assert_array_equal(fma(a, b, c).view(np.uint32), want.view(np.uint32))


ANY_FLOAT = st.floats(-(2.0**60), 2.0**60, width=32)  # subnormals to large, and no product overflows


@given(arrays(np.float32, st.integers(0, 16), elements=ANY_FLOAT), ANY_FLOAT, st.data())
def test_a_few_floats_and_a_number_round_once(a, b, data):
    """A bias's update (``fma(grad, -lr, bias)``: a few floats and a number) loops over Python floats."""
    c = data.draw(arrays(np.float32, a.shape, elements=ANY_FLOAT))
    want = np.array([_rounded_once(x, b, z, np.float32) for x, z in zip(a, c)], np.float32)
    got = fma(a, np.asarray(np.float32(b)), c)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


SPECIAL = np.array([0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-45, -1.17549435e-38], np.float32)


def _bits_or_nan(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), -1, x.view(np.uint32).astype(np.int64))


def test_a_few_floats_take_infinities_nans_and_signed_zeros_as_many_do():
    """The loop over a few floats and the vectorized passes give the same bits on IEEE's special values."""
    many = np.tile(SPECIAL, 2)  # more than a few: the vectorized passes
    for b in SPECIAL:
        number = np.asarray(b)
        for c in SPECIAL:
            few = np.array([fma(np.array([a]), number, np.array([c]))[0] for a in SPECIAL])
            vectorized = fma(many, number, np.full(many.shape, c, np.float32))[:len(SPECIAL)]
            np.testing.assert_array_equal(_bits_or_nan(few), _bits_or_nan(vectorized))


@pytest.mark.parametrize("shapes", [((), (), ()), ((3,), (), (3,)), ((2, 1), (3,), (1, 3)), ((), (4,), ())])
def test_float32_fma_broadcasts_and_keeps_zero_dimensional_results(shapes):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(shape).astype(np.float32) for shape in shapes)
    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    got = fma(a, b, c)
    exact = np.broadcast_arrays(a, b, c)
    want = np.array([_rounded_once(x, y, z, np.float32) for x, y, z in zip(*(e.ravel() for e in exact))])
    assert got.shape == np.broadcast_shapes(*shapes) and got.dtype == np.float32
    np.testing.assert_array_equal(got.ravel().view(np.uint32), want.view(np.uint32))


def test_float64_fma_keeps_the_product_below_the_last_bit():
    """(1 + 2**-30)(1 - 2**-30) - 1 is -2**-60 exactly; a rounded product would give 0."""
    a, b, c = np.array([1 + 2.0**-30]), np.array([1 - 2.0**-30]), np.array([-1.0])
    assert (a * b + c)[0] == 0
    assert _fma(a, b, c)[0] == -(2.0**-60)
    assert _fma(np.array([-0.0]), np.array([5.0]), np.array([-0.0]))[0] == 0  # signed zeros follow IEEE
    assert np.signbit(_fma(np.array([-0.0]), np.array([5.0]), np.array([-0.0]))[0])


def test_fma_refuses_other_dtypes_and_mixed_dtypes():
    from lazygrad.ir import apply, leaf

    ints = leaf(np.ones(2, np.int32), (2,), lazygrad.int32)
    with pytest.raises(TypeError, match=r"\[fma\] expects float32 or float64"):
        apply("fma", (ints, ints, ints))
    single, double = leaf(np.ones(2, np.float32), (2,), lazygrad.float32), leaf(np.ones(2), (2,), lazygrad.float64)
    with pytest.raises(TypeError, match=r"\[fma\] arguments must share a dtype"):
        apply("fma", (single, single, double))


def test_add_with_alpha_differentiates_each_operand():
    x = lazygrad.tensor([1.0, 2.0], requires_grad=True)
    y = lazygrad.tensor([3.0, 4.0], requires_grad=True)
    z = x.sub(y, alpha=2.5)
    assert z.grad_fn.name() == "SubBackward0"
    (z * lazygrad.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 10.0])
    np.testing.assert_array_equal(y.grad.numpy(), [-2.5, -25.0])


def test_integer_add_with_a_float_alpha_is_refused_as_in_torch():
    with pytest.raises(RuntimeError, match="For integral input tensors, argument alpha must not be a floating"):
        lazygrad.tensor([1, 2]).add(lazygrad.tensor([3, 4]), alpha=0.5)
    assert lazygrad.tensor([1, 2]).add(lazygrad.tensor([3, 4]), alpha=3).tolist() == [10, 14]


# op name -> (lazygrad or torch module, a, b, c) -> result; each is one of torch's fused kernels
FUSED = {
    "add_alpha": lambda T, a, b, c: a.add(b, alpha=-0.37),
    "sub_alpha": lambda T, a, b, c: a.sub(b, alpha=1e-3),
    "add_alpha_inplace": lambda T, a, b, c: a.clone().add_(b, alpha=0.01),
    "addcmul": lambda T, a, b, c: a.addcmul(b, c, value=0.3),
    "addcmul_one": lambda T, a, b, c: T.addcmul(a, b, c),
    "addcdiv": lambda T, a, b, c: a.addcdiv(b, c.abs() + 0.5, value=-0.7),
    "lerp_small_weight": lambda T, a, b, c: a.lerp(b, 0.1),
    "lerp_large_weight": lambda T, a, b, c: a.lerp(b, 0.9),
    "lerp_tensor_weight": lambda T, a, b, c: a.lerp(b, c),
}


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", list(FUSED))
def test_fused_ops_round_as_torch(name, dtype, backend):
    """Bit for bit; 16-bit floats compute in float32 with torch's choice of rounded numbers. 256 values, so that
    torch's vector loop covers them all (its scalar tail rounds a 16-bit alpha otherwise)."""
    a, b, c = np.random.default_rng(7).standard_normal((3, 256)).astype(np.float32)
    fn = FUSED[name]

    def run(T):
        t = [T.tensor(x).to(getattr(T, dtype)) for x in (a, b, c)]
        return fn(T, *t).to(T.float32).numpy()

    if backend == "jax" and dtype in ("float16", "bfloat16"):  # XLA keeps 16-bit intermediates in float32
        unit = 2.0**-7 if dtype == "bfloat16" else 2.0**-10  # one unit in the last place near 1
        np.testing.assert_allclose(run(lazygrad), run(torch), rtol=unit, atol=unit)
        return
    np.testing.assert_array_equal(run(lazygrad).view(np.uint32), run(torch).view(np.uint32))


TRAPS = [  # (a, b, c) whose double sum is a midpoint: the normal-range trap above, and the subnormal one
    (-(1 + 2.0**-18), 2.0**-24 * (1 - 2.0**-18), 1 + 2.0**-23),
    (2.0**-75 * (1 + 2.0**-23), 2.0**-75 * (1 - 2.0**-23), 2.0**-127 + 2.0**-149),
]


@pytest.mark.backend_agnostic  # the numpy kernel itself
@pytest.mark.parametrize(("trap_a", "b", "trap_c"), TRAPS)
def test_an_update_larger_than_a_block_rounds_once_in_every_block(trap_a, b, trap_c):
    """A large weight's update works through its double sums a block at a time: a trap in any one block, and the
    special values, still round once, as the loop over a few floats rounds them."""
    from lazygrad import fma as fma_module

    rng = np.random.default_rng(0)
    size = 5 * (fma_module._BLOCK // 3)  # one and a half blocks, as a (rows, 5) weight
    number = np.asarray(np.float32(b))
    for at in (7, fma_module._BLOCK + 1, size - 1):
        a = rng.standard_normal(size).astype(np.float32)
        c = rng.standard_normal(size).astype(np.float32)
        a[at], c[at] = trap_a, trap_c
        got = fma(a.reshape(-1, 5), number, c.reshape(-1, 5)).reshape(-1)
        assert got[at] == _rounded_once(trap_a, b, trap_c, np.float32)
        assert got[at] != (np.float64(trap_a) * number + np.float64(trap_c)).astype(np.float32)
        twice = (a.astype(np.float64) * number + c).astype(np.float32)  # a second rounding matters only at a trap
        np.testing.assert_array_equal(np.delete(got, at), np.delete(twice, at))
    a = np.resize(SPECIAL, size)
    for c_value in SPECIAL:
        c = np.full(size, c_value, np.float32)
        few = np.resize(fma(SPECIAL, number, c[:len(SPECIAL)]), size)
        np.testing.assert_array_equal(_bits_or_nan(fma(a, number, c)), _bits_or_nan(few))
