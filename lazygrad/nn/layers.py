"""Stateless-shape layers: ``Linear`` (and ``LazyLinear``), ``Identity``, ``Flatten`` and the ``Dropout`` family."""

from __future__ import annotations

from typing import Any

from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter, UninitializedParameter


def add_weight_and_bias(layer: Module, weight_shape: tuple[int, ...], bias: bool, dtype: Any,
                        bias_size: int | None = None) -> None:
    """Give ``layer`` a ``weight`` of ``weight_shape`` and, if ``bias``, a bias of ``bias_size`` (by default
    the weight's first axis; else a ``None`` parameter, as torch registers), then initialize both with
    ``layer.reset_parameters()``."""
    layer.weight = Parameter(empty(*weight_shape, dtype=dtype))
    if bias:
        layer.bias = Parameter(empty(weight_shape[0] if bias_size is None else bias_size, dtype=dtype))
    else:
        layer.register_parameter("bias", None)
    layer.reset_parameters()


class Linear(Module):
    """``y = x @ weight.T + bias``, initialized exactly like torch's Linear (lazily)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        add_weight_and_bias(self, (out_features, in_features), bias, dtype)

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """A ``Linear`` whose ``in_features`` comes from its first input: until then ``weight`` and ``bias`` are
    placeholders; the first call creates and initializes them and the module becomes a ``Linear``."""

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self.weight = UninitializedParameter(empty(0, dtype=dtype))
        self.register_parameter("bias", UninitializedParameter(empty(0, dtype=dtype)) if bias else None)

    def reset_parameters(self) -> None:
        if self.in_features != 0:
            super().reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        self.in_features = input.shape[-1]
        if isinstance(self.weight, UninitializedParameter):  # not loaded from a state dict
            # the placeholders' dtype: ``dtype=``, or what ``.to()`` made of it since
            add_weight_and_bias(self, (self.out_features, self.in_features), self.bias is not None,
                                self.weight.dtype)
        self.__class__ = Linear  # type: ignore[assignment]
        return F.linear(input, self.weight, self.bias)


class Identity(Module):
    """Returns its input; accepts and ignores constructor arguments, as torch's does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Active in training mode only; the noise is drawn on the host as torch draws it and enters the program as
    an input, so steps share one program."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) or (C, L) input."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)
