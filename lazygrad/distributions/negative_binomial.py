"""The negative binomial distribution: successes before ``total_count`` failures. Draws are torch's: a Poisson
draw of a gamma-distributed rate (the gamma-Poisson mixture), both through torch's samplers."""

from __future__ import annotations

from typing import Any, ClassVar

from ..grad_mode import no_grad
from ..nn import functional as F
from ..random_ops import poisson
from ..tensor import Size, Tensor
from . import constraints
from .categorical import check_one_parameter
from .distribution import Distribution
from .gamma import Gamma
from .utils import EMPTY_SIZE, BinaryParameters, broadcast_all, lazy_property

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryParameters, Distribution):
    """Number of successes, each with probability ``probs``, before ``total_count`` failures."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self, total_count: Any, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        check_one_parameter(probs, logits)
        if probs is not None:
            total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = total_count.type_as(self.probs)
        else:
            total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> NegativeBinomial:
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = Size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_parameter(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    @lazy_property
    def _gamma(self) -> Gamma:
        return Gamma(concentration=self.total_count, rate=(-self.logits).exp(), validate_args=False)

    def sample(self, sample_shape: Any = EMPTY_SIZE) -> Tensor:
        with no_grad():
            return poisson(self._gamma.sample(sample_shape=sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        count = self.total_count
        log_unnormalized = count * F.logsigmoid(-self.logits) + value * F.logsigmoid(self.logits)
        log_normalization = -(count + value).lgamma() + (1.0 + value).lgamma() + count.lgamma()
        log_normalization = log_normalization.masked_fill(count + value == 0.0, 0.0)
        return log_unnormalized - log_normalization
