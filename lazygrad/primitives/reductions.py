"""Reductions over axes, arg-reductions, and scans along one axis (cumulative sums and products, sorts)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .. import dtypes
from ..autodiff import Cotangents, no_gradient
from ..dtypes import DType
from ..ir import Node, Shape, apply
from ..ops import add, broadcast_to, cast, const, div, iota, keep_dims_shape, mul, permute, reduce, reshape, select
from .rules import _check_axes, declare

# ---- shape/dtype rules ------------------------------------------------------------------------------------


def _reduce(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(x: Node, axes: tuple[int, ...]) -> tuple[Shape, DType]:
        _check_axes(op, x.shape, axes)
        return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype
    return rule


def _arg_reduce(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(x: Node, axis: int) -> tuple[Shape, DType]:
        _check_axes(op, x.shape, (axis,))
        if x.shape[axis] == 0:
            raise ValueError(f"[{op}] cannot reduce an empty axis {axis} of shape {x.shape}")
        return x.shape[:axis] + x.shape[axis + 1:], dtypes.int64
    return rule


def _cumsum_rule(x: Node, axis: int) -> tuple[Shape, DType]:
    _check_axes("cumsum", x.shape, (axis,))
    return x.shape, x.dtype


def _argsort(x: Node, axis: int, descending: bool) -> tuple[Shape, DType]:
    """Stable order of each line along ``axis``; NaN sorts as the largest value, as in torch."""
    _check_axes("argsort", x.shape, (axis,))
    return x.shape, dtypes.int64


def _cumprod_rule(x: Node, axis: int) -> tuple[Shape, DType]:
    _check_axes("cumprod", x.shape, (axis,))
    return x.shape, x.dtype


# ---- VJP rules --------------------------------------------------------------------------------------------


def _expand_back(ct: Node, x: Node, axes: Sequence[int]) -> Node:
    """``ct`` spread back over the ``axes`` a reduction of ``x`` removed. Leading axes need no reshape first:
    broadcasting adds them (a loss's seed goes straight from a scalar to the summed shape)."""
    if tuple(axes) == tuple(range(len(axes))):
        return broadcast_to(ct, x.shape)
    return broadcast_to(reshape(ct, keep_dims_shape(x.shape, axes)), x.shape)


def _reduce_sum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    return _expand_back(ct, n.args[0], n.params[0]),


def _reduce_extremum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    axes = n.params[0]
    # The elements that are the extremum share the gradient evenly; where it is NaN, they are the NaN
    # elements. That is torch's max()/min() rule, on every backend (torch's amax/amin instead make the whole
    # slice's gradient NaN there, which the frontend gets by making such a slice all NaN first). The count
    # is never 0, so no slice divides by it.
    extremum = _expand_back(n, x, axes)
    hit = apply("eq", (x, extremum))
    if x.dtype.is_floating_point:
        both_nan = apply("and", (apply("ne", (x, x)), apply("ne", (extremum, extremum))))
        hit = apply("or", (hit, both_nan))
    hit = cast(hit, x.dtype)
    count = reduce("reduce_sum", hit, axes, keepdims=True)
    return mul(_expand_back(ct, x, axes), div(hit, count)),


def _reduce_prod(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    axes = n.params[0]
    # The product of all the other elements, built without dividing so zeros are handled exactly:
    # lay the reduced elements out as a row, repeat it into a square, put ones on the diagonal and
    # multiply along the rows. Memory grows with the square of the reduced size.
    kept = [i for i in range(len(x.shape)) if i not in axes]
    kept_shape = tuple(x.shape[i] for i in kept)
    size = math.prod(x.shape[i] for i in axes)
    rows = reshape(permute(x, kept + list(axes)), (*kept_shape, 1, size))
    square = broadcast_to(rows, (*kept_shape, size, size))
    diagonal = apply("eq", (iota((size, size), 0), iota((size, size), 1)))
    others = reduce("reduce_prod", select(diagonal, const(1, x.dtype), square), (len(kept) + 1,))
    grad = mul(others, reshape(ct, (*kept_shape, 1)))
    grad = reshape(grad, kept_shape + tuple(x.shape[i] for i in axes))
    inverse = sorted(range(len(x.shape)), key=lambda i: (kept + list(axes))[i])
    return permute(grad, inverse),


def _cumsum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    (axis,) = n.params
    # The reverse cumulative sum: total minus the running sum before each position.
    total = reduce("reduce_sum", ct, (axis,), keepdims=True)
    return add(apply("sub", (broadcast_to(total, ct.shape), apply("cumsum", (ct,), (axis,)))), ct),


def _reverse_cumsum(x: Node, axis: int) -> Node:
    return apply("rev", (apply("cumsum", (apply("rev", (x,), ((axis,),)),), (axis,)),), ((axis,),))


def _cumprod(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    (axis,) = n.params
    # d y_i / d x_k is the product of x_j for j <= i, j != k. Before the first zero that is y_i / x_k; at the
    # first zero it is the running product with that zero taken as one; past it every such product holds a zero,
    # so those terms are left out (not summed as an inf * 0 that an infinite factor would make NaN).
    zero, one = const(0, x.dtype), const(1, x.dtype)
    is_zero = apply("eq", (x, zero))
    zeros_so_far = apply("cumsum", (cast(is_zero, dtypes.int64),), (axis,))
    before = apply("eq", (zeros_so_far, const(0, dtypes.int64)))
    first = apply("and", (is_zero, apply("eq", (zeros_so_far, const(1, dtypes.int64)))))
    up_to = div(_reverse_cumsum(select(before, mul(ct, n), zero), axis), select(before, x, one))
    skipped = apply("cumprod", (select(first, one, x),), (axis,))
    at_first = _reverse_cumsum(mul(ct, skipped), axis)
    return select(before, up_to, select(first, at_first, zero)),


# ---- the declarations ---------------------------------------------------------------------------------------

declare("reduce_sum", "reduce", _reduce("reduce_sum"), _reduce_sum)
declare("reduce_max", "reduce", _reduce("reduce_max"), _reduce_extremum)
declare("reduce_min", "reduce", _reduce("reduce_min"), _reduce_extremum)
declare("reduce_prod", "reduce", _reduce("reduce_prod"), _reduce_prod)
for _name in ("argmax", "argmin"):
    declare(_name, "reduce", _arg_reduce(_name), no_gradient)
declare("cumsum", "other", _cumsum_rule, _cumsum)
declare("cumprod", "other", _cumprod_rule, _cumprod)
# Integer positions; sorted values are a gather of them.
declare("argsort", "other", _argsort, no_gradient)
