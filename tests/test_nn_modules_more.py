"""The added activations, instance and RMS norms, padding modules, pixel shuffles, Unflatten and convolutions
with a padding mode against torch.

Each module is built in both libraries from the same constructor call: the printed module, the output and
the gradients (input and parameters) must be torch's. Inputs are fixed float64 arrays of a few shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close
from module_oracle import check_module

import lazygrad
import lazygrad.nn.functional as F

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

_RNG = np.random.default_rng(0)
IMAGES = _RNG.standard_normal((2, 4, 4, 4)) * 2.5  # spreads past hardswish's +-3 and the shrink thresholds
SEQUENCES = _RNG.standard_normal((2, 4, 4))
VOLUMES = _RNG.standard_normal((1, 2, 4, 4, 4))


def _call(lib, module, tensors):
    return module(*tensors)


# (constructor call, input): the constructor runs on ``torch.nn`` and on ``lazygrad.nn``.
CASES = {
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 2)), IMAGES),
    "ReLU6": (lambda nn: nn.ReLU6(), IMAGES),
    "Hardswish": (lambda nn: nn.Hardswish(), IMAGES),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), IMAGES),
    "Hardshrink": (lambda nn: nn.Hardshrink(), IMAGES),
    "Softshrink": (lambda nn: nn.Softshrink(0.8), IMAGES),
    "Tanhshrink": (lambda nn: nn.Tanhshrink(), IMAGES),
    "Softsign": (lambda nn: nn.Softsign(), IMAGES),
    "Softmin": (lambda nn: nn.Softmin(dim=1), IMAGES),
    "Threshold": (lambda nn: nn.Threshold(0.1, 20.0), IMAGES),
    "GLU": (lambda nn: nn.GLU(), IMAGES),
    "GLU-dim1": (lambda nn: nn.GLU(dim=1), IMAGES),
    "CELU": (lambda nn: nn.CELU(alpha=2.0), IMAGES),
    "Softmax2d": (lambda nn: nn.Softmax2d(), IMAGES),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(4), SEQUENCES),
    "InstanceNorm1d-affine": (lambda nn: nn.InstanceNorm1d(4, affine=True), SEQUENCES),
    "InstanceNorm2d-tracking": (lambda nn: nn.InstanceNorm2d(4, affine=True, track_running_stats=True), IMAGES),
    "InstanceNorm3d": (lambda nn: nn.InstanceNorm3d(2, eps=1e-3, bias=False, affine=True), VOLUMES),
    "RMSNorm": (lambda nn: nn.RMSNorm(4), IMAGES),
    "RMSNorm-2d-noaffine": (lambda nn: nn.RMSNorm([4, 4], eps=1e-6, elementwise_affine=False), IMAGES),
    "ZeroPad1d": (lambda nn: nn.ZeroPad1d((1, 2)), SEQUENCES),
    "ZeroPad2d": (lambda nn: nn.ZeroPad2d((1, 2, 0, 1)), IMAGES),
    "ZeroPad3d": (lambda nn: nn.ZeroPad3d(1), VOLUMES),
    "ConstantPad1d": (lambda nn: nn.ConstantPad1d(2, 3.5), SEQUENCES),
    "ConstantPad2d": (lambda nn: nn.ConstantPad2d((1, 0, 2, 1), -1.0), IMAGES),
    "ConstantPad3d": (lambda nn: nn.ConstantPad3d((1, 1, 0, 0, 1, 0), 2), VOLUMES),
    "ReflectionPad1d": (lambda nn: nn.ReflectionPad1d((2, 1)), SEQUENCES),
    "ReflectionPad2d": (lambda nn: nn.ReflectionPad2d(1), IMAGES),
    "ReplicationPad1d": (lambda nn: nn.ReplicationPad1d((2, 1)), SEQUENCES),
    "ReplicationPad2d": (lambda nn: nn.ReplicationPad2d((1, 2, 2, 0)), IMAGES),
    "CircularPad1d": (lambda nn: nn.CircularPad1d((2, 1)), SEQUENCES),
    "CircularPad2d": (lambda nn: nn.CircularPad2d(1), IMAGES),
    "PixelShuffle": (lambda nn: nn.PixelShuffle(2), IMAGES),
    "PixelUnshuffle": (lambda nn: nn.PixelUnshuffle(2), IMAGES),
    "Conv2d-reflect": (lambda nn: nn.Conv2d(4, 2, (3, 2), padding=(1, 2), padding_mode="reflect"), IMAGES),
    "Conv2d-replicate-same": (lambda nn: nn.Conv2d(4, 2, (2, 3), padding="same", dilation=(1, 2),
                                                   padding_mode="replicate"), IMAGES),
    "Conv1d-circular": (lambda nn: nn.Conv1d(4, 3, 3, padding=2, stride=2, padding_mode="circular"), SEQUENCES),
}


@pytest.mark.parametrize("name", list(CASES))
def test_module_matches_torch(name: str) -> None:
    make, x = CASES[name]
    check_module(make, _call, x)


@pytest.mark.parametrize("make", [
    lambda nn: nn.ReLU6(inplace=True), lambda nn: nn.Hardswish(True), lambda nn: nn.Hardsigmoid(True),
    lambda nn: nn.Threshold(0.1, 20.0, True), lambda nn: nn.CELU(inplace=True), lambda nn: nn.Softmin(),
    lambda nn: nn.InstanceNorm2d(3, momentum=None), lambda nn: nn.RMSNorm((2, 3)),
])
def test_printed_like_torch(make) -> None:
    assert repr(make(lazygrad.nn)) == repr(make(torch.nn))


def test_instance_norm_running_stats_match_torch() -> None:
    """Training updates the running statistics as torch does; eval then normalizes with them."""
    ours, theirs = lazygrad.nn.InstanceNorm2d(4, track_running_stats=True).double(), \
        torch.nn.InstanceNorm2d(4, track_running_stats=True).double()
    ours(lazygrad.tensor(IMAGES))
    theirs(torch.tensor(IMAGES))
    assert_close(ours.running_mean, theirs.running_mean.numpy())
    assert_close(ours.running_var, theirs.running_var.numpy())
    ours.eval()
    theirs.eval()
    assert_close(ours(lazygrad.tensor(IMAGES)), theirs(torch.tensor(IMAGES)).numpy())


def test_unbatched_instance_norm_matches_torch() -> None:
    got = lazygrad.nn.InstanceNorm1d(4)(lazygrad.tensor(SEQUENCES[0]))
    assert_close(got, torch.nn.InstanceNorm1d(4)(torch.tensor(SEQUENCES[0])).numpy())


def test_rms_norm_default_eps_is_the_dtypes() -> None:
    tiny = np.full((1, 4), 1e-5, dtype=np.float32)
    assert_close(F.rms_norm(lazygrad.tensor(tiny), [4]), torch.nn.functional.rms_norm(torch.tensor(tiny), [4]).numpy())


@pytest.mark.parametrize(("call", "error"), [
    (lambda f, x: f.glu(x[:, :3], 1), "Halving dimension must be even, but dimension 1 is size 3"),
    (lambda f, x: f.pixel_shuffle(x[:, :3], 2), "input.size(-3)=3 is not divisible by 4"),
    (lambda f, x: f.pixel_unshuffle(x[..., :3, :], 2), "input.size(-2)=3 is not divisible by 2"),
    (lambda f, x: f.celu(x, 0.0), "ZeroDivisionError: alpha cannot be 0 for CELU"),
    (lambda f, x: f.softshrink(x, -1.0), "lambda must be in range [0, 1.79769e+308] for input dtype Double"),
])
def test_errors_worded_like_torch(call, error: str) -> None:
    for lib, f in ((torch, torch.nn.functional), (lazygrad, F)):
        with pytest.raises(RuntimeError) as info:
            call(f, lib.tensor(IMAGES))
        assert error in str(info.value)


def test_conv_padding_mode_is_checked_like_torch() -> None:
    with pytest.raises(ValueError, match=r"padding_mode must be one of .*, but got padding_mode='mirror'"):
        lazygrad.nn.Conv2d(1, 1, 3, padding_mode="mirror")
    assert lazygrad.nn.Conv2d(1, 1, 3, padding=(1, 2), padding_mode="circular")._reversed_padding_repeated_twice == \
        torch.nn.Conv2d(1, 1, 3, padding=(1, 2), padding_mode="circular")._reversed_padding_repeated_twice


def test_softmax2d_rejects_other_ranks() -> None:
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        lazygrad.nn.Softmax2d()(lazygrad.tensor(SEQUENCES[0]))
