"""Power sums over windows: LP pooling (``x**p`` summed over a spatial window) and local response
normalization (``x**2`` summed over a window of neighbouring channels).

Both follow torch's compositions, so values and gradients agree at the edges too: LP pooling is an average
pool of ``x**p`` times the window size (in ``ceil_mode`` a clipped window is still scaled by the full
size, as in torch), passed through ``sign(s) * relu(|s|)`` so that a window summing to zero gets a zero
gradient rather than NaN; a window of channels is averaged over zeros past the first and last channel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import convolution, ops
from ..tensor import Tensor, _record
from .functional_base import _as_op


def _lp_pool(input: Tensor, norm_type: float, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
             ceil_mode: bool, window: int, n: int) -> Tensor:
    """``(sum over each window of x**p) ** (1/p)``; ``p = +-inf`` is the largest (smallest) magnitude."""
    if norm_type in (math.inf, -math.inf):
        magnitude = input.abs() if norm_type > 0 else -input.abs()
        pooled = convolution.max_pool(magnitude, kernel_size, stride, 0, 1, ceil_mode, False, n)
        if n == 1:  # torch pools in 1-D through a 2-D kernel of height one and squeezes it away
            pooled = _as_op("SqueezeBackward1", pooled, magnitude)
        return pooled if norm_type > 0 else -pooled
    mean = convolution.avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None, n)
    return (mean.sign() * mean.abs().relu()).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: int | Sequence[int] | None = None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, L) or (C, L)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, kernel_size, 1)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, H, W) or (C, H, W)."""
    height, width = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, height * width, 2)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """``x / (k + alpha * mean of x**2 over `size` neighbouring channels) ** beta`` over (N, C, *)."""
    if input.ndim < 3:
        # torch's message keeps the indentation of the source line it was continued from
        raise ValueError(f"Expected 3D or higher dimensionality{' ' * 26}input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    squares = input * input
    ndim, channels = input.ndim, input.shape[1]
    low, high = [0] * ndim, [0] * ndim
    low[1], high[1] = size // 2, (size - 1) // 2
    padded = ops.pad(squares.node, low, high, (0,) * ndim)
    total = None
    for first in range(size):
        starts = tuple(first if axis == 1 else 0 for axis in range(ndim))
        stops = tuple(first + channels if axis == 1 else d for axis, d in enumerate(input.shape))
        part = ops.slice_(padded, starts, stops, (1,) * ndim)
        total = part if total is None else ops.add(total, part)
    # torch averages the squares with a (size, 1) or (size, 1, 1) average pool over the channel axis
    mean = _record(f"AvgPool{2 if ndim == 3 else 3}DBackward0", ops.div(total, ops.const(size, input.dtype)), squares)
    return input / mean.mul(alpha).add(k).pow(beta)
