"""i0, polygamma and mvlgamma: values against scipy and torch (float32 and float64, at the series' seams and
poles), integer inputs, gradients against finite differences and torch, grad_fn names, in-place forms."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch, check_op, torch_oracle

import lazygrad

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle of these values")
special = pytest.importorskip("scipy.special")

# Both sides of i0's switch from its power series to its asymptotic expansion at 30, and past float32's overflow.
I0_ARGS = np.array([-40.0, -5.0, -0.5, 0.0, 1e-3, 0.7, 3.0, 12.0, 29.9, 30.0, 30.1, 50.0, 88.0, 200.0, 700.0])
# Negative non-integers (the direct sum covers them), the pole's neighbourhood, and large arguments.
POLYGAMMA_ARGS = np.array([-19.5, -7.5, -2.3, -0.5, 1e-3, 0.3, 1.0, 2.5, 10.0, 100.0])


def test_i0_matches_scipy_in_float64():
    ours = lazygrad.i0(lazygrad.tensor(I0_ARGS)).numpy()
    np.testing.assert_allclose(ours, special.i0(I0_ARGS), rtol=1e-14)


@needs_torch
def test_i0_overflows_where_torchs_does():
    """torch's e^x overflows in the input's dtype: float32 i0 is inf from 88.73 on, float64 from 709.79."""
    import torch

    for dtype, x in (("float32", [88.5, 88.8, 100.0]), ("float64", [709.0, 710.0, -800.0])):
        x = np.array(x, dtype=dtype)
        np.testing.assert_allclose(lazygrad.i0(lazygrad.tensor(x)).numpy(), torch.i0(torch.tensor(x)).numpy(),
                                   rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("n", [0, 1, 2, 3, 6])
def test_polygamma_matches_scipy_and_torch(n):
    want = special.polygamma(n, POLYGAMMA_ARGS)
    ours = lazygrad.polygamma(n, lazygrad.tensor(POLYGAMMA_ARGS)).numpy()
    np.testing.assert_allclose(ours, want, rtol=1e-12)
    # float32 computes in float64 and rounds once (torch's float32 kernel loses digits), so scipy is the oracle;
    # the gradients are compared in float64 with finite differences and torch's
    # (higher orders on a narrower range: finite differences of a sum of values 1e7 apart would be noise)
    x = np.array([-2.3, 0.3, 1.0, 2.5, 10.0, 100.0] if n < 3 else [1.0, 1.5, 2.5, 4.0], dtype=np.float32)
    check_op(lambda T, x: T.polygamma(n, x), lambda m, x: special.polygamma(n, x).astype(x.dtype), x,
             jax_oracle=False, rtol=1e-6)


@needs_torch
def test_polygamma_poles_and_integer_inputs():
    import torch

    poles = np.array([0.0, -1.0, -3.0])  # (torch's trigamma is finite at the negative poles: its own rounding)
    for n in (2, 3):
        np.testing.assert_array_equal(lazygrad.polygamma(n, lazygrad.tensor(poles)).numpy(),
                                      torch.polygamma(n, torch.tensor(poles)).numpy())
    ours = lazygrad.tensor([1, 2, 3]).polygamma(2)
    assert ours.dtype is lazygrad.float32
    np.testing.assert_allclose(ours.numpy(), torch.tensor([1, 2, 3]).polygamma(2).numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match=r"polygamma\(n, x\) does not support negative n."):
        lazygrad.polygamma(-1, lazygrad.ones(2))


@needs_torch
def test_gradients_and_grad_fn_names_match_torch():
    """i0's slope is i1, polygamma's the next polygamma, mvlgamma's a sum of digammas."""
    for x in (np.array([-3.0, 0.4, 2.5]), np.array([31.0, 35.0])):  # each side of the series' switch
        check_op(lambda T, x: T.i0(x), torch_oracle(lambda T, x: T.i0(x)), x, jax_oracle=False)
    for n in (1, 3):  # (n = 0 is digamma's own gradient)
        check_like_torch(lambda T, x, n=n: x.polygamma(n), np.array([-2.5, 0.3, 1.7, 6.0]), rtol=1e-9)
    check_like_torch(lambda T, x: T.mvlgamma(x, 3), np.array([1.2, 2.5, 7.0]), rtol=1e-9)


@needs_torch
def test_in_place_forms():
    import torch

    for T in (lazygrad, torch):
        a, b, c = T.tensor([0.5, 2.0]), T.tensor([0.5, 2.0]), T.tensor([2.5, 4.0])
        a.i0_()
        b.polygamma_(1)
        c.mvlgamma_(2)
        if T is lazygrad:
            ours = (a, b, c)
        else:
            for mine, theirs in zip(ours, (a, b, c)):
                np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6)
