"""Data-parallel step time against device count, on simulated CPU devices (lazygrad-jax).

Each device count runs in a fresh process: jax fixes its device count when it loads, from
``XLA_FLAGS=--xla_force_host_platform_device_count=N``. The workload is the mlp_train MLP wrapped in
``DistributedDataParallel`` over a 1-D mesh of N devices, the batch split across them. Simulated devices
share this machine's cores, so the table checks correctness and measures the partitioning's overhead (the
losses must agree across device counts); real speedups need real devices (GPUs, TPU cores, hosts).
``python -m benchmarks --data-parallel`` prints it; it is not part of the default or ``--quick`` runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEVICE_COUNTS = (1, 2, 4, 8)
STEPS = 10


@dataclass(frozen=True)
class DataParallelRow:
    devices: int
    step_s: float  # median over the timed steps, compile excluded
    first_step_s: float  # compile included
    compiles: int
    final_loss: float


def _child(devices: int, quick: bool) -> dict[str, Any]:
    """Runs in the child process: train the MLP data-parallel over ``devices`` devices and time the steps."""
    import lazygrad
    from lazygrad.distributed.device_mesh import init_device_mesh
    from lazygrad.nn.parallel import DistributedDataParallel

    from .workloads import mlp_data

    data = mlp_data(quick)
    layers: list[lazygrad.nn.Module] = []
    for w, b in zip(data.weights, data.biases):
        linear = lazygrad.nn.Linear(*w.shape)
        with lazygrad.no_grad():
            linear.weight.copy_(lazygrad.tensor(w.T.copy()))
            linear.bias.copy_(lazygrad.tensor(b))
        layers += [linear, lazygrad.nn.ReLU()]
    model = DistributedDataParallel(lazygrad.nn.Sequential(*layers[:-1]),
                                    device_mesh=init_device_mesh("cpu", (devices,)))
    opt = lazygrad.optim.SGD(model.parameters(), lr=data.lr)
    x, target = lazygrad.tensor(data.x), lazygrad.tensor(data.onehot.argmax(1))
    times, loss = [], 0.0
    for _ in range(STEPS + 1):
        start = time.perf_counter()
        out = lazygrad.nn.functional.cross_entropy(model(x), target)
        opt.zero_grad()
        out.backward()
        opt.step()
        loss = out.item()
        times.append(time.perf_counter() - start)
    return {"step_s": statistics.median(times[2:]), "first_step_s": times[0],
            "compiles": lazygrad.metrics()["compiles"], "final_loss": loss}


def measure(device_counts: tuple[int, ...] = DEVICE_COUNTS, quick: bool = False) -> list[DataParallelRow]:
    """One fresh process per device count."""
    rows = []
    for devices in device_counts:
        env = {**os.environ, "LAZYGRAD_BACKEND": "jax", "LAZYGRAD_PERSISTENT_CACHE": "0",
               "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
        command = [sys.executable, "-m", "benchmarks.data_parallel", str(devices), *(["--quick"] if quick else [])]
        done = subprocess.run(command, env=env, cwd=Path(__file__).parent.parent, capture_output=True, text=True,
                              check=True)
        rows.append(DataParallelRow(devices, **json.loads(done.stdout.splitlines()[-1])))
    return rows


def markdown(rows: list[DataParallelRow]) -> str:
    from .report import format_seconds

    lines = ["## Data parallel on simulated CPU devices (lazygrad-jax, DistributedDataParallel)", "",
             "Simulated devices share the same cores: this checks agreement and overhead; real speedups need "
             "real devices.", "",
             "| devices | step | first step (compile) | compiles | final loss |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.devices} | {format_seconds(r.step_s)} | {format_seconds(r.first_step_s)} | {r.compiles} | "
              f"{r.final_loss:.6f} |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(_child(int(sys.argv[1]), "--quick" in sys.argv)))
