"""The backward pass over the autograd graph's records (``autograd_graph``).

Backward walks the ``GradFn`` records in reverse topological order and asks ``autodiff.vjp`` for the
cotangents across each op's piece of the IR. It only builds nodes: gradients stay lazy until something
reads them. With ``create_graph`` the cotangents are Tensors instead of bare nodes, and each op's
gradients are recorded as differentiable ops themselves (see ``_differentiable_vjp``), so a gradient
can be differentiated again by the same machinery.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from ..autodiff import vjp
from ..autograd_graph import (
    _FREED,
    GradFn,
    _identity,
    _leaf_hooks,
    grad_fn_class,
)
from ..ops import add, zeros_like
from ..realization import backward_in_flight
from ..saved_tensors import substitute, unpack_record
from ..tensor import _wrap
from .node_hooks import run_hooks, run_prehooks


def _run_hooks(hooks: list[Callable], ct: Any, plain: bool) -> Any:
    """Pass the gradient through ``hooks``; a hook's non-None result replaces it."""
    grad = _wrap(ct) if plain else ct
    for hook in list(hooks):
        result = hook(grad)
        if result is not None:
            if tuple(result.shape) != tuple(grad.shape):
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the size of value")
            grad = result
    return grad.node if plain else grad


# ---- the engine -------------------------------------------------------------------------------------------

# The backward passes in progress, innermost last (a hook may start another), each by a number of its own, and
# the callbacks to run when the innermost ends: what a hook over several tensors needs to know which gradients
# belong to one pass (``autograd.graph.register_multi_grad_hook``).
_passes: list[int] = []
_pass_numbers = itertools.count()
end_of_pass: list[Callable[[], None]] = []


def current_pass() -> int | None:
    """The number of the innermost backward pass in progress (None outside backward)."""
    return _passes[-1] if _passes else None


def run_backward(roots: Sequence[tuple[Any, Any]], retain_graph: bool, create_graph: bool = False,
                 targets: Sequence[Any] | None = None) -> list[Any]:
    """``_propagate`` as one numbered pass; the callbacks queued in ``end_of_pass`` meanwhile run when it ends."""
    mark = len(end_of_pass)
    _passes.append(next(_pass_numbers))
    try:
        results = _propagate(roots, retain_graph, create_graph, targets)
        for callback in end_of_pass[mark:]:
            callback()
        return results
    finally:
        del end_of_pass[mark:]
        _passes.pop()


