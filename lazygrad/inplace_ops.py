"""In-place forms of the elementwise ops (``x.abs_()``, ``x.eq_(y)``, ...), the in-place shape changes
(``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``), and small conversions (``type_as``, ``byte``,
``char``, ``short``, ``ndimension``, ``sum_to_size``, ``nan_to_num``).

An elementwise in-place op computes its out-of-place form and writes it back with ``Tensor._inplace``,
so the tensor takes the result's history and every tensor sharing its memory sees the write. A shape
change in place makes the tensor the view its out-of-place form returns: same memory, new shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dtypes, ops
from .arithmetic import ElementwiseMethods
from .ir import Node
from .math_ops import cumprod
from .reshaping import ShapeMethods
from .tensor import _C10_NAMES, Tensor, _rebound, _record, _sizes, _torch_type_name, attach
from .type_info import finfo

# The unary methods whose in-place form is "compute, then write back": ``x.<name>_()``.
_UNARY = (
    "abs", "absolute", "ceil", "floor", "trunc", "fix", "log", "relu", "sigmoid", "tanh", "square", "sin", "cos",
    "tan", "erf", "reciprocal", "rsqrt", "exp2", "log2", "log10", "log1p", "expm1", "sinh", "cosh", "asin", "acos",
    "atan", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "sign",
    "logical_not", "erfc", "erfinv", "lgamma", "digamma", "frac", "sgn", "deg2rad", "rad2deg", "sinc", "negative",
)
# The binary methods whose in-place form takes the other operand: ``x.<name>_(other)``.
_BINARY = ("floor_divide", "remainder", "fmod", "atan2", "hypot", "logical_and", "logical_or", "logical_xor", "xlogy",
           "copysign")
# Comparisons written in place: the 0/1 result in the tensor's own dtype; torch's record names by method.
_COMPARISONS = {"eq": "Eq", "ne": "Ne", "lt": "Lt", "le": "Le", "gt": "Gt", "ge": "Ge", "greater": "Gt",
                "greater_equal": "Ge", "less": "Lt", "less_equal": "Le", "not_equal": "Ne"}


def _unary_inplace(name: str) -> Callable[[Tensor], Tensor]:
    def method(self: Tensor) -> Tensor:
        return self._inplace(getattr(Tensor, name))

    method.__name__, method.__qualname__ = f"{name}_", f"Tensor.{name}_"
    return method


def _binary_inplace(name: str) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        return self._inplace(getattr(Tensor, name), other)

    method.__name__, method.__qualname__ = f"{name}_", f"Tensor.{name}_"
    return method


def _comparison_inplace(name: str, record: str) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        """The comparison written as 0/1 in the tensor's dtype; no gradient flows back through it."""
        self._check_inplace()
        result = getattr(Tensor, name)(self, other)
        node = ops.cast(result.node, self.dtype)
        if isinstance(other, Tensor):
            return self._assign(_record(f"{record}Backward1", node, self, other))
        return self._assign(_record(f"{record}Backward0", node, self))

    method.__name__, method.__qualname__ = f"{name}_", f"Tensor.{name}_"
    return method


def _own_memory(self: Tensor) -> None:
    """Refuse a shape change in place where the other tensors sharing this one's memory would need it too."""
    view = self._view
    if view is None or view.base is not None:
        return
    others = [t for r in view.storage.readers if (t := r()) is not None and t is not self]
    if view.steps or others or view.storage.host is not None:
        raise NotImplementedError("changing the shape in place of a tensor whose memory other tensors or arrays "
                                  "share is not supported; use the out-of-place op instead")
    self._view = None


def _reshape_inplace(self: Tensor, grad_fn: str, view_op: Callable[..., Tensor], *args: Any) -> Tensor:
    """Make ``self`` the view ``view_op(self, *args)`` returns: its node, its place in memory, a record of torch's
    in-place name."""
    self._check_inplace()
    _own_memory(self)
    shared = self._view is not None
    # Built with autograd on: where the op changes nothing its node is still a new one connected to self's (a
    # no-grad identity would be a fresh node, cut from the history).
    out = view_op(self, *args)
    record = _record(grad_fn, out.node, self)
    self._view = out._view if shared else None
    self.node = record.node
    if record.grad_fn is not None:
        self.grad_fn = record.grad_fn
    _rebound(self)
    return self


def _check_same_dtype(self: Tensor, dtype: Any) -> None:
    """A running sum or product in place accumulates in the tensor's own dtype only."""
    if dtype is not None and dtypes.to_dtype(dtype) is not self.dtype:
        raise RuntimeError(f"Bad in-place call: input tensor dtype {_C10_NAMES[self.dtype.name]} and output tensor "
                           f"dtype {_C10_NAMES[dtypes.to_dtype(dtype).name]} should match")


