"""Cold start with the persistent compile cache: the same script run twice, each time in a fresh process.

Each run imports lazygrad on the jax backend with the same, initially empty cache folder, builds one
workload and runs its first step. The first run compiles every program with XLA and writes it to the
folder; the second loads the executables from it. ``python -m benchmarks --cold-start`` prints both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from .workloads import Workload

RUNS = ("first run (empty cache)", "second run (cache filled)")


@dataclass(frozen=True)
class ColdStart:
    workload: str
    run: str
    process_s: float  # the whole child process, interpreter start-up included
    import_s: float  # import lazygrad and load the jax backend
    first_step_s: float  # build the workload and run its first step, compiles included
    compiles: int
    compile_s: float  # lazygrad's compile_time: tracing, lowering and XLA compilation or cache loading


def _child(workload: str, quick: bool) -> dict[str, Any]:
    """Runs in the child process: time the import and the first step, report lazygrad's counters."""
    start = time.perf_counter()
    import lazygrad

    from . import systems, workloads

    imported = time.perf_counter()
    data = workloads.WORKLOADS[workload].make(quick)
    bench = systems.load("lazygrad-jax").builders[workload](data)
    bench.prepare()
    bench.to_host(bench.step())
    done = time.perf_counter()
    measured = lazygrad.metrics()
    return {"import_s": imported - start, "first_step_s": done - imported, "compiles": measured["compiles"],
            "compile_s": measured["compile_time"]}


def measure(workloads: list[Workload], quick: bool) -> list[ColdStart]:
    """Two fresh processes per workload sharing one new cache folder; the second should skip XLA compiles."""
    rows = []
    for workload in workloads:
        with tempfile.TemporaryDirectory(prefix="lazygrad-cold-start-") as folder:
            env = {**os.environ, "LAZYGRAD_BACKEND": "jax", "LAZYGRAD_CACHE_DIR": folder,
                   "LAZYGRAD_PERSISTENT_CACHE": "1"}
            env.pop("JAX_COMPILATION_CACHE_DIR", None)
            command = [sys.executable, "-m", "benchmarks.cold_start", workload.name, *(["--quick"] if quick else [])]
            for run in RUNS:
                start = time.perf_counter()
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                elapsed = time.perf_counter() - start
                rows.append(ColdStart(workload.name, run, elapsed, **json.loads(done.stdout.splitlines()[-1])))
    return rows


def markdown(rows: list[ColdStart]) -> str:
    from .report import format_seconds

    lines = ["## Cold start with the persistent compile cache (lazygrad-jax)", "",
             "| workload | run | process | import | first step | compiles | compile time |",
             "|---|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.workload} | {r.run} | {format_seconds(r.process_s)} | {format_seconds(r.import_s)} | "
              f"{format_seconds(r.first_step_s)} | {r.compiles} | {format_seconds(r.compile_s)} |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], "--quick" in sys.argv[2:])))
