"""Activations, normalization, transposed convolution, resampling, pooling and losses against torch.

Every case runs the same function on lazygrad and torch with identical inputs, in float32 and float64,
and compares values, gradients and the ``grad_fn`` name. Without torch, each case is still checked by
a directional finite difference of its gradient, and the hand-computed values below pin what torch's
definitions give. Shapes are few and small: each new structure is a new program (a compile on jax).
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 4, 5))
X4 = RNG.standard_normal((2, 4, 3, 4))
T3 = RNG.standard_normal((2, 4, 5))
W4 = RNG.standard_normal(4)
PROBS = np.exp(T3) / np.exp(T3).sum(1, keepdims=True)
LOG_PROBS = np.log(np.exp(X) / np.exp(X).sum(1, keepdims=True))
BITS = (RNG.random((2, 4, 5)) > 0.5).astype(np.float64)


class Const:
    """An input that takes no gradient (class weights, targets torch cannot differentiate)."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value


def fn_of(T):
    return T.nn.functional


# Each case: fn(T, *tensors) written once against the torch API, and its inputs.
CASES = {
    "softplus": (lambda T, x: fn_of(T).softplus(x * 3, 2.0, 3.0), [X]),
    "elu": (lambda T, x: fn_of(T).elu(x, 0.7), [X]),
    "selu": (lambda T, x: fn_of(T).selu(x), [X]),
    "mish": (lambda T, x: fn_of(T).mish(x * 4), [X]),
    "hardtanh": (lambda T, x: fn_of(T).hardtanh(x, -0.5, 0.8), [X]),
    "prelu_channels": (lambda T, x, w: fn_of(T).prelu(x, w), [X, W4]),
    "prelu_shared": (lambda T, x, w: fn_of(T).prelu(x, w), [X, W4[:1]]),
    "group_norm": (lambda T, x, w, b: fn_of(T).group_norm(x, 2, w, b, 1e-3), [X4, W4, W4 + 1]),
    "conv_transpose1d": (lambda T, x, w, b: fn_of(T).conv_transpose1d(x, w, b, 3, 2, 1, 2, 2),
                         [X, RNG.standard_normal((4, 3, 3)), RNG.standard_normal(6)]),
    "conv_transpose2d": (lambda T, x, w: fn_of(T).conv_transpose2d(x, w, None, (2, 1), (1, 0), (1, 0), 1, (1, 2)),
                         [X4, RNG.standard_normal((4, 3, 3, 2))]),
    "nearest": (lambda T, x: fn_of(T).interpolate(x, size=(5, 7)), [X4]),
    "nearest_x2": (lambda T, x: fn_of(T).interpolate(x, scale_factor=2), [X4]),
    "nearest_exact": (lambda T, x: fn_of(T).interpolate(x, scale_factor=(1.5, 0.7), mode="nearest-exact"), [X4]),
    "bilinear": (lambda T, x: fn_of(T).interpolate(x, size=(5, 3), mode="bilinear"), [X4]),
    "bilinear_corners": (lambda T, x: fn_of(T).interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
                         [X4]),
    "linear": (lambda T, x: fn_of(T).interpolate(x, scale_factor=1.5, mode="linear"), [X]),
    "bicubic": (lambda T, x: fn_of(T).interpolate(x, size=(7, 3), mode="bicubic"), [X4]),
    "bicubic_corners": (lambda T, x: fn_of(T).interpolate(x, scale_factor=(1.5, 0.7), mode="bicubic",
                                                          align_corners=True), [X4]),
    "area": (lambda T, x: fn_of(T).interpolate(x, size=(2, 3), mode="area"), [X4]),
    "adaptive_avg_pool1d": (lambda T, x: fn_of(T).adaptive_avg_pool1d(x, 3), [X]),
    "adaptive_avg_pool2d": (lambda T, x: fn_of(T).adaptive_avg_pool2d(x, (2, None)), [X4]),
    "adaptive_avg_pool2d_global": (lambda T, x: fn_of(T).adaptive_avg_pool2d(x, 1), [X4]),
    "max_pool1d": (lambda T, x: fn_of(T).max_pool1d(x, 3, 2, 1), [X]),
    "avg_pool1d": (lambda T, x: fn_of(T).avg_pool1d(x, 3, 2, 1, count_include_pad=False), [X]),
    "smooth_l1_loss": (lambda T, x, t: fn_of(T).smooth_l1_loss(x, t, beta=0.5), [X, T3]),
    "huber_loss": (lambda T, x, t: fn_of(T).huber_loss(x, t, "none", 0.5), [X, T3]),
    "huber_loss_weighted": (lambda T, x, t, w: fn_of(T).huber_loss(x, t, delta=0.5, weight=w),
                            [X, T3, Const(np.abs(T3))]),
    "l1_loss_weighted": (lambda T, x, t, w: fn_of(T).l1_loss(x, t, weight=w), [X, T3, Const(np.abs(T3))]),
    "bce_with_logits": (lambda T, x, t, w, pw: fn_of(T).binary_cross_entropy_with_logits(
        x * 10, t, w, reduction="sum", pos_weight=pw), [X, Const(BITS), Const(np.abs(T3)), Const(np.abs(W4[:1]))]),
    "kl_div_batchmean": (lambda T, x, t: fn_of(T).kl_div(x, t, reduction="batchmean"), [LOG_PROBS, PROBS]),
    "kl_div_log_target": (lambda T, x, t: fn_of(T).kl_div(x, t, reduction="none", log_target=True),
                          [LOG_PROBS, np.log(PROBS)]),
    "normalize": (lambda T, x: fn_of(T).normalize(x, 3.0, 2), [X]),
    "cosine_similarity": (lambda T, x, y: fn_of(T).cosine_similarity(x, y[:1], -1), [X, T3]),
    "cross_entropy_smoothing": (
        lambda T, x, y, w: fn_of(T).cross_entropy(x, y, w, ignore_index=4, label_smoothing=0.3),
        [RNG.standard_normal((3, 5)), Const(np.array([1, 4, 2])), Const(RNG.random(5) + 0.5)]),
}


