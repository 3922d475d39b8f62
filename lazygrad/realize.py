"""Realization: decide what to compute now, get a compiled program from the cache, run it, cut the graph.

When any value is needed, every live tensor with pending work is computed in the same program, the
way PyTorch/XLA syncs live tensors at a step boundary. A training step (forward, backward, update,
then ``loss.item()``) is therefore one backend program, and afterwards every tensor holds a plain
buffer, so the graph does not grow from step to step.
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from . import backends, metrics
from .ir import Node, leaf
from .passes import optimize
from .program import Program, linearize

CACHE_SIZE = int(os.environ.get("LAZYGRAD_CACHE_SIZE", "512"))


class Holder(Protocol):
    """Anything that owns a node and may be rebound to its realized buffer (a Tensor)."""

    node: Node


_pending: list[weakref.ref] = []
_cache: OrderedDict[tuple[str, Program], Any] = OrderedDict()
_backend_name = os.environ.get("LAZYGRAD_BACKEND", "numpy")
_backend = backends.get(_backend_name)


def backend() -> backends.Backend:
    return _backend


def set_backend(name: str) -> None:
    """Select the backend for programs compiled from now on (raises ValueError for an unknown name)."""
    global _backend, _backend_name
    _backend = backends.get(name)
    _backend_name = name


def track(holder: Holder) -> None:
    """Remember a holder of a pending node so the next realization computes it too."""
    _pending.append(weakref.ref(holder))


def realize(targets: Iterable[Holder] = ()) -> None:
    """Compute ``targets`` and every other live pending holder in one backend program."""
    holders = [h for r in _pending if (h := r()) is not None and h.node.buffer is None]
    holders += [t for t in targets if t.node.buffer is None]
    _pending.clear()
    if not holders:
        return
    roots: list[Node] = []
    seen: set[int] = set()
    for h in holders:
        if id(h.node) not in seen:
            seen.add(id(h.node))
            roots.append(h.node)
    program, buffers = linearize(roots)
    outputs = _executable(program)(buffers)
    metrics.bump("executions")
    for node, out in zip(roots, outputs):
        node.buffer = out
    for h in holders:
        h.node = leaf(h.node.buffer, h.node.shape, h.node.dtype)


def _executable(program: Program) -> Any:
    key = (_backend_name, program)
    exe = _cache.get(key)
    if exe is not None:
        _cache.move_to_end(key)
        metrics.bump("cache_hits")
        return exe
    exe = _backend.compile(optimize(program))
    metrics.bump("compiles")
    _cache[key] = exe
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return exe


def to_numpy(holder: Holder) -> np.ndarray:
    """The holder's value on the host, realizing it first if needed."""
    if holder.node.buffer is None:
        realize((holder,))
    return _backend.to_numpy(holder.node.buffer)


def from_numpy(array: np.ndarray) -> Any:
    return _backend.from_numpy(array)


def clear_cache() -> None:
    _cache.clear()
