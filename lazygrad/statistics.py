"""Statistics over tensors: pairwise distances (cdist), covariance and correlation, histograms (histc),
quantiles and runs of equal values (unique_consecutive).

Quantiles sort each line and read the two order statistics around the rank ``q * (n - 1)`` with a
gather, so their gradient reaches exactly the values they read; ``nanquantile`` counts the non-NaN
values of each line in the program, so nothing is read back. ``unique_consecutive`` returns as many
values as there are runs, so it reads its input first, as ``unique`` does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes, ops
from .creation import tensor
from .grad_mode import no_grad
from .ir import Node, apply
from .linalg import _vector_norm
from .sorting import order, take_along
from .tensor import Tensor, _dim, _record, _torch_type_name, _wrap, attach


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` and each row of ``x2`` (batched over leading axes)."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if not x1.dtype.is_floating_point or not x2.dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {_torch_type_name(x1.dtype)}")
    a = ops.reshape(x1.node, (*x1.shape[:-1], 1, x1.shape[-1]))
    b = ops.reshape(x2.node, (*x2.shape[:-2], 1, *x2.shape[-2:]))
    difference = apply("sub", (a, b))
    node = _vector_norm(difference, float(p), (len(difference.shape) - 1,), False)
    return _record("CdistBackward0", node, x1, x2)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in columns), optionally with
    integer frequency weights and float observation weights."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with {input.ndim} "
                           f"dimensions")
    x = input if input.dtype.is_floating_point else input.to(dtypes.default_float())
    x = x.reshape(1, -1) if x.ndim < 2 else x
    weights = None
    if fweights is not None:
        if fweights.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{_torch_type_name(fweights.dtype)} dtype")
        weights = fweights
    if aweights is not None:
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        total = x.shape[1]
        mean = x.mean(1, keepdim=True)
        norm = total - correction
    else:
        weights = weights.to(x.dtype)
        total = weights.sum()
        mean = (x * weights).sum(1, keepdim=True) / total
        norm = total - correction if aweights is None else \
            total - correction * (weights * aweights).sum() / total
    centered = x - mean
    spread = centered * weights if weights is not None else centered
    norm = max(norm, 0) if isinstance(norm, (int, float)) else norm.clamp(min=0)
    return (spread.matmul(centered.T) / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """The Pearson correlation matrix of ``input``'s rows, clipped to [-1, 1] against rounding."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    spread = c.diagonal().sqrt()
    c = c / spread.unsqueeze(1)
    c = c / spread.unsqueeze(0)
    return c.clip(-1, 1)


def histc(input: Tensor, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
    """Counts of ``input``'s values in ``bins`` equal bins over [min, max] (the data's range when both are 0);
    values outside are not counted."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_torch_type_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    x = ops.reshape(apply("stop_gradient", (input.node,)), (input.numel(),))
    dtype = x.dtype
    if min == max and input.numel():  # the data's own range, computed in the program
        low, high = ops.reduce("reduce_min", x, (0,)), ops.reduce("reduce_max", x, (0,))
    else:
        low, high = ops.scalar(min, dtype), ops.scalar(max, dtype)
    same = apply("eq", (low, high))
    low = ops.select(same, apply("sub", (low, ops.const(1, dtype))), low)
    high = ops.select(same, ops.add(high, ops.const(1, dtype)), high)
    position = ops.div(ops.mul(apply("sub", (x, low)), ops.const(bins, dtype)), apply("sub", (high, low)))
    at = ops.cast(apply("floor", (position,)), dtypes.int64)
    at = apply("min", (at, ops.const(bins - 1, dtypes.int64)))  # the top edge belongs to the last bin
    inside = apply("and", (apply("ge", (x, low)), apply("le", (x, high))))
    at = ops.select(inside, at, ops.full(at.shape, bins, dtypes.int64))  # an extra bin, dropped below
    counts = apply("scatter_add", (ops.full(at.shape, 1, dtype), at), (0, bins + 1))
    return _wrap(ops.slice_(counts, (0,), (bins,), (1,)))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name: str, input: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> Tensor:
    if not input.dtype.is_floating_point or input.dtype in dtypes.HALF:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        known = q._value() if q.node.buffer is not None else np.zeros(0)
        q_node, scalar = q.node, q.ndim == 0
    else:
        known, q_node, scalar = np.asarray(q), ops.scalar(q, input.dtype), True
    outside = known[(known < 0) | (known > 1)]
    if outside.size:
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {float(outside.flat[0])}")
    x, axis = (ops.reshape(input.node, (input.numel(),)), 0) if dim is None else (input.node, _dim(dim, input.ndim))
    if not x.shape:
        x = ops.reshape(x, (1,))
    perm = [a for a in range(len(x.shape)) if a != axis] + [axis]
    lines = ops.permute(x, perm)
    node = _order_statistics(lines, ops.reshape(q_node, (math.prod(q_node.shape),)), interpolation, ignore_nan)
    shape = list(node.shape)  # (Q, *lines)
    if keepdim:
        kept = [1] * input.ndim if dim is None else [*input.shape[:axis], 1, *input.shape[axis + 1:]]
        shape = [shape[0], *kept]
    node = ops.reshape(node, tuple(shape[1:] if scalar else shape))
    return _record("SqueezeBackward4", node, input)


def _order_statistics(lines: Node, q: Node, interpolation: str, ignore_nan: bool) -> Node:
    """The ``q`` quantiles of each line (last axis) of ``lines``: shape ``(len(q), *lines.shape[:-1])``."""
    n = lines.shape[-1]
    dtype = lines.dtype
    rest = lines.shape[:-1]
    ranked = take_along(lines, len(rest), order(lines, len(rest)))  # NaN sorts last
    nan = apply("ne", (lines, lines))
    missing = ops.reduce("reduce_sum", ops.cast(nan, dtype), (len(rest),))
    wide = (q.shape[0], *rest)
    if ignore_nan:  # ranks among the values other than NaN; a line of NaNs reads its first NaN
        count = apply("sub", (ops.const(n, dtype), missing))
        span = ops.broadcast_to(apply("max", (apply("sub", (count, ops.const(1, dtype))), ops.const(0, dtype))), wide)
    else:
        span = ops.full(wide, n - 1, dtype)
    rank = ops.mul(ops.broadcast_to(ops.reshape(q, (q.shape[0],) + (1,) * len(rest)), wide), span)
    if not ignore_nan:  # a line with a NaN reads its last value, a NaN, which takes the gradient as in torch
        poisoned = ops.broadcast_to(apply("gt", (missing, ops.const(0, dtype))), wide)
        rank = ops.select(poisoned, ops.full(wide, n - 1, dtype), rank)
    below = apply("floor", (rank,))
    above = apply("ceil", (rank,))
    if interpolation == "nearest":
        below = above = apply("round", (rank,))
    elif interpolation == "lower":
        above = below
    elif interpolation == "higher":
        below = above
    grid = ops.broadcast_to(ops.reshape(ranked, (1, *lines.shape)), (q.shape[0], *lines.shape))
    picks = [ops.reshape(take_along(grid, len(rest) + 1, ops.reshape(ops.cast(r, dtypes.int64), (*wide, 1))), wide)
             for r in (below, above)]
    if interpolation == "linear":
        return ops.add(picks[0], ops.mul(apply("sub", (rank, below)), apply("sub", (picks[1], picks[0]))))
    if interpolation == "midpoint":
        return ops.mul(ops.add(picks[0], picks[1]), ops.const(0.5, dtype))
    return picks[0]


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles of ``input`` (flattened, or each line along ``dim``); NaN where a line has NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` over the non-NaN values of each line (NaN for a line with none)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """The first value (or slice along ``dim``) of every run of equal ones, and optionally, for each element,
    its run's number and each run's length. Realizes ``input``: the result's size depends on it."""
    with no_grad():
        values = input.detach()._value()
    axis = None if dim is None else _dim(dim, input.ndim)
    lines = values.reshape(-1) if axis is None else np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
    if lines.shape[0]:
        changed = np.concatenate([[True], np.any((lines[1:] != lines[:-1]).reshape(lines.shape[0] - 1, -1), 1)])
    else:
        changed = np.zeros(0, dtype=bool)
    starts = np.flatnonzero(changed)
    kept = values.reshape(-1)[starts] if axis is None else np.take(values, starts, axis)
    out = [tensor(kept, dtype=input.dtype)]
    if return_inverse:
        inverse = np.cumsum(changed) - 1
        out.append(tensor(inverse.reshape(values.shape if axis is None else (-1,)).astype(np.int64)))
    if return_counts:
        out.append(tensor(np.diff(np.append(starts, lines.shape[0])).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


class StatisticsMethods:
    """The Tensor methods of the ops above (attached to Tensor below)."""

    def cov(self, *, correction: int = 1, fweights: Tensor | None = None, aweights: Tensor | None = None) -> Tensor:
        return cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self) -> Tensor:
        return corrcoef(self)

    def histc(self, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
        return histc(self, bins, min, max)

    def quantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        return quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        return nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:
        return unique_consecutive(self, return_inverse, return_counts, dim)


attach(StatisticsMethods)
