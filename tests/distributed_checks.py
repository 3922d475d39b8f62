"""Multi-device checks for test_distributed.py, run in a subprocess: jax fixes its device count when it loads.

Run as ``XLA_FLAGS=--xla_force_host_platform_device_count=8 LAZYGRAD_BACKEND=jax python distributed_checks.py``;
prints one JSON object with what each check measured, for the test file to assert on.
"""

from __future__ import annotations

import io
import json
import sys

import numpy as np

import lazygrad as torch
from lazygrad import nn
from lazygrad.distributed.device_mesh import init_device_mesh
from lazygrad.distributed.fsdp import fully_shard
from lazygrad.distributed.tensor import Replicate, Shard, distribute_tensor
from lazygrad.nn.parallel import DistributedDataParallel
from lazygrad.realization import _cache as compiled_programs

STEPS = 20


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 8))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    return (torch.tensor(rng.standard_normal((32, 8)), dtype=torch.float32),
            torch.tensor(rng.standard_normal((32, 8)), dtype=torch.float32))


def specs(module: nn.Module) -> list[str]:
    return [str(getattr(p.node.buffer.sharding, "spec", "one device")) for p in module.parameters()]


def train(model: nn.Module, wrapped: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """STEPS of SGD with momentum; per step the loss, executions, compiles and the parameters' shardings."""
    opt = torch.optim.SGD(wrapped.parameters(), lr=0.05, momentum=0.9)
    record: dict[str, list] = {"losses": [], "executions": [], "compiles": [], "specs": []}
    for _ in range(STEPS):
        torch.reset_metrics()
        loss = ((wrapped(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        record["losses"].append(loss.item())
        seen = torch.metrics()
        record["executions"].append(seen["executions"])
        record["compiles"].append(seen["compiles"])
        record["specs"].append(specs(model))
    return record


def compiled_texts() -> list[str]:
    """The HLO of every program compiled over a mesh so far."""
    return [compiled.as_text() for exe in compiled_programs.values() for key, compiled in exe._by_device.items()
            if isinstance(key, tuple)]


def data_parallel() -> dict:
    x, y = data()
    single = train(model := mlp(), model, x, y)
    mesh = init_device_mesh("cpu", (8,), mesh_dim_names=("dp",))
    model = mlp()
    ddp = train(model, DistributedDataParallel(model, device_mesh=mesh), x, y)
    ddp["single"] = single["losses"]
    ddp["all_reduce"] = any("all-reduce" in text for text in compiled_texts())
    return ddp


def fsdp() -> dict:
    x, y = data()
    single = train(model := mlp(), model, x, y)
    mesh = init_device_mesh("cpu", (8,))
    model = fully_shard(mlp(), mesh=mesh)
    sharded = train(model, model, x, y)
    sharded["single"] = single["losses"]
    sharded["placements"] = [repr(p.placements) for p in model.parameters()]
    # save gathers to the host; the loaded tensors are laid out like the parameters they are loaded into
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer)
    fresh = fully_shard(nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 8)), mesh=mesh)
    places = {name: p.placements for name, p in fresh.named_parameters()}
    fresh.load_state_dict({name: distribute_tensor(v, mesh, places[name]) for name, v in state.items()})
    sharded["loaded_equal"] = all(np.array_equal(a.numpy(), b.detach().numpy())
                                  for a, b in zip(state.values(), fresh.parameters()))
    sharded["loaded_specs"] = specs(fresh)
    return sharded


def two_dimensional() -> dict:
    """A column-sharded Linear on a 4 x 2 (data x model) mesh: batch split 4 ways, output features 2 ways."""
    mesh = init_device_mesh("cpu", (4, 2), mesh_dim_names=("dp", "tp"))
    torch.manual_seed(1)
    layer = nn.Linear(8, 16)
    x = torch.randn(8, 8)
    out = layer(x).tanh().sum()
    out.backward()
    expected = [out.item(), layer.weight.grad.numpy(), layer.bias.grad.numpy()]
    layer.weight.grad = layer.bias.grad = None
    weight = nn.Parameter(distribute_tensor(layer.weight, mesh, [Replicate(), Shard(0)]))
    bias = nn.Parameter(distribute_tensor(layer.bias, mesh, [Replicate(), Shard(0)]))
    xs = distribute_tensor(x, mesh, [Shard(0), Replicate()])
    hidden = torch.nn.functional.linear(xs, weight, bias)
    got = hidden.tanh().sum()
    got.backward()
    return {"value": [got.item(), expected[0]],
            "weight_grad": bool(np.allclose(weight.grad.numpy(), expected[1], rtol=1e-5, atol=1e-6)),
            "bias_grad": bool(np.allclose(bias.grad.numpy(), expected[2], rtol=1e-5, atol=1e-6)),
            "hidden_placements": repr(hidden.placements), "weight_placements": repr(weight.placements),
            "mesh_sub": repr(mesh["tp"])}


def reading() -> dict:
    mesh = init_device_mesh("cpu", (8,))
    x = torch.arange(16.0).reshape(8, 2)
    sharded = distribute_tensor(x, mesh, [Shard(0)])
    full = sharded.full_tensor()
    moved = sharded.redistribute(mesh, [Replicate()])
    grid = init_device_mesh("cpu", (2, 1, 4), mesh_dim_names=("a", "b", "c"))
    mesh_reprs = [repr(grid), repr(grid["a"]), repr(grid["b"])]
    try:
        init_device_mesh("cpu", (16,))
        too_big = ""
    except RuntimeError as error:
        too_big = str(error)
    return {"repr": repr(sharded), "item": sharded.sum().item(),
            "local_shape": list(sharded.to_local().shape), "full": full.tolist() == x.tolist(),
            "full_placements": repr(full.placements), "moved": repr(moved.placements),
            "moved_spec": str(moved.node.buffer.sharding.spec) if moved.node.buffer is not None else "pending",
            "too_big": too_big, "mesh_reprs": mesh_reprs}


def plain_results() -> dict:
    """full_tensor and to_local: plain tensors on one device, differentiable back to the sharded tensor."""
    mesh = init_device_mesh("cpu", (8,), mesh_dim_names=("dp",))
    sharded = distribute_tensor(torch.arange(16.0).reshape(8, 2).requires_grad_(), mesh, [Shard(0)])
    full, local = sharded.full_tensor(), sharded.to_local()
    ((full * full).sum() + local.sum()).backward()
    two = init_device_mesh("cpu", (4, 2), mesh_dim_names=("dp", "tp"))
    column = distribute_tensor(torch.arange(16.0).reshape(8, 2), two, [Replicate(), Shard(1)])
    return {"full": [repr(full), repr(full.placements), len(full.node.buffer.devices())],
            "local": [repr(local), repr(local.placements), len(local.node.buffer.devices())],
            "grad": sharded.grad.tolist(), "column": repr(column), "column_local": column.to_local().tolist()}


def writes() -> dict:
    """Plain values written into distributed parameters are laid out at once; a user's
    ``nn.Parameter(distribute_tensor(...))`` keeps its placements across optimizer steps."""
    mesh = init_device_mesh("cpu", (8,))
    model = fully_shard(mlp(), mesh=mesh)
    # computed single-device values, as torch.load returns them
    state = {name: torch.tensor(np.full(p.shape, 0.5, np.float32)) for name, p in mlp().named_parameters()}
    model.load_state_dict(state)
    loaded = specs(model)
    first, last = model[0].weight, model[2].bias
    with torch.no_grad():
        first.copy_(torch.ones(32, 8))  # a pending value: laid out by the program that computes it
    first.sum().item()
    copied = specs(model)[0]
    last.data = torch.tensor(np.zeros(8, np.float32))
    assigned = specs(model)[3]
    x = data()[0]
    mesh2 = init_device_mesh("cpu", (4, 2), mesh_dim_names=("dp", "tp"))
    layer = mlp()
    weights = [nn.Parameter(distribute_tensor(p.detach(), mesh2, [Replicate(), Shard(0)]))
               for p in layer[0].parameters()]
    opt = torch.optim.SGD(weights, lr=0.1)
    kept = []
    for _ in range(3):
        loss = (torch.nn.functional.linear(x, *weights).tanh() - 0.5).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        kept.append([repr(w.placements) for w in weights] + [repr(w)[:8] for w in weights])
    return {"loaded": loaded, "copied": copied, "assigned": assigned,
            "values": [float(p.detach().sum().item()) for p in model.parameters()], "kept": kept}


CHECKS = {"data_parallel": data_parallel, "fsdp": fsdp, "two_dimensional": two_dimensional, "reading": reading,
          "plain_results": plain_results, "writes": writes}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(CHECKS)
    print(json.dumps({name: CHECKS[name]() for name in chosen}))
