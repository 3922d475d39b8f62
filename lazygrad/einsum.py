"""``einsum``: an equation lowered to diagonals, sums, ``dot_general`` contractions and a final permute.

Operands are contracted left to right. Before each contraction, every label that neither the other
operand, a later operand nor the output uses is summed away, so ``dot_general`` only sees batch labels
(shared and still needed), contracted labels (shared, not needed) and free labels. The ellipsis stands
for the same broadcast axes in every operand, aligned from the right, as in torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import dtypes, ops
from .autocast_mode import lower_precision_op
from .ir import Node, apply
from .tensor import Tensor, _record

Label = str | int  # a letter, or -1 - r for the ellipsis axis r places from the ellipsis block's end


def _parse(equation: str, operands: Sequence[Tensor]) -> tuple[list[list[Label]], list[Label]]:
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        few = "fewer" if len(operands) < len(terms) else "more"
        raise RuntimeError(f"einsum(): {few} operands were provided than specified in the equation")
    ellipsis = 0
    inputs: list[list[Label]] = []
    for i, (term, t) in enumerate(zip(terms, operands)):
        letters = term.replace("...", "")
        if not all(c.isalpha() for c in letters) or term.count("...") > 1:
            raise RuntimeError(f"einsum(): invalid subscript given in the equation for operand {i}: '{term}'")
        if "..." not in term and len(letters) != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(letters)}) does not match "
                               f"the number of dimensions ({t.ndim}) for operand {i} and no ellipsis was given")
        if len(letters) > t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(letters)}) is more than "
                               f"the number of dimensions ({t.ndim}) for operand {i}")
        covered = t.ndim - len(letters)
        ellipsis = max(ellipsis, covered if "..." in term else 0)
        before, _, after = term.partition("...")
        inputs.append([*before, *(-1 - r for r in reversed(range(covered))), *after] if "..." in term
                      else list(term))
    block = [-1 - r for r in reversed(range(ellipsis))]
    if arrow:
        before, dots, after = rhs.partition("...")
        output: list[Label] = [*before, *(block if dots else []), *after]
        for c in rhs.replace("...", ""):
            if not c.isalpha():
                raise RuntimeError(f"einsum(): invalid subscript given in the equation for the output: '{rhs}'")
            if output.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(c in labels for labels in inputs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   "operand")
    else:
        counts: dict[str, int] = {}
        for labels in inputs:
            for c in labels:
                if isinstance(c, str):
                    counts[c] = counts.get(c, 0) + 1
        output = [*block, *sorted(c for c, n in counts.items() if n == 1)]
    return inputs, output


def _diagonal(node: Node, labels: list[Label]) -> tuple[Node, list[Label]]:
    """Fold each repeated label of one operand into one axis: the diagonal, as torch reads it."""
    while len(set(labels)) < len(labels):
        first = next(i for i, c in enumerate(labels) if labels.index(c) != i)
        keep = labels.index(labels[first])
        on_diagonal = apply("eq", (ops.iota(node.shape, keep), ops.iota(node.shape, first)))
        node = ops.reduce("reduce_sum", ops.select(on_diagonal, node, ops.const(0, node.dtype)), (first,))
        labels = labels[:first] + labels[first + 1:]
    return node, labels


def _sum_unused(node: Node, labels: list[Label], needed: set[Label]) -> tuple[Node, list[Label]]:
    axes = [i for i, c in enumerate(labels) if c not in needed]
    return ops.reduce("reduce_sum", node, axes), [c for c in labels if c in needed]


def _subscript(n: Any) -> str:
    """A sublist entry's label, as torch spells it: 0-25 are ``A``-``Z``, 26-51 ``a``-``z``, ``...`` is itself."""
    if n is Ellipsis:
        return "..."
    if not 0 <= n < 52:
        raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
    return chr(ord("A") + n) if n < 26 else chr(ord("a") + n - 26)


def _from_sublists(args: tuple) -> tuple[str, tuple]:
    """The equation and the operands of the sublist form: operand, its labels, ..., then the output's labels."""
    operands, sublists = args[0::2], args[1::2]
    equation = ",".join("".join(map(_subscript, labels)) for labels in sublists)
    if len(args) % 2:
        operands, output = operands[:-1], operands[-1]
        equation += "->" + "".join(map(_subscript, output))
    return equation, tuple(operands)


@lower_precision_op
def einsum(equation: Any, *operands: Any) -> Tensor:
    """torch.einsum for any valid equation: explicit or implicit output, repeated labels, ``...``; or in the
    sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output = _parse(equation, operands)
    dtype = operands[0].dtype
    for t in operands[1:]:
        dtype = dtypes.promote_types(dtype, t.dtype)
    sizes: dict[Label, int] = {}
    for i, (labels, t) in enumerate(zip(inputs, operands)):
        for c, size in zip(labels, t.shape):
            seen = sizes.get(c, 1)
            if size != 1 and seen != 1 and size != seen:
                raise RuntimeError(f"einsum(): subscript {c} has size {size} for operand {i} which does not broadcast "
                                   f"with previously seen size {seen}")
            sizes[c] = max(seen, size)
    nodes: list[tuple[Node, list[Label]]] = []
    for labels, t in zip(inputs, operands):
        node, labels = _diagonal(ops.cast(t.node, dtype), list(labels))
        nodes.append((ops.broadcast_to(node, tuple(sizes[c] for c in labels)), labels))
    contracted = False
    acc, acc_labels = _sum_unused(*nodes[0], {*output, *(c for _, ls in nodes[1:] for c in ls)})
    for k, (node, labels) in enumerate(nodes[1:], 1):
        later = {*output, *(c for _, ls in nodes[k + 1:] for c in ls)}
        acc, acc_labels = _sum_unused(acc, acc_labels, later | set(labels))
        node, labels = _sum_unused(node, labels, later | set(acc_labels))
        batch = [c for c in acc_labels if c in labels and c in later]
        contract = [c for c in acc_labels if c in labels and c not in later]
        contracted = contracted or bool(contract)
        acc = apply("dot_general", (acc, node), (
            tuple(acc_labels.index(c) for c in contract), tuple(labels.index(c) for c in contract),
            tuple(acc_labels.index(c) for c in batch), tuple(labels.index(c) for c in batch)))
        acc_labels = batch + [c for c in acc_labels if c not in labels] + [c for c in labels if c not in acc_labels]
    acc, acc_labels = _sum_unused(acc, acc_labels, set(output))
    node = ops.permute(acc, [acc_labels.index(c) for c in output])
    # torch's result comes out of a final view after a contraction, a product without one, else a sum or permute
    if len(operands) > 1:
        name = "ViewBackward0" if contracted else "MulBackward0"
    else:
        name = "SumBackward1" if len(output) < len(set(inputs[0])) else "PermuteBackward0"
    return _record(name, node, *operands)
