"""Activations that draw random numbers: randomized leaky ReLU and Gumbel-softmax sampling."""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from ..arithmetic import where
from ..creation import Generator, drawn, empty_like, zeros_like
from ..grad_mode import no_grad
from ..random_stream import RandomStream
from ..tensor import Tensor, _torch_type_name
from .functional_base import _as_op, _inplace

# The dtypes torch's rrelu kernel draws for.
_RRELU_DTYPES = ("float32", "float64", "bfloat16")


def _rrelu_noise(input: Tensor, lower: float, upper: float, generator: Generator | None) -> Tensor:
    """torch's rrelu noise: walking the input in order, each value at or below zero draws its slope from
    U(lower, upper) (a double-precision uniform, the bounds first rounded to the input's arithmetic type, the
    slope rounded to it), every other value gets 1. Which values draw depends on their sign, so the input is
    read here, as torch's kernel reads it. The noise is in that arithmetic type."""
    if input.dtype.name not in _RRELU_DTYPES:
        raise NotImplementedError(f"\"rrelu_with_noise_out_cpu\" not implemented for '{_torch_type_name(input.dtype)}'")
    work = np.float64 if input.dtype is dtypes.float64 else np.float32
    draws = input.detach().numpy() <= 0  # NaN draws nothing, like torch's `x <= 0` test
    low, high = float(work(lower)), float(work(upper))

    def make(stream: RandomStream) -> np.ndarray:
        noise = np.ones(draws.shape, dtype=work)
        unit = stream.uniform((int(draws.sum()),), dtypes.float64)
        noise[draws] = (unit * (high - low) + low).astype(work)
        return noise

    return drawn(make, generator, device=input.device)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn per element from U(lower, upper) in training, and is their
    mean in evaluation (no draw)."""
    return randomized_leaky_relu(input, lower, upper, training, inplace, None)


def randomized_leaky_relu(input: Tensor, lower: float, upper: float, training: bool, inplace: bool,
                          generator: Generator | None) -> Tensor:
    """``rrelu`` drawing its slopes from ``generator`` (the default one when None), as ``torch.rrelu`` can."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if training:  # the product in the noise's type, rounded once more for bfloat16, as torch's kernel does
        out = (input * _rrelu_noise(input, lower, upper, generator)).to(input.dtype)
    else:
        out = where(input > 0, input, input * ((lower + upper) / 2))
    if inplace:
        return _inplace(input, out, True, "RreluWithNoiseBackward1")
    return _as_op("RreluWithNoiseBackward0", out, input)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A differentiable sample from the categorical distribution of ``logits``: softmax of Gumbel-perturbed
    logits over ``tau``; ``hard`` returns the one-hot of its argmax with the soft sample's gradient.

    The draws are torch's: exponential values (one double-precision uniform each) equal to torch's bit for
    bit. The values that follow agree with torch's to float32 rounding, not to the bit: torch's CPU ``log`` and
    ``softmax`` run SLEEF vector kernels (and their own summation order), which round differently from the
    backends' ``log`` and ``exp``."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    with no_grad():
        gumbels = -empty_like(logits).exponential_().log()  # ~ Gumbel(0, 1)
    soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.max(dim, keepdim=True)[1]
    one_hot = zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft
