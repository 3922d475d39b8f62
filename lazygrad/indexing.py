"""Basic indexing (ints, slices, None, Ellipsis) for reading and for in-place assignment.

Reading is a ``slice`` plus a ``reshape``. Writing is functional: the new value is padded out to the
full shape and chosen with a mask, so ``x[1:3] = v`` just rebinds ``x`` to a new node. A basic-index
result is a view of ``x`` (see ``views``): an in-place op on it (``x[0].zero_()``) reaches ``x`` and every
other view of it, and it sees later in-place changes of ``x``.
Indices with tensors, lists or masks are handled in ``index_ops``.
"""

from __future__ import annotations

import operator
import weakref
from typing import Any

from . import dtypes, index_ops, ops
from . import realization as realize
from .ir import Node
from .reshaping import expanded_shape
from .tensor import Tensor, _as_view, _check_fits, _record, attach


class _Plan:
    """What a basic index selects: a strided box of the tensor, and the shape it is viewed as."""

    def __init__(self, shape: tuple[int, ...], index: Any) -> None:
        items = list(index) if isinstance(index, tuple) else [index]
        for item in items:
            if not (item is None or item is Ellipsis or isinstance(item, (int, slice))) or isinstance(item, bool):
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte tensors "
                                 "are valid indices")
        used = sum(1 for item in items if item is not None and item is not Ellipsis)
        if used > len(shape):
            raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
        if sum(1 for item in items if item is Ellipsis) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items[at:at + 1] = [slice(None)] * (len(shape) - used)
        else:
            items += [slice(None)] * (len(shape) - used)
        self.starts: list[int] = []
        self.stops: list[int] = []
        self.steps: list[int] = []
        self.view: list[int] = []
        self.names: list[str] = []
        axis = 0
        for item in items:
            if item is None:
                self.view.append(1)
                self.names.append("UnsqueezeBackward0")
                continue
            size = shape[axis]
            if isinstance(item, int):
                if not -size <= item < size:
                    raise IndexError(f"index {item} is out of bounds for dimension {axis} with size {size}")
                start = item % size
                self.starts.append(start)
                self.stops.append(start + 1)
                self.steps.append(1)
                self.names.append("SelectBackward0")
            else:
                if item.step is not None and item.step <= 0:
                    raise ValueError("step must be greater than zero")
                start, stop, step = item.indices(size)
                stop = max(stop, start)
                self.starts.append(start)
                self.stops.append(stop)
                self.steps.append(step)
                self.view.append(-(-(stop - start) // step))
                # torch judges the slice as written: only a start of 0, a stop at or past the end and a step of 1
                # (or their blanks) is no view at all
                whole = (item.start or 0) == 0 and (item.stop is None or item.stop >= size) and (item.step or 1) == 1
                if not whole:
                    self.names.append("SliceBackward0")
            axis += 1
        self.name = self.names[-1] if self.names else "AliasBackward0"

    def read(self, node: Node) -> Node:
        box = ops.window(node, tuple(self.starts), tuple(self.stops), tuple(self.steps))
        return ops.reshape(box, tuple(self.view))

    def write(self, node: Node, value: Node) -> Node:
        """``node`` with the selected box replaced by ``value`` (already broadcast to the view)."""
        box_shape = tuple(-(-(b - a) // s) for a, b, s in zip(self.starts, self.stops, self.steps))
        if 0 in box_shape:
            return node
        if all(s == 1 for s in self.steps):
            # a box at positions that are program inputs, so ``x[i] = v`` at every i shares one program
            starts = [ops.const(0, dtypes.int64) if (a, n) == (0, d) else ops.scalar(a, dtypes.int64)
                      for a, n, d in zip(self.starts, box_shape, node.shape)]
            return ops.dynamic_update_slice(node, ops.reshape(value, box_shape), starts)
        interior = tuple(s - 1 for s in self.steps)
        high = tuple(d - a - (n - 1) * s - 1
                     for d, a, s, n in zip(node.shape, self.starts, self.steps, box_shape))
        low = tuple(self.starts)
        placed = ops.pad(ops.reshape(value, box_shape), low, high, interior)
        mask = ops.pad(ops.full(box_shape, True, dtypes.bool_), low, high, interior)
        return ops.select(mask, placed, node)


def _integer_scalars(index: Any) -> Any:
    """``index`` with each 0-d integer tensor read as the integer it holds: torch selects with it, so the result
    is a view (``x[i]`` with ``i = torch.tensor(1)``), not a gathered copy. bool and uint8 ones stay masks."""
    if isinstance(index, Tensor):
        return operator.index(index) if _integer_scalar(index) else index
    if type(index) is tuple and any(isinstance(i, Tensor) and _integer_scalar(i) for i in index):
        return tuple(operator.index(i) if isinstance(i, Tensor) and _integer_scalar(i) else i for i in index)
    return index


def _integer_scalar(t: Tensor) -> bool:
    dtype = t.node.dtype
    return not t.node.shape and not dtype.is_floating_point and dtype not in (dtypes.bool_, dtypes.uint8)


def getitem(t: Tensor, index: Any) -> Tensor:
    out = _getitem(t, index)
    if out._view is not None:  # a view made just now (an advanced index gives a copy)
        out._view.indexed = (weakref.ref(t), index)
    return out


def _getitem(t: Tensor, index: Any) -> Tensor:
    node = t.node
    shape = node.shape
    index = _integer_scalars(index)
    if type(index) is int and shape and -shape[0] <= index < shape[0]:
        # x[i], the most common index (and iteration): the box _Plan would select, without the general walk
        start, ndim = index % shape[0], len(shape)
        box = ops.window(node, (start,) + (0,) * (ndim - 1), (start + 1, *shape[1:]), (1,) * ndim)
        element = _as_view(t, _record("SelectBackward0", ops.reshape(box, shape[1:]), t))
        if ndim == 1 and node.buffer is not None and not node.dtype.is_floating_point:
            realize.settle_element(element.node, node.buffer, start)  # an index, read soon
        return element
    if type(index) is slice and shape and (index.step is None or index.step > 0):
        # x[a:b], a minibatch: the same box and record as _Plan's, without its walk over a one-item index
        start, stop, step = index.indices(shape[0])
        stop, ndim = max(stop, start), len(shape)
        box = ops.window(node, (start,) + (0,) * (ndim - 1), (stop, *shape[1:]), (step,) + (1,) * (ndim - 1))
        view = (-(-(stop - start) // step), *shape[1:])
        return _as_view(t, _record("SliceBackward0", ops.reshape(box, view), t))
    if index_ops.is_advanced(index):
        return index_ops.getitem(t, index)
    plan = _Plan(shape, index)
    # torch reads a lone slice (not in a tuple) through its own path, which records a slice even of a whole axis
    name = "SliceBackward0" if isinstance(index, slice) else plan.name
    return _as_view(t, _record(name, plan.read(node), t))


def setitem(t: Tensor, index: Any, value: Any) -> None:
    index = _integer_scalars(index)
    if index_ops.is_advanced(index):
        index_ops.setitem(t, index, value)
        return
    t._check_inplace()
    if isinstance(value, Tensor) and _assigns_itself(t, index, value):
        return
    plan = _Plan(t.node.shape, index)
    view = tuple(plan.view)
    if isinstance(value, Tensor):
        source = ops.cast(value.node, t.dtype)
        inputs = (t, value)
    else:
        _check_fits(value, t.dtype)
        source = ops.scalar(value, t.dtype)
        inputs = (t,)
    # as torch's copy_ into the window: leading size-1 axes of the value dropped, the rest expanded
    shape = source.shape
    while len(shape) > len(view) and shape[0] == 1:
        shape = shape[1:]
    named = value.dtype if isinstance(value, Tensor) else t.dtype
    source = ops.broadcast_to(ops.reshape(source, shape), expanded_shape(shape, view, named))
    # writing through a view of the whole tensor is a plain copy_ (or fill_ for a single value), as in torch
    whole = "CopyBackwards" if isinstance(value, Tensor) and value.ndim else "FillBackward3"
    name = whole if plan.name == "AliasBackward0" else "CopySlices"
    t._assign(_record(name, plan.write(t.node, source), *inputs), cast=True)


def _assigns_itself(t: Tensor, index: Any, value: Tensor) -> bool:
    """Whether ``value`` is the view ``t[index]`` made with this very index, still reading ``t``'s memory.

    ``x[i] += v`` is Python's read of ``x[i]``, an in-place update of that view (which writes ``x``), and an
    assignment of the view back to ``x[i]``: a copy of a window onto itself, which changes no value. Skipping it
    halves the graph a loop of such updates builds.
    """
    view, own = value._view, t._view
    if view is None or view.indexed is None or own is None or view.storage is not own.storage:
        return False
    source, read_with = view.indexed
    return read_with is index and source() is t and value.dtype is t.dtype


class IndexMethods:
    """``x[index]`` and ``x[index] = value`` (attached to Tensor below)."""

    def __getitem__(self, index: Any) -> Tensor:
        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        setitem(self, index, value)


attach(IndexMethods)
