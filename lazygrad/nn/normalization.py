"""Normalization layers: ``LayerNorm``, ``BatchNorm1d/2d/3d`` and ``GroupNorm``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import dtypes
from ..creation import ones, tensor, zeros
from ..grad_mode import no_grad
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class AffineNorm(Module):
    """A norm whose affine parameters start at weight one and bias zero; ``reset_parameters`` restores them
    (drawing nothing, as torch's)."""

    def reset_parameters(self) -> None:
        for name, fill in (("weight", init.ones_), ("bias", init.zeros_)):
            if getattr(self, name, None) is not None:
                fill(getattr(self, name))


class StatisticsNorm(AffineNorm):
    """A norm with running statistics (batch and instance norms): resetting also restarts those."""

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        super().reset_parameters()


class LayerNorm(AffineNorm):
    """Normalizes over the trailing ``normalized_shape`` axes of each sample."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        init_trailing_affine(self, normalized_shape, eps, elementwise_affine, bias, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


def register_affine(module: Module, shape: int | tuple[int, ...], affine: bool, bias: bool | None, dtype: Any) -> None:
    """A norm's ``weight`` of ones (and ``bias`` of zeros) over ``shape``, registered as None without ``affine``
    (or without ``bias``); ``bias=None`` registers no bias at all (RMS norm has none)."""
    module.register_parameter("weight", Parameter(ones(shape, dtype=dtype)) if affine else None)
    if bias is not None:
        module.register_parameter("bias", Parameter(zeros(shape, dtype=dtype)) if affine and bias else None)


def init_trailing_affine(module: Module, normalized_shape: int | Sequence[int], eps: float | None,
                         elementwise_affine: bool, bias: bool | None, dtype: Any) -> None:
    """The state layer and RMS norms share: the normalized trailing shape, ``eps``, and a weight of ones over that
    shape when ``elementwise_affine``; and a bias of zeros (or None) unless ``bias`` is None (RMS norm has none)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    module.normalized_shape = shape
    module.eps = eps
    module.elementwise_affine = elementwise_affine
    register_affine(module, shape, elementwise_affine, bias, dtype)


def init_statistics(module: Module, num_features: int, eps: float, momentum: float | None, affine: bool,
                    track_running_stats: bool, dtype: Any, bias: bool) -> None:
    """The per-channel state batch and instance norms share: their settings, the affine weight and bias (when
    ``affine``), and the running statistics (buffers set to None without ``track_running_stats``, as torch's)."""
    module.num_features = num_features
    module.eps = eps
    module.momentum = momentum
    module.affine = affine
    module.track_running_stats = track_running_stats
    register_affine(module, num_features, affine, bias, dtype)
    if track_running_stats:
        module.register_buffer("running_mean", zeros(num_features, dtype=dtype))
        module.register_buffer("running_var", ones(num_features, dtype=dtype))
        module.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)


class BatchNorm1d(StatisticsNorm):
    """Batch statistics in training (updating the running ones lazily), running statistics in eval.

    With ``momentum=None`` the running statistics are a cumulative average; its factor
    ``1 / num_batches_tracked`` stays a tensor, so unlike torch it costs no host round trip.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        init_statistics(self, num_features, eps, momentum, affine, track_running_stats, dtype, bias)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor: float | Tensor = 0.0 if self.momentum is None else self.momentum
        tracking = self.training and self.track_running_stats
        if tracking and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / self.num_batches_tracked.to(input.dtype)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep_stats = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep_stats else None,
                            self.running_var if keep_stats else None, self.weight, self.bias, use_batch_stats,
                            factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(BatchNorm1d):
    """Per-channel normalization of (N, C, H, W) images: statistics over the batch and both spatial axes."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class BatchNorm3d(BatchNorm1d):
    """Per-channel normalization of (N, C, D, H, W) volumes."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 5:
            raise ValueError(f"expected 5D input (got {input.ndim}D input)")


class GroupNorm(AffineNorm):
    """Normalizes each sample over groups of channels (and all positions), then scales and shifts per channel."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        register_affine(self, num_channels, affine, bias, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
