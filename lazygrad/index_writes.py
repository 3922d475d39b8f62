"""Writing by index, as torch's functional and in-place pairs: index_copy, masked_scatter,
scatter_reduce, index_reduce, put and fill_diagonal_.

Each computes the new value functionally from the ``scatter_add`` and ``gather`` primitives (see
``index_ops``); the in-place form assigns it through ``Tensor._inplace``, so writes through views reach
their base as every in-place op does. ``scatter_reduce``'s products and extrema have no scatter
primitive: the updates are ordered by target position and combined by a segmented scan, whose last
element in each segment is that position's reduction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import checks, dtypes, ops
from .grad_mode import is_grad_enabled
from .index_ops import _RULES, _coordinates, _index_node, _Rule, _zero_with_negated_gradient
from .ir import Node, apply
from .scans import prefix_scan
from .sorting import order
from .tensor import Tensor, _dim, _record, _torch_type_name, attach

_INT = dtypes.int64
_RULES["index_copy"] = _Rule(False, IndexError, "index_copy_(): index {{}} is out of bounds for dimension {dim} with "
                                                "size {size}", "index_copy_(): Expected a long tensor for index")


def _placed(base: Node, updates: Node, flat: Node) -> tuple[Node, Node]:
    """The sum of ``updates`` landing at each flat position of ``base``'s shape, and where any landed."""
    size = math.prod(base.shape)
    count = math.prod(flat.shape)
    flat = ops.reshape(flat, (count,))
    placed = apply("scatter_add", (ops.reshape(updates, (count,)), flat), (0, size))
    hits = apply("scatter_add", (ops.full((count,), 1, dtypes.int32), flat), (0, size))
    return ops.reshape(placed, base.shape), ops.reshape(apply("gt", (hits, ops.const(0, dtypes.int32))), base.shape)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with its slices at positions ``index`` along ``dim`` replaced by the slices of ``source``."""
    axis = _dim(dim, input.ndim)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_torch_type_name(input.dtype)} and (source) {_torch_type_name(source.dtype)}")
    placed, written = _placed(input.node, source.node, _slice_positions(input, axis, index, source))
    return _record("IndexCopyBackward0", ops.select(written, placed, input.node), input, source)


def _slice_positions(input: Tensor, axis: int, index: Tensor, source: Tensor) -> Node:
    """The flat positions in ``input`` of each element of ``source``, whose slices along ``axis`` go to the
    slices ``index`` names (index_copy's and index_reduce's placement)."""
    if index.ndim > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0 (got 2)")
    count = source.shape[axis] if source.ndim else 1
    if index.numel() != count:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) "
                         f"({count})")
    if source.ndim != input.ndim or any(s != d for a, (s, d) in enumerate(zip(source.shape, input.shape))
                                        if a != axis):
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination slice "
                           f"shape: {_sizes_text(_without(input.shape, axis))} at dimension {axis} and source slice "
                           f"shape: {_sizes_text(_without(source.shape, axis))} at dimension 0.")
    along = _index_node(index, input.shape[axis] if input.ndim else 1, axis, "index_copy")
    shape = source.node.shape
    spread = ops.broadcast_to(ops.reshape(along, tuple(count if a == axis else 1 for a in range(len(shape)))), shape)
    coords = [spread if a == axis else ops.iota(shape, a) for a in range(len(shape))]
    flat = coords[0]
    for coord, size in zip(coords[1:], input.shape[1:]):
        flat = ops.add(ops.mul(flat, ops.const(size, _INT)), coord)
    return flat


def _without(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return tuple(d for a, d in enumerate(shape) if a != axis)


def _sizes_text(shape: tuple[int, ...]) -> str:
    """A slice shape as torch's message writes it: a bare number for one axis, a list otherwise."""
    return str(shape[0]) if len(shape) == 1 else str(list(shape))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` is true filled, in order, by the leading elements of
    ``source``: the k-th true position reads ``source``'s k-th element (a running count of the mask)."""
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{dtypes.to_dtype(mask.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_torch_type_name(input.dtype)} and {_torch_type_name(source.dtype)}")
    shape = input.node.shape
    size = math.prod(shape)
    marks = ops.reshape(ops.broadcast_to(mask.node, shape), (size,))
    short = "Number of elements of source < number of ones in mask"
    if mask.node.buffer is not None and int(np.broadcast_to(mask._value(), shape).sum()) > source.numel():
        raise RuntimeError(short)
    rank = apply("cumsum", (ops.cast(marks, _INT),), (0,))
    if mask.node.buffer is None:  # a pending mask is counted against the source when it is computed
        fits = apply("or", (apply("le", (rank, ops.const(source.numel(), _INT))), apply("logical_not", (marks,))))
        rank = checks.guard(rank, fits, RuntimeError, short, "masked_scatter")
    last = ops.const(max(source.numel() - 1, 0), _INT)
    at = apply("min", (apply("sub", (rank, ops.const(1, _INT))), last))
    at = apply("max", (at, ops.const(0, _INT)))
    read = apply("gather", (ops.reshape(source.node, (source.numel(),)), at), (0,))
    node = ops.select(ops.reshape(marks, shape), ops.reshape(read, shape), input.node)
    return _record("MaskedScatterBackward0", node, input, source)


def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal in place; ``wrap`` restarts it below a tall matrix's square."""
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    strides = [math.prod(self.shape[a + 1:]) for a in range(self.ndim)]
    step = sum(strides)
    size = self.numel()
    limit = size if wrap and self.ndim == 2 else min(self.shape) * step - step + 1
    flat = ops.iota((size,), 0)
    on = apply("and", (apply("eq", (apply("rem", (flat, ops.const(step, _INT))), ops.const(0, _INT))),
                       apply("lt", (flat, ops.const(limit, _INT)))))
    on = ops.reshape(on, self.node.shape)
    if is_grad_enabled() and self.requires_grad and self.grad_fn is None:  # torch writes through a diagonal view
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")

    def filled(t: Tensor) -> Tensor:
        value = ops.broadcast_to(ops.scalar(fill_value, t.dtype), t.node.shape)
        return _record("CopySlices", ops.select(on, value, t.node), t)

    return self._inplace(filled)


# ---- scatter_reduce -------------------------------------------------------------------------------------------


def _segment_scan(values: Node, keys: Node, combine: Callable[[Node, Node], Node]) -> Node:
    """Inclusive scan of ``values`` with ``combine`` within runs of equal ``keys`` (sorted, 1-D): a range
    that reaches into an earlier run ends at its start, since the keys are sorted."""
    def within_runs(later: tuple[Node, ...], earlier: tuple[Node, ...]) -> tuple[Node, ...]:
        same = apply("eq", (later[1], earlier[1]))
        return ops.select(same, combine(later[0], earlier[0]), later[0]), later[1]

    return prefix_scan((values, keys), within_runs)[0]


_COMBINE: dict[str, Callable[[Node, Node], Node]] = {
    "prod": ops.mul,
    "amax": lambda a, b: apply("max", (a, b)),
    "amin": lambda a, b: apply("min", (a, b)),
}


def _reduced(updates: Node, flat: Node, size: int, reduce: str) -> tuple[Node, Node]:
    """Per target position, the ``reduce`` of the updates landing there (flat), and where any landed."""
    ranked = order(flat, 0)
    keys = apply("gather", (flat, ranked), (0,))
    scanned = _segment_scan(apply("gather", (updates, ranked), (0,)), keys, _COMBINE[reduce])
    n = keys.shape[0]
    following = ops.pad(ops.slice_(keys, (1,), (n,), (1,)), (0,), (1,), (0,))
    last = apply("or", (apply("ne", (keys, following)), apply("eq", (ops.iota((n,), 0), ops.const(n - 1, _INT)))))
    kept = ops.select(last, scanned, ops.zeros_like(scanned))
    placed = apply("scatter_add", (kept, keys), (0, size))
    hits = apply("scatter_add", (ops.full((n,), 1, dtypes.int32), keys), (0, size))
    return placed, apply("gt", (hits, ops.const(0, dtypes.int32)))


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """``input`` with each ``src`` element combined by ``reduce`` (sum, prod, mean, amax or amin) into the
    position ``gather`` would read it from; ``include_self=False`` leaves ``input``'s own values out where any
    element lands."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    axis = _dim(dim, input.ndim)
    if src.dtype is not input.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    flat = _coordinates(input, axis, index, "scatter_add", "self")
    updates = ops.slice_(src.node, (0,) * src.ndim, index.node.shape, (1,) * src.ndim)
    node = _reduce_into(input.node, updates, flat, reduce, include_self)
    return _record("ScatterReduceBackward0", node, input, src)


def _reduce_into(input: Node, updates: Node, flat: Node, reduce: str, include_self: bool) -> Node:
    """``input`` with ``updates`` combined by ``reduce`` into their flat positions ``flat``."""
    count = math.prod(flat.shape)
    updates, flat = ops.reshape(updates, (count,)), ops.reshape(flat, (count,))
    size = math.prod(input.shape)
    base = ops.reshape(input, (size,))
    if reduce in ("sum", "mean"):
        placed, written = _placed(base, updates, flat)
    else:
        placed, written = _reduced(updates, flat, size, reduce)
    if reduce == "mean":
        hits = apply("scatter_add", (ops.full((count,), 1, input.dtype), flat), (0, size))
        total = ops.add(placed, base) if include_self else placed
        many = ops.add(hits, ops.const(1, input.dtype)) if include_self else hits
        many = ops.select(written, many, ops.full((size,), 1, input.dtype))
        placed = _divided(total, many)
    elif include_self:
        placed = ops.add(placed, base) if reduce == "sum" else _COMBINE[reduce](placed, base)
    if reduce in ("amax", "amin") and input.dtype.is_floating_point:
        placed = _shared_among_ties(placed, base, updates, flat, written, include_self)
    return ops.reshape(ops.select(written, placed, base), input.shape)


def _shared_among_ties(result: Node, base: Node, updates: Node, flat: Node, written: Node,
                       include_self: bool) -> Node:
    """``result`` (an extremum per position) with torch's gradient: split evenly among the elements equal to it.

    The value stays ``result``; each element adds ``weight * (x - stop_gradient(x))``, zero in value, whose
    gradient is its share: 1/k for each of the k elements that reached the extremum, 0 for the others.
    Written by position, that is torch's rule for scatter_reduce and index_reduce alike.
    """
    size = base.shape[0]
    dtype = base.dtype
    best = apply("stop_gradient", (result,))
    hit = ops.cast(apply("eq", (updates, apply("gather", (best, flat), (0,)))), dtype)
    # torch counts an equal own value among the ties even when include_self leaves it out of the result
    own = ops.cast(apply("and", (written, apply("eq", (base, best)))), dtype)
    ties = ops.add(apply("scatter_add", (hit, flat), (0, size)), own)
    ties = apply("stop_gradient", (apply("max", (ties, ops.const(1, dtype))),))

    def share(x: Node, weight: Node) -> Node:  # an infinite x (a -inf start, a masked score) takes no share
        return ops.mul(ops.neg(weight), _zero_with_negated_gradient(x))

    spread = apply("scatter_add", (share(updates, ops.div(hit, apply("gather", (ties, flat), (0,)))), flat),
                   (0, size))
    return ops.add(ops.add(best, spread), share(base, ops.div(own, ties))) if include_self else ops.add(best, spread)


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """``input`` with the slices of ``source`` combined by ``reduce`` (prod, mean, amax or amin) into the slices
    ``index`` names along ``dim``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    axis = _dim(dim, input.ndim)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_reduce_(): self and source expected to have the same dtype, but got (self) "
                           f"{_torch_type_name(input.dtype)} and (source) {_torch_type_name(source.dtype)}")
    flat = _slice_positions(input, axis, index, source)
    node = _reduce_into(input.node, source.node, flat, reduce, include_self)
    return _record("IndexReduceBackward0", node, input, source)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` read as one flat vector, with ``source``'s elements written (or added) at ``index``."""
    if index.dtype is not _INT:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_torch_type_name(index.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_torch_type_name(input.dtype)} and source.dtype = {_torch_type_name(source.dtype)}")
    if source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    flat = _index_node(index, input.numel(), 0, "take")
    placed, written = _placed(input.node, source.node, flat)
    node = ops.add(input.node, placed) if accumulate else ops.select(written, placed, input.node)
    return _record("PutBackward0", node, input, source)


