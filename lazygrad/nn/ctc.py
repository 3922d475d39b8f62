"""The connectionist temporal classification loss, composed from Tensor ops.

The forward (alpha) recursion of Graves et al. runs in log space as a Python loop over time, each step one
batch of ops over (batch, extended label) tensors; its gradient comes from autodiff. Lengths are read on the
host (torch reads them there too): they shape the loop and the masks, which enter the program as inputs.

torch's kernel returns, as the gradient with respect to ``log_probs``, the one with respect to the logits
under a ``log_softmax``: the occupancy gradient plus ``exp(log_probs)`` at each frame within the input
length. Through a ``log_softmax`` the extra term cancels (it sums to the softmax), so both agree there; here
it is added by a term of value zero, so a raw ``log_probs`` leaf gets torch's gradient too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import dtypes, ops
from ..arithmetic import where
from ..creation import tensor
from ..ir import Node, apply
from ..reshaping import cat, stack
from ..tensor import Tensor, _torch_type_name, _wrap
from .functional_base import _as_op, _reduction

_CHECKED = " (while checking arguments for ctc_loss_allocate_outputs)"


def _lengths(lengths: Tensor | Sequence[int], name: str, batch: int) -> list[int]:
    """The lengths as Python ints: a tuple, a list or an integer tensor, one per sample."""
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype is dtypes.bool_:
            raise RuntimeError(f"{name} must be integral")
        lengths = lengths.reshape(-1).tolist()
    values = [int(v) for v in lengths]
    if len(values) != batch:
        raise RuntimeError(f"{name} must be of size batch_size")
    return values


def _logsumexp(x: Tensor, axis: int) -> Tensor:
    """``log(sum(exp(x)))`` along ``axis`` that is -inf, with a zero gradient, where every term is -inf.

    The shift is detached (the gradient of the shifted form is the softmax either way), and the all -inf
    case never meets ``log(0)`` or ``-inf - -inf`` on the gradient path, so unreachable states stay NaN-free.
    """
    shift = x.amax(axis, keepdim=True).detach()
    shift = where(shift == -math.inf, 0.0, shift)
    total = (x - shift).exp().sum(axis)
    reached = total > 0
    return where(reached, where(reached, total, 1.0).log() + shift.squeeze(axis), -math.inf)


def _extended_labels(targets: Tensor, target_lengths: list[int], longest: int, blank: int) -> Tensor:
    """Each sample's target with a blank before, between and after its labels: (N, 2 * longest + 1)."""
    batch = len(target_lengths)
    listed = np.arange(longest) < np.array(target_lengths)[:, None]
    if targets.ndim == 1:  # the targets of all samples, one after another
        starts = np.cumsum([0, *target_lengths[:-1]])
        labels = targets[tensor(np.where(listed, starts[:, None] + np.arange(longest), 0))]
    else:
        labels = targets[:, :longest]
    labels = where(tensor(listed), labels.long(), blank)
    blanks = labels.new_full((batch, longest), blank)
    return cat([stack([blanks, labels], 2).reshape(batch, 2 * longest), labels.new_full((batch, 1), blank)], 1)


def _check(log_probs: Tensor, targets: Tensor, input_lengths: list[int], target_lengths: list[int],
           blank: int) -> None:
    """torch's argument checks, in its order and words."""
    steps, _, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if targets.ndim == 1:
        if targets.shape[0] != sum(target_lengths):
            raise RuntimeError(f"Expected tensor to have size {sum(target_lengths)} at dimension 0, but got size "
                               f"{targets.shape[0]} for argument #2 'targets'{_CHECKED}")
    elif targets.shape[1] < max(target_lengths, default=0):
        raise RuntimeError(f"Expected tensor to have size at least {max(target_lengths)} at dimension 1, but got "
                           f"size {targets.shape[1]} for argument #2 'targets'{_CHECKED}")
    for length in input_lengths:
        if not 0 <= length <= steps:
            bound, word = (steps, "most") if length > steps else (0, "least")
            raise RuntimeError(f"Expected input_lengths to have value at {word} {bound}, but got value "
                               f"{length}{_CHECKED}")


def _negative_log_likelihood(log_probs: Tensor, labels: Tensor, active: Tensor, ends: Tensor) -> Tensor:
    """``-log p(target | input)`` per sample, by the alpha recursion over the (T, N, C) ``log_probs``.

    ``active[t]`` marks the samples whose input is still running at frame ``t`` (the others keep their
    alphas); ``ends`` marks each sample's two final states. Starting from a virtual frame with all mass on
    the first blank, every frame (the first included) takes the same three-way step.
    """
    steps, batch, _ = log_probs.shape
    width = labels.shape[1]
    emissions = log_probs.gather(2, labels.unsqueeze(0).expand(steps, batch, width))
    odd = tensor(np.arange(width) % 2 == 1)
    skips = cat([labels.new_zeros((batch, 2)).bool(), labels[:, 2:] != labels[:, :-2]], 1) & odd
    penalty = where(skips, 0.0, -math.inf).to(log_probs.dtype)
    start = np.full(width, -math.inf)
    start[0] = 0.0
    alpha = tensor(start, dtype=log_probs.dtype).expand(batch, width).node
    # Each frame's alphas are divided by a 1 that is a program input: an exact no-op that a compiler cannot fold
    # away and will not duplicate, so it keeps each frame's cheap ops (and their cotangents) out of the next
    # frame's fused loops; without it XLA's compile time grows with the square of the number of frames.
    one = tensor(1.0, dtype=log_probs.dtype).node
    for t in range(steps):
        step = _step(alpha, penalty.node)
        emitted = ops.reshape(ops.slice_(emissions.node, (t, 0, 0), (t + 1, batch, width), (1, 1, 1)), alpha.shape)
        running = ops.reshape(ops.slice_(active.node, (t, 0, 0), (t + 1, batch, 1), (1, 1, 1)), (batch, 1))
        alpha = ops.div(ops.select(running, ops.add(emitted, step), alpha), one)
    return -_logsumexp(where(ends, _wrap(alpha), -math.inf), 1)


