"""The IR: nodes of a small primitive set, the table of their shape rules, and graph traversal.

A node is one primitive applied to argument nodes with static parameters. Its shape and dtype are
inferred when it is built, so a bad shape fails on the line that built it. A node whose ``buffer`` is
set holds a computed value; to the scheduler it is an input, whatever ``args`` it still remembers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import dtypes
from .dtypes import DType

Shape = tuple[int, ...]


# Serial numbers come from one C-level counter, so nodes built by several threads never share one.
_serials = itertools.count(1)


def nodes_created() -> int:
    """How many nodes were ever built (the next serial number minus one)."""
    return _serials.__reduce__()[1][0] - 1


class Node:
    """One value in the graph: a primitive over argument nodes, or a buffer leaf."""

    __slots__ = ("args", "buffer", "dtype", "op", "params", "serial", "shape")

    def __init__(self, op: str, args: tuple[Node, ...], params: tuple, shape: Shape, dtype: DType,
                 buffer: Any = None) -> None:
        self.op = op
        self.args = args
        self.params = params
        self.shape = shape
        self.dtype = dtype
        self.buffer = buffer
        # Arguments exist before their users, so serial order is a dependency order (see program.linearize).
        self.serial = next(_serials)

    def __repr__(self) -> str:
        state = "buffer" if self.buffer is not None else f"{len(self.args)} args"
        return f"Node({self.op}, {self.shape}, {self.dtype.name}, {self.params}, {state})"


def leaf(buffer: Any, shape: Shape, dtype: DType) -> Node:
    """A node that already holds its value: data from the user, or a realized result."""
    return Node("buffer", (), (), shape, dtype, buffer)


# --------------------------------------------------------------------------------------------------
# The primitive table: every primitive's shape/dtype rule, keyed by name.


@dataclass(frozen=True)
class Primitive:
    name: str
    rule: Callable[..., tuple[Shape, DType]]  # rule(*arg_nodes, *params) -> (shape, dtype)
    kind: str  # "elementwise", "reduce", "shape", "source", "other": lets passes treat families alike


PRIMITIVES: dict[str, Primitive] = {}


def _register(names: Iterable[str], rule: Callable[..., tuple[Shape, DType]], kind: str) -> None:
    for name in names:
        PRIMITIVES[name] = Primitive(name, rule, kind)


def broadcast_shapes(*shapes: Shape) -> Shape:
    """numpy/torch broadcasting; torch's message when two sizes disagree (it checks the last axis first)."""
    ndim = max(len(s) for s in shapes)
    out = []
    for axis in range(-1, -ndim - 1, -1):
        size = 1
        for index, shape in enumerate(shapes):
            if -axis > len(shape):
                continue
            dim = shape[axis]
            if dim != 1:
                if size != 1 and dim != size:
                    first = next(i for i, s in enumerate(shapes) if -axis <= len(s) and s[axis] == size)
                    names = "abcdefgh"
                    raise RuntimeError(
                        f"The size of tensor {names[first]} ({size}) must match the size of tensor "
                        f"{names[index]} ({dim}) at non-singleton dimension {ndim + axis}")
                size = dim
        out.append(size)
    return tuple(reversed(out))


_pairs: dict[tuple[Shape, Shape], Shape] = {}


def _broadcast_pair(sa: Shape, sb: Shape) -> Shape:
    """``broadcast_shapes(sa, sb)``, remembered: a bias or a scale meets the same shapes every step."""
    key = (sa, sb)
    shape = _pairs.get(key)
    if shape is None:
        shape = broadcast_shapes(sa, sb)
        if len(_pairs) >= 1 << 14:
            _pairs.clear()
        _pairs[key] = shape
    return shape


def _same_dtype(op: str, *nodes: Node) -> DType:
    dtype = nodes[0].dtype
    for node in nodes[1:]:
        if node.dtype is not dtype:
            raise TypeError(f"[{op}] arguments must share a dtype, got "
                            + ", ".join(n.dtype.name for n in nodes))
    return dtype


