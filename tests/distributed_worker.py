"""One process of the two-process data-parallel check in test_distributed.py (RANK, WORLD_SIZE, MASTER_* set).

Trains the MLP of distributed_checks.py data-parallel over one CPU device per process and prints the
losses as JSON; rank 0 also prints the single-device run it computed first.
"""

from __future__ import annotations

import json
import os

import lazygrad as torch
import lazygrad.distributed as dist
from lazygrad.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo")  # before any tensor is computed: jax fixes its device list when it starts
from distributed_checks import data, mlp  # noqa: E402

STEPS = 5


def train(wrapped: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    opt = torch.optim.SGD(wrapped.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(STEPS):
        loss = ((wrapped(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


x, y = data()
single = train(mlp(), x, y)
mesh = dist.init_device_mesh("cpu", (dist.get_world_size(),))
parallel = train(DistributedDataParallel(mlp(), device_mesh=mesh), x, y)
dist.barrier()
print(json.dumps({"rank": dist.get_rank(), "world": dist.get_world_size(), "single": single, "parallel": parallel,
                  "pid": os.getpid()}))
dist.destroy_process_group()
