"""``lazygrad.distributed``: PyTorch's process-group API over jax's multi-process runtime.

One process drives every device it can see, so a single machine needs no process group at all: a device
mesh and placements are enough. Several hosts each run the same script; ``init_process_group`` connects
them through ``jax.distributed.initialize`` (the coordinator is ``MASTER_ADDR:MASTER_PORT``, as torchrun
sets it), after which ``jax.devices()`` lists every host's devices and one SPMD program spans them all.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import jax
from jax.experimental import multihost_utils

from . import device_mesh, fsdp, tensor
from .device_mesh import DeviceMesh, init_device_mesh

_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")
_initialized = False


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    """Whether ``init_process_group`` has connected this process to the others."""
    return _initialized


def _env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"Error initializing lazygrad.distributed using env:// rendezvous: environment "
                         f"variable {name} expected, but not set")
    return value


def _coordinator(init_method: str | None) -> str:
    """``host:port`` of the coordinator: from ``tcp://host:port``, else from MASTER_ADDR and MASTER_PORT."""
    if init_method is not None and init_method.startswith("tcp://"):
        return init_method[len("tcp://"):]
    if init_method not in (None, "env://"):
        raise ValueError(f"init_method {init_method!r} is not supported: use 'env://' or 'tcp://host:port'")
    return f"{_env('MASTER_ADDR')}:{_env('MASTER_PORT')}"


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Join the job of ``world_size`` processes as ``rank`` (from WORLD_SIZE and RANK when not given).

    ``backend`` ("gloo", "nccl") is accepted for torch scripts: XLA picks the collectives for the devices.
    Call it before anything creates a jax array: jax fixes its device list when its runtime starts.
    """
    global _initialized
    if _initialized:
        raise ValueError("trying to initialize the default process group twice!")
    address = _coordinator(init_method)
    world_size = int(_env("WORLD_SIZE")) if world_size == -1 else world_size
    rank = int(_env("RANK")) if rank == -1 else rank
    seconds = int(timeout.total_seconds()) if timeout is not None else 300
    try:
        jax.distributed.initialize(address, num_processes=world_size, process_id=rank,
                                   initialization_timeout=seconds)
    except RuntimeError as error:
        if "before any JAX" not in str(error):
            raise
        raise RuntimeError("init_process_group must be called before the first tensor is computed on the jax "
                           "backend (jax's device list is fixed once its runtime has started)") from error
    _initialized = True


def _require_group() -> None:
    if not _initialized:
        raise ValueError(_NOT_INITIALIZED)


def get_rank(group: Any = None) -> int:
    """This process's index in the job."""
    _require_group()
    return jax.process_index()


def get_world_size(group: Any = None) -> int:
    """How many processes the job has."""
    _require_group()
    return jax.process_count()


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None,
            timeout: datetime.timedelta | None = None) -> None:
    """Wait until every process of the job reaches this call."""
    _require_group()
    multihost_utils.sync_global_devices("lazygrad.distributed.barrier")


def destroy_process_group(group: Any = None) -> None:
    """Leave the job (jax.distributed.shutdown)."""
    global _initialized
    _require_group()
    jax.distributed.shutdown()
    _initialized = False


__all__ = [
    "DeviceMesh", "barrier", "destroy_process_group", "device_mesh", "fsdp", "get_rank", "get_world_size",
    "init_device_mesh", "init_process_group", "is_available", "is_initialized", "tensor",
]