def _float_unary(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(x: Node) -> tuple[Shape, DType]:
        if not x.dtype.is_floating_point:
            raise TypeError(f"[{op}] expects a floating-point input, got {x.dtype.name}")
        return x.shape, x.dtype
    return rule


def _any_unary(x: Node) -> tuple[Shape, DType]:
    return x.shape, x.dtype


def _logical_not(x: Node) -> tuple[Shape, DType]:
    if x.dtype is not dtypes.bool_:
        raise TypeError(f"[logical_not] expects bool, got {x.dtype.name}")
    return x.shape, x.dtype


def _binary(op: str, out_bool: bool) -> Callable[..., tuple[Shape, DType]]:
    def rule(a: Node, b: Node) -> tuple[Shape, DType]:
        dtype = a.dtype
        if b.dtype is not dtype:
            _same_dtype(op, a, b)
        sa, sb = a.shape, b.shape
        shape = sa if sa == sb or not sb else sb if not sa else _broadcast_pair(sa, sb)
        return shape, dtypes.bool_ if out_bool else dtype
    return rule


def _bitwise(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(a: Node, b: Node) -> tuple[Shape, DType]:
        dtype = _same_dtype(op, a, b)
        if dtype.is_floating_point:
            raise TypeError(f"[{op}] is only defined for bool and integer tensors, got {dtype.name}")
        return broadcast_shapes(a.shape, b.shape), dtype
    return rule


def _select(pred: Node, on_true: Node, on_false: Node) -> tuple[Shape, DType]:
    if pred.dtype is not dtypes.bool_:
        raise TypeError(f"[select] predicate must be bool, got {pred.dtype.name}")
    dtype = on_true.dtype if on_true.dtype is on_false.dtype else _same_dtype("select", on_true, on_false)
    if pred.shape == on_true.shape == on_false.shape:  # the usual case, without the broadcasting walk
        return pred.shape, dtype
    return broadcast_shapes(pred.shape, on_true.shape, on_false.shape), dtype


def _check_axes(op: str, shape: Shape, axes: Sequence[int]) -> None:
    if any(not 0 <= a < len(shape) for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"[{op}] invalid axes {tuple(axes)} for shape {shape}")


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


def _cumsum(x: Node, axis: int) -> tuple[Shape, DType]:
    _check_axes("cumsum", x.shape, (axis,))
    return x.shape, x.dtype


def _broadcast(x: Node, shape: Shape) -> tuple[Shape, DType]:
    if len(shape) < len(x.shape) or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"[broadcast] cannot broadcast shape {x.shape} to {shape}")
    return shape, x.dtype


def _reshape(x: Node, shape: Shape) -> tuple[Shape, DType]:
    if math.prod(shape) != math.prod(x.shape):
        raise ValueError(f"[reshape] cannot reshape {x.shape} to {shape}")
    return shape, x.dtype


def _permute(x: Node, perm: tuple[int, ...]) -> tuple[Shape, DType]:
    if sorted(perm) != list(range(len(x.shape))):
        raise ValueError(f"[permute] {perm} is not a permutation of the axes of {x.shape}")
    return tuple(x.shape[p] for p in perm), x.dtype


def _slice(x: Node, starts: Shape, stops: Shape, steps: Shape) -> tuple[Shape, DType]:
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


def _dynamic_slice(x: Node, *rest: Any) -> tuple[Shape, DType]:
    """A window of static ``sizes`` at starts that are program inputs: ``x[i:i + n]`` with ``i`` changing
    every step reuses one program. Starts are checked by the front end, which knows their values."""
    *starts, sizes = rest
    _dynamic_starts("dynamic_slice", x, tuple(starts))
    if len(sizes) != len(x.shape) or any(not 0 <= n <= d for n, d in zip(sizes, x.shape)):
        raise ValueError(f"[dynamic_slice] sizes {sizes} do not fit {x.shape}")
    return tuple(sizes), x.dtype


def _dynamic_update_slice(x: Node, update: Node, *starts: Node) -> tuple[Shape, DType]:
    _dynamic_starts("dynamic_update_slice", x, starts)
    if len(update.shape) != len(x.shape) or any(u > d for u, d in zip(update.shape, x.shape)):
        raise ValueError(f"[dynamic_update_slice] an update of {update.shape} does not fit {x.shape}")
    return x.shape, _same_dtype("dynamic_update_slice", x, update)


def _pad(x: Node, low: Shape, high: Shape, interior: Shape) -> tuple[Shape, DType]:
    if not len(low) == len(high) == len(interior) == len(x.shape) or min((*low, *high, *interior), default=0) < 0:
        raise ValueError(f"[pad] needs non-negative (low, high, interior) per axis of {x.shape}")
    shape = tuple(lo + hi + d + max(d - 1, 0) * it for lo, hi, it, d in zip(low, high, interior, x.shape))
    return shape, x.dtype


def _concat(*args: Any) -> tuple[Shape, DType]:
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


def _dot_general(lhs: Node, rhs: Node, lhs_contract: Shape, rhs_contract: Shape,
                 lhs_batch: Shape, rhs_batch: Shape) -> tuple[Shape, DType]:
    dtype = _same_dtype("dot_general", lhs, rhs)
    for l_axes, r_axes in ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)):
        if [lhs.shape[a] for a in l_axes] != [rhs.shape[a] for a in r_axes]:
            raise ValueError(f"[dot_general] sizes differ: {lhs.shape} axes {l_axes} vs {rhs.shape} axes {r_axes}")
    l_free = [d for i, d in enumerate(lhs.shape) if i not in lhs_contract and i not in lhs_batch]
    r_free = [d for i, d in enumerate(rhs.shape) if i not in rhs_contract and i not in rhs_batch]
    return tuple(lhs.shape[a] for a in lhs_batch) + tuple(l_free) + tuple(r_free), dtype


