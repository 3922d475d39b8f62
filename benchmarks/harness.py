"""How a workload is timed: warm-up, calibration, then samples taken round-robin across systems.

Method, per workload:

1. Every system builds its bench from the same numpy data and runs ``warmup`` untimed calls (this is
   where compiling happens). The first call's result is kept to check that all systems agree.
2. Calibration: one more call is timed and a sample becomes ``ceil(min_sample_seconds / t)``
   back-to-back calls, so microsecond-scale steps are not lost in timer resolution. First-call
   benches always use one call per sample, each after its ``prepare`` (e.g. an emptied cache).
3. ``samples`` rounds; in each round every system takes one sample, in an order rotated each round,
   so drift of the machine (frequency, other load) hits all systems alike.
4. Peak memory, after the timing and apart from it: ``memory_calls`` more calls, each after its
   ``prepare``, each measured by :mod:`benchmarks.memory`; the smallest reading is kept (anything else
   the process does meanwhile can only add to a reading).

Each sample is the mean time of one call; the report gives the median, min and max over samples, the
median's ratio to the fastest system's median, and the paired ratio: the median over rounds of a
system's sample divided by the fastest system's sample of the same round. Samples of one round are
taken moments apart, so the paired ratio cancels slow changes of the machine's speed that shift
whole stretches of samples (a busy neighbour, a clock change) and is the steadier of the two.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import environment, memory
from .systems import Bench, System, Unavailable, Unsupported, load
from .workloads import Workload

Progress = Callable[[str], None]
CHECK_RTOL = 1e-3


@dataclass(frozen=True)
class Plan:
    warmup: int
    samples: int
    first_call_samples: int  # first-call samples are slow (a compile each) and need fewer
    min_sample_seconds: float
    quick: bool
    memory_calls: int = 3  # untimed calls measured for peak memory (first-call benches take one)

    @classmethod
    def full(cls) -> Plan:
        return cls(warmup=3, samples=15, first_call_samples=5, min_sample_seconds=0.05, quick=False)

    @classmethod
    def quick_run(cls) -> Plan:
        return cls(warmup=1, samples=3, first_call_samples=2, min_sample_seconds=0.0, quick=True, memory_calls=1)


@dataclass
class Result:
    workload: str
    system: str
    times: list[float]  # seconds per call, one entry per sample
    calls_per_sample: int
    checksum: float  # sum of the first call's result, compared across systems
    per_call: dict[str, float]  # framework counters per timed call (lazygrad: nodes, compiles, ...)
    first_call: dict[str, float] = field(default_factory=dict)  # the same counters over the first, untimed call
    ratio: float = math.nan  # median / fastest median of the workload
    paired_ratio: float = math.nan  # median over rounds of (sample / the fastest system's sample that round)
    peak_bytes: float = math.nan  # resident memory one call adds at its peak over what was held before it
    notes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)


@dataclass(frozen=True)
class Skip:
    system: str
    workload: str  # "*" when the whole system is unavailable
    reason: str


@dataclass
class Report:
    environment: dict[str, Any]
    plan: Plan
    results: list[Result]
    skipped: list[Skip]


def _checksum(value: np.ndarray) -> float:
    return float(np.sum(np.asarray(value, dtype=np.float64)))


class _Entry:
    """One system's bench for the workload being measured, and the samples taken so far."""

    def __init__(self, system: System, bench: Bench) -> None:
        self.system, self.bench = system, bench
        self.calls = 1
        self.times: list[float] = []
        self.counted: dict[str, float] = {}
        self.first_counted: dict[str, float] = {}
        self.checksum = math.nan
        self.peak_bytes = math.nan

    def call(self) -> Any:
        self.bench.prepare()
        return self.bench.step()

    def _counters(self) -> dict[str, float]:
        return dict(self.bench.counters()) if self.bench.counters else {}

    def warm_up(self, count: int) -> None:
        before = self._counters()
        self.checksum = _checksum(self.bench.to_host(self.call()))
        self.first_counted = {name: value - before.get(name, 0) for name, value in self._counters().items()}
        for _ in range(count - 1):
            self.call()

    def calibrate(self, min_seconds: float) -> None:
        if self.bench.first_call or min_seconds <= 0:
            return
        self.bench.prepare()
        start = time.perf_counter()
        self.bench.step()
        self.calls = max(1, min(10_000, math.ceil(min_seconds / max(time.perf_counter() - start, 1e-9))))

    def sample(self) -> None:
        self.bench.prepare()
        before = self._counters()
        start = time.perf_counter()
        for _ in range(self.calls):
            self.bench.step()
        elapsed = time.perf_counter() - start
        if self.bench.counters:
            for name, value in self.bench.counters().items():
                self.counted[name] = self.counted.get(name, 0) + value - before.get(name, 0)
        self.times.append(elapsed / self.calls)

    def measure_memory(self, calls: int) -> None:
        readings = []
        for _ in range(1 if self.bench.first_call else calls):
            self.bench.prepare()
            readings.append(memory.peak_beyond(self.bench.step))
        self.peak_bytes = min(readings)

    def result(self, workload: str) -> Result:
        timed_calls = self.calls * len(self.times)
        per_call = {name: total / timed_calls for name, total in self.counted.items()}
        return Result(workload, self.system.name, self.times, self.calls, self.checksum, per_call, self.first_counted,
                      peak_bytes=self.peak_bytes)


