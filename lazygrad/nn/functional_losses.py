"""Margin, embedding and likelihood losses, plus ``pairwise_distance`` (the triplet loss's distance).

Each is a short composite of elementwise ops and sums, written in the order torch evaluates it so values
agree to the last bits; ``reduction`` (and the legacy ``size_average``/``reduce`` pair) as torch reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import dtypes
from ..arithmetic import where
from ..creation import arange
from ..masking import triu_indices
from ..tensor import Tensor, _record, _torch_type_name
from .functional_base import _as_op, _reduce, _reduction, logsigmoid

# Added to each squared norm in the cosine embedding loss, so a zero vector has cosine 0 instead of NaN.
_COSINE_EPSILON = 1e-12


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The ``p``-norm of ``x1 - x2 + eps`` along the last axis; ``eps`` keeps the norm's gradient finite."""
    shifted = x1 - x2 + eps
    # torch takes this norm with its ATen ``norm``, not ``linalg.vector_norm``: its record says so
    return _as_op("NormBackward1", shifted.norm(p, max(x1.ndim, x2.ndim) - 1, keepdim=keepdim), shifted)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The ``p``-norm distance of every pair of rows ``i < j`` of an (N, M) input, in row-major pair order."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    first, second = triu_indices(input.shape[0], input.shape[0], 1)
    distances = (input[first] - input[second]).norm(p, 1)
    return _record("PdistBackward0", distances.node, input)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: ``target`` says which input should rank higher."""
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: torch.Size({list(input1.shape)}), input2: torch.Size({list(input2.shape)}), "
                           f"target: torch.Size({list(target.shape)}) ")
    reduction = _reduction(reduction, size_average, reduce)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1 (both terms elsewhere)."""
    reduction = _reduction(reduction, size_average, reduce)
    below = where(target != 1, (margin - input).clamp(min=0), 0.0)
    return _reduce(below + where(target != -1, input, 0.0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos`` for pairs marked 1, ``max(0, cos - margin)`` for pairs marked -1."""
    reduction = _reduction(reduction, size_average, reduce)
    dim = target.ndim
    if dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != dim + 1 or input2.ndim != dim + 1:
        raise RuntimeError(f"{dim}D target tensor expects {dim + 1}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    squares = ((input1 * input1).sum(dim) + _COSINE_EPSILON) * ((input2 * input2).sum(dim) + _COSINE_EPSILON)
    cos = (input1 * input2).sum(dim) / squares.sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """The two-class logistic loss ``log(1 + exp(-target * input))``."""
    reduction = _reduction(reduction, size_average, reduce)
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """Per-class binary cross-entropy on logits, averaged over the classes (the last axis) of each sample."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(input.ndim - 1) / input.shape[-1], reduction)


def _class_scores(input: Tensor, target: Tensor) -> tuple[Tensor, int, int]:
    """``input`` as (samples, classes): torch reads a vector as one sample and a 0-d tensor as one class."""
    if not (input.ndim == 0 or (input.ndim in (1, 2) and input.shape[-1] != 0)):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    samples = input.shape[0] if input.ndim == 2 else 1
    classes = input.shape[-1] if input.ndim else 1
    return input.reshape(samples, classes), samples, classes


def _long_target(target: Tensor) -> None:
    """torch checks the target's dtype after its shape."""
    if target.dtype is not dtypes.int64:
        raise RuntimeError(f"expected scalar type Long but found {_torch_type_name(target.dtype)}")


def _per_sample(loss: Tensor, input: Tensor) -> Tensor:
    """A (samples,) loss shaped as torch's unreduced output: one value per row, a 0-d tensor for a vector."""
    return loss if input.ndim == 2 else loss.reshape(())


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: bool | None = None, reduce: bool | None = None,
                      reduction: str = "mean") -> Tensor:
    """The multi-class hinge loss: ``max(0, margin - x[y] + x[j])`` (to the power ``p``) over the classes
    ``j != y``, scaled by the target class's ``weight`` and averaged over the classes of each sample."""
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    scores, samples, classes = _class_scores(input, target)
    if target.ndim > 1 or target.numel() != samples:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{samples}], but got {list(target.shape)}. "
                           f"Input has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(weight.shape)}")
    _long_target(target)
    labels = target.reshape(samples, 1)
    # torch adds a term only where it is positive, so a margin met exactly contributes no gradient.
    z = margin - scores.gather(1, labels) + scores
    term = z if p == 1 else z * z
    if weight is not None:
        term = term * weight.gather(0, labels.reshape(samples)).unsqueeze(1)
    others = arange(classes) != labels
    loss = where(others & (z > 0), term, 0.0).sum(1) / classes
    return _as_op("MultiMarginLossBackward0", _reduce(_per_sample(loss, input), reduction), input, weight)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """The multi-label hinge loss: ``max(0, 1 - (x[t] - x[i]))`` for every target class ``t`` against every
    non-target class ``i``, averaged over the classes; each sample's targets are listed first, ended by -1."""
    reduction = _reduction(reduction, size_average, reduce)
    scores, samples, classes = _class_scores(input, target)
    expected = (samples, classes) if input.ndim == 2 else None
    if (tuple(target.shape) != expected) if expected else (target.ndim > 1 or target.numel() != classes):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    _long_target(target)
    labels = target.reshape(samples, classes)
    listed = (labels == -1).long().cumsum(1) == 0  # the positions before the first -1
    labels = where(listed, labels, 0)
    chosen = ((labels.unsqueeze(2) == arange(classes)) & listed.unsqueeze(2)).any(1)
    z = 1 - scores.gather(1, labels).unsqueeze(2) + scores.unsqueeze(1)  # (sample, listed target, class)
    counted = listed.unsqueeze(2) & ~chosen.unsqueeze(1) & (z > 0)
    loss = where(counted, z, 0.0).sum((1, 2)) / classes
    return _as_op("MultilabelMarginLossBackward0", _reduce(_per_sample(loss, input), reduction), input)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))``; ``swap`` uses the closer negative."""
    reduction = _reduction(reduction, size_average, reduce)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    to_positive = pairwise_distance(anchor, positive, p, eps)
    to_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        to_negative = to_negative.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + to_positive - to_negative).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """The triplet loss under any ``distance_function`` (``pairwise_distance`` when None)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    to_positive = distance(anchor, positive)
    to_negative = distance(anchor, negative)
    if swap:
        to_negative = to_negative.minimum(distance(positive, negative))
    return _reduce((margin + to_positive - to_negative).clamp_min(0), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """Negative Poisson log-likelihood of ``target`` with rate ``exp(input)`` (or ``input``); ``full`` adds
    Stirling's approximation of ``log(target!)`` where ``target > 1``."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + where(target <= 1, 0.0, stirling)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative Gaussian log-likelihood of ``target`` with mean ``input`` and variance ``var``.

    ``var`` is floored at ``eps`` in value only: torch clamps it in place under ``no_grad``, so the gradient
    flows as if through the bare variance. Unlike torch, negative entries are not looked for: that would read
    ``var``'s value, and a loss stays lazy here.
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.new_full(tuple(input.shape), var)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim != var.ndim or sum(v for i, v in zip(input.shape, var.shape) if i != v) != 1:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
