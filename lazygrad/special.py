"""``torch.special``: the scipy-style names of special functions.

Most are torch's other names for functions lazygrad has (``expit`` is ``sigmoid``, ``gammaln`` is ``lgamma``,
``psi`` is ``digamma``) and keep those functions' results and grad_fn names. The rest are compositions of
primitives written as torch computes them, so a printed value is torch's: ``ndtr`` is torch's
``(1 + erf(x / sqrt(2))) / 2``, which is 2.98e-07 at -5 in float32 where the true value is 2.87e-07.
``log_ndtr`` works in float64 and follows the tail asymptotically where even a double's erfc underflows.
"""

from __future__ import annotations

import math
from typing import Any

from . import dtypes, ops, special_ops
from .function_forms import torch_function
from .ir import Node, apply
from .tensor import Tensor, _float_dtype, _record

# erfc(-x / sqrt(2)) underflows in float64 below this; the tail's asymptotic series is exact to float64 there.
_LOG_NDTR_TAIL = -37.0


def _c(value: float, like: Node) -> Node:
    return ops.broadcast_to(ops.scalar(value, like.dtype), like.shape)


def _where(pred: Node, on_true: Node, on_false: Node) -> Node:
    return ops.select(pred, on_true, on_false)


def _floats(input: Tensor) -> Node:
    return ops.cast(input.node, _float_dtype(input.dtype))


def entr(input: Tensor) -> Tensor:
    """-x log x elementwise: 0 at 0, -inf for negative x."""
    x = _floats(input)
    positive = apply("gt", (x, _c(0, x)))
    safe = _where(positive, x, _c(1, x))
    plogp = ops.neg(ops.mul(x, apply("log", (safe,))))
    out = _where(positive, plogp, _where(apply("eq", (x, _c(0, x))), _c(0, x),
                                         _where(apply("lt", (x, _c(0, x))), _c(-math.inf, x), x)))
    return _record("SpecialEntrBackward0", out, input)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal's cumulative distribution function, in torch's composition (and grad_fn name)."""
    x = input.to(_float_dtype(input.dtype))
    shifted = 1 + (x * math.sqrt(0.5)).erf()
    return _record("MulBackward1", ops.scale(shifted.node, 0.5), shifted)


def log_ndtr(input: Tensor) -> Tensor:
    """log(ndtr(x)), accurate in both tails: log1p(-erfc(x / sqrt 2) / 2) above -1, log(erfc(-x / sqrt 2) / 2)
    below, and the asymptotic series where that underflows. Each branch reads x clamped into its own range, so
    the branches not taken give no infinite slope for the select to multiply by zero."""
    x = _floats(input)
    wide = ops.cast(x, dtypes.float64)
    above = apply("gt", (wide, _c(-1, wide)))
    beyond = apply("le", (wide, _c(_LOG_NDTR_TAIL, wide)))
    upper_x = apply("max", (wide, _c(-1, wide)))
    lower_x = apply("max", (apply("min", (wide, _c(-1, wide))), _c(_LOG_NDTR_TAIL, wide)))
    far_x = apply("min", (wide, _c(_LOG_NDTR_TAIL, wide)))
    upper = apply("log1p", (ops.scale(special_ops._erfc(ops.scale(upper_x, math.sqrt(0.5))), -0.5),))
    lower = apply("log", (ops.scale(special_ops._erfc(ops.scale(lower_x, -math.sqrt(0.5))), 0.5),))
    square = ops.mul(far_x, far_x)
    inverse_square = ops.div(_c(1, wide), square)
    inner = ops.add(_c(3, wide), ops.scale(inverse_square, -15))
    series = ops.add(_c(1, wide), ops.mul(inverse_square, ops.add(_c(-1, wide), ops.mul(inverse_square, inner))))
    far = ops.add(ops.add(ops.scale(square, -0.5), ops.neg(apply("log", (ops.neg(far_x),)))),
                  ops.add(_c(-0.5 * math.log(2 * math.pi), wide), apply("log", (series,))))
    out = _where(above, upper, _where(beyond, far, lower))
    return _record("SpecialLogNdtrBackward0", ops.cast(out, x.dtype), input)


def xlog1py(input: Any, other: Any) -> Tensor:
    """input * log1p(other), 0 where input is 0 (unless other is NaN); either may be a number."""
    a, b, tensors = special_ops._pair(input, other, True)
    shape = apply("add", (a, b)).shape
    a, b = ops.broadcast_to(a, shape), ops.broadcast_to(b, shape)
    unbounded = apply("or", (apply("le", (b, _c(-1, b))), apply("eq", (b, _c(math.inf, b)))))
    at_zero = apply("eq", (a, _c(0, a)))
    zero = apply("and", (at_zero, unbounded))
    product = ops.mul(a, apply("log1p", (_where(zero, _c(0, b), b),)))
    out = _where(zero, _c(0, a), product)
    name = "SpecialXlog1PyBackward0" if len(tensors) == 2 else \
        "SpecialXlog1PyBackward1" if isinstance(other, Tensor) else "SpecialXlog1PyBackward2"
    return _record(name, out, *tensors)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``: every element must exceed (p - 1) / 2."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    terms = input.unsqueeze(-1) - input.new_tensor([j / 2 for j in range(p)])
    out = terms.lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return _record("MvlgammaBackward0", out.node, input)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return input.logsumexp(dim, keepdim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return input.softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return input.log_softmax(dim, dtype=dtype)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    return input.round(decimals=decimals)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    return input.logit(eps)


_SAME_AS_TENSOR_METHOD = {"expit": "sigmoid", "gammaln": "lgamma", "psi": "digamma", "digamma": "digamma",
                          "erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "exp2": "exp2", "expm1": "expm1",
                          "log1p": "log1p", "sinc": "sinc"}


def _method(method: str) -> Any:
    def op(input: Tensor) -> Tensor:
        return getattr(input, method)()

    return op


for _name, _method_name in _SAME_AS_TENSOR_METHOD.items():
    globals()[_name] = torch_function(_method(_method_name), _name, True)
for _name in ("entr", "ndtr", "log_ndtr", "xlog1py", "multigammaln", "logsumexp", "round", "logit", "xlogy"):
    globals()[_name] = torch_function(special_ops.xlogy if _name == "xlogy" else globals()[_name], _name, True)
for _name in ("softmax", "log_softmax"):
    globals()[_name] = torch_function(globals()[_name], _name, False)
del _name, _method_name

__all__ = sorted([*_SAME_AS_TENSOR_METHOD, "entr", "ndtr", "log_ndtr", "xlog1py", "multigammaln", "logsumexp",
                  "round", "logit", "xlogy", "softmax", "log_softmax"])
