"""What an adapter hands the harness: a timed step per workload, and the hooks around it.

The harness knows nothing about any framework. An adapter turns a workload's numpy data into a
:class:`Bench` whose ``step`` runs one iteration and returns only after the result is computed; the
untimed hooks select a backend, clear compile caches or read counters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


class Unavailable(Exception):
    """The system cannot run here at all (not installed, backend missing); the message says why."""


class Unsupported(Exception):
    """The system cannot run this workload (a missing capability); the message says why."""


def _no_op() -> None:
    return None


@dataclass
class Bench:
    """One system set up for one workload.

    ``step`` returns something from which ``to_host`` gives a numpy value; the harness compares that
    value across systems once, after warm-up, to catch adapters that compute different things.
    ``first_call`` makes every sample a single call preceded by ``prepare`` (for first-call latency);
    otherwise ``prepare`` runs before each sample of back-to-back calls.
    """

    step: Callable[[], Any]
    prepare: Callable[[], None] = _no_op
    first_call: bool = False
    close: Callable[[], None] = _no_op
    counters: Callable[[], Mapping[str, float]] | None = None
    to_host: Callable[[Any], np.ndarray] = np.asarray


Builder = Callable[[Any], Bench]


@dataclass(frozen=True)
class System:
    """A framework (or a backend of one) and the workloads it implements, by workload name."""

    name: str
    version: str
    builders: Mapping[str, Builder]
    details: Mapping[str, str]
