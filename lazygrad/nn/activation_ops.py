"""More elementwise activations of ``nn.functional``, each composed from existing Tensor ops.

Where torch's derivative picks a side at a kink, the ``where`` tests here pick the same side, so the
gradients agree on the kinks too.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..arithmetic import where
from ..tensor import Tensor, _record
from ..type_info import finfo
from .functional_base import _inplace

# torch names the dtype by its scalar type in softshrink's range error.
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}


def _named(name: str, out: Tensor, input: Tensor) -> Tensor:
    """``out`` recorded under torch's ``grad_fn`` name; the gradient still comes from the composed ops."""
    return _record(name, out.node, input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``: torch computes it as ``hardtanh(x, 0, 6)``, gradient 0 on both bounds."""
    out = where(input <= 0.0, 0.0, where(input >= 6.0, 6.0, input))
    return _inplace(input, _named("HardtanhBackward0", out, input), inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; the slope 1/6 holds strictly inside (-3, 3), as in torch."""
    inside = (input > -3.0) & (input < 3.0)
    out = where(inside, input / 6.0 + 0.5, where(input >= 3.0, 1.0, 0.0))
    return _inplace(input, _named("HardsigmoidBackward0", out, input), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``; torch's derivative is 0 below -3 and 1 above 3, ``x/3 + 1/2`` between."""
    middle = input * (input + 3.0) / 6.0
    out = where(input < -3.0, 0.0, where(input > 3.0, input, middle))
    return _inplace(input, _named("HardswishBackward0", out, input), inplace)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    return _named("HardshrinkBackward0", where((input > lambd) | (input < -lambd), input, 0.0), input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` moved ``lambd`` towards 0, and 0 within ``[-lambd, lambd]``."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, {finfo(input.dtype).max:g}] for input dtype "
                           f"{_SCALAR_NAMES.get(input.dtype.name, input.dtype.name)}, but found {lambd:g}")
    out = where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))
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
    """``x`` where ``x > threshold``, else ``value``."""
    out = _named("ThresholdBackward0", where(input > threshold, input, value), input)
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
    positive = input > 0
    out = where(positive, input, where(positive, 0.0, input / alpha).expm1() * alpha)
    return _inplace(input, _named("CeluBackward0", out, input), inplace, "CeluBackward1")
