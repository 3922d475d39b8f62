"""Primitives that move elements without arithmetic: broadcasts, reshapes, permutations, slices, pads,
concatenation, reversal, gathers and scatters, plus the two identities ``stop_gradient`` and ``check``."""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes
from ..autodiff import Cotangents, no_gradient
from ..dtypes import DType
from ..ir import Node, Shape, apply, broadcast_shapes
from ..ops import dynamic_slice, dynamic_update_slice, pad, permute, reshape, slice_, sum_to, zeros_like
from .rules import _check_axes, _same_dtype, declare

# ---- shape/dtype rules ------------------------------------------------------------------------------------


def _any_unary(x: Node) -> tuple[Shape, DType]:
    return x.shape, x.dtype


def _broadcast(x: Node, shape: Shape) -> tuple[Shape, DType]:
    if len(shape) < len(x.shape) or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"[broadcast] cannot broadcast shape {x.shape} to {shape}")
    return shape, x.dtype


def _reshape(x: Node, shape: Shape) -> tuple[Shape, DType]:
    if math.prod(shape) != math.prod(x.shape):
        raise ValueError(f"[reshape] cannot reshape {x.shape} to {shape}")
    return shape, x.dtype


def _permute_rule(x: Node, perm: tuple[int, ...]) -> tuple[Shape, DType]:
    if sorted(perm) != list(range(len(x.shape))):
        raise ValueError(f"[permute] {perm} is not a permutation of the axes of {x.shape}")
    return tuple(x.shape[p] for p in perm), x.dtype


