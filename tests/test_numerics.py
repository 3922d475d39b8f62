"""Values as torch computes them, on every backend: conversions, tails, and gradients at the edges.

Each case records torch 2.13's own output (so it runs without torch) and, where torch is installed, also
compares with it live. Inputs are fixed and small, so a jax run compiles only a few programs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F
from tests.helpers import HAS_TORCH

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
NAN, INF = math.nan, math.inf


def ulps(actual: np.ndarray, expected: np.ndarray) -> int:
    """The largest distance in units in the last place between two float arrays of one dtype."""
    bits = {4: np.int32, 8: np.int64}[actual.dtype.itemsize]
    a, b = actual.view(bits).astype(object), expected.view(bits).astype(object)
    return max((abs(x - y) for x, y in zip(a.ravel(), b.ravel())), default=0)


def leaf(values: list, dtype: lazygrad.dtype = lazygrad.float32) -> lazygrad.Tensor:
    return lazygrad.tensor(values, dtype=dtype, requires_grad=True)


# ---- Python numbers convert exactly to the requested dtype -----------------------------------------------

EXACT = [0.1, 1e-50, 16777217.0]  # 0.1 is not a float32, 1e-50 underflows float32, 2**24 + 1 needs 25 bits


@pytest.mark.parametrize("make", [
    lambda: lazygrad.tensor(EXACT, dtype=lazygrad.float64),
    lambda: lazygrad.as_tensor(EXACT, dtype=lazygrad.float64),
    lambda: lazygrad.zeros(1, dtype=lazygrad.float64).new_tensor(EXACT),
    lambda: lazygrad.stack([lazygrad.tensor(v, dtype=lazygrad.float64) for v in EXACT]),
    lambda: lazygrad.cat([lazygrad.full((1,), v, dtype=lazygrad.float64) for v in EXACT]),
], ids=["tensor", "as_tensor", "new_tensor", "scalar_tensor", "full"])
def test_python_floats_convert_straight_to_float64(make):
    assert make().tolist() == EXACT


def test_python_floats_default_to_float32_with_one_rounding():
    assert lazygrad.tensor(EXACT).tolist() == [float(np.float32(0.1)), 0.0, 16777216.0]


def test_float16_rounds_through_float32_like_torch_half():
    # Halfway between two float16s once float32 drops the 2**-40: torch's Half rounds the double through
    # float (to 1.0), a direct conversion would round up to 1.0009765625.
    value = 1 + 2**-11 + 2**-40
    half = lazygrad.float16
    got = [lazygrad.tensor([value], dtype=half).item(), lazygrad.full((1,), value, dtype=half).item(),
           (lazygrad.zeros(1, dtype=half) + value).item()]
    assert got == [1.0, 1.0, 1.0]


def test_big_python_ints_are_exact_in_int64_and_round_once_to_float64():
    big = [2**62 + 1, -(2**63), 2**63 - 1]
    assert lazygrad.tensor(big).tolist() == big
    assert lazygrad.tensor(big, dtype=lazygrad.int64).tolist() == big
    assert lazygrad.tensor([2**53 + 1, 2**64], dtype=lazygrad.float64).tolist() == [2.0**53, 2.0**64]


def test_int_beyond_int64_raises_torch_error():
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        lazygrad.tensor([2**63])


def test_float64_ranges_match_torch():
    assert lazygrad.arange(0, 1, 0.1, dtype=lazygrad.float64).tolist() == [
        0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001, 0.7000000000000001, 0.8, 0.9]
    assert lazygrad.linspace(0, 0.3, 7, dtype=lazygrad.float64).tolist() == [
        0.0, 0.049999999999999996, 0.09999999999999999, 0.15, 0.2, 0.25, 0.3]


def test_python_float_in_float64_arithmetic_is_exact():
    x = lazygrad.zeros(2, dtype=lazygrad.float64)
    assert (x + 0.1).tolist() == [0.1, 0.1]
    assert (0.1 - x).tolist() == [0.1, 0.1]
    assert ((x + 1) * 1e-50).tolist() == [1e-50, 1e-50]
    assert (lazygrad.zeros(2) + 0.1).tolist() == [float(np.float32(0.1))] * 2  # float32 takes float32(0.1)


@needs_torch
def test_conversions_match_torch_live():
    for data, dtype in ((EXACT, "float64"), (EXACT, "float16"), ([2**62 + 1, -3], "int64"), ([1.7, -1.7], "int64"),
                        ([0.5, 0.0], "bool")):
        ours = lazygrad.tensor(data, dtype=getattr(lazygrad, dtype)).tolist()
        assert ours == torch.tensor(data, dtype=getattr(torch, dtype)).tolist(), (data, dtype)


# ---- sigmoid and logsigmoid in the tails -------------------------------------------------------------------

SIGMOID_X = [-100.0, -87.0, -20.0, -16.0, 0.0, 16.0, 17.0]
# torch 2.13, float32: 1 / (1 + exp(-x)) keeps full relative precision down to -87 and is 0 once exp overflows.
SIGMOID_TORCH = [0.0, 1.6458114537543937e-38, 2.06115369216775e-09, 1.1253515452835927e-07, 0.5,
                 0.9999998807907104, 1.0]


def test_sigmoid_tails_match_torch():
    got = lazygrad.tensor(SIGMOID_X).sigmoid().numpy()
    assert ulps(got, np.array(SIGMOID_TORCH, np.float32)) <= 2


def test_log_of_sigmoid_keeps_the_lower_tail():
    assert lazygrad.tensor(-20.0).sigmoid().log().item() == -20.0


def test_sigmoid_has_full_relative_precision_where_the_result_is_normal():
    # Below -87.3 the result is subnormal; jax's CPU runtime flushes those to 0, torch keeps them.
    x = np.linspace(-87, 100, 1001).astype(np.float32)
    exact = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    assert ulps(lazygrad.tensor(x).sigmoid().numpy(), exact) <= 3


def test_float16_sigmoid_runs_in_float32_like_torch():
    x = lazygrad.tensor([-17.0, -12.0, -5.0, -0.1, 3.0], dtype=lazygrad.float16)
    assert x.sigmoid().tolist() == [5.960464477539063e-08, 6.139278411865234e-06, 0.00669097900390625,
                                    0.47509765625, 0.95263671875]


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_matches_torch_to_ulps(dtype):
    x = np.linspace(-87, 100, 2001).astype(dtype)
    ours = lazygrad.tensor(x).sigmoid().numpy()
    assert ulps(ours, torch.tensor(x).sigmoid().numpy()) <= 4


def test_logsigmoid_values_and_gradient_match_torch():
    x = leaf([-100.0, -20.0, 0.0, 20.0, 80.0])
    y = nn.LogSigmoid()(x)
    y.sum().backward()
    torch_values = [-100.0, -20.0, -0.6931471824645996, -2.06115369216775e-09, -1.8048513285848406e-35]
    assert ulps(y.detach().numpy(), np.array(torch_values, np.float32)) <= 2
    assert x.grad.tolist()[1:4] == pytest.approx([1.0, 0.5, 2.06115369216775e-09], rel=1e-6)
    assert x.grad.tolist()[0] == 1.0
    assert repr(nn.LogSigmoid()) == "LogSigmoid()"


@needs_torch
def test_logsigmoid_matches_torch_to_ulps():
    x = np.linspace(-80, 80, 801).astype(np.float32)
    ours, theirs = leaf(x.tolist()), torch.tensor(x, requires_grad=True)
    F.logsigmoid(ours).sum().backward()
    torch.nn.functional.logsigmoid(theirs).sum().backward()
    assert ulps(F.logsigmoid(ours).detach().numpy(), torch.nn.functional.logsigmoid(theirs).detach().numpy()) <= 2
    assert ulps(ours.grad.numpy(), theirs.grad.numpy()) <= 4


# ---- tanh's gradient rounds 1 - y*y once, as torch's fused multiply-add does ------------------------------

TANH_X = np.linspace(-3, 3, 1001, dtype=np.float32)
TANH_G = np.linspace(0.5, 1.5, 1001, dtype=np.float32)


def _tanh_gradient(lib):
    x = lib.tensor(TANH_X, requires_grad=True)
    y = x.tanh()
    y.backward(lib.tensor(TANH_G))
    return y.detach(), x.grad


def _fused(y: np.ndarray) -> np.ndarray:
    """``g * (1 - y*y)`` with the inner part rounded once (a float32 square is exact in float64)."""
    wide = y.astype(np.float64)
    return TANH_G * (1 - wide * wide).astype(np.float32)


def test_tanh_gradient_rounds_one_minus_square_once(backend):
    y, grad = _tanh_gradient(lazygrad)
    assert np.array_equal(grad.numpy(), _fused(y.numpy()))
    if backend == "jax":  # XLA contracts the hand-written 1 - y * y into a fused multiply-add itself
        return
    # so a hand-written backward pass differs from autograd's somewhere, as it does on torch
    hand = (1.0 - y**2) * lazygrad.tensor(TANH_G)
    assert not np.array_equal(hand.numpy(), grad.numpy())


@needs_torch
def test_torch_tanh_gradient_rounds_one_minus_square_once():
    y, grad = _tanh_gradient(torch)
    assert np.array_equal(grad.numpy(), _fused(y.numpy()))


# ---- binary_cross_entropy at p = 0 and 1 ---------------------------------------------------------------

BCE_P = [0.0, 0.0, 0.0, 1e-13, 1e-6, 0.3, 1 - 1e-7, 1.0, 1.0, 1.0]
BCE_T = [0.0, 1.0, 0.5, 1.0, 1.0, 0.2, 0.0, 0.0, 1.0, 0.5]
# torch 2.13, float32, reduction="none": logs clamped at -100; the input's gradient (p - t) / max(p(1-p), 1e-12);
# the target's gradient -logit(p), unclamped.
BCE_LOSS = [0.0, 100.0, 50.0, 29.93360710144043, 13.815510749816895, 0.5261345505714417, 15.942384719848633,
            100.0, -0.0, 50.0]
BCE_GRAD_P = [0.0, -999999995904.0, -499999997952.0, -999999995904.0, -1000000.0, 0.4761905074119568,
              8388608.0, 999999995904.0, 0.0, 499999997952.0]
BCE_GRAD_T = [INF, INF, INF, 29.93360710144043, 13.815509796142578, 0.8472977876663208, -15.942384719848633,
              -INF, -INF, -INF]


def test_bce_value_and_gradients_at_the_edges_match_torch():
    p, t = leaf(BCE_P), leaf(BCE_T)
    loss = F.binary_cross_entropy(p, t, reduction="none")
    loss.sum().backward()
    assert loss.grad_fn.name() == "BinaryCrossEntropyBackward0"
    np.testing.assert_array_max_ulp(loss.detach().numpy(), np.float32(BCE_LOSS), maxulp=1)
    assert list(np.signbit(loss.detach().numpy())) == list(np.signbit(BCE_LOSS))
    np.testing.assert_array_max_ulp(p.grad.numpy(), np.float32(BCE_GRAD_P), maxulp=1)
    np.testing.assert_array_max_ulp(t.grad.numpy(), np.float32(BCE_GRAD_T), maxulp=1)


def test_bce_mean_with_weight_scales_the_gradient_like_torch():
    p = leaf([0.0, 0.3, 1.0])
    loss = F.binary_cross_entropy(p, lazygrad.tensor([1.0, 0.2, 0.0]), weight=lazygrad.tensor([2.0, 1.0, 3.0]))
    loss.backward()
    assert loss.item() == pytest.approx((200.0 + 0.5261345505714417 + 300.0) / 3, rel=1e-6)
    assert p.grad.tolist() == pytest.approx([-2 * 999999995904.0 / 3, 0.4761905074119568 / 3,
                                             3 * 999999995904.0 / 3], rel=1e-6)


def test_bce_weight_cannot_require_grad():
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.binary_cross_entropy(lazygrad.tensor([0.5]), lazygrad.tensor([1.0]), weight=leaf([1.0]))


@needs_torch
def test_bce_matches_torch_live_including_second_derivative():
    p_data, t_data = [0.0, 1e-13, 0.3, 0.9, 1.0], [1.0, 1.0, 0.2, 0.0, 0.5]
    grads = []
    for lib in (lazygrad, torch):
        p = lib.tensor(p_data, dtype=lib.float64, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy(p, lib.tensor(t_data, dtype=lib.float64))
        (g,) = lib.autograd.grad(loss, p, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), p)
        grads.append((loss.item(), g.detach().numpy(), h.numpy()))
    (loss, g, h), (t_loss, t_g, t_h) = grads
    assert loss == pytest.approx(t_loss, rel=1e-14)
    np.testing.assert_allclose(g, t_g, rtol=1e-14)
    # Here the second derivative is that of the backward formula; torch's double backward adds its 1e-12 to p
    # and 1 - p instead of clamping, so the two agree to ~1e-11 inside (0, 1) and are both finite at the ends.
    np.testing.assert_allclose(h[2:4], t_h[2:4], rtol=1e-9)
    assert np.isfinite(h).all() == np.isfinite(t_h).all()


# ---- gradients at zero: norms and atan2 -----------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, 1.5, -1, INF, -INF, "fro"])
def test_norm_gradient_at_the_zero_vector_is_zero(p):
    x = leaf([0.0, 0.0, 0.0])
    n = x.norm(p=p)
    n.backward()
    assert n.item() == 0.0
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_norm_gradient_skips_zero_elements_for_p_below_one():
    # torch 2.13: the zero element gets 0, the others the ordinary derivative.
    x = leaf([0.0, 3.0, -4.0])
    x.norm(p=0.5).backward()
    assert x.grad.tolist() == pytest.approx([0.0, 2.1547005, -1.8660254], rel=1e-6)
    y = leaf([0.0, 3.0, -4.0])
    y.norm(p=-1).backward()  # a zero element makes a negative-p norm 0, and its gradient 0 everywhere
    assert y.grad.tolist() == [0.0, 0.0, 0.0]


def test_norm_of_order_zero_and_minus_inf():
    x = leaf([[0.0, 3.0, -4.0], [0.0, 0.0, 2.0]])
    assert x.norm(p=0, dim=1).tolist() == [2.0, 1.0]
    assert x.norm(p=0).requires_grad
    assert x.norm(p=-INF, dim=1).tolist() == [0.0, 0.0]
    x.norm(p=-INF).backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


@needs_torch
@pytest.mark.parametrize("p", [1, 3, 0.5, 1.5, -1, INF, -INF])
def test_norm_gradients_match_torch_with_zero_rows(p):
    data = [[0.0, 0.0], [1.0, -2.0]]
    ours, theirs = leaf(data), torch.tensor(data, requires_grad=True)
    ours.norm(p=p, dim=1).sum().backward()
    theirs.norm(p=p, dim=1).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


# (y, x, atan2(y, x), d/dy, d/dx) from torch 2.13, the sign of each zero included. A list, not a dict: -0.0 and
# 0.0 are equal keys.
ATAN2 = [
    (0.0, 0.0, 0.0, 0.0, -0.0),
    (-0.0, 0.0, -0.0, 0.0, 0.0),
    (0.0, -0.0, math.pi, -0.0, -0.0),
    (0.0, 1.0, 0.0, 1.0, -0.0),
    (1.0, 0.0, math.pi / 2, 0.0, -1.0),
]


def test_atan2_gradient_at_the_origin_is_zero_like_torch():
    y, x, values, grad_y, grad_x = (np.float32(column) for column in zip(*ATAN2))
    y, x = leaf(y.tolist()), leaf(x.tolist())
    z = lazygrad.atan2(y, x)
    z.sum().backward()
    for got, want in ((z.detach().numpy(), values), (y.grad.numpy(), grad_y), (x.grad.numpy(), grad_x)):
        assert got.tolist() == want.tolist()
        assert np.signbit(got).tolist() == np.signbit(want).tolist()


def test_atan2_second_derivative_at_the_origin_is_finite():
    y, x = leaf([0.0]), leaf([0.0])
    (gy,) = lazygrad.autograd.grad(lazygrad.atan2(y, x).sum(), y, create_graph=True)
    (hx,) = lazygrad.autograd.grad(gy.sum(), x)
    assert hx.tolist() == [0.0]


# ---- sign of NaN, and gradients of extrema over NaN -------------------------------------------------------


def test_sign_of_nan_is_zero_and_zeros_are_positive_like_torch():
    x = lazygrad.tensor([NAN, -NAN, -0.0, 0.0, INF, -INF, -2.0, 3.0])
    for dtype in (lazygrad.float32, lazygrad.float64):
        s = x.to(dtype).sign().numpy()
        assert s.tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, -1.0, -1.0, 1.0]
        assert not np.signbit(s[:4]).any()
    assert lazygrad.tensor([-3, 0, 2]).sign().tolist() == [-1, 0, 1]


def test_abs_gradient_at_nan_is_zero_like_torch():
    x = leaf([NAN, 0.0, -2.0])
    x.abs().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, -1.0]


MAX_DATA = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, 5.0, 0.0]]


def _extremum(fn):
    x = leaf(MAX_DATA)
    out = fn(x)
    values = out[0] if isinstance(out, tuple) else out
    values.sum().backward()
    indices = out[1].tolist() if isinstance(out, tuple) else None
    return values.detach().numpy().tolist(), indices, x.grad.tolist()


def _same(a, b):
    return np.array_equal(np.array(a, dtype=float), np.array(b, dtype=float), equal_nan=True)


# torch 2.13: a NaN extremum sends the gradient to the NaN elements, shared evenly, as ties share it; amax/amin
# instead give the whole NaN row a NaN gradient, as torch's do.
EXTREMA = {
    "max": (lambda x: x.max(), NAN, [[0, 0.5, 0, 0.5], [0, 0, 0, 0]]),
    "min": (lambda x: x.min(), NAN, [[0, 0.5, 0, 0.5], [0, 0, 0, 0]]),
    "max_dim": (lambda x: x.max(1), [NAN, 5.0], [[0, 1, 0, 0], [0, 1, 0, 0]]),
    "min_dim": (lambda x: x.min(1), [NAN, 0.0], [[0, 1, 0, 0], [0, 0, 0, 1]]),
    "amax_dim": (lambda x: x.amax(1), [NAN, 5.0], [[NAN] * 4, [0, 0.5, 0.5, 0]]),
    "amin_dim": (lambda x: x.amin(1), [NAN, 0.0], [[NAN] * 4, [0, 0, 0, 1]]),
}


@pytest.mark.parametrize("case", sorted(EXTREMA))
def test_extremum_with_nan_gradient_goes_to_the_nan_elements(case):
    fn, want_values, want_grad = EXTREMA[case]
    values, indices, grad = _extremum(fn)
    assert _same(values, want_values)
    assert _same(grad, want_grad)
    if indices is not None:  # the first NaN is the extremum, like torch
        assert indices == ([1, 1] if case == "max_dim" else [1, 3])


@needs_torch
@pytest.mark.parametrize("case", sorted(EXTREMA))
def test_extremum_with_nan_matches_torch_live(case):
    fn = EXTREMA[case][0]
    x = torch.tensor(MAX_DATA, requires_grad=True)
    out = fn(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    values, _, grad = _extremum(fn)
    assert _same(values, (out[0] if isinstance(out, tuple) else out).detach().numpy().tolist())
    assert _same(grad, x.grad.tolist())
