"""Masks: masked_fill, triangles, positions of nonzero elements, and fills or sums at index positions.

Every mask is a ``select`` between the input and the fill, so the gradient reaches the input where it is
kept and the fill (when it is a tensor) where it is written. Ops whose result size depends on values
(``nonzero``, ``argwhere``, ``masked_select``, one-argument ``where``) realize their input, as torch must
sync for them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes, ops
from .arithmetic import where as _select_where
from .creation import tensor
from .index_ops import _index_node
from .ir import Node, apply, broadcast_shapes
from .tensor import _C10_NAMES, Tensor, _check_fits, _dim, _dims, _record, _torch_type_name, _wrap


def _fill_node(self: Tensor, value: Any) -> Node:
    """A 0-d fill value as a node of ``self``'s dtype (a float value truncates into an integer tensor, as in torch)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        return ops.cast(value.node, self.dtype)
    return ops.scalar(value, self.dtype)


def masked_fill(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True, ``self`` elsewhere; ``mask`` broadcasts with ``self``."""
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_C10_NAMES[mask.dtype.name]}")
    fill = _fill_node(self, value)
    shape = broadcast_shapes(self.node.shape, mask.node.shape)
    node = ops.select(ops.broadcast_to(mask.node, shape), ops.broadcast_to(fill, shape),
                      ops.broadcast_to(self.node, shape))
    if isinstance(value, Tensor):
        return _record("MaskedFillBackward1", node, self, value)
    return _record("MaskedFillBackward0", node, self)


def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    return self._inplace(masked_fill, mask, value)


def _triangle(input: Tensor, diagonal: int, lower: bool, name: str) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name.lower()}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2:]
    offset = apply("sub", (ops.iota((rows, cols), 1), ops.iota((rows, cols), 0)))
    keep = apply("le" if lower else "ge", (offset, ops.const(diagonal, dtypes.int64)))
    node = ops.select(ops.broadcast_to(keep, input.node.shape), input.node, ops.full(input.node.shape, 0, input.dtype))
    return _record(f"{name}Backward0", node, input)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two axes: elements with ``column - row <= diagonal``; zeros elsewhere."""
    return _triangle(input, diagonal, True, "Tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two axes: elements with ``column - row >= diagonal``; zeros elsewhere."""
    return _triangle(input, diagonal, False, "Triu")


def tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    return self._inplace(tril, diagonal)


def triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    return self._inplace(triu, diagonal)


def _triangle_indices(row: int, col: int, offset: int, dtype: Any, lower: bool) -> Tensor:
    rows, cols = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return tensor(np.stack([rows, cols]).astype(np.int64), dtype=dtype or dtypes.int64)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Tensor:
    """The (row, column) coordinates of a ``row x col`` lower triangle, row by row, as a 2 x N tensor."""
    return _triangle_indices(row, col, offset, dtype, lower=True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Tensor:
    """The (row, column) coordinates of a ``row x col`` upper triangle, row by row, as a 2 x N tensor."""
    return _triangle_indices(row, col, offset, dtype, lower=False)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Coordinates of the nonzero elements, one row each. Realizes ``input``: the count depends on its values."""
    values = input.detach()._value()
    found = np.argwhere(values).astype(np.int64)
    if not as_tuple:
        return tensor(found)
    if not values.ndim:  # torch reads a 0-d tensor as one element
        return (tensor(np.zeros(int(found.shape[0]), np.int64)),)
    return tuple(tensor(np.ascontiguousarray(found[:, a])) for a in range(values.ndim))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``; realizes ``input``."""
    return nonzero(input)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, else ``other``; with the condition alone, ``nonzero(as_tuple=True)``
    (which realizes the condition)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes a condition alone, or a condition, an input and an other")
    return _select_where(condition, input, other)


def _where_method(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    return _select_where(condition, self, other)


def count_nonzero(input: Tensor, dim: int | tuple[int, ...] | None = None, *dims: int) -> Tensor:
    if dims:  # count_nonzero(0, 1), as torch also takes
        dim = (dim, *dims)
    nonzero_ = apply("ne", (input.node, ops.const(0, input.dtype)))
    return _wrap(ops.reduce("reduce_sum", ops.cast(nonzero_, dtypes.int64), _dims(dim, input.ndim)))


def _index_mask(self: Tensor, axis: int, index: Tensor, op: str) -> Node:
    """True at the positions ``index`` along ``axis`` of ``self``, broadcast to ``self``'s shape."""
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    size = self.shape[axis] if self.ndim else 1
    positions = ops.reshape(_index_node(index, size, axis, op), (index.numel(),))
    ones = ops.full(positions.shape, 1, dtypes.int32)
    hits = apply("gt", (apply("scatter_add", (ones, positions), (0, size)), ops.const(0, dtypes.int32)))
    line = tuple(size if a == axis else 1 for a in range(self.ndim))
    return ops.broadcast_to(ops.reshape(hits, line), self.node.shape)


def index_fill(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """``self`` with every slice at the positions ``index`` along ``dim`` set to ``value``."""
    axis = _dim(dim, self.ndim)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    _check_fits(value, self.dtype)
    fill = ops.cast(value.node, self.dtype) if isinstance(value, Tensor) else ops.scalar(value, self.dtype)
    node = ops.select(_index_mask(self, axis, index, "index_fill"), ops.broadcast_to(fill, self.node.shape), self.node)
    if isinstance(value, Tensor):
        return _record("IndexFillBackward1", node, self, value)
    return _record("IndexFillBackward0", node, self)


def index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    return self._inplace(index_fill, dim, index, value)


def index_add(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """``self`` plus each slice of ``source`` (scaled by ``alpha``) added at its position in ``index`` along ``dim``."""
    axis = _dim(dim, self.ndim)
    if index.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"index_add_(): self ({_torch_type_name(self.dtype)}) and source "
                           f"({_torch_type_name(source.dtype)}) must have the same scalar type")
    expected = tuple(index.numel() if a == axis else d for a, d in enumerate(self.shape))
    if source.ndim and tuple(source.shape) != expected:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(self.shape)} source.shape = {list(source.shape)}")
    size = self.shape[axis] if self.ndim else 1
    positions = ops.reshape(_index_node(index, size, axis, "index_add"), (index.numel(),))
    updates = ops.reshape(source.node, expected if self.ndim else (index.numel(),))
    if alpha != 1:
        updates = ops.mul(updates, ops.scalar(alpha, self.dtype))
    added = apply("scatter_add", (updates, positions), (axis, size))
    return _record("IndexAddBackward0", ops.add(self.node, ops.reshape(added, self.node.shape)), self, source)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    return self._inplace(lambda t: index_add(t, dim, index, source, alpha=alpha))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where the broadcast ``mask`` is True, as a vector (its length realizes the mask)."""
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = broadcast_shapes(input.shape, mask.shape)
    picked = input.expand(shape)[mask.expand(shape)]
    return _record("MaskedSelectBackward0", picked.node, input)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value of a vector of non-negative integers occurs (or the sum of its ``weights``).

    The count's length is one past the largest value, so the input is realized to find it.
    """
    if input.dtype.is_floating_point:
        raise NotImplementedError(f'"bincount_cpu" not implemented for \'{_torch_type_name(input.dtype)}\'')
    values = input.detach()._value()
    if values.ndim != 1 or (values.size and values.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    size = max(int(values.max()) + 1 if values.size else 0, minlength)
    positions = ops.cast(input.node, dtypes.int64)
    if weights is None:
        updates, dtype = ops.full(input.shape, 1, dtypes.int64), dtypes.int64
    else:
        # torch keeps float32 weights in float32 and sums any other weights in float64.
        dtype = weights.dtype if weights.dtype is dtypes.float32 else dtypes.float64
        updates = ops.cast(weights.detach().node, dtype)
    return _wrap(apply("scatter_add", (updates, positions), (0, size)))


for _name, _fn in {"masked_fill": masked_fill, "masked_fill_": masked_fill_, "tril": tril, "triu": triu,
                   "tril_": tril_, "triu_": triu_, "nonzero": nonzero, "argwhere": argwhere, "where": _where_method,
                   "count_nonzero": count_nonzero, "index_fill": index_fill, "index_fill_": index_fill_,
                   "index_add": index_add, "index_add_": index_add_, "masked_select": masked_select,
                   "bincount": bincount}.items():
    setattr(Tensor, _name, _fn)