def _inputs(T, arrays, dtype, requires_grad=True):
    out = []
    for a in arrays:
        if isinstance(a, Const):
            value = a.value.astype(dtype) if a.value.dtype.kind == "f" else a.value
            out.append(T.tensor(value))
        else:
            out.append(T.tensor(a.astype(dtype), requires_grad=requires_grad))
    return out


def _cotangent(shape):
    return np.linspace(-1.0, 1.0, math.prod(shape)).reshape(shape)


def _run(T, fn, arrays, dtype):
    tensors = _inputs(T, arrays, dtype)
    out = fn(T, *tensors)
    out.backward(T.tensor(_cotangent(tuple(out.shape)).astype(dtype)))
    name = out.grad_fn.name() if T is lazygrad else type(out.grad_fn).__name__
    return out, name, [t.grad for t, a in zip(tensors, arrays) if not isinstance(a, Const)]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case, dtype):
    fn, arrays = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, our_name, our_grads = _run(lazygrad, fn, arrays, dtype)
        theirs, their_name, their_grads = _run(torch, fn, arrays, dtype)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    assert_close(ours, theirs)
    assert our_name == their_name
    for g, h in zip(our_grads, their_grads):
        assert_close(g, h, *((1e-4, 1e-4) if dtype is np.float32 else (1e-9, 1e-10)))


