"""Ordering: sort, argsort, topk, kthvalue, median, unique, and searches in sorted sequences.

One primitive orders an axis: ``argsort``, stable, returning int64 positions. Sorted values are a gather of
the input at those positions, so their gradient is the gather's scatter and the ordering needs none. Searches
(``bucketize``, ``searchsorted``) count comparisons against every boundary: no ordering primitive, and
memory that grows with the product of the two sizes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes, ops, return_types
from .creation import linspace, tensor, zeros
from .index_ops import _fold
from .ir import Node, apply
from .tensor import Tensor, _dim, _promote_any, _record, _torch_type_name, _wrap


def order(x: Node, axis: int, descending: bool = False) -> Node:
    """Positions that sort each line of ``x`` along ``axis`` (stable; NaN counts as the largest value)."""
    return apply("argsort", (x,), (axis, descending))


def take_along(x: Node, axis: int, index: Node) -> Node:
    """``x`` read at the per-line positions ``index`` along ``axis`` (``numpy.take_along_axis``): one gather."""
    coords = [index if a == axis else ops.iota(index.shape, a) for a in range(len(index.shape))]
    flat = _fold(coords, x.shape)
    count = math.prod(index.shape)
    read = apply("gather", (ops.reshape(x, (math.prod(x.shape),)), ops.reshape(flat, (count,))), (0,))
    return ops.reshape(read, index.shape)


def _lines(input: Tensor, dim: int) -> tuple[Node, int]:
    """The input with at least one axis (torch treats a 0-d tensor as a line of one) and the axis to order."""
    axis = _dim(dim, input.ndim)
    return (input.node if input.ndim else ops.reshape(input.node, (1,))), axis


def _first(x: Node, axis: int, count: int) -> Node:
    stops = tuple(count if a == axis else d for a, d in enumerate(x.shape))
    return ops.slice_(x, (0,) * len(x.shape), stops, (1,) * len(x.shape))


def _pick(input: Tensor, name: str, node: Node, axis: int, positions: Node,
          keepdim: bool = True) -> tuple[Tensor, Tensor]:
    """Values at ``positions`` (recorded as ``name``) and the positions, shaped back for a 0-d input."""
    values = take_along(node, axis, positions)
    if not keepdim:
        shape = values.shape[:axis] + values.shape[axis + 1:]
        values, positions = ops.reshape(values, shape), ops.reshape(positions, shape)
    if not input.ndim:
        values, positions = ops.reshape(values, ()), ops.reshape(positions, ())
    return _record(name, values, input), _wrap(positions)


def _nth(node: Node, axis: int, n: int) -> Node:
    """The position of the ``n``-th smallest value (from 0) of each line, keeping the axis."""
    starts = tuple(n if a == axis else 0 for a in range(len(node.shape)))
    stops = tuple(n + 1 if a == axis else d for a, d in enumerate(node.shape))
    return ops.slice_(order(node, axis), starts, stops, (1,) * len(node.shape))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """Sorted values and their original positions along ``dim``; always stable (ties keep their order)."""
    node, axis = _lines(input, dim)
    return return_types.sort(*_pick(input, "SortBackward0", node, axis, order(node, axis, descending)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    node, axis = _lines(input, dim)
    positions = order(node, axis, descending)
    return _wrap(positions if input.ndim else ops.reshape(positions, ()))


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def _refuse_bool(input: Tensor, kernel: str) -> None:
    """torch has no boolean kernel for median and kthvalue."""
    if input.dtype is dtypes.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (or smallest) values along ``dim`` and their positions, largest first."""
    if input.dtype is dtypes.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    node, axis = _lines(input, dim)
    if not 0 <= k <= node.shape[axis]:
        raise RuntimeError("selected index k out of range")
    positions = _first(order(node, axis, largest), axis, k)
    return return_types.topk(*_pick(input, "TopkBackward0", node, axis, positions))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest value (counting from 1) along ``dim`` and its position."""
    _refuse_bool(input, "kthvalue_cpu")
    node, axis = _lines(input, dim)
    if not 1 <= k <= node.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    return return_types.kthvalue(*_pick(input, "KthvalueBackward0", node, axis, _nth(node, axis, k - 1), keepdim))


def _middle(node: Node, axis: int, skip_nan: bool) -> Node:
    """The position (keeping the axis) of each line's lower median: torch's median, where a line with a NaN gives
    its first NaN, or its nanmedian, the lower median of the line's other values (a line of NaNs gives its
    middle one, as torch)."""
    size = node.shape[axis]
    if not node.dtype.is_floating_point:
        return _nth(node, axis, (size - 1) // 2)
    valid = ops.reduce("reduce_sum", ops.cast(apply("eq", (node, node)), dtypes.int64), (axis,), True)
    middle = ops.const((size - 1) // 2, dtypes.int64)
    if skip_nan:
        lower = ops.div(apply("sub", (valid, ops.const(1, dtypes.int64))), ops.const(2, dtypes.int64))
        rank = ops.select(apply("eq", (valid, ops.const(0, dtypes.int64))), middle, lower)
    else:  # NaN sorts last, the first NaN at the count of the other values
        rank = ops.select(apply("lt", (valid, ops.const(size, dtypes.int64))), valid, middle)
    return take_along(order(node, axis), axis, rank)


def _spread_to_equal(x: Node, value: Node) -> Node:
    """``value`` (a scalar already computed from ``x``) as a reduction of ``x`` whose gradient is shared evenly by
    the elements equal to it (the NaNs, for NaN): torch's gradient of a median over all elements.

    The elements equal to ``value`` are kept and the others made -inf, and their maximum is ``value`` with
    the maximum's even-split gradient; for ``value`` -inf the others are made +inf and the minimum taken.
    """
    value = ops.broadcast_to(apply("stop_gradient", (value,)), x.shape)
    hit = apply("or", (apply("eq", (x, value)), apply("and", (apply("ne", (x, x)), apply("ne", (value, value))))))
    axes = tuple(range(len(x.shape)))
    above = ops.reduce("reduce_max", ops.select(hit, x, ops.const(-math.inf, x.dtype)), axes)
    below = ops.reduce("reduce_min", ops.select(hit, x, ops.const(math.inf, x.dtype)), axes)
    return ops.select(apply("eq", (below, ops.const(-math.inf, x.dtype))), below, above)


def _median(name: str, input: Tensor, dim: int | None, keepdim: bool, skip_nan: bool) -> Any:
    _refuse_bool(input, "median_cpu" if dim is None else "median_out")
    if dim is not None:
        node, axis = _lines(input, dim)
        values, indices = _pick(input, f"{name}Backward1", node, axis, _middle(node, axis, skip_nan), keepdim)
        return getattr(return_types, name.lower())(values, indices)
    if not input.numel():
        return _wrap(ops.const(math.nan, input.dtype))
    flat = ops.reshape(input.node, (input.numel(),))
    middle = ops.reshape(take_along(flat, 0, _middle(flat, 0, skip_nan)), ())
    if input.dtype.is_floating_point:
        middle = _spread_to_equal(flat, middle)
    return _record(f"{name}Backward0", middle, input)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower of the two middle values (torch's median), NaN for a line holding a NaN; with ``dim``, also its
    position (the first NaN's). Over all elements, the gradient is shared by the elements equal to it, as in
    torch; along ``dim`` it goes to the returned position."""
    return _median("Median", input, dim, keepdim, skip_nan=False)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """``median`` of each line's values other than NaN (NaN for a line of NaNs)."""
    return _median("Nanmedian", input, dim, keepdim, skip_nan=True)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the position of
    its last occurrence, as torch gives. Counts compare every pair of a line: memory grows with its square."""
    node, axis = _lines(input, dim)
    shape, size = node.shape, node.shape[axis]
    pairs = (*shape[:axis + 1], size, *shape[axis + 1:])
    rows = ops.broadcast_to(ops.reshape(node, (*shape[:axis + 1], 1, *shape[axis + 1:])), pairs)
    cols = ops.broadcast_to(ops.reshape(node, (*shape[:axis], 1, *shape[axis:])), pairs)
    counts = ops.reduce("reduce_sum", ops.cast(apply("eq", (rows, cols)), dtypes.int64), (axis + 1,))
    best = ops.broadcast_to(ops.reduce("reduce_max", counts, (axis,), True), shape)
    largest = math.inf if node.dtype.is_floating_point else True if node.dtype is dtypes.bool_ \
        else int(np.iinfo(node.dtype.np).max)
    candidates = ops.select(apply("eq", (counts, best)), node, ops.full(shape, largest, node.dtype))
    value = ops.broadcast_to(ops.reduce("reduce_min", candidates, (axis,), True), shape)
    at = ops.select(apply("eq", (node, value)), ops.iota(shape, axis), ops.full(shape, -1, dtypes.int64))
    # A NaN equals nothing: a line of NaNs gives its first position, as torch.
    positions = apply("max", (ops.reduce("reduce_max", at, (axis,), True), ops.const(0, dtypes.int64)))
    return return_types.mode(*_pick(input, "ModeBackward0", node, axis, positions, keepdim))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Any:
    """The distinct values (or slices along ``dim``), sorted. Realizes ``input``: the result's size depends on it."""
    values = input.detach()._value()
    axis = None if dim is None else _dim(dim, input.ndim)
    found = np.unique(values, return_inverse=True, return_counts=True, axis=axis, equal_nan=False)  # NaNs differ
    out = [tensor(found[0])]
    if return_inverse:
        out.append(tensor(found[1].reshape(values.shape if axis is None else (-1,)).astype(np.int64)))
    if return_counts:
        out.append(tensor(found[2].astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def _count_below(sequence: Node, values: Node, right: bool, out_int32: bool) -> Tensor:
    """For each value, how many entries of its (last-axis) sequence lie below it (or at it, with ``right``)."""
    if len(sequence.shape) > 1:  # one sequence per row of values: line the rows up
        sequence = ops.reshape(sequence, (*sequence.shape[:-1], 1, sequence.shape[-1]))
    below = apply("le" if right else "lt", (sequence, ops.reshape(values, (*values.shape, 1))))
    counted = ops.reduce("reduce_sum", ops.cast(below, dtypes.int64), (len(below.shape) - 1,))
    return _wrap(ops.cast(counted, dtypes.int32 if out_int32 else dtypes.int64))


def _common(a: Tensor, b: Any) -> tuple[Node, Node]:
    """Both operands in their promoted dtype (``b`` may be a Python number)."""
    dtype = _promote_any(a, b)
    b_node = ops.cast(b.node, dtype) if isinstance(b, Tensor) else ops.scalar(b, dtype)
    return ops.cast(a.node, dtype), b_node


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value among the sorted 1-D ``boundaries``: the count of boundaries below it."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    sequence, values = _common(boundaries, input)
    return _count_below(sequence, values, right, out_int32)


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """Where each value would be inserted into its row of ``sorted_sequence`` to keep it sorted."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    if sorter is not None:
        sorted_sequence = _wrap(take_along(sorted_sequence.node, sorted_sequence.ndim - 1, ops.cast(sorter.node,
                                                                                                  dtypes.int64)))
    if isinstance(input, Tensor) and sorted_sequence.ndim > 1 and \
            sorted_sequence.shape[:-1] != input.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got boundaries "
                           f"tensor {list(sorted_sequence.shape)} and input value tensor {list(input.shape)}")
    sequence, points = _common(sorted_sequence, input)
    return _count_below(sequence, points, right, out_int32)


def histogram(input: Tensor, bins: int | Tensor = 100, *, range: tuple[float, float] | None = None,
              weight: Tensor | None = None, density: bool = False) -> Any:
    """How many of ``input``'s elements (or how much of their ``weight``) fall in each bin, and the bins' edges.

    ``bins`` evenly spaced bins span ``range``, or the input's extremes, which are then realized to place
    them (widened by 0.5 each way when equal); a tensor of edges gives the bins itself. Each bin holds its
    left edge, the last one its right edge too, and values outside every bin are not counted.
    """
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"histogramdd" not implemented for \'{_torch_type_name(input.dtype)}\'')
    values = input.detach().reshape(-1)
    if isinstance(bins, Tensor):
        edges = bins.detach().to(input.dtype)
    else:
        low, high = range if range is not None else _extremes(values)
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = linspace(low, high, bins + 1, dtype=input.dtype)
    count = edges.numel() - 1
    inside = (values >= edges[0]) & (values <= edges[-1])
    position = (bucketize(values, edges, right=True) - 1).clamp(0, count - 1)
    amount = values.new_ones(values.shape) if weight is None else weight.detach().reshape(-1).to(input.dtype)
    hist = zeros(count, dtype=input.dtype).scatter_add(0, position, amount * inside)
    if density:  # torch divides by the total, then by each bin's width
        hist = hist / hist.sum() / (edges[1:] - edges[:-1])
    return return_types.histogram(hist, edges)


def _extremes(values: Tensor) -> tuple[float, float]:
    """The span of the default bins: the values' extremes, or [0, 1] for no values (as torch)."""
    if not values.numel():
        return 0.0, 1.0
    low, high = values.aminmax()
    return low.item(), high.item()


for _name, _fn in {"sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue,
                   "median": median, "nanmedian": nanmedian, "mode": mode, "unique": unique,
                   "histogram": histogram}.items():
    setattr(Tensor, _name, _fn)
