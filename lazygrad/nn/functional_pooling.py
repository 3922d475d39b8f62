"""3-D window pooling and adaptive max pooling, composed from the shared window and bin machinery.

``max_pool3d``/``avg_pool3d`` are the n-dimensional pools of ``lazygrad.convolution`` at ``n=3``.
Adaptive max pooling reads the same bins as adaptive average pooling, [floor(i*L/n), ceil((i+1)*L/n)),
gathered one spatial axis at a time.

The ``*_with_indices`` forms are the pools with the indices always returned: torch's pools dispatch to them
on ``return_indices``, and some code calls them by name.
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


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> tuple[Tensor, Tensor]:
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """torch's avg_pool3d over (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    _volume_input(input)
    return convolution.avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override, 3)


def _bins(length: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output bin: its taps' positions (clipped into the bin) and which taps lie inside it, shape (size, taps)."""
    bins = np.arange(size)
    start = bins * length // size
    stop = -((-(bins + 1) * length) // size)
    position = start[:, None] + np.arange(int((stop - start).max()))[None, :]
    return np.minimum(position, (stop - 1)[:, None]), position, position < stop[:, None]


def _adaptive_max_pool(input: Tensor, output_size: Any, return_indices: bool, n: int) -> Any:
    """Gather every bin's taps along each axis, put each window's taps on one last axis, and take its maximum;
    a window's flat input positions are fixed by the sizes, so the indices are a numpy table read at the argmax."""
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
    first = input.ndim - n
    lengths = input.shape[first:]
    windows, inside, flat = input, np.ones((), bool), np.zeros((), np.int64)
    for i, (length, size) in enumerate(zip(lengths, sizes)):
        index, position, mask = _bins(length, length if size is None else size)
        windows = _gather(windows, first + 2 * i, index)  # (..., out_0, taps_0, ..., out_i, taps_i, rest)
        inside = np.multiply.outer(inside, mask)
        flat = np.add.outer(flat * length, position)
    # (out_0, taps_0, out_1, taps_1, ...) -> (out_0, out_1, ..., taps_0 * taps_1 * ...)
    order = [2 * i for i in range(n)] + [2 * i + 1 for i in range(n)]
    outs = tuple(inside.shape[a] for a in order[:n])
    inside, flat = (np.transpose(t, order).reshape(*outs, -1) for t in (inside, flat))
    windows = windows.permute(*range(first), *(first + a for a in order)).reshape(*input.shape[:first], *outs, -1)
    windows = where(tensor(inside), windows, -math.inf)
    values = _record("SqueezeBackward1" if n == 1 else f"AdaptiveMaxPool{n}DBackward0",
                     windows.amax(-1).node, input)
    if not return_indices:
        return values
    best = windows.detach().argmax(-1, keepdim=True)
    table = tensor(flat).expand(*input.shape[:first], *flat.shape)
    return values, table.gather(-1, best).squeeze(-1)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _adaptive_max_pool(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _adaptive_max_pool(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _adaptive_max_pool(input, output_size, return_indices, 3)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    return _adaptive_max_pool(input, output_size, True, 1)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    return _adaptive_max_pool(input, output_size, True, 2)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    return _adaptive_max_pool(input, output_size, True, 3)
