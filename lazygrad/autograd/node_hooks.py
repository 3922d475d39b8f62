"""Hooks on a ``grad_fn`` itself (``Node.register_prehook`` / ``register_hook``), as the engine calls them.

A record's pre-hooks see its output gradient as a one-tuple ``grad_outputs``; its hooks see
``(grad_inputs, grad_outputs)``, one entry per ``next_functions`` edge. Either may return a tuple of the
same length to replace what it was given, and torch's checks on that tuple apply: its type, its length, and
each tensor's size and dtype. The engine works on bare nodes unless it is building a differentiable graph, so
the gradients are wrapped as Tensors for the hooks and unwrapped after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..tensor import Tensor, _wrap


def _as_tensor(grad: Any) -> Tensor | None:
    return grad if grad is None or isinstance(grad, Tensor) else _wrap(grad)


def _replace(hook: Callable, values: tuple, result: Any) -> tuple:
    """``result`` checked as a replacement for ``values`` (torch's errors when it cannot be one)."""
    if not isinstance(result, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(result).__name__}'")
    name = getattr(hook, "__name__", hook)
    if len(result) != len(values):
        raise RuntimeError(f"hook '{name}' has returned an incorrect number of values (got {len(result)}, but "
                           f"expected {len(values)})")
    for old, new in zip(values, result):
        if old is None or new is None:
            continue
        if tuple(new.shape) != tuple(old.shape):
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        if new.dtype is not old.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {old.type()} got {new.type()})")
    return result


def _unwrap(value: Tensor | None, plain: bool) -> Any:
    return value.node if plain and value is not None else value


def run_prehooks(hooks: list[Callable], ct: Any, plain: bool) -> Any:
    """The output gradient after ``hook(grad_outputs)`` for each pre-hook, in registration order."""
    grad_outputs = (_as_tensor(ct),)
    for hook in list(hooks):
        result = hook(grad_outputs)
        if result is not None:
            grad_outputs = _replace(hook, grad_outputs, result)
    return _unwrap(grad_outputs[0], plain)


def run_hooks(hooks: list[Callable], grads: Sequence[Any], ct: Any, plain: bool) -> list[Any]:
    """The input gradients after ``hook(grad_inputs, grad_outputs)`` for each hook, in registration order."""
    grad_inputs = tuple(_as_tensor(g) for g in grads)
    grad_outputs = (_as_tensor(ct),)
    for hook in list(hooks):
        result = hook(grad_inputs, grad_outputs)
        if result is not None:
            grad_inputs = _replace(hook, grad_inputs, result)
    return [_unwrap(g, plain) for g in grad_inputs]
