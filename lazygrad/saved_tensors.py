"""Saved-tensor hooks: what ``autograd.graph.saved_tensors_hooks`` changes in the records ops leave for backward.

In torch an op saves some tensors for its backward (``x * y`` saves both, ``x.exp()`` its result, ``x + y``
nothing); under ``saved_tensors_hooks(pack, unpack)`` each is stored as ``pack(tensor)`` and backward uses
``unpack(packed)`` in its place. lazygrad's records keep graph nodes instead, and backward is the VJP rules
applied to them, so the same contract is kept this way:

- a tensor counts as saved when the op's VJP reads it: when the record is made under hooks, the rule is
  built once against a placeholder cotangent and the nodes its result reaches among the op's inputs and
  output are the saved ones (so ``add`` and ``sum`` save nothing, ``exp`` its result, ``mul`` the factor each
  gradient needs, as in torch);
- an op composed of several recorded ops and recorded again as one (``layer_norm``, ``cross_entropy``) saves
  what its pieces saved: their packs move to its record, so each pack is unpacked once per backward;
- backward builds the gradient as usual, then rebuilds the part of it that reads a saved node (and the op's
  intermediate values that do) over the unpacked tensor's node instead, so the value ``unpack`` returns is
  the one the gradient is computed from. Hooks that give back the tensor they packed rebuild nothing.

The hook stack is thread-local, as torch's is; a pack hook runs with the hooks off, as in torch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from .autodiff import vjp
from .ir import Node, apply, nodes_created
from .ops import add, cast, neg


class _HookState(threading.local):
    def __init__(self) -> None:
        self.stack: tuple[tuple[Callable, Callable], ...] = ()  # (pack, unpack) pairs, innermost last
        self.disabled: str | None = None  # the message of an enclosing ``disable_saved_tensors_hooks``
        # The latest records made under the hooks, by output node, until a record that contains them takes their
        # packs. Bounded, so a long loop under one context keeps no old graph alive; a composite op's pieces are
        # the records made just before it.
        self.recent: dict[Node, Any] = {}


hooks = _HookState()
_RECENT_LIMIT = 1024
# How many hook contexts are open, in all threads: every recorded op reads this plain global first, as a
# thread-local's attribute costs several times more.
active = 0
_counting = threading.Lock()


def push(pack_hook: Callable, unpack_hook: Callable) -> None:
    """Make ``(pack_hook, unpack_hook)`` the innermost hooks (refused under ``disable_saved_tensors_hooks``)."""
    global active
    if hooks.disabled is not None:
        raise RuntimeError(hooks.disabled)
    hooks.stack = (*hooks.stack, (pack_hook, unpack_hook))
    with _counting:
        active += 1


def pop() -> None:
    global active
    hooks.stack = hooks.stack[:-1]
    if not hooks.stack:
        hooks.recent.clear()
    with _counting:
        active -= 1


class Saved:
    """One saved tensor: the node the VJP reads, what ``pack`` made of it, and the ``unpack`` to undo it."""

    __slots__ = ("node", "packed", "unpack")

    def __init__(self, node: Node, packed: Any, unpack: Callable) -> None:
        self.node = node
        self.packed = packed
        self.unpack = unpack

    def unpacked(self) -> Any:
        """``unpack(packed)``, which must be a Tensor (every Tensor holds its value's node)."""
        value = self.unpack(self.packed)
        if not isinstance(getattr(value, "node", None), Node):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(value).__name__}")
        return value


def pack(tensors: Sequence[Any], nodes: Sequence[Node] | None = None) -> list[Saved]:
    """Pack ``tensors`` with the innermost hooks (each tensor's own node unless ``nodes`` says otherwise)."""
    pack_hook, unpack_hook = hooks.stack[-1]
    stack, hooks.stack = hooks.stack, ()  # ops inside a pack hook save nothing through it
    try:
        return [Saved(t.node if nodes is None else node, pack_hook(t), unpack_hook)
                for t, node in zip(tensors, tensors if nodes is None else nodes)]
    finally:
        hooks.stack = stack


