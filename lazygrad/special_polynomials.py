"""The orthogonal polynomials of ``torch.special``: Chebyshev's four kinds (and their shifted forms on [0, 1]),
Hermite's two, Laguerre's and Legendre's, each evaluated at ``input`` for the degree ``n``.

torch truncates the degree to an integer, gives 0 for a negative or non-finite one and evaluates each element by
its three-term recurrence, except where a closed form holds: cos(n acos x) and its relatives inside (-1, 1) for
Chebyshev's kinds of high degree, and fixed values at x = +-1. Here the same recurrences, closed forms and
special values run in float64, unrolled up to the largest degree asked for (read from ``n`` when it is a tensor,
so a tensor degree is computed at once), each element keeping the step of its own degree, and the result is
rounded once: float64 values are torch's, float32 ones torch's float64 values rounded (torch's float32 kernels
drift by up to thousands of units in the last place near x = -1 at high degree). Hermite's polynomials above
degree 128 (float32) or 512 (float64) are NaN, as in torch. At a NaN x torch returns whatever its uninitialized
recurrence holds; here it is NaN.

None of them is differentiable in torch: their results here are not tracked either.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from . import dtypes, ops
from .arithmetic import _trunc
from .ir import Node
from .math_ops import _UNARY, _b, _c, _u
from .special_ops import _pair, _sub
from .tensor import Tensor, _torch_type_name, _wrap

Step = Callable[[int, Node, Node, Node], Node]  # (k, x, p, q) -> the next value


_acos = _UNARY["acos"][1]  # acos as a composition of primitives


def _twice(x: Node) -> Node:
    return ops.add(x, x)


def _chebyshev_step(k: int, x: Node, p: Node, q: Node) -> Node:
    return _sub(ops.mul(_twice(x), q), p)


def _hermite_step(k: int, x: Node, p: Node, q: Node) -> Node:
    """H_{k+1} = 2x H_k - 2k H_{k-1} (torch counts its loop in steps of 2k)."""
    return _sub(ops.mul(_twice(x), q), ops.scale(p, 2 * k))


def _hermite_e_step(k: int, x: Node, p: Node, q: Node) -> Node:
    return _sub(ops.mul(x, q), ops.scale(p, k))


def _laguerre_step(k: int, x: Node, p: Node, q: Node) -> Node:
    factor = ops.add(_c(2 * k, x), _sub(_c(1, x), x))
    return ops.div(_sub(ops.mul(factor, q), ops.scale(p, k)), _c(k + 1, x))


def _legendre_step(k: int, x: Node, p: Node, q: Node) -> Node:
    return ops.div(_sub(ops.mul(ops.scale(x, 2 * k + 1), q), ops.scale(p, k)), _c(k + 1, x))


def _full(value: float, x: Node) -> Node:
    return ops.broadcast_to(_c(value, x), x.shape)


def _odd(n: Node) -> Node:
    return _b("ne", _sub(n, ops.scale(_u("floor", ops.scale(n, 0.5)), 2.0)), _c(0, n))


def _signed(odd: Node, value: Node) -> Node:
    return ops.select(odd, ops.neg(value), value)


# The closed forms inside (-1, 1), in the angle t = acos x and degree n (a float node of x's dtype).
def _cos_form(t: Node, n: Node, x: Node) -> Node:
    return _u("cos", ops.mul(n, t))


def _u_form(t: Node, n: Node, x: Node) -> Node:
    return ops.div(_u("sin", ops.mul(ops.add(n, _c(1, n)), t)), _u("sin", t))


def _v_form(t: Node, n: Node, x: Node) -> Node:
    return ops.div(_u("cos", ops.mul(ops.add(n, _c(0.5, n)), t)), _u("cos", ops.scale(t, 0.5)))


def _w_form(t: Node, n: Node, x: Node) -> Node:
    return ops.div(_u("sin", ops.mul(ops.add(n, _c(0.5, n)), t)), _u("sin", ops.scale(t, 0.5)))


# The values at x = 1 and x = -1, from the degree n (torch's special cases, which the recurrence also gives).
def _ends_t(n: Node, odd: Node) -> tuple[Node, Node]:
    one = _full(1, n)
    return one, _signed(odd, one)


def _ends_u(n: Node, odd: Node) -> tuple[Node, Node]:
    size = ops.add(n, _c(1, n))
    return size, _signed(odd, size)


def _ends_v(n: Node, odd: Node) -> tuple[Node, Node]:
    return _full(1, n), _signed(odd, ops.add(_twice(n), _c(1, n)))


def _ends_w(n: Node, odd: Node) -> tuple[Node, Node]:
    return ops.add(_twice(n), _c(1, n)), _signed(odd, _full(1, n))


class Family(NamedTuple):
    """One polynomial family: its degree-1 value, its recurrence, and torch's shortcuts."""

    first: Callable[[Node], Node]
    step: Step
    ends: Callable[[Node, Node], tuple[Node, Node]] | None = None  # values at x = 1 and -1
    closed: Callable[[Node, Node, Node], Node] | None = None  # the form inside (-1, 1) ...
    closed_above: int = 0  # ... used above this degree
    one_at_origin: bool = False  # Laguerre's value at 0 is 1 whatever the degree


