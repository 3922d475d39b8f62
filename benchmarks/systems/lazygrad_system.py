"""lazygrad on one of its backends, running the shared torch-style workloads.

Both lazygrad systems live in one process and are interleaved by the harness, so every sample first
selects its backend (untimed); the compile cache is keyed by backend, so switching costs nothing else.
"""

from __future__ import annotations

import importlib.metadata

import lazygrad

from . import torch_style
from .base import System, Unavailable


def _clear_compiled(backend: str) -> None:
    lazygrad.clear_cache()
    if backend == "jax":  # XLA keeps its own caches below lazygrad's
        import jax

        jax.clear_caches()


def _force(*tensors: lazygrad.Tensor) -> None:
    """Realize, then wait for the buffers: a jax backend dispatches asynchronously, so a realize that
    returned has only queued the program (reading a value would wait too, but would also copy it)."""
    lazygrad.realize(*tensors)
    for t in tensors:
        wait = getattr(t.node.buffer, "block_until_ready", None)
        if wait is not None:
            wait()


# lazygrad.metrics() minus its wall clock, which the harness measures itself.
COUNTERS = ("nodes_built", "compiles", "cache_hits", "executions", "guard_realizations", "compile_time",
            "execution_time")


def _counters() -> dict[str, float]:
    measured = lazygrad.metrics()
    return {name: measured[name] for name in COUNTERS}


def make(backend: str, compiled: bool = False) -> System:
    """lazygrad on ``backend``; ``compiled`` runs each step's tensor work through ``lazygrad.compile``."""
    original = lazygrad.get_backend()
    try:
        lazygrad.set_backend(backend)
    except (ImportError, ValueError) as error:
        raise Unavailable(f"lazygrad backend {backend!r} unavailable: {error}") from None
    finally:
        lazygrad.set_backend(original)
    style = torch_style.TorchLike(
        lib=lazygrad,
        force=_force,
        select=lambda: lazygrad.set_backend(backend),
        clear_compiled=lambda: _clear_compiled(backend),
        close=lambda: lazygrad.set_backend(original),
        counters=_counters,
        compiled=compiled,
    )
    details = {"backend": backend}
    if backend == "jax":
        details["jax"] = importlib.metadata.version("jax")
    name = f"lazygrad-{backend}" + ("-compiled" if compiled else "")
    return System(name, importlib.metadata.version("lazygrad"), torch_style.builders(style), details)