def _conv(lhs: Node, rhs: Node, strides: Shape, padding: tuple[tuple[int, int], ...], lhs_dilation: Shape,
          rhs_dilation: Shape, groups: int) -> tuple[Shape, DType]:
    """``lax.conv_general_dilated`` in NC... / OI... layout; padding may be negative (it then crops)."""
    dtype = _same_dtype("conv", lhs, rhs)
    spatial = len(lhs.shape) - 2
    if spatial < 1 or len(rhs.shape) != len(lhs.shape) or not (
            len(strides) == len(padding) == len(lhs_dilation) == len(rhs_dilation) == spatial):
        raise ValueError(f"[conv] needs (N, C, *spatial) and (O, C/groups, *kernel) operands with one stride, "
                         f"padding pair and dilation per spatial axis, got {lhs.shape} and {rhs.shape}")
    if min((*strides, *lhs_dilation, *rhs_dilation, groups)) < 1:
        raise ValueError(f"[conv] strides, dilations and groups must be positive, got {strides}, {lhs_dilation}, "
                         f"{rhs_dilation}, {groups}")
    if lhs.shape[1] != rhs.shape[1] * groups or rhs.shape[0] % groups:
        raise ValueError(f"[conv] {lhs.shape} and {rhs.shape} do not fit feature_group_count {groups}")
    out = [lhs.shape[0], rhs.shape[0]]
    for size, k, stride, (lo, hi), ld, rd in zip(lhs.shape[2:], rhs.shape[2:], strides, padding, lhs_dilation,
                                                 rhs_dilation):
        span = max(size - 1, 0) * ld + min(size, 1) + lo + hi - (k - 1) * rd - 1
        if span < 0 or size == 0:
            raise ValueError(f"[conv] the kernel {rhs.shape} is larger than the padded input {lhs.shape}")
        out.append(span // stride + 1)
    return tuple(out), dtype


def _gather(x: Node, indices: Node, axis: int) -> tuple[Shape, DType]:
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


def _cast(x: Node, dtype: DType) -> tuple[Shape, DType]:
    return x.shape, dtype


def _const(value: float | int | bool, dtype: DType) -> tuple[Shape, DType]:
    return (), dtype


def _iota(shape: Shape, axis: int, dtype: DType) -> tuple[Shape, DType]:
    _check_axes("iota", shape, (axis,))
    return shape, dtype


def _random(seed: Node, shape: Shape, dtype: DType, distribution: str) -> tuple[Shape, DType]:
    if seed.shape != () or seed.dtype is not dtypes.int64:
        raise TypeError("[random] the seed must be an int64 scalar")
    if distribution not in ("uniform", "normal") or not dtype.is_floating_point:
        raise ValueError(f"[random] unsupported {distribution} draw of {dtype.name}")
    return shape, dtype


_FLOAT_UNARY = ("exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "logistic", "log1p", "expm1", "erf")
for _name in _FLOAT_UNARY:
    PRIMITIVES[_name] = Primitive(_name, _float_unary(_name), "elementwise")
_register(("neg", "abs", "sign", "floor", "ceil", "round"), _any_unary, "elementwise")
_register(("logical_not",), _logical_not, "elementwise")
for _name in ("add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2"):
    PRIMITIVES[_name] = Primitive(_name, _binary(_name, False), "elementwise")
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    PRIMITIVES[_name] = Primitive(_name, _binary(_name, True), "elementwise")
for _name in ("and", "or", "xor"):
    PRIMITIVES[_name] = Primitive(_name, _bitwise(_name), "elementwise")
_register(("select",), _select, "elementwise")
for _name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod"):
    PRIMITIVES[_name] = Primitive(_name, _reduce(_name), "reduce")
for _name in ("argmax", "argmin"):
    PRIMITIVES[_name] = Primitive(_name, _arg_reduce(_name), "reduce")
_register(("cumsum",), _cumsum, "other")
# The identity, with no gradient: lets the front end shift by a maximum (softmax) without differentiating it.
_register(("stop_gradient",), _any_unary, "other")
_register(("broadcast",), _broadcast, "shape")
_register(("reshape",), _reshape, "shape")
_register(("permute",), _permute, "shape")
_register(("slice",), _slice, "shape")
_register(("dynamic_slice",), _dynamic_slice, "shape")
_register(("dynamic_update_slice",), _dynamic_update_slice, "other")
_register(("pad",), _pad, "shape")
_register(("concat",), _concat, "shape")
_register(("rev",), _rev, "shape")
_register(("dot_general",), _dot_general, "other")
_register(("conv",), _conv, "other")
_register(("gather",), _gather, "other")
_register(("scatter_add",), _scatter_add, "other")
# ``x`` unchanged once ``ok`` holds everywhere: a pending index or divisor verified when it is computed
# (the parameter, a ``checks.Check``, says what to raise otherwise).
_register(("check",), _check, "other")
_register(("cast",), _cast, "elementwise")
_register(("const",), _const, "source")
_register(("iota",), _iota, "source")
_register(("random",), _random, "source")


# Called after every node an op builds, when set: the tests use it to realize between any two node builds,
# which must never change a result.
build_hook: Callable[[], None] | None = None
# The pending-graph guard (set by ``realize``): called when a node's serial number passes ``guard_at``.
guard_at = 1 << 62
guard: Callable[[], None] | None = None


# ---- sorting, scans and linear algebra -------------------------------------------------------------------


def _argsort(x: Node, axis: int, descending: bool) -> tuple[Shape, DType]:
    """Stable order of each line along ``axis``; NaN sorts as the largest value, as in torch."""
    _check_axes("argsort", x.shape, (axis,))
    return x.shape, dtypes.int64


def _cumprod(x: Node, axis: int) -> tuple[Shape, DType]:
    _check_axes("cumprod", x.shape, (axis,))
    return x.shape, x.dtype


def _matrices(op: str, x: Node, square: bool = True) -> Shape:
    """Check ``x`` is a float batch of (square) matrices; return its batch shape."""
    if not x.dtype.is_floating_point:
        raise TypeError(f"[{op}] expects a floating-point input, got {x.dtype.name}")
    if len(x.shape) < 2 or (square and x.shape[-1] != x.shape[-2]):
        raise ValueError(f"[{op}] expects a batch of {'square ' if square else ''}matrices, got {x.shape}")
    return x.shape[:-2]


def _same_matrices(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(x: Node) -> tuple[Shape, DType]:
        _matrices(op, x)
        return x.shape, x.dtype
    return rule


def _solve(a: Node, b: Node) -> tuple[Shape, DType]:
    batch = _matrices("solve", a)
    dtype = _same_dtype("solve", a, b)
    if b.shape[:-2] != batch or len(b.shape) != len(a.shape) or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"[solve] needs right-hand sides of shape (*batch, n, k) for {a.shape}, got {b.shape}")
    return b.shape, dtype


def _determinant(x: Node) -> tuple[Shape, DType]:
    return _matrices("det", x), x.dtype


def _slogdet(x: Node, part: str) -> tuple[Shape, DType]:
    if part not in ("sign", "logabsdet"):
        raise ValueError(f"[slogdet] unknown part {part!r}")
    return _matrices("slogdet", x), x.dtype


def _svd(x: Node, part: str, full_matrices: bool) -> tuple[Shape, DType]:
    batch = _matrices("svd", x, square=False)
    m, n = x.shape[-2:]
    k = min(m, n)
    shapes = {"U": (m, m if full_matrices else k), "S": (k,), "Vh": (n if full_matrices else k, n)}
    if part not in shapes:
        raise ValueError(f"[svd] unknown part {part!r}")
    return batch + shapes[part], x.dtype


def _qr(x: Node, part: str, mode: str) -> tuple[Shape, DType]:
    batch = _matrices("qr", x, square=False)
    m, n = x.shape[-2:]
    rows = m if mode == "complete" else min(m, n)
    if part not in ("Q", "R") or mode not in ("reduced", "complete"):
        raise ValueError(f"[qr] unknown part {part!r} or mode {mode!r}")
    return batch + ((m, rows) if part == "Q" else (rows, n)), x.dtype


def _eigh(x: Node, part: str, lower: bool) -> tuple[Shape, DType]:
    _matrices("eigh", x)
    if part not in ("values", "vectors"):
        raise ValueError(f"[eigh] unknown part {part!r}")
    return (x.shape[:-1] if part == "values" else x.shape), x.dtype


_register(("argsort",), _argsort, "other")
_register(("cumprod",), _cumprod, "other")
# Matrix factorizations and solves over the last two axes; several outputs are one primitive per ``part``.
_register(("inv",), _same_matrices("inv"), "other")
_register(("cholesky",), _same_matrices("cholesky"), "other")
_register(("solve",), _solve, "other")
_register(("det",), _determinant, "other")
_register(("slogdet",), _slogdet, "other")
_register(("svd",), _svd, "other")
_register(("qr",), _qr, "other")
_register(("eigh",), _eigh, "other")


def apply(op: str, args: tuple[Node, ...], params: tuple = ()) -> Node:
    """Build a node, inferring its shape and dtype from the primitive's rule (which raises on misuse)."""
    primitive = PRIMITIVES[op]
    if primitive.kind == "elementwise":  # rules cheaper than a cache lookup
        shape, dtype = primitive.rule(*args, *params) if params else primitive.rule(*args)
    else:
        shape, dtype = _cached_rule(primitive, args, params)
    node = Node(op, args, params, shape, dtype)
    if node.serial > guard_at:
        guard()
    if build_hook is not None:
        build_hook()
    return node


# Rule results by (primitive, params, argument shapes and dtypes): a training step repeats the same ops on the
# same shapes, and the shape, reduction and product rules cost several times a lookup. Only results are
# cached, so a misuse raises every time.
_rule_results: dict[tuple, tuple[Shape, DType]] = {}
_RULE_RESULTS_LIMIT = 1 << 16


def _cached_rule(primitive: Primitive, args: tuple[Node, ...], params: tuple) -> tuple[Shape, DType]:
    if len(args) == 1:
        a = args[0]
        key = (primitive.name, params, a.shape, a.dtype)
    elif len(args) == 2:
        a, b = args
        key = (primitive.name, params, a.shape, a.dtype, b.shape, b.dtype)
    else:
        key = (primitive.name, params, *[(a.shape, a.dtype) for a in args])
    try:
        found = _rule_results.get(key)
    except TypeError:  # an unhashable parameter
        return primitive.rule(*args, *params)
    if found is None:
        found = primitive.rule(*args, *params)
        if len(_rule_results) >= _RULE_RESULTS_LIMIT:
            _rule_results.clear()
        _rule_results[key] = found
    return found


def cut(node: Node) -> None:
    """Make a computed node a plain buffer leaf in place, so nothing it was computed from stays alive.

    The node keeps its identity: every tensor, record and pending node that refers to it still does.
    """
    node.op, node.args, node.params = "buffer", (), ()


# --------------------------------------------------------------------------------------------------
# Traversal. Everything is iterative: a 100k-node chain must not touch Python's recursion limit.


def toposort(roots: Iterable[Node], stop: Callable[[Node], bool]) -> list[Node]:
    """Nodes reachable from ``roots`` in dependency order; ``stop(node)`` nodes are kept but not entered."""
    seen: set[Node] = set()  # nodes hash by identity
    order: list[Node] = []
    for root in roots:
        if root in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            if not stop(node):
                stack.extend((a, False) for a in reversed(node.args) if a not in seen)
    return order


def is_computed(node: Node) -> bool:
    return node.buffer is not None


def format_graph(*roots: Node) -> str:
    """The graph below ``roots`` as numbered lines, one per node, in dependency order (for docs and debugging)."""
    names: dict[int, str] = {}
    lines = []
    for node in toposort(roots, stop=lambda n: False):
        names[id(node)] = name = f"%{len(names)}"
        if node.op == "const":
            what = f"const {node.params[0]!r}"
        elif node.buffer is not None or node.op == "buffer":
            what = "buffer"
        else:
            params = ", ".join(repr(p) for p in node.params if not isinstance(p, DType))
            args = ", ".join(names[id(a)] for a in node.args)
            what = f"{node.op}({args}{'; ' + params if params else ''})"
        lines.append(f"{name:>4} = {what}  :: {node.dtype.name}{list(node.shape)}")
    return "\n".join(lines)
