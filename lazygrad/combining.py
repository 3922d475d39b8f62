"""Rearranging ops composed from the shape and indexing ops: repeat_interleave, broadcast_tensors, take,
take_along_dim, diff, tensor_split and its h/v/d forms, column_stack, cartesian_prod, combinations,
block_diag, diagflat, unfold and unravel_index.

Each is written with the Tensor ops torch's own composition uses, so the last op gives the result
torch's ``grad_fn``; a result whose size depends on values (``repeat_interleave`` with a tensor of
repeats) reads those values first, as torch does.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes, ops
from .creation import tensor, zeros
from .index_ops import _index_node, gather, index_select
from .ir import apply
from .ir import broadcast_shapes as _broadcast
from .reshaping import cat, stack
from .shape_ops import diag, meshgrid
from .tensor import Size, Tensor, _as_view, _dim, _record, _torch_type_name, attach


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place; ``repeat_interleave(r)`` alone
    repeats the positions ``0..len(r)-1``."""
    if repeats is None:  # torch.repeat_interleave(repeats): positions, each repeated
        counts = _counts(input)
        return tensor(np.repeat(np.arange(len(counts)), counts))
    if dim is None:
        input, dim = input.reshape(-1), 0
    axis = _dim(dim, input.ndim)
    size = input.shape[axis] if input.ndim else 1
    if isinstance(repeats, Tensor):  # positions to read, even for one repeat count (torch's index_select path)
        counts = _counts(repeats)
        if len(counts) == 1:
            counts = np.repeat(counts, size)
        elif len(counts) != size:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{len(counts)} and input.size({dim}) = {size}")
        if output_size is not None and output_size != counts.sum():
            raise RuntimeError("allocated size does not match required size")
        return index_select(input, axis, tensor(np.repeat(np.arange(size), counts)))
    count = int(repeats)
    if count < 0:
        raise RuntimeError("repeats can not be negative")
    if output_size is not None and output_size != size * count:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {size * count} but got {output_size}")
    shape = input.node.shape or (1,)
    spread = ops.reshape(input.node, (*shape[:axis + 1], 1, *shape[axis + 1:]))
    wide = ops.broadcast_to(spread, (*shape[:axis + 1], count, *shape[axis + 1:]))
    return _record("ViewBackward0", ops.reshape(wide, (*shape[:axis], shape[axis] * count, *shape[axis + 1:])), input)


