"""Special functions (erfc, erfinv, lgamma, digamma) and the small elementwise functions beside them: values
against numpy (or torch where numpy has none), dtypes, gradients and ``grad_fn`` names against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH, check_op, torch_oracle

import lazygrad

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle of these values")
RNG = np.random.default_rng(11)
X = np.array([[-2.7, -0.8, -0.2, 0.3], [0.6, 1.2, 2.5, 4.1]])
Y = np.array([[0.4, -1.5, 2.0, 0.15], [3.3, -0.7, 0.9, 1.8]])
P = np.array([0.01, 0.2, 0.5, 0.77, 0.999])  # probabilities: logit, erfinv
GAMMA_ARGS = np.array([-7.4, -2.5, -0.3, 1e-3, 0.5, 1.0, 1.4616, 2.0, 3.7, 12.5, 170.2])


def _values(name):
    """The special function's values on its edge cases, against torch's."""
    import torch

    edges = {"erfc": [-np.inf, -30.0, 0.0, 5.5, 12.0, 30.0, np.inf, np.nan],
             "erfinv": [-1.0, 1.0, 1.5, -2.0, 0.0, 1 - 1e-7, np.nan],
             "lgamma": [0.0, -0.0, -1.0, -4.0, np.inf, -np.inf, 1e-30, 1e30, np.nan],
             "digamma": [0.0, -0.0, -1.0, -4.0, np.inf, -np.inf, 1e-30, 1e30, np.nan]}[name]
    for dtype in ("float32", "float64"):
        x = np.array(edges, dtype=dtype)
        ours = getattr(lazygrad, name)(lazygrad.tensor(x)).numpy()
        theirs = getattr(torch, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == "float32" else 1e-9, equal_nan=True)


@needs_torch
@pytest.mark.parametrize("name", ["erfc", "erfinv", "lgamma", "digamma"])
def test_special_functions_match_torch(name):
    inputs = {"erfc": np.concatenate([X.ravel(), [-5.0, 3.5, 7.0]]), "erfinv": np.concatenate([P, -P]),
              "lgamma": GAMMA_ARGS, "digamma": GAMMA_ARGS}[name]
    fn = lambda T, x: getattr(T, name)(x)  # noqa: E731
    check_op(fn, torch_oracle(fn), inputs, jax_oracle=False, rtol=1e-12 if name != "erfc" else 1e-11)
    check_op(fn, torch_oracle(fn), inputs.astype(np.float32), jax_oracle=False, rtol=1e-5)
    check_op(lambda T, x: getattr(x, name)(), torch_oracle(fn), np.array([1, 2, 3]), jax_oracle=False)
    _values(name)


@needs_torch
@pytest.mark.parametrize("name", ["lgamma", "erfc", "erfinv"])
def test_float32_special_functions_round_as_torchs(name):
    """In float32 torch's lgamma, erfc and erfinv are correctly rounded (lgamma(4) is log 6 to the last bit, which
    a Binomial's or a Gamma's log_prob shows): computed in float64, ours round the same, within one unit in the
    last place, also next to lgamma's zeros at 1 and 2, where a float32 series loses thousands (next to the negative
    zeros torch's float32 lgamma is the one that loses digits)."""
    import torch

    x = (np.linspace(-0.999, 0.999, 101) if name == "erfinv" else np.concatenate(
        [np.linspace(-4.9, 8.0, 150), [1e-3, 0.99, 1.01, 1.99, 2.01, -2.6, 3.0, 4.0, 11.0, 30.0]])).astype(np.float32)
    ours = getattr(lazygrad, name)(lazygrad.tensor(x)).numpy().astype(np.float64)
    theirs = getattr(torch, name)(torch.tensor(x)).numpy().astype(np.float64)
    assert np.all(np.abs(ours - theirs) <= np.spacing(np.abs(theirs).astype(np.float32))), name


@needs_torch
def test_special_functions_in_place_and_half_precision():
    import torch

    x = lazygrad.tensor([0.3, 1.7], dtype=lazygrad.float16)
    assert x.lgamma_() is x and x.dtype is lazygrad.float16
    expected = torch.tensor([0.3, 1.7], dtype=torch.float16).lgamma()
    np.testing.assert_allclose(x.float().numpy(), expected.float().numpy())


def test_logit_xlogy_frac_sgn_match_numpy():
    check_op(lambda T, p: T.logit(p), lambda m, p: m.log(p / (1 - p)), P)
    check_op(lambda T, p: p.logit(eps=0.1), lambda m, p: m.log(m.clip(p, 0.1, 0.9) / (1 - m.clip(p, 0.1, 0.9))),
             P)
    check_op(lambda T, x, y: T.xlogy(x, y), lambda m, x, y: x * m.log(y), X, np.abs(Y) + 0.5)
    check_op(lambda T, y: T.xlogy(2, y), lambda m, y: 2 * m.log(y), np.abs(Y) + 0.5)
    check_op(lambda T, x: x.xlogy(3.0), lambda m, x: x * math.log(3.0), X)
    check_op(lambda T, x: T.frac(x), lambda m, x: x - m.trunc(x), X * 1.5)
    check_op(lambda T, x: T.sgn(x), lambda m, x: m.sign(x), X, grad=False)  # torch's gradient is a ZeroTensor
    assert lazygrad.tensor(X, requires_grad=True).sgn().grad_fn.name() == "SgnBackward0"


