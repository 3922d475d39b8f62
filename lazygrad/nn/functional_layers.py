"""Dropout for volumes and SELU networks, and the bilinear form: built from draws, products and sums."""

from __future__ import annotations

import math

from ..creation import rand
from ..tensor import Tensor
from .functional_base import _feature_dropout, _inplace, _warn_feature_rank

# SELU's negative saturation value, -scale * alpha: alpha dropout sets dropped units to it.
_ALPHA = 1.7580993408473766


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    _check_p(p)
    if input.ndim not in (4, 5):
        _warn_feature_rank("dropout3d", input.ndim, 3)
    if input.ndim != 5:
        return _inplace(input, _feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0), inplace)
    return _feature_dropout(input, p, training, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance: dropped units take SELU's saturation value,
    then an affine map ``a * x + b`` restores the moments."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _inplace(input, input * 0.0, inplace)
    keep = (rand(input.shape, dtype=input.dtype) < 1.0 - p).to(input.dtype)
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p))
    shift = (keep - 1.0) * (_ALPHA * a) + _ALPHA * p * a
    return _inplace(input, input * (keep * a) + shift, inplace)


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
