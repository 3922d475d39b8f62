"""Reverse mode as a graph transformation: one vector-Jacobian rule per primitive.

The rules are declared beside each primitive's shape rule, in ``lazygrad.primitives``, which fills ``VJP``.

A rule receives the cotangent of a node's output, the node, and which arguments need a cotangent; it
returns one cotangent per argument (``None`` where no gradient flows or none is needed). Rules only
build nodes, so the gradient graph is as lazy, cacheable and differentiable as the forward graph.
``vjp`` walks the part of the graph between an output and a set of input nodes and applies the rules;
it never names a primitive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .ir import Node, toposort
from .ops import add

Cotangents = tuple["Node | None", ...]
Rule = Callable[[Node, Node, tuple[bool, ...]], Cotangents]
VJP: dict[str, Rule] = {}  # filled by lazygrad.primitives


# ---- the transformation ------------------------------------------------------------------------------


def _send(cts: dict[Node, Node], args: tuple[Node, ...], arg_cts: Cotangents, needs: tuple[bool, ...]) -> None:
    """Add each needed argument's cotangent into ``cts`` (an argument may appear more than once)."""
    for arg, arg_ct, need in zip(args, arg_cts, needs):
        if need and arg_ct is not None:
            previous = cts.get(arg)
            cts[arg] = arg_ct if previous is None else add(previous, arg_ct)


def vjp(out: Node, inputs: Sequence[Node], ct: Node) -> list[Node | None]:
    """Cotangents of ``inputs`` given the cotangent ``ct`` of ``out``, as new (lazy) nodes.

    Only the subgraph between ``out`` and ``inputs`` is walked; an input that appears twice receives
    its cotangent at its first position only, so a caller that sums per position does not double it.
    Nodes hash by identity, so they key the dictionaries directly.
    """
    input_set = set(inputs)
    cts: dict[Node, Node] = {}
    if out in input_set:
        cts[out] = ct
    elif not out.args:
        pass  # a source (a constant, iota, a draw): its value does not depend on the inputs
    elif all(a in input_set or not a.args for a in out.args):
        # The common case, one primitive applied to the inputs: no walk needed.
        needs = tuple([a in input_set for a in out.args])
        _send(cts, out.args, VJP[out.op](ct, out, needs), needs)
    else:
        order = toposort([out], stop=input_set.__contains__)
        on_path = set(input_set)
        for node in order:
            if any(a in on_path for a in node.args):
                on_path.add(node)
        cts[out] = ct
        for node in reversed(order):
            if node in input_set:
                continue
            g = cts.pop(node, None)
            if g is not None:
                needs = tuple([a in on_path for a in node.args])
                _send(cts, node.args, VJP[node.op](g, node, needs), needs)
    result: list[Node | None] = []
    given: set[Node] = set()
    for node in inputs:
        result.append(None if node in given else cts.get(node))
        given.add(node)
    return result
