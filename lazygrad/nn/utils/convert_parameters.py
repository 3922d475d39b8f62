"""Flatten parameters into one vector and back (for optimizers and tools that work on flat vectors)."""

from __future__ import annotations

from collections.abc import Iterable

from ...reshaping import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters, flattened and concatenated in order."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Rebind each parameter's data to its slice of ``vec`` (no gradient flows through)."""
    if not isinstance(vec, Tensor):
        kind = type(vec)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"expected torch.Tensor, but got: {name}")
    offset = 0
    for param in parameters:
        count = param.numel()
        param.data = vec[offset:offset + count].view_as(param).data
        offset += count
