"""Contractions: ``dot_general`` (every matrix product) and ``conv`` (every convolution, transposed ones too)."""

from __future__ import annotations

from ..autodiff import Cotangents
from ..dtypes import DType
from ..ir import Node, Shape, apply
from ..ops import permute, reshape
from .rules import _back, _same_dtype, declare


def _dot_general_rule(lhs: Node, rhs: Node, lhs_contract: Shape, rhs_contract: Shape,
                 lhs_batch: Shape, rhs_batch: Shape) -> tuple[Shape, DType]:
    dtype = _same_dtype("dot_general", lhs, rhs)
    for l_axes, r_axes in ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)):
        if [lhs.shape[a] for a in l_axes] != [rhs.shape[a] for a in r_axes]:
            raise ValueError(f"[dot_general] sizes differ: {lhs.shape} axes {l_axes} vs {rhs.shape} axes {r_axes}")
    l_free = [d for i, d in enumerate(lhs.shape) if i not in lhs_contract and i not in lhs_batch]
    r_free = [d for i, d in enumerate(rhs.shape) if i not in rhs_contract and i not in rhs_batch]
    return tuple(lhs.shape[a] for a in lhs_batch) + tuple(l_free) + tuple(r_free), dtype


def _conv_rule(lhs: Node, rhs: Node, strides: Shape, padding: tuple[tuple[int, int], ...], lhs_dilation: Shape,
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


declare("dot_general", "other", _dot_general_rule, _dot_general)
declare("conv", "other", _conv_rule, _conv)
