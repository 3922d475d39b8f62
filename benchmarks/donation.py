"""Buffer donation: the peak memory of a large-parameter training step, with and without donation.

The step: four 4096x4096 float32 weights (256 MiB), ``h = tanh(h @ w)`` through them from a batch of 8,
the sum as the loss, one SGD step. lazygrad-jax runs it under ``lazygrad.compile``, handwritten jax as a
``jax.jit`` of ``grad`` plus the update, each with donation and without. Each variant runs in a fresh
process, so one variant's freed pages cannot lower another's reading.

Per variant: the bytes of live jax arrays before a step (what the process holds between steps), the peak
the step adds on top of that (:mod:`benchmarks.memory`, the smallest of three steps), their sum, and the
median step time. A lazygrad loop that calls ``zero_grad()`` first keeps every gradient between steps, as
torch does; one that calls it last drops them, as the jax step does, which is the like-for-like comparison.
``python -m benchmarks --donation`` prints the table; it is not part of the default or ``--quick`` runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LAYERS = 4
BATCH = 8
LR = 1e-4
WARMUP = 4  # lazygrad.compile's first call runs as usual, the second traces: replays start at the third
MEASURED = 3

# name -> (system, donate, zero_grad placement); the order is the table's.
VARIANTS: dict[str, tuple[str, bool, str]] = {
    "lazygrad-jax compiled, zero_grad first": ("lazygrad", True, "first"),
    "lazygrad-jax compiled, zero_grad first, no donation": ("lazygrad", False, "first"),
    "lazygrad-jax compiled, zero_grad last": ("lazygrad", True, "last"),
    "lazygrad-jax compiled, zero_grad last, no donation": ("lazygrad", False, "last"),
    "jax.jit, donate_argnums": ("jax", True, ""),
    "jax.jit, no donation": ("jax", False, ""),
}


@dataclass(frozen=True)
class DonationRow:
    variant: str
    held_bytes: float  # live jax arrays before a step
    peak_bytes: float  # what the step adds at its peak (resident-set high-water mark)
    step_s: float  # median step time
    final_loss: float


def _weights(size: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    scale = np.float32(1 / np.sqrt(size))
    return [rng.standard_normal((size, size), dtype=np.float32) * scale for _ in range(LAYERS)], \
        rng.standard_normal((BATCH, size), dtype=np.float32)


def _lazygrad_step(size: int, donate: bool, zero_grad: str) -> Callable[[], float]:
    import lazygrad

    lazygrad.set_backend("jax")
    if not donate:
        lazygrad.realization.backend().donates = False  # the backend's capability flag: compile never donates
    arrays, batch = _weights(size)
    weights = [lazygrad.tensor(w, requires_grad=True) for w in arrays]
    x = lazygrad.tensor(batch)
    del arrays
    opt = lazygrad.optim.SGD(weights, lr=LR)

    @lazygrad.compile
    def step(x: lazygrad.Tensor) -> lazygrad.Tensor:
        if zero_grad == "first":
            opt.zero_grad()
        h = x
        for w in weights:
            h = (h @ w).tanh()
        loss = h.sum()
        loss.backward()
        opt.step()
        if zero_grad == "last":
            opt.zero_grad()
        return loss

    return lambda: step(x).item()


def _jax_step(size: int, donate: bool) -> Callable[[], float]:
    import jax
    import jax.numpy as jnp

    def loss_fn(weights: list[jax.Array], x: jax.Array) -> jax.Array:
        h = x
        for w in weights:
            h = jnp.tanh(h @ w)
        return h.sum()

    def update(weights: list[jax.Array], x: jax.Array) -> tuple[jax.Array, list[jax.Array]]:
        loss, grads = jax.value_and_grad(loss_fn)(weights, x)
        return loss, [w - LR * g for w, g in zip(weights, grads)]

    jitted = jax.jit(update, donate_argnums=(0,) if donate else ())
    arrays, batch = _weights(size)
    state = [[jax.device_put(w) for w in arrays]]
    x = jax.device_put(batch)
    del arrays

    def step() -> float:
        loss, state[0] = jitted(state[0], x)
        return float(loss)

    return step


def _child(variant: str, size: int) -> dict[str, Any]:
    """Runs in the child process: warm the step up, then measure its memory and time."""
    import jax

    from . import memory

    system, donate, zero_grad = VARIANTS[variant]
    step = _lazygrad_step(size, donate, zero_grad) if system == "lazygrad" else _jax_step(size, donate)
    for _ in range(WARMUP):
        step()
    held = sum(a.nbytes for a in jax.live_arrays())
    peak = min(memory.peak_beyond(step) for _ in range(MEASURED))
    times, loss = [], 0.0
    for _ in range(MEASURED):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    return {"held_bytes": held, "peak_bytes": peak, "step_s": statistics.median(times), "final_loss": loss}


def measure(variants: Sequence[str] = tuple(VARIANTS), quick: bool = False) -> list[DonationRow]:
    """One fresh process per variant."""
    size = 1024 if quick else 4096
    env = {**os.environ, "LAZYGRAD_PERSISTENT_CACHE": "0"}
    rows = []
    for variant in variants:
        command = [sys.executable, "-m", "benchmarks.donation", variant, str(size)]
        done = subprocess.run(command, env=env, cwd=Path(__file__).parent.parent, capture_output=True, text=True,
                              check=True)
        rows.append(DonationRow(variant, **json.loads(done.stdout.splitlines()[-1])))
    return rows


def markdown(rows: list[DonationRow], quick: bool = False) -> str:
    from .memory import format_bytes
    from .report import format_seconds

    size = 1024 if quick else 4096
    lines = [f"## Buffer donation: an SGD step over {LAYERS} x {size}x{size} float32 weights", "",
             "held: live jax arrays before a step; peak: what the step adds on top (resident-set high-water mark).",
             "", "| variant | held | peak beyond held | held + peak | step | loss |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.variant} | {format_bytes(r.held_bytes)} | {format_bytes(r.peak_bytes)} | "
              f"{format_bytes(r.held_bytes + r.peak_bytes)} | {format_seconds(r.step_s)} | {r.final_loss:.6g} |"
              for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]))))
