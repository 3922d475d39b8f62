"""The Cauchy distribution, drawn as torch draws it: ``loc + eps * scale`` for ``eps`` from ``cauchy_()``."""

from __future__ import annotations

import math
from typing import Any

from ..creation import full
from ..tensor import Tensor
from .distribution import Distribution
from .location_scale import LocationScale
from .utils import EMPTY_SIZE

__all__ = ["Cauchy"]


class Cauchy(LocationScale, Distribution):
    """Cauchy (Lorentz) distribution with median ``loc`` and half width ``scale``."""


    @property
    def mean(self) -> Tensor:
        return full(self._extended_shape(), math.nan, dtype=self.loc.dtype)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return full(self._extended_shape(), math.inf, dtype=self.loc.dtype)

    def rsample(self, sample_shape: Any = EMPTY_SIZE) -> Tensor:
        eps = self.loc.new_empty(self._extended_shape(sample_shape)).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()
