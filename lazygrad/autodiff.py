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
from itertools import compress
from operator import attrgetter

from .ir import Node
from .ops import add

Cotangents = tuple["Node | None", ...]
Rule = Callable[[Node, Node, tuple[bool, ...]], Cotangents]
VJP: dict[str, Rule] = {}  # filled by lazygrad.primitives


def no_gradient(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    """The VJP of a primitive whose result is piecewise constant or integral: no cotangent for any argument.
    The walk knows it by identity: no gradient flows through such a node, so it is never on a path."""
    return (None,) * len(n.args)


# ---- the transformation ------------------------------------------------------------------------------


def _send(cts: dict[Node, Node], args: tuple[Node, ...], arg_cts: Cotangents, needs: tuple[bool, ...]) -> None:
    """Add each needed argument's cotangent into ``cts`` (an argument may appear more than once)."""
    for arg, arg_ct, need in zip(args, arg_cts, needs):
        if need and arg_ct is not None:
            previous = cts.get(arg)
            cts[arg] = arg_ct if previous is None else add(previous, arg_ct)


def vjp(out: Node, inputs: Sequence[Node], ct: Node, needed: Sequence[bool] | None = None) -> list[Node | None]:
    """Cotangents of ``inputs`` given the cotangent ``ct`` of ``out``, as new (lazy) nodes.

    Only the subgraph between ``out`` and the ``needed`` inputs (all of them by default) is walked, so no
    node is built for an input nobody differentiates (a model's data, a loss's target); such an input gets
    None. An input that appears twice receives its cotangent at its first position only, so a caller that
    sums per position does not double it. Nodes hash by identity, so they key the dictionaries directly.
    """
    wanted = inputs if needed is None else list(compress(inputs, needed))
    cts: dict[Node, Node] = {}
    args = out.args
    if out in wanted:
        cts[out] = ct
    elif not args or not wanted:
        pass  # a source (a constant, iota, a draw) does not depend on the inputs; or nothing is wanted
    else:
        needs = []
        for a in args:
            if a in wanted:
                needs.append(True)
            elif a.args and a not in inputs:  # an argument computed inside the record: walk the record's nodes
                _walk(out, set(inputs), wanted, ct, cts)
                break
            else:
                needs.append(False)
        else:  # the common case, one primitive applied to the inputs: no walk needed
            needs = tuple(needs)
            _send(cts, args, VJP[out.op](ct, out, needs), needs)
    if len(inputs) == 1:
        return [cts.get(inputs[0])]
    result: list[Node | None] = []
    for i, node in enumerate(inputs):  # popped: a repeated input's later positions get None
        result.append(None if needed is not None and not needed[i] else cts.pop(node, None))
    return result


_serial = attrgetter("serial")


def _walk(out: Node, input_set: set[Node], wanted: Sequence[Node], ct: Node, cts: dict[Node, Node]) -> None:
    """Apply the rules from ``out`` down to ``input_set`` over the nodes between them, latest first.

    Serial numbers order nodes after their arguments, so sorting the visited nodes replaces a topological
    sort; a node is on the path when one of its arguments is a ``wanted`` input or on the path. The walk
    stops at every input, wanted or not: an input's history belongs to its own record (or to none, when it
    was detached). ``input_set`` is the caller's fresh set: it becomes the set of nodes seen.
    """
    seen = input_set  # the inputs count as seen: the walk never enters them
    seen.add(out)
    stack = [out]
    inner = []
    while stack:
        node = stack.pop()
        inner.append(node)
        for a in node.args:
            if a not in seen:
                seen.add(a)
                if a.args:
                    stack.append(a)
    inner.sort(key=_serial)
    on_path = set(wanted)
    for node in inner:  # a comparison or a stop_gradient ends a path: no rule builds a cotangent toward it
        if not on_path.isdisjoint(node.args) and VJP.get(node.op) is not no_gradient:
            on_path.add(node)
    cts[out] = ct
    for node in reversed(inner):
        g = cts.pop(node, None)
        if g is not None:
            needs = tuple(map(on_path.__contains__, node.args))
            _send(cts, node.args, VJP[node.op](g, node, needs), needs)
