"""The Dirichlet distribution over the simplex. Draws are torch's ``_sample_dirichlet``: double-precision gamma
draws from the same random stream, normalized (``RandomStream.dirichlet``).

A draw is differentiated in ``concentration`` implicitly, as torch does: each coordinate is a Beta(alpha,
total - alpha) draw, whose reparameterized gradient ``dirichlet_grad`` approximates with torch's four regimes
(series near 0 and near 1, a saddle-point expansion for large concentrations, a rational correction elsewhere).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..arithmetic import where
from ..autograd.function import BackwardCFunction, Function
from ..creation import drawn
from ..nn import functional as F
from ..tensor import Size, Tensor
from . import constraints
from .exp_family import ExponentialFamily
from .utils import EMPTY_SIZE

__all__ = ["Dirichlet"]


class _SampleDirichlet(Function):
    """One Dirichlet draw per vector of the last axis, as torch's ``_sample_dirichlet`` makes it."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor) -> Tensor:
        alpha = concentration.detach().numpy()
        x = drawn(lambda stream: stream.dirichlet(alpha))
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        x, concentration = ctx.saved_tensors
        alpha = concentration.detach()
        total = alpha.sum(-1, True).expand_as(alpha)
        # torch evaluates the approximation in double precision whatever the dtype
        scaled = dirichlet_grad(x.double(), alpha.double(), total.double()).to(x.dtype)
        return scaled * (grad - (x * grad).sum(-1, True))


_SampleDirichlet._backward_cls = type("_DirichletBackward", (BackwardCFunction,), {"function": _SampleDirichlet})


def sample_dirichlet(concentration: Tensor) -> Tensor:
    return _SampleDirichlet.apply(concentration)


def dirichlet_grad(x: Tensor, alpha: Tensor, total: Tensor) -> Tensor:
    """``-(dF/dalpha) / f / (1 - x)`` for a Beta(alpha, total - alpha) draw ``x`` with cdf ``F`` and density ``f``."""
    beta = total - alpha
    boundary = total * x * (1 - x)
    rest = where((alpha > 6) & (beta > 6), _beta_grad_alpha_mid(x, alpha, beta), _rational_grad(x, alpha, total))
    near_one = where((x >= 0.5) & (boundary < 0.75), -_beta_grad_beta_small(1 - x, beta, alpha), rest)
    return where((x <= 0.5) & (boundary < 2.5), _beta_grad_alpha_small(x, alpha, beta), near_one)


