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
from .distribution import Distribution
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
    """Taylor series for ``x`` near 0 (11 terms)."""
    factor = alpha.digamma() - (alpha + beta).digamma() - x.log()
    numer = x.new_ones(())
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    result = x * (1 - x).pow(-beta) * series
    return where(result.isnan(), 0.0, result)


def _beta_grad_beta_small(x: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """The gradient in ``beta`` by a Taylor series for ``x`` near 0 (9 terms); used mirrored for ``x`` near 1."""
    factor = (alpha + beta).digamma() - beta.digamma()
    numer, betas, dbetas = x.new_ones(()), x.new_ones(()), x.new_zeros(())
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    result = -(1 - x).pow(1 - beta) * series
    return where(result.isnan(), 0.0, result)


def _beta_grad_alpha_mid(x: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """Rice saddle-point expansion for large ``alpha`` and ``beta`` (a polynomial right at the mean)."""
    total = alpha + beta
    mean = alpha / total
    std = (alpha * beta / (total + 1)).sqrt() / total
    bb = beta * beta
    poly = 47 * x * bb * bb + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * bb * beta
        + alpha
        * (
            3 * (59 + 180 * beta - 90 * x) * bb
            + alpha * ((453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (8 * (1 - x) * (135 * beta - 11)))
        )
    )
    prefactor_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    prefactor_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    at_mean = prefactor_num / (1 - x) * poly / prefactor_den
    prefactor = -x / (2 * alpha * beta / total).sqrt()
    stirling = (
        (1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
        * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
        / (1 + 1 / (12 * total) + 1 / (288 * total * total))
    )
    axbx = alpha * (x - 1) + beta * x
    term1 = (2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * bb) / (
        (2 * alpha / beta).sqrt() * total.pow(1.5) * axbx * axbx
    )
    term2 = 0.5 * (alpha / (total * x)).log()
    term3 = (8 * alpha * beta / total).sqrt() / (beta * x + alpha * (x - 1))
    term4 = (beta * (beta / (total * (1 - x))).log() + alpha * (alpha / (total * x)).log()).pow(-1.5)
    away = stirling * prefactor * (term1 + term2 * (term3 + where(x < mean, term4, -term4)))
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
    powers_u, powers_a = (1.0, u, u * u), (1.0, a, a * a)
    p = q = 0.0
    for i in range(3):
        for j in range(3):
            ua = powers_u[i] * powers_a[j]
            cp, cq = _RATIONAL[0][i][j], _RATIONAL[1][i][j]
            p = p + ua * (cp[0] + b * (cp[1] + b * (cp[2] + b * cp[3])))
            q = q + ua * (cq[0] + b * (cq[1] + b * (cq[2] + b * cq[3])))
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
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

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
