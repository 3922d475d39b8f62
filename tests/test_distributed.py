"""lazygrad.distributed: meshes, placements, DDP and FSDP over jax.sharding.

Checks needing several devices run in subprocesses (``distributed_checks.py`` with 8 simulated CPU devices,
``distributed_worker.py`` twice for a two-process job): jax fixes its device count when it loads.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad
from lazygrad.distributed import get_rank, get_world_size, is_initialized
from lazygrad.distributed.device_mesh import init_device_mesh
from lazygrad.distributed.tensor import Replicate, Shard, distribute_tensor

pytest.importorskip("jax")
HERE = Path(__file__).parent


def _run(script: str, *args: str, env: dict[str, str] | None = None,
         timeout: float = 180) -> subprocess.CompletedProcess:
    full = {**os.environ, "LAZYGRAD_BACKEND": "jax", "LAZYGRAD_PERSISTENT_CACHE": "0", **(env or {})}
    return subprocess.run([sys.executable, str(HERE / script), *args], env=full, cwd=HERE, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def checks() -> dict:
    done = _run("distributed_checks.py", env={"XLA_FLAGS": "--xla_force_host_platform_device_count=8"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


pytestmark = pytest.mark.backend_agnostic


def test_data_parallel_matches_one_device(checks: dict) -> None:
    run = checks["data_parallel"]
    np.testing.assert_allclose(run["losses"], run["single"], rtol=1e-5)
    assert run["losses"][-1] < run["losses"][0]


def test_data_parallel_runs_one_program_per_step_without_recompiling(checks: dict) -> None:
    run = checks["data_parallel"]
    assert run["executions"] == [1] * len(run["executions"])
    assert sum(run["compiles"][2:]) == 0


def test_data_parallel_program_all_reduces_and_keeps_parameters_replicated(checks: dict) -> None:
    run = checks["data_parallel"]
    assert run["all_reduce"]
    assert all(spec in ("P()", "P(None, None)") for step in run["specs"] for spec in step)


def test_fully_shard_keeps_parameters_sharded_and_matches(checks: dict) -> None:
    run = checks["fsdp"]
    np.testing.assert_allclose(run["losses"], run["single"], rtol=1e-5)
    assert all(spec.startswith("P('dim_0'") for step in run["specs"] for spec in step)
    assert run["placements"] == ["(Shard(dim=0),)"] * 4
    assert run["compiles"][2:] == [0] * (len(run["compiles"]) - 2)


def test_save_gathers_and_load_keeps_placements(checks: dict) -> None:
    run = checks["fsdp"]
    assert run["loaded_equal"]
    assert all(spec.startswith("P('dim_0'") for spec in run["loaded_specs"])


def test_column_sharded_linear_on_a_2d_mesh_matches(checks: dict) -> None:
    run = checks["two_dimensional"]
    np.testing.assert_allclose(*run["value"], rtol=1e-5)
    assert run["weight_grad"] and run["bias_grad"]
    assert run["weight_placements"] == "(Replicate(), Shard(dim=0))"
    assert run["hidden_placements"] == "(Shard(dim=0), Shard(dim=1))"
    assert run["mesh_sub"] == "DeviceMesh((tp=2), 'cpu', stride=(1,))"  # torch 2.13's, for mesh["tp"]


def test_sharded_tensor_prints_reads_and_redistributes(checks: dict) -> None:
    run = checks["reading"]
    assert run["full"]
    assert run["item"] == 120.0
    assert run["local_shape"] == [1, 2]
    assert run["full_placements"] == "None"
    assert run["moved"] == "(Replicate(),)"
    assert run["moved_spec"] == "P()"


# What torch 2.13 prints on rank 0 for the same tensors (8 ranks; recorded with its fake process group).
TORCH_SHARD_ROWS = ("DTensor(local_tensor=tensor([[0., 1.]]), device_mesh=DeviceMesh((8,), 'cpu', stride=(1,)), "
                    "placements=(Shard(dim=0),))")
TORCH_COLUMN = ("DTensor(local_tensor=tensor([[ 0.],\n        [ 2.],\n        [ 4.],\n        [ 6.],\n        [ 8.],\n"
                "        [10.],\n        [12.],\n        [14.]]), device_mesh=DeviceMesh((dp=4, tp=2), 'cpu', "
                "stride=(2, 1)), placements=(Replicate(), Shard(dim=1)))")


def test_device_mesh_prints_as_torch_2_13(checks: dict) -> None:
    assert checks["reading"]["mesh_reprs"] == ["DeviceMesh((a=2, b=1, c=4), 'cpu', stride=(4, (), 1))",
                                               "DeviceMesh((a=2), 'cpu', stride=(4,))",
                                               "DeviceMesh((b=1), 'cpu', stride=((),))"]


def test_distributed_tensor_prints_as_torchs_dtensor(checks: dict) -> None:
    assert checks["reading"]["repr"] == TORCH_SHARD_ROWS
    assert checks["plain_results"]["column"] == TORCH_COLUMN


def test_full_tensor_is_a_plain_tensor_on_one_device(checks: dict) -> None:
    text, placements, devices = checks["plain_results"]["full"]
    assert text.startswith("tensor([[ 0.,  1.],") and text.endswith("grad_fn=<_ToTorchTensorBackward>)")
    assert (placements, devices) == ("None", 1)


def test_to_local_is_the_first_ranks_shard_as_a_plain_tensor(checks: dict) -> None:
    run = checks["plain_results"]
    assert run["local"] == ["tensor([[0., 1.]], grad_fn=<_ToTorchTensorBackward>)", "None", 1]
    assert run["column_local"] == [[float(v)] for v in range(0, 16, 2)]  # rank 0 of tp holds column 0


def test_full_tensor_and_to_local_are_differentiable(checks: dict) -> None:
    # d/dx of sum(x * x) + sum(first shard): 2x, plus one on the rows of the first shard
    expected = 2 * np.arange(16.0).reshape(8, 2)
    expected[0] += 1
    assert checks["plain_results"]["grad"] == expected.tolist()


def test_plain_values_written_into_sharded_parameters_are_laid_out_at_once(checks: dict) -> None:
    run = checks["writes"]
    assert all(spec.startswith("P('dim_0'") for spec in run["loaded"])  # load_state_dict
    assert run["copied"].startswith("P('dim_0'") and run["assigned"].startswith("P('dim_0'")  # copy_, .data =
    assert run["values"] == [256.0, 16.0, 128.0, 0.0]


def test_user_made_distributed_parameters_keep_their_placements(checks: dict) -> None:
    assert checks["writes"]["kept"] == [["(Replicate(), Shard(dim=0))"] * 2 + ["DTensor("] * 2] * 3


def test_mesh_larger_than_the_machine_lists_its_devices(checks: dict) -> None:
    assert checks["reading"]["too_big"] == ("a DeviceMesh of shape (16,) needs 16 cpu devices, but jax has 8: "
                                            "cpu:0, cpu:1, cpu:2, cpu:3, cpu:4, cpu:5, cpu:6, cpu:7")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_train_data_parallel_like_one() -> None:
    env = {"MASTER_ADDR": "localhost", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2", "XLA_FLAGS": ""}
    full = {**os.environ, "LAZYGRAD_BACKEND": "jax", "LAZYGRAD_PERSISTENT_CACHE": "0", **env}
    workers = [subprocess.Popen([sys.executable, str(HERE / "distributed_worker.py")], cwd=HERE, text=True,
                                env={**full, "RANK": str(rank)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for rank in range(2)]
    outputs = [w.communicate(timeout=180) for w in workers]
    if any(w.returncode for w in workers):
        pytest.skip("jax's CPU multi-process collectives failed here: " + outputs[0][1][-500:])
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [r["rank"] for r in results] == [0, 1] and results[0]["world"] == 2
    for r in results:
        np.testing.assert_allclose(r["parallel"], r["single"], rtol=1e-5)
    assert results[0]["parallel"] == results[1]["parallel"]


# ---- in this process: one device ----------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", ["numpy", "jax"])
def test_one_device_mesh_works_on_either_backend(backend_name: str) -> None:
    with lazygrad.backend(backend_name):
        mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        x = lazygrad.arange(6.0).reshape(3, 2)
        placed = distribute_tensor(x, mesh, [Shard(0)])
        assert placed.placements == (Shard(0),)
        assert placed.device_mesh == mesh
        assert (placed * 2).sum().item() == 30.0
        assert lazygrad.arange(3.0).placements is None


def test_mesh_of_several_devices_on_numpy_says_to_use_jax() -> None:
    with lazygrad.backend("numpy"), pytest.raises(RuntimeError, match="needs the jax backend"):
        init_device_mesh("cpu", (2,))


def test_placements_must_cover_the_mesh() -> None:
    mesh = init_device_mesh("cpu", (1,))
    with pytest.raises(ValueError, match=r"`placements` must have the same length as `device_mesh\.ndim`"):
        distribute_tensor(lazygrad.ones(2), mesh, [Shard(0), Replicate()])


TORCH_ONE_DEVICE = ("DTensor(local_tensor=tensor([[0., 1.],\n        [2., 3.],\n        [4., 5.]]{}), "
                    "device_mesh=DeviceMesh((dp=1), 'cpu', stride=((),)), placements=(Shard(dim=0),))")


def _torch_prints() -> list[str]:
    """torch's repr of the same DTensor, a Parameter made from it, and the same tensor requiring grad."""
    import torch
    import torch.distributed as tdist
    from torch.distributed.tensor import distribute_tensor as torch_distribute
    from torch.testing._internal.distributed.fake_pg import FakeStore

    tdist.init_process_group("fake", rank=0, world_size=1, store=FakeStore())
    try:
        mesh = torch.distributed.device_mesh.init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        x = torch.arange(6.0).reshape(3, 2)
        placed = torch_distribute(x, mesh, [torch.distributed.tensor.Shard(0)])
        return [repr(placed), repr(torch.nn.Parameter(placed)),
                repr(torch_distribute(x.requires_grad_(), mesh, [torch.distributed.tensor.Shard(0)]))]
    finally:
        tdist.destroy_process_group()


