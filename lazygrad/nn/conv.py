"""Convolution and pooling layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` (and their ``Lazy`` forms),
``MaxPool2d`` and ``AvgPool2d``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init, transposed
from .layers import add_weight_and_bias
from .module import Module
from .parameter import UninitializedParameter


def _ntuple(value: Any, n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _pad_widths(padding: tuple[int, ...] | str, kernel_size: tuple[int, ...],
                dilation: tuple[int, ...]) -> Sequence[int]:
    """``F.pad``'s widths (last dimension first, low then high) that a non-zero ``padding_mode`` pads the input
    with before an unpadded convolution (a list for a padding string, a tuple for numbers, as torch keeps them);
    ``'same'`` puts the odd unit of padding on the high side, as torch does."""
    if padding == "valid":
        return [0, 0] * len(kernel_size)
    if padding == "same":
        totals = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
        return [w for total in reversed(totals) for w in (total // 2, total - total // 2)]
    return tuple(w for p in reversed(padding) for w in (p, p))


class _ConvNd(Module):
    """Weight (out, in/groups, *kernel), or (in, out/groups, *kernel) when transposed, and bias, initialized
    exactly like torch's (lazily)."""

    n = 0
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, but got padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, self.n)
        self.stride = _ntuple(stride, self.n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, self.n)
        self.dilation = _ntuple(dilation, self.n)
        self.output_padding = (0,) * self.n
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _pad_widths(self.padding, self.kernel_size, self.dilation)
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        add_weight_and_bias(self, (*shape, *self.kernel_size), bias, dtype, out_channels)

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.n - 1]
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    n = 1


class Conv2d(_ConvNd):
    n = 2


class Conv3d(_ConvNd):
    n = 3


class _ConvTransposeNd(_ConvNd):
    """The transpose (gradient) of a convolution: upsamples by ``stride``; ``output_padding`` or the
    ``output_size`` given to ``forward`` picks among the sizes that a strided convolution maps back."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.output_padding = _ntuple(output_padding, self.n)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        extra = self.output_padding
        if output_size is not None:
            extra = transposed.output_padding(tuple(input.shape[-self.n:]), output_size, self.stride, self.padding,
                                              self.kernel_size, self.dilation)
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.n - 1]
        return conv(input, self.weight, self.bias, self.stride, self.padding, extra, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    n = 1


class ConvTranspose2d(_ConvTransposeNd):
    n = 2


class ConvTranspose3d(_ConvTransposeNd):
    n = 3


class _LazyConvNd(_ConvNd):
    """A convolution whose ``in_channels`` comes from its first input: until then ``weight`` and ``bias`` are
    placeholders; the first call creates and initializes them (drawing what torch draws) and the module becomes
    its eager class."""

    cls_to_become: type[_ConvNd]

    def _placeholders(self, out_channels: int, bias: bool, dtype: Any) -> None:
        self.out_channels = out_channels
        self.weight = UninitializedParameter(empty(0, dtype=dtype))
        self.register_parameter("bias", UninitializedParameter(empty(0, dtype=dtype)) if bias else None)

    def reset_parameters(self) -> None:
        if self.in_channels != 0 and not isinstance(self.weight, UninitializedParameter):
            super().reset_parameters()

    def forward(self, input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if isinstance(self.weight, UninitializedParameter):  # not loaded from a state dict
            self._materialize(input)
        self.__class__ = self.cls_to_become  # type: ignore[assignment]
        return self.forward(input, *args, **kwargs)

    def _materialize(self, input: Tensor) -> None:
        batched = self.n + 2
        if input.ndim not in (batched - 1, batched):
            raise RuntimeError(f"Expected {batched - 1}D (unbatched) or {batched}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        self.in_channels = input.shape[1 if input.ndim == batched else 0]
        if self.in_channels % self.groups:
            raise ValueError("in_channels must be divisible by groups")
        per_group = (self.in_channels, self.out_channels // self.groups) if self.transposed else (
            self.out_channels, self.in_channels // self.groups)
        # the placeholders' dtype: ``dtype=``, or what ``.to()`` made of it since
        add_weight_and_bias(self, (*per_group, *self.kernel_size), self.bias is not None, self.weight.dtype,
                            self.out_channels)


class _LazyConvForward(_LazyConvNd):
    """``LazyConv1d/2d/3d``: a ``Conv`` without ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype)
        self._placeholders(out_channels, bias, dtype)


class _LazyConvTransposed(_LazyConvNd, _ConvTransposeNd):
    """``LazyConvTranspose1d/2d/3d``: a ``ConvTranspose`` without ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device, dtype)
        self._placeholders(out_channels, bias, dtype)


class LazyConv1d(_LazyConvForward, Conv1d):
    cls_to_become = Conv1d


class LazyConv2d(_LazyConvForward, Conv2d):
    cls_to_become = Conv2d


class LazyConv3d(_LazyConvForward, Conv3d):
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposed, ConvTranspose1d):
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposed, ConvTranspose2d):
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposed, ConvTranspose3d):
    cls_to_become = ConvTranspose3d


class MaxPoolNd(Module):
    """The max pools of every dimension: the same arguments and repr, each with its functional form."""

    pool: Any

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Any:
        return type(self).pool(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                               self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(MaxPoolNd):
    pool = staticmethod(F.max_pool2d)


class AvgPoolNd(Module):
    """The 2-D and 3-D average pools: the same arguments and repr, each with its functional form."""

    pool: Any

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return type(self).pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                               self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(AvgPoolNd):
    pool = staticmethod(F.avg_pool2d)