def _counts(repeats: Tensor) -> np.ndarray:
    """The values of a tensor of repeats, checked as torch checks them."""
    if repeats.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if repeats.dtype not in (dtypes.int32, dtypes.int64):
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for '{_torch_type_name(repeats.dtype)}'")
    counts = repeats._value().reshape(-1).astype(np.int64)
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    return counts


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape tensors of the given shapes (ints or sequences) broadcast to, checked shape by shape as torch
    does, so a mismatch names the first shape that does not fit the ones before it."""
    sizes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes if s is not None]
    common = [1] * max((len(s) for s in sizes), default=0)
    for position, shape in enumerate(sizes):
        for axis in range(-1, -len(shape) - 1, -1):
            size = shape[axis]
            if size < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if common[axis] == 1:
                common[axis] = size
            elif size not in (1, common[axis]):
                raise RuntimeError(f"Attempting to broadcast a dimension of length {size} at {axis}! Mismatching "
                                   f"argument at index {position} had {shape}; but expected shape should be "
                                   f"broadcastable to {common}")
    return Size(common)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common shape (a tensor of that shape is returned as is)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _broadcast(*(t.node.shape for t in tensors)) if tensors else ()
    return tuple(t if t.node.shape == shape else t.expand(shape) for t in tensors)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as one flat vector at ``index``; negative positions count from the end."""
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_torch_type_name(index.dtype)}")
    count = input.numel()
    flat = ops.reshape(_index_node(index, count, 0, "take"), (index.numel(),))
    node = apply("gather", (ops.reshape(input.node, (count,)), flat), (0,))
    return _record("TakeBackward0", ops.reshape(node, index.node.shape), input)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` along ``dim`` with ``input`` and ``indices`` broadcast over the other axes; the flattened
    input read at the flattened indices without ``dim``."""
    if indices.dtype is not dtypes.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_torch_type_name(indices.dtype)}")
    if dim is None:
        input, indices, dim = input.reshape(-1), indices.reshape(-1), 0
    elif input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    axis = _dim(dim, input.ndim)
    size = input.shape[axis] if input.ndim else 1
    indices = indices + (indices < 0).long() * size  # negative positions count from the end
    shape = list(_broadcast(_without(input.shape, axis), _without(indices.shape, axis)))
    return gather(input.expand(_with(shape, axis, input.shape[axis])), axis,
                  indices.expand(_with(shape, axis, indices.shape[axis])))


def _without(shape: Sequence[int], axis: int) -> tuple[int, ...]:
    return tuple(1 if a == axis else d for a, d in enumerate(shape))


def _with(shape: list[int], axis: int, size: int) -> list[int]:
    return [size if a == axis else d for a, d in enumerate(shape)]


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``!=`` for bools), after joining ``prepend``/``append``."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = _dim(dim, input.ndim)
    for t in (prepend, append):
        if t is None:
            continue
        if t.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for a, (want, got) in enumerate(zip(input.shape, t.shape)):
            if a != axis and want != got:
                raise RuntimeError(f"diff expects the shape of tensor to prepend or append to match that of input "
                                   f"except along the differencing dimension; input.size({a}) = {want}, but got "
                                   f"tensor.size({a}) = {got}")
    parts = [t for t in (prepend, input, append) if t is not None]
    out = cat(parts, axis) if len(parts) > 1 else input
    for _ in range(n):
        length = out.shape[axis]
        if length == 0:
            break
        later, earlier = out.narrow(axis, 1, length - 1), out.narrow(axis, 0, length - 1)
        out = later.logical_xor(earlier) if out.dtype is dtypes.bool_ else later - earlier
    return out


def tensor_split(input: Tensor, sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of ``input`` cut along ``dim`` into ``sections`` near-equal parts, or at the given ``indices``."""
    axis = _dim(dim, input.ndim)
    if isinstance(sections, Tensor):
        if sections.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {sections.ndim} dims")
        sections = sections.tolist()
    size = input.shape[axis]
    if isinstance(sections, int):
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(size, sections)
        bounds = list(itertools.accumulate(small + (i < extra) for i in range(sections)))[:-1]
    else:
        bounds = [int(i) for i in sections]
    parts = []
    for a, b in zip([0, *bounds], [*bounds, size]):
        start, stop, _ = slice(a, b).indices(size)  # negative points count from the end, as in slicing
        parts.append(input._narrow(axis, start, max(stop - start, 0), "SliceBackward0"))
    return tuple(parts)


def _split_along(name: str, rank: int, dim: int, input: Tensor, split: Any) -> tuple[Tensor, ...]:
    """hsplit/vsplit/dsplit: tensor_split along ``dim`` of a tensor with at least ``rank`` dimensions, whose
    number of sections must divide that axis."""
    if input.ndim < rank:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {rank} dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    if isinstance(split, int) and (split == 0 or input.shape[dim] % split):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {split}!")
    return tensor_split(input, split, dim)


def hsplit(input: Tensor, sections: Any) -> tuple[Tensor, ...]:
    return _split_along("hsplit", 1, 0 if input.ndim == 1 else 1, input, sections)


def vsplit(input: Tensor, sections: Any) -> tuple[Tensor, ...]:
    return _split_along("vsplit", 2, 0, input, sections)


def dsplit(input: Tensor, sections: Any) -> tuple[Tensor, ...]:
    return _split_along("dsplit", 3, 2, input, sections)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join as columns: scalars and vectors become columns first."""
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each vector, one per row (a vector for a single input)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a vector's elements, one per row, in lexicographic order of positions."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return zeros(0, dtype=input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return stack([index_select(input, 0, tensor(rows[:, k])) for k in range(r)], 1)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d or 2-d) placed along the diagonal of one matrix, zeros elsewhere."""
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    dtype = functools.reduce(dtypes.promote_types, [t.dtype for t in mats]) if mats else dtypes.default_float()
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        cols = m.shape[1]
        node = ops.pad(ops.cast(m.node, dtype), (0, left), (0, width - left - cols), (0, 0))
        rows.append(node)
        left += cols
    if not rows:
        return zeros(1, 0)
    node = rows[0] if len(rows) == 1 else apply("concat", tuple(rows), (0,))
    return _record("BlockDiagBackward0", node, *mats)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened ``input`` as the ``offset`` diagonal of a square matrix."""
    return diag(input.reshape(-1), offset)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The windows of ``size`` along ``dimension`` every ``step`` elements, as a new last axis.

    Windows that do not overlap are a view, made of slices and reshapes, as torch's: writes to ``self``
    reach them. Overlapping windows are a copy (one gather); torch refuses writes through those anyway.
    """
    axis = _dim(dimension, self.ndim)
    length = self.shape[axis] if self.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    count = (length - size) // step + 1
    shape = self.node.shape or (1,)
    before, after = shape[:axis], shape[axis + 1:]
    order = [*range(axis + 1), *range(axis + 2, len(shape) + 1), axis + 1]
    node = ops.reshape(self.node, shape)
    if step >= size and count * step <= length:
        ones, zeros = (1,) * (len(shape) + 1), (0,) * (len(shape) + 1)
        node = ops.slice_(node, zeros[1:], (*before, count * step, *after), ones[1:])
        node = ops.reshape(node, (*before, count, step, *after))
        node = ops.slice_(node, zeros, (*before, count, size, *after), ones)
        node = ops.permute(node, order) if self.ndim else ops.reshape(node, (size,))  # 0-d: one window
        return _as_view(self, _record("UnfoldBackward0", node, self))
    index = tensor((np.arange(count)[:, None] * step + np.arange(size)[None, :]).reshape(-1))
    picked = apply("gather", (node, index.node), (axis,))
    grouped = ops.reshape(picked, (*before, count, size, *after))
    return _record("UnfoldBackward0", ops.permute(grouped, order), self)


def unravel_index(indices: Any, shape: Any) -> tuple[Tensor, ...]:
    """The coordinates, one tensor per axis of ``shape``, of flat positions ``indices``."""
    indices = indices if isinstance(indices, Tensor) else tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is dtypes.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    sizes = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in sizes):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(sizes)))
    total = math.prod(sizes)
    if indices.node.buffer is not None:
        values = indices._value()
        if ((values < -total) | (values >= total)).any():
            raise ValueError(f"'indices' must be in range [{-total}, {total - 1}]")
    flat = indices.long() % total if total else indices.long()
    coords = []
    for stride in itertools.accumulate((*sizes[:0:-1],), lambda a, b: a * b, initial=1):
        coords.append(flat // stride)
    coords = [c % s for c, s in zip(coords[::-1], sizes)]
    return tuple(coords)


class CombiningMethods:
    """The Tensor methods of the ops above (attached to Tensor below)."""

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
        return repeat_interleave(self, repeats, dim, output_size=output_size)

    def take(self, index: Tensor) -> Tensor:
        return take(self, index)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        return take_along_dim(self, indices, dim)

    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
        return diff(self, n, dim, prepend, append)

    def tensor_split(self, sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return tensor_split(self, sections, dim)

    def hsplit(self, sections: Any, *indices: int) -> tuple[Tensor, ...]:
        return hsplit(self, [sections, *indices] if indices else sections)

    def vsplit(self, sections: Any, *indices: int) -> tuple[Tensor, ...]:
        return vsplit(self, [sections, *indices] if indices else sections)

    def dsplit(self, sections: Any, *indices: int) -> tuple[Tensor, ...]:
        return dsplit(self, [sections, *indices] if indices else sections)

    def diagflat(self, offset: int = 0) -> Tensor:
        return diagflat(self, offset)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        return unfold(self, dimension, size, step)


attach(CombiningMethods)
