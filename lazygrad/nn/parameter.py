"""``nn.Parameter``: a Tensor that a Module registers as trainable state.

A Parameter is a leaf that requires grad. Like every tensor that starts its own autograd identity it
gets its own node (``_fresh``), because the backward pass tells leaves apart by node. It shares the
source tensor's storage, as in torch, without following its history.
"""

from __future__ import annotations

from typing import Any

from ..creation import empty
from ..realization import layouts, track
from ..tensor import Tensor, _alias, _fresh, _new, _wrap


class Parameter(Tensor):
    """A trainable tensor: ``Parameter(data, requires_grad=True)``."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expects a Tensor, got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        param = _new(cls)
        param.node = _fresh(data.node)
        param.grad_fn = None
        param._requires_grad = bool(requires_grad)
        param._grad = None
        param._retains_grad = False
        param._view = None
        if param.node.buffer is None:
            track(param)
        _alias(data, param)
        return param

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        # Everything happens in __new__; Tensor.__init__ would rebuild the value from ``data``.
        pass

    def __repr__(self) -> str:
        if id(self) in layouts:  # a distributed parameter is a DTensor in torch, printed without the header
            return super().__repr__()
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        # A copy is an independent parameter: its own node and storage, its gradient copied too.
        copy = Parameter(_wrap(_fresh(self.node)), self.requires_grad)
        if self.grad is not None:
            copy.grad = _wrap(_fresh(self.grad.node))
        memo[id(self)] = copy
        return copy


class UninitializedParameter(Parameter):
    """The placeholder a lazy module holds until its first call tells it the parameter's shape."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__
