"""One-dimensional and adaptive pooling layers: ``MaxPool1d``, ``AvgPool1d``, ``AdaptiveAvgPool1d/2d/3d``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .conv import MaxPoolNd
from .module import Module


def _single(value: Any) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else tuple(value)


class MaxPool1d(MaxPoolNd):
    pool = staticmethod(F.max_pool1d)


class AvgPool1d(Module):
    """Like torch's, it keeps its sizes as 1-tuples (and prints them so)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPoolNd(Module):
    """Average over torch's adaptive bins: output index ``i`` of ``n`` covers [floor(i*L/n), ceil((i+1)*L/n))."""

    n = 0

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        pool = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[self.n - 1]
        return pool(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    n = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    n = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    n = 3
