"""Reverse mode as a graph transformation: one vector-Jacobian rule per primitive.

A rule receives the cotangent of a node's output, the node, and which arguments need a cotangent; it
returns one cotangent per argument (``None`` where no gradient flows or none is needed). Rules only
build nodes, so the gradient graph is as lazy, cacheable and differentiable as the forward graph.
``vjp`` walks the part of the graph between an output and a set of input nodes and applies the rules;
it never names a primitive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import attrgetter

from . import dtypes
from .ir import PRIMITIVES, Node, apply
from .ops import (
    add,
    broadcast_to,
    cast,
    const,
    div,
    dynamic_slice,
    dynamic_update_slice,
    iota,
    keep_dims_shape,
    mul,
    neg,
    pad,
    permute,
    reduce,
    reshape,
    scale,
    select,
    slice_,
    sum_to,
    zeros_like,
)

Cotangents = tuple["Node | None", ...]
Rule = Callable[[Node, Node, tuple[bool, ...]], Cotangents]
VJP: dict[str, Rule] = {}


def _rule(*names: str) -> Callable:
    def register(fn: Rule) -> Rule:
        for name in names:
            VJP[name] = fn
        return fn
    return register


def _u(op: str, x: Node) -> Node:
    return apply(op, (x,))


def _one_minus(x: Node) -> Node:
    return apply("sub", (const(1, x.dtype), x))


# ---- elementwise unary -----------------------------------------------------------------------------

_rule("neg")(lambda ct, n, needs: (neg(ct),))
_rule("exp")(lambda ct, n, needs: (mul(ct, n),))
_rule("log")(lambda ct, n, needs: (div(ct, n.args[0]),))
_rule("sqrt")(lambda ct, n, needs: (div(ct, scale(n, 2.0)),))
_rule("rsqrt")(lambda ct, n, needs: (mul(ct, scale(div(n, n.args[0]), -0.5)),))
_rule("sin")(lambda ct, n, needs: (mul(ct, _u("cos", n.args[0])),))
_rule("cos")(lambda ct, n, needs: (neg(mul(ct, _u("sin", n.args[0]))),))
_rule("tanh")(lambda ct, n, needs: (mul(ct, _one_minus(mul(n, n))),))
_rule("logistic")(lambda ct, n, needs: (mul(ct, mul(n, _one_minus(n))),))
_rule("log1p")(lambda ct, n, needs: (div(ct, add(n.args[0], const(1, n.dtype))),))
_rule("expm1")(lambda ct, n, needs: (mul(ct, add(n, const(1, n.dtype))),))
_rule("erf")(lambda ct, n, needs: (mul(ct, scale(_u("exp", neg(mul(n.args[0], n.args[0]))), 2 / math.sqrt(math.pi))),))
_rule("abs")(lambda ct, n, needs: (mul(ct, _u("sign", n.args[0])),))
_rule("sign", "floor", "ceil", "round", "logical_not", "argmax", "argmin", "stop_gradient")(
    lambda ct, n, needs: (None,))
_rule("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor")(lambda ct, n, needs: (None, None))


# ---- elementwise binary (arguments may broadcast, so cotangents are summed back) ---------------------

def _back(ct: Node | None, arg: Node) -> Node | None:
    return None if ct is None or not arg.dtype.is_floating_point else sum_to(ct, arg.shape)


def _each(n: Node, needs: tuple[bool, ...], *makers: Callable[[], Node | None]) -> Cotangents:
    """Build only the cotangents that are needed; each maker builds one argument's cotangent."""
    out = []
    for need, make, arg in zip(needs, makers, n.args):  # a loop, not a generator: this runs for most records
        out.append(_back(make(), arg) if need else None)
    return tuple(out)