@pytest.mark.parametrize("case", CASES)
def test_gradient_matches_finite_differences(case):
    """The gradient along a random direction equals the central difference of the value (float64)."""
    fn, arrays = CASES[case]
    _, _, grads = _run(lazygrad, fn, arrays, np.float64)
    free = [i for i, a in enumerate(arrays) if not isinstance(a, Const)]
    directions = [RNG.standard_normal(arrays[i].shape) for i in free]
    predicted = sum(float((g.numpy() * v).sum()) for g, v in zip(grads, directions))
    h = 1e-6

    def value(sign):
        moved = list(arrays)
        for i, v in zip(free, directions):
            moved[i] = arrays[i] + sign * h * v
        with lazygrad.no_grad():
            out = fn(lazygrad, *_inputs(lazygrad, moved, np.float64, requires_grad=False))
        return float((out.numpy() * _cotangent(tuple(out.shape))).sum())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        numeric = (value(1) - value(-1)) / (2 * h)
    assert predicted == pytest.approx(numeric, rel=1e-5, abs=1e-6)


# ---- values by hand --------------------------------------------------------------------------------------


def values(t):
    return t.detach().numpy()


def test_activation_values():
    x = lazygrad.tensor([-2.0, -0.5, 0.0, 0.5, 30.0], dtype=lazygrad.float64)
    e = math.exp
    assert_close(F.softplus(x), [math.log1p(e(-2)), math.log1p(e(-0.5)), math.log(2), math.log1p(e(0.5)), 30.0])
    assert_close(F.elu(x, 2.0), [2 * (e(-2) - 1), 2 * (e(-0.5) - 1), 0.0, 0.5, 30.0])
    scale, alpha = 1.0507009873554805, 1.6732632423543772
    assert_close(F.selu(x), [scale * alpha * (e(-2) - 1), scale * alpha * (e(-0.5) - 1), 0.0, scale * 0.5,
                             scale * 30])
    assert_close(F.mish(x)[2:4], [0.0, 0.5 * math.tanh(math.log1p(e(0.5)))])
    assert_close(F.hardtanh(x), [-1.0, -0.5, 0.0, 0.5, 1.0])
    assert_close(F.prelu(x, lazygrad.tensor([0.25], dtype=lazygrad.float64)), [-0.5, -0.125, 0.0, 0.5, 30.0])


def test_hardtanh_gradient_is_zero_on_the_bounds():
    x = lazygrad.tensor([-1.0, -0.5, 1.0, 2.0], requires_grad=True)
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 0.0]


def test_softplus_of_huge_input_has_finite_gradient():
    x = lazygrad.tensor([1000.0, -1000.0], requires_grad=True)
    F.softplus(x).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0]


def test_group_norm_standardizes_each_group():
    out = values(F.group_norm(lazygrad.tensor(X4), 2, eps=0.0)).reshape(2, 2, -1)
    assert_close(out.mean(-1), np.zeros((2, 2)), atol=1e-12)
    assert_close(out.var(-1), np.ones((2, 2)))


def test_conv_transpose_scatters_the_kernel():
    """A single 1 in the input places one copy of the kernel at stride * position - padding."""
    x = np.zeros((1, 1, 3))
    x[0, 0, 1] = 1.0
    w = np.array([[[1.0, 2.0, 3.0]]])
    out = values(F.conv_transpose1d(lazygrad.tensor(x), lazygrad.tensor(w), stride=2, padding=1, output_padding=1))
    assert out.tolist() == [[[0.0, 1.0, 2.0, 3.0, 0.0, 0.0]]]


def test_interpolate_values():
    x = lazygrad.tensor([[[0.0, 1.0, 3.0]]], dtype=lazygrad.float64)
    assert values(F.interpolate(x, scale_factor=2)).tolist() == [[[0, 0, 1, 1, 3, 3]]]
    assert_close(F.interpolate(x, size=5, mode="linear", align_corners=True), [[[0.0, 0.5, 1.0, 2.0, 3.0]]])
    # align_corners=False: output j reads input (j + 0.5) * 3/4 - 0.5, clamped at 0.
    assert_close(F.interpolate(x, size=4, mode="linear"), [[[0.0, 0.625, 1.75, 3.0]]])


def test_adaptive_average_pool_uses_overlapping_bins():
    """Length 5 into 3 bins: [0, 2), [1, 4), [3, 5)."""
    x = lazygrad.tensor([[[1.0, 2.0, 4.0, 8.0, 16.0]]], dtype=lazygrad.float64)
    assert_close(F.adaptive_avg_pool1d(x, 3), [[[1.5, 14.0 / 3, 12.0]]])