def _slice_rule(x: Node, starts: Shape, stops: Shape, steps: Shape) -> tuple[Shape, DType]:
    if not len(starts) == len(stops) == len(steps) == len(x.shape):
        raise ValueError(f"[slice] needs one (start, stop, step) per axis of {x.shape}")
    out = []
    for start, stop, step, dim in zip(starts, stops, steps, x.shape):
        if not (0 <= start <= stop <= dim and step >= 1):
            raise ValueError(f"[slice] invalid slice {start}:{stop}:{step} of an axis of size {dim}")
        out.append(-(-(stop - start) // step))
    return tuple(out), x.dtype


def _dynamic_starts(op: str, x: Node, starts: tuple[Node, ...]) -> None:
    if len(starts) != len(x.shape) or any(s.shape != () or s.dtype is not dtypes.int64 for s in starts):
        raise TypeError(f"[{op}] needs one int64 scalar start per axis of {x.shape}")


def _dynamic_slice_rule(x: Node, *rest: Any) -> tuple[Shape, DType]:
    """A window of static ``sizes`` at starts that are program inputs: ``x[i:i + n]`` with ``i`` changing
    every step reuses one program. Starts are checked by the front end, which knows their values."""
    *starts, sizes = rest
    _dynamic_starts("dynamic_slice", x, tuple(starts))
    if len(sizes) != len(x.shape) or any(not 0 <= n <= d for n, d in zip(sizes, x.shape)):
        raise ValueError(f"[dynamic_slice] sizes {sizes} do not fit {x.shape}")
    return tuple(sizes), x.dtype


def _dynamic_update_slice_rule(x: Node, update: Node, *starts: Node) -> tuple[Shape, DType]:
    _dynamic_starts("dynamic_update_slice", x, starts)
    if len(update.shape) != len(x.shape) or any(u > d for u, d in zip(update.shape, x.shape)):
        raise ValueError(f"[dynamic_update_slice] an update of {update.shape} does not fit {x.shape}")
    return x.shape, _same_dtype("dynamic_update_slice", x, update)


def _pad_rule(x: Node, low: Shape, high: Shape, interior: Shape) -> tuple[Shape, DType]:
    if not len(low) == len(high) == len(interior) == len(x.shape) or min((*low, *high, *interior), default=0) < 0:
        raise ValueError(f"[pad] needs non-negative (low, high, interior) per axis of {x.shape}")
    shape = tuple(lo + hi + d + max(d - 1, 0) * it for lo, hi, it, d in zip(low, high, interior, x.shape))
    return shape, x.dtype


def _concat_rule(*args: Any) -> tuple[Shape, DType]:
    *nodes, axis = args
    dtype = _same_dtype("concat", *nodes)
    first = nodes[0].shape
    for node in nodes[1:]:
        if len(node.shape) != len(first) or any(
                a != b for i, (a, b) in enumerate(zip(node.shape, first)) if i != axis):
            raise ValueError(f"[concat] shapes {first} and {node.shape} differ outside axis {axis}")
    return (*first[:axis], sum(n.shape[axis] for n in nodes), *first[axis + 1:]), dtype


def _rev(x: Node, axes: tuple[int, ...]) -> tuple[Shape, DType]:
    _check_axes("rev", x.shape, axes)
    return x.shape, x.dtype


def _gather_rule(x: Node, indices: Node, axis: int) -> tuple[Shape, DType]:
    _check_axes("gather", x.shape, (axis,))
    if indices.dtype.is_floating_point or indices.dtype is dtypes.bool_:
        raise TypeError(f"[gather] indices must be integers, got {indices.dtype.name}")
    return (*x.shape[:axis], *indices.shape, *x.shape[axis + 1:]), x.dtype


def _scatter_add(updates: Node, indices: Node, axis: int, size: int) -> tuple[Shape, DType]:
    rank = len(indices.shape)
    if indices.dtype.is_floating_point or indices.dtype is dtypes.bool_:
        raise TypeError(f"[scatter_add] indices must be integers, got {indices.dtype.name}")
    if updates.shape[axis:axis + rank] != indices.shape:
        raise ValueError(f"[scatter_add] updates {updates.shape} do not hold indices {indices.shape} at axis {axis}")
    return (*updates.shape[:axis], size, *updates.shape[axis + rank:]), updates.dtype


def _check(x: Node, ok: Node, check: Any) -> tuple[Shape, DType]:
    if ok.dtype is not dtypes.bool_ or ok.shape != x.shape:
        raise TypeError(f"[check] the condition must be bool of the checked value's shape {x.shape}, got "
                        f"{ok.dtype.name}{list(ok.shape)}")
    return x.shape, x.dtype


# ---- VJP rules --------------------------------------------------------------------------------------------


def _permute(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    perm = n.params[0]
    if perm == (1, 0) and ct.op == "dot_general" and ct.buffer is None and not ct.params[2] \
            and len(ct.args[0].shape) == len(ct.args[1].shape) == 2:
        # A transposed weight's cotangent is a product (``x^T @ g`` for ``x @ w.t()``): the product of the
        # swapped operands (``g^T @ x``, torch's formula) is the same matrix already in the weight's layout. A
        # transposed view would make every optimizer update mix row- and column-major operands, which an
        # interpreter reads several times slower.
        lhs, rhs = ct.args
        lhs_contract, rhs_contract = ct.params[:2]
        return apply("dot_general", (rhs, lhs), (rhs_contract, lhs_contract, (), ())),
    return permute(ct, sorted(range(len(perm)), key=perm.__getitem__)),


def _slice(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    starts, _, steps = n.params
    x = n.args[0]
    high = tuple(dim - start - ((out - 1) * step + 1 if out else 0)
                 for dim, start, step, out in zip(x.shape, starts, steps, n.shape))
    return pad(ct, starts, high, tuple(s - 1 for s in steps)),


def _dynamic_slice(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x, *starts = n.args
    return (dynamic_update_slice(zeros_like(x), ct, starts), *([None] * len(starts)))


def _dynamic_update_slice(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    _, update, *starts = n.args
    ct_x = dynamic_update_slice(ct, zeros_like(update), starts) if needs[0] else None
    ct_update = dynamic_slice(ct, starts, update.shape) if needs[1] else None
    return (ct_x, ct_update, *([None] * len(starts)))


def _pad(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    low, _, interior = n.params
    x = n.args[0]
    stops = tuple(lo + ((d - 1) * (it + 1) + 1 if d else 0) for lo, it, d in zip(low, interior, x.shape))
    return slice_(ct, low, stops, tuple(it + 1 for it in interior)),


def _concat(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    *args, axis = (*n.args, n.params[0])
    out, offset = [], 0
    for arg in args:
        starts = tuple(offset if i == axis else 0 for i in range(len(ct.shape)))
        stops = tuple(offset + arg.shape[axis] if i == axis else d for i, d in enumerate(ct.shape))
        out.append(slice_(ct, starts, stops, (1,) * len(ct.shape)))
        offset += arg.shape[axis]
    return tuple(out)


def _gather(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x, indices = n.args
    (axis,) = n.params
    # Every read element receives the cotangents of all the positions that read it.
    return apply("scatter_add", (ct, indices), (axis, x.shape[axis])), None


# ---- the declarations ---------------------------------------------------------------------------------------

# The identity, with no gradient: lets the front end shift by a maximum (softmax) without differentiating it.
declare("stop_gradient", "other", _any_unary, no_gradient)
declare("broadcast", "shape", _broadcast, lambda ct, n, needs: (sum_to(ct, n.args[0].shape),))
declare("reshape", "shape", _reshape, lambda ct, n, needs: (reshape(ct, n.args[0].shape),))
declare("permute", "shape", _permute_rule, _permute)
declare("slice", "shape", _slice_rule, _slice)
declare("dynamic_slice", "shape", _dynamic_slice_rule, _dynamic_slice)
declare("dynamic_update_slice", "other", _dynamic_update_slice_rule, _dynamic_update_slice)
declare("pad", "shape", _pad_rule, _pad)
declare("concat", "shape", _concat_rule, _concat)
declare("rev", "shape", _rev, lambda ct, n, needs: (apply("rev", (ct,), n.params),))
declare("gather", "other", _gather_rule, _gather)
declare("scatter_add", "other", _scatter_add,
        lambda ct, n, needs: (apply("gather", (ct, n.args[1]), n.params[:1]), None))
# ``x`` unchanged once ``ok`` holds everywhere: a pending index or divisor verified when it is computed
# (the parameter, a ``checks.Check``, says what to raise otherwise).
declare("check", "other", _check, lambda ct, n, needs: (ct, None))
