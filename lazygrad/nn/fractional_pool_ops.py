"""``fractional_max_pool2d/3d``: max pooling over windows placed at pseudo-random, fractional strides.

As in torch, each (sample, channel) plane draws one uniform number ``u`` per spatial axis (``_random_samples``,
of shape (N, C, n)); along an axis of length ``L`` pooled by ``k`` windows into ``m`` outputs, window ``i`` starts
at ``floor((i + u) * a) - floor(u * a)`` with ``a = (L - k) / (m - 1)``, and the last one at ``L - k``. The starts
are computed in the input's dtype, as torch computes them, so the same samples choose the same windows.

Every window's taps become flat positions in the plane; the first maximum among them (the one torch's scan
keeps) is gathered, so the gradient goes to that element alone, as torch's does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..creation import arange, rand
from ..grad_mode import is_grad_enabled
from ..reshaping import cat
from ..tensor import Tensor
from .functional_base import _as_op

# Per pooled rank: torch's names for its messages, its axes' names, and whether a window may reach the last
# element (torch's 2-D check allows it, its 3-D check does not).
_RULES = {
    2: ("fractional_max_pool2d", "fractional_max_pool2d()", "Ints", ("height", "width"), True),
    3: ("fractional_max_pool3d", "fractional_max_pool3d_out()", "three Ints", ("time", "height", "width"), False),
}
# torch's samples name the axes in this order: 2-D (width, height), 3-D (time, height, width)
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}


def _sizes(value: Any, n: int, what: str) -> tuple[int, ...]:
    name, _, count, _, _ = _RULES[n]
    sizes = (value,) * n if isinstance(value, int) else tuple(value)
    if len(sizes) != n:
        raise RuntimeError(f"{name}: {what} must either be a single Int or tuple of {count}")
    return sizes


def _check(input: Tensor, kernel: Sequence[int], out: Sequence[int], samples: Tensor, n: int) -> None:
    name, op, _, axes, reach_end = _RULES[n]
    if samples.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{name}' is not differentiable with respect to argument 'random_samples'. "
                           "This input cannot have requires_grad True.")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}: Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}")
    for dim in range(1, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(f"{op}: Expected input to have non-zero size for non-batch dimensions, but got"
                               f"{list(input.shape)} with dimension {dim} being empty.")
    for axis, length, pool, size in zip(axes, input.shape[-n:], kernel, out):
        if size + pool - 1 > length - (not reach_end):
            raise RuntimeError(f"{op}: pool {axis} {pool} too large relative to input {axis} {length}")
    if samples.dtype is not input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    if samples.shape[0] < (input.shape[0] if input.ndim == n + 2 else 1):
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != input.shape[-n - 1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got {samples.shape[2]}.")


def _starts(u: Tensor, length: int, pool: int, size: int) -> Tensor:
    """Each plane's window starts along one axis, (N, C, size) int64, from its samples ``u`` of shape (N, C)."""
    last = u.new_full((*u.shape, 1), length - pool).long()
    if size == 1:
        return last
    real = u.dtype.np.type
    alpha = float(real(length - pool) / real(size - 1))  # the division torch does, in the input's dtype
    steps = arange(size - 1, dtype=u.dtype)
    starts = ((steps + u.unsqueeze(-1)) * alpha).floor() - (u * alpha).floor().unsqueeze(-1)
    return cat((starts.long(), last), -1)


def _fractional_max_pool(input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any,
                         samples: Tensor | None, n: int) -> tuple[Tensor, Tensor]:
    name = _RULES[n][0]
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = tuple(output_ratio) if isinstance(output_ratio, Sequence) else (output_ratio,) * n
        output_size = [int(input.size(d - n) * ratio[d]) for d in range(n)]
    if samples is None:
        samples = rand(1 if input.ndim == n + 1 else input.size(0), input.size(-n - 1), n, dtype=input.dtype)
    kernel, out = _sizes(kernel_size, n, "kernel_size"), _sizes(output_size, n, "output_size")
    _check(input, kernel, out, samples, n)
    batched = input if input.ndim == n + 2 else input.unsqueeze(0)
    planes, lengths = tuple(batched.shape[:2]), tuple(batched.shape[2:])
    samples = samples[: planes[0]]
    # flat plane positions of every window's taps, (N, C, out_0, ..., out_n-1, k_0, ..., k_n-1)
    flat = None
    for d, column in enumerate(_SAMPLE_COLUMN[n]):
        taps = _starts(samples[:, :, column], lengths[d], kernel[d], out[d]).unsqueeze(-1) + arange(kernel[d])
        shape = [1] * (2 * n)
        shape[d], shape[n + d] = out[d], kernel[d]
        taps = taps.reshape(*planes, *shape)
        flat = taps if flat is None else flat * lengths[d] + taps
    windows = flat.reshape(*planes, *out, math.prod(kernel))
    values = batched.reshape(*planes, math.prod(lengths))
    taps = values.detach().gather(-1, windows.flatten(2)).reshape(windows.shape)
    chosen = windows.gather(-1, taps.argmax(-1, keepdim=True)).squeeze(-1)
    pooled = values.gather(-1, chosen.flatten(2)).reshape(chosen.shape)
    if input.ndim == n + 1:
        pooled, chosen = pooled.squeeze(0), chosen.squeeze(0)
    return _as_op(f"FractionalMaxPool{n}DBackward0", pooled, input), chosen


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fractional max pooling of (N, C, H, W) or (C, H, W) input, with the flat (H * W) indices of the maxima.

    ``output_ratio`` must have at most two entries (a bare float is refused, as torch's ``len`` refuses it)."""
    if output_size is None and output_ratio is not None and len(output_ratio) > 2:
        raise ValueError("fractional_max_pool2d requires output_ratio to either be a single Int or tuple of Ints.")
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    """Fractional max pooling of (N, C, H, W) or (C, H, W) input; the indices too with ``return_indices``."""
    pooled = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio, True,
                                                _random_samples)
    return pooled if return_indices else pooled[0]


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W) input, with the flat indices of the maxima."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W) input; the indices too with ``return_indices``."""
    pooled = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio, True,
                                                _random_samples)
    return pooled if return_indices else pooled[0]
