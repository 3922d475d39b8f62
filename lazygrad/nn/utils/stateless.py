"""``nn.utils.stateless``: torch 1.x's home of ``functional_call``, deprecated there for ``torch.func``'s."""

from __future__ import annotations

import warnings
from typing import Any

from ... import func
from ...tensor import Tensor
from ..module import Module


def functional_call(module: Module, parameters_and_buffers: dict[str, Tensor], args: Any = None,
                    kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True, strict: bool = False) -> Any:
    """``func.functional_call``, with torch's deprecation warning: call ``module`` with these tensors in place
    of its parameters and buffers, for this call only."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return func.functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)


__all__ = ["functional_call"]
