"""The autograd graph's records: which user-level op made which tensor, and the hooks on them.

Each differentiable op records a ``GradFn``: the node it produced, the nodes of its inputs at that
moment, and an edge per input (the input's own GradFn, the leaf tensor itself, or None). The backward
pass over these records is ``autograd.graph_walk``; the Tensor core needs only the records, so it
imports this module and nothing of the walk.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .ir import Node, apply

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class GradFn:
    """The record of one differentiable op; its class is named like torch's (``MulBackward0``).

    ``tensor_hooks`` holds the tensor hooks registered on the op's output (None until one is): they run on
    the output's complete gradient before it is pushed further. ``attached`` holds what user code put on the
    record itself, node hooks and ``metadata`` (None until it does). ``custom`` marks records whose backward
    is user code (``autograd.Function``) rather than the VJP rules. ``packed`` holds what saved-tensor hooks
    packed when the op was recorded under them (see ``saved_tensors``), None otherwise.
    """

    __slots__ = ("attached", "edges", "inputs", "out", "packed", "tensor_hooks")
    custom = False

    def __init__(self, out: Node, inputs: tuple[Node, ...], edges: tuple[Any, ...]) -> None:
        self.out: Node | None = out
        self.inputs: tuple[Node, ...] | None = inputs
        self.edges = edges
        self.tensor_hooks: list[Callable] | None = None
        self.attached: Attached | None = None
        self.packed: list | None = None

    def name(self) -> str:
        return type(self).__name__

    @property
    def needed(self) -> tuple[bool, ...] | None:
        """Which inputs lead somewhere a gradient is wanted; None when all do (the VJP's default)."""
        edges = self.edges
        for edge in edges:  # by identity: ``None in edges`` would call a leaf Tensor's ``__eq__``
            if edge is None:
                return tuple([e is not None for e in edges])
        return None

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        return tuple((AccumulateGrad(e) if _is_leaf_edge(e) else e, 0) for e in self.edges)

    @property
    def metadata(self) -> dict:
        """A dict of the user's own, kept with the record (empty until something is stored in it)."""
        return self._attached().metadata

    def register_hook(self, fn: Callable) -> RemovableHook:
        """``fn(grad_inputs, grad_outputs)`` runs once the op has computed its inputs' gradients (a tuple with
        None for an input that needs none); a tuple it returns replaces them."""
        hooks = self._attached().hooks
        hooks.append(fn)
        return RemovableHook(hooks, fn)

    def register_prehook(self, fn: Callable) -> RemovableHook:
        """``fn(grad_outputs)`` runs before the op computes its inputs' gradients, after the output tensor's
        hooks; a tuple it returns replaces the output gradients."""
        hooks = self._attached().prehooks
        hooks.append(fn)
        return RemovableHook(hooks, fn)

    def _attached(self) -> Attached:
        if self.attached is None:
            self.attached = Attached()
        return self.attached

    def register_tensor_hook(self, hook: Callable) -> RemovableHook:
        """``hook(grad)`` runs on the output tensor's gradient; a non-None result replaces it.

        Hooks run in registration order, except that ``retain_grad`` storage always runs last, as in
        torch, so a retained gradient is the one that actually flows on.
        """
        if self.tensor_hooks is None:
            self.tensor_hooks = []
        hooks = self.tensor_hooks
        retained = [h for h in hooks if isinstance(h, RetainGrad)]
        position = hooks.index(retained[0]) if retained and not isinstance(hook, RetainGrad) else len(hooks)
        hooks.insert(position, hook)
        return RemovableHook(hooks, hook)

    def release(self) -> None:
        """Drop the saved nodes once backward has used them (unless the graph is retained)."""
        self.out = self.inputs = self.packed = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


class Attached:
    """What user code attaches to a record: node pre-hooks, node hooks and ``metadata``."""

    __slots__ = ("hooks", "metadata", "prehooks")

    def __init__(self) -> None:
        self.prehooks: list[Callable] = []
        self.hooks: list[Callable] = []
        self.metadata: dict = {}


class AccumulateGrad:
    """Where a leaf's gradient lands (shown in ``next_functions``, as in torch)."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple[()]:
        return ()  # a leaf: the walk down ``next_functions`` ends here, as in torch

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class RemovableHook:
    """Returned by ``register_hook``: ``remove()`` unregisters the hook."""

    __slots__ = ("_hook", "_hooks")

    def __init__(self, hooks: list[Callable], hook: Callable) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        for i, h in enumerate(self._hooks):
            if h is self._hook:
                del self._hooks[i]
                return

    def __enter__(self) -> RemovableHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class RetainGrad:
    """The hook behind ``Tensor.retain_grad()``: stores the gradient flowing through a non-leaf tensor."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Any) -> None:
        self.tensor = weakref.ref(tensor)

    def __call__(self, grad: Any) -> None:
        tensor = self.tensor()
        if tensor is not None:
            tensor._accumulate_grad(grad if grad.requires_grad else grad.node)


_classes: dict[str, type[GradFn]] = {}


def grad_fn_class(name: str) -> type[GradFn]:
    """The GradFn subclass for a torch-style name, made once per name."""
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls


def _is_leaf_edge(edge: Any) -> bool:
    return edge is not None and not isinstance(edge, GradFn)


# ---- hooks on leaf tensors ------------------------------------------------------------------------------
# A leaf has no GradFn to carry its hooks, so they live here, keyed by the tensor's id and dropped
# with the tensor. Backward looks here only when the table is non-empty.

_leaf_hooks: dict[int, list[Callable]] = {}
# ``hook(tensor)`` after a backward pass has accumulated into the leaf's ``.grad`` (an optimizer step per
# parameter, run inside backward).
post_accumulate_hooks: dict[int, list[Callable]] = {}


def register_leaf_hook(tensor: Any, hook: Callable, table: dict[int, list[Callable]] = _leaf_hooks) -> RemovableHook:
    """Register ``hook(grad)`` on a leaf tensor, run before the gradient is accumulated (or ``hook(tensor)`` in
    ``post_accumulate_hooks``, run after)."""
    key = id(tensor)
    hooks = table.get(key)
    if hooks is None:
        hooks = table[key] = []
        weakref.finalize(tensor, table.pop, key, None)
    hooks.append(hook)
    return RemovableHook(hooks, hook)


def _identity(node: Node) -> Node:
    return apply("reshape", (node,), (node.shape,))