_FAMILIES = {
    "chebyshev_polynomial_t": Family(lambda x: x, _chebyshev_step, _ends_t, _cos_form, 6),
    "chebyshev_polynomial_u": Family(_twice, _chebyshev_step, _ends_u, _u_form, 8),
    "chebyshev_polynomial_v": Family(lambda x: _sub(_twice(x), _c(1, x)), _chebyshev_step, _ends_v, _v_form, 8),
    "chebyshev_polynomial_w": Family(lambda x: ops.add(_twice(x), _c(1, x)), _chebyshev_step, _ends_w, _w_form, 8),
    "hermite_polynomial_h": Family(_twice, _hermite_step),
    "hermite_polynomial_he": Family(lambda x: x, _hermite_e_step),
    "laguerre_polynomial_l": Family(lambda x: _sub(_c(1, x), x), _laguerre_step, one_at_origin=True),
    "legendre_polynomial_p": Family(lambda x: x, _legendre_step, _ends_t),
}
# Hermite's degrees above which torch gives NaN, per dtype it computes in (torch has no 16-bit kernels).
_HERMITE_LIMIT = {dtypes.float32: 128, dtypes.float64: 512}
_SHIFTED_CLOSED_ABOVE = 6  # torch's shifted kinds all take their closed forms above degree 6
_MAX_DEGREE = 4096  # the recurrence's steps become graph nodes: a bound on the graph a call builds


def _degree(n: Node) -> Node:
    """n (already in the result's float dtype) truncated to an integer; -1 (a zero polynomial) where n is not
    finite, as torch's cast to int64 gives a negative number there."""
    finite = _b("lt", _u("abs", n), _c(math.inf, n))
    return ops.select(finite, _trunc(n), _full(-1, n))


def _highest_degree(n: Any) -> int:
    """The largest finite degree in ``n``: how far the recurrence is unrolled."""
    if isinstance(n, Tensor):
        if n.numel() == 0:
            return 0
        finite = n[n.isfinite()] if n.dtype.is_floating_point else n
        return int(finite.max().item()) if finite.numel() else 0
    return int(n) if math.isfinite(n) else 0


def _unrolled_degree(n: Any, name: str) -> int:
    top = _highest_degree(n)
    if name.startswith("hermite"):  # above torch's limit the result is NaN: no steps needed
        top = min(top, max(_HERMITE_LIMIT.values()) + 1)
    if top > _MAX_DEGREE:
        raise NotImplementedError(f"{name}: degrees above {_MAX_DEGREE} are not supported (the recurrence is "
                                  f"unrolled into the graph), got {top}")
    return top


def _evaluate(family: Family, x: Node, n: Node, top: int, name: str, dtype: dtypes.DType) -> Node:
    """The polynomial at float64 ``x`` for the truncated degrees ``n``, the recurrence unrolled ``top`` steps;
    ``dtype`` is the result's, whose Hermite limit applies."""
    shape = _b("add", x, n).shape
    x, n = ops.broadcast_to(x, shape), ops.broadcast_to(n, shape)
    p, q = _full(1, x), family.first(x)
    out = ops.select(_b("eq", n, _c(0, n)), p, q)
    for k in range(1, top):
        p, q = q, family.step(k, x, p, q)
        out = ops.select(_b("eq", n, _c(k + 1, n)), q, out)
    if family.closed is not None:
        above = _SHIFTED_CLOSED_ABOVE if name.startswith("shifted_") else family.closed_above
        inside = _b("and", _b("lt", _u("abs", x), _c(1, x)), _b("gt", n, _c(above, n)))
        safe = ops.select(inside, x, _full(0, x))
        out = ops.select(inside, family.closed(_acos(safe), n, safe), out)
    if family.ends is not None:
        at_one, at_minus_one = family.ends(n, _odd(n))
        out = ops.select(_b("eq", x, _c(1, x)), at_one, ops.select(_b("eq", x, _c(-1, x)), at_minus_one, out))
    if family.one_at_origin:
        out = ops.select(_b("eq", x, _c(0, x)), _full(1, x), out)
    if name.startswith("hermite"):
        limit = _HERMITE_LIMIT[dtype]
        out = ops.select(_b("gt", n, _c(limit, n)), _full(math.nan, x), out)
    return ops.select(_b("lt", n, _c(0, n)), _full(0, x), out)


def _polynomial(name: str) -> Callable[..., Tensor]:
    shifted = name.startswith("shifted_")
    family = _FAMILIES[name.removeprefix("shifted_")]

    def polynomial(input: Any, n: Any) -> Tensor:
        x, degree, _ = _pair(input, n, True)
        dtype = x.dtype
        if dtype not in _HERMITE_LIMIT:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_torch_type_name(dtype)}'")
        x, degree = ops.cast(x, dtypes.float64), ops.cast(degree, dtypes.float64)
        if shifted:  # P*(x) = P(2x - 1), with torch's 2x - 1 written x + x - 1
            x = _sub(_twice(x), _c(1, x))
        out = _evaluate(family, x, _degree(degree), _unrolled_degree(n, name), name, dtype)
        return _wrap(ops.cast(out, dtype))

    polynomial.__name__ = polynomial.__qualname__ = name
    polynomial.__doc__ = f"The {name.replace('_', ' ')} of degree ``n`` at ``input`` (not differentiable)."
    return polynomial


FUNCTIONS = {name: _polynomial(name) for name in (*_FAMILIES, *(f"shifted_{name}" for name in _FAMILIES
                                                                   if name.startswith("chebyshev")))}
