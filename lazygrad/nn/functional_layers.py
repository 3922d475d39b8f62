"""Dropout for volumes and SELU networks, and the bilinear form: built from draws, products and sums."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..tensor import Tensor
from .functional_base import (
    _check_p,
    _dropout_noise,
    _feature_dropout,
    _inplace,
    _skips_draw,
    _warn_feature_rank,
    _zeroed,
)

# SELU's negative saturation value, -scale * alpha: alpha dropout sets dropped units to it.
_ALPHA = 1.7580993408473766


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    _check_p(p)
    if input.ndim not in (4, 5):
        _warn_feature_rank("dropout3d", input.ndim, 3)
    if input.ndim != 5:
        return _inplace(input, _feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0), inplace)
    return _feature_dropout(input, p, training, inplace)


def _alpha_noise(p: float) -> Callable:
    """torch's alpha-dropout arithmetic on its mask, one rounded op at a time: the shift
    ``(keep - 1) * (alpha * a) + alpha * a * p`` and the scale ``keep * a``, stacked on a leading axis."""
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p))

    def finish(keep: np.ndarray, work: type, dtype: np.dtype) -> np.ndarray:
        def op(value: np.ndarray) -> np.ndarray:
            return value.astype(dtype).astype(work)

        shift = op(op(op(keep.astype(work) - work(1.0)) * work(_ALPHA * a)) + work(_ALPHA * a * p))
        return np.stack([op(keep.astype(work) * work(a)), shift]).astype(dtype)

    return finish


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance: dropped units take SELU's saturation value, then
    an affine map ``a * x + b`` restores the moments. torch's ``input * noise + b``, the noise and ``b`` made
    from one mask (one value per channel if ``feature``); p == 1 multiplies by zero without drawing.

    The draws and the noise are torch's bit for bit; the kept values too, unless the backend fuses the multiply
    and the add into one fma (XLA on CPU does), which can move them by an ulp."""
    _check_p(p)
    if _skips_draw(input, p, training):
        return input
    if p == 1.0:
        return _inplace(input, _zeroed(input), inplace)
    noise, shift = _dropout_noise(input, p, feature, _alpha_noise(p)).unbind(0)
    return _inplace(input, input * noise + shift, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout with one draw per element."""
    return _alpha_dropout(input, p, training, inplace, False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels: one draw per (sample, channel), shared along the remaining axes."""
    return _alpha_dropout(input, p, training, inplace, True)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = input1 @ weight[o] @ input2 + bias[o]`` for weight (out, in1, in2)."""
    for dim, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {dim}: got {a} and {b}")
    for name, size, expected in (("input1", input1.shape[-1], weight.shape[1]),
                                 ("input2", input2.shape[-1], weight.shape[2])):
        if size != expected:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got {size} but expected "
                               f"{expected}")
    left = (input1.unsqueeze(-2).unsqueeze(-2) @ weight).squeeze(-2)  # (..., out, in2)
    out = (left * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias
