"""The trapezoidal rule along a dimension: ``trapezoid``, ``cumulative_trapezoid`` and torch's older ``trapz``.

Each is torch's composition (sums, halves and a product), so values round as torch's do and the result carries
torch's ``grad_fn`` name; gradients reach ``y`` and, when the sample points are a tensor, ``x``.
"""

from __future__ import annotations

from typing import Any

from .creation import zeros
from .tensor import Tensor, _dim, _record


def _spacing(y: Tensor, x: Tensor, dim: int, op: str) -> Tensor:
    """The gaps between sample points, shaped to broadcast against ``y``'s pairs along ``dim``."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point")
        gaps = x.diff()
        return gaps.reshape(*[len(gaps) if d == dim else 1 for d in range(y.ndim)])
    return x.diff(dim=dim)


def _uniform(x: Any, dx: float | None, op: str) -> float:
    """The spacing of points given no ``x``: ``dx``, or 1 (a number ``x`` is not one of torch's forms)."""
    if x is not None:
        raise TypeError(f"{op}(): argument 'x' must be Tensor, not {type(x).__name__}")
    return 1.0 if dx is None else dx


def _pairs(y: Tensor, dim: int) -> Tensor:
    """``y[k + 1] + y[k]`` along ``dim``: each trapezoid's two heights."""
    n = y.shape[dim]
    return y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1)


def trapezoid(y: Tensor, x: Any = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The integral of ``y`` along ``dim`` by the trapezoidal rule: at points ``x`` (a tensor) or ``dx`` apart."""
    dim = _dim(dim, y.ndim)
    spacing = x if isinstance(x, Tensor) else _uniform(x, dx, "trapezoid")
    if y.shape[dim] == 0:
        return zeros(*(s for d, s in enumerate(y.shape) if d != dim), dtype=y.dtype)
    if isinstance(x, Tensor):
        total = (_spacing(y, x, dim, "trapezoid") * _pairs(y, dim)).sum(dim) / 2.0
        return _record("DivBackward1", total.node, y, x)
    ends = y.select(dim, 0) + y.select(dim, -1)
    return _record("MulBackward1", ((y.sum(dim) - ends * 0.5) * spacing).node, y)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """``trapezoid``'s running integral along ``dim``: one value per interval."""
    dim = _dim(dim, y.ndim)
    if isinstance(x, Tensor):
        running = (_spacing(y, x, dim, "cumulative_trapezoid") * _pairs(y, dim)).cumsum(dim) / 2.0
        return _record("DivBackward1", running.node, y, x)
    spacing = _uniform(x, dx, "cumulative_trapezoid")
    return _record("CumsumBackward0", (spacing / 2.0 * _pairs(y, dim)).cumsum(dim).node, y)


def trapz(y: Tensor, x: Any = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """torch's older name of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)
