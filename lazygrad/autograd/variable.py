"""``torch.autograd.Variable``: the pre-0.4 wrapper, kept as an alias so old programs run unchanged.

``Variable(t, requires_grad=True)`` returns a tensor sharing ``t``'s storage, and every tensor counts as
a Variable for ``isinstance``, as in torch.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """Not a class of its own any more: calling it makes a tensor (``volatile`` is accepted and ignored)."""

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return data.detach().requires_grad_(requires_grad)
