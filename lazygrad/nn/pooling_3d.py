"""Volume pooling (``MaxPool3d``, ``AvgPool3d``) and adaptive max pooling (``AdaptiveMaxPool1d/2d/3d``)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .conv import AvgPoolNd, MaxPoolNd
from .functional_pooling import adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool3d, max_pool3d
from .module import Module


class MaxPool3d(MaxPoolNd):
    pool = staticmethod(max_pool3d)


class AvgPool3d(AvgPoolNd):
    pool = staticmethod(avg_pool3d)


class _AdaptiveMaxPoolNd(Module):
    """The maximum over torch's adaptive bins; ``None`` in ``output_size`` keeps that axis's size."""

    pool: Any

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Tensor:
        return type(self).pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    pool = staticmethod(adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    pool = staticmethod(adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    pool = staticmethod(adaptive_max_pool3d)
