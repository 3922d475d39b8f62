"""The IR: nodes of a small primitive set, the table of their shape rules, and graph traversal.

A node is one primitive applied to argument nodes with static parameters. Its shape and dtype are
inferred when it is built, so a bad shape fails on the line that built it. A node whose ``buffer`` is
set holds a computed value; to the scheduler it is an input, whatever ``args`` it still remembers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .dtypes import DType

Shape = tuple[int, ...]


# Serial numbers come from one C-level counter, so nodes built by several threads never share one.
_serials = itertools.count(1)


def nodes_created() -> int:
    """How many nodes were ever built (the next serial number minus one)."""
    return _serials.__reduce__()[1][0] - 1


class Node:
    """One value in the graph: a primitive over argument nodes, or a buffer leaf."""

    __slots__ = ("args", "buffer", "dtype", "op", "params", "serial", "shape")

    def __init__(self, op: str, args: tuple[Node, ...], params: tuple, shape: Shape, dtype: DType,
                 buffer: Any = None) -> None:
        self.op = op
        self.args = args
        self.params = params
        self.shape = shape
        self.dtype = dtype
        self.buffer = buffer
        # Arguments exist before their users, so serial order is a dependency order (see program.linearize).
        self.serial = next(_serials)

    def __repr__(self) -> str:
        state = "buffer" if self.buffer is not None else f"{len(self.args)} args"
        return f"Node({self.op}, {self.shape}, {self.dtype.name}, {self.params}, {state})"


def leaf(buffer: Any, shape: Shape, dtype: DType) -> Node:
    """A node that already holds its value: data from the user, or a realized result."""
    return Node("buffer", (), (), shape, dtype, buffer)


# --------------------------------------------------------------------------------------------------
# The primitive table: every primitive's shape/dtype rule, keyed by name. ``lazygrad.primitives`` declares
# the primitives and fills it; ``apply`` reads it.


@dataclass(frozen=True)
class Primitive:
    name: str
    rule: Callable[..., tuple[Shape, DType]]  # rule(*arg_nodes, *params) -> (shape, dtype)
    kind: str  # "elementwise", "reduce", "shape", "source", "other": lets passes treat families alike


PRIMITIVES: dict[str, Primitive] = {}


def broadcast_shapes(*shapes: Shape) -> Shape:
    """numpy/torch broadcasting; torch's message when two sizes disagree (it checks the last axis first)."""
    ndim = max(len(s) for s in shapes)
    out = []
    for axis in range(-1, -ndim - 1, -1):
        size = 1
        for index, shape in enumerate(shapes):
            if -axis > len(shape):
                continue
            dim = shape[axis]
            if dim != 1:
                if size != 1 and dim != size:
                    first = next(i for i, s in enumerate(shapes) if -axis <= len(s) and s[axis] == size)
                    names = "abcdefgh"
                    raise RuntimeError(
                        f"The size of tensor {names[first]} ({size}) must match the size of tensor "
                        f"{names[index]} ({dim}) at non-singleton dimension {ndim + axis}")
                size = dim
        out.append(size)
    return tuple(reversed(out))


_broadcasts: dict[tuple[Shape, ...], Shape] = {}


def broadcast_known(*shapes: Shape) -> Shape:
    """``broadcast_shapes(*shapes)``, remembered: a bias or a scale meets the same shapes every step. Only results
    are remembered, so a mismatch raises every time."""
    shape = _broadcasts.get(shapes)
    if shape is None:
        shape = broadcast_shapes(*shapes)
        if len(_broadcasts) >= 1 << 14:
            _broadcasts.clear()
        _broadcasts[shapes] = shape
    return shape


