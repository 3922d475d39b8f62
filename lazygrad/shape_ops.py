"""Rearrangements: roll, diagonals and meshgrid.

All are slices, pads, concatenations and broadcasts of the input, so their gradients come from those
primitives' rules: a diagonal is a strided slice of the flattened matrix, and placing a vector on a
diagonal is a pad with interior zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import ops
from .ir import Node, apply
from .tensor import Tensor, _as_view, _dim, _record, _wrap


def rolled(x: Node, shift: int, axis: int) -> Node:
    """``x`` rotated by ``shift`` positions along ``axis`` (elements leaving one end enter at the other)."""
    size = x.shape[axis]
    shift = shift % size if size else 0
    if not shift:
        return x
    rank = len(x.shape)
    ones = (1,) * rank

    def part(start: int, stop: int) -> Node:
        starts = tuple(start if a == axis else 0 for a in range(rank))
        stops = tuple(stop if a == axis else d for a, d in enumerate(x.shape))
        return ops.slice_(x, starts, stops, ones)

    return apply("concat", (part(size - shift, size), part(0, size - shift)), (axis,))


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Rotate along each of ``dims`` by the matching shift; without ``dims``, rotate the flattened tensor."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        flat = rolled(ops.reshape(input.node, (input.numel(),)), shifts[0], 0)
        return _record("RollBackward0", ops.reshape(flat, input.node.shape), input)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    node = input.node
    for shift, dim in zip(shifts, dims):
        node = rolled(node, shift, _dim(dim, input.ndim))
    return _record("RollBackward0", node, input)


def _diagonal_of(x: Node, offset: int, dim1: int, dim2: int) -> Node:
    """The diagonal ``offset`` of the (dim1, dim2) planes of ``x``, as a new last axis."""
    rest = [a for a in range(len(x.shape)) if a not in (dim1, dim2)]
    rows, cols = x.shape[dim1], x.shape[dim2]
    planes = ops.permute(x, (*rest, dim1, dim2))
    batch = planes.shape[:-2]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    flat = ops.reshape(planes, (*batch, rows * cols))
    start = offset if offset >= 0 else -offset * cols
    # In a row-major plane the diagonal's elements are cols + 1 apart.
    stop = start + (length - 1) * (cols + 1) + 1 if length else start
    rank = len(flat.shape)
    picked = ops.slice_(flat, (0,) * (rank - 1) + (min(start, rows * cols),), (*batch, min(stop, rows * cols)),
                        (1,) * (rank - 1) + (cols + 1,))
    return ops.reshape(picked, (*batch, length))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` (above the main one if positive) of the planes spanned by ``dim1`` and ``dim2``:
    a view, as in torch, so a write through it reaches ``input`` and a change of ``input`` reaches it."""
    a, b = _dim(dim1, input.ndim), _dim(dim2, input.ndim)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _as_view(input, _record("DiagonalBackward0", _diagonal_of(input.node, offset, a, b), input))


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal (integers sum as int64, as in every torch sum)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    total = _wrap(_diagonal_of(input.node, 0, 0, 1)).sum()
    return _record("TraceBackward0", total.node, input)


def _embed(v: Node, offset: int) -> Node:
    """Square matrices with the last axis of ``v`` on their diagonal ``offset`` and zeros elsewhere."""
    *batch, n = v.shape
    size = n + abs(offset)
    start = offset if offset >= 0 else -offset * size
    used = (n - 1) * (size + 1) + 1 if n else 0
    rank = len(v.shape)
    placed = ops.pad(v, (0,) * (rank - 1) + (start,), (0,) * (rank - 1) + (size * size - start - used,),
                     (0,) * (rank - 1) + (size,))
    return ops.reshape(placed, (*batch, size, size))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices holding the last axis of ``input`` on their diagonal ``offset`` (in the last two axes)."""
    if (_dim(dim1, input.ndim + 1), _dim(dim2, input.ndim + 1)) != (input.ndim - 1, input.ndim):
        raise NotImplementedError("diag_embed places the matrices in the last two dimensions only")
    return _record("DiagEmbedBackward0", _embed(input.node, offset), input)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input placed on a diagonal of a square matrix, or the diagonal of a 2-D input."""
    if input.ndim == 1:
        return _record("DiagEmbedBackward0", _embed(input.node, diagonal), input)
    if input.ndim == 2:
        return _record("DiagonalBackward0_copy", _diagonal_of(input.node, diagonal, 0, 1), input)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids: output ``i`` repeats ``tensors[i]`` along its own axis ('ij'; 'xy' swaps the first two)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    if any(t.dtype is not tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if any(t.ndim > 1 for t in tensors):
        raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list")
    sizes = [t.numel() for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    shape = tuple(sizes)
    out = []
    for t, axis in zip(tensors, axes):
        line = tuple(t.numel() if a == axis else 1 for a in range(len(shape)))
        out.append(_record("ExpandBackward0", ops.broadcast_to(ops.reshape(t.node, line), shape), t))
    return tuple(out)


for _name, _fn in {"roll": roll, "diagonal": diagonal, "diag": diag, "diag_embed": diag_embed, "trace": trace}.items():
    setattr(Tensor, _name, _fn)