def test_adaptive_average_pool_keeps_nan_in_its_bins():
    x = lazygrad.tensor([[[1.0, 2.0, math.nan, 8.0, 16.0, 32.0, 64.0]]])
    out = values(F.adaptive_avg_pool1d(x, 3))[0, 0]
    assert math.isnan(out[0]) and math.isnan(out[1]) and out[2] == pytest.approx(112 / 3)


def test_loss_values():
    x = lazygrad.tensor([0.0, 0.25, 3.0], dtype=lazygrad.float64)
    t = lazygrad.tensor([0.0, 0.0, 0.0], dtype=lazygrad.float64)
    assert_close(F.smooth_l1_loss(x, t, reduction="none", beta=0.5), [0.0, 0.0625, 2.75])
    assert_close(F.huber_loss(x, t, reduction="none", delta=0.5), [0.0, 0.03125, 1.375])
    assert_close(F.l1_loss(x, t, weight=lazygrad.tensor([1.0, 2.0, 1.0], dtype=lazygrad.float64)), 3.5 / 4)
    p = lazygrad.tensor([[0.5, 0.5, 0.0]], dtype=lazygrad.float64)
    q = lazygrad.tensor([[0.25, 0.25, 0.5]], dtype=lazygrad.float64).log()
    assert_close(F.kl_div(q, p, reduction="batchmean"), math.log(2))


def test_cosine_similarity_and_normalize():
    a = lazygrad.tensor([[3.0, 4.0], [1.0, 0.0]], dtype=lazygrad.float64)
    b = lazygrad.tensor([[6.0, 8.0], [0.0, 2.0]], dtype=lazygrad.float64)
    assert_close(F.cosine_similarity(a, b), [1.0, 0.0])
    assert_close(F.normalize(a), [[0.6, 0.8], [1.0, 0.0]])
    zero = lazygrad.zeros(1, 2, dtype=lazygrad.float64)
    assert values(F.cosine_similarity(zero, zero)).tolist() == [0.0]


def test_binary_cross_entropy_with_logits_is_stable():
    x = lazygrad.tensor([-200.0, 200.0], dtype=lazygrad.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, lazygrad.tensor([1.0, 0.0], dtype=lazygrad.float64), reduction="none")
    loss.sum().backward()
    assert values(loss).tolist() == [200.0, 200.0]
    assert x.grad.tolist() == [-1.0, 1.0]


def test_label_smoothing_matches_its_definition():
    """(1 - e) * NLL + e * mean over classes of -log p, averaged over the non-ignored samples."""
    logits = RNG.standard_normal((3, 4))
    target = np.array([0, 3, -100])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    per_sample = 0.9 * -logp[np.arange(2), target[:2]] + 0.1 * -logp[:2].mean(1)
    got = F.cross_entropy(lazygrad.tensor(logits), lazygrad.tensor(target), label_smoothing=0.1)
    assert_close(got, per_sample.mean())


def test_channel_dropout_zeroes_whole_channels():
    lazygrad.manual_seed(0)
    x = lazygrad.ones(8, 16, 5)
    out = values(F.dropout1d(x, 0.5))
    per_channel = out.reshape(8, 16, 5)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel == per_channel[..., :1]).all()
    assert 0 < (per_channel[..., 0] == 0).sum() < 128
    out2 = values(nn.Dropout2d(0.25)(lazygrad.ones(4, 8, 2, 3))).reshape(4, 8, -1)
    assert (out2 == out2[..., :1]).all() and set(np.unique(out2)) <= {0.0, np.float32(4 / 3)}
    layer = nn.Dropout1d()
    layer.eval()
    assert values(layer(x)).tolist() == values(x).tolist()


# ---- modules ---------------------------------------------------------------------------------------------