def _propagate(roots: Sequence[tuple[Any, Any]], retain_graph: bool, create_graph: bool = False,
               targets: Sequence[Any] | None = None) -> list[Any]:
    """Propagate cotangents from ``(tensor, cotangent)`` roots.

    Without ``targets`` return ``(leaf, gradient)`` for every leaf reached (what ``backward()`` needs);
    with them return one gradient (or None) per target tensor, leaf or not, running only the records
    that lead to a target (what ``autograd.grad`` needs). Cotangents are Nodes, or Tensors with history
    when ``create_graph`` is set.

    A GradFn runs only once all its consumers have contributed, so each op's cotangent is complete
    (summed) before it is pushed further. Without ``retain_graph`` each record drops its nodes as it
    is used, which frees the forward graph and makes a second backward raise torch's error.
    """
    plain = not create_graph
    combine = add if plain else _add_tensors
    cts: dict[GradFn, Any] = {}  # GradFns hash by identity; leaf tensors (which define ==) go by id
    leaf_cts: dict[int, tuple[Any, Any]] = {}
    starts: list[GradFn] = []

    def send(edge: Any, ct: Any) -> None:
        if isinstance(edge, GradFn):
            previous = cts.get(edge)
            cts[edge] = ct if previous is None else combine(previous, ct)
        else:
            entry = leaf_cts.get(id(edge))
            leaf_cts[id(edge)] = (edge, ct if entry is None else combine(entry[1], ct))

    for tensor, ct in roots:
        edge = tensor.grad_fn if tensor.grad_fn is not None else tensor
        send(edge, ct)
        if isinstance(edge, GradFn):
            starts.append(edge)
    starts = list(dict.fromkeys(starts))

    # Count, for every reachable GradFn, how many edges lead into it; remember each one's GradFn edges.
    waiting: dict[GradFn, int] = {}
    inner: dict[GradFn, list[GradFn]] = {}
    stack = list(starts)
    while stack:
        fn = stack.pop()
        if fn in inner:
            continue
        inner[fn] = below = []
        for edge in fn.edges:
            if isinstance(edge, GradFn):
                below.append(edge)
                waiting[edge] = waiting.get(edge, 0) + 1
                if edge not in inner:
                    stack.append(edge)

    target_ids: set[int] = set()
    wanted = None
    everything = targets is None  # backward(): every record runs, nothing is captured
    captured: dict[int, Any] = {}
    if targets is not None:
        target_ids = {id(t.grad_fn if t.grad_fn is not None else t) for t in targets}
        wanted = _leading_to(starts, target_ids)

    ready = [f for f in starts if f not in waiting]
    with backward_in_flight(cts, leaf_cts):  # a realization meanwhile computes the cotangents built so far
        while ready:
            fn = ready.pop()
            # Left in ``cts`` until the record's VJP is built: the guard may realize meanwhile, and a long chain of
            # records is cut only if the cotangent each one starts from is among those it computes.
            ct = cts.get(fn)
            if ct is not None and (everything or id(fn) in wanted or id(fn) in target_ids):
                if fn.tensor_hooks:
                    ct = _run_hooks(fn.tensor_hooks, ct, plain)
                if id(fn) in target_ids:
                    captured[id(fn)] = ct
                if everything or id(fn) in wanted:
                    if fn.inputs is None:
                        raise RuntimeError(_FREED)
                    attached = fn.attached  # node hooks: pre-hooks after the tensor hooks, hooks after the VJP
                    if attached is not None and attached.prehooks:
                        ct = run_prehooks(attached.prehooks, ct, plain)
                    if ct is None:  # a pre-hook dropped the gradient: nothing flows on
                        grads = [None] * len(fn.edges)
                    elif fn.custom:
                        grads = fn.apply_backward(ct, create_graph)
                    elif not plain:
                        grads = _zeros_where_unreached(fn, _differentiable_vjp(fn, ct), False)
                    else:
                        grads = _zeros_where_unreached(fn, _rule_vjp(fn, ct, fn.needed, False), True)
                    if attached is not None and attached.hooks:
                        grads = run_hooks(attached.hooks, grads, ct, plain)
                    for edge, g in zip(fn.edges, grads):
                        if g is None or edge is None:
                            continue
                        if isinstance(edge, GradFn):  # ``send``'s first case, inline: most edges
                            previous = cts.get(edge)
                            cts[edge] = g if previous is None else combine(previous, g)
                        else:
                            send(edge, g)
                    if not retain_graph:
                        fn.release()
            cts.pop(fn, None)
            for edge in inner[fn]:
                left = waiting[edge] - 1
                waiting[edge] = left
                if left == 0:
                    ready.append(edge)

    if _leaf_hooks:
        for key, (leaf_tensor, ct) in leaf_cts.items():
            hooks = _leaf_hooks.get(key)
            if hooks and (everything or key in target_ids):  # a leaf that is not asked for is not reached
                leaf_cts[key] = (leaf_tensor, _run_hooks(hooks, ct, plain))
    if targets is None:
        return list(leaf_cts.values())
    results = []
    for t in targets:
        if t.grad_fn is not None:
            results.append(captured.get(id(t.grad_fn)))
        else:
            entry = leaf_cts.get(id(t))
            results.append(None if entry is None else entry[1])
    return results


def _rule_vjp(fn: GradFn, ct: Any, needed: Any, differentiable: bool) -> list[Any]:
    """``fn``'s VJP by the primitives' rules, computed from what its saved-tensor hooks unpack if it was recorded
    under them (see ``saved_tensors``)."""
    grads = vjp(fn.out, fn.inputs, ct, needed)
    return grads if fn.packed is None else substitute(grads, unpack_record(fn, differentiable), fn, ct)


