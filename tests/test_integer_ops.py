"""gcd, lcm, the bit shifts (named and as ``<<``/``>>``), ldexp, frexp and nextafter: values and dtypes against torch
(exact for integers and for the float-layout functions), gradients against finite differences and torch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch, check_op

import lazygrad

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle of these values")
RNG = np.random.default_rng(5)
INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")


def _ints(dtype: str, size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    low = 0 if dtype == "uint8" else -100
    return RNG.integers(low, 100, size).astype(dtype), RNG.integers(low, 100, size).astype(dtype)


def _same(ours, theirs) -> None:
    """Same dtype (as torch names it) and the same values, NaN where torch has NaN."""
    assert str(ours.dtype).removeprefix("torch.") == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


@needs_torch
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_gcd_and_lcm_match_torch(dtype):
    """Signs, zeros, and lcm wrapping where its product overflows the dtype, as torch's C arithmetic does."""
    import torch

    a, b = _ints(dtype)
    a[:2], b[:2] = 0, (0, 6) if dtype == "uint8" else (0, -6)
    for name in ("gcd", "lcm"):
        _same(getattr(lazygrad, name)(lazygrad.tensor(a), lazygrad.tensor(b)),
              getattr(torch, name)(torch.tensor(a), torch.tensor(b)))


@needs_torch
def test_gcd_of_large_int64_and_mixed_dtypes():
    import torch

    a, b = np.array([2**62, 3 * 2**40, 832040, -7]), np.array([2**61, 2**50, 514229, 0])  # Fibonacci: slowest
    _same(lazygrad.gcd(lazygrad.tensor(a), lazygrad.tensor(b)), torch.gcd(torch.tensor(a), torch.tensor(b)))
    small = np.array([4, 6], dtype=np.int8)
    _same(lazygrad.tensor(small).lcm(lazygrad.tensor([6, 9])), torch.tensor(small).lcm(torch.tensor([6, 9])))


@needs_torch
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_shifts_match_torch_for_every_count(dtype):
    """Counts past the width or negative give 0 (left) or the sign (right), as torch's; bits shifted out wrap."""
    import torch

    a, _ = _ints(dtype, 40)
    counts = RNG.integers(-2, 70, 40)
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        _same(getattr(lazygrad, name)(lazygrad.tensor(a), lazygrad.tensor(counts)),
              getattr(torch, name)(torch.tensor(a), torch.tensor(counts)))
        same_dtype = np.abs(counts).astype(dtype)
        _same(getattr(lazygrad.tensor(a), name)(lazygrad.tensor(same_dtype)),
              getattr(torch.tensor(a), name)(torch.tensor(same_dtype)))


@needs_torch
def test_shift_operators_agree_with_the_named_forms():
    import torch

    for T in (lazygrad, torch):
        x = T.tensor([5, -5, 1])
        y = x.clone()
        y <<= 2
        z = x.clone()
        z.bitwise_right_shift_(1)
        results = (x << 3, x >> 1, 2 << x.abs(), 64 >> x.abs(), y, z, T.bitwise_left_shift(3, T.tensor([1, 2])))
        if T is lazygrad:
            ours = results
        else:
            for mine, theirs in zip(ours, results):
                _same(mine, theirs)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name, kernel", [("gcd", "gcd"), ("lcm", "lcm"), ("bitwise_left_shift", "lshift"),
                                          ("bitwise_right_shift", "rshift")])
def test_integer_ops_refuse_floats_and_bools(name, kernel):
    for dtype, torch_name in ((lazygrad.float32, "Float"), (lazygrad.bool, "Bool")):
        x = lazygrad.ones(2, dtype=dtype)
        with pytest.raises(NotImplementedError, match=f'"{kernel}_cpu" not implemented for \'{torch_name}\''):
            getattr(lazygrad, name)(x, x)


