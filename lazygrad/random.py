"""``torch.random``: the default generator's seed and state, and ``fork_rng`` to draw without disturbing it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .creation import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: Any = None) -> Iterator[None]:
    """Draws inside the block leave the default generator where it was: its state is restored on exit."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed",
           "set_rng_state"]
