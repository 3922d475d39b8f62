"""``DeviceMesh``: devices laid out in a named n-dimensional grid, over a ``jax.sharding.Mesh``.

A tensor's placements say, per mesh dimension, whether it is split along one of its own dimensions or
copied whole; the jax backend turns that into a ``NamedSharding`` and XLA partitions each program over the
mesh. A sub-mesh (``mesh["dp"]``) keeps the whole grid underneath and names the dimensions it covers, so
a tensor placed on it is copied across the others.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from ..creation import tensor as _tensor
from ..realization import backend as current_backend
from ..tensor import Tensor

# torch's device types and the jax platform that provides them.
_PLATFORMS = {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu", "tpu": "tpu"}


def _jax_mesh(device_type: str, ids: np.ndarray, names: tuple[str, ...]) -> Any:
    """The jax Mesh for ``ids`` (indices into the platform's devices); None on a backend without devices."""
    backend = current_backend()
    if backend.name != "jax":
        if ids.size > 1:
            raise RuntimeError(f"a DeviceMesh of {ids.size} devices needs the jax backend (LAZYGRAD_BACKEND=jax or "
                               f"lazygrad.set_backend('jax')); the {backend.name} backend has one device")
        return None
    platform = _PLATFORMS.get(device_type)
    if platform is None:
        raise RuntimeError(f"unknown device type {device_type!r} for a DeviceMesh; expected one of "
                           f"{', '.join(_PLATFORMS)}")
    devices = backend.devices(platform)
    if ids.size > len(devices) or ids.max() >= len(devices):
        listed = ", ".join(map(str, devices)) or "none"
        raise RuntimeError(f"a DeviceMesh of shape {tuple(ids.shape)} needs {ids.size} {device_type} devices, but "
                           f"jax has {len(devices)}: {listed}")
    return Mesh(np.array(devices, dtype=object)[ids], names)


_created: list[DeviceMesh] = []  # the last mesh init_device_mesh made: the default where torch has one


class DeviceMesh:
    """Devices in a grid with named dimensions: ``DeviceMesh("cpu", [[0, 1], [2, 3]], mesh_dim_names=...)``."""

    def __init__(self, device_type: str, mesh: Any, *, mesh_dim_names: tuple[str, ...] | None = None) -> None:
        ids = np.asarray(mesh.tolist() if isinstance(mesh, Tensor) else mesh, dtype=np.int64)
        if ids.ndim == 0:
            ids = ids.reshape(1)
        if mesh_dim_names is not None and len(mesh_dim_names) != ids.ndim:
            raise RuntimeError(f"mesh_dim_names {tuple(mesh_dim_names)} must name each of the mesh's {ids.ndim} "
                               "dimensions")
        self.device_type = device_type
        self.mesh_dim_names = tuple(mesh_dim_names) if mesh_dim_names is not None else None
        self._ids = ids
        # How far apart (in devices of the whole grid, row-major) neighbours along each dimension are.
        self._strides = tuple(math.prod(ids.shape[i + 1:]) for i in range(ids.ndim))
        self._axes = self.mesh_dim_names or tuple(f"dim_{i}" for i in range(ids.ndim))
        # The whole grid (a sub-mesh shares its parent's) and the grid dimensions this mesh covers.
        self._grid = _jax_mesh(device_type, ids, self._axes)
        self._covers = self._axes

    @classmethod
    def _covering(cls, parent: DeviceMesh, axes: tuple[str, ...]) -> DeviceMesh:
        sub = object.__new__(cls)
        sub.device_type = parent.device_type
        sub.mesh_dim_names = axes if parent.mesh_dim_names is not None else None
        positions = [parent._covers.index(a) for a in axes]
        # The ids of the sub-grid through this process's first position (rank 0's coordinates elsewhere).
        index = tuple(slice(None) if i in positions else 0 for i in range(parent._ids.ndim))
        sub._ids = parent._ids[index]
        sub._strides = tuple(parent._strides[p] for p in positions)
        sub._axes, sub._grid, sub._covers = parent._axes, parent._grid, axes
        return sub

    @property
    def mesh(self) -> Tensor:
        """The device indices, laid out as the mesh."""
        return _tensor(self._ids.tolist())

    @property
    def ndim(self) -> int:
        return len(self._covers)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._ids.shape)

    def size(self, mesh_dim: int | str | None = None) -> int:
        """How many devices the mesh has, or along one of its dimensions."""
        if mesh_dim is None:
            return math.prod(self._ids.shape)
        return self._ids.shape[self._dim(mesh_dim)]

    def _dim(self, mesh_dim: int | str) -> int:
        if isinstance(mesh_dim, str):
            if mesh_dim not in self._covers:
                raise KeyError(f"Invalid mesh_dim_name {mesh_dim!r} specified. Valid mesh_dim_names are "
                               f"{list(self._covers)}.")
            return self._covers.index(mesh_dim)
        return mesh_dim

    def __getitem__(self, mesh_dim_names: str | tuple[str, ...]) -> DeviceMesh:
        names = (mesh_dim_names,) if isinstance(mesh_dim_names, str) else tuple(mesh_dim_names)
        if self.mesh_dim_names is None:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names!")
        for name in names:
            self._dim(name)
        return DeviceMesh._covering(self, names)

    def get_rank(self) -> int:
        """This process's index among the job's processes (0 in a single-process job)."""
        return jax.process_index()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DeviceMesh) and self.device_type == other.device_type
                and np.array_equal(self._ids, other._ids) and self._covers == other._covers)

    def __hash__(self) -> int:
        return hash((self.device_type, self._ids.tobytes(), self._ids.shape, self._covers))

    def __repr__(self) -> str:
        # torch 2.13's form: the sizes (named when the dimensions are), the device type, and the strides, with
        # () for a dimension of size 1.
        sizes = self._ids.shape
        shown = (f"({', '.join(f'{n}={s}' for n, s in zip(self.mesh_dim_names, sizes))})" if self.mesh_dim_names
                 else str(tuple(sizes)))
        strides = tuple(() if size == 1 else stride for size, stride in zip(sizes, self._strides))
        return f"DeviceMesh({shown}, '{self.device_type}', stride={strides})"


def init_device_mesh(device_type: str, mesh_shape: tuple[int, ...], *,
                     mesh_dim_names: tuple[str, ...] | None = None) -> DeviceMesh:
    """A mesh over the first ``prod(mesh_shape)`` devices of ``device_type``, in row-major order."""
    mesh_shape = tuple(mesh_shape)
    if mesh_dim_names is not None and len(mesh_dim_names) != len(mesh_shape):
        raise RuntimeError(f"mesh_shape and mesh_dim_names should have same length! Found {len(mesh_shape)} and "
                           f"{len(mesh_dim_names)}.")
    mesh = DeviceMesh(device_type, np.arange(math.prod(mesh_shape)).reshape(mesh_shape), mesh_dim_names=mesh_dim_names)
    _created[:] = [mesh]
    return mesh


def current_mesh() -> DeviceMesh:
    """The mesh init_device_mesh made last: what calls without a ``device_mesh`` use."""
    if not _created:
        raise RuntimeError("no device_mesh given and none created yet: call init_device_mesh first")
    return _created[0]
