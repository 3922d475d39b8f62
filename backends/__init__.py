"""The backend protocol and the registry that picks a backend by name.

A backend turns a linearized :class:`lazygrad.program.Program` into an executable and moves buffers
between the host (numpy) and its own memory. It implements primitives only; everything user-facing
is composed in the front end. Built-in backends are ``numpy`` and ``jax``; a third-party package adds
one through the ``lazygrad.backends`` entry-point group, naming a class with a no-argument constructor.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

from lazygrad.program import Program

Executable = Callable[[Sequence[Any]], list[Any]]


class Backend(Protocol):
    """What lazygrad asks of a backend."""

    name: str
    buffer_type: type  # the class of this backend's buffers: tells which backend made a buffer

    def compile(self, program: Program) -> Executable:
        """Prepare ``program`` to run; the result maps input buffers to output buffers, in order."""

    def from_numpy(self, array: np.ndarray) -> Any:
        """Place host data in this backend's memory (called once per user-created tensor)."""

    def to_numpy(self, buffer: Any) -> np.ndarray:
        """Copy a buffer back to the host, keeping its dtype."""


_BUILTIN = {
    "numpy": "lazygrad.backends.numpy_backend:NumpyBackend",
    "jax": "lazygrad.backends.jax_backend:JaxBackend",
}
_instances: dict[str, Backend] = {}


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="lazygrad.backends")}


def available() -> list[str]:
    """Names of every backend that can be asked for: the built-ins and the registered plug-ins."""
    return sorted(set(_BUILTIN) | set(_entry_points()))


def loaded() -> list[Backend]:
    """The backends created so far (only these can own existing buffers)."""
    return list(_instances.values())


def get(name: str) -> Backend:
    """The backend called ``name``, created on first use; raises ValueError naming the choices."""
    backend = _instances.get(name)
    if backend is not None:
        return backend
    if name in _BUILTIN:
        module, attr = _BUILTIN[name].split(":")
        factory = getattr(importlib.import_module(module), attr)
    elif name in (plugins := _entry_points()):
        factory = plugins[name].load()
    else:
        raise ValueError(f"unknown lazygrad backend {name!r}; available backends: {', '.join(available())}")
    backend = _instances[name] = factory()
    return backend


# torch.backends' switches, for programs that set or read them (``torch.backends.cudnn.benchmark = True``).
# The backends choose their own kernels and precision, so these are plain settings that change nothing.
cudnn = SimpleNamespace(enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False))
mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)  # jax has no Metal backend here