MODULES = {
    "GroupNorm": lambda T: T.nn.GroupNorm(2, 4, eps=1e-3),
    "ConvTranspose1d": lambda T: T.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
    "ConvTranspose2d": lambda T: T.nn.ConvTranspose2d(4, 3, (2, 3), stride=2, dilation=(1, 2), bias=False),
    "PReLU": lambda T: T.nn.PReLU(4, 0.1),
    "Upsample": lambda T: T.nn.Upsample(scale_factor=2, mode="bilinear"),
    "AdaptiveAvgPool2d": lambda T: T.nn.AdaptiveAvgPool2d((2, 3)),
    "Softplus": lambda T: T.nn.Softplus(2.0, 1.0),
}
MODULE_INPUTS = {"ConvTranspose1d": X, "PReLU": X}


@needs_torch
@pytest.mark.parametrize("name", MODULES)
def test_module_matches_torch_with_the_same_weights(name):
    reference = MODULES[name](torch).double()
    layer = MODULES[name](lazygrad).to(lazygrad.float64)
    layer.load_state_dict({k: lazygrad.tensor(v.numpy()) for k, v in reference.state_dict().items()})
    x = MODULE_INPUTS.get(name, X4)
    ours = layer(lazygrad.tensor(x, requires_grad=True))
    theirs = reference(torch.tensor(x, requires_grad=True))
    ours.sum().backward()
    theirs.sum().backward()
    assert_close(ours, theirs)
    for p, q in zip(layer.parameters(), reference.parameters()):
        assert_close(p.grad, q.grad)


@needs_torch
@pytest.mark.parametrize("name", ["ConvTranspose1d", "ConvTranspose2d", "GroupNorm", "PReLU"])
def test_module_parameters_have_torch_shapes(name):
    ours = {k: tuple(v.shape) for k, v in MODULES[name](lazygrad).named_parameters()}
    theirs = {k: tuple(v.shape) for k, v in MODULES[name](torch).named_parameters()}
    assert ours == theirs


def test_conv_transpose_output_size():
    layer = nn.ConvTranspose1d(4, 3, 3, stride=2)
    assert layer(lazygrad.zeros(2, 4, 6), output_size=[14]).shape == (2, 3, 14)
    with pytest.raises(ValueError, match=r"valid sizes range from \[13\] to \[14\]"):
        layer(lazygrad.zeros(2, 4, 6), output_size=[20])


REPRS = {
    "nn.GroupNorm(2, 4)": "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)",
    "nn.GroupNorm(1, 4, eps=1e-3, affine=False)": "GroupNorm(1, 4, eps=0.001, affine=False, bias=False)",
    "nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False, dilation=2)":
        "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
        "output_padding=(1, 1), groups=2, bias=False)",
    "nn.ConvTranspose1d(4, 3, 3)": "ConvTranspose1d(4, 3, kernel_size=(3,), stride=(1,))",
    "nn.Upsample(scale_factor=2)": "Upsample(scale_factor=2.0, mode='nearest')",
    "nn.Upsample(size=(3, 4), mode='bilinear', align_corners=True)": "Upsample(size=(3, 4), mode='bilinear')",
    "nn.UpsamplingBilinear2d(size=3)": "UpsamplingBilinear2d(size=3, mode='bilinear')",
    "nn.AdaptiveAvgPool2d((2, None))": "AdaptiveAvgPool2d(output_size=(2, None))",
    "nn.AdaptiveAvgPool1d(3)": "AdaptiveAvgPool1d(output_size=3)",
    "nn.MaxPool1d(3, 2, 1, 2, ceil_mode=True)":
        "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)",
    "nn.AvgPool1d(3, 2)": "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))",
    "nn.Dropout1d()": "Dropout1d(p=0.5, inplace=False)",
    "nn.Dropout2d(0.2, True)": "Dropout2d(p=0.2, inplace=True)",
    "nn.Softplus(2, 10)": "Softplus(beta=2, threshold=10)",
    "nn.ELU(0.5, True)": "ELU(alpha=0.5, inplace=True)",
    "nn.SELU()": "SELU()",
    "nn.Mish(True)": "Mish(inplace=True)",
    "nn.Hardtanh(-2, 3)": "Hardtanh(min_val=-2, max_val=3)",
    "nn.PReLU(3)": "PReLU(num_parameters=3)",
    "nn.SmoothL1Loss(beta=2.0)": "SmoothL1Loss()",
    "nn.HuberLoss(delta=2)": "HuberLoss()",
    "nn.KLDivLoss(reduction='batchmean')": "KLDivLoss()",
    "nn.CosineSimilarity(0)": "CosineSimilarity()",
    "nn.Identity(3, a=1)": "Identity()",
}


