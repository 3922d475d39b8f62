"""``FractionalMaxPool2d/3d``: max pooling at pseudo-random fractional strides, as modules.

A module given ``_random_samples`` keeps them as a buffer and pools the same windows at every call;
otherwise each call draws new ones, as torch's does.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .fractional_pool_ops import fractional_max_pool2d, fractional_max_pool3d
from .module import Module


class _FractionalMaxPoolNd(Module):
    """The settings torch's fractional pools check and keep, their sizes as n-tuples."""

    n: int
    pool: Any

    def __init__(self, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                 return_indices: bool = False, _random_samples: Tensor | None = None) -> None:
        super().__init__()
        self.kernel_size = self._tuple(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = None if output_size is None else self._tuple(output_size)
        self.output_ratio = None if output_ratio is None else self._tuple(output_ratio)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{type(self).__name__} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio[:self.n]):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def _tuple(self, value: Any) -> tuple[Any, ...]:
        return tuple(value) if isinstance(value, (tuple, list)) else (value,) * self.n

    def forward(self, input: Tensor) -> Any:
        return type(self).pool(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                               _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    n = 2
    pool = staticmethod(fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    n = 3
    pool = staticmethod(fractional_max_pool3d)

    def __init__(self, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                 return_indices: bool = False, _random_samples: Tensor | None = None) -> None:
        sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
        if not all(k > 0 for k in sizes):  # torch checks this for the 3-D pool only
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        super().__init__(kernel_size, output_size, output_ratio, return_indices, _random_samples)
