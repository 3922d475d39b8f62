"""``LazyBatchNorm1d/2d/3d`` and ``LazyInstanceNorm1d/2d/3d``: ``num_features`` comes from the first input.

Until then the affine parameters are ``UninitializedParameter`` and the running statistics
``UninitializedBuffer`` placeholders. The first call sizes them from ``input.shape[1]`` (as torch does, even for
an unbatched input), initializes them as the eager layer would, and turns the module into its eager class,
which then checks the input and normalizes it.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes
from ..creation import empty, tensor
from ..tensor import Tensor
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, StatisticsNorm, init_statistics
from .normalization_more import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .parameter import Parameter, UninitializedBuffer, UninitializedParameter


class _LazyNorm(StatisticsNorm):
    """A batch or instance norm without ``num_features``; unlike the eager instance norms, the lazy ones
    default to ``affine`` and ``track_running_stats``, as torch's do."""

    cls_to_become: type[Module]

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        Module.__init__(self)
        init_statistics(self, 0, eps, momentum, False, False, dtype, bias)  # every slot registered, as None
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(empty(0, dtype=dtype))
            if bias:
                self.bias = UninitializedParameter(empty(0, dtype=dtype))
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=dtypes.int64)

    def _has_placeholders(self) -> bool:
        state = (*self._parameters.values(), *self._buffers.values())
        return any(isinstance(t, (UninitializedParameter, UninitializedBuffer)) for t in state)

    def reset_parameters(self) -> None:
        if self.num_features != 0 and not self._has_placeholders():
            super().reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        if self._has_placeholders():  # not loaded from a state dict
            self._materialize(input.shape[1])
        self.__class__ = self.cls_to_become  # type: ignore[assignment]
        return self.forward(input)

    def _materialize(self, num_features: int) -> None:
        """Size the placeholders (in the dtype ``dtype=`` or a later ``.to()`` gave them), then initialize them;
        the parameters stay the same objects, so an optimizer built before the first call still holds them."""
        self.num_features = num_features
        for param in self._parameters.values():
            if isinstance(param, UninitializedParameter):
                param.data = empty(num_features, dtype=param.dtype)
                param.__class__ = Parameter
        for name, buffer in self._buffers.items():
            if isinstance(buffer, UninitializedBuffer):
                self._buffers[name] = empty(num_features, dtype=buffer.dtype)
        self.reset_parameters()


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm, BatchNorm2d):
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNorm, BatchNorm3d):
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNorm, InstanceNorm2d):
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNorm, InstanceNorm3d):
    cls_to_become = InstanceNorm3d
