"""Resampling along spatial axes: ``interpolate`` (nearest, linear family, bicubic, area) and adaptive average
pooling.

Every mode is separable, so each spatial axis is resampled on its own: an output position reads a few
input positions ("taps") along that axis and combines them with fixed weights. Which taps and which
weights depends only on the sizes, so they are computed here with numpy, the way torch's kernels
compute them (in the same floating-point precision), and enter the graph as an ``index_select``
followed by a weighted sum. When the taps are a plain repeat or an even split, a broadcast or a
reshape replaces the gather.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arithmetic import where
from ..creation import tensor
from ..tensor import Tensor, _record, _torch_type_name

_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}
_KNOWN_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_AXIS_LETTERS = {1: "W", 2: "HW", 3: "DHW"}
# The kernel that refuses an integer input in torch, per interpolating mode (torch names it in its error).
_FLOAT_KERNELS = {"linear": "compute_indices_weights_linear", "bilinear": "upsample_bilinear2d_channels_last",
                  "trilinear": "compute_indices_weights_linear", "bicubic": "compute_indices_weights_cubic"}


# ---- one axis -------------------------------------------------------------------------------------------


def _gather(x: Tensor, axis: int, index: np.ndarray) -> Tensor:
    """``x`` at positions ``index`` (out, taps) along ``axis``: shape (..., out, taps, ...)."""
    out, taps = index.shape
    size = x.shape[axis]
    if taps == 1 and out % size == 0 and np.array_equal(index[:, 0], np.arange(out) // (out // size)):
        repeat = out // size  # nearest upsampling by a whole factor: a broadcast, no gather
        expanded = x.unsqueeze(axis + 1).expand(*x.shape[:axis + 1], repeat, *x.shape[axis + 1:])
        return expanded.reshape(*x.shape[:axis], out, 1, *x.shape[axis + 1:])
    picked = x.index_select(axis, tensor(index.reshape(-1).astype(np.int64)))
    return picked.reshape(*x.shape[:axis], out, taps, *x.shape[axis + 1:])


def _weights(x: Tensor, axis: int, weights: np.ndarray) -> Tensor:
    """Per-tap weights shaped to broadcast against a gathered (..., out, taps, ...) tensor."""
    return tensor(weights.astype(x.dtype.np)).reshape(*weights.shape, *([1] * (x.ndim - axis - 1)))


def _nearest_axis(x: Tensor, axis: int, size: int, scale: float | None, exact: bool) -> Tensor:
    """torch computes the source position in float32 whatever the input's dtype."""
    length = x.shape[axis]
    step = np.float32(1.0 / scale if scale is not None and scale > 0 else length / size)
    offset = np.float32(0.5) if exact else np.float32(0.0)
    source = np.floor((np.arange(size, dtype=np.float32) + offset) * step).astype(np.int64)
    index = np.minimum(source, length - 1)
    return _gather(x, axis, index[:, None]).squeeze(axis + 1)


def _linear_axis(x: Tensor, axis: int, size: int, scale: float | None, align_corners: bool) -> Tensor:
    """Two taps per output position, weighted by its distance to each, in the input's precision."""
    real = x.dtype.np.type
    length = x.shape[axis]
    positions = np.arange(size, dtype=real)
    if align_corners:
        step = real((length - 1) / (size - 1)) if size > 1 else real(0)
        source = positions * step
    else:
        step = real(1.0 / scale if scale is not None and scale > 0 else length / size)
        source = np.maximum(step * (positions + real(0.5)) - real(0.5), real(0))
    low = np.minimum(np.floor(source).astype(np.int64), length - 1)
    high = low + (low < length - 1)
    frac = np.clip(source - low.astype(real), 0, 1)
    index = np.stack([low, high], axis=1)
    weights = np.stack([1 - frac, frac], axis=1)
    return (_gather(x, axis, index) * _weights(x, axis, weights)).sum(axis + 1)


