"""Matrix products: ``dot`` and ``matmul`` (with torch's mv/mm/bmm messages), attached to Tensor at the bottom."""

from __future__ import annotations

import math

from . import ops
from .autocast_mode import STATE as _autocast
from .autocast_mode import lower as _autocast_lower
from .ir import apply, broadcast_shapes
from .tensor import (
    _C10_NAMES,
    Tensor,
    _record,
    _torch_type_name,
    attach,
)


def _matmul_mismatch(la: tuple[int, ...], lb: tuple[int, ...]) -> None:
    """Raise torch's message for the kernel that torch would pick: mv, mm (batch folded into rows) or bmm."""
    rows = math.prod(la[:-1]) if len(la) > 1 else 1
    if len(lb) == 1:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{la[-1]}), vec ({lb[0]})")
    if len(lb) == 2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{la[-1]} and {lb[0]}x{lb[1]})")
    batch = math.prod(broadcast_shapes(la[:-2], lb[:-2]))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {la[-1]}] but got: "
                       f"[{batch}, {lb[-2]}].")


class MatmulMethods:
    """The matrix-product Tensor methods (attached to Tensor below)."""

    # ---- linear algebra ----
    def dot(self, tensor: Tensor) -> Tensor:
        return dot(self, tensor)

    def matmul(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def mm(self, mat2: Tensor) -> Tensor:
        return matmul(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return matmul(self, mat2)

    def mv(self, vec: Tensor) -> Tensor:
        return matmul(self, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    a, b = input, tensor
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_torch_type_name(a.dtype)} and {_torch_type_name(b.dtype)}")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")
    return _record("DotBackward0", apply("dot_general", (a.node, b.node), ((0,), (0,), (), ())), a, b)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """torch.matmul: dot, matrix-vector, matrix-matrix and broadcast batched products."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): argument 'other' must be Tensor")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    if _autocast.active:
        a, b = _autocast_lower(a, b)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C10_NAMES[a.dtype.name]} != "
                           f"{_C10_NAMES[b.dtype.name]}")
    if a.ndim == 1 and b.ndim == 1:
        return dot(a, b)
    la, lb = a.node.shape, b.node.shape
    k_a = la[-1]
    k_b = lb[-2] if b.ndim > 1 else lb[0]
    if k_a != k_b:
        _matmul_mismatch(la, lb)
    if a.ndim <= 2 and b.ndim <= 2:
        node = apply("dot_general", (a.node, b.node), ((a.ndim - 1,), (0,), (), ()))
        name = "MmBackward0" if a.ndim == 2 and b.ndim == 2 else ("MvBackward0" if a.ndim == 2 else "SqueezeBackward4")
        return _record(name, node, a, b)
    # Batched: broadcast the batch axes, contract the last axis of a with the second-to-last of b.
    an = a.node if a.ndim > 1 else ops.reshape(a.node, (1, la[0]))
    bn = b.node if b.ndim > 1 else ops.reshape(b.node, (lb[0], 1))
    batch = broadcast_shapes(an.shape[:-2], bn.shape[:-2])
    an = ops.broadcast_to(an, batch + an.shape[-2:])
    bn = ops.broadcast_to(bn, batch + bn.shape[-2:])
    nb = len(batch)
    node = apply("dot_general", (an, bn), ((nb + 1,), (nb,), tuple(range(nb)), tuple(range(nb))))
    out_shape = batch + ((la[-2],) if a.ndim > 1 else ()) + ((lb[-1],) if b.ndim > 1 else ())
    name = "UnsafeViewBackward0"
    if b.ndim >= 3 and (a.ndim == 2 or (a.ndim == b.ndim == 3 and la[0] == 1 and lb[0] > 1)):
        # torch computes a single matrix times a batch as a transposed product, made contiguous unless it is
        name = "CloneBackward0" if la[-2] > 1 and lb[-1] > 1 else "TransposeBackward0"
    return _record(name, ops.reshape(node, out_shape), a, b)


attach(MatmulMethods)