def _one_device_shard() -> tuple:
    mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
    return mesh, distribute_tensor(lazygrad.arange(6.0).reshape(3, 2), mesh, [Shard(0)])


def test_one_device_dtensor_prints_as_torch() -> None:
    mesh, placed = _one_device_shard()
    ours = [repr(placed), repr(lazygrad.nn.Parameter(placed)),
            repr(distribute_tensor(lazygrad.arange(6.0).reshape(3, 2).requires_grad_(), mesh, [Shard(0)]))]
    assert ours == [TORCH_ONE_DEVICE.format(""), TORCH_ONE_DEVICE.format(""),
                    TORCH_ONE_DEVICE.format(", requires_grad=True")]
    assert str(placed) == repr(placed) and repr(placed.detach()) == repr(placed)
    if HAS_TORCH:
        assert _torch_prints() == ours


def test_full_tensor_and_to_local_are_plain_tensors() -> None:
    mesh, placed = _one_device_shard()
    for plain in (placed.full_tensor(), placed.to_local()):
        assert repr(plain) == "tensor([[0., 1.],\n        [2., 3.],\n        [4., 5.]])"
        assert plain.placements is None and plain.device_mesh is None
    x = lazygrad.arange(6.0).reshape(3, 2).requires_grad_()
    placed = distribute_tensor(x, mesh, [Shard(0)])
    full = placed.full_tensor()
    assert full.grad_fn.name() == "_ToTorchTensorBackward"  # torch's name for full_tensor's and to_local's
    (full * placed.to_local()).sum().backward()
    assert placed.grad.tolist() == (2 * lazygrad.arange(6.0).reshape(3, 2)).tolist()