_CUBIC_A = -0.75  # the cubic convolution kernel's free parameter, as torch (and OpenCV) choose it


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution weights of the four taps at distances 1 + t, t, 1 - t and 2 - t."""
    a = t.dtype.type(_CUBIC_A)

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def _cubic_axis(x: Tensor, axis: int, size: int, scale: float | None, align_corners: bool) -> Tensor:
    """Four taps per output position around its source (clamped to the edge pixels), in the input's precision;
    unlike the linear modes, the source position is not clamped at 0."""
    real = x.dtype.np.type
    length = x.shape[axis]
    positions = np.arange(size, dtype=real)
    if align_corners:
        source = positions * (real((length - 1) / (size - 1)) if size > 1 else real(0))
    else:
        step = real(1.0 / scale if scale is not None and scale > 0 else length / size)
        source = step * (positions + real(0.5)) - real(0.5)
    floor = np.floor(source)
    index = np.clip(floor.astype(np.int64)[:, None] + np.arange(-1, 3), 0, length - 1)
    return (_gather(x, axis, index) * _weights(x, axis, _cubic_weights(source - floor))).sum(axis + 1)


def _average_axis(x: Tensor, axis: int, size: int) -> Tensor:
    """Adaptive average pooling along one axis: bin ``i`` covers [floor(i*L/n), ceil((i+1)*L/n))."""
    length = x.shape[axis]
    if size and length % size == 0:
        return x.reshape(*x.shape[:axis], size, length // size, *x.shape[axis + 1:]).mean(axis + 1)
    bins = np.arange(size)
    start = bins * length // size
    stop = -((-(bins + 1) * length) // size)
    taps = int((stop - start).max()) if size else 1
    position = start[:, None] + np.arange(taps)[None, :]
    index = np.minimum(position, (stop - 1)[:, None])
    # Masking (rather than weighting by 0) keeps an inf or NaN from reaching bins that do not cover it.
    inside = tensor(position < stop[:, None]).reshape(size, taps, *([1] * (x.ndim - axis - 1)))
    total = where(inside, _gather(x, axis, index), 0.0).sum(axis + 1)
    return total / _weights(x, axis, (stop - start).reshape(size))


# ---- adaptive average pooling ---------------------------------------------------------------------------


def adaptive_avg_pool(input: Tensor, output_size: Any, n: int) -> Tensor:
    """torch's adaptive_avg_pool{n}d; ``None`` in ``output_size`` keeps that axis's size."""
    sizes = (output_size,) * n if output_size is None or isinstance(output_size, int) else tuple(output_size)
    if n == 1:
        if input.ndim not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                               "'self' (while checking arguments for adaptive_avg_pool1d)")
        if len(sizes) != 1:
            raise RuntimeError(f"adaptive_avg_pool1d() argument 'output_size' should contain one int (got "
                               f"{len(sizes)})")
    else:
        if len(sizes) != n:
            raise RuntimeError(f"adaptive_avg_pool{n}d: output_size must be {n}")
        if input.ndim not in (n + 1, n + 2):
            raise RuntimeError(f"adaptive_avg_pool{n}d(): Expected {n + 1}D or {n + 2}D tensor, but got "
                               f"{list(input.shape)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"adaptive_avg_pool{max(n, 2)}d\" not implemented for '{input.dtype.name}'")
    first = input.ndim - n
    sizes = tuple(input.shape[first + i] if s is None else s for i, s in enumerate(sizes))
    out = input
    for i, size in enumerate(sizes):
        out = _average_axis(out, first + i, size)
    # torch's names: 1-D pooling runs as 2-D pooling of a height-1 input, and a global 2-D pool is a mean.
    name = "SqueezeBackward1" if n == 1 else f"AdaptiveAvgPool{n}DBackward0"
    if n == 2 and sizes == (1, 1):
        name = "MeanBackward1"
    return _record(name, out.node, input)


# ---- interpolate ------------------------------------------------------------------------------------------


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """torch's ``F.interpolate`` for the nearest, nearest-exact, (bi/tri)linear, bicubic and area modes."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    n = input.ndim - 2
    sizes, scales = _targets(input, size, scale_factor, n)
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and sizes is None:
        recompute_scale_factor = True
    if sizes is None:
        sizes = [int(length * s) for length, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = None
    else:
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode in _LINEAR_MODES and n in (1, 2, 3) and _LINEAR_MODES[mode] != n:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode] + 2}D input")
    if n not in (1, 2, 3) or mode not in ("nearest", "nearest-exact", "area", "bicubic", *_LINEAR_MODES) or (
            mode == "bicubic" and n != 2):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: {_KNOWN_MODES} (got {mode})")
    if mode == "area":
        return adaptive_avg_pool(input, tuple(sizes), n)
    _check_sizes(input.shape[2:], sizes)
    if mode in _FLOAT_KERNELS and not input.dtype.is_floating_point:  # nearest only copies, so any dtype works
        raise NotImplementedError(f"\"{_FLOAT_KERNELS[mode]}\" not implemented for '{_torch_type_name(input.dtype)}'")
    out = input
    for i, target in enumerate(sizes):
        scale = None if scales is None else scales[i]
        if mode in _LINEAR_MODES:
            out = _linear_axis(out, 2 + i, target, scale, bool(align_corners))
        elif mode == "bicubic":
            out = _cubic_axis(out, 2 + i, target, scale, bool(align_corners))
        else:
            out = _nearest_axis(out, 2 + i, target, scale, mode == "nearest-exact")
    kind = {"nearest": "Nearest", "nearest-exact": "NearestExact"}.get(mode, mode.capitalize())
    return _record(f"Upsample{kind}{n}DBackward0", out.node, input)


def _targets(input: Tensor, size: Any, scale_factor: Any, n: int) -> tuple[list[int] | None, list[float] | None]:
    """The output sizes or the scale factors, one per spatial axis, checked as torch checks them."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    value = size if size is not None else scale_factor
    if not isinstance(value, Sequence):
        value = [value] * max(n, 0)
    elif len(value) != n:
        spatial = list(input.shape[2:])
        if size is not None:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {spatial} and output size of {size}. Please provide input tensor "
                             "in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
                         f"spatial dimensions of {spatial} and scale_factor of shape {scale_factor}. Please provide "
                         "input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
    if size is not None:
        return [int(v) for v in value], None
    return None, [float(v) for v in value]


def _check_sizes(lengths: Sequence[int], sizes: Sequence[int]) -> None:
    if min(lengths) > 0 and min(sizes) > 0:
        return
    letters = _AXIS_LETTERS[len(sizes)]
    given = ", ".join(f"{a}: {v}" for a, v in zip(letters, lengths))
    wanted = ", ".join(f"{a}: {v}" for a, v in zip(letters, sizes))
    joiner = " and output" if len(sizes) == 1 else " output"
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({given}){joiner} ({wanted})")
