"""Peak memory of one call beyond the memory held before it: the process's resident-set high-water mark.

One method for every system, so the column compares them: Linux resets a process's peak resident set
(``VmHWM``) when ``5`` is written to ``/proc/self/clear_refs``. Before the call, garbage is collected and
glibc is asked to hand its free pages back (``malloc_trim``), so the resident set before (``VmRSS``) is
close to what the process holds; after the call, ``VmHWM`` minus that is the most the call added at any
moment. This sees what counting framework objects cannot: XLA's temporaries inside an executable (the jax
CPU client reports no ``memory_stats()``, and ``jax.live_arrays()`` holds only a step's inputs and
outputs), torch's and numpy's scratch arrays, and a donated buffer that is reused rather than freed.
Readings are whole pages and can lag by a few hundred KiB: the kernel folds each thread's page counts into
the process's in batches. Elsewhere (not Linux, no glibc) :func:`available` is false and the column reads
n/a.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_RESET_PEAK = "5"  # clear_refs code that resets the peak resident set


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def _status_bytes(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    raise OSError(f"{_STATUS} has no {field}")


def available() -> bool:
    """Whether this process can reset and read its peak resident set."""
    try:
        _CLEAR_REFS.write_text(_RESET_PEAK)
        _status_bytes("VmHWM")
    except OSError:
        return False
    return _LIBC is not None


_AVAILABLE = available()


def peak_beyond(call: Callable[[], Any]) -> float:
    """Bytes by which the process's resident set rose above its level before ``call`` at the call's peak."""
    if not _AVAILABLE:
        return math.nan
    gc.collect()
    _LIBC.malloc_trim(0)
    _CLEAR_REFS.write_text(_RESET_PEAK)
    before = _status_bytes("VmRSS")
    call()
    return float(max(_status_bytes("VmHWM") - before, 0))


def format_bytes(count: float) -> str:
    """Binary units, as the kernel counts pages: 1 MiB = 2**20 bytes."""
    if not math.isfinite(count):
        return "n/a"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count:.0f} B"
