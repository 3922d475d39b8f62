"""Window power-sum modules: ``LPPool1d/2d/3d``, ``LocalResponseNorm`` and its legacy form ``CrossMapLRN2d``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .lp_norm_ops import CrossMapLRN2d as _cross_map_lrn2d
from .lp_norm_ops import local_response_norm, lp_pool1d, lp_pool2d, lp_pool3d
from .module import Module


class _LPPoolNd(Module):
    """The LP pools of every dimension: the same arguments and repr, each with its functional form."""

    pool: Any

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return type(self).pool(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    pool = staticmethod(lp_pool1d)


class LPPool2d(_LPPoolNd):
    pool = staticmethod(lp_pool2d)


class LPPool3d(_LPPoolNd):
    pool = staticmethod(lp_pool3d)


class LocalResponseNorm(Module):
    """Divides each value by a power of the mean square over ``size`` neighbouring channels."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(Module):
    """The legacy form of ``LocalResponseNorm`` for (N, C, H, W), with torch's own windows and gradient."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return _cross_map_lrn2d.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