def pack_record(record: Any, inputs: Sequence[Any], output: Any) -> None:
    """Fill ``record.packed``: the packs of the recorded ops it is composed of, or else what its backward reads
    of its ``inputs`` (Tensors) and ``output``, packed now.

    Inputs come in reverse order, then the output, which is the order torch's binary ops save in.
    """
    pieces = _pieces(record)
    if pieces:
        record.packed = [saved for piece in pieces for saved in piece.packed]
    else:
        read = _read_by_backward(record)
        chosen = [t for t in reversed(inputs) if t.node in read]
        if record.out in read:
            chosen.append(output)
        record.packed = pack(chosen, [record.out if t is output else t.node for t in chosen])
    recent = hooks.recent
    recent[record.out] = record
    if len(recent) > _RECENT_LIMIT:
        del recent[next(iter(recent))]  # the oldest


def _pieces(record: Any) -> list[Any]:
    """The records made under the hooks whose outputs lie inside ``record``'s own nodes (between its inputs and
    its output), oldest first: the pieces of an op composed of recorded ops."""
    recent = hooks.recent
    boundary = set(record.inputs)
    oldest = min(n.serial for n in record.inputs)
    found = []
    seen: set[Node] = set()
    stack = [record.out]
    while stack:
        node = stack.pop()
        if node in boundary or node in seen or node.serial <= oldest:
            continue
        seen.add(node)
        piece = recent.pop(node, None)
        if piece is not None:
            found.append(piece)
        stack.extend(node.args)
    return sorted(found, key=lambda piece: piece.out.serial)


def _read_by_backward(record: Any) -> set[Node]:
    """The nodes among ``record``'s inputs and output that its VJP reads, found by building it once.

    An op whose gradient reads none of them directly but only values computed inside the op (``relu``'s
    mask) reads the inputs those come from.
    """
    placeholder = Node("buffer", (), (), record.out.shape, record.out.dtype)
    since = nodes_created() + 1
    grads = vjp(record.out, record.inputs, placeholder, record.needed)
    boundary = {*record.inputs, record.out}
    oldest = min(n.serial for n in record.inputs)
    read: set[Node] = set()
    inner: list[Node] = []
    seen: set[Node] = set()
    stack = [g for g in grads if g is not None]
    for bound in (since, oldest + 1):  # the gradient's own nodes first, then the op's intermediate values
        while stack:
            node = stack.pop()
            if node in boundary:
                read.add(node)
            elif node in seen or node.serial <= oldest:  # an older node cannot depend on an input
                continue
            elif node.serial < bound:
                inner.append(node)
            else:
                seen.add(node)
                stack.extend(node.args)
        if read:
            break
        stack = inner
    return read


def unpack_record(record: Any, differentiable: bool) -> dict[Node, Node]:
    """Unpack ``record``'s saved tensors: each saved node that now stands for another, mapped to it.

    For a gradient that is itself differentiated, the stand-in has the unpacked value but the original's
    derivative (``orig + stop_gradient(unpacked - orig)``), as torch gives an unpacked tensor the original's
    history.
    """
    replaced = {}
    for saved in record.packed:
        node = cast(saved.unpacked().node, saved.node.dtype)
        if node is not saved.node:
            if differentiable:
                node = add(saved.node, apply("stop_gradient", (add(node, neg(saved.node)),)))
            replaced[saved.node] = node
    return replaced


def substitute(grads: Sequence[Node | None], replaced: dict[Node, Node], record: Any,
               ct: Node) -> list[Node | None]:
    """``grads``, the VJP of ``record`` for the cotangent ``ct``, rebuilt over ``replaced``'s nodes.

    Every node between the gradients and the record's boundary (its inputs, its output and the cotangent)
    that reads a replaced node, directly or not, is built again with the same primitive and parameters: the
    gradient's own nodes and the op's intermediate values alike.
    """
    if not replaced:
        return list(grads)
    boundary = {*record.inputs, record.out, ct}
    oldest = min(n.serial for n in record.inputs)
    memo = dict(replaced)
    for root in grads:
        stack = [] if root is None else [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            if node in boundary or node.serial <= oldest:
                memo[node] = node
            elif not expanded:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
            else:
                args = tuple([memo[a] for a in node.args])
                changed = any(a is not b for a, b in zip(args, node.args))
                memo[node] = apply(node.op, args, node.params) if changed else node
    return [None if g is None else memo[g] for g in grads]
