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
        return _leaf_alias(cls, data, requires_grad)

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


def _leaf_alias(cls: type, data: Tensor, requires_grad: bool) -> Any:
    """A new leaf of class ``cls`` sharing ``data``'s storage, without its history."""
    leaf = _new(cls)
    leaf.node = _fresh(data.node)
    leaf.grad_fn = None
    leaf._requires_grad = bool(requires_grad)
    leaf._grad = None
    leaf._retains_grad = False
    leaf._view = None
    if leaf.node.buffer is None:
        track(leaf)
    _alias(data, leaf)
    return leaf


class Buffer(Tensor):
    """``nn.Buffer(data, persistent=True)``: assigned to a Module's attribute, it becomes a buffer (a
    ``register_buffer`` in one line); ``persistent=False`` keeps it out of ``state_dict``. Like torch's, it is
    ``data`` detached, still requiring grad if ``data`` did."""

    __slots__ = ("persistent",)

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Buffer:
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer expects a Tensor, got {type(data).__name__}")
        buffer = _leaf_alias(cls, data, data.requires_grad)
        buffer.persistent = persistent
        return buffer

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        pass  # everything happens in __new__, as for Parameter


class UninitializedParameter(Parameter):
    """The placeholder a lazy module holds until its first call tells it the parameter's shape."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__


class UninitializedBuffer(Buffer):
    """The placeholder buffer a lazy module holds until its first call tells it the buffer's shape; a dtype
    conversion keeps it a placeholder (of the new dtype), so the shape is still taken from that call."""

    __slots__ = ()

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                persistent: bool = True) -> UninitializedBuffer:
        buffer = _leaf_alias(cls, empty(0, dtype=dtype), requires_grad)
        buffer.persistent = persistent
        return buffer

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                 persistent: bool = True) -> None:
        pass  # everything happens in __new__

    def to(self, *args: Any, **kwargs: Any) -> UninitializedBuffer:
        converted = Tensor.to(self, *args, **kwargs)
        return self if converted is self else UninitializedBuffer(self.requires_grad, dtype=converted.dtype,
                                                                  persistent=self.persistent)

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"

    __str__ = __repr__