def test_ldexp_values_gradients_and_dtype():
    x = np.array([[0.5, -1.25, 3.0], [2.0, -0.75, 1.5]])
    e = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]])
    check_op(lambda T, a, b: T.ldexp(a, b), lambda m, a, b: a * 2.0 ** b, x, e)
    # (torch's gradient for a negative integer exponent is 0: its backward takes 2**other in integers)
    check_op(lambda T, a, b: a.ldexp(b), lambda m, a, b: a * 2.0 ** b, x.astype(np.float32), np.array([1, 2, 3]))
    check_op(lambda T, a, b: T.ldexp(a, b), lambda m, a, b: (a * 2.0 ** b).astype(np.float32), np.array([1, 2]),
             np.array([3, -1]))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_frexp_and_nextafter_are_exact(dtype):
    """Zeros, infinities, NaN, subnormals, powers of two, the largest float: bit for bit as torch's. (XLA's CPU
    code flushes subnormal numbers to zero, so the jax backend is asked about normal numbers only.)"""
    import torch

    info = np.finfo(dtype)
    subnormal = info.smallest_subnormal if lazygrad.get_backend() == "numpy" else info.tiny
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, subnormal, 3 * subnormal, info.tiny, -info.tiny, 1.0, 0.5,
                  -3.0, 0.1, 7.0, info.max, -info.max, 1e-40 if lazygrad.get_backend() == "numpy" else 1e-30],
                 dtype=dtype)
    mantissa, exponent = lazygrad.frexp(lazygrad.tensor(x))
    theirs = torch.frexp(torch.tensor(x))
    _same(mantissa, theirs.mantissa)
    _same(exponent, theirs.exponent)
    toward = np.array([1, -1, 0, 0, 1, 0, -1, 0, 0, 2, 0, -np.inf, 1, 7, np.inf, 0, -1], dtype=dtype)
    ours = lazygrad.nextafter(lazygrad.tensor(x), lazygrad.tensor(toward))
    theirs = torch.nextafter(torch.tensor(x), torch.tensor(toward)).numpy()
    if lazygrad.get_backend() != "numpy":  # subnormal results, and float64 steps that are subnormal themselves
        normal = ~((np.abs(theirs) < info.tiny) & (theirs != 0)) & ((dtype == "float32") | (np.abs(x) > 1e-290))
        ours, theirs = ours.numpy()[normal], theirs[normal]
    _same(ours, torch.tensor(theirs))


@pytest.mark.backend_agnostic
def test_frexp_returns_torchs_named_tuple_and_refuses_integers():
    result = lazygrad.tensor([1.0, 3.0]).frexp()
    assert type(result).__name__ == "frexp" and result.exponent.dtype is lazygrad.int32
    assert repr(result).startswith("torch.return_types.frexp(\nmantissa=tensor([0.5000, 0.7500]),")
    with pytest.raises(RuntimeError, match=r"torch.frexp\(\) only supports floating-point dtypes"):
        lazygrad.frexp(lazygrad.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"nextafter_cpu\" not implemented for 'Long'"):
        lazygrad.nextafter(lazygrad.tensor([1]), lazygrad.tensor([2]))


@needs_torch
def test_frexp_and_nextafter_gradients_match_torch():
    """frexp's mantissa has slope 2**-exponent; nextafter passes the gradient to its first input only."""
    x = np.array([0.3, -5.0, 12.5])
    check_like_torch(lambda T, a: T.frexp(a).mantissa, x)
    check_like_torch(lambda T, a, b: T.nextafter(a, b), x, np.array([1.0, -6.0, 0.0]))


@needs_torch
def test_in_place_forms_write_their_tensor():
    import torch

    for T in (lazygrad, torch):
        a, f = T.tensor([12, 18, -8], dtype=T.int16), T.tensor([1.0, 2.0])
        a.gcd_(T.tensor([8, 12, 6], dtype=T.int16))
        b = a.clone()
        b.lcm_(T.tensor([3, 4, 5], dtype=T.int16))
        f.ldexp_(T.tensor([1.0, -1.0]))
        g = f.clone()
        g.nextafter_(T.tensor([10.0, -10.0]))
        if T is lazygrad:
            ours = (a, b, f, g)
        else:
            for mine, theirs in zip(ours, (a, b, f, g)):
                _same(mine, theirs)