# Called after every node an op builds, when set: the tests use it to realize between any two node builds,
# which must never change a result.
build_hook: Callable[[], None] | None = None
# The pending-graph guard (set by ``realize``): called when a node's serial number passes ``guard_at``.
guard_at = 1 << 62
guard: Callable[[Node], None] | None = None  # given the node just built
# Set once numpy shares memory with a tensor (``shared_memory``): given a node's primitive, arguments, parameters,
# shape and dtype before it is built, the arguments it takes instead and the value it holds already (or None).
watch: Callable[[str, tuple[Node, ...], tuple, Shape, DType], tuple[tuple[Node, ...], Any]] | None = None


def apply(op: str, args: tuple[Node, ...], params: tuple = ()) -> Node:
    """Build a node, inferring its shape and dtype from the primitive's rule (which raises on misuse)."""
    primitive = PRIMITIVES[op]
    if primitive.kind == "elementwise":  # rules cheaper than a cache lookup
        shape, dtype = primitive.rule(*args, *params) if params else primitive.rule(*args)
    else:
        shape, dtype = _cached_rule(primitive, args, params)
    if watch is None:
        node = Node(op, args, params, shape, dtype)
    else:
        args, value = watch(op, args, params, shape, dtype)
        node = Node(op, args, params, shape, dtype, value)
    if node.serial > guard_at:
        guard(node)
    if build_hook is not None:
        build_hook()
    return node


# Rule results by (primitive, params, argument shapes and dtypes): a training step repeats the same ops on the
# same shapes, and the shape, reduction and product rules cost several times a lookup. Only results are
# cached, so a misuse raises every time.
_rule_results: dict[tuple, tuple[Shape, DType]] = {}
_RULE_RESULTS_LIMIT = 1 << 16


def _cached_rule(primitive: Primitive, args: tuple[Node, ...], params: tuple) -> tuple[Shape, DType]:
    if len(args) == 1:
        a = args[0]
        key = (primitive.name, params, a.shape, a.dtype)
    elif len(args) == 2:
        a, b = args
        key = (primitive.name, params, a.shape, a.dtype, b.shape, b.dtype)
    else:
        key = (primitive.name, params, *[(a.shape, a.dtype) for a in args])
    try:
        found = _rule_results.get(key)
    except TypeError:  # an unhashable parameter
        return primitive.rule(*args, *params)
    if found is None:
        found = primitive.rule(*args, *params)
        if len(_rule_results) >= _RULE_RESULTS_LIMIT:
            _rule_results.clear()
        _rule_results[key] = found
    return found


def cut(node: Node) -> None:
    """Make a computed node a plain buffer leaf in place, so nothing it was computed from stays alive.

    The node keeps its identity: every tensor, record and pending node that refers to it still does.
    """
    node.op, node.args, node.params = "buffer", (), ()


# --------------------------------------------------------------------------------------------------
# Traversal. Everything is iterative: a 100k-node chain must not touch Python's recursion limit.


def toposort(roots: Iterable[Node], stop: Callable[[Node], bool]) -> list[Node]:
    """Nodes reachable from ``roots`` in dependency order; ``stop(node)`` nodes are kept but not entered."""
    seen: set[Node] = set()  # nodes hash by identity
    order: list[Node] = []
    for root in roots:
        if root in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            if not stop(node):
                stack.extend((a, False) for a in reversed(node.args) if a not in seen)
    return order


def is_computed(node: Node) -> bool:
    return node.buffer is not None


def format_graph(*roots: Node) -> str:
    """The graph below ``roots`` as numbered lines, one per node, in dependency order (for docs and debugging)."""
    names: dict[int, str] = {}
    lines = []
    for node in toposort(roots, stop=lambda n: False):
        names[id(node)] = name = f"%{len(names)}"
        if node.op == "const":
            what = f"const {node.params[0]!r}"
        elif node.buffer is not None or node.op == "buffer":
            what = "buffer"
        else:
            params = ", ".join(repr(p) for p in node.params if not isinstance(p, DType))
            args = ", ".join(names[id(a)] for a in node.args)
            what = f"{node.op}({args}{'; ' + params if params else ''})"
        lines.append(f"{name:>4} = {what}  :: {node.dtype.name}{list(node.shape)}")
    return "\n".join(lines)
