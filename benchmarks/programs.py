"""Whole programs as a user times them: each third-party program of ``tests/programs``, start to exit.

A program runs in a fresh process per system: ``python program.py`` on PyTorch, ``python -m lazygrad
program.py`` on each lazygrad backend. The wall time therefore holds what a user waits for: interpreter
start-up, the import, graph building, compiles and the run itself, printing included. On jax a program runs
twice with a new persistent compile cache folder: the first run compiles every program and fills the folder,
the second (a user running the script again) loads the executables from it. ``python -m benchmarks
--programs`` prints the times and their ratios to torch's.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent.parent / "tests" / "programs"
# A smoke run: the cubic fit of the table, one with Python control flow, one with a DataLoader.
QUICK = ("poly_sequential", "poly_dynamic", "loader_early_stopping")
JAX_FIRST, JAX_AGAIN = "lazygrad-jax", "lazygrad-jax-again"  # the second run of the same script
# The systems in the order they run, each with the module it needs: torch itself, or lazygrad's backend.
SYSTEMS = {"torch": "torch", "lazygrad-numpy": "numpy", JAX_FIRST: "jax", JAX_AGAIN: "jax"}


@dataclass(frozen=True)
class ProgramRun:
    program: str
    system: str
    seconds: float | None  # None: the program failed on this system
    error: str = ""


def available_systems() -> list[str]:
    """torch when it is installed, lazygrad on numpy always and on jax when jax is installed."""
    import importlib.util

    return [name for name, module in SYSTEMS.items() if importlib.util.find_spec(module)]


def _on_torch(system: str) -> bool:
    return system == "torch"


def _environment(system: str, cache: str) -> dict[str, str]:
    env = {**os.environ, "LAZYGRAD_PERSISTENT_CACHE": "1", "LAZYGRAD_CACHE_DIR": cache}
    env.pop("PROGRAM_STEPS", None)
    if not _on_torch(system):
        env["LAZYGRAD_BACKEND"] = SYSTEMS[system]
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=PROGRAMS)
    return time.perf_counter() - start, done


def run_program(program: str, system: str, cache: str) -> ProgramRun:
    """One run in a fresh process; ``cache`` is the persistent compile cache folder (jax uses it)."""
    runner = () if _on_torch(system) else ("-m", "lazygrad")
    seconds, done = _timed([sys.executable, *runner, str(PROGRAMS / f"{program}.py")], _environment(system, cache))
    if done.returncode:
        return ProgramRun(program, system, None, (done.stderr.strip().splitlines() or ["exit code"])[-1])
    return ProgramRun(program, system, seconds)


def import_seconds(system: str) -> float:
    """A fresh interpreter that only imports the framework: the fixed cost inside every program's time."""
    with tempfile.TemporaryDirectory(prefix="lazygrad-programs-") as cache:
        statement = "import torch" if _on_torch(system) else "import lazygrad"
        return _timed([sys.executable, "-c", statement], _environment(system, cache))[0]


def measure(programs: list[str], systems: list[str], progress=print) -> tuple[list[ProgramRun], dict[str, float]]:
    """Every program on every system; each program's jax runs share a new cache folder, the first run first."""
    runs = []
    for program in programs:
        with tempfile.TemporaryDirectory(prefix="lazygrad-programs-") as cache:
            if JAX_AGAIN in systems and JAX_FIRST not in systems:
                run_program(program, JAX_FIRST, cache)  # fills the cache the timed run loads from
            for system in sorted(systems, key=list(SYSTEMS).index):
                runs.append(run_program(program, system, cache))
                progress(f"{program} on {system}: " + (f"{runs[-1].seconds:.2f} s" if runs[-1].seconds is not None
                                                       else f"failed ({runs[-1].error})"))
    return runs, {system: import_seconds(system) for system in systems}


def select(names: list[str], quick: bool) -> list[str]:
    known = sorted(path.stem for path in PROGRAMS.glob("*.py"))
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown programs {', '.join(unknown)}; known: {', '.join(known)}")
    return names or (list(QUICK) if quick else known)


def markdown(runs: list[ProgramRun], imports: dict[str, float]) -> str:
    from .report import format_seconds

    systems = list(imports)
    others = [s for s in systems if s != "torch"] if "torch" in systems else []
    times = {(r.program, r.system): r.seconds for r in runs}
    programs = list(dict.fromkeys(r.program for r in runs))
    lines = ["## Whole programs, start to exit (a fresh process each; jax's second run loads its compiles)", "",
             "| program | " + " | ".join(systems) + "".join(f" | {s} / torch" for s in others) + " |",
             "|---|" + "---:|" * (len(systems) + len(others))]
    ratios: dict[str, list[float]] = {s: [] for s in others}
    for program in programs:
        cells = [format_seconds(t) if (t := times[program, s]) is not None else "failed" for s in systems]
        for s in others:
            mine, torch = times[program, s], times[program, "torch"]
            if mine is None or torch is None:
                cells.append("n/a")
                continue
            ratios[s].append(mine / torch)
            cells.append(f"{mine / torch:.2f}")
        lines.append(f"| {program} | " + " | ".join(cells) + " |")
    if others:
        means = [f"{math.exp(sum(map(math.log, r)) / len(r)):.2f}" if r else "n/a" for r in ratios.values()]
        lines.append("| **geometric mean** | " + " | ".join([""] * len(systems) + means) + " |")
    lines += ["", "Import alone (a fresh interpreter): "
              + ", ".join(f"{s} {format_seconds(t)}" for s, t in imports.items()) + "."]
    failures = [r for r in runs if r.seconds is None]
    lines += [f"- {r.program} failed on {r.system}: {r.error}" for r in failures]
    return "\n".join(lines) + "\n"
