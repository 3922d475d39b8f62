"""Placements: how a tensor lies along one mesh dimension, and their translation to jax's PartitionSpec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jax.sharding import PartitionSpec


class Placement:
    """How a tensor lies along one dimension of a DeviceMesh."""

    __slots__ = ()

    def is_shard(self, dim: int | None = None) -> bool:
        return False

    def is_replicate(self) -> bool:
        return False


class Shard(Placement):
    """Split along tensor dimension ``dim``: each device of the mesh dimension holds one equal slice."""

    __slots__ = ("dim",)

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def is_shard(self, dim: int | None = None) -> bool:
        return dim is None or dim == self.dim

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shard) and other.dim == self.dim

    def __hash__(self) -> int:
        return hash(("Shard", self.dim))

    def __repr__(self) -> str:
        return f"Shard(dim={self.dim})"

    def __str__(self) -> str:
        return f"S({self.dim})"


class Replicate(Placement):
    """A whole copy on every device of the mesh dimension."""

    __slots__ = ()

    def is_replicate(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Replicate)

    def __hash__(self) -> int:
        return hash("Replicate")

    def __repr__(self) -> str:
        return "Replicate()"

    def __str__(self) -> str:
        return "R"


def partition_spec(placements: Sequence[Placement], axes: Sequence[str], shape: Sequence[int]) -> PartitionSpec:
    """jax's spec for ``placements`` on the mesh dimensions ``axes``: per tensor dimension, the axes splitting it.

    Raises ValueError when a sharded dimension does not divide evenly (XLA shards equal slices only).
    """
    split: list[list[str]] = [[] for _ in shape]
    for placement, axis in zip(placements, axes):
        if isinstance(placement, Shard):
            if not -len(shape) <= placement.dim < len(shape):
                raise IndexError(f"Shard(dim={placement.dim}) is out of range for a tensor of shape {list(shape)}")
            split[placement.dim % len(shape)].append(axis)
        elif not isinstance(placement, Replicate):
            raise NotImplementedError(f"placement {placement!r} is not supported: use Shard(dim) or Replicate()")
    return PartitionSpec(*[None if not names else names[0] if len(names) == 1 else tuple(names) for names in split])


def check_divisible(spec: PartitionSpec, sizes: dict[str, int], shape: Sequence[int]) -> None:
    for dim, entry in enumerate(spec):
        names = () if entry is None else (entry,) if isinstance(entry, str) else entry
        parts = 1
        for name in names:
            parts *= sizes[name]
        if shape[dim] % parts:
            raise ValueError(f"cannot shard dimension {dim} of a tensor of shape {list(shape)} into {parts} equal "
                             "parts: XLA needs each device's slice to be the same size")


def placements_of(spec: Any, axes: Sequence[str]) -> tuple[Placement, ...]:
    """The placements, one per mesh dimension in ``axes``, that a PartitionSpec describes."""
    where: dict[str, int] = {}
    for dim, entry in enumerate(spec):
        for name in (() if entry is None else (entry,) if isinstance(entry, str) else entry):
            where[name] = dim
    return tuple(Shard(where[a]) if a in where else Replicate() for a in axes)
