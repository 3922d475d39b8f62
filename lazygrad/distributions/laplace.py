"""The Laplace distribution, drawn as torch draws it: ``loc - scale * sign(u) * log1p(-|u|)`` for ``u`` uniform
on ``[eps - 1, 1)``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from ..type_info import finfo
from .distribution import Distribution
from .location_scale import LocationScale
from .utils import EMPTY_SIZE

__all__ = ["Laplace"]


class Laplace(LocationScale, Distribution):
    """Laplace distribution with location ``loc`` and scale ``scale``."""


    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return (2**0.5) * self.scale

    def rsample(self, sample_shape: Any = EMPTY_SIZE) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = self.loc.new_empty(shape).uniform_(finfo(self.loc.dtype).eps - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()
