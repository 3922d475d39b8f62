"""``ExponentialFamily``: distributions with density ``exp(<t(x), theta> - F(theta) + k(x))``.

A member gives its natural parameters ``theta`` and log-normalizer ``F``; from them, autograd gives the entropy
and the KL divergence between two members of one family (a Bregman divergence of ``F``), for families without a
closed form of their own.
"""

from __future__ import annotations

from typing import Any

from ..autograd import grad
from ..tensor import Tensor
from .distribution import Distribution
from .utils import sum_rightmost

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A distribution of an exponential family, known by ``_natural_params`` and ``_log_normalizer``."""

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """``F(theta) - <theta, grad F(theta)> - E[k(x)]``."""
        params = [p.detach().requires_grad_() for p in self._natural_params]
        log_normalizer = self._log_normalizer(*params)
        gradients = grad(log_normalizer.sum(), params, create_graph=True)
        result = log_normalizer - self._mean_carrier_measure
        for p, g in zip(params, gradients):
            result = result - (p * g).reshape((*self._batch_shape, -1)).sum(-1)
        return result


def bregman_kl(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """``KL(p || q) = F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)>`` within one family."""
    if type(p) is not type(q):
        raise NotImplementedError(
            "The cross KL-divergence between different exponential families cannot "
            "                            be computed using Bregman divergences"
        )
    p_params = [p_.detach().requires_grad_() for p_ in p._natural_params]
    log_normalizer = p._log_normalizer(*p_params)
    gradients = grad(log_normalizer.sum(), p_params, create_graph=True)
    result = q._log_normalizer(*q._natural_params) - log_normalizer
    for p_param, q_param, g in zip(p_params, q._natural_params, gradients):
        result = result - sum_rightmost((q_param - p_param) * g, len(q.event_shape))
    return result
