"""Reductions as Tensor methods: sums, means, products, extrema and their positions, norms, variances,
``logsumexp``, ``softmax`` and ``cumsum``, attached to Tensor at the bottom."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from . import dtypes, ops, return_types
from .autocast_mode import float32_op
from .dtypes import DType
from .grad_mode import _state as _grad_state
from .ir import Node, apply
from .sorting import take_along
from .tensor import (
    Tensor,
    _dim,
    _dims,
    _float_dtype,
    _record,
    _torch_type_name,
    _wrap,
    attach,
)


def _nonempty(op: str, t: Tensor, dim: int) -> None:
    """torch refuses a max-like reduction over an empty axis, which has no value to return."""
    if t.ndim and t.node.shape[dim] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")


def _extremum_axes(op: str, t: Tensor, dim: int | Sequence[int]) -> tuple[int, ...]:
    """The axes of amax/amin, refused as torch refuses them: it names the first empty one as the user wrote it."""
    axes = _dims(dim, t.ndim)
    given = (dim,) if isinstance(dim, int) else tuple(dim)
    if not given and t.numel() == 0:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    for d in given:
        _nonempty(op, t, d)
    return axes


def _safe_sqrt(x: Node) -> Node:
    """sqrt whose gradient at 0 is 0 (not inf * 0), as torch defines it for a zero norm or deviation."""
    zero = ops.const(0, x.dtype)
    is_zero = apply("eq", (x, zero))
    return ops.select(is_zero, zero, apply("sqrt", (ops.select(is_zero, ops.const(1, x.dtype), x),)))


def _p_norm(x: Node, p: float, axes: tuple[int, ...], keepdim: bool) -> Node:
    """``sum(|x|**p) ** (1/p)``, with torch's gradient 0 where a slope is infinite.

    For p < 1, ``|x|**p`` is vertical at x = 0; for p > 1, the root is vertical at a zero sum. Each is fed a
    safe value there and its result put back by a select, so no 0 * inf reaches the gradient.
    """
    zero, one = ops.const(0, x.dtype), ops.const(1, x.dtype)
    magnitude = apply("abs", (x,))
    if p > 1:
        total = ops.reduce("reduce_sum", apply("pow", (magnitude, ops.const(p, x.dtype))), axes, keepdim)
    else:
        at_zero = apply("eq", (magnitude, zero))
        safe = apply("pow", (ops.select(at_zero, one, magnitude), ops.const(p, x.dtype)))
        powered = ops.select(at_zero, ops.const(0.0 if p > 0 else math.inf, x.dtype), safe)
        return apply("pow", (ops.reduce("reduce_sum", powered, axes, keepdim), ops.const(1 / p, x.dtype)))
    empty = apply("eq", (total, zero))
    root = apply("pow", (ops.select(empty, one, total), ops.const(1 / p, x.dtype)))
    return ops.select(empty, zero, root)


def _nan_poisoned(x: Tensor, op: str, axes: tuple[int, ...]) -> Node:
    """``x`` with every slice whose extremum is NaN made all NaN, when a gradient will flow to ``x``.

    The extremum is the same, and torch's amax/amin gradient follows: a slice holding a NaN gets NaN throughout
    (torch shares the gradient among the elements equal to the result, and no element equals NaN). max() and
    min() over all elements share it among the NaNs instead, the reduction primitives' own rule.
    """
    if not (x.requires_grad and _grad_state.enabled and x.dtype.is_floating_point):
        return x.node
    peak = apply("stop_gradient", (ops.reduce(op, x.node, axes, keepdims=True),))
    spoiled = ops.select(apply("ne", (peak, peak)), ops.const(math.nan, x.dtype), ops.const(1, x.dtype))
    return ops.mul(x.node, apply("stop_gradient", (spoiled,)))


def _widened(x: Tensor) -> Node:
    """``x``'s node in the dtype torch's fused softmax kernels compute in: float32 for 16-bit floats (rounded once
    at the end), the default float for integers."""
    if x.dtype in dtypes.HALF:
        return ops.cast(x.node, dtypes.float32)
    return x.node if x.dtype.is_floating_point else ops.cast(x.node, dtypes.default_float())


_VARIANCE_DTYPE_ERRORS = {"var": "std and var", "std": "std and var", "var_mean": "var_mean", "std_mean": "std_mean"}


def _variance(op: str, x: Tensor, dim: Any, unbiased: bool | None, keepdim: bool, correction: int | None) -> Node:
    """The sum of squared deviations over ``count - correction``, which torch clamps at 0 (with a warning): a
    zero sum then gives NaN (a single element), any other +inf."""
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{_VARIANCE_DTYPE_ERRORS[op]} only support floating point and complex dtypes")
    if isinstance(dim, bool):  # var(unbiased) positional form
        dim, unbiased = None, dim
    ddof = correction if correction is not None else (0 if unbiased is False else 1)
    node = x.node
    axes = _dims(dim, x.ndim)
    count = math.prod(x.node.shape[a] for a in axes)
    mean = ops.div(ops.reduce("reduce_sum", node, axes, keepdims=True), ops.const(count, node.dtype))
    centered = apply("sub", (node, mean))
    total = ops.reduce("reduce_sum", ops.mul(centered, centered), axes, keepdim)
    if count - ddof <= 0:
        warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      "factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return ops.div(total, ops.const(max(count - ddof, 0), node.dtype))


def mean_node(node: Node, axes: tuple[int, ...], keepdim: bool, target: DType) -> Node:
    """The mean of ``node`` over ``axes`` in ``target`` (a float dtype); an empty one is NaN. A 16-bit float's
    float32 sum is divided and then rounded once, as torch does."""
    count = math.prod(node.shape[a] for a in axes)
    wide = dtypes.float32 if target in dtypes.HALF else target
    total = ops.reduce("reduce_sum", ops.cast(node, wide), axes, keepdim)
    return ops.cast(ops.div(total, ops.const(count if count else math.nan, wide)), target)


class ReductionMethods:
    """The reduction Tensor methods (attached to Tensor below)."""

    # ---- reductions ----
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False,
            dtype: DType | None = None) -> Tensor:
        node = self.node
        target = dtype or (self.dtype if self.dtype.is_floating_point else dtypes.int64)
        node = ops.cast(node, target)
        name = "SumBackward0" if dim is None else "SumBackward1"
        return _record(name, ops.reduce("reduce_sum", node, _dims(dim, self.ndim), keepdim), self)

    def nansum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
               dtype: DType | None = None) -> Tensor:
        """``sum`` with every NaN counted as zero (and given no gradient)."""
        node = self.node
        if node.dtype.is_floating_point:
            node = ops.select(apply("ne", (node, node)), ops.const(0, node.dtype), node)
        target = dtype or (self.dtype if self.dtype.is_floating_point else dtypes.int64)
        return _record("NansumBackward0", ops.reduce("reduce_sum", ops.cast(node, target), _dims(dim, self.ndim),
                                                     keepdim), self)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False,
             dtype: DType | None = None) -> Tensor:
        target = dtype or self.dtype
        if not target.is_floating_point:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {_torch_type_name(self.dtype)}")
        node = mean_node(self.node, _dims(dim, self.ndim), keepdim, target)
        return _record("MeanBackward0" if dim is None else "MeanBackward1", node, self)

    @float32_op
    def prod(self, dim: int | None = None, keepdim: bool = False, dtype: DType | None = None) -> Tensor:
        target = dtype or (self.dtype if self.dtype.is_floating_point else dtypes.int64)
        node = ops.reduce("reduce_prod", ops.cast(self.node, target), _dims(dim, self.ndim), keepdim)
        return _record("ProdBackward0" if dim is None else "ProdBackward1", node, self)

    def _extremum(self, op: str, arg_op: str, name: str, dim: int | None, keepdim: bool) -> Any:
        if self.numel() == 0 and dim is None:
            raise RuntimeError(f"{name[:3].lower()}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        if dim is None:
            return _record(name + "Backward1", ops.reduce(op, self.node, range(self.ndim)), self)
        axis = _dim(dim, self.ndim)
        _nonempty(name.lower(), self, axis)
        if self.ndim == 0:
            return getattr(return_types, name.lower())(self.clone(), zeros_like_int(self))
        indices = apply(arg_op, (self.node,), (axis,))
        keep_shape = ops.keep_dims_shape(self.node.shape, (axis,))
        # The values are read at the returned index (a -0.0 extremum stays -0.0, a NaN is the NaN found), so the
        # gradient goes to that element only.
        values = take_along(self.node, axis, ops.reshape(indices, keep_shape))
        if not keepdim:
            values = ops.reshape(values, indices.shape)
        idx = _wrap(ops.reshape(indices, keep_shape) if keepdim else indices)
        return getattr(return_types, name.lower())(_record(name + "Backward0", values, self), idx)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._extremum("reduce_max", "argmax", "Max", dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._extremum("reduce_min", "argmin", "Min", dim, keepdim)

    def amax(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        axes = _extremum_axes("amax", self, dim)
        return _record("AmaxBackward0", ops.reduce("reduce_max", _nan_poisoned(self, "reduce_max", axes), axes,
                                                   keepdim), self)

    def amin(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        axes = _extremum_axes("amin", self, dim)
        return _record("AminBackward0", ops.reduce("reduce_min", _nan_poisoned(self, "reduce_min", axes), axes,
                                                   keepdim), self)

    def _arg(self, op: str, dim: int | None, keepdim: bool) -> Tensor:
        if self.dtype is dtypes.bool_:
            raise RuntimeError(f"{op}(): does not support bool input")
        if dim is None and self.numel() == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        if dim is None:
            flat = ops.reshape(self.node, (self.numel(),))
            node = apply(op, (flat,), (0,))
            return _wrap(ops.reshape(node, (1,) * self.ndim) if keepdim else node)
        axis = _dim(dim, self.ndim)
        _nonempty(op, self, axis)
        if self.ndim == 0:
            return _wrap(ops.const(0, dtypes.int64))
        node = apply(op, (self.node,), (axis,))
        return _wrap(ops.reshape(node, ops.keep_dims_shape(self.node.shape, (axis,))) if keepdim else node)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmin", dim, keepdim)

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        as_int = ops.cast(apply("ne", (self.node, ops.const(0, self.dtype))), dtypes.int64)
        total = ops.reduce("reduce_min", as_int, _dims(dim, self.ndim), keepdim)
        return _wrap(ops.cast(total, dtypes.bool_))

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Whether some element is nonzero (NaN is): a count, which is 0, False, over no elements."""
        as_int = ops.cast(apply("ne", (self.node, ops.const(0, self.dtype))), dtypes.int64)
        total = ops.reduce("reduce_sum", as_int, _dims(dim, self.ndim), keepdim)
        return _wrap(ops.cast(total, dtypes.bool_))

    def norm(self, p: Any = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False,
             dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).norm(p, dim, keepdim)
        if not self.dtype.is_floating_point:
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                               f"{_torch_type_name(self.dtype)}")
        x = self.node
        axes = _dims(dim, self.ndim)
        if p in ("fro", 2, 2.0):
            # torch squares and sums 16-bit floats in float32 and rounds the root once
            wide = _widened(self)
            node = _safe_sqrt(ops.reduce("reduce_sum", ops.mul(wide, wide), axes, keepdim))
            if wide is not x:
                node = ops.cast(node, self.dtype)
        elif p in (math.inf, "inf", -math.inf):
            node = ops.reduce("reduce_max" if p != -math.inf else "reduce_min", apply("abs", (x,)), axes, keepdim)
        elif p == 0:  # the count of nonzero elements: no gradient
            node = ops.reduce("reduce_sum", ops.cast(apply("ne", (x, ops.const(0, x.dtype))), x.dtype), axes, keepdim)
        elif p == 1:
            node = ops.reduce("reduce_sum", apply("abs", (x,)), axes, keepdim)
        else:
            node = _p_norm(x, float(p), axes, keepdim)
        return _record("LinalgVectorNormBackward0", node, self)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        return _record("VarBackward0", _variance("var", self, dim, unbiased, keepdim, correction), self)

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        node = _safe_sqrt(_variance("std", self, dim, unbiased, keepdim, correction))
        return _record("StdBackward0", node, self)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        axes = _dims(dim, self.ndim)
        x = self.node if self.dtype.is_floating_point else ops.cast(self.node, dtypes.default_float())
        peak = ops.reduce("reduce_max", x, axes, keepdims=True)
        # Shift by the (finite) maximum so exp cannot overflow. The shift cancels, so it is not
        # differentiated (as torch's backward, and fewer nodes).
        finite = apply("eq", (apply("abs", (peak,)), ops.const(math.inf, x.dtype)))
        peak = apply("stop_gradient", (ops.select(finite, ops.const(0, x.dtype), peak),))
        shifted = apply("exp", (apply("sub", (x, peak)),))
        node = apply("add", (apply("log", (ops.reduce("reduce_sum", shifted, axes, keepdims=True),)), peak))
        if not keepdim:
            node = ops.reshape(node, tuple(d for i, d in enumerate(self.node.shape) if i not in axes))
        return _record("LogsumexpBackward0", node, self)

    def _shifted_by_max(self, axis: int) -> Node:
        """``x - max(x)`` along ``axis`` in floating point; the shift cancels in softmax, so it has no gradient."""
        x = _widened(self)
        peak = apply("stop_gradient", (ops.reduce("reduce_max", x, (axis,), keepdims=True),))
        return apply("sub", (x, peak))

    def softmax(self, dim: int, dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).softmax(dim)
        axis = _dim(dim, self.ndim)
        e = apply("exp", (self._shifted_by_max(axis),))
        node = ops.div(e, ops.reduce("reduce_sum", e, (axis,), keepdims=True))
        return _record("SoftmaxBackward0", ops.cast(node, _float_dtype(self.dtype)), self)

    def log_softmax(self, dim: int, dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).log_softmax(dim)
        axis = _dim(dim, self.ndim)
        shifted = self._shifted_by_max(axis)
        total = ops.reduce("reduce_sum", apply("exp", (shifted,)), (axis,), keepdims=True)
        node = apply("sub", (shifted, apply("log", (total,))))
        return _record("LogSoftmaxBackward0", ops.cast(node, _float_dtype(self.dtype)), self)

    def cumsum(self, dim: int, *, dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).cumsum(dim)
        node = self.node if self.dtype.is_floating_point else ops.cast(self.node, dtypes.int64)
        return _record("CumsumBackward0", apply("cumsum", (node,), (_dim(dim, self.ndim),)), self)


def zeros_like_int(x: Tensor) -> Tensor:
    return _wrap(ops.full(x.node.shape, 0, dtypes.int64))


attach(ReductionMethods)
