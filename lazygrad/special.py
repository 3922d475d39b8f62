"""``torch.special``: the scipy-style names of special functions.

Most are torch's other names for functions lazygrad has (``expit`` is ``sigmoid``, ``gammaln`` is ``lgamma``,
``psi`` is ``digamma``) and keep those functions' results and grad_fn names. The rest are compositions of
primitives written as torch computes them, so a printed value is torch's: ``ndtr`` is torch's
``(1 + erf(x / sqrt(2))) / 2``, which is 2.98e-07 at -5 in float32 where the true value is 2.87e-07.
``log_ndtr`` works in float64 and follows the tail asymptotically where even a double's erfc underflows.
The Bessel functions, erfcx and ndtri live in ``special_functions``, the orthogonal polynomials in
``special_polynomials``, and i0, polygamma, zeta and multigammaln in ``special_series``.

Not offered: bessel_y0/y1 and airy_ai, which oscillate between their small- and large-argument expansions where
neither holds to float64's precision (their power series cancel by factors of e^x there) and which have no
integral over a full period, as J has, for a fixed rule to converge on geometrically; and gammainc/gammaincc
(see ``special_series``).
"""

from __future__ import annotations

import math
from typing import Any

from . import dtypes, ops, special_functions, special_ops, special_polynomials, special_series
from .function_forms import torch_function
from .ir import Node
from .math_ops import _b, _c, _u
from .special_ops import _constant_where
from .tensor import Tensor, _float_dtype, _record

# erfc(-x / sqrt(2)) underflows in float64 below this; the tail's asymptotic series is exact to float64 there.
_LOG_NDTR_TAIL = -37.0


def _floats(input: Tensor) -> Node:
    return ops.cast(input.node, _float_dtype(input.dtype))


def entr(input: Tensor) -> Tensor:
    """-x log x elementwise: 0 at 0, -inf for negative x."""
    x = _floats(input)
    positive = _b("gt", x, _c(0, x))
    safe = ops.select(positive, x, ops.broadcast_to(_c(1, x), x.shape))
    out = ops.select(positive, ops.neg(ops.mul(x, _u("log", safe))),
                     _constant_where(_b("eq", x, _c(0, x)), 0, _constant_where(_b("lt", x, _c(0, x)), -math.inf, x)))
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
    upper_x = _b("max", wide, _c(-1, wide))
    lower_x = _b("max", _b("min", wide, _c(-1, wide)), _c(_LOG_NDTR_TAIL, wide))
    far_x = _b("min", wide, _c(_LOG_NDTR_TAIL, wide))
    upper = _u("log1p", ops.scale(special_ops._erfc(ops.scale(upper_x, math.sqrt(0.5))), -0.5))
    lower = _u("log", ops.scale(special_ops._erfc(ops.scale(lower_x, -math.sqrt(0.5))), 0.5))
    square = ops.mul(far_x, far_x)
    u = ops.div(_c(1, wide), square)  # the series 1 - u + 3u^2 - 15u^3 in u = 1 / x^2
    series = ops.add(_c(1, wide), ops.mul(u, ops.add(_c(-1, wide), ops.mul(u, ops.add(_c(3, wide),
                                                                                   ops.scale(u, -15))))))
    far = ops.add(ops.add(ops.scale(square, -0.5), ops.neg(_u("log", ops.neg(far_x)))),
                  ops.add(_c(-0.5 * math.log(2 * math.pi), wide), _u("log", series)))
    out = ops.select(_b("gt", wide, _c(-1, wide)), upper,
                     ops.select(_b("le", wide, _c(_LOG_NDTR_TAIL, wide)), far, lower))
    return _record("SpecialLogNdtrBackward0", ops.cast(out, x.dtype), input)


def xlog1py(input: Any, other: Any) -> Tensor:
    """input * log1p(other), 0 where input is 0 (unless other is NaN); either may be a number."""
    return special_ops.times_log(input, other, "log1p", -1.0, "SpecialXlog1PyBackward")


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
for _name in ("entr", "ndtr", "log_ndtr", "xlog1py", "logsumexp", "round", "logit", "xlogy"):
    globals()[_name] = torch_function(special_ops.xlogy if _name == "xlogy" else globals()[_name], _name, True)
# The special functions of their own modules: the Bessel family, erfcx and ndtri; the orthogonal polynomials;
# and the series (i0, polygamma, zeta, multigammaln), whose module also gives them as torch.* functions.
_OWN_MODULES = {**special_functions.FUNCTIONS, **special_polynomials.FUNCTIONS,
                **{name: getattr(special_series, name) for name in ("i0", "polygamma", "zeta", "multigammaln")}}
for _name, _function in _OWN_MODULES.items():
    globals()[_name] = torch_function(_function, _name, True)
for _name in ("softmax", "log_softmax"):
    globals()[_name] = torch_function(globals()[_name], _name, False)
del _name, _method_name, _function

__all__ = sorted([*_SAME_AS_TENSOR_METHOD, "entr", "ndtr", "log_ndtr", "xlog1py", "logsumexp", "round", "logit",
                  "xlogy", "softmax", "log_softmax", *_OWN_MODULES])