def _zeros_where_unreached(fn: GradFn, grads: list[Any], plain: bool) -> list[Any]:
    """Zeros for an input the op's value does not depend on (``fill_``, ``zero_``), as torch's formulas give.

    Without them the leaves behind such an op would keep ``grad`` None where torch gives zeros. An input
    that appears twice got its whole cotangent at its first position and needs nothing more.
    """
    for edge, g in zip(fn.edges, grads):
        if g is None and edge is not None:
            break
    else:
        return grads  # every input got a gradient: the usual case, decided without a lookup
    out = list(grads)
    for i, (edge, g, node) in enumerate(zip(fn.edges, grads, fn.inputs)):
        if g is None and edge is not None and node.dtype.is_floating_point and all(
                node is not other for other in fn.inputs[:i]):
            zeros = zeros_like(node)
            out[i] = zeros if plain else _wrap(zeros)
    return out


def _leading_to(starts: Sequence[GradFn], target_ids: set[int]) -> set[int]:
    """Ids of the GradFns with an edge path to a target: the only ones ``autograd.grad`` needs to run."""
    memo: dict[int, bool] = {}
    for start in starts:
        stack = [(start, False)]
        while stack:
            fn, expanded = stack.pop()
            if expanded:
                memo[id(fn)] = any(id(e) in target_ids or (isinstance(e, GradFn) and memo[id(e)]) for e in fn.edges
                                   if e is not None)
                continue
            if id(fn) in memo:
                continue
            memo[id(fn)] = False  # the graph is acyclic: the children finish before this entry is final
            stack.append((fn, True))
            stack.extend((e, False) for e in fn.edges if isinstance(e, GradFn) and id(e) not in memo)
    return {key for key, leads in memo.items() if leads}


# ---- create_graph: gradients that are themselves differentiable ----------------------------------------


def _add_tensors(a: Any, b: Any) -> Any:
    return a + b


def _differentiable_vjp(fn: GradFn, ct: Any) -> list[Any]:
    """``fn``'s input gradients as Tensors recorded as ops of ``(ct, *fn's inputs)``.

    The VJP rules build the gradients from primitives over the cotangent node and the op's own input
    nodes, so a record with those inputs and edges ``(ct's edge, *fn.edges)`` lets ``vjp`` differentiate
    the gradient again, towards the cotangent's history and the forward inputs alike. Each gradient gets
    a node of its own: two tensors sharing a node would be confused by the per-node VJP walk.
    """
    # The cotangent enters as a node of its own: a rule that looks into its cotangent's structure (a transposed
    # weight's rule reads a product's operands) would otherwise compute the gradient around it, and nothing
    # would differentiate it towards the cotangent's history.
    ct_node = _identity(ct.node)
    grads = _rule_vjp(fn, ct_node, None, True)
    used = {id(n) for n in fn.inputs}
    used.add(id(ct_node))
    inputs = (ct_node, *fn.inputs)
    ct_edge = ct.grad_fn if ct.grad_fn is not None else (ct if ct.requires_grad else None)
    edges = (ct_edge, *fn.edges)
    cls = grad_fn_class(fn.name() + "Backward")
    out = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        if id(g) in used:
            g = _identity(g)
        used.add(id(g))
        reached = _reached(g, inputs)
        g_edges = tuple(edge if id(node) in reached else None for node, edge in zip(inputs, edges))
        out.append(_wrap(g, cls(g, inputs, g_edges)) if any(e is not None for e in g_edges) else _wrap(g))
    return out


def _reached(node: Any, inputs: Sequence[Any]) -> set[int]:
    """Ids of the ``inputs`` that ``node`` is computed from. A gradient requires grad only through what its
    formula uses, as in torch: ``(2 * x).sum()``'s gradient is a constant, ``(x * x).sum()``'s is not.
    A node older than every input cannot depend on one, which bounds the walk to the op's own nodes."""
    input_ids = {id(n) for n in inputs}
    oldest = min(n.serial for n in inputs)
    reached: set[int] = set()
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in input_ids:
            reached.add(id(n))
            continue
        if id(n) in seen or n.serial < oldest:
            continue
        seen.add(id(n))
        stack.extend(n.args)
    return reached
