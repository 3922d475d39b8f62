"""The gamma distribution. Draws are torch's: ``_standard_gamma``'s rejection sampler replayed on the host from
the same random stream (``RandomStream.gamma``), then divided by ``rate``.

A draw is differentiated in ``concentration`` implicitly, as torch does: ``dx/dalpha = -(dF/dalpha) / f`` for
the gamma cdf ``F`` and density ``f`` at the draw, which ``standard_gamma_grad`` approximates with torch's three
regimes (a series for small draws, a saddle-point expansion for large ``alpha``, a rational fit elsewhere).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..arithmetic import where
from ..autograd.function import BackwardCFunction, Function
from ..creation import drawn
from ..tensor import Size, Tensor
from ..type_info import finfo
from . import constraints
from .exp_family import ExponentialFamily
from .utils import EMPTY_SIZE, broadcast_all, is_number

__all__ = ["Gamma"]


class _StandardGamma(Function):
    """Gamma(concentration, 1) draws, one per value, as torch's ``_standard_gamma`` makes them."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor) -> Tensor:
        alpha = concentration.detach().numpy()
        x = drawn(lambda stream: stream.gamma(alpha))
        ctx.save_for_backward(concentration, x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        concentration, x = ctx.saved_tensors
        # torch evaluates the approximation in double precision whatever the dtype
        return grad * standard_gamma_grad(concentration.detach().double(), x.double()).to(x.dtype)


_StandardGamma._backward_cls = type("StandardGammaBackward0", (BackwardCFunction,), {"function": _StandardGamma})


def standard_gamma(concentration: Tensor) -> Tensor:
    return _StandardGamma.apply(concentration)


# torch's bivariate rational fit of the reparameterized gradient in (log(x / alpha), log(alpha)): numerator and
# denominator coefficients (4 each, in powers of log(alpha)), each a quadratic in log(x / alpha)
_RATIONAL_FIT = (
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
    (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
    (
        0.040121004,
        -0.0065914022,
        -0.0026286047,
        -0.0013441777,
        0.017050642,
        -0.0021309326,
        0.00085092367,
        -1.5247877e-07,
    ),
)


def standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """``dx/dalpha`` of a Gamma(alpha, 1) draw ``x`` held at a fixed cdf value."""
    small = _small_draw_grad(alpha, x)
    large = where((0.9 * alpha <= x) & (x <= 1.1 * alpha), _saddle_center_grad(alpha, x), _saddle_grad(alpha, x))
    return where(x < 0.8, small, where(alpha > 8.0, large, _rational_grad(alpha, x)))


def _small_draw_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """Six terms of the series of the lower incomplete gamma function and of its derivative in alpha."""
    term, shift = x.new_ones(()), alpha
    lower, lower_slope = term / shift, term / (shift * shift)
    for i in range(1, 6):
        term = term * (-x / i)
        shift = shift + 1
        lower = lower + term / shift
        lower_slope = lower_slope + term / (shift * shift)
    x_alpha = x.pow(alpha)
    density = x.pow(alpha - 1) * (-x).exp()
    cdf_slope = (x.log() - alpha.digamma()) * (x_alpha * lower) - x_alpha * lower_slope
    result = -cdf_slope / density
    return where(result.isnan(), 0.0, result)


def _saddle_center_grad(alpha: Tensor, x: Tensor) -> Tensor:
    first = 1 + 24 * alpha * (1 + 12 * alpha)
    second = 1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
    return first * second / (1244160 * (alpha * alpha) * (alpha * alpha))


def _saddle_grad(alpha: Tensor, x: Tensor) -> Tensor:
    shift = (8 * alpha).sqrt()
    near = shift / (alpha - x)
    far = (x - alpha - alpha * (x / alpha).log()).pow(-1.5)
    both = where(x < alpha, near - far, near + far)
    slope = (x / alpha).log() * both - (2 / alpha).sqrt() * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling_factor = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    return -stirling_factor * (x * slope) / shift


def _rational_grad(alpha: Tensor, x: Tensor) -> Tensor:
    u, v = (x / alpha).log(), alpha.log()
    c = [_RATIONAL_FIT[0][i] + u * (_RATIONAL_FIT[1][i] + u * _RATIONAL_FIT[2][i]) for i in range(8)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    return (p / q).exp()


class Gamma(ExponentialFamily):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        batch_shape = Size() if is_number(concentration) and is_number(rate) else self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Gamma:
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = Size(batch_shape)
        new.concentration, new.rate = self.concentration.expand(batch_shape), self.rate.expand(batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = EMPTY_SIZE) -> Tensor:
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        value.detach().clamp_(min=finfo(value.dtype).tiny)  # an underflow becomes tiny, outside autograd
        return value

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        c, rate = self.concentration, self.rate
        return c.xlogy(rate) + (c - 1).xlogy(value) - rate * value - c.lgamma()

    def entropy(self) -> Tensor:
        c = self.concentration
        return c - self.rate.log() + c.lgamma() + (1.0 - c) * c.digamma()

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()
