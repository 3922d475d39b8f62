"""Reading one number that is an exact function of computed buffers, on the host and without a program.

The classic minibatch sampler ``for i in ix: data[i:i + n]`` turns every ``i`` into a Python int, and each
``i`` is an element of a computed tensor (``ix[k]``), perhaps plus a number. Realizing for each read would run
a program per row, 32 of them to draw one batch, and end the step's graph at each. Such a read is computed
here with numpy straight from the buffers below it, leaving every pending tensor pending.

The values computed on the way are kept as the nodes' buffers where the backend can take them (every value on
numpy, 0-d ones on any backend, as Python numbers are), so the next element of the same row reads one node.

Only primitives that give the same bits on every backend qualify: the structural ones on any dtype, and
integer and boolean arithmetic and comparisons. A float sum or a transcendental function may round
differently on another backend, so reading one realizes as usual; so does anything random or checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np

from .backends.numpy_backend import IMPLS
from .ir import Node, cut

_STRUCTURAL = frozenset({"reshape", "broadcast", "permute", "slice", "dynamic_slice", "dynamic_update_slice", "rev",
                         "pad", "concat", "select", "gather", "const", "iota", "stop_gradient"})
_INTEGRAL = frozenset({"add", "sub", "mul", "neg", "abs", "sign", "max", "min", "eq", "ne", "lt", "le", "gt", "ge",
                       "and", "or", "xor", "logical_not", "cast"})
# Larger graphs, or larger device buffers (which would be copied to the host whole), go through a program.
MAX_NODES = 16
_MAX_DEVICE_ELEMENTS = 1 << 16
_serial = attrgetter("serial")


def exact(node: Node) -> bool:
    """Whether ``node``'s primitive gives the same bits on every backend, so the host may compute it."""
    if node.op in _STRUCTURAL:
        return True
    return node.op in _INTEGRAL and not node.dtype.is_floating_point and not any(
        a.dtype.is_floating_point for a in node.args)


def _host(buffer: object) -> np.ndarray | None:
    if type(buffer) is np.ndarray:
        return buffer
    if getattr(buffer, "size", _MAX_DEVICE_ELEMENTS) >= _MAX_DEVICE_ELEMENTS or not getattr(
            buffer, "is_fully_addressable", True):
        return None
    return np.asarray(buffer)


def values(node: Node, limit: int = MAX_NODES) -> tuple[dict[Node, np.ndarray], list[np.ndarray]] | None:
    """The values of ``node`` and of the pending nodes below it, computed on the host, and the buffers they were
    computed from; None when the pending graph is larger than ``limit`` nodes or not exact."""
    pending: list[Node] = []
    leaves: dict[Node, np.ndarray] = {}
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current.buffer is not None:
            host = _host(current.buffer)
            if host is None:
                return None
            leaves[current] = host
        elif len(pending) == limit or not exact(current):
            return None
        else:
            pending.append(current)
            stack.extend(current.args)
    pending.sort(key=_serial)
    known = dict(leaves)  # integer arithmetic wraps around silently in numpy arrays, as in XLA: no errstate needed
    computed = {}
    for current in pending:
        value = IMPLS[current.op](*[known[a] for a in current.args], *current.params)
        known[current] = computed[current] = np.asarray(value, dtype=current.dtype.np)
    return computed, list(leaves.values())


# Data preparation folded out of a program: exact, non-float primitives on computed buffers, each value small.
_FOLDABLE = (_STRUCTURAL | _INTEGRAL) - {"const", "iota"}
_MAX_FOLDED_ELEMENTS = 1 << 14


def fold_data(pending: list[Node], take: Callable[[np.ndarray], Any], shared: Callable[[Any], bool]) -> bool:
    """Compute on the host the pending integer and boolean nodes that move or compare computed data, giving each
    its buffer (``take`` makes a host value a backend buffer); whether any was. ``pending`` is in serial order, so
    a chain folds whole.

    A batch of token ids padded from sequences of varying lengths (``pad_sequence``, ``torch.cat`` of a ``<bos>``,
    a sentence and an ``<eos>``) is otherwise part of the step's program, whose structure then changes with every
    batch's lengths: a compile per step. Folded, the batch is one input whose shape alone is in the structure.
    Results are the same bits on every backend; a node reading memory numpy shares (``shared``) stays pending.
    A folded node becomes a computed leaf, as a realized one does: integer data has no gradient to keep its
    arguments for, and a batch kept for later must not hold every sentence it was padded from.
    """
    folded = False
    for node in [n for n in pending if n.op in _FOLDABLE and not n.dtype.is_floating_point]:
        if math.prod(node.shape) > _MAX_FOLDED_ELEMENTS:
            continue
        args = _host_args(node, shared)
        if args:
            node.buffer = take(np.asarray(IMPLS[node.op](*args, *node.params), dtype=node.dtype.np))
            cut(node)
            folded = True
    return folded


def _host_args(node: Node, shared: Callable[[Any], bool]) -> list[np.ndarray] | None:
    """The host values of an exact node's arguments when each is a constant or a small computed buffer."""
    if not exact(node):
        return None
    args = []
    for a in node.args:
        if a.op == "const":
            args.append(IMPLS["const"](*a.params))
            continue
        host = _host(a.buffer) if a.buffer is not None and not shared(a.buffer) else None
        if host is None:
            return None
        args.append(host)
    return args
