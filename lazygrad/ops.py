"""Node-level building blocks shared by the Tensor front end and the VJP rules.

Each helper returns its input unchanged when the operation would be the identity, so neither the
front end nor the autodiff rules fill the graph with no-op nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import capture, dtypes
from .dtypes import DType
from .ir import Node, Shape, apply, leaf


def const(value: float | int | bool, dtype: DType) -> Node:
    """A constant that is part of the program's structure (cache key): for values the code fixes."""
    return Node("const", (), (_wrapped(value, dtype), dtype), (), dtype)


def _wrapped(value: float | int | bool, dtype: DType) -> float | int | bool:
    """A Python integer outside a narrow integer dtype's range, wrapped around as torch converts it
    (``uint8_tensor - 3`` holds 253...); numpy would refuse it."""
    if type(value) is not int or dtype.np.kind not in "iu" or dtype.itemsize == 8:
        return value
    info = np.iinfo(dtype.np)
    if info.min <= value <= info.max:
        return value
    span = 1 << (8 * dtype.itemsize)
    value %= span
    return value - span if value > info.max else value


def scalar(value: float | int | bool, dtype: DType) -> Node:
    """A Python number from the user: an input, so a new value never recompiles.

    It converts straight to ``dtype`` (0.1 stays Python's double in float64), except that float16 goes
    through float32 first, as torch's Half does (bfloat16 too), so both round the same way.
    """
    capture.note_number(value)
    symbolic = value if type(value) in capture.SYMBOLIC else None
    if symbolic is not None:  # a number a compiled function's replay derives anew: it names its source
        value = symbolic._plain()
    if dtype in dtypes.HALF:
        value = np.float32(value)
    buffer = np.asarray(_wrapped(value, dtype), dtype=dtype.np)
    if symbolic is not None:
        capture.note_scalar(buffer, symbolic)
    return leaf(buffer, (), dtype)


def full(shape: Shape, value: float | int | bool, dtype: DType) -> Node:
    return broadcast_to(const(value, dtype), shape)


def zeros_like(x: Node) -> Node:
    return full(x.shape, 0, x.dtype)


def binary(op: str, a: Node, b: Node) -> Node:
    return apply(op, (a, b))


def add(a: Node, b: Node) -> Node:
    return apply("add", (a, b))


def mul(a: Node, b: Node) -> Node:
    return apply("mul", (a, b))


def fma(a: Node, b: Node, c: Node) -> Node:
    """``a * b + c`` rounded once, as torch's CPU kernels fuse it, for float32 or float64 arguments; integers are
    exact either way. 16-bit floats take ``fused``'s float32, where torch computes them too."""
    return apply("fma", (a, b, c)) if a.dtype.is_floating_point else add(mul(a, b), c)


def fused(dtype: DType, build: Callable[[DType], Node]) -> Node:
    """``build(work)`` in the dtype torch's kernels compute ``dtype`` in (float32 for 16-bit floats), then
    rounded to ``dtype``: the numbers ``build`` makes with ``scalar`` must be in ``work`` too."""
    work = dtypes.float32 if dtype in dtypes.HALF else dtype
    return cast(build(work), dtype)


def neg(a: Node) -> Node:
    return apply("neg", (a,))


def div(a: Node, b: Node) -> Node:
    return apply("div", (a, b))


def select(pred: Node, on_true: Node, on_false: Node) -> Node:
    return apply("select", (pred, on_true, on_false))


def scale(x: Node, factor: float) -> Node:
    return mul(x, const(factor, x.dtype))


def cast(x: Node, dtype: DType) -> Node:
    return x if x.dtype is dtype else apply("cast", (x,), (dtype,))


def reshape(x: Node, shape: Shape) -> Node:
    return x if x.shape == shape else apply("reshape", (x,), (tuple(shape),))


def broadcast_to(x: Node, shape: Shape) -> Node:
    return x if x.shape == shape else apply("broadcast", (x,), (tuple(shape),))


def permute(x: Node, perm: Sequence[int]) -> Node:
    perm = tuple(perm)
    return x if perm == tuple(range(len(perm))) else apply("permute", (x,), (perm,))


def reduce(op: str, x: Node, axes: Sequence[int], keepdims: bool = False) -> Node:
    axes = tuple(sorted(axes))
    if not axes:
        return x
    out = apply(op, (x,), (axes,))
    return reshape(out, keep_dims_shape(x.shape, axes)) if keepdims else out


def keep_dims_shape(shape: Shape, axes: Sequence[int]) -> Shape:
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def sum_to(x: Node, shape: Shape) -> Node:
    """Sum a broadcast result back to ``shape``: the transpose of implicit broadcasting."""
    if x.shape == shape:
        return x
    lead = len(x.shape) - len(shape)
    axes = list(range(lead))
    axes += [lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1]
    return reshape(reduce("reduce_sum", x, axes), shape)


def iota(shape: Shape, axis: int, dtype: DType = dtypes.int64) -> Node:
    return apply("iota", (), (tuple(shape), axis, dtype))


def pad(x: Node, low: Shape, high: Shape, interior: Shape) -> Node:
    if not any(low) and not any(high) and not any(interior):
        return x
    return apply("pad", (x,), (tuple(low), tuple(high), tuple(interior)))


def slice_(x: Node, starts: Shape, stops: Shape, steps: Shape) -> Node:
    if tuple(starts) == (0,) * len(x.shape) and tuple(stops) == x.shape and set(steps) <= {1}:
        return x
    return apply("slice", (x,), (tuple(starts), tuple(stops), tuple(steps)))


def dynamic_slice(x: Node, starts: Sequence[Node], sizes: Shape) -> Node:
    return apply("dynamic_slice", (x, *starts), (tuple(sizes),))


def dynamic_update_slice(x: Node, update: Node, starts: Sequence[Node]) -> Node:
    return apply("dynamic_update_slice", (x, update, *starts))


def window(x: Node, starts: Shape, stops: Shape, steps: Shape) -> Node:
    """``x[start:stop:step]`` per axis. A unit-step window's start is a program input (a Python number), so
    windows at other positions share one program: minibatches sliced from one tensor, ``x[i]``, iteration,
    ``vec[0, argmax(vec)]``. Other steps stay static parameters. One pass over the axes: it runs per batch."""
    positions: list[Node] = []
    sizes, static_starts, static_stops = [], [], []
    moved = False
    for start, stop, step, size in zip(starts, stops, steps, x.shape):
        if step == 1 and (start != 0 or stop != size):
            moved = True
            positions.append(scalar(start, dtypes.int64))
            sizes.append(stop - start)
            static_starts.append(0)
            static_stops.append(stop - start)
        else:
            positions.append(None)
            sizes.append(size)
            static_starts.append(start)
            static_stops.append(stop)
    if not moved:
        return slice_(x, starts, stops, steps)
    zero = const(0, dtypes.int64)
    x = dynamic_slice(x, [zero if p is None else p for p in positions], tuple(sizes))
    return slice_(x, tuple(static_starts), tuple(static_stops), steps)