def _beta_grad_alpha_small(x: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """Taylor expansion for ``x`` near 0 (11 terms)."""
    digammas = alpha.digamma() - (alpha + beta).digamma() - x.log()
    term = x.new_ones(())
    expansion = term / alpha * (digammas + 1 / alpha)
    for i in range(1, 11):
        term = term * ((i - beta) * x / i)
        shift = alpha + i
        expansion = expansion + term / shift * (digammas + 1 / shift)
    result = x * (1 - x).pow(-beta) * expansion
    return where(result.isnan(), 0.0, result)


def _beta_grad_beta_small(x: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """The gradient in ``beta`` by a Taylor expansion for ``x`` near 0 (9 terms); used mirrored for ``x`` near 1."""
    digammas = (alpha + beta).digamma() - beta.digamma()
    term, falling, falling_slope = x.new_ones(()), x.new_ones(()), x.new_zeros(())
    expansion = digammas / alpha
    for i in range(1, 9):
        term = term * (-x / i)
        falling_slope = falling_slope * (beta - i) + falling
        falling = falling * (beta - i)
        expansion = expansion + term / (alpha + i) * (falling_slope + digammas * falling)
    result = -(1 - x).pow(1 - beta) * expansion
    return where(result.isnan(), 0.0, result)


def _beta_grad_alpha_mid(x: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """Rice saddle-point expansion for large ``alpha`` and ``beta`` (a polynomial right at the mean)."""
    total = alpha + beta
    mean = alpha / total
    std = (alpha * beta / (total + 1)).sqrt() / total
    beta2 = beta * beta
    polynomial = 47 * x * beta2 * beta2 + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * beta2 * beta
        + alpha
        * (
            3 * (59 + 180 * beta - 90 * x) * beta2
            + alpha * ((453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (8 * (1 - x) * (135 * beta - 11)))
        )
    )
    lead = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    scale = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    at_mean = lead / (1 - x) * polynomial / scale
    outer = -x / (2 * alpha * beta / total).sqrt()
    stirling_factor = (
        (1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
        * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
        / (1 + 1 / (12 * total) + 1 / (288 * total * total))
    )
    offset = alpha * (x - 1) + beta * x
    curvature = (2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * beta2) / (
        (2 * alpha / beta).sqrt() * total.pow(1.5) * offset * offset
    )
    half_log = 0.5 * (alpha / (total * x)).log()
    reciprocal = (8 * alpha * beta / total).sqrt() / (beta * x + alpha * (x - 1))
    tail = (beta * (beta / (total * (1 - x))).log() + alpha * (alpha / (total * x)).log()).pow(-1.5)
    away = stirling_factor * outer * (curvature + half_log * (reciprocal + where(x < mean, tail, -tail)))
    return where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), at_mean, away)


# torch's rational correction: numerator (0) and denominator (1) coefficients, indexed by the powers of
# log(x) and of log(alpha / x), each a cubic in log(total) - log(alpha / x)
_RATIONAL = (
    (
        (
            (1.003668233, -0.01061107488, -0.0657888334, 0.01201642863),
            (0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033),
            (-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013),
        ),
        (
            (0.221950385, -0.3187676331, 0.01799915743, 0.01074823814),
            (-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057),
            (0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05),
        ),
        (
            (-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565),
            (0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181),
            (0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05),
        ),
    ),
    (
        (
            (1, -0.02924021934, -0.04438342661, 0.007285809825),
            (0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521),
            (-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149),
        ),
        (
            (0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273),
            (0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956),
            (-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05),
        ),
        (
            (0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05),
            (0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05),
            (-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06),
        ),
    ),
)


def _rational_grad(x: Tensor, alpha: Tensor, total: Tensor) -> Tensor:
    u = x.log()
    a = alpha.log() - u
    b = total.log() - a
    u_powers, a_powers = (1.0, u, u * u), (1.0, a, a * a)
    p = q = 0.0
    for i in range(3):
        for j in range(3):
            weight = u_powers[i] * a_powers[j]
            top, bottom = _RATIONAL[0][i][j], _RATIONAL[1][i][j]
            p = p + weight * (top[0] + b * (top[1] + b * (top[2] + b * top[3])))
            q = q + weight * (bottom[0] + b * (bottom[1] + b * (bottom[2] + b * bottom[3])))
    return p / q * (x * (total.digamma() - alpha.digamma()) / (total - alpha))


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution with concentrations along the last axis of ``concentration``."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.independent(constraints.positive, 1)
    }
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        return self._expanded(new, batch_shape, self.event_shape)

    def rsample(self, sample_shape: Any = EMPTY_SIZE) -> Tensor:
        return sample_dirichlet(self.concentration.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return (c - 1.0).xlogy(value).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        """The normalized ``concentration - 1``; a vector whose concentrations are all below 1 peaks at a corner."""
        excess = (self.concentration - 1).clamp(min=0.0)
        mode = excess / excess.sum(-1, True)
        corner = F.one_hot(mode.argmax(dim=-1), excess.shape[-1]).to(mode)
        return where((self.concentration < 1).all(dim=-1, keepdim=True), corner, mode)

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        total = c.sum(-1, True)
        return c * (total - c) / (total.pow(2) * (total + 1))

    def entropy(self) -> Tensor:
        c = self.concentration
        k, total = c.shape[-1], c.sum(-1)
        return c.lgamma().sum(-1) - total.lgamma() - (k - total) * total.digamma() - ((c - 1.0) * c.digamma()).sum(-1)

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()
