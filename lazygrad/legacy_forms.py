"""torch's legacy forms: ``torch.range`` (deprecated, its end included), the ``Tensor.new`` constructor, and
``apply_``/``map_``/``map2_``, which run a host Python function on every element.

The host functions read the tensor's values now (realizing them) and write the results back through the tensor's
storage, so that its views and its base see the new values, as in torch, whatever the graph holds pending.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes
from .creation import _as_tensor, empty, tensor
from .tensor import Size, Tensor, _torch_type_name, attach

_RANGE_WARNING = ("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).")


def range(start: float, end: float, step: float = 1, *, dtype: Any = None, layout: Any = None, device: Any = None,
          pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to and including end (default float dtype), with torch's deprecation warning."""
    warnings.warn(_RANGE_WARNING, UserWarning, stacklevel=3)  # the caller, past torch.range's out= wrapper
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    count = math.floor((end - start) / step) + 1
    values = start + step * np.arange(count, dtype=np.float64)  # torch accumulates in double
    return tensor(values, dtype=dtypes.default_float() if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


def _elementwise(target: Tensor, fn: Callable[..., Any], *others: Tensor) -> Tensor:
    """``fn`` on each element of ``target`` (and the matching elements of ``others``, broadcast to its shape), its
    results written into ``target`` in its dtype, as torch casts them."""
    if target.requires_grad:
        raise RuntimeError("Can't call apply_() on Variable that requires grad. Use var.detach().apply_() instead.")
    columns = [target.detach().numpy().ravel().tolist()]
    columns += [other.detach().expand(target.shape).numpy().ravel().tolist() for other in others]
    results = np.array([fn(*values) for values in zip(*columns)]).reshape(target.shape)
    target._write(_as_tensor(results.astype(target.dtype.np), target.dtype).node, None)
    return target


class LegacyMethods:
    """The legacy Tensor methods (attached to Tensor below)."""

    def new(self, *args: Any, device: Any = None) -> Tensor:
        """torch's legacy constructor: ``new(*sizes)`` or ``new(Size)`` gives an uninitialized tensor of this
        dtype, ``new(data)`` one holding data, ``new(tensor)`` that tensor's memory (its dtype must match)."""
        if all(type(a) is int for a in args) or (len(args) == 1 and isinstance(args[0], Size)):
            sizes = args[0] if args and isinstance(args[0], Size) else args
            return empty(*sizes, dtype=self.dtype, device=device) if sizes else empty(0, dtype=self.dtype)
        (data,) = args
        if isinstance(data, Tensor):
            if data.dtype is not self.dtype:
                raise TypeError(f"expected {_torch_type_name(self.dtype)} tensor (got {_torch_type_name(data.dtype)})")
            return data.detach()
        if isinstance(data, (int, float, bool)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return tensor(data, dtype=self.dtype, device=device)

    def apply_(self, callable: Callable[[Any], Any]) -> Tensor:
        """``callable`` on every element, in place (host Python: the values are read now)."""
        return _elementwise(self, callable)

    def map_(self, other: Tensor, callable: Callable[[Any, Any], Any]) -> Tensor:
        """``callable(self_element, other_element)`` on every element, ``other`` broadcast to self's shape."""
        return _elementwise(self, callable, other)

    def map2_(self, x: Tensor, y: Tensor, callable: Callable[[Any, Any, Any], Any]) -> Tensor:
        return _elementwise(self, callable, x, y)


attach(LegacyMethods)

FUNCTIONS = {"range": range}
TAKES_OUT = {"range"}
