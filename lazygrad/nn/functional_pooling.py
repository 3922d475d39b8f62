"""3-D window pooling and adaptive max pooling, composed from the shared window and bin machinery.

``max_pool3d``/``avg_pool3d`` are the n-dimensional pools of ``lazygrad.convolution`` at ``n=3``.
Adaptive max pooling reads the same bins as adaptive average pooling, [floor(i*L/n), ceil((i+1)*L/n)),
one spatial axis at a time: a maximum over a box is the maximum of the per-axis maxima.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import convolution
from ..arithmetic import where
from ..creation import tensor
from ..tensor import Tensor, _record
from .resampling import _gather


def _volume_input(input: Tensor) -> None:
    if input.ndim not in (4, 5) or input.numel() == 0:
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's max_pool3d over (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    _volume_input(input)
    return convolution.max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """torch's avg_pool3d over (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    _volume_input(input)
    return convolution.avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override, 3)


def _max_axis(x: Tensor, axis: int, size: int) -> Tensor:
    """Adaptive max pooling along one axis: gather each bin's taps, mask the overhang with -inf, take the max."""
    length = x.shape[axis]
    if size and length % size == 0:
        return x.reshape(*x.shape[:axis], size, length // size, *x.shape[axis + 1:]).amax(axis + 1)
    bins = np.arange(size)
    start = bins * length // size
    stop = -((-(bins + 1) * length) // size)
    taps = int((stop - start).max())
    position = start[:, None] + np.arange(taps)[None, :]
    inside = tensor(position < stop[:, None]).reshape(size, taps, *([1] * (x.ndim - axis - 1)))
    gathered = _gather(x, axis, np.minimum(position, (stop - 1)[:, None]))
    return where(inside, gathered, -math.inf).amax(axis + 1)


def _adaptive_max_pool(input: Tensor, output_size: Any, return_indices: bool, n: int) -> Tensor:
    op = f"adaptive_max_pool{n}d"
    sizes = (output_size,) * n if output_size is None or isinstance(output_size, int) else tuple(output_size)
    if n == 1:  # torch runs 1-D pooling as 2-D pooling of a height-1 input, behind the 1-D argument checks
        if len(sizes) != 1:
            raise RuntimeError(f"{op}() argument 'output_size' should contain one int (got {len(sizes)})")
        if input.ndim not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
                               f"#1 'self' (while checking arguments for {op})")
    elif len(sizes) != n:
        raise RuntimeError(f"{op}(): internal error: output_size.size() must be {n}")
    elif input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}(): Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}")
    if return_indices:
        raise NotImplementedError(f"{op} with return_indices=True is not supported yet")
    first = input.ndim - n
    out = input
    for i, size in enumerate(sizes):
        out = _max_axis(out, first + i, input.shape[first + i] if size is None else size)
    return _record("SqueezeBackward1" if n == 1 else f"AdaptiveMaxPool{n}DBackward0", out.node, input)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    return _adaptive_max_pool(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    return _adaptive_max_pool(input, output_size, return_indices, 2)
