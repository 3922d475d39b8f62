"""``InstanceNorm1d/2d/3d`` and ``RMSNorm``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from . import functional as F
from .normalization import AffineNorm, StatisticsNorm, init_statistics, init_trailing_affine


class _InstanceNorm(StatisticsNorm):
    """Per-sample, per-channel statistics; unlike batch norm, no affine parameters or running stats by default."""

    batch_ndim: int  # the input rank with a batch axis; one less is an unbatched input

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        init_statistics(self, num_features, eps, momentum, affine, track_running_stats, dtype, bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (self.batch_ndim - 1, self.batch_ndim):
            raise ValueError(f"expected {self.batch_ndim - 1}D or {self.batch_ndim}D input (got {input.ndim}D input)")
        unbatched = input.ndim == self.batch_ndim - 1
        channels = input.shape[0 if unbatched else 1]
        if channels != self.num_features:  # the affine parameters need it; otherwise num_features is unused
            if self.affine:
                raise ValueError(f"expected input's size at dim={int(not unbatched)} to match num_features "
                                 f"({self.num_features}), but got: {channels}.")
            warnings.warn(f"input's size at dim={int(not unbatched)} does not match num_features. You can silence "
                          "this warning by not passing in num_features, which is not used because affine=False",
                          UserWarning, stacklevel=2)
        out = F.instance_norm(input.unsqueeze(0) if unbatched else input, self.running_mean, self.running_var,
                              self.weight, self.bias, self.training or not self.track_running_stats, self.momentum,
                              self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    batch_ndim = 3


class InstanceNorm2d(_InstanceNorm):
    batch_ndim = 4


class InstanceNorm3d(_InstanceNorm):
    batch_ndim = 5


class RMSNorm(AffineNorm):
    """Scales each sample by the root mean square of its trailing ``normalized_shape`` axes (no centering)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        init_trailing_affine(self, normalized_shape, eps, elementwise_affine, None, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