def _divided(total: Node, count: Node) -> Node:
    """A mean: true division for floats, rounded down for integers (torch's rule for scatter_reduce)."""
    if total.dtype.is_floating_point:
        return ops.div(total, count)
    quotient = ops.div(ops.cast(total, dtypes.float64), ops.cast(count, dtypes.float64))
    return ops.cast(apply("floor", (quotient,)), total.dtype)


class IndexWriteMethods:
    """The Tensor methods of the ops above (attached to Tensor below)."""

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return index_copy(self, dim, index, source)

    def index_copy_(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return self._inplace(index_copy, dim, index, source)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        return masked_scatter(self, mask, source)

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        return self._inplace(masked_scatter, mask, source)

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        return scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: bool = True) -> Tensor:
        return self._inplace(scatter_reduce, dim, index, src, reduce, include_self=include_self)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        return fill_diagonal_(self, fill_value, wrap)

    def index_reduce(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                     include_self: bool = True) -> Tensor:
        return index_reduce(self, dim, index, source, reduce, include_self=include_self)

    def index_reduce_(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                      include_self: bool = True) -> Tensor:
        return self._inplace(index_reduce, dim, index, source, reduce, include_self=include_self)

    def put(self, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
        return put(self, index, source, accumulate)

    def put_(self, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
        return self._inplace(put, index, source, accumulate)


attach(IndexWriteMethods)