@pytest.mark.parametrize("expression", REPRS)
def test_repr_is_torch_s(expression):
    assert repr(eval(expression, {"nn": nn})) == REPRS[expression]
    if HAS_TORCH:
        assert repr(eval(expression, {"nn": torch.nn})) == REPRS[expression]


ERRORS = [
    (lambda F: F.group_norm(lazygrad.zeros(2, 3, 4), 2), RuntimeError,
     "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 3, 4] and "
     "num_groups=2"),
    (lambda F: nn.GroupNorm(2, 3), ValueError, "num_channels (3) must be divisible by num_groups (2)"),
    (lambda F: F.hardtanh(lazygrad.zeros(2), 2, 1), ValueError, "min_val cannot be greater than max_val"),
    (lambda F: F.prelu(lazygrad.zeros(2, 4), lazygrad.ones(3)), RuntimeError,
     "Mismatch of parameter numbers and input channel size. Found parameter numbers = 3 and channel size = 4."),
    (lambda F: F.dropout1d(lazygrad.zeros(1, 2, 3, 4)), RuntimeError, "dropout1d: Expected 2D or 3D input, but "
     "received a 4D input."),
    (lambda F: F.smooth_l1_loss(lazygrad.zeros(2), lazygrad.zeros(2), beta=-1), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
    (lambda F: F.huber_loss(lazygrad.zeros(2), lazygrad.zeros(2), delta=0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
    (lambda F: F.kl_div(lazygrad.zeros(2), lazygrad.zeros(2), reduction="bad"), ValueError,
     "bad is not a valid value for reduction"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4), size=3, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4)), ValueError, "either size or scale_factor should be defined"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4), size=3, align_corners=True), ValueError,
     "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4), size=3, mode="bilinear"), NotImplementedError,
     "Got 3D input, but bilinear mode needs 4D input"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4), size=3, mode="bicubic"), NotImplementedError,
     "Input Error: Only 3D, 4D and 5D input Tensors supported (got 3D) for the modes: nearest | linear | bilinear | "
     "bicubic | trilinear | lanczos | area | nearest-exact (got bicubic)"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 2, 2, dtype=lazygrad.int32), size=3, mode="bicubic"),
     NotImplementedError, "\"compute_indices_weights_cubic\" not implemented for 'Int'"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 2, 2, dtype=lazygrad.int64), size=3, mode="bilinear"),
     NotImplementedError, "\"upsample_bilinear2d_channels_last\" not implemented for 'Long'"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4), scale_factor=0.1), RuntimeError,
     "Input and output sizes should be greater than 0, but got input (W: 4) and output (W: 0)"),
    (lambda F: F.interpolate(lazygrad.zeros(1, 1, 4, 4), size=(2,)), ValueError,
     "Input and output must have the same number of spatial dimensions, but got input with spatial dimensions of "
     "[4, 4] and output size of (2,)."),
    (lambda F: F.adaptive_avg_pool2d(lazygrad.zeros(1, 2, 3, 4), (1, 2, 3)), RuntimeError,
     "adaptive_avg_pool2d: output_size must be 2"),
    (lambda F: F.adaptive_avg_pool1d(lazygrad.zeros(1, 2, 3, 4), 2), RuntimeError,
     "Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self' (while checking arguments "
     "for adaptive_avg_pool1d)"),
    (lambda F: F.conv_transpose1d(lazygrad.zeros(2, 4, 6), lazygrad.zeros(4, 3, 3), output_padding=1), RuntimeError,
     "output padding must be smaller than either stride or dilation, but got output_padding_height: 0 "
     "output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1"),
    (lambda F: F.conv_transpose1d(lazygrad.zeros(2, 4, 6), lazygrad.zeros(3, 3, 3)), RuntimeError,
     "Given transposed=1, weight of size [3, 3, 3], expected input[2, 4, 6] to have 3 channels, but got 4 channels "
     "instead"),
    (lambda F: nn.ConvTranspose1d(4, 3, 3, padding_mode="reflect"), ValueError,
     'Only "zeros" padding mode is supported for ConvTranspose1d'),
    (lambda F: F.max_pool1d(lazygrad.zeros(1, 2, 3, 4), 2), RuntimeError,
     "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:"
     "[1, 2, 3, 4]"),
    (lambda F: F.l1_loss(lazygrad.zeros(2), lazygrad.zeros(2), weight=lazygrad.ones(3)), ValueError,
     "Weights and input must have the same size."),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_have_torch_s_wording(index):
    call, kind, message = ERRORS[index]
    with pytest.raises(kind) as error:
        call(F)
    assert str(error.value).startswith(message)


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(lazygrad.zeros(2), lazygrad.ones(2))


