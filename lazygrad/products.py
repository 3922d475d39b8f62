"""Products beyond matmul: outer, addmm, baddbmm and torch.cross (which picks its axis as torch does)."""

from __future__ import annotations

from typing import Any

from . import dtypes, ops
from .autocast_mode import lower_precision_op
from .grad_mode import no_grad
from .linalg import cross as linalg_cross
from .matmul_ops import matmul
from .tensor import Tensor, _record


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """``input[i] * vec2[j]`` for 1-D operands."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.unsqueeze(1) * vec2


def _scaled_sum(name: str, input: Tensor, a: Tensor, b: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * input + alpha * (a @ b)``; with ``beta == 0`` the input is ignored, NaNs included, as in torch."""
    with no_grad():  # one record for the whole op, whose gradient walk reaches a and b through the product
        # 16-bit floats: torch accumulates in float32 and adds the input there, rounding once
        product = (matmul(a.float(), b.float()) if a.dtype in dtypes.HALF else matmul(a, b)).node
    node = product if alpha == 1 else ops.mul(product, ops.scalar(alpha, product.dtype))
    if beta != 0:
        base = ops.cast(input.node, product.dtype)
        node = ops.add(node, base if beta == 1 else ops.mul(base, ops.scalar(beta, product.dtype)))
    return _record(name, ops.cast(ops.broadcast_to(node, product.shape), a.dtype), input, a, b)


@lower_precision_op
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``, ``input`` broadcast to the product's shape."""
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    return _scaled_sum("AddmmBackward0", input, mat1, mat2, beta, alpha)


@lower_precision_op
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices."""
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    return _scaled_sum("BaddbmmBackward0", input, batch1, batch2, beta, alpha)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """torch.cross: ``linalg.cross`` along ``dim``, by default the first axis of size 3."""
    if dim is None:
        dim = next((a for a, size in enumerate(input.shape) if size == 3), -1)
    return linalg_cross(input, other, dim=dim)


for _name, _fn in {"outer": outer, "ger": outer, "addmm": addmm, "baddbmm": baddbmm, "cross": cross}.items():
    setattr(Tensor, _name, _fn)
