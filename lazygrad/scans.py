"""Running extrema and running log-sum-exp along an axis: cummax, cummin and logcumsumexp, and the prefix
scan they are built on.

There is no scan primitive: ``prefix_scan`` combines each element with the one ``s`` places before it for
``s = 1, 2, 4, ...``, so after ``ceil(log2 n)`` rounds every element has combined its whole prefix. That
is ``n log n`` work in one fused program, with no ``(n, n)`` intermediate. The extrema scan positions
(torch's rule: the latest of equal values, and a NaN wins from the position it appears on), then read the
values there, so the gradient goes to exactly those positions as in torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import dtypes, ops, return_types
from .ir import Node, apply
from .sorting import take_along
from .tensor import Tensor, _dim, _record, _torch_type_name, _wrap

Combine = Callable[[tuple[Node, ...], tuple[Node, ...]], tuple[Node, ...]]


def prefix_scan(nodes: tuple[Node, ...], combine: Combine) -> tuple[Node, ...]:
    """Inclusive scan along the last axis of same-shaped ``nodes``: ``combine(later, earlier)`` merges the
    running results of two adjacent ranges (it must be associative)."""
    shape = nodes[0].shape
    n, last = shape[-1], len(shape) - 1
    shift = 1
    while shift < n:
        low = (0,) * len(shape)
        keep = tuple(n - shift if a == last else d for a, d in enumerate(shape))
        pad = tuple(shift if a == last else 0 for a in range(len(shape)))
        earlier = tuple(ops.pad(ops.slice_(x, low, keep, (1,) * len(shape)), pad, low, low) for x in nodes)
        reached = apply("ge", (ops.iota(shape, last), ops.const(shift, dtypes.int64)))
        merged = combine(nodes, earlier)
        nodes = tuple(ops.select(reached, m, x) for m, x in zip(merged, nodes))
        shift *= 2
    return nodes


def _extremum_positions(node: Node, largest: bool) -> Node:
    """Per position of the last axis, where the running max (or min) of its prefix was last reached."""
    wins = "gt" if largest else "lt"
    floating = node.dtype.is_floating_point
    key = node if node.dtype is not dtypes.bool_ else ops.cast(node, dtypes.int32)

    def combine(later: tuple[Node, ...], earlier: tuple[Node, ...]) -> tuple[Node, ...]:
        (value, position), (old, old_position) = later, earlier
        better = apply(wins, (old, value))  # ties keep the later position
        if floating:  # a NaN beats any number; of two NaNs the later stays
            old_nan, nan = apply("ne", (old, old)), apply("ne", (value, value))
            better = apply("or", (apply("and", (old_nan, apply("logical_not", (nan,)))), better))
        return ops.select(better, old, value), ops.select(better, old_position, position)

    return prefix_scan((key, ops.iota(key.shape, len(key.shape) - 1)), combine)[1]


def _cumulative_extremum(name: str, input: Tensor, dim: int, largest: bool) -> tuple[Tensor, Tensor]:
    axis = _dim(dim, input.ndim)
    if input.ndim == 0 or input.numel() == 0:
        indices = _wrap(ops.full(input.node.shape, 0, dtypes.int64))
        return getattr(return_types, name)(_record(f"{name.capitalize()}Backward0", input.node, input), indices)
    perm = _swap(input.ndim, axis, input.ndim - 1)
    moved = ops.permute(input.node, perm)
    positions = _extremum_positions(apply("stop_gradient", (moved,)), largest)
    values = take_along(moved, input.ndim - 1, positions)
    record = _record(f"{name.capitalize()}Backward0", ops.permute(values, perm), input)
    return getattr(return_types, name)(record, _wrap(ops.permute(positions, perm)))


def cummax(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """The running maximum along ``dim`` and where it was last reached."""
    return _cumulative_extremum("cummax", input, dim, largest=True)


def cummin(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """The running minimum along ``dim`` and where it was last reached."""
    return _cumulative_extremum("cummin", input, dim, largest=False)


def _log_add_exp(later: tuple[Node, ...], earlier: tuple[Node, ...]) -> tuple[Node, ...]:
    """``log(exp(a) + exp(b))`` as ``max + log1p(exp(-|a - b|))``; two -inf give -inf, not NaN."""
    a, b = later[0], earlier[0]
    top = apply("max", (a, b))
    low = apply("min", (a, b))
    infinite = apply("eq", (low, ops.const(-math.inf, a.dtype)))
    gap = ops.select(infinite, ops.full(a.shape, -math.inf, a.dtype), apply("sub", (low, top)))
    return (ops.add(top, apply("log1p", (apply("exp", (gap,)),))),)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, each step adding in log space so nothing overflows."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_torch_type_name(input.dtype)}'")
    axis = _dim(dim, input.ndim)
    if input.ndim == 0 or input.numel() == 0:
        return _record("LogcumsumexpBackward0", input.node, input)
    perm = _swap(input.ndim, axis, input.ndim - 1)
    (out,) = prefix_scan((ops.permute(input.node, perm),), _log_add_exp)
    return _record("LogcumsumexpBackward0", ops.permute(out, perm), input)


def _swap(ndim: int, a: int, b: int) -> list[int]:
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return perm


for _name, _fn in {"cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp}.items():
    setattr(Tensor, _name, _fn)
del _name, _fn