def test_writes_into_a_distributed_parameter_keep_its_placements() -> None:
    mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
    layer = lazygrad.nn.Linear(2, 2)
    lazygrad.distributed.tensor.distribute_module(layer, mesh)
    layer.load_state_dict({"weight": lazygrad.ones(2, 2), "bias": lazygrad.zeros(2)})
    with lazygrad.no_grad():
        layer.bias.copy_(lazygrad.full((2,), 3.0))
    assert [p.placements for p in layer.parameters()] == [(Replicate(),)] * 2
    assert repr(layer.bias).startswith("DTensor(local_tensor=tensor([3., 3.]), device_mesh=DeviceMesh((dp=1)")
    layer.weight.data = lazygrad.zeros(2, 2)
    assert layer.weight.placements == (Replicate(),) and layer.weight.sum().item() == 0.0


def test_a_parameter_made_from_a_distributed_tensor_stays_distributed() -> None:
    placed = _one_device_shard()[1]
    param = lazygrad.nn.Parameter(placed)
    opt = lazygrad.optim.SGD([param], lr=0.5)
    (param * param).sum().backward()
    opt.step()
    assert param.placements == (Shard(0),) and repr(param).startswith("DTensor(local_tensor=tensor([[0., 0.],")
    assert lazygrad.arange(2.0).placements is None and repr(lazygrad.arange(2.0)) == "tensor([0., 1.])"


def test_placement_reprs_match_torch() -> None:
    assert (repr(Shard(1)), str(Shard(1)), repr(Replicate()), str(Replicate())) == ("Shard(dim=1)", "S(1)",
                                                                                    "Replicate()", "R")
    assert Shard(0) == Shard(0) != Shard(1) and Replicate() == Replicate()


def test_process_group_calls_before_init_raise_torchs_error() -> None:
    assert not is_initialized()
    message = ("Default process group has not been initialized, please make sure to call init_process_group.")
    for call in (get_rank, get_world_size):
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value) == message
    if HAS_TORCH:
        import torch.distributed

        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            torch.distributed.get_rank()


def test_import_lazygrad_does_not_load_jax_on_numpy() -> None:
    code = "import sys, lazygrad; print('jax' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LAZYGRAD_BACKEND": "numpy"},
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"


def test_data_parallel_benchmark_agrees_across_device_counts() -> None:
    from benchmarks import data_parallel

    rows = data_parallel.measure((1, 2), quick=True)
    assert [r.devices for r in rows] == [1, 2]
    assert rows[0].final_loss == pytest.approx(rows[1].final_loss, rel=1e-5)
    assert "real speedups need real devices" in data_parallel.markdown(rows)