def _failure(error: Exception) -> str:
    return f"failed: {type(error).__name__}: {error}"


def _mark_disagreements(results: list[Result]) -> None:
    finite = [r.checksum for r in results if math.isfinite(r.checksum)]
    if len(finite) < 2:
        return
    reference = statistics.median(finite)
    for r in results:
        if not math.isclose(r.checksum, reference, rel_tol=CHECK_RTOL, abs_tol=1e-5):
            r.notes.append(f"result differs: checksum {r.checksum:.6g}, median of systems {reference:.6g}")


def measure(workload: Workload, systems: Sequence[System], plan: Plan, progress: Progress) -> tuple[list[Result],
                                                                                                   list[Skip]]:
    """Time one workload on every system that can run it; the rest come back as skips with a reason."""
    data = workload.make(plan.quick)
    skipped: list[Skip] = []
    entries: list[_Entry] = []
    with ExitStack() as stack:
        for system in systems:
            builder = system.builders.get(workload.name)
            if builder is None:
                skipped.append(Skip(system.name, workload.name, "not implemented for this system"))
                continue
            progress(f"{workload.name}: setting up and warming up {system.name}")
            try:
                bench = builder(data)
                stack.callback(bench.close)
                entry = _Entry(system, bench)
                entry.warm_up(1 if bench.first_call else plan.warmup)
                entry.calibrate(plan.min_sample_seconds)
            except Unsupported as error:
                skipped.append(Skip(system.name, workload.name, str(error)))
                continue
            except Exception as error:  # a peer that breaks must not take the whole run down
                skipped.append(Skip(system.name, workload.name, _failure(error)))
                continue
            entries.append(entry)
        gc.collect()
        rounds = plan.first_call_samples if any(e.bench.first_call for e in entries) else plan.samples
        for index in range(rounds):
            progress(f"{workload.name}: round {index + 1}/{rounds} over {len(entries)} systems")
            shift = index % max(len(entries), 1)
            for entry in entries[shift:] + entries[:shift]:
                try:
                    entry.sample()
                except Exception as error:
                    skipped.append(Skip(entry.system.name, workload.name, _failure(error)))
                    entries.remove(entry)
        progress(f"{workload.name}: peak memory of {len(entries)} systems")
        for entry in entries:
            entry.measure_memory(plan.memory_calls)
    results = [e.result(workload.name) for e in entries]
    if results:
        fastest = min(results, key=lambda r: r.median)
        for r in results:
            r.ratio = r.median / fastest.median
            r.paired_ratio = statistics.median(t / f for t, f in zip(r.times, fastest.times))
        _mark_disagreements(results)
    return results, skipped


def run(workloads: Sequence[Workload], system_names: Sequence[str], plan: Plan,
        progress: Progress = lambda _: None) -> Report:
    """Load the systems that are available, measure every workload, and describe the machine."""
    systems: list[System] = []
    skipped: list[Skip] = []
    for name in system_names:
        progress(f"loading {name}")
        try:
            systems.append(load(name))
        except Unavailable as error:
            skipped.append(Skip(name, "*", str(error)))
    described = environment.describe(systems)
    results: list[Result] = []
    for number, workload in enumerate(workloads, 1):
        progress(f"[{number}/{len(workloads)}] {workload.name}")
        measured, missed = measure(workload, systems, plan, progress)
        results += measured
        skipped += missed
        for r in measured:
            progress(f"{workload.name}: {r.system} median {r.median * 1e3:.3f} ms "
                     f"({r.ratio:.2f}x fastest, paired {r.paired_ratio:.2f}x)")
    described["load_average_end"] = environment.load_average()
    return Report(described, plan, results, skipped)

