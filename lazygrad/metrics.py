"""Counters that make laziness and caching observable (tests and the benchmark harness read them)."""

from __future__ import annotations

from .ir import nodes_created

_counters = {"compiles": 0, "cache_hits": 0, "executions": 0, "guard_realizations": 0}
_nodes_at_reset = 0


def bump(name: str) -> None:
    _counters[name] += 1


def metrics() -> dict[str, int]:
    """``nodes_built``, ``compiles``, ``cache_hits`` and ``executions`` (backend programs run) so far."""
    return {"nodes_built": nodes_created() - _nodes_at_reset, **_counters}


def reset_metrics() -> None:
    global _nodes_at_reset
    _nodes_at_reset = nodes_created()
    for name in _counters:
        _counters[name] = 0
