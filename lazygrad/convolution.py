"""Window operations: convolution (the ``conv`` primitive) and pooling (composed from strided slices).

A convolution is one primitive, so its gradient is two more convolutions and both backends run it as
one fused kernel. Pooling is built from primitives: every kernel offset is one strided ``slice`` of the
padded input, and the window's reduction runs across those slices. Max pooling picks the first maximum
with ``argmax`` and reads it back through a one-hot mask, so the gradient goes to that one element, as
torch's ``MaxPool2DWithIndicesBackward0`` does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from . import dtypes, ops
from .autocast_mode import lower_precision_op
from .creation import tensor
from .ir import Node, apply
from .tensor import _ABSENT, Tensor, _record, _wrap

IntOrTuple = int | Sequence[int]


def _tuple(value: IntOrTuple, n: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                           f"convolution dimensions, but got {name}={list(value)}")
    return value


# torch's words for a pooling input of the wrong rank: its kernels check ranks each in their own words
_POOL_RANK_ERRORS = {
    "max_pool1d": "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, "
                  "but got:{shape}",
    "max_pool2d": "non-empty 3D or 4D (batch mode) tensor expected for input",
    "max_pool3d": "non-empty 4D or 5D (batch mode) tensor expected for input",
    "avg_pool1d": "Expected 2 to 3 dimensions, but got {ndim}-dimensional tensor for argument #1 'self' (while "
                  "checking arguments for avg_pool1d)",
    "avg_pool2d": "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:{shape}",
    "avg_pool3d": "non-empty 4D or 5D (batch mode) tensor expected for input",
}


def _pooled(input: Tensor, n: int, op: str) -> tuple[Node, bool]:
    """``_batched`` for a pooling op, refusing a wrong rank with torch's message for that op."""
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(_POOL_RANK_ERRORS[op].format(shape=list(input.shape), ndim=input.ndim))
    return _batched(input, n, op)


def _batched(input: Tensor, n: int, op: str) -> tuple[Node, bool]:
    """The input as (N, C, *spatial); an unbatched (C, *spatial) input gets a batch axis of one."""
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {op}, but got input of "
                           f"size: {list(input.shape)}")
    if input.ndim == n + 1:
        return ops.reshape(input.node, (1, *input.node.shape)), True
    return input.node, False


# ---- convolution --------------------------------------------------------------------------------------


@lower_precision_op
def conv(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrTuple, padding: IntOrTuple | str,
         dilation: IntOrTuple, groups: int, n: int) -> Tensor:
    """torch's conv{n}d: cross-correlation of (N, C, *spatial) with (O, C/groups, *kernel), plus bias."""
    op = f"conv{n}d"
    x, unbatched = _batched(input, n, op)
    if weight.ndim != n + 2:
        raise RuntimeError(f"Expected {n + 2}-dimensional weight for {n + 2}-dimensional input {list(x.shape)}, but "
                           f"got {weight.ndim}-dimensional weight of size {list(weight.shape)} instead")
    if groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {list(weight.shape)} instead")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {x.shape[1]} "
                           "channels instead")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"Input type ({input.dtype.name}) and weight type ({weight.dtype.name}) should be the same")
    strides = _tuple(stride, n, "stride")
    dilations = _tuple(dilation, n, "dilation")
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * n
        elif padding == "same":
            if any(s != 1 for s in strides):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # torch puts the odd extra element of an even kernel's padding on the high side.
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilations))
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    else:
        pads = tuple((p, p) for p in _tuple(padding, n, "padding"))
    padded = [size + lo + hi for size, (lo, hi) in zip(x.shape[2:], pads)]
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilations)]
    if any(p < r for p, r in zip(padded, reach)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, reach))}). Kernel size can't be greater than actual input "
                           "size")
    # 16-bit floats: torch accumulates in float32 and adds the bias there, rounding once
    wide = dtypes.float32 if input.dtype in dtypes.HALF else input.dtype
    node = apply("conv", (ops.cast(x, wide), ops.cast(weight.node, wide)), (strides, pads, (1,) * n, dilations, groups))
    if bias is not None:
        node = ops.add(node, ops.reshape(ops.cast(bias.node, wide), (weight.shape[0],) + (1,) * n))
    # torch's record lists a missing bias as (None, 0)
    out = _record("ConvolutionBackward0", ops.cast(node, input.dtype), input, weight, _ABSENT if bias is None else bias)
    return out.squeeze(0) if unbatched else out  # torch too convolves a batch of one, then squeezes