@_rule("add")
def _add(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    return _each(n, needs, lambda: ct, lambda: ct)


@_rule("sub")
def _sub(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    return _each(n, needs, lambda: ct, lambda: neg(ct))


@_rule("mul")
def _mul(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    return _each(n, needs, lambda: mul(ct, b), lambda: mul(ct, a))


@_rule("div")
def _div(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    b = n.args[1]
    return _each(n, needs, lambda: div(ct, b), lambda: neg(mul(div(ct, b), n)))


@_rule("pow")
def _pow(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x, y = n.args
    if not n.dtype.is_floating_point:
        return None, None
    zero = const(0, n.dtype)
    # d/dx x**y = y * x**(y-1), taken as 0 where y == 0 (so 0**0 does not produce nan), as torch does.
    dx = mul(y, apply("pow", (x, apply("sub", (y, const(1, y.dtype))))))
    dx = select(apply("eq", (y, zero)), zero, dx)
    # d/dy x**y = x**y * log(x), taken as 0 where x == 0 and y >= 0.
    dy = mul(n, _u("log", x))
    dy = select(apply("and", (apply("eq", (x, zero)), apply("ge", (y, zero)))), zero, dy)
    return _back(mul(ct, dx), x), _back(mul(ct, dy), y)


@_rule("max", "min")
def _extremum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    # Ties split the gradient evenly, like torch.maximum / torch.minimum.
    zero = const(0, n.dtype)
    half = scale(ct, 0.5)
    wins = "gt" if n.op == "max" else "lt"
    tie = apply("eq", (a, b))
    ct_a = select(apply(wins, (a, b)), ct, select(tie, half, zero))
    ct_b = select(apply(wins, (b, a)), ct, select(tie, half, zero))
    return _back(ct_a, a), _back(ct_b, b)


@_rule("rem")
def _rem(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    quotient = div(apply("sub", (a, n)), b)  # trunc(a / b), recovered exactly from the remainder
    return _back(ct, a), _back(neg(mul(ct, quotient)), b)


@_rule("atan2")
def _atan2(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a, b = n.args
    # Where a^2 + b^2 is 0 (at the origin, or both squares underflow) torch takes 1 / (a^2 + b^2) as 0, so
    # the gradient there is 0, not 0/0; the safe denominator keeps higher derivatives finite as well.
    denom = add(mul(a, a), mul(b, b))
    zero = const(0, n.dtype)
    at_origin = apply("eq", (denom, zero))
    recip = select(at_origin, zero, div(const(1, n.dtype), select(at_origin, const(1, n.dtype), denom)))
    return _each(n, needs, lambda: mul(mul(ct, b), recip), lambda: mul(mul(ct, neg(a)), recip))


@_rule("select")
def _select(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    pred = n.args[0]
    zero = const(0, n.dtype)
    return _each(n, needs, lambda: None, lambda: select(pred, ct, zero), lambda: select(pred, zero, ct))


@_rule("cast")
def _cast(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    differentiable = x.dtype.is_floating_point and n.dtype.is_floating_point
    return (cast(ct, x.dtype) if differentiable else None),


# ---- reductions --------------------------------------------------------------------------------------

def _expand_back(ct: Node, x: Node, axes: Sequence[int]) -> Node:
    return broadcast_to(reshape(ct, keep_dims_shape(x.shape, axes)), x.shape)


@_rule("reduce_sum")
def _reduce_sum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    return _expand_back(ct, n.args[0], n.params[0]),


@_rule("reduce_max", "reduce_min")
def _reduce_extremum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    axes = n.params[0]
    # The elements that are the extremum share the gradient evenly; where it is NaN, they are the NaN
    # elements. That is torch's max()/min() rule, on every backend and for amax/amin as well (torch's
    # amax/amin instead make the whole slice's gradient NaN there, an artifact of its 0/0). The count
    # is never 0, so no slice divides by it.
    extremum = _expand_back(n, x, axes)
    hit = apply("eq", (x, extremum))
    if x.dtype.is_floating_point:
        both_nan = apply("and", (apply("ne", (x, x)), apply("ne", (extremum, extremum))))
        hit = apply("or", (hit, both_nan))
    hit = cast(hit, x.dtype)
    count = reduce("reduce_sum", hit, axes, keepdims=True)
    return mul(_expand_back(ct, x, axes), div(hit, count)),


@_rule("reduce_prod")
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


@_rule("cumsum")
def _cumsum(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    (axis,) = n.params
    # The reverse cumulative sum: total minus the running sum before each position.
    total = reduce("reduce_sum", ct, (axis,), keepdims=True)
    return add(apply("sub", (broadcast_to(total, ct.shape), apply("cumsum", (ct,), (axis,)))), ct),


# ---- shape primitives ----------------------------------------------------------------------------------

_rule("broadcast")(lambda ct, n, needs: (sum_to(ct, n.args[0].shape),))
_rule("reshape")(lambda ct, n, needs: (reshape(ct, n.args[0].shape),))


_rule("rev")(lambda ct, n, needs: (apply("rev", (ct,), n.params),))


@_rule("permute")
def _permute(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    perm = n.params[0]
    return permute(ct, sorted(range(len(perm)), key=perm.__getitem__)),


@_rule("slice")
def _slice(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    starts, _, steps = n.params
    x = n.args[0]
    high = tuple(dim - start - ((out - 1) * step + 1 if out else 0)
                 for dim, start, step, out in zip(x.shape, starts, steps, n.shape))
    return pad(ct, starts, high, tuple(s - 1 for s in steps)),


@_rule("dynamic_slice")
def _dynamic_slice(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x, *starts = n.args
    return (dynamic_update_slice(zeros_like(x), ct, starts), *([None] * len(starts)))


@_rule("dynamic_update_slice")
def _dynamic_update_slice(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    _, update, *starts = n.args
    ct_x = dynamic_update_slice(ct, zeros_like(update), starts) if needs[0] else None
    ct_update = dynamic_slice(ct, starts, update.shape) if needs[1] else None
    return (ct_x, ct_update, *([None] * len(starts)))


@_rule("pad")
def _pad(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    low, _, interior = n.params
    x = n.args[0]
    stops = tuple(lo + ((d - 1) * (it + 1) + 1 if d else 0) for lo, it, d in zip(low, interior, x.shape))
    return slice_(ct, low, stops, tuple(it + 1 for it in interior)),


@_rule("concat")
def _concat(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    *args, axis = (*n.args, n.params[0])
    out, offset = [], 0
    for arg in args:
        starts = tuple(offset if i == axis else 0 for i in range(len(ct.shape)))
        stops = tuple(offset + arg.shape[axis] if i == axis else d for i, d in enumerate(ct.shape))
        out.append(slice_(ct, starts, stops, (1,) * len(ct.shape)))
        offset += arg.shape[axis]
    return tuple(out)


@_rule("dot_general")
def _dot_general(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    lhs, rhs = n.args
    key = (n.params, len(lhs.shape), len(rhs.shape))
    plan = _dot_plans.get(key)
    if plan is None:
        plan = _dot_plans[key] = _dot_plan(*key)
    out = []
    for need, (other_first, params, perm), own, other in zip(needs, plan, (lhs, rhs), (rhs, lhs)):
        if not need:
            out.append(None)
            continue
        g = apply("dot_general", (other, ct) if other_first else (ct, other), params)
        out.append(_back(permute(g, perm), own))
    return tuple(out)


# Per (parameters, operand ranks): how to build each operand's gradient. It depends on no shape, so a training
# step's products share a handful of plans, and the rule above only builds nodes.
_dot_plans: dict[tuple, tuple[tuple[bool, tuple, tuple[int, ...]], ...]] = {}


def _dot_plan(params: tuple, lhs_ndim: int, rhs_ndim: int) -> tuple[tuple[bool, tuple, tuple[int, ...]], ...]:
    """For each operand: whether the other operand goes first, the gradient product's parameters, and the
    permutation that puts its axes back in the operand's order."""
    lhs_contract, rhs_contract, lhs_batch, rhs_batch = params
    lhs_free = [i for i in range(lhs_ndim) if i not in lhs_contract and i not in lhs_batch]
    rhs_free = [i for i in range(rhs_ndim) if i not in rhs_contract and i not in rhs_batch]
    nb, nl = len(lhs_batch), len(lhs_free)
    ct_batch = tuple(range(nb))
    ct_lhs_free = tuple(range(nb, nb + nl))
    ct_rhs_free = tuple(range(nb + nl, nb + nl + len(rhs_free)))

    # Contract the cotangent with the other operand over that operand's free axes. With the cotangent
    # first, what remains is (batch, own free, own contracted axes in the other operand's order); with
    # the other operand first it is (batch, own contracted, own free). Whichever order already matches
    # the operand's layout is used (x @ w gives w's gradient as x^T @ ct, no transpose), so an interpreter
    # gets contiguous gradients; otherwise the result is permuted back into place.
    def side(ct_other_free: tuple, other_free: list, other_batch: tuple, own_batch: tuple, own_free: list,
             own_contract: tuple, other_contract: tuple, ndim: int) -> tuple[bool, tuple, tuple[int, ...]]:
        paired = [own for _, own in sorted(zip(other_contract, own_contract))]
        other_first = list(own_batch) + paired + own_free
        if other_first == list(range(ndim)) and own_free and paired:
            return True, (tuple(other_free), ct_other_free, tuple(other_batch), ct_batch), tuple(range(ndim))
        labels = list(own_batch) + own_free + paired
        return False, (ct_other_free, tuple(other_free), ct_batch, tuple(other_batch)), \
            tuple(labels.index(i) for i in range(ndim))

    return (side(ct_rhs_free, rhs_free, rhs_batch, lhs_batch, lhs_free, lhs_contract, rhs_contract, lhs_ndim),
            side(ct_lhs_free, lhs_free, lhs_batch, rhs_batch, rhs_free, rhs_contract, lhs_contract, rhs_ndim))


def _dilated(size: int, dilation: int) -> int:
    return (size - 1) * dilation + 1 if size else 0


@_rule("conv")
def _conv(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    lhs, rhs = n.args
    strides, padding, lhs_dilation, rhs_dilation, groups = n.params
    spatial = tuple(range(2, len(lhs.shape)))
    kernel = rhs.shape[2:]
    ct_lhs = ct_rhs = None
    if needs[0]:
        # The input's cotangent is a convolution of the output's cotangent with the kernel flipped in space
        # and in/out features swapped (per group); strides become input dilation, and the padding is what
        # lines each output position up with every input position that fed it.
        out_features, group_in = rhs.shape[:2]
        w = reshape(rhs, (groups, out_features // groups, group_in, *kernel))
        w = reshape(permute(w, (0, 2, 1, *range(3, len(w.shape)))), (groups * group_in, out_features // groups,
                                                                      *kernel))
        w = apply("rev", (w,), (spatial,))
        pads = []
        for size, k, stride, (lo, _), ld, rd, out in zip(lhs.shape[2:], kernel, strides, padding, lhs_dilation,
                                                         rhs_dilation, ct.shape[2:]):
            before = _dilated(k, rd) - lo - 1
            pads.append((before, _dilated(size, ld) + _dilated(k, rd) - 1 - _dilated(out, stride) - before))
        ct_lhs = apply("conv", (ct, w), (lhs_dilation, tuple(pads), strides, rhs_dilation, groups))
    if needs[1]:
        # The kernel's cotangent correlates the input with the output's cotangent: the batch axis becomes
        # the contracted feature axis, each group's input channels become the batch, and the strides
        # become the dilation of the (cotangent) kernel.
        batch, features = lhs.shape[:2]
        x = reshape(lhs, (batch, groups, features // groups, *lhs.shape[2:]))
        x = reshape(permute(x, (2, 1, 0, *range(3, len(x.shape)))), (features // groups, groups * batch,
                                                                      *lhs.shape[2:]))
        g = permute(ct, (1, 0, *spatial))
        pads = []
        for size, k, stride, (lo, _), ld, rd, out in zip(lhs.shape[2:], kernel, strides, padding, lhs_dilation,
                                                         rhs_dilation, ct.shape[2:]):
            pads.append((lo, _dilated(out, stride) - _dilated(size, ld) + _dilated(k, rd) - lo - 1))
        w = apply("conv", (x, g), (rhs_dilation, tuple(pads), lhs_dilation, strides, groups))
        ct_rhs = permute(w, (1, 0, *spatial))
    return ct_lhs, ct_rhs


@_rule("gather")
def _gather(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x, indices = n.args
    (axis,) = n.params
    # Every read element receives the cotangents of all the positions that read it.
    return apply("scatter_add", (ct, indices), (axis, x.shape[axis])), None


_rule("scatter_add")(lambda ct, n, needs: (apply("gather", (ct, n.args[1]), n.params[:1]), None))
_rule("check")(lambda ct, n, needs: (ct, None))


# ---- sorting, scans and linear algebra -------------------------------------------------------------------

_rule("argsort")(lambda ct, n, needs: (None,))  # integer positions; sorted values are a gather of them


def _reverse_cumsum(x: Node, axis: int) -> Node:
    return apply("rev", (apply("cumsum", (apply("rev", (x,), ((axis,),)),), (axis,)),), ((axis,),))


@_rule("cumprod")
def _cumprod(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    x = n.args[0]
    (axis,) = n.params
    # d y_i / d x_k is the product of x_j for j <= i, j != k. Before the first zero that is y_i / x_k; at the
    # first zero it is the running product with that zero taken as one; past it every such product holds a zero.
    zero, one = const(0, x.dtype), const(1, x.dtype)
    is_zero = apply("eq", (x, zero))
    zeros_so_far = apply("cumsum", (cast(is_zero, dtypes.int64),), (axis,))
    before = apply("eq", (zeros_so_far, const(0, dtypes.int64)))
    first = apply("and", (is_zero, apply("eq", (zeros_so_far, const(1, dtypes.int64)))))
    up_to = div(_reverse_cumsum(mul(ct, n), axis), select(before, x, one))
    skipped = apply("cumprod", (select(first, one, x),), (axis,))
    at_first = _reverse_cumsum(mul(ct, skipped), axis)
    return select(before, up_to, select(first, at_first, zero)),


def _mT(x: Node) -> Node:
    rank = len(x.shape)
    return permute(x, (*range(rank - 2), rank - 1, rank - 2))


def _mm(a: Node, b: Node) -> Node:
    """Batched matrix product over the last two axes (equal batch shapes)."""
    batch = tuple(range(len(a.shape) - 2))
    return apply("dot_general", (a, b), ((len(batch) + 1,), (len(batch),), batch, batch))


def _per_matrix(x: Node) -> Node:
    """One value per matrix, shaped to broadcast over the matrices."""
    return reshape(x, (*x.shape, 1, 1))


def _lower(x: Node, offset: int = 0) -> Node:
    rows, cols = x.shape[-2:]
    keep = apply("le", (apply("sub", (iota((rows, cols), 1), iota((rows, cols), 0))), const(offset, dtypes.int64)))
    return select(keep, x, const(0, x.dtype))


_rule("inv")(lambda ct, n, needs: (neg(_mm(_mT(n), _mm(ct, _mT(n)))),))
_rule("det")(lambda ct, n, needs: (mul(_per_matrix(mul(ct, n)), _mT(apply("inv", (n.args[0],)))),))


@_rule("slogdet")
def _slogdet(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    if n.params[0] == "sign":
        return None,
    return mul(_per_matrix(ct), _mT(apply("inv", (n.args[0],)))),


@_rule("solve")
def _solve(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a = n.args[0]
    ct_b = apply("solve", (_mT(a), ct))
    return (neg(_mm(ct_b, _mT(n))) if needs[0] else None), ct_b


@_rule("cholesky")
def _cholesky(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    # With A = L L^T: the symmetric matrix whose lower triangle is tril(L^T ct) with its diagonal halved, moved
    # back through both triangular factors: L^-T S L^-1.
    inverse = apply("inv", (n,))
    lower = _lower(_mm(_mT(n), ct))
    sym = scale(add(lower, _mT(_lower(lower, -1))), 0.5)
    return _mm(_mT(inverse), _mm(sym, inverse)),


@_rule("eigh")
def _eigh(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a = n.args[0]
    part, lower = n.params
    vectors = apply("eigh", (a,), ("vectors", lower))
    if part == "values":  # V diag(ct) V^T
        return _mm(mul(vectors, reshape(ct, (*ct.shape[:-1], 1, ct.shape[-1]))), _mT(vectors)),
    # V (skew(V^T ct) / (w_j - w_i)) V^T, zero on the diagonal; the skew part drops each vector's free sign.
    values = apply("eigh", (a,), ("values", lower))
    size = values.shape[-1]
    gaps = apply("sub", (reshape(values, (*values.shape[:-1], 1, size)), reshape(values, (*values.shape, 1))))
    diagonal = apply("eq", (iota((size, size), 0), iota((size, size), 1)))
    inner = _mm(_mT(vectors), ct)
    skew = scale(apply("sub", (inner, _mT(inner))), 0.5)
    zero, one = const(0, a.dtype), const(1, a.dtype)
    middle = select(diagonal, zero, div(skew, select(diagonal, one, gaps)))
    return _mm(vectors, _mm(middle, _mT(vectors))),


@_rule("svd")
def _svd(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a = n.args[0]
    if n.params[0] != "S":
        raise NotImplementedError("the gradient of linalg.svd through U or Vh is not implemented; the singular "
                                  "values (linalg.svdvals, matrix norms) are differentiable")
    u = apply("svd", (a,), ("U", False))
    vh = apply("svd", (a,), ("Vh", False))
    return _mm(mul(u, reshape(ct, (*ct.shape[:-1], 1, ct.shape[-1]))), vh),


@_rule("qr")
def _qr(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    raise NotImplementedError("the gradient of linalg.qr is not implemented")


# ---- the transformation ------------------------------------------------------------------------------


def _send(cts: dict[Node, Node], args: tuple[Node, ...], arg_cts: Cotangents, needs: tuple[bool, ...]) -> None:
    """Add each needed argument's cotangent into ``cts`` (an argument may appear more than once)."""
    for arg, arg_ct, need in zip(args, arg_cts, needs):
        if need and arg_ct is not None:
            previous = cts.get(arg)
            cts[arg] = arg_ct if previous is None else add(previous, arg_ct)


# Every primitive but the sources (constants, iota, random draws: nothing flows back into them) has a rule.
_MISSING = {name for name, p in PRIMITIVES.items() if p.kind != "source"} - set(VJP)
assert not _MISSING, f"primitives without a VJP rule: {sorted(_MISSING)}"


def vjp(out: Node, inputs: Sequence[Node], ct: Node) -> list[Node | None]:
    """Cotangents of ``inputs`` given the cotangent ``ct`` of ``out``, as new (lazy) nodes.

    Only the subgraph between ``out`` and ``inputs`` is walked; an input that appears twice receives
    its cotangent at its first position only, so a caller that sums per position does not double it.
    Nodes hash by identity, so they key the dictionaries directly.
    """
    cts: dict[Node, Node] = {}
    args = out.args
    if out in inputs:
        cts[out] = ct
    elif not args:
        pass  # a source (a constant, iota, a draw): its value does not depend on the inputs
    else:
        needs = []
        for a in args:
            if a in inputs:
                needs.append(True)
            elif a.args:  # an argument computed inside the record: walk the record's nodes
                _walk(out, set(inputs), ct, cts)
                break
            else:
                needs.append(False)
        else:  # the common case, one primitive applied to the inputs: no walk needed
            needs = tuple(needs)
            _send(cts, args, VJP[out.op](ct, out, needs), needs)
    if len(inputs) == 1:
        return [cts.get(inputs[0])]
    result: list[Node | None] = []
    for i, node in enumerate(inputs):
        result.append(None if node in inputs[:i] else cts.get(node))
    return result


_serial = attrgetter("serial")


def _walk(out: Node, input_set: set[Node], ct: Node, cts: dict[Node, Node]) -> None:
    """Apply the rules from ``out`` down to ``input_set`` over the nodes between them, latest first.

    Serial numbers order nodes after their arguments, so sorting the visited nodes replaces a topological
    sort; a node is on the path when one of its arguments is an input or on the path.
    """
    seen = {out}
    stack = [out]
    inner = []
    while stack:
        node = stack.pop()
        inner.append(node)
        for a in node.args:
            if a not in seen and a not in input_set:
                seen.add(a)
                if a.args:
                    stack.append(a)
    inner.sort(key=_serial)
    on_path = set(input_set)
    for node in inner:
        for a in node.args:
            if a in on_path:
                on_path.add(node)
                break
    cts[out] = ct
    for node in reversed(inner):
        g = cts.pop(node, None)
        if g is not None:
            needs = tuple([a in on_path for a in node.args])
            _send(cts, node.args, VJP[node.op](g, node, needs), needs)
