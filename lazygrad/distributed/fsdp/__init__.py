"""``fully_shard``: FSDP2's API, as parameters that stay split on dimension 0 across the mesh.

torch's FSDP gathers each layer's parameters before its forward and backward and frees them after. Here the
parameters are simply tensors placed ``Shard(0)``: the step's program reads them whole, so XLA inserts the
all-gathers where they are used and the reduce-scatters for their gradients, and the optimizer's update keeps
them sharded because their placements were set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...nn.module import Module
from ...tensor import Tensor
from ..device_mesh import DeviceMesh, current_mesh
from ..tensor import place_parameter
from ..tensor.placement_types import Placement, Replicate, Shard


def _even_shard(param: Tensor, mesh: DeviceMesh) -> Placement:
    """Shard(0) when dimension 0 splits evenly over the mesh; otherwise the parameter is replicated (XLA's
    shards are equal slices, where torch would pad)."""
    return Shard(0) if param.ndim and param.shape[0] % mesh.size() == 0 else Replicate()


def fully_shard(module: Module, *, mesh: DeviceMesh | None = None, reshard_after_forward: bool | int | None = None,
                shard_placement_fn: Callable[[Tensor], Shard | None] | None = None, mp_policy: Any = None,
                offload_policy: Any = None, ignored_params: set[Tensor] | None = None) -> Module:
    """Shard ``module``'s parameters over a 1-D ``mesh`` (by default the last one created) and return it.

    ``reshard_after_forward``, ``mp_policy`` and ``offload_policy`` are accepted for torch scripts: when to
    gather and free is XLA's scheduling decision inside the step's program.
    """
    mesh = mesh if mesh is not None else current_mesh()
    if mesh.ndim != 1:
        raise ValueError(f"fully_shard expects a 1D DeviceMesh but got {mesh}")
    ignored = {id(p) for p in ignored_params or ()}
    for param in module.parameters():
        if id(param) in ignored:
            continue
        chosen = shard_placement_fn(param) if shard_placement_fn is not None else None
        place_parameter(param, mesh, (chosen or _even_shard(param, mesh),))
    return module


__all__ = ["fully_shard"]