def _step(alpha: Node, penalty: Node) -> Node:
    """The log of the mass flowing into each state from the previous frame: from the state itself, the one
    before it and (where ``penalty`` is 0, not -inf) the one before that, as ``shift + log(sum exp(a - shift))``.

    Built from nodes, as it runs once per frame. The shift is each state's largest term with no gradient (the
    shifted form's gradient is the softmax either way); floored, it stays finite for a state no path reaches
    yet, whose sum is then 0: it is raised to 1 before the log, so no gradient meets ``log(0)``.
    """
    batch, width = alpha.shape
    dtype = alpha.dtype
    padded = apply("concat", (ops.full((batch, 2), -math.inf, dtype), alpha), (1,))
    advance = ops.slice_(padded, (0, 1), (batch, width + 1), (1, 1))
    jump = ops.add(ops.slice_(padded, (0, 0), (batch, width), (1, 1)), penalty)
    windows = apply("concat", tuple(ops.reshape(term, (batch, width, 1)) for term in (alpha, advance, jump)), (2,))
    shift = apply("stop_gradient", (ops.reduce("reduce_max", windows, (2,)),))
    base = apply("max", (shift, ops.const(float(np.finfo(dtype.np).min), dtype)))
    shifted = apply("sub", (windows, ops.reshape(base, (batch, width, 1))))
    total = ops.reduce("reduce_sum", apply("exp", (shifted,)), (2,))
    one = ops.const(1.0, dtype)
    total = ops.select(apply("ge", (total, one)), total, one)
    return ops.add(apply("log", (total,)), shift)


def _torch_gradient_term(log_probs: Tensor, active: Tensor, nll: Tensor, zero_infinity: bool) -> Tensor:
    """A per-sample term of value zero whose gradient is torch's extra ``exp(log_probs)`` (see the module doc).

    Without ``zero_infinity`` torch's gradient of a sample without any alignment is NaN at its active frames:
    there the term adds ``-log(gap ** 2)`` for a ``gap`` of value zero, an infinity the loss already has, whose
    gradient is ``inf * 0``. Elsewhere that branch sees a 1, so no NaN leaks into a finite loss's gradient.
    """
    mass = where(active, log_probs.exp(), 0.0).sum((0, 2))
    gap = mass - mass.detach()
    if zero_infinity:
        return gap
    unaligned = nll == math.inf
    return gap + where(unaligned, -where(unaligned, gap * gap, 1.0).log(), 0.0)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Tensor, target_lengths: Tensor, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC loss of (T, N, C) or (T, C) log-probabilities against padded (N, S) or concatenated targets.

    ``'mean'`` divides each sample's loss by its target length before averaging, as torch does;
    ``zero_infinity`` replaces the infinite loss (and the gradient) of an impossible alignment by zeros.
    """
    reduction = _reduction(reduction, None, None)
    batched = log_probs.ndim == 3
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.ndim + 1}-dimensional tensor for "
                           f"argument #1 'log_probs'{_CHECKED}")
    if log_probs.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for '{_torch_type_name(log_probs.dtype)}'")
    lp = log_probs if batched else log_probs.unsqueeze(1)
    steps, batch, _ = lp.shape
    inputs = _lengths(input_lengths, "input_lengths", batch)
    outputs = _lengths(target_lengths, "target_lengths", batch)
    _check(lp, targets, inputs, outputs, blank)
    longest = max(outputs, default=0)
    labels = _extended_labels(targets, outputs, longest, blank)
    active = tensor((np.arange(steps)[:, None] < np.array(inputs))[..., None])  # (T, N, 1)
    state = np.arange(2 * longest + 1)
    last = np.array(outputs)[:, None]
    ends = tensor((state == 2 * last) | ((state == 2 * last - 1) & (last > 0)))
    nll = _negative_log_likelihood(lp, labels, active, ends)
    loss = _as_op("CtcLossBackward0", nll + _torch_gradient_term(lp, active, nll, zero_infinity), lp)
    if zero_infinity:
        loss = where(loss == math.inf, loss.new_zeros(()), loss)
    if reduction == "mean":
        return (loss / tensor(outputs, dtype=loss.dtype).clamp_min(1)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.squeeze(0)