# ---- pooling ------------------------------------------------------------------------------------------


class _Windows:
    """The geometry of a pooling window over the last ``n`` axes: sizes, padding, output extent."""

    def __init__(self, shape: Sequence[int], kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...], dilation: tuple[int, ...], ceil_mode: bool) -> None:
        for k, p, d in zip(kernel, padding, dilation):
            if p * 2 > d * (k - 1) + 1:
                raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                                   f"kernel_size={k} and dilation={d}")
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.sizes = tuple(shape[-len(kernel):])
        self.out = []
        for size, k, s, p, d in zip(self.sizes, kernel, stride, padding, dilation):
            span = size + 2 * p - d * (k - 1) - 1
            out = (span + (s - 1 if ceil_mode else 0)) // s + 1
            if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside the input
                out -= 1
            self.out.append(out)
        if min(self.out) < 1:
            given = shape[-len(kernel) - 1:]
            raise RuntimeError(f"Given input size: ({'x'.join(map(str, given))}). Calculated output size: "
                               f"({'x'.join(map(str, [*given[:-len(kernel)], *self.out]))}). Output size is too small")
        # ceil_mode may need room past the padding for the last window; it reads padding there too.
        self.high = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - size - p)
                          for size, o, k, s, p, d in zip(self.sizes, self.out, kernel, stride, padding, dilation))

    def slices(self, node: Node, fill: float) -> list[Node]:
        """One strided slice of the padded input per kernel offset, in row-major kernel order."""
        lead = len(node.shape) - len(self.kernel)
        low = (0,) * lead + self.padding
        high = (0,) * lead + self.high
        padded = ops.pad(node, low, high, (0,) * len(node.shape))
        if fill != 0 and padded is not node:
            inside = ops.pad(ops.full(node.shape, True, dtypes.bool_), low, high, (0,) * len(node.shape))
            padded = ops.select(inside, padded, ops.const(fill, node.dtype))
        out = []
        for offset in itertools.product(*(range(k) for k in self.kernel)):
            starts = (0,) * lead + tuple(i * d for i, d in zip(offset, self.dilation))
            stops = node.shape[:lead] + tuple(a + (o - 1) * s + 1 for a, o, s in zip(starts[lead:], self.out,
                                                                                    self.stride))
            out.append(ops.slice_(padded, starts, stops, (1,) * lead + self.stride))
        return out

    def divisors(self, count_include_pad: bool) -> np.ndarray:
        """Per output position, how many elements its window averages over (torch's rule, in ceil mode too)."""
        per_axis = []
        for size, o, k, s, p in zip(self.sizes, self.out, self.kernel, self.stride, self.padding):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, size + p)
            per_axis.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
        return math.prod(np.ix_(*per_axis))


def _pool_tuple(value: IntOrTuple, n: int, name: str, op: str) -> tuple[int, ...]:
    value = (value,) * n if isinstance(value, int) else tuple(int(v) for v in value)
    if len(value) == 1:
        value = value * n
    if len(value) != n:
        raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of {n} ints")
    return value


