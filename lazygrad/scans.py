"""Running extrema and running log-sum-exp along an axis: cummax, cummin and logcumsumexp.

There is no scan primitive for them: each position ``i`` reduces the prefix ``j <= i`` of a square
``(n, n)`` grid of the line, which costs ``n`` times the memory of the input but is one fused program
and exact. The extrema pick their positions first (torch's rule: the latest of equal values, and a NaN
wins from the position it appears on), then read the values there, so the gradient goes to exactly
those positions as in torch.
"""

from __future__ import annotations

import math

from . import dtypes, ops, return_types
from .grad_mode import no_grad
from .ir import Node, apply
from .tensor import Tensor, _dim, _record, _torch_type_name, _wrap


def _grid(node: Node, fill: Node) -> tuple[Node, Node]:
    """``node`` (last axis of length n) spread to ``(..., n, n)`` where row ``i`` holds the prefix ``j <= i``
    and ``fill`` elsewhere; also the prefix mask."""
    n = node.shape[-1]
    shape = (*node.shape[:-1], n, n)
    prefix = apply("le", (ops.iota(shape, len(shape) - 1), ops.iota(shape, len(shape) - 2)))
    row = ops.broadcast_to(ops.reshape(node, (*node.shape[:-1], 1, n)), shape)
    if fill.shape:  # one value per line: the same for the whole row
        fill = ops.reshape(fill, (*fill.shape, 1))
    return ops.select(prefix, row, ops.broadcast_to(fill, shape)), prefix


def _last_where(hit: Node) -> Node:
    """The largest ``j`` of each row of ``hit`` that is true (-1 for none)."""
    j = ops.iota(hit.shape, len(hit.shape) - 1)
    return ops.reduce("reduce_max", ops.select(hit, j, ops.full(hit.shape, -1, dtypes.int64)), (len(hit.shape) - 1,))


def _extremum_positions(node: Node, largest: bool) -> Node:
    """Per position of the last axis, where the running max (or min) of its prefix was last reached."""
    floating = node.dtype.is_floating_point
    key = node if floating or node.dtype is not dtypes.bool_ else ops.cast(node, dtypes.int32)
    if floating:
        nan = apply("ne", (node, node))
        key = ops.select(nan, ops.full(node.shape, -math.inf if largest else math.inf, node.dtype), node)
    first = ops.slice_(key, (0,) * len(key.shape), (*key.shape[:-1], 1), (1,) * len(key.shape))
    grid, prefix = _grid(key, first)
    best = ops.reduce("reduce_max" if largest else "reduce_min", grid, (len(grid.shape) - 1,), keepdims=True)
    hit = apply("and", (prefix, apply("eq", (grid, ops.broadcast_to(best, grid.shape)))))
    positions = _last_where(hit)
    if floating:
        last_nan = _last_where(apply("and", (prefix, _grid(nan, ops.const(False, dtypes.bool_))[0])))
        positions = ops.select(apply("ge", (last_nan, ops.const(0, dtypes.int64))), last_nan, positions)
    return positions


def _cumulative_extremum(name: str, input: Tensor, dim: int, largest: bool) -> tuple[Tensor, Tensor]:
    axis = _dim(dim, input.ndim)
    if input.ndim == 0 or input.numel() == 0:
        indices = _wrap(ops.full(input.node.shape, 0, dtypes.int64))
        return getattr(return_types, name)(_record(f"{name.capitalize()}Backward0", input.node, input), indices)
    last = input.ndim - 1
    moved = input.transpose(axis, last) if axis != last else input
    with no_grad():
        positions = _wrap(_extremum_positions(moved.detach().node, largest))
        values = moved.gather(last, positions)
        if axis != last:
            values, positions = values.transpose(axis, last), positions.transpose(axis, last)
    record = _record(f"{name.capitalize()}Backward0", values.node, input)
    return getattr(return_types, name)(record, _wrap(positions.node))


def cummax(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """The running maximum along ``dim`` and where it was last reached."""
    return _cumulative_extremum("cummax", input, dim, largest=True)


def cummin(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """The running minimum along ``dim`` and where it was last reached."""
    return _cumulative_extremum("cummin", input, dim, largest=False)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, each prefix shifted by its own maximum so nothing overflows."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_torch_type_name(input.dtype)}'")
    axis = _dim(dim, input.ndim)
    if input.ndim == 0 or input.numel() == 0:
        return _record("LogcumsumexpBackward0", input.node, input)
    last = input.ndim - 1
    node = ops.permute(input.node, _swap(input.ndim, axis, last))
    grid, _ = _grid(node, ops.const(-math.inf, node.dtype))
    top = apply("stop_gradient", (ops.reduce("reduce_max", grid, (last + 1,), keepdims=True),))
    top = ops.select(apply("eq", (apply("abs", (top,)), ops.const(math.inf, top.dtype))), ops.zeros_like(top), top)
    shifted = apply("exp", (apply("sub", (grid, ops.broadcast_to(top, grid.shape))),))
    total = apply("log", (ops.reduce("reduce_sum", shifted, (last + 1,)),))
    out = ops.add(total, ops.reshape(top, total.shape))
    return _record("LogcumsumexpBackward0", ops.permute(out, _swap(input.ndim, axis, last)), input)


def _swap(ndim: int, a: int, b: int) -> list[int]:
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return perm


for _name, _fn in {"cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp}.items():
    setattr(Tensor, _name, _fn)
del _name, _fn
