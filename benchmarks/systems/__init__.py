"""The systems the harness can compare, each behind a small adapter module imported only when selected.

A system whose framework is missing, or that cannot run here, is reported with the reason instead
of failing the run, so ``python -m benchmarks`` works with any subset of the peers installed.
"""

from __future__ import annotations

import importlib

from .base import Bench, Builder, System, Unavailable, Unsupported

# name -> (adapter module, arguments of its make()); the order here is the order of the table's rows.
SYSTEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lazygrad-numpy": ("lazygrad_system", ("numpy",)),
    "lazygrad-jax": ("lazygrad_system", ("jax",)),
    "lazygrad-numpy-compiled": ("lazygrad_system", ("numpy", True)),
    "lazygrad-jax-compiled": ("lazygrad_system", ("jax", True)),
    "torch": ("torch_system", ()),
    "jax": ("jax_system", ()),
    "numpy": ("numpy_system", ()),
    "tinygrad": ("tinygrad_system", ()),
}


def load(name: str) -> System:
    """Import the adapter and make the system; raises :class:`Unavailable` with a readable reason."""
    module_name, args = SYSTEMS[name]
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith(__name__):
            raise
        raise Unavailable(f"{error.name} is not installed") from None
    return module.make(*args)


def select(names: list[str] | None) -> list[str]:
    """System names in table order (all when ``names`` is empty); raises ValueError for unknown names."""
    if not names:
        return list(SYSTEMS)
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    return [n for n in SYSTEMS if n in names]


__all__ = ["SYSTEMS", "Bench", "Builder", "System", "Unavailable", "Unsupported", "load", "select"]