def _pool_args(kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple, n: int,
               op: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Kernel, stride (the kernel when not given, as in torch) and padding, one per spatial axis."""
    kernel = _pool_tuple(kernel_size, n, "kernel_size", op)
    no_stride = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    strides = kernel if no_stride else _pool_tuple(stride, n, "stride", op)
    return kernel, strides, _pool_tuple(padding, n, "padding", op)


def max_pool(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple,
             dilation: IntOrTuple, ceil_mode: bool, return_indices: bool, n: int) -> Tensor | tuple[Tensor, Tensor]:
    """torch's max_pool{n}d: the first maximum of each window, padded with -inf; indices are flat per plane."""
    op = f"max_pool{n}d"
    x, unbatched = _pooled(input, n, op)
    kernel, strides, pads = _pool_args(kernel_size, stride, padding, n, op)
    dilations = _pool_tuple(dilation, n, "dilation", op)
    geometry = _Windows(x.shape, kernel, strides, pads, dilations, ceil_mode)
    windows = apply("concat", tuple(ops.reshape(s, (*s.shape, 1)) for s in geometry.slices(x, -math.inf)),
                    (len(x.shape),)) if math.prod(kernel) > 1 else None
    if windows is None:
        node = geometry.slices(x, -math.inf)[0]
        best = ops.full(node.shape, 0, dtypes.int64)
    else:
        best = apply("argmax", (windows,), (len(x.shape),))
        hit = apply("eq", (ops.iota(windows.shape, len(x.shape)), ops.reshape(best, (*best.shape, 1))))
        node = ops.reduce("reduce_sum", ops.select(hit, windows, ops.const(0, x.dtype)), (len(x.shape),))
    if unbatched:
        node = ops.reshape(node, node.shape[1:])
    values = _record(f"MaxPool{n}DWithIndicesBackward0", node, input)
    if not return_indices:
        return values
    indices = _flat_indices(best, geometry, len(x.shape) - n)
    return values, _wrap(ops.reshape(indices, node.shape))


def _flat_indices(best: Node, geometry: _Windows, lead: int) -> Node:
    """The row-major position within the input plane of each window's chosen offset."""
    shape = best.shape
    flat = ops.full(shape, 0, dtypes.int64)
    inner = math.prod(geometry.kernel)
    for axis, (k, s, p, d, size) in enumerate(zip(geometry.kernel, geometry.stride, geometry.padding,
                                                  geometry.dilation, geometry.sizes)):
        inner //= k
        offset = apply("rem", (ops.div(best, ops.const(inner, dtypes.int64)), ops.const(k, dtypes.int64)))
        start = ops.mul(ops.iota(shape, lead + axis), ops.const(s, dtypes.int64))
        coord = apply("add", (apply("sub", (start, ops.const(p, dtypes.int64))), ops.mul(offset, ops.const(
            d, dtypes.int64))))
        flat = ops.add(ops.mul(flat, ops.const(size, dtypes.int64)), coord)
    return flat


def avg_pool(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple,
             ceil_mode: bool, count_include_pad: bool, divisor_override: int | None, n: int) -> Tensor:
    """torch's avg_pool{n}d: window sums over zero padding, divided by torch's per-window count."""
    op = f"avg_pool{n}d"
    x, unbatched = _pooled(input, n, op)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"\"{op}\" not implemented for '{x.dtype.name}'")
    kernel, strides, pads = _pool_args(kernel_size, stride, padding, n, op)
    geometry = _Windows(x.shape, kernel, strides, pads, (1,) * n, ceil_mode)
    parts = geometry.slices(x, 0)
    total = parts[0]
    for part in parts[1:]:
        total = ops.add(total, part)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        node = ops.div(total, ops.const(divisor_override, x.dtype))
    else:
        divisors = geometry.divisors(count_include_pad)
        if (divisors == divisors.flat[0]).all():
            node = ops.div(total, ops.const(int(divisors.flat[0]), x.dtype))
        else:  # windows that reach into the padding count differently: a per-position input
            node = ops.div(total, tensor(divisors.astype(x.dtype.np)).node)
    if unbatched:
        node = ops.reshape(node, node.shape[1:])
    return _record(f"AvgPool{n}DBackward0", node, input)
