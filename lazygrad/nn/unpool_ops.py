"""``max_unpool1d/2d/3d``: values put back at the flat positions ``max_pool(..., return_indices=True)`` gave.

Each (sample, channel) plane is one scatter along its flattened spatial axis; the rest of the output is
zero. The gradient reads the output's gradient back at the same positions, as torch's does. A 1-D unpool
is the 2-D one over a trailing axis of size 1, as in torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import checks, dtypes
from ..index_ops import _check_known
from ..ir import apply
from ..tensor import Tensor, _torch_type_name, _wrap
from .functional_base import _as_op


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


def _output_size(input: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
                 output_size: Sequence[int] | None) -> list[int]:
    """The spatial size of the result: the pool's input size by default, or ``output_size`` when it is one the
    pool could have come from (its windows would fit it within one stride)."""
    n = len(kernel)
    default = [(input.shape[input.ndim - n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(n)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)[2:] if len(output_size) == n + 2 else list(output_size)
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                             f"length of '{len(size)}'")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < size[d] < high:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {low} and {high})')
    for d in range(n):
        if size[d] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={size[d]}")
    return size


def _positions(indices: Tensor, plane: int, message: str, op: str) -> Tensor:
    """``indices``, checked to lie in a plane of ``plane`` elements (now if known, when computed if pending)."""
    if indices.node.buffer is not None:
        _check_known(indices._value(), 0, plane, RuntimeError, message)
        return indices
    ok = checks.in_range(indices.node, 0, plane)
    return _wrap(checks.guard(indices.node, ok, RuntimeError, message, op))


def _unpool(input: Tensor, indices: Tensor, size: Sequence[int]) -> Tensor:
    """Scatter each (sample, channel) plane of ``input`` into a zero plane of the ``size`` spatial shape."""
    n = len(size)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Input to max_unpooling{n}d should be a {n + 1}d or {n + 2}d Tensor, but got a tensor "
                           f"with {input.ndim} dimensions.")
    if indices.dtype is not dtypes.int64:  # torch's 3-D check does not name the dtype
        named = f" but got: {_torch_type_name(indices.dtype)}" if n == 2 else ""
        raise RuntimeError(f"elements in indices should be type int64{named}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    lead, plane = tuple(input.shape[:-n]), math.prod(size)
    message = f"Found an invalid max index: {{}} (output volumes are of size {'x'.join(map(str, size))})"
    where_to = _positions(indices, plane, message, f"max_unpool{n}d").reshape(*lead, -1)
    values = input.reshape(*lead, -1)
    placed = input.new_zeros((*lead, plane)).scatter_add(-1, where_to, values)
    # Overlapping windows can report one position twice, with the same value: keep it once (the mean of the
    # values written there), while each value still takes the whole gradient of its position, as in torch.
    # The correction is cut from the graph by a node (not ``detach``): the recorded op differentiates its nodes.
    hits = input.new_zeros((*lead, plane)).scatter_add(-1, where_to, input.new_ones(values.shape))
    once = placed + _wrap(apply("stop_gradient", ((placed / hits.clamp(min=1) - placed).node,)))
    return _as_op(f"MaxUnpool{n}DBackward0", once.reshape(*lead, *size), input)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool1d``: (N, C, L) or (C, L) values scattered to their indices."""
    kernel = _tuple(kernel_size, 1)
    size = _output_size(input, kernel, kernel if stride is None else _tuple(stride, 1), _tuple(padding, 1),
                        output_size)
    return _unpool(input.unsqueeze(-1), indices.unsqueeze(-1), (*size, 1)).squeeze(-1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool2d``: (N, C, H, W) or (C, H, W) values scattered to their indices."""
    kernel = _tuple(kernel_size, 2)
    size = _output_size(input, kernel, kernel if stride is None else _tuple(stride, 2), _tuple(padding, 2),
                        output_size)
    return _unpool(input, indices, size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool3d``: (N, C, D, H, W) or (C, D, H, W) values scattered to their indices."""
    kernel = _tuple(kernel_size, 3)
    size = _output_size(input, kernel, kernel if stride is None else _tuple(stride, 3), _tuple(padding, 3),
                        output_size)
    return _unpool(input, indices, size)
