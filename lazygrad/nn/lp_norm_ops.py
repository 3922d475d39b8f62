"""Power sums over windows: LP pooling (``x**p`` summed over a spatial window) and local response
normalization (``x**2`` summed over a window of neighbouring channels; ``CrossMapLRN2d`` is its legacy form).

Both follow torch's compositions, so values and gradients agree at the edges too: LP pooling is an average
pool of ``x**p`` times the window size (in ``ceil_mode`` a clipped window is still scaled by the full
size, as in torch), passed through ``sign(s) * relu(|s|)`` so that a window summing to zero gets a zero
gradient rather than NaN; a window of channels is averaged over zeros past the first and last channel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import convolution, ops
from ..autograd.function import Function, FunctionCtx
from ..creation import tensor
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


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode,
                    math.prod((kernel_size,) * 3 if isinstance(kernel_size, int) else kernel_size), 3)


def _channel_windows(channels: int, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """A (channels, channels) 0/1 matrix whose row ``c`` marks the channels ``first[c]..last[c]``."""
    index = np.arange(channels)
    return ((index >= first[:, None]) & (index <= last[:, None])).astype(np.float64)


class CrossMapLRN2d(Function):
    """The legacy cross-channel normalization of (N, C, H, W): ``x * (k + alpha / size * window sum of x**2)
    ** -beta``, with torch's windows and its hand-written backward.

    Both windows are torch's, quirks included: the forward's running sum never drops channel 0 (so every
    channel's window holds it), and the backward's window reaches one channel further back than forward. That
    backward is not the exact gradient of this forward; it is kept because it is the gradient torch gives.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                k: float = 1) -> Tensor:
        if input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        channels = input.shape[1]
        reach = int((size - 1) / 2 + 1) - 1
        index = np.arange(channels)
        window = _channel_windows(channels, index - reach, index + reach)
        window[:, 0] = 1.0
        ctx.scale = _mix_channels(window, input * input) * (alpha / size) + k
        output = ctx.scale.pow(-beta) * input
        ctx.save_for_backward(input, output)
        return output

    @staticmethod
    def backward(ctx: FunctionCtx, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        input, output = ctx.saved_tensors
        size = ctx.size
        channels = input.shape[1]
        back = int(size - (size - 1) / 2)
        index = np.arange(channels)
        window = _channel_windows(channels, index - back, index + size - 1 - back)
        accumulated = _mix_channels(window, grad_output * output / ctx.scale)
        grad_input = ctx.scale.pow(-ctx.beta) * grad_output - (2 * ctx.alpha * ctx.beta / size) * input * accumulated
        return grad_input, None, None, None, None


def _mix_channels(window: np.ndarray, x: Tensor) -> Tensor:
    """``sum_j window[c, j] * x[:, j]`` for each channel ``c`` of (N, C, H, W) ``x``."""
    batch, channels = x.shape[:2]
    mixed = tensor(window, dtype=x.dtype) @ x.reshape(batch, channels, -1)
    return mixed.reshape(x.shape)
