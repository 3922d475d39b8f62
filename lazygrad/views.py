"""Views at the node level: torch's aliasing model over a functional graph.

In torch a view (``x[1:]``, ``x.t()``, ``x.view(2, 2)``, ``x.detach()``) shares memory with its base, so
an in-place change through any of them is seen by all. Here values are immutable nodes, so sharing is
modelled instead: tensors that share memory share a ``Storage``, which holds the node of the whole base
value, and each reader records the shape primitives (its ``steps``) that turn that value into its own.
Writing through a reader builds the base's new value with ``write_back``; every other reader then
rebuilds its node from it with ``replay``. The tensor side of this (who refreshes, autograd records)
lives in ``tensor``; this module only builds nodes and computes torch's strides, which decide whether a
reshape can be a view, whether a tensor is contiguous and whether a write would overlap itself.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence

from . import dtypes, ops
from .ir import Node, Shape, apply

# One view primitive: its name, static parameters, and its arguments besides the viewed value (the start
# positions of a ``dynamic_slice``, which are program inputs).
Step = tuple[str, tuple, tuple[Node, ...]]

VIEW_PRIMITIVES = frozenset(("slice", "dynamic_slice", "reshape", "permute", "broadcast"))


class Storage:
    """What a tensor shares with its views and aliases: the whole base value, and who reads it.

    ``host`` is a weak reference to the numpy array the storage shares memory with (``from_numpy``,
    ``.numpy()``), or None: writes through any reader are then copied into the array at once.
    """

    __slots__ = ("_compact_at", "host", "node", "readers")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.readers: list = []  # weak references to the tensors that read this storage
        self.host = None
        self._compact_at = _COMPACT_AT

    def add_reader(self, reader: object) -> None:
        """Remember ``reader``. A dataset sliced into a minibatch every step gets a reader per step that soon
        dies: the dead ones are dropped as the list grows (amortized), so memory stays flat over long loops."""
        readers = self.readers
        readers.append(weakref.ref(reader))
        if len(readers) > self._compact_at:
            readers[:] = [r for r in readers if r() is not None]
            self._compact_at = 2 * len(readers) + _COMPACT_AT


_COMPACT_AT = 64


class View:
    """How one tensor reads a storage: the steps from the storage's value, and the tensor it follows.

    ``base`` is the tensor whose autograd history the view follows (torch's ``_base``): a write through
    the view becomes a ``CopySlices`` record on it. Aliases made by ``detach()``, ``.data`` and
    ``Parameter`` follow no history: their ``base`` is None, and so is the root's own.
    """

    __slots__ = ("base", "indexed", "steps", "storage")

    def __init__(self, storage: Storage, steps: tuple[Step, ...], base: object | None) -> None:
        self.storage = storage
        self.steps = steps
        self.base = base
        # (the tensor indexed, the index) for a view made by ``tensor[index]``: ``x[i] += v`` assigns it back
        self.indexed: tuple[weakref.ref, object] | None = None


def steps_between(node: Node, base: Node) -> tuple[Step, ...]:
    """The shape primitives that turn ``base`` into ``node`` (a view op just built them), in order."""
    steps = []
    while node is not base:
        if node.op not in VIEW_PRIMITIVES or not node.args:
            return ()  # the identity of a computed value: a fresh leaf with the same buffer
        steps.append((node.op, node.params, node.args[1:]))
        node = node.args[0]
    return tuple(reversed(steps))


def replay(steps: Sequence[Step], node: Node) -> Node:
    """The view of ``node`` that ``steps`` describe, as new nodes (always at least one: a new identity)."""
    if not steps:
        return apply("reshape", (node,), (node.shape,))
    for op, params, extra in steps:
        node = apply(op, (node, *extra), params)
    return node


def _unslice(base: Node, value: Node, params: tuple, extra: tuple) -> Node:
    starts, _, strides = params
    box = value.shape
    if 0 in box:
        return base
    interior = tuple(s - 1 for s in strides)
    high = tuple(d - a - (n - 1) * s - 1 for d, a, s, n in zip(base.shape, starts, strides, box))
    placed = ops.pad(value, starts, high, interior)
    mask = ops.pad(ops.full(box, True, dtypes.bool_), starts, high, interior)
    return ops.select(mask, placed, base)


def _unpermute(base: Node, value: Node, params: tuple, extra: tuple) -> Node:
    (perm,) = params
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return ops.permute(value, inverse)


# How each view primitive's output, once written, becomes its input's new value. Broadcast views are
# never written (``overlaps`` refuses them first), as in torch.
_UNDO: dict[str, Callable[[Node, Node, tuple, tuple], Node]] = {
    "slice": _unslice,
    "dynamic_slice": lambda base, value, params, starts: ops.dynamic_update_slice(base, value, starts),
    "reshape": lambda base, value, params, extra: ops.reshape(value, base.shape),
    "permute": _unpermute,
}


def write_back(root: Node, steps: Sequence[Step], value: Node, uniform: bool = False) -> Node:
    """``root`` with the window that ``steps`` view replaced by ``value``.

    ``uniform`` says every element of ``value`` is the same number (``fill_``, ``zero_``), which torch writes
    even where the view reads one memory element more than once.
    """
    if any(op == "broadcast" for op, _, _ in steps):
        return _write_memory(root, steps, value, uniform)
    below = [root]
    for op, params, extra in steps[:-1]:
        below.append(apply(op, (below[-1], *extra), params))
    for (op, params, extra), node in zip(reversed(steps), reversed(below)):
        value = _UNDO[op](node, value, params, extra)
    return value


def _write_memory(root: Node, steps: Sequence[Step], value: Node, uniform: bool) -> Node:
    """The write through a view of expanded memory, where steps cannot be undone one by one: each element of
    the view is a position in ``root``'s row-major memory (its strides say which), and ``value`` lands there."""
    found = exact_layout(root.shape, steps)
    if found is None:
        raise RuntimeError("unsupported operation: writing through this view of an expanded tensor; clone() the "
                           "tensor first")
    shape, strides, offset = found
    size, count = math.prod(root.shape), math.prod(shape)
    positions = ops.full(shape, offset, dtypes.int64)
    for axis, stride in enumerate(strides):
        if stride and shape[axis] > 1:
            positions = ops.add(positions, ops.mul(ops.iota(shape, axis), ops.const(stride, dtypes.int64)))
    positions = ops.reshape(positions, (count,))
    flat = ops.reshape(root, (size,))
    if not count:
        return root
    hits = apply("scatter_add", (ops.full((count,), 1, dtypes.int32), positions), (0, size))
    if uniform:
        first = ops.reshape(ops.slice_(ops.reshape(value, (count,)), (0,), (1,), (1,)), ())
        placed = ops.broadcast_to(first, (size,))
    else:
        placed = apply("scatter_add", (ops.reshape(value, (count,)), positions), (0, size))
    written = apply("gt", (hits, ops.const(0, dtypes.int32)))
    return ops.reshape(ops.select(written, placed, flat), root.shape)


# ---- strides, as torch would lay the view out in memory -------------------------------------------------


def contiguous_strides(shape: Shape) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def reshaped_strides(shape: Shape, strides: Sequence[int], new_shape: Shape) -> tuple[int, ...] | None:
    """Strides that view memory laid out as ``(shape, strides)`` with ``new_shape``; None when no view can.

    Axes whose memory runs on from one to the next form one block; a new shape is a view exactly when
    each of its axes falls inside one block. Size-1 axes constrain nothing.
    """
    if math.prod(shape) == 0:
        return contiguous_strides(new_shape)
    blocks: list[list[int]] = []  # [size, innermost stride] of each block, outermost first
    for size, stride in zip(shape, strides):
        if size == 1:
            continue
        if blocks and blocks[-1][1] == size * stride:
            blocks[-1] = [blocks[-1][0] * size, stride]
        else:
            blocks.append([size, stride])
    out = [0] * len(new_shape)
    axis = len(new_shape) - 1
    for size, stride in reversed(blocks):
        covered = 1
        while covered < size:
            if axis < 0:
                return None
            out[axis] = stride * covered
            covered *= new_shape[axis]
            axis -= 1
        if covered != size:
            return None
    for rest in range(axis, -1, -1):  # only size-1 axes are left: any stride fits them
        out[rest] = out[rest + 1] * new_shape[rest + 1] if rest + 1 < len(out) else 1
    return tuple(out)


def _slice_layout(shape: Shape, strides: tuple, offset: int, params: tuple, extra: tuple) -> tuple[Shape, tuple, int]:
    starts, stops, steps = params
    offset += sum(a * s for a, s in zip(starts, strides))
    new_shape = tuple(-(-(b - a) // k) for a, b, k in zip(starts, stops, steps))
    return new_shape, tuple(s * k for s, k in zip(strides, steps)), offset


def _dynamic_slice_layout(shape: Shape, strides: tuple, offset: int, params: tuple,
                          starts: tuple) -> tuple[Shape, tuple, int]:
    # The starts are Python numbers entering as inputs (buffers) or constant zeros.
    values = [int(s.buffer) if s.buffer is not None else s.params[0] for s in starts]
    return params[0], strides, offset + sum(v * s for v, s in zip(values, strides))


def _reshape_layout(shape: Shape, strides: tuple, offset: int, params: tuple, extra: tuple) -> tuple[Shape, tuple, int]:
    (new_shape,) = params
    found = reshaped_strides(shape, strides, new_shape)
    return new_shape, found if found is not None else contiguous_strides(new_shape), offset


def _permute_layout(shape: Shape, strides: tuple, offset: int, params: tuple, extra: tuple) -> tuple[Shape, tuple, int]:
    (perm,) = params
    return tuple(shape[p] for p in perm), tuple(strides[p] for p in perm), offset


def _broadcast_layout(shape: Shape, strides: tuple, offset: int, params: tuple,
                      extra: tuple) -> tuple[Shape, tuple, int]:
    (new_shape,) = params
    lead = len(new_shape) - len(shape)
    kept = tuple(0 if size == 1 and want != 1 else s
                 for size, s, want in zip(shape, strides, new_shape[lead:]))
    return new_shape, (0,) * lead + kept, offset


_LAYOUT: dict[str, Callable[..., tuple[Shape, tuple, int]]] = {
    "slice": _slice_layout, "dynamic_slice": _dynamic_slice_layout, "reshape": _reshape_layout,
    "permute": _permute_layout, "broadcast": _broadcast_layout,
}


def layout(root_shape: Shape, steps: Sequence[Step]) -> tuple[Shape, tuple[int, ...], int]:
    """(shape, strides, storage offset) of the view ``steps`` take of a contiguous ``root_shape``."""
    shape, strides, offset = root_shape, contiguous_strides(root_shape), 0
    for op, params, extra in steps:
        shape, strides, offset = _LAYOUT[op](shape, strides, offset, params, extra)
    return shape, strides, offset


def exact_layout(root_shape: Shape, steps: Sequence[Step]) -> tuple[Shape, tuple[int, ...], int] | None:
    """``layout``, or None where a reshape in ``steps`` reads memory no strides describe (a diagonal of a
    transposed or expanded tensor flattens its planes first)."""
    shape, strides, offset = root_shape, contiguous_strides(root_shape), 0
    for op, params, extra in steps:
        if op == "reshape" and reshaped_strides(shape, strides, params[0]) is None:
            return None
        shape, strides, offset = _LAYOUT[op](shape, strides, offset, params, extra)
    return shape, strides, offset


def is_contiguous(shape: Shape, strides: Sequence[int]) -> bool:
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size == 0:
            return True
        if size != 1:
            if stride != expected:
                return False
            expected *= size
    return True


def overlaps(shape: Shape, strides: Sequence[int]) -> bool:
    """Whether two elements of the view share memory (an expanded axis): torch refuses to write those."""
    return any(stride == 0 and size > 1 for size, stride in zip(shape, strides))