def test_xlogy_is_zero_where_x_is_zero_unless_y_is_nan():
    out = lazygrad.xlogy(lazygrad.tensor([0.0, 0.0, 1.0, 0.0]), lazygrad.tensor([0.0, math.nan, 0.0, -1.0]))
    np.testing.assert_array_equal(out.numpy(), [0.0, math.nan, -math.inf, 0.0])


def test_xlogy_slope_at_zero_x_is_log_y():
    x = lazygrad.zeros(3, requires_grad=True)
    lazygrad.xlogy(x, lazygrad.tensor([0.5, 2.0, 0.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [math.log(0.5), math.log(2.0), 0.0])


def test_signbit_copysign_and_their_signed_zeros():
    z = np.array([-0.0, 0.0, -1.5, 2.0, -np.inf])
    check_op(lambda T, x: T.signbit(x), lambda m, x: m.signbit(x), z)
    check_op(lambda T, x, y: T.copysign(x, y), lambda m, x, y: m.copysign(x, y), X, Y)
    check_op(lambda T, x: x.copysign(-0.0), lambda m, x: m.copysign(x, -0.0), X)
    check_op(lambda T, x: T.copysign(x, -1), lambda m, x: m.copysign(x, -1.0), np.array([1, -2, 3]))


def test_logaddexp_and_logaddexp2_match_numpy():
    check_op(lambda T, x, y: T.logaddexp(x, y), lambda m, x, y: m.logaddexp(x, y), X * 10, Y)
    check_op(lambda T, x, y: x.logaddexp2(y), lambda m, x, y: m.logaddexp2(x, y), X, Y * 30)
    inf = np.array([np.inf, -np.inf, 1.0])
    check_op(lambda T, x: T.logaddexp(x, x), lambda m, x: m.logaddexp(x, x), inf, grad=False)
    check_op(lambda T, x: T.logaddexp2(x, x), lambda m, x: m.logaddexp2(x, x), inf, grad=False)


def test_angles_sinc_and_heaviside_match_numpy():
    check_op(lambda T, x: T.deg2rad(x), lambda m, x: m.deg2rad(x), X * 90)
    check_op(lambda T, x: x.rad2deg(), lambda m, x: m.rad2deg(x), X)
    check_op(lambda T, x: T.deg2rad(x), lambda m, x: m.deg2rad(x.astype(np.float32)), np.array([90, 180]))
    check_op(lambda T, x: T.sinc(x), lambda m, x: m.sinc(x), np.concatenate([X.ravel(), [0.0]]))
    check_op(lambda T, x, v: T.heaviside(x, v), lambda m, x, v: m.heaviside(x, v), np.array([-1.5, 0.0, 2.0]),
             np.array([0.5, 0.25, 0.5]), grad=False)
    with pytest.raises(RuntimeError, match=r"^heaviside is not yet implemented for tensors with different dtypes\.$"):
        lazygrad.heaviside(lazygrad.tensor([1.0]), lazygrad.tensor([1]))


def test_float_power_computes_in_double():
    check_op(lambda T, x: T.float_power(x, 2), lambda m, x: x.astype(np.float64) ** 2, X.astype(np.float32))
    check_op(lambda T, x, y: x.float_power(y), lambda m, x, y: m.abs(x) ** y, np.abs(X) + 0.1, Y)
    check_op(lambda T, y: T.float_power(2, y), lambda m, y: 2.0 ** y, Y)
    check_op(lambda T, x: T.float_power(x, 3), lambda m, x: x.astype(np.float64) ** 3, np.array([1, 2]))


def test_fmax_and_fmin_ignore_one_nan():
    a = np.array([1.0, np.nan, 3.0, np.nan, -0.5])
    b = np.array([2.0, 1.0, np.nan, np.nan, -1.5])
    check_op(lambda T, x, y: T.fmax(x, y), lambda m, x, y: m.fmax(x, y), a, b, grad=False)
    check_op(lambda T, x, y: x.fmin(y), lambda m, x, y: m.fmin(x, y), a, b, grad=False)
    check_op(lambda T, x, y: T.fmax(x, y), lambda m, x, y: m.fmax(x, y), X, Y)
    check_op(lambda T, x, y: T.fmin(x, y), lambda m, x, y: m.fmin(x, y), np.array([1, 5]), np.array([3, 2]))