def _replaced(x: Node, value: float, where: Node) -> Node:
    return ops.select(where, ops.broadcast_to(ops.scalar(value, x.dtype), x.shape), x)


class InplaceMethods:
    """The in-place and conversion Tensor methods (attached to Tensor below)."""

    clip_ = ElementwiseMethods.clamp_

    def round_(self, *, decimals: int = 0) -> Tensor:
        return self._inplace(Tensor.round, decimals=decimals)

    def logit_(self, eps: float | None = None) -> Tensor:
        return self._inplace(Tensor.logit, eps)

    def heaviside_(self, values: Tensor) -> Tensor:
        return self._inplace(Tensor.heaviside, values)

    def float_power_(self, exponent: Any) -> Tensor:
        if self.dtype is not dtypes.float64:
            raise RuntimeError(f"the base given to float_power_ has dtype {_torch_type_name(self.dtype)} but the "
                               "operation's result requires dtype Double")
        return self._inplace(Tensor.float_power, exponent)

    def cumsum_(self, dim: int, *, dtype: Any = None) -> Tensor:
        _check_same_dtype(self, dtype)
        return self._inplace(Tensor.cumsum, dim)

    def cumprod_(self, dim: int, *, dtype: Any = None) -> Tensor:
        _check_same_dtype(self, dtype)
        return self._inplace(cumprod, dim)

    # ---- shape changes in place ----
    def unsqueeze_(self, dim: int) -> Tensor:
        return _reshape_inplace(self, "UnsqueezeBackward1", ShapeMethods.unsqueeze, dim)

    def squeeze_(self, dim: Any = None, *dims: int) -> Tensor:
        if dims or isinstance(dim, (tuple, list)):
            return _reshape_inplace(self, "SqueezeBackward5", ShapeMethods.squeeze, dim, *dims)
        grad_fn = "SqueezeBackward3" if dim is None else "SqueezeBackward4"
        return _reshape_inplace(self, grad_fn, ShapeMethods.squeeze, dim)

    def t_(self) -> Tensor:
        return _reshape_inplace(self, "TBackward1", ShapeMethods.t)

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return _reshape_inplace(self, "TransposeBackward1", ShapeMethods.transpose, dim0, dim1)

    swapdims_ = transpose_

    def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose_(axis0, axis1)

    # ---- conversions ----
    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def byte(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.uint8)

    def char(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.int8)

    def short(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.int16)

    def ndimension(self) -> int:
        return self.ndim

    def sum_to_size(self, *size: Any) -> Tensor:
        """Sum the broadcast dims away so that ``size`` expands back to this tensor's shape (the gradient of an
        expand)."""
        shape = _sizes(size)
        lead = self.ndim - len(shape)
        if lead < 0 or any(s != 1 and s != d for s, d in zip(shape, self.node.shape[lead:])):
            raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(self.shape)}}}.")
        if shape == self.node.shape:
            return self
        kept = (1,) * lead + shape  # summed with the dims kept, then the leading ones viewed away, as torch
        summed = self if kept == self.node.shape else _record("SumBackward1", ops.sum_to(self.node, kept), self)
        return summed.view(shape) if lead else summed

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the dtype's largest and
        smallest finite numbers); integer tensors come back as a copy."""
        x = self.node
        if not self.dtype.is_floating_point:
            return _record("NanToNumBackward0", x, self)
        limits = finfo(self.dtype)
        inf = ops.const(float("inf"), x.dtype)
        x = _replaced(x, nan, ops.binary("ne", x, x))
        x = _replaced(x, limits.max if posinf is None else posinf, ops.binary("eq", x, inf))
        x = _replaced(x, limits.min if neginf is None else neginf, ops.binary("eq", x, ops.neg(inf)))
        return _record("NanToNumBackward0", x, self)

    def nan_to_num_(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        return self._inplace(Tensor.nan_to_num, nan, posinf, neginf)


attach(InplaceMethods)
for _name in _UNARY:
    setattr(Tensor, f"{_name}_", _unary_inplace(_name))
for _name in _BINARY:
    setattr(Tensor, f"{_name}_", _binary_inplace(_name))
for _name, _record_name in _COMPARISONS.items():
    setattr(Tensor, f"{_name}_", _comparison_inplace(_name, _record_name))
del _name, _record_name

# torch.<name> for each: nan_to_num, and the in-place methods torch also offers as functions (torch.relu_(x)).
_INPLACE_FUNCTIONS = (
    "abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_",
    "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_",
    "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "log10_", "log1p_",
    "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_",
    "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_",
    "zero_",
)
FUNCTIONS = {"nan_to_num": Tensor.nan_to_num, **{name: getattr(Tensor, name) for name in _INPLACE_FUNCTIONS}}
TAKES_OUT = {"nan_to_num"}
