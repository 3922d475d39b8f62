"""What the numbers were measured on: machine, date and versions, stored with every report."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .systems import System

# Settings that change how many threads the peers use, and so their times.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS", "LAZYGRAD_BACKEND")


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe(systems: Sequence[System]) -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "device": "cpu",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "systems": {s.name: {"version": s.version, **s.details} for s in systems},
        "environment": {name: os.environ[name] for name in THREAD_VARIABLES if name in os.environ},
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load: other processes competing for the cores make thread pools stall."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []
