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
    assert run["mesh_sub"] == "DeviceMesh('cpu', [0, 1], mesh_dim_names=('tp',))"


def test_sharded_tensor_prints_reads_and_redistributes(checks: dict) -> None:
    run = checks["reading"]
    assert run["repr_equal"] and run["full"]
    assert run["item"] == 120.0
    assert run["local_shape"] == [1, 2]
    assert run["full_placements"] == run["moved"] == "(Replicate(),)"
    assert run["moved_spec"] == "P()"


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
