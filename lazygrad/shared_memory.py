"""numpy arrays whose memory tensors share, on the numpy backend, where such an array is itself a buffer.

``from_numpy(array)`` and ``t.numpy()`` share memory with numpy, as in torch, and numpy may write that memory
at any moment. torch reads it eagerly: a view (``x[1:3]``, ``x.t()``) shows the memory as it is whenever it is
read, and any other op reads it when the op runs. A lazy op runs later, so while an array is shared every node
built is watched (``ir.watch``):

* a view primitive of a shared buffer is computed at once as a numpy view of it, itself shared, so the
  view stays live as torch's does;
* any other primitive reads a copy of each shared argument, taken when it is built (a ``reshape`` node that
  already holds the copy, so the backward walk still reaches the argument), so numpy's later writes do not
  reach it, as they would not have reached torch's result.

The copies are what an op reads (``X[i:i + n] @ W`` copies the batch, not ``X``). An op that only moves data of
computed buffers (a batch gathered or stacked from a dataset) is done at once with numpy instead, and so is, in a
program of its own, any other op that reads more than ``_COPY_LIMIT`` of shared memory. Nothing is watched
before the first array is shared, nor inside a traced function, whose inputs are its own.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import capture, host_read, ir, views
from .backends.numpy_backend import IMPLS
from .dtypes import DType
from .ir import Node, Shape
from .views import Step

# An op copies shared arguments of up to this many bytes when it is built. A larger one (a dataset that a batch is
# gathered from every step) is not copied: the op is computed at once instead, which costs what the op costs.
_COPY_LIMIT = 1 << 20
# Computes a node in a program of its own and returns its value (set by ``realization``).
compute_now: Callable[[Node], Any] | None = None

# Keyed by id: arrays do not hash by identity. An entry lives as long as its array.
_shared: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def share(array: np.ndarray) -> np.ndarray:
    """Note that numpy may write ``array`` while tensors read it, and watch the nodes built from now on."""
    _shared[id(array)] = array
    ir.watch = _watch
    return array


def is_shared(buffer: Any) -> bool:
    return buffer is not None and _shared.get(id(buffer)) is buffer


def shares_any(buffers: Iterable[Any]) -> bool:
    """Whether one of ``buffers`` is a shared array (no lookup at all while nothing is shared)."""
    return bool(_shared) and any(map(is_shared, buffers))


def unshared(buffers: list[Any], outputs: list[Any]) -> list[Any]:
    """``outputs`` of a program that read ``buffers``, with a copy for any that aliases a shared one: a computed
    value must not change when numpy writes."""
    shared = [b for b in buffers if is_shared(b)] if _shared else None
    if not shared:
        return outputs
    return [np.array(out) if isinstance(out, np.ndarray) and any(np.may_share_memory(out, s) for s in shared)
            else out for out in outputs]


def view_of(array: np.ndarray, steps: Sequence[Step]) -> np.ndarray:
    """The numpy view of ``array`` that a tensor's view ``steps`` take, with torch's strides: writable where torch's
    is (an expanded tensor's memory too), and a copy only where no strides describe the view."""
    found = views.exact_layout(array.shape, steps)
    if found is None or not array.flags.c_contiguous:
        for op, params, extra in steps:
            window = IMPLS[op](array, *map(_number, extra), *params)
            # numpy's broadcast views are read-only; as_strided's are writable as their memory is
            array = as_strided(array, window.shape, window.strides) if op == "broadcast" else window
        return array
    shape, strides, offset = found
    return as_strided(array.reshape(-1)[offset:], shape, tuple(s * array.itemsize for s in strides))


def _number(node: Node) -> Any:
    """A dynamic slice's start: a computed input, or a constant (whose value is its first parameter)."""
    return node.buffer if node.buffer is not None else node.params[0]


def _watch(op: str, args: tuple[Node, ...], params: tuple, shape: Shape, dtype: DType) -> tuple[tuple[Node, ...], Any]:
    """``ir.watch``: the arguments a node being built takes, and its value if it has one already."""
    if not _shared:  # every shared array has died: stop watching until the next one
        ir.watch = None
        if _shared:  # another thread shared one meanwhile
            ir.watch = _watch
        return args, None
    if not args or capture.current() is not None:
        return args, None
    first, rest = args[0].buffer, args[1:]
    if op in views.VIEW_PRIMITIVES and is_shared(first) and all(a.buffer is not None or a.op == "const" for a in rest):
        return args, share(IMPLS[op](first, *map(_number, rest), *params))
    shared = [a.buffer for a in args if is_shared(a.buffer)]
    if not shared:
        return args, None
    node = Node(op, args, params, shape, dtype)
    found = host_read.values(node)
    if found is not None:  # data moved, not computed (a batch gathered from a dataset): numpy takes it now
        value = found[0][node]
        return args, np.array(value) if any(np.may_share_memory(value, b) for b in shared) else value
    if sum(b.nbytes for b in shared) > _COPY_LIMIT:
        return args, compute_now(node)
    return tuple(copy_of(a) if is_shared(a.buffer) else a for a in args), None


def copy_of(node: Node) -> Node:
    """A node holding a copy of a shared ``node``'s value now, through which the backward walk still reaches it."""
    return Node("reshape", (node,), (node.shape,), node.shape, node.dtype, np.array(node.buffer))
