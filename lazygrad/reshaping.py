"""Shape Tensor ops: reshapes and views, squeezes, permutations, expansion, splits and selections, and the
``cat``/``stack`` functions, attached to Tensor at the bottom."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import dtypes, host_read, ops, shared_memory, views
from . import realization as realize
from .dtypes import DType
from .ir import Node, apply
from .tensor import (
    Tensor,
    _as_view,
    _dim,
    _dims,
    _layout,
    _record,
    _share,
    _sizes,
    _torch_type_name,
    attach,
)


def _infer_shape(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(d for d in shape if d != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if d == -1 else d for d in shape)
    if math.prod(shape) != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class ShapeMethods:
    """The shape Tensor methods (attached to Tensor below)."""

    # ---- shape ----
    def reshape(self, *shape: Any) -> Tensor:
        """A view when torch could lay the new shape over the same memory, else a copy (as torch)."""
        new = _infer_shape(_sizes(shape), self.numel())
        if self._view is not None and self._view.steps:
            old, strides, _ = _layout(self)
            if views.reshaped_strides(old, strides, new) is None:
                return _record("UnsafeViewBackward0", ops.reshape(self.node, new), self)
        return _as_view(self, _record("ViewBackward0", ops.reshape(self.node, new), self))

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], DType):
            raise NotImplementedError("view(dtype) reinterprets bits, which lazygrad does not support")
        new = _infer_shape(_sizes(shape), self.numel())
        if self._view is not None and self._view.steps:
            old, strides, _ = _layout(self)
            if views.reshaped_strides(old, strides, new) is None:
                raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                   "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return _as_view(self, _record("ViewBackward0", ops.reshape(self.node, new), self))

    def is_contiguous(self, memory_format: Any = None) -> bool:
        shape, strides, _ = _layout(self)
        return views.is_contiguous(shape, strides)

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        strides = _layout(self)[1]
        return strides if dim is None else strides[_dim(dim, self.ndim)]

    def storage_offset(self) -> int:
        return _layout(self)[2]

    def data_ptr(self) -> int:
        """A number naming where the first element lives: equal for tensors that share it, as torch's address.

        There is no address to give (buffers are immutable values), so the storage's identity stands for its
        start and the offset is added in bytes.
        """
        return id(_share(self).storage) + _layout(self)[2] * self.dtype.itemsize

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:  # nothing to merge: torch hands back the tensor itself
            return self
        shape = self.node.shape
        return self.reshape(*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        axis = _dim(dim, self.ndim)
        shape = self.node.shape
        sizes = _infer_shape(tuple(sizes), shape[axis])
        return self.reshape(*shape[:axis], *sizes, *shape[axis + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        axis = _dim(dim, self.ndim + 1)
        shape = self.node.shape
        return _as_view(self, _record("UnsqueezeBackward0", ops.reshape(self.node, (*shape[:axis], 1, *shape[axis:])),
                                      self))

    def squeeze(self, dim: int | Sequence[int] | None = None, *dims: int) -> Tensor:
        if dims:  # squeeze(0, 1), as torch also takes
            dim = (dim, *dims)
        shape = self.node.shape
        axes = _dims(dim, self.ndim) if dim is not None else tuple(i for i, d in enumerate(shape) if d == 1)
        new = tuple(d for i, d in enumerate(shape) if not (i in axes and d == 1))
        name = "SqueezeBackward0" if dim is None else "SqueezeBackward1"
        return _as_view(self, _record(name, ops.reshape(self.node, new), self))

    def permute(self, *dims: Any) -> Tensor:
        perm = tuple(_dim(d, self.ndim) for d in _sizes(dims))
        if sorted(perm) != list(range(self.ndim)):
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(perm)}" if len(perm) != self.ndim else
                               "permute(): duplicate dims are not allowed.")
        return _as_view(self, _record("PermuteBackward0", ops.permute(self.node, perm), self))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        perm = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        perm[a], perm[b] = perm[b], perm[a]
        return _as_view(self, _record("TransposeBackward0", ops.permute(self.node, perm), self))

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return _as_view(self, _record("TBackward0", ops.permute(self.node, tuple(reversed(range(self.ndim)))), self))

    @property
    def T(self) -> Tensor:
        return _as_view(self, _record("PermuteBackward0", ops.permute(self.node, tuple(reversed(range(self.ndim)))),
                                      self))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        target = expanded_shape(self.node.shape, _sizes(sizes), self.dtype)
        return _as_view(self, _record("ExpandBackward0", ops.broadcast_to(self.node, target), self))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def broadcast_to(self, *size: Any) -> Tensor:
        return self.expand(*size)

    def repeat(self, *sizes: Any) -> Tensor:
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                               "tensor")
        shape = (1,) * (len(sizes) - self.ndim) + self.node.shape
        # Tile by broadcasting a new axis in front of each existing one, then merging the pairs.
        spread = ops.reshape(self.node, tuple(x for d in shape for x in (1, d)))
        tiled = ops.broadcast_to(spread, tuple(x for r, d in zip(sizes, shape) for x in (r, d)))
        return _record("RepeatBackward0", ops.reshape(tiled, tuple(r * d for r, d in zip(sizes, shape))), self)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        return self if self.is_contiguous() else self.clone()

    def clone(self, *, memory_format: Any = None) -> Tensor:
        node = self.node
        if shared_memory.is_shared(node.buffer):  # memory numpy may write: the clone is a copy of it now
            node = shared_memory.copy_of(node)
        return _record("CloneBackward0", node, self)

    def flip(self, dims: int | Sequence[int], *more: int) -> Tensor:
        axes = _dims((dims, *more) if more else dims, self.ndim)
        return _record("FlipBackward0", apply("rev", (self.node,), (axes,)) if axes else self.node, self)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        axis = _dim(dim, self.ndim)
        n = self.node.shape[axis]
        name = "SplitBackward0" if isinstance(split_size, int) else "SplitWithSizesBackward0"
        if isinstance(split_size, int):
            sizes = [min(split_size, n - s) for s in range(0, n, split_size)] or [0]
        else:
            sizes = list(split_size)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {dim}), but got split_sizes={sizes}")
        out, start = [], 0
        for size in sizes:
            out.append(self._narrow(axis, start, size, name))
            start += size
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.node.shape[_dim(dim, self.ndim)]
        return self.split(max(1, -(-n // chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        axis = _dim(dim, self.ndim)
        return tuple(self._select(axis, i, "UnbindBackward0") for i in range(self.node.shape[axis]))

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return self._narrow(_dim(dim, self.ndim), start, length, "SliceBackward0")

    def _narrow(self, axis: int, start: int, length: int, grad_fn_name: str) -> Tensor:
        shape = self.node.shape
        starts = tuple(start if i == axis else 0 for i in range(self.ndim))
        stops = tuple(start + length if i == axis else d for i, d in enumerate(shape))
        return _as_view(self, _record(grad_fn_name, ops.window(self.node, starts, stops, (1,) * self.ndim), self))

    def select(self, dim: int, index: int) -> Tensor:
        return self._select(_dim(dim, self.ndim), index, "SelectBackward0")

    def _select(self, axis: int, index: int, grad_fn_name: str) -> Tensor:
        size = self.node.shape[axis]
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension {axis} with size {size}")
        index %= size
        shape = self.node.shape
        starts = tuple(index if i == axis else 0 for i in range(self.ndim))
        stops = tuple(index + 1 if i == axis else d for i, d in enumerate(shape))
        node = ops.window(self.node, starts, stops, (1,) * self.ndim)
        return _as_view(self, _record(grad_fn_name, ops.reshape(node, shape[:axis] + shape[axis + 1:]), self))


def expanded_shape(shape: tuple[int, ...], sizes: Sequence[int], dtype: DType) -> tuple[int, ...]:
    """The shape ``expand(*sizes)`` gives a tensor of ``shape`` (-1 keeps a size), or torch's error."""
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.{_torch_type_name(dtype)}Tensor{{{list(shape)}}}, size={list(sizes)}): the "
                           f"number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
                           f"dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, size in enumerate(sizes):
        own = shape[i - lead] if i >= lead else None
        if size == -1:
            if own is None:
                raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a leading, non-existing "
                                   "dimension 0")
            size = own
        if own is not None and own != 1 and own != size:
            raise RuntimeError(f"The expanded size of the tensor ({size}) must match the existing size ({own}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
        target.append(size)
    return tuple(target)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # torch skips 1-D empty tensors, a legacy way to start an accumulation.
    tensors = [t for t in tensors if t.shape != (0,)] or list(tensors[:1])
    first = tensors[0]
    axis = _dim(dim, first.ndim)
    dtype = first.dtype
    for i, t in enumerate(tensors[1:], 1):
        dtype = dtypes.promote_types(dtype, t.dtype)
        if t.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}")
        for j, (want, got) in enumerate(zip(first.shape, t.shape)):
            if j != axis and want != got:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size {want} "
                                   f"but got size {got} for tensor number {i} in the list.")
    nodes = tuple(ops.cast(t.node, dtype) for t in tensors)
    node = nodes[0] if len(nodes) == 1 else apply("concat", nodes, (axis,))
    _settle_batch(node, tensors)
    return _record("CatBackward0", node, *tensors)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                               f"{list(t.shape)} at entry {i}")
    axis = _dim(dim, len(first) + 1)
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.promote_types(dtype, t.dtype)
    shape = (*first[:axis], 1, *first[axis:])
    parts = tuple(ops.reshape(ops.cast(t.node, dtype), shape) for t in tensors)
    node = parts[0] if len(parts) == 1 else apply("concat", parts, (axis,))
    _settle_batch(node, tensors)
    return _record("StackBackward0", node, *tensors)


