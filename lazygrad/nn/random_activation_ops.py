"""Activations that draw random numbers: randomized leaky ReLU and Gumbel-softmax sampling."""

from __future__ import annotations

import warnings

from ..arithmetic import where
from ..creation import rand_like, zeros_like
from ..grad_mode import no_grad
from ..tensor import Tensor
from .functional_base import _as_op, _inplace


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn per element from U(lower, upper) in training, and is their
    mean in evaluation."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    slope = rand_like(input) * (upper - lower) + lower if training else (lower + upper) / 2
    out = where(input > 0, input, input * slope)
    return _inplace(input, _as_op("RreluWithNoiseBackward0", out, input), inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A differentiable sample from the categorical distribution of ``logits``: softmax of Gumbel-perturbed
    logits over ``tau``; ``hard`` returns the one-hot of its argmax with the soft sample's gradient."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    with no_grad():
        gumbels = -(-(1 - rand_like(logits)).log()).log()  # -log(Exponential(1)) ~ Gumbel(0, 1)
    soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.max(dim, keepdim=True)[1]
    one_hot = zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft
