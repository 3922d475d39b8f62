"""More elementwise activations of ``nn.functional``, each composed from existing Tensor ops.

Where torch's derivative picks a side at a kink, the ``where`` tests here pick the same side, so the
gradients agree on the kinks too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes
from ..arithmetic import where
from ..autograd.function import BackwardCFunction, Function
from ..ir import apply
from ..tensor import Tensor, _record, _wrap
from ..type_info import finfo
from .functional_base import _inplace

# torch names the dtype by its scalar type in softshrink's range error.
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}


def _named(name: str, out: Tensor, input: Tensor) -> Tensor:
    """``out`` recorded under torch's ``grad_fn`` name; the gradient still comes from the composed ops."""
    return _record(name, out.node, input)


def _stopped(t: Tensor) -> Tensor:
    """``t``'s value with no gradient through it."""
    return _wrap(apply("stop_gradient", (t.node,)))


def _with_slope(value: Tensor, input: Tensor, slope: Tensor | float) -> Tensor:
    """``value``, whose gradient is torch's ``grad * slope`` rather than the derivative of how it is computed.

    ``stop(x) - x`` is +0 carrying the gradient -1; subtracting it times the slope leaves a -0 value -0.
    ``input`` must be finite (``inf - inf`` is NaN), and so must ``slope`` wherever a gradient flows.
    """
    slope = _stopped(slope) if isinstance(slope, Tensor) else slope
    return _stopped(value) - (_stopped(input) - input) * slope


def _clamped(input: Tensor, low: float, high: float) -> Tensor:
    """torch's ``min(max(x, low), high)``: -0 and NaN pass through unchanged."""
    return where(input < low, low, where(input > high, high, input))


def _hardtanh(input: Tensor, low: float, high: float) -> Tensor:
    """The clamped value, whose gradient passes strictly inside ``(low, high)`` only: 0 on the bounds and at NaN."""
    return where((input > low) & (input < high), input, _stopped(_clamped(input, low, high)))


# torch's CPU kernels compute a 16-bit float in float32 and round the result once.
_HALF_FLOATS = (dtypes.float16, dtypes.bfloat16)


def torch_backward(name: str, value: Callable[..., Tensor], slope: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``value(x, *args)`` whose gradient is torch's own formula ``grad * slope(x, *args)``, recorded as ``name``.

    Where torch's backward kernel is not the derivative of its forward as written (gelu, silu, mish), autodiff
    of the composed value rounds differently and signs its zeros differently. A ``Function`` takes the formula
    as torch writes it, ops and all, so a NaN or infinite input gets torch's gradient too, and the gradient
    stays differentiable under ``create_graph``. A 16-bit input is computed in float32 and rounded once, as torch's
    fused kernel does, forward and backward.
    """

    def forward(ctx: Any, input: Tensor, *args: Any) -> Tensor:
        # The input as it is now, history included: ``inplace=True`` then writes the result into ``input`` itself.
        ctx.save_for_backward(input if input.grad_fn is None else _wrap(input.node, input.grad_fn))
        ctx.args = args
        if input.dtype in _HALF_FLOATS:
            return value(input.float(), *args).to(input.dtype)
        return value(input, *args)

    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (input,) = ctx.saved_tensors
        if grad.dtype in _HALF_FLOATS:
            return ((grad.float() * slope(input.float(), *ctx.args)).to(grad.dtype), *(None for _ in ctx.args))
        return (grad * slope(input, *ctx.args), *(None for _ in ctx.args))

    function = type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})
    function._backward_cls = type(name, (BackwardCFunction,), {"function": function})
    return function.apply


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """torch computes it as ``hardtanh(x, 0, 6)``: ``relu6(-0)`` is -0, gradient 0 on both bounds and at NaN."""
    return _inplace(input, _named("HardtanhBackward0", _hardtanh(input, 0.0, 6.0), input), inplace)


# torch's hardsigmoid and hardswish backward multiply by a float constant 1/6, in float64 too.
_ONE_SIXTH = float(np.float32(1.0 / 6.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x + 3, 0), 6) / 6``, NaN kept; the slope (torch's float 1/6) holds strictly inside (-3, 3)."""
    value = _clamped(input + 3.0, 0.0, 6.0) / 6.0
    out = where((input > -3.0) & (input < 3.0), _with_slope(value, input, _ONE_SIXTH), _stopped(value))
    return _inplace(input, _named("HardsigmoidBackward0", out, input), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * min(max(x + 3, 0), 6) / 6`` as torch computes it (NaN at -inf, -0 below -3); torch's gradient is 0
    up to -3, 1 from 3 on, and ``x / 3 + 1/2`` between (NaN at NaN)."""
    value = input * _clamped(input + 3.0, 0.0, 6.0) / 6.0
    low, high = input <= -3.0, input >= 3.0
    inner = where(low | high, 0.0, input)  # finite but for NaN, as the slope's trick needs
    curve = _with_slope(value, inner, inner / 3.0 + 0.5)
    out = where(low, _stopped(value), where(high, input * 6.0 / 6.0, curve))  # (1/6) * 6 is 1: gradient 1
    return _inplace(input, _named("HardswishBackward0", out, input), inplace)


def _shrunk(input: Tensor, lambd: float, outside: Tensor) -> Tensor:
    """``outside`` where ``|x| > lambd``, else +0 (NaN at NaN), with no gradient there, NaN included, as in torch."""
    kept = (input > lambd) | (input < -lambd)
    return where(kept, outside, _stopped(input - input))  # x - x: +0 for every finite x, -0 too


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    return _named("HardshrinkBackward0", _shrunk(input, lambd, input), input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` moved ``lambd`` towards 0, and 0 within ``[-lambd, lambd]``."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, {finfo(input.dtype).max:g}] for input dtype "
                           f"{_SCALAR_NAMES.get(input.dtype.name, input.dtype.name)}, but found {lambd:g}")
    out = _shrunk(input, lambd, where(input > lambd, input - lambd, input + lambd))
    return _named("SoftshrinkBackward0", out, input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``softmax(-x)``."""
    if dim is None:
        warnings.warn("Implicit dimension choice for softmin has been deprecated. Change the call to include "
                      "dim=X as an argument.", UserWarning, stacklevel=2)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return (-(input if dtype is None else input.to(dtype))).softmax(dim)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``value`` where ``x <= threshold``, else ``x`` (NaN too, with gradient 1, as in torch)."""
    out = _named("ThresholdBackward0", where(input <= threshold, value, input), input)  # NaN is kept
    return _inplace(input, out, inplace, "ThresholdBackward1")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """First half of ``dim`` gated by the sigmoid of the second half."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}")
    a, b = input.split(size // 2, dim)
    return _named("GluBackward0", a * b.sigmoid(), input)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    out = elu_family(input, alpha, 1.0, 1.0 / alpha)
    return _inplace(input, _named("CeluBackward0", out, input), inplace, "CeluBackward1")


def elu_family(input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """torch's ELU kernel, shared by ELU, SELU and CELU: ``x * scale`` for ``x > 0``, else
    ``expm1(x * input_scale) * (alpha * scale)``, whose gradient is torch's
    ``input_scale * (alpha * scale) * exp(x * input_scale)``, not the derivative of ``expm1`` (which loses the
    tail: 0 at -100 instead of 3.7e-44); NaN takes that branch, so its gradient is NaN as in torch. The
    coefficients round in the input's arithmetic type, as torch's do."""
    work = np.float64 if input.dtype.name == "float64" else np.float32
    neg_coef, in_coef = work(alpha) * work(scale), work(input_scale)
    positive = input > 0
    negative = where(positive, 0.0, input)  # the unused branch reads 0: no overflow, no NaN gradient
    finite = where(negative == -math.inf, 0.0, negative)  # at -inf the gradient is 0 and the value expm1's -1
    value = _times(negative, in_coef).expm1() * float(neg_coef)
    slope = _times(finite, in_coef).exp() * float(in_coef * neg_coef)
    return where(positive, _times(input, work(scale)), _with_slope(value, finite, slope))


def _times(t: Tensor, coef: np.floating) -> Tensor:
    """``t * coef``, skipping a multiplication by 1."""
    return t if coef == 1 else t * float(coef)