def _settle_batch(node: Node, tensors: Sequence[Tensor]) -> None:
    """A batch assembled from computed tensors that need no gradient (samples of a replay memory, a collate_fn's
    rows) is computed now, on the host: one input to the program that uses it, whichever samples it holds and
    whichever of them are the same tensor. Each part may add a cast and a reshape to the nodes computed."""
    if len(tensors) > 1 and not any(t.requires_grad for t in tensors):
        realize.settle(node, host_read.MAX_NODES + 2 * len(tensors))


# The shape each rank takes in atleast_1d, atleast_2d and atleast_3d (ranks at or above the target keep theirs).
_AT_LEAST = {
    1: {0: lambda s: (1,)},
    2: {0: lambda s: (1, 1), 1: lambda s: (1, *s)},
    3: {0: lambda s: (1, 1, 1), 1: lambda s: (1, *s, 1), 2: lambda s: (*s, 1)},
}


def _at_least(rank: int, tensors: tuple[Any, ...]) -> Any:
    """Each tensor reshaped to at least ``rank`` dimensions: one tensor for one argument, else a tuple."""
    many = len(tensors) != 1 or isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    grown = tuple(t.reshape(_AT_LEAST[rank][t.ndim](t.shape)) if t.ndim < rank else t for t in items)
    return grown if many else grown[0]


def atleast_1d(*tensors: Any) -> Any:
    return _at_least(1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    return _at_least(2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    return _at_least(3, tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along columns: the first axis for vectors, the second otherwise."""
    grown = atleast_1d(tuple(tensors))
    return cat(grown, 0 if grown and grown[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join as rows: vectors become rows of a matrix first."""
    return cat(atleast_2d(tuple(tensors)), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along the third axis (depth), after growing each tensor to three dimensions."""
    return cat(atleast_3d(tuple(tensors)), 2)


attach(ShapeMethods)
