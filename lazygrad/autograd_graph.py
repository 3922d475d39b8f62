"""The autograd graph: which user-level op made which tensor, and the backward pass over it.

Each differentiable op records a ``GradFn``: the node it produced, the nodes of its inputs at that
moment, and an edge per input (the input's own GradFn, the leaf tensor itself, or None). Backward walks
these records in reverse topological order and asks ``autodiff.vjp`` for the cotangents across each
op's piece of the IR. It only builds nodes: gradients stay lazy until something reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .autodiff import vjp
from .ir import Node
from .ops import add

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class GradFn:
    """The record of one differentiable op; its class is named like torch's (``MulBackward0``)."""

    __slots__ = ("edges", "inputs", "out")

    def __init__(self, out: Node, inputs: tuple[Node, ...], edges: tuple[Any, ...]) -> None:
        self.out: Node | None = out
        self.inputs: tuple[Node, ...] | None = inputs
        self.edges = edges

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        return tuple((AccumulateGrad(e) if _is_leaf_edge(e) else e, 0) for e in self.edges)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


class AccumulateGrad:
    """Where a leaf's gradient lands (shown in ``next_functions``, as in torch)."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


_classes: dict[str, type[GradFn]] = {}


def grad_fn_class(name: str) -> type[GradFn]:
    """The GradFn subclass for a torch-style name, made once per name."""
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls


def _is_leaf_edge(edge: Any) -> bool:
    return edge is not None and not isinstance(edge, GradFn)


def run_backward(roots: Sequence[tuple[Any, Node]], retain_graph: bool) -> list[tuple[Any, Node]]:
    """Propagate cotangents from ``(tensor, cotangent)`` roots; return ``(leaf, gradient)`` pairs.

    A GradFn runs only once all its consumers have contributed, so each op's cotangent is complete
    (summed) before it is pushed further. Without ``retain_graph`` each record drops its nodes as it
    is used, which frees the forward graph and makes a second backward raise torch's error.
    """
    cts: dict[int, Node] = {}
    leaf_cts: dict[int, tuple[Any, Node]] = {}
    starts: list[GradFn] = []

    def send(edge: Any, ct: Node) -> None:
        if _is_leaf_edge(edge):
            entry = leaf_cts.get(id(edge))
            leaf_cts[id(edge)] = (edge, ct if entry is None else add(entry[1], ct))
        else:
            previous = cts.get(id(edge))
            cts[id(edge)] = ct if previous is None else add(previous, ct)

    for tensor, ct in roots:
        edge = tensor.grad_fn if tensor.grad_fn is not None else tensor
        send(edge, ct)
        if isinstance(edge, GradFn):
            starts.append(edge)

    # Count, for every reachable GradFn, how many edges lead into it.
    waiting: dict[int, int] = {}
    stack = list({id(f): f for f in starts}.values())
    seen = {id(f) for f in stack}
    while stack:
        fn = stack.pop()
        for edge in fn.edges:
            if isinstance(edge, GradFn):
                waiting[id(edge)] = waiting.get(id(edge), 0) + 1
                if id(edge) not in seen:
                    seen.add(id(edge))
                    stack.append(edge)

    ready = [f for f in {id(f): f for f in starts}.values() if waiting.get(id(f), 0) == 0]
    while ready:
        fn = ready.pop()
        ct = cts.pop(id(fn), None)
        if ct is not None:
            if fn.inputs is None:
                raise RuntimeError(_FREED)
            for edge, g in zip(fn.edges, vjp(fn.out, fn.inputs, ct)):
                if edge is not None and g is not None:
                    send(edge, g)
            if not retain_graph:
                fn.out = fn.inputs = None
        for edge in fn.edges:
            if isinstance(edge, GradFn):
                waiting[id(edge)] -= 1
                if waiting[id(edge)] == 0:
                    ready.append(edge)
    return list(leaf_cts.values())