@needs_torch
@pytest.mark.parametrize("name", [
    "group_norm", "conv_transpose1d", "conv_transpose2d", "interpolate", "adaptive_avg_pool1d", "avg_pool1d",
    "dropout1d", "dropout2d", "elu", "selu", "mish", "hardtanh", "smooth_l1_loss", "huber_loss", "l1_loss",
    "kl_div", "normalize", "binary_cross_entropy_with_logits", "softplus", "cosine_similarity", "prelu"])
def test_functional_signature_is_torch_s(name):
    theirs = getattr(torch.nn.functional, name)
    try:
        expected = [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    except ValueError:  # a builtin: its first docstring line is the signature
        line = theirs.__doc__.strip().splitlines()[0]
        expected = [(a.split("=")[0].strip(), eval(a.split("=")[1]) if "=" in a else inspect.Parameter.empty)
                    for a in line[line.index("(") + 1:line.index(")")].split(",")]
    ours = [(p.name, p.default) for p in inspect.signature(getattr(F, name)).parameters.values()]
    assert ours == expected


@needs_torch
@pytest.mark.parametrize("name", [
    "GroupNorm", "ConvTranspose1d", "ConvTranspose2d", "Upsample", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "MaxPool1d", "AvgPool1d", "Dropout1d", "Dropout2d", "Softplus", "ELU", "SELU", "Mish", "Hardtanh", "PReLU",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity", "L1Loss", "BCEWithLogitsLoss"])
def test_module_signature_is_torch_s(name):
    def params(cls):
        return [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values()]

    assert params(getattr(nn, name)) == params(getattr(torch.nn, name))


@needs_torch
@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, math.inf])
def test_pdist_matches_torch(p):
    """Every pair of rows i < j, in torch's order; two equal rows (a zero distance) take torch's zero slope."""
    rows = np.concatenate([X[0, :3], X[0, :1]])  # the last row repeats the first
    check_like_torch(lambda T, x: T.nn.functional.pdist(x, p), rows)


@needs_torch
def test_channel_shuffle_matches_torch():
    check_like_torch(lambda T, x: T.nn.functional.channel_shuffle(x, 2), X4)
    check_like_torch(lambda T, x: T.nn.ChannelShuffle(4)(x), X4)
    assert repr(nn.ChannelShuffle(3)) == "ChannelShuffle(groups=3)"
    with pytest.raises(RuntimeError, match=r"Number of channels must be divisible by groups\. Got 4 channels and 3"):
        F.channel_shuffle(lazygrad.tensor(X4), 3)
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(lazygrad.tensor(X))
