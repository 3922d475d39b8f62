"""Products beyond matmul: outer, addmm, baddbmm, addmv, addbmm, addr, vdot, inner, tensordot, kron,
chain_matmul and torch.cross (which picks its axis as torch does)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from . import dtypes, ops
from .autocast_mode import lower_precision_op
from .function_forms import write_out
from .grad_mode import no_grad
from .linalg import cross as linalg_cross
from .linalg import multi_dot
from .matmul_ops import dot, matmul
from .tensor import Tensor, _dim, _promote, _record, _torch_type_name


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """``input[i] * vec2[j]`` for 1-D operands."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.unsqueeze(1) * vec2


def _scaled_sum(name: str, input: Tensor, a: Tensor, b: Tensor, beta: Any, alpha: Any,
                record_inputs: Sequence[Tensor] = ()) -> Tensor:
    """``beta * input + alpha * (a @ b)``; with ``beta == 0`` the input is ignored, NaNs included, as in torch."""
    with no_grad():  # one record for the whole op, whose gradient walk reaches a and b through the product
        # 16-bit floats: torch accumulates in float32 and adds the input there, rounding once
        product = (matmul(a.float(), b.float()) if a.dtype in dtypes.HALF else matmul(a, b)).node
    node = product if alpha == 1 else ops.mul(product, ops.scalar(alpha, product.dtype))
    if beta != 0:
        base = ops.cast(input.node, product.dtype)
        node = ops.add(node, base if beta == 1 else ops.mul(base, ops.scalar(beta, product.dtype)))
    return _record(name, ops.cast(ops.broadcast_to(node, product.shape), a.dtype), *(record_inputs or (input, a, b)))


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


def _same_dtype(op: str, *tensors: Tensor) -> None:
    if len({t.dtype for t in tensors}) > 1:
        names = ", ".join(_torch_type_name(t.dtype) for t in tensors)
        raise RuntimeError(f"{op} input tensors must have the same dtype, but got {names.rsplit(', ', 1)[0]}, and "
                           f"{names.rsplit(', ', 1)[1]}")


@lower_precision_op
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``, ``input`` broadcast to the product's length."""
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1 or mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}"
                           if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1 else
                           f"size mismatch, got input ({input.shape[0] if input.ndim else 1}), mat "
                           f"({mat.shape[0]}x{mat.shape[1]}), vec ({vec.shape[0]})")
    _same_dtype("addmv", input, mat, vec)
    return _scaled_sum("AddmvBackward0", input, mat, vec, beta, alpha)


@lower_precision_op
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``: a batch of products summed into one matrix."""
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if batch1.shape[0] != batch2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {batch1.shape[0]} and "
                           f"{batch2.shape[0]}")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({batch1.shape[1]}x{batch1.shape[2]} and "
                           f"{batch2.shape[1]}x{batch2.shape[2]})")
    rows, inner, cols = batch1.shape[1], batch1.shape[2], batch2.shape[2]
    with no_grad():  # the batch folds into the contraction: one (rows, b*inner) @ (b*inner, cols) product
        left = batch1.permute(1, 0, 2).reshape(rows, -1)
        right = batch2.reshape(-1, cols) if inner else batch2.new_zeros(0, cols)
    return _scaled_sum("AddbmmBackward0", input, left, right, beta, alpha, record_inputs=(input, batch1, batch2))


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    for name, t in (("vec1", vec1), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {t.ndim}-D")
    with no_grad():
        input.expand(vec1.shape[0], vec2.shape[0])  # torch's message for an input of another shape
    dtype = _promote(input, vec1, vec2)
    a, b = ops.cast(vec1.node, dtype), ops.cast(vec2.node, dtype)
    node = ops.mul(ops.reshape(a, (a.shape[0], 1)), ops.reshape(b, (1, b.shape[0])))
    if alpha != 1:
        node = ops.mul(node, ops.scalar(alpha, dtype))
    if beta != 0:
        base = ops.cast(input.node, dtype)
        node = ops.add(node, base if beta == 1 else ops.mul(base, ops.scalar(beta, dtype)))
    return _record("AddrBackward0", ops.broadcast_to(node, (vec1.shape[0], vec2.shape[0])), input, vec1, vec2)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two vectors (conjugating the first, which for real tensors changes nothing)."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_torch_type_name(input.dtype)} and {_torch_type_name(other.dtype)}")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {other.shape[0]} "
                           f"elements respectively")
    with no_grad():
        node = dot(input, other).node
    return _record("VdotBackward0", node, input, other)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """The sum of products of ``a``'s axes ``dims[0]`` with ``b``'s ``dims[1]`` (the last/first ``dims`` axes
    for an integer), as one matrix product of the two reshaped operands."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        given_a, given_b = list(range(-dims, 0)), list(range(dims))
    else:
        given_a, given_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(given_a) != len(given_b):
        raise RuntimeError("both dimension lists should have same length")
    axes_a = [_dim(d, a.ndim) for d in given_a]
    axes_b = [_dim(d, b.ndim) for d in given_b]
    for da, db, i, j in zip(given_a, given_b, axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {da} and "
                               f"second has size {b.shape[j]} in dim {db}")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [j for j in range(b.ndim) if j not in axes_b]
    inner = math.prod(a.shape[i] for i in axes_a)
    left = a.permute(*free_a, *axes_a).reshape(-1, inner)
    right = b.permute(*axes_b, *free_b).reshape(inner, -1)
    result = matmul(left, right).reshape(*(a.shape[i] for i in free_a), *(b.shape[j] for j in free_b))
    return result if out is None else write_out(out, result, "tensordot", (a, b))


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sums of products over the last axes of both (a plain product when either is 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of ``input`` scales a copy of ``other`` in a block layout."""
    rank = max(input.ndim, other.ndim)
    sa = (1,) * (rank - input.ndim) + input.shape
    sb = (1,) * (rank - other.ndim) + other.shape
    with no_grad():
        a = input.reshape(tuple(x for d in sa for x in (d, 1)))
        b = other.reshape(tuple(x for d in sb for x in (1, d)))
        node = (a * b).node
    node = ops.reshape(node, tuple(x * y for x, y in zip(sa, sb)))
    return _record("UnsafeViewBackward0", node, input, other)


def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    """Deprecated form of ``linalg.multi_dot`` for matrices given as separate arguments."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
                  "parameters.", UserWarning, stacklevel=2)
    result = matrices[0].clone() if len(matrices) == 1 else multi_dot(matrices)
    return result if out is None else write_out(out, result, "chain_matmul", matrices)


def addmv_(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return input._inplace(addmv, mat, vec, beta=beta, alpha=alpha)


def _addmm_(self: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return self._inplace(addmm, mat1, mat2, beta=beta, alpha=alpha)


def _baddbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return self._inplace(baddbmm, batch1, batch2, beta=beta, alpha=alpha)


def _addbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return self._inplace(addbmm, batch1, batch2, beta=beta, alpha=alpha)


def _addr_(self: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return self._inplace(addr, vec1, vec2, beta=beta, alpha=alpha)


_METHODS = {"outer": outer, "ger": outer, "addmm": addmm, "baddbmm": baddbmm, "cross": cross, "addmv": addmv,
            "addbmm": addbmm, "addr": addr, "vdot": vdot, "inner": inner, "kron": kron, "addmv_": addmv_,
            "addmm_": _addmm_, "baddbmm_": _baddbmm_, "addbmm_": _addbmm_, "addr_": _addr_}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
