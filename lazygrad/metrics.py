"""Counters, times and sync points that make laziness, caching and compiling observable.

``realize`` and the backends record here; tests, the benchmark harness and users read ``metrics()``
and ``metrics_report()``. Everything is recorded per realization or per compile, never per operation,
so keeping it costs nothing on the op path.
"""

from __future__ import annotations

import os
import time
from collections import Counter

from .ir import nodes_created

_counters = {"compiles": 0, "cache_hits": 0, "executions": 0, "guard_realizations": 0,
             # lazygrad.compile: calls traced, calls replayed without Python, and calls run uncompiled
             "traces": 0, "replays": 0, "graph_breaks": 0}
_times = {"compile_time": 0.0, "execution_time": 0.0}
# (why, file, line) -> how many realizations that user line forced for that reason
_syncs: Counter[tuple[str, str, int]] = Counter()
_nodes_at_reset = 0
_reset_at = time.perf_counter()


def bump(name: str) -> None:
    _counters[name] += 1


def add_time(name: str, seconds: float) -> None:
    _times[name] += seconds


def seconds(name: str) -> float:
    """The time recorded under ``name`` so far: a run that compiles on the way subtracts what compiling took."""
    return _times[name]


def sync(why: str, where: tuple[str, int]) -> None:
    """Count a realization that ran a program, by the reason and the user's line that forced it."""
    _syncs[(why, *where)] += 1


def metrics() -> dict[str, float]:
    """Counts (``nodes_built``, ``compiles``, ``cache_hits``, ``executions``, ``guard_realizations``) and wall
    seconds (``compile_time``, ``execution_time``, and ``wall_time`` since ``reset_metrics()``)."""
    return {"nodes_built": nodes_created() - _nodes_at_reset, **_counters, **_times,
            "wall_time": time.perf_counter() - _reset_at}


def sync_points() -> list[tuple[str, str, int, int]]:
    """``(why, file, line, count)`` for every place that forced a realization, most frequent first."""
    return [(why, file, line, count) for (why, file, line), count in _syncs.most_common()]


def _short(path: str) -> str:
    """A path relative to the working directory when it lies below it: how users name their own files."""
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith("..") else relative


def site(where: tuple[str, int]) -> str:
    return f"{_short(where[0])}:{where[1]}"


def metrics_report() -> str:
    """A readable summary of ``metrics()`` and of the sync points, as PyTorch/XLA's metrics report gives."""
    m = metrics()
    elsewhere = max(m["wall_time"] - m["compile_time"] - m["execution_time"], 0.0)
    lines = [
        f"lazygrad metrics over the last {m['wall_time']:.3f} s (since import or reset_metrics())",
        f"  nodes built          {m['nodes_built']}",
        f"  compiles             {m['compiles']}  ({m['compile_time']:.3f} s)",
        f"  cache hits           {m['cache_hits']}",
        f"  executions           {m['executions']}  ({m['execution_time']:.3f} s)",
        f"  guard realizations   {m['guard_realizations']}",
        f"  outside programs     {elsewhere:.3f} s  (building graphs, and the rest of your Python)",
        "sync points (the lines that made lazygrad compute, most frequent first):",
    ]
    points = sync_points()
    width = max([len(why) for why, *_ in points], default=0)
    lines += [f"  {count:>8}  {why:<{width}}  {site((file, line))}" for why, file, line, count in points]
    if not points:
        lines.append("  none")
    return "\n".join(lines)


def reset_metrics() -> None:
    global _nodes_at_reset, _reset_at
    _nodes_at_reset = nodes_created()
    _reset_at = time.perf_counter()
    for name in _counters:
        _counters[name] = 0
    for name in _times:
        _times[name] = 0.0
    _syncs.clear()
