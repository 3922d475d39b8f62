"""``DistributedDataParallel``: parameters replicated on every device, the batch split across them.

torch's DDP runs one process per device and all-reduces gradient buckets from hooks. Here one program
computes the whole step over the mesh: the inputs are placed ``Shard(dim)``, the parameters ``Replicate()``,
and XLA's partitioner inserts the all-reduce of the gradients where the batch is summed over.
"""

from __future__ import annotations

from typing import Any

from ...distributed.device_mesh import DeviceMesh, current_mesh
from ...distributed.tensor import _mesh_of, distribute_tensor, place_parameter
from ...distributed.tensor.placement_types import Replicate, Shard
from ...tensor import Tensor
from ..module import Module


class DistributedDataParallel(Module):
    """Wraps ``module``: its parameters are replicated over ``device_mesh`` (by default the last one
    created), and each forward splits its tensor arguments along ``dim`` across the mesh.

    The bucketing, hook and synchronization options are accepted for torch scripts and change nothing:
    the gradient reduction is one collective XLA schedules inside the step's program.
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params: Any = None, param_to_hook_all_reduce: Any = None,
                 mixed_precision: Any = None, device_mesh: DeviceMesh | None = None) -> None:
        super().__init__()
        mesh = device_mesh if device_mesh is not None else current_mesh()
        if mesh.ndim != 1:
            raise RuntimeError(f"DistributedDataParallel expects a 1D device mesh, got {mesh}")
        self.module = module
        self.device_mesh = mesh
        self.dim = dim
        for param in module.parameters():
            place_parameter(param, mesh, (Replicate(),))

    def _split(self, value: Any) -> Any:
        if isinstance(value, Tensor) and value.ndim > self.dim and _mesh_of(value) is None:
            return distribute_tensor(value, self.device_mesh, (Shard(self.dim),))
        return value

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*map(self._split, inputs), **{k: self._split(v) for k, v in kwargs.items()})
