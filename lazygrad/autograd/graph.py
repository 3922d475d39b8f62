"""``torch.autograd.graph``: hooks on what backward saves and on gradients of several tensors, and the ``Node``
type of ``grad_fn`` objects.

How saved-tensor hooks map onto lazygrad's records (which keep graph nodes, not tensors) is described in
``lazygrad.saved_tensors``.
"""

from __future__ import annotations

import abc
import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from ..autograd_graph import AccumulateGrad, GradFn
from ..saved_tensors import hooks, pop, push
from ..tensor import Tensor
from .graph_walk import current_pass, end_of_pass


class Node(abc.ABC):
    """The type of every ``grad_fn`` and of the ``AccumulateGrad`` ends of ``next_functions``, for
    ``isinstance`` checks as in torch."""

    @abc.abstractmethod
    def name(self) -> str: ...

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple[tuple[Any, int], ...]: ...


Node.register(GradFn)
Node.register(AccumulateGrad)


class saved_tensors_hooks:
    """Inside, each tensor an op saves for backward is stored as ``pack_hook(tensor)``, and backward computes
    with ``unpack_hook(packed)`` in its place. Nested, the innermost pair applies."""

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        push(self.pack_hook, self.unpack_hook)

    def __exit__(self, *args: object) -> None:
        pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors in host memory until backward needs them. Every lazygrad tensor is a host array
    already, so the round trip is ``.cpu()`` and back to the original device, as torch's hooks do."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor: Tensor) -> tuple[Any, Tensor]:
            return tensor.device, tensor.cpu()

        def unpack_from_cpu(packed: tuple[Any, Tensor]) -> Tensor:
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


class disable_saved_tensors_hooks:
    """Inside, setting saved-tensor hooks raises ``RuntimeError(error_message)``: for features that cannot work
    with them. Entering it while hooks are set raises too."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        self._previous = hooks.disabled
        if hooks.stack:
            raise RuntimeError(self.error_message)
        hooks.disabled = self.error_message

    def __exit__(self, *args: object) -> None:
        hooks.disabled = self._previous


class _MultiHandle:
    """Removes every per-tensor hook of one ``register_multi_grad_hook``."""

    def __init__(self, handles: tuple[Any, ...]) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __enter__(self) -> _MultiHandle:
        return self

    def __exit__(self, *args: object) -> None:
        self.remove()


_MODES = ("all", "any")


def register_multi_grad_hook(tensors: Sequence[Tensor], fn: Callable[..., None], *,
                             mode: Literal["all", "any"] = "all") -> _MultiHandle:
    """Call ``fn`` once per backward pass that reaches any of ``tensors``.

    ``mode="all"``: ``fn(grads)`` with one gradient per tensor (None for those the pass does not reach), once
    the pass has computed them all; lazygrad calls it as the pass ends. ``mode="any"``: ``fn(grad)`` with the
    first of their gradients the pass computes.
    """
    if mode not in _MODES:
        raise ValueError(f"Expects mode to be one of {_MODES} but got {mode}")
    lock = threading.Lock()
    if mode == "all":
        for t in tensors:
            if not t.requires_grad:
                raise AssertionError("Expected gradient function to be set")
        buffers: dict[int | None, list[Tensor | None]] = {}

        def deliver(key: int | None) -> None:
            fn(buffers.pop(key))

        def collector(index: int) -> Callable[[Tensor], None]:
            def collect(grad: Tensor) -> None:
                key = current_pass()
                with lock:
                    buffer = buffers.get(key)
                    if buffer is None:
                        buffer = buffers[key] = [None] * len(tensors)
                        end_of_pass.append(functools.partial(deliver, key))
                buffer[index] = grad
            return collect

        return _MultiHandle(tuple(t.register_hook(collector(i)) for i, t in enumerate(tensors)))
    ran: set[int | None] = set()

    def forget(key: int | None) -> None:
        ran.discard(key)

    @functools.wraps(fn)
    def first(grad: Tensor) -> None:
        key = current_pass()
        with lock:
            if key in ran:
                return
            ran.add(key)
            end_of_pass.append(functools.partial(forget, key))
        fn(grad)

    return _MultiHandle(tuple(t.register_hook(first) for t in tensors if t.requires_grad))


def increment_version(tensor: Tensor | Iterable[Tensor]) -> None:
    """Accepted for torch's programs and does nothing: torch counts in-place writes so backward can refuse a
    saved tensor changed since it was saved, but a lazygrad record keeps the value's node, which a later
    in-place write never changes."""


__all__ = ["Node", "disable_saved_tensors_hooks", "increment_version", "register_multi_grad_hook", "save_on_cpu",
           "saved_tensors_hooks"]
