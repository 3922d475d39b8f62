"""``lazygrad.distributed.tensor``: DTensor's API on ordinary tensors.

A distributed tensor is a plain lazygrad Tensor whose buffer is a ``jax.Array`` with a ``NamedSharding``:
every op, backward pass and optimizer works on it unchanged, and the program that computes a step is
compiled once for its inputs' shardings, then partitioned by XLA over the mesh with the collectives it
needs. Outputs take the layout XLA chooses, except a tensor whose placements were set here
(``distribute_tensor``, ``redistribute``, a module's parameters, and what shares their memory): its new values
keep those placements, whether computed by a program or written in already computed (``load_state_dict``), so
a parameter stays sharded (FSDP) or replicated (DDP) across optimizer steps. Such a tensor prints as torch's
DTensor does; ``full_tensor`` and ``to_local`` give plain tensors on one device, as torch gives torch.Tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import NamedSharding

from ...autograd_graph import grad_fn_class
from ...grad_mode import is_grad_enabled, no_grad
from ...ir import Node, apply, leaf
from ...nn.module import Module
from ...nn.parameter import Parameter
from ...realization import Layout, ask_layout, backend, layouts, realize, to_numpy
from ...tensor import Tensor, _edge, _record, _wrap
from ..device_mesh import DeviceMesh, current_mesh
from .placement_types import Placement, Replicate, Shard, check_divisible, partition_spec, placements_of


class _Spec(NamedTuple):
    """Where a distributed tensor asked to lie: its mesh and one placement per mesh dimension."""

    mesh: DeviceMesh
    placements: tuple[Placement, ...]

    def describe(self, t: Tensor) -> str:
        """torch's DTensor repr: this process's first shard, the mesh and the placements."""
        with no_grad():
            local = _local_shard(t)
        # torch's local tensor requires grad when distribute_tensor was given one that does; a Parameter's
        # does not (it is made from a detached value).
        local._requires_grad = t.is_leaf and t.requires_grad and not isinstance(t, Parameter)
        return f"DTensor(local_tensor={local}, device_mesh={self.mesh!r}, placements={self.placements!r})"


def _sharding(mesh: DeviceMesh, placements: Sequence[Placement], shape: Sequence[int]) -> NamedSharding | None:
    """The NamedSharding for ``placements``; None for a mesh without jax devices (one device, numpy)."""
    if len(placements) != mesh.ndim:
        raise ValueError(f"`placements` must have the same length as `device_mesh.ndim`! Found placements length: "
                         f"{len(placements)}, and device_mesh.ndim: {mesh.ndim}.")
    if mesh._grid is None:
        partition_spec(placements, mesh._covers, shape)  # still check the placements themselves
        return None
    spec = partition_spec(placements, mesh._covers, shape)
    check_divisible(spec, dict(mesh._grid.shape), shape)
    return NamedSharding(mesh._grid, spec)


def _request(t: Tensor, mesh: DeviceMesh, placements: Sequence[Placement]) -> None:
    """Keep ``t``'s future values in ``placements`` (each realization constrains its output, each write of a
    computed value is laid out at once) and print it as a DTensor."""
    placements = tuple(placements)
    ask_layout(t, Layout(_sharding(mesh, placements, t.shape), _Spec(mesh, placements)))


def _mesh_or_current(device_mesh: DeviceMesh | None) -> DeviceMesh:
    return device_mesh if device_mesh is not None else current_mesh()


def _placed_buffer(value: Tensor, sharding: NamedSharding) -> jax.Array:
    """``value``'s data laid out by ``sharding``: moved on device in one process, else each process
    contributes its own devices' slices of the same global value."""
    buffer = value.node.buffer
    if isinstance(buffer, jax.Array) and sharding.is_fully_addressable:
        return jax.device_put(buffer, sharding)
    host = to_numpy(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def distribute_tensor(tensor: Tensor, device_mesh: DeviceMesh | None = None,
                      placements: Sequence[Placement] | None = None, *, src_data_rank: int | None = 0) -> Tensor:
    """A new leaf holding ``tensor``'s value laid out over ``device_mesh`` by ``placements``.

    Every process passes the same global value (as every torch rank does for ``src_data_rank=0``); it keeps
    ``requires_grad``.
    """
    mesh = _mesh_or_current(device_mesh)
    placements = tuple(placements) if placements is not None else (Replicate(),) * mesh.ndim
    sharding = _sharding(mesh, placements, tensor.shape)
    source = tensor.detach()
    if source.node.buffer is None:
        realize((source,))
    if sharding is None:
        result = _wrap(leaf(source.node.buffer, source.node.shape, source.node.dtype))
    else:
        result = _wrap(leaf(_placed_buffer(source, sharding), source.node.shape, source.node.dtype))
    if tensor.requires_grad:
        result.requires_grad_(True)
    _request(result, mesh, placements)
    return result


def _mesh_of(t: Tensor) -> tuple[DeviceMesh, tuple[Placement, ...]] | None:
    """Where ``t`` lies: its realized buffer's sharding, else the placements asked for; None off any mesh."""
    layout = layouts.get(id(t))
    asked = layout.spec if layout is not None else None
    buffer = t.node.buffer
    if buffer is None:
        if asked is not None:
            return asked
        realize((t,))
        buffer = t.node.buffer
    sharding = getattr(buffer, "sharding", None)
    if not isinstance(sharding, NamedSharding) or len(sharding.device_set) < 2:
        return asked
    if asked is not None and asked[0]._grid == sharding.mesh:
        mesh = asked[0]
    else:
        names = sharding.mesh.axis_names
        mesh = DeviceMesh._covering(_wrapping(sharding.mesh), tuple(names))
    return mesh, placements_of(sharding.spec, mesh._covers)


def _wrapping(grid: Any) -> DeviceMesh:
    """A DeviceMesh over an existing jax Mesh (for a tensor XLA placed on a mesh nobody named here)."""
    mesh = object.__new__(DeviceMesh)
    platform = grid.devices.flat[0].platform
    mesh.device_type = "cuda" if platform == "gpu" else platform
    mesh.mesh_dim_names = tuple(grid.axis_names)
    everything = jax.devices(platform)
    mesh._ids = np.vectorize(everything.index, otypes=[np.int64])(grid.devices)
    mesh._strides = tuple(math.prod(mesh._ids.shape[i + 1:]) for i in range(mesh._ids.ndim))
    mesh._axes = mesh._covers = tuple(grid.axis_names)
    mesh._grid = grid
    return mesh


def _placements(self: Tensor) -> tuple[Placement, ...] | None:
    """Per mesh dimension, how this tensor lies on its mesh; None for a tensor on no mesh."""
    found = _mesh_of(self)
    return None if found is None else found[1]


def _device_mesh(self: Tensor) -> DeviceMesh | None:
    """The mesh this tensor is distributed over; None for a tensor on no mesh."""
    found = _mesh_of(self)
    return None if found is None else found[0]


def redistribute(self: Tensor, device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None,
                 *, async_op: bool = False, forward_dtype: Any = None, backward_dtype: Any = None) -> Tensor:
    """This tensor laid out by new placements: computed lazily (XLA moves the data inside the next program)
    and differentiable, like any op."""
    mesh = device_mesh if device_mesh is not None else _device_mesh(self)
    if mesh is None:
        raise RuntimeError("redistribute needs a device_mesh for a tensor that is not distributed")
    placements = tuple(placements) if placements is not None else (Replicate(),) * mesh.ndim
    # A new pending node (clone would share a computed buffer), so the next program lays it out.
    result = _record("CloneBackward0", apply("reshape", (self.node,), (self.node.shape,)), self)
    _request(result, mesh, placements)
    return result


def _computed(t: Tensor) -> Any:
    if t.node.buffer is None:
        realize((t,))
    return t.node.buffer


def _plain(self: Tensor, node: Node, buffer: Any) -> Tensor:
    """A tensor on one device holding ``buffer``, the value of ``node`` (an op on ``self``): computed now,
    as torch's collectives are, and differentiable through that op, as torch's ``_ToTorchTensor`` is."""
    if not (is_grad_enabled() and self.requires_grad):
        return _wrap(leaf(buffer, node.shape, node.dtype))
    node.buffer = buffer
    return _wrap(node, grad_fn_class("_ToTorchTensorBackward")(node, (self.node,), (_edge(self),)))


def _gathered(buffer: Any) -> Any:
    """The whole value of a buffer laid out over a mesh, on this process's device."""
    if not _spans_devices(buffer):
        return buffer
    if buffer.is_fully_addressable:
        return jax.device_put(buffer, backend().device)
    return backend().from_numpy(backend().to_numpy(buffer))


def _spans_devices(buffer: Any) -> bool:
    return isinstance(buffer, jax.Array) and len(buffer.sharding.device_set) > 1


def _local_shard(self: Tensor) -> Tensor:
    """This process's first device's slice (what rank 0 holds in torch), on that device."""
    buffer = _computed(self)
    if not _spans_devices(buffer):
        return _plain(self, apply("reshape", (self.node,), (self.node.shape,)), buffer)
    shard = buffer.addressable_shards[0]
    bounds = [index.indices(size) for index, size in zip(shard.index, self.shape)]
    node = apply("slice", (self.node,), tuple(tuple(b[i] for b in bounds) for i in range(3)))
    return _plain(self, node, shard.data)


def full_tensor(self: Tensor, *, grad_placements: Sequence[Placement] | None = None) -> Tensor:
    """The whole value as a plain tensor on this process's device (as torch returns a torch.Tensor),
    differentiable; a tensor on no mesh is returned as it is."""
    if _mesh_of(self) is None:
        return self
    return _plain(self, apply("reshape", (self.node,), (self.node.shape,)), _gathered(_computed(self)))


def to_local(self: Tensor, *, grad_placements: Sequence[Placement] | None = None) -> Tensor:
    """This process's local shard as a plain tensor on its device, differentiable as torch's is: with one
    process per device, as torchrun runs torch, it is exactly the rank's shard; a process driving several
    devices gets its first one's."""
    return _local_shard(self)


def _replicate_all(name: str, module: Module, mesh: DeviceMesh) -> None:
    for param in module.parameters(recurse=False):
        place_parameter(param, mesh, (Replicate(),) * mesh.ndim)


def place_parameter(param: Tensor, mesh: DeviceMesh, placements: Sequence[Placement]) -> None:
    """Lay ``param`` out over ``mesh`` in place (the module and any optimizer keep the same object) and keep
    its placements across updates."""
    with no_grad():
        param.data = distribute_tensor(param.detach(), mesh, placements)  # param shares its layout from now on


def distribute_module(module: Module, device_mesh: DeviceMesh | None = None,
                      partition_fn: Callable[[str, Module, DeviceMesh], None] | None = None,
                      input_fn: Callable[[Module, Any, DeviceMesh], Any] | None = None,
                      output_fn: Callable[[Module, Any, DeviceMesh], Any] | None = None) -> Module:
    """Lay out ``module``'s parameters over the mesh: ``partition_fn(name, submodule, mesh)`` per submodule,
    replicating every parameter when it is None; ``input_fn``/``output_fn`` run around each forward."""
    mesh = _mesh_or_current(device_mesh)
    for name, submodule in module.named_modules():
        (partition_fn or _replicate_all)(name, submodule, mesh)
    if input_fn is not None:
        module.register_forward_pre_hook(lambda m, inputs: input_fn(m, inputs, mesh))
    if output_fn is not None:
        module.register_forward_hook(lambda m, inputs, outputs: output_fn(m, outputs, mesh))
    return module


for _name, _fn in {"redistribute": redistribute, "full_tensor": full_tensor, "to_local": to_local}.items():
    setattr(Tensor, _name, _fn)
Tensor.placements = property(_placements)
Tensor.device_mesh = property(_device_mesh)
del _name, _fn

__all__ = ["DeviceMesh", "Placement", "Replicate", "Shard", "distribute_module", "distribute_tensor"]
