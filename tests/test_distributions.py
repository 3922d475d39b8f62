"""``lazygrad.distributions`` against ``torch.distributions``: the same draws after the same seed, the same
scores, moments and gradients, the same errors and reprs.

Each case is a function ``case(T)`` written once against the torch API; it runs on torch and on lazygrad after
``manual_seed(0)`` and returns named results. Draws (names starting ``sample``) must be equal (on jax, which may
fuse ``loc + eps * scale`` into one rounding, to the last bit); the rest agree to float32 rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import HAS_TORCH, as_numpy

import lazygrad
import lazygrad.distributions as D

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
Case = Callable[[Any], dict[str, Any]]


def run(case: Case, T: Any) -> dict[str, Any]:
    T.manual_seed(0)
    return case(T)


def same_as_torch(case: Case, rtol: float = 1e-6, atol: float = 1e-6, exact: bool = True) -> dict[str, Any]:
    """Run ``case`` on both libraries and compare: draws exactly (unless not ``exact``: the same draws through a
    matrix product, or a float32 function torch vectorizes with its own polynomial), the rest to float32 rounding."""
    got, want = run(case, lazygrad), run(case, torch)
    assert got.keys() == want.keys()
    for name, value in got.items():
        expected = want[name]
        if isinstance(value, (str, bool, int, tuple)) or value is None:
            assert value == expected, (name, value, expected)
            continue
        actual, reference = as_numpy(value), as_numpy(expected)
        assert actual.shape == reference.shape, (name, actual.shape, reference.shape)
        assert str(value.dtype).removeprefix("torch.") == str(expected.dtype).removeprefix("torch."), name
        if name.startswith("sample") and exact and lazygrad.get_backend() == "numpy":
            np.testing.assert_array_equal(actual, reference, err_msg=name)
        elif name.startswith("sample"):  # jax may fuse the arithmetic on a draw into one rounding
            np.testing.assert_allclose(actual, reference, rtol=3e-7, atol=3e-7, err_msg=name)
        else:
            np.testing.assert_allclose(actual, reference, rtol=rtol, atol=atol, equal_nan=True, err_msg=name)
    return got


def params(T: Any, *values: Any, dtype: str = "float32") -> list[Any]:
    return [T.tensor(v, dtype=getattr(T, dtype), requires_grad=True) for v in values]


def scored(T: Any, d: Any, value: Any, grads: list[Any], methods: tuple[str, ...] = ("entropy",)) -> dict[str, Any]:
    """A distribution's moments, scores of ``value``, and the gradients of the summed log-probability."""
    out: dict[str, Any] = {"repr": repr(d), "batch_shape": tuple(d.batch_shape), "event_shape": tuple(d.event_shape)}
    for name in ("mean", "variance", "stddev"):
        out[name] = getattr(d, name).detach()
    for name in methods:
        out[name] = getattr(d, name)(*(() if name == "entropy" else (value,))).detach()
    log_prob = d.log_prob(value)
    out["log_prob"] = log_prob.detach()
    for i, g in enumerate(T.autograd.grad(log_prob.sum(), grads, retain_graph=True)):
        out[f"grad_log_prob{i}"] = g
    return out


def drawn(T: Any, d: Any, grads: list[Any]) -> dict[str, Any]:
    """One draw, a batch of draws, and a reparameterized draw with the gradients of its sum."""
    out = {"sample": d.sample(), "sample_batch": d.sample((2, 3))}
    if d.has_rsample:
        r = d.rsample((4,))
        out["sample_r"] = r.detach()
        for i, g in enumerate(T.autograd.grad((r * r).sum(), grads) if grads else ()):
            out[f"grad_rsample{i}"] = g
    out["sample_after"] = T.rand(3)
    return out


def error(fn: Callable[[], Any]) -> str:
    with pytest.raises(Exception) as caught:
        fn()
    return f"{caught.type.__name__}: {caught.value}"


def same_error(case: Callable[[Any], Any]) -> None:
    assert error(lambda: case(lazygrad)) == error(lambda: case(torch))


# ---- Normal ----------------------------------------------------------------------------------------------------

NORMAL_PARAMS = [(0.5, 2.0), ([0.5, -1.0, 2.0], [1.0, 0.5, 2.0]), ([[0.0], [1.0]], [0.3, 3.0])]


@needs_torch
@pytest.mark.parametrize(("loc", "scale"), NORMAL_PARAMS)
def test_normal_draws_scores_and_gradients_are_torchs(loc, scale):
    def case(T):
        loc_, scale_ = params(T, loc, scale)
        d = T.distributions.Normal(loc_, scale_)
        value = T.tensor([[0.3], [-1.2]]).expand((2, *tuple(d.batch_shape))) if d.batch_shape else T.tensor(0.3)
        return {**scored(T, d, value, [loc_, scale_], ("entropy", "cdf", "icdf_of_cdf")), **drawn(T, d, [loc_, scale_])}

    same_as_torch(_with_icdf(case))


def _with_icdf(case: Case) -> Case:
    """Distributions with an ``icdf``: ``icdf(cdf(x))`` is scored too (its input stays inside (0, 1))."""

    def icdf_of_cdf(self, value):
        return self.icdf(self.cdf(value))

    def wrapped(T):
        cls = T.distributions.Distribution
        cls.icdf_of_cdf = icdf_of_cdf
        try:
            return case(T)
        finally:
            del cls.icdf_of_cdf

    return wrapped


@needs_torch
def test_normal_with_numbers_has_an_empty_batch_shape_and_samples_as_torch():
    same_as_torch(
        lambda T: {
            "repr": repr(T.distributions.Normal(0.0, 1.0)),
            "sample": T.distributions.Normal(0.0, 1.0).sample((5,)),
            "sample_n": T.distributions.Normal(1.0, 2.0).rsample((20,)),
        }
    )


@pytest.mark.backend_agnostic
def test_normal_rsample_and_log_prob_gradients_match_finite_differences():
    value = lazygrad.tensor([0.1, -0.7], dtype=lazygrad.float64)

    def f(loc, scale):
        lazygrad.manual_seed(3)
        d = D.Normal(lazygrad.tensor(loc, dtype=lazygrad.float64), lazygrad.tensor(scale, dtype=lazygrad.float64))
        return float((d.rsample((3,)).sin().sum() + d.log_prob(value).sum()).item())

    loc = lazygrad.tensor(0.4, dtype=lazygrad.float64, requires_grad=True)
    scale = lazygrad.tensor(1.3, dtype=lazygrad.float64, requires_grad=True)
    lazygrad.manual_seed(3)
    d = D.Normal(loc, scale)
    (d.rsample((3,)).sin().sum() + d.log_prob(value).sum()).backward()
    h = 1e-6
    assert loc.grad.item() == pytest.approx((f(0.4 + h, 1.3) - f(0.4 - h, 1.3)) / (2 * h), rel=1e-6)
    assert scale.grad.item() == pytest.approx((f(0.4, 1.3 + h) - f(0.4, 1.3 - h)) / (2 * h), rel=1e-6)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.Normal(T.tensor([0.0]), T.tensor([-1.0])),
        lambda T: T.distributions.Normal(T.tensor([0.0, 1.0]), T.tensor([1.0, 2.0])).log_prob(T.ones(3)),
        lambda T: T.distributions.Normal(T.tensor([0.0]), T.tensor([1.0])).log_prob([1.0]),
        lambda T: T.distributions.Normal(T.tensor(0.0), T.tensor(1.0)).log_prob(T.tensor(math.nan)),
        lambda T: T.distributions.Normal("a", 1.0),
    ],
)
def test_normal_validation_errors_are_torchs(case):
    same_error(case)


# ---- Categorical, OneHotCategorical ------------------------------------------------------------------------------

CATEGORICAL_PARAMS = [[0.2, 0.3, 0.5], [[1.0, 2.0, 0.5, 0.1], [0.1, 0.2, 0.3, 4.0]]]


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
@pytest.mark.parametrize("values", CATEGORICAL_PARAMS)
def test_categorical_draws_scores_and_gradients_are_torchs(given, values):
    def case(T):
        (p,) = params(T, values)
        d = T.distributions.Categorical(**{given: p})
        value = T.tensor([0, 2]).reshape((2,) + (1,) * len(d.batch_shape)).expand((2, *tuple(d.batch_shape)))
        out = scored(T, d, value, [p])
        out.update(
            mode=d.mode,
            probs=d.probs.detach(),
            logits=d.logits.detach(),
            support=repr(d.support),
            enumerate=d.enumerate_support(),
            enumerate_unexpanded=d.enumerate_support(False),
        )
        return {**out, **drawn(T, d, [p]), "sample_many": d.sample((50,))}

    same_as_torch(case)


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
def test_one_hot_categorical_is_torchs(given):
    def case(T):
        (p,) = params(T, [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
        d = T.distributions.OneHotCategorical(**{given: p})
        value = T.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        out = scored(T, d, value, [p])
        out.update(mode=d.mode, enumerate=d.enumerate_support(), expanded=repr(d.expand((3, 2))))
        return {**out, **drawn(T, d, [p])}

    same_as_torch(case)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.Categorical(),
        lambda T: T.distributions.Categorical(T.tensor([0.5, 0.5]), T.tensor([1.0, 1.0])),
        lambda T: T.distributions.Categorical(T.tensor(1.0)),
        lambda T: T.distributions.Categorical(logits=T.tensor(1.0)),
        lambda T: T.distributions.Categorical(T.tensor([0.5, -0.5])),
        lambda T: T.distributions.Categorical(T.tensor([0.2, 0.8])).log_prob(T.tensor(2)),
        lambda T: T.distributions.OneHotCategorical(T.tensor([0.2, 0.8])).log_prob(T.tensor([0.5, 0.5])),
    ],
)
def test_categorical_validation_errors_are_torchs(case):
    same_error(case)


# ---- Bernoulli, Uniform ------------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
@pytest.mark.parametrize("values", [0.3, [0.1, 0.5, 0.9], [[0.2], [0.7]]])
def test_bernoulli_draws_scores_and_gradients_are_torchs(given, values):
    def case(T):
        (p,) = params(T, values)
        d = T.distributions.Bernoulli(**{given: p})
        value = T.ones(d.batch_shape)
        out = scored(T, d, value, [p])
        out.update(mode=d.mode, enumerate=d.enumerate_support(), probs=d.probs.detach(), logits=d.logits.detach())
        return {**out, **drawn(T, d, [p])}

    same_as_torch(case)


@needs_torch
@pytest.mark.parametrize(("low", "high"), [(0.0, 2.0), ([0.0, -1.0], [1.0, 3.0]), ([[-2.0], [0.5]], [1.0, 2.0])])
def test_uniform_draws_scores_and_gradients_are_torchs(low, high):
    def case(T):
        low_, high_ = params(T, low, high)
        d = T.distributions.Uniform(low_, high_)
        value = ((d.low + d.high) / 2).detach()
        out = scored(T, d, value, [low_, high_], ("entropy", "cdf", "icdf_of_cdf"))
        return {**out, "mode": d.mode.detach(), **drawn(T, d, [low_, high_])}

    same_as_torch(_with_icdf(case))


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.Bernoulli(T.tensor(1.5)),
        lambda T: T.distributions.Bernoulli(),
        lambda T: T.distributions.Bernoulli(T.tensor([0.5, 0.2])).log_prob(T.tensor([0.5, 1.0])),
        lambda T: T.distributions.Uniform(1.0, 0.0),
        lambda T: T.distributions.Uniform(T.zeros(2), T.tensor([1.0, -1.0])),
        lambda T: T.distributions.Uniform(0.0, 1.0).log_prob(T.tensor(1.5)),
    ],
)
def test_bernoulli_and_uniform_validation_errors_are_torchs(case):
    same_error(case)


# ---- Independent, the base class --------------------------------------------------------------------------------


@needs_torch
def test_independent_sums_the_reinterpreted_axes_as_torch():
    def case(T):
        loc, scale = params(T, [[0.0, 1.0, 2.0], [0.5, 0.5, 0.5]], [[1.0, 2.0, 0.5], [1.0, 1.0, 3.0]])
        d = T.distributions.Independent(T.distributions.Normal(loc, scale), 1)
        out = scored(T, d, T.ones(2, 3), [loc, scale])
        out.update(
            support=repr(d.support), expanded=repr(d.expand((4, 2))), expanded_shape=tuple(d.expand((4, 2)).batch_shape)
        )
        return {**out, **drawn(T, d, [loc, scale])}

    same_as_torch(case)


@needs_torch
@pytest.mark.backend_agnostic
def test_validation_can_be_turned_off_per_distribution_and_by_default():
    for T in (lazygrad, torch):
        assert T.distributions.Normal(T.tensor(0.0), T.tensor(-1.0), validate_args=False).scale.item() == -1.0
        T.distributions.Distribution.set_default_validate_args(False)
        try:
            T.distributions.Normal(T.tensor(0.0), T.tensor(-1.0))
        finally:
            T.distributions.Distribution.set_default_validate_args(True)
    same_error(lambda T: T.distributions.Distribution.set_default_validate_args(2))
    same_error(lambda T: T.distributions.Independent(T.distributions.Normal(T.zeros(2), T.ones(2)), 2))


@needs_torch
@pytest.mark.backend_agnostic
def test_expand_shares_parameters_and_keeps_the_kind():
    def case(T):
        d = T.distributions.Normal(T.tensor([0.0, 1.0]), T.tensor([1.0, 2.0])).expand((3, 2))
        c = T.distributions.Categorical(logits=T.tensor([0.0, 1.0])).expand((2,))
        b = T.distributions.Bernoulli(T.tensor(0.3)).expand([4])
        return {
            "d": repr(d),
            "c": repr(c),
            "b": repr(b),
            "shapes": (tuple(d.batch_shape), tuple(c.batch_shape)),
            "sample": d.sample(),
            "sample_c": c.sample((2,)),
            "sample_b": b.sample(),
        }

    same_as_torch(case)


@needs_torch
@pytest.mark.backend_agnostic
def test_class_attributes_and_constraint_reprs_are_torchs():
    def case(T):
        D_, C = T.distributions, T.distributions.constraints
        return {
            "flags": tuple(
                (getattr(D_, n).has_rsample, getattr(D_, n).has_enumerate_support)
                for n in ("Normal", "Categorical", "Bernoulli", "Uniform", "OneHotCategorical")
            ),
            "constraints": repr(
                [
                    C.real,
                    C.positive,
                    C.unit_interval,
                    C.simplex,
                    C.boolean,
                    C.integer_interval(0, 3),
                    C.nonnegative_integer,
                    C.greater_than(2.0),
                    C.interval(-1, 1),
                    C.real_vector,
                    C.independent(C.positive, 2),
                    C.lower_cholesky,
                    C.positive_definite,
                    C.half_open_interval(0, 1),
                    C.less_than(3),
                    C.nonnegative,
                    C.dependent,
                ]
            ),
            "normal": repr(D_.Normal.arg_constraints),
            "categorical": repr(D_.Categorical.support),
        }

    same_as_torch(case)


@needs_torch
@pytest.mark.backend_agnostic
def test_constraints_check_as_torchs():
    def case(T):
        C = T.distributions.constraints
        x = T.tensor([[0.0, 1.0, 0.5], [-1.0, 2.0, math.nan]])
        checks = [
            C.real,
            C.positive,
            C.unit_interval,
            C.boolean,
            C.nonnegative_integer,
            C.integer_interval(0, 1),
            C.greater_than_eq(0.0),
            C.half_open_interval(0.0, 1.0),
            C.simplex,
            C.one_hot,
            C.real_vector,
        ]
        out = {f"check{i}": c.check(x) for i, c in enumerate(checks)}
        m = T.tensor([[[2.0, 0.0], [1.0, 3.0]], [[1.0, 2.0], [0.0, 1.0]]])
        for name in ("lower_triangular", "lower_cholesky", "positive_definite", "symmetric", "square"):
            out[name] = getattr(C, name).check(m)
        return out

    same_as_torch(case)


@pytest.mark.backend_agnostic
def test_size_arithmetic_gives_sizes_as_torchs_does():
    s = lazygrad.Size([2, 3])
    assert repr(s + (4,)) == "torch.Size([2, 3, 4])"  # noqa: RUF005 -- the concatenation is what is tested
    assert repr((4,) + s) == "torch.Size([4, 2, 3])"  # noqa: RUF005
    assert repr(s[1:]) == "torch.Size([3])" and s[0] == 2
    assert repr(s * 2) == "torch.Size([2, 3, 2, 3])"


@pytest.mark.backend_agnostic
def test_distributions_are_exposed_as_torch_distributions():
    import lazygrad.distributions.constraints as constraints

    assert lazygrad.distributions is D and D.constraints is constraints
    assert {"Normal", "Categorical", "Distribution", "constraints"} <= set(D.__all__)


@needs_torch
@pytest.mark.backend_agnostic
def test_sample_n_warns_and_draws_n():
    for T in (lazygrad, torch):
        with pytest.warns(FutureWarning, match=r"`sample_n\(n\)` will be deprecated"):
            assert tuple(T.distributions.Normal(T.zeros(2), T.ones(2)).sample_n(3).shape) == (3, 2)


# ---- MultivariateNormal, Laplace, Exponential --------------------------------------------------------------------

SPD = [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]


@needs_torch
@pytest.mark.parametrize("given", ["covariance_matrix", "precision_matrix", "scale_tril"])
@pytest.mark.parametrize("loc", [[0.5, -1.0, 2.0], [[0.5, -1.0, 2.0], [0.0, 0.0, 1.0]]])
def test_multivariate_normal_is_torchs(given, loc):
    def case(T):
        matrix = T.linalg.cholesky(T.tensor(SPD)) if given == "scale_tril" else T.tensor(SPD)
        loc_, matrix = params(T, loc, matrix.tolist())
        d = T.distributions.MultivariateNormal(loc_, **{given: matrix})
        out = scored(T, d, T.tensor([[0.1, 0.2, 0.3], [1.0, -1.0, 0.0]]), [loc_, matrix])
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            out[name] = getattr(d, name).detach()
        out["expanded"] = repr(d.expand((2, *d.batch_shape)))
        return {**out, **drawn(T, d, [loc_, matrix])}

    same_as_torch(case, rtol=1e-5, atol=1e-5, exact=False)  # loc + L @ eps: a matrix product rounds as BLAS may not


@needs_torch
@pytest.mark.parametrize("cls", ["Laplace", "Exponential"])
@pytest.mark.parametrize("shape", [(), (2,), (2, 3)])
def test_laplace_and_exponential_are_torchs(cls, shape):
    def case(T):
        g = T.Generator().manual_seed(1)
        scale = (T.rand(shape, generator=g) + 0.5).requires_grad_()
        if cls == "Laplace":
            loc = (T.rand(shape, generator=g) - 0.5).requires_grad_()
            d, grads = T.distributions.Laplace(loc, scale), [loc, scale]
        else:
            d, grads = T.distributions.Exponential(scale), [scale]
        value = T.rand(shape, generator=g)
        out = scored(T, d, value, grads, ("entropy", "cdf", "icdf_of_cdf"))
        return {**out, "mode": d.mode.detach(), **drawn(T, d, grads), "sample_many": d.sample((20,))}

    # Laplace transforms its uniforms with log1p, where torch's vectorized float32 log1p can be an ulp off
    same_as_torch(_with_icdf(case), exact=cls == "Exponential")


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.MultivariateNormal(T.tensor(0.0), T.eye(1)),
        lambda T: T.distributions.MultivariateNormal(T.zeros(2)),
        lambda T: T.distributions.MultivariateNormal(T.zeros(2), T.eye(2), scale_tril=T.eye(2)),
        lambda T: T.distributions.MultivariateNormal(T.zeros(2), scale_tril=T.ones(2)),
        lambda T: T.distributions.MultivariateNormal(T.zeros(2), precision_matrix=T.ones(2)),
        lambda T: T.distributions.MultivariateNormal(T.zeros(2), T.tensor([[1.0, 2.0], [2.0, 1.0]])),
        lambda T: T.distributions.MultivariateNormal(T.zeros(2), scale_tril=T.tensor([[1.0, 0.0], [2.0, -1.0]])),
        lambda T: T.distributions.Exponential(T.tensor(-1.0)),
        lambda T: T.distributions.Exponential(1.0).log_prob(T.tensor(-1.0)),
        lambda T: T.distributions.Laplace(0.0, 0.0),
    ],
)
def test_multivariate_normal_laplace_exponential_errors_are_torchs(case):
    same_error(case)


# ---- transforms, TransformedDistribution, LogNormal -----------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("shape", [(), (2,)])
def test_log_normal_is_torchs(shape):
    def case(T):
        g = T.Generator().manual_seed(2)
        loc, scale = (T.rand(shape, generator=g) - 0.5).requires_grad_(), (T.rand(shape, generator=g) + 0.5)
        scale.requires_grad_()
        d = T.distributions.LogNormal(loc, scale)
        out = scored(T, d, T.rand(shape, generator=g) + 0.1, [loc, scale], ("entropy", "cdf", "icdf_of_cdf"))
        out.update(mode=d.mode.detach(), support=repr(d.support), expanded=repr(d.expand((3, *shape))))
        return {**out, **drawn(T, d, [loc, scale])}

    # exp of a draw: torch's vectorized float32 exp can round differently
    same_as_torch(_with_icdf(case), exact=False)


TRANSFORMS = {
    "tanh_affine": lambda T, loc, scale: [
        T.distributions.transforms.TanhTransform(cache_size=1),
        T.distributions.transforms.AffineTransform(1.0, 2.0),
    ],
    "logit_affine": lambda T, loc, scale: [
        T.distributions.transforms.SigmoidTransform().inv,
        T.distributions.transforms.AffineTransform(loc, scale),
    ],
    "exp_negated": lambda T, loc, scale: [
        T.distributions.transforms.ComposeTransform(
            [T.distributions.transforms.ExpTransform(), T.distributions.transforms.AffineTransform(0.0, -1.0)]
        )
    ],
    "power_softplus": lambda T, loc, scale: [
        T.distributions.transforms.SoftplusTransform(),
        T.distributions.transforms.PowerTransform(2.0),
    ],
}


@needs_torch
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transformed_distribution_is_torchs(name):
    def case(T):
        loc, scale = params(T, [0.5, -1.0], [1.0, 0.5])
        base = (
            T.distributions.Uniform(T.full((2,), 0.05), T.full((2,), 0.95))
            if name == "logit_affine"
            else T.distributions.Normal(loc, scale)
        )
        d = T.distributions.TransformedDistribution(base, TRANSFORMS[name](T, loc, scale))
        value = d.sample((3,))
        out = {"repr": repr(d), "support": repr(d.support), "sample": value, "log_prob": d.log_prob(value).detach()}
        out["transforms"] = repr(d.transforms)
        for i, g in enumerate(T.autograd.grad(d.log_prob(value).sum(), [loc, scale], allow_unused=True)):
            out[f"grad{i}"] = g if g is not None else "none"
        if name in ("logit_affine", "exp_negated"):
            out.update(cdf=d.cdf(value).detach(), icdf=d.icdf(T.tensor([0.2, 0.9])).detach())
        if d.has_rsample:
            r = d.rsample((2,))
            out["grad_rsample"] = T.autograd.grad(r.sum(), [loc])[0]
        return out

    # atanh of a tanh near 1 loses digits: gradients agree to 1e-5 there
    same_as_torch(case, rtol=1e-5, exact=False)


@needs_torch
@pytest.mark.backend_agnostic
def test_transform_algebra_is_torchs():
    def case(T):
        tr = T.distributions.transforms
        c = tr.ComposeTransform([tr.ExpTransform(), tr.AffineTransform(0.0, -1.0)])
        x = T.tensor([0.5, -0.25])
        affine = tr.AffineTransform(T.zeros(3), T.tensor([1.0, 2.0, 3.0]), event_dim=1)
        return {
            "reprs": repr([c, c.inv, tr.ExpTransform().inv, tr.identity_transform, affine.domain]),
            "facts": (
                c.sign,
                c.bijective,
                tr.ExpTransform() == tr.ExpTransform(),
                c.inv.inv is c,
                tr.ExpTransform().inv.inv == tr.ExpTransform(),
                tr.AbsTransform().bijective,
            ),
            "roundtrip": c.inv(c(x)),
            "jacobian": c.log_abs_det_jacobian(x, c(x)),
            "affine_jacobian": affine.log_abs_det_jacobian(T.ones(2, 3), T.ones(2, 3)),
            "shape": tuple(affine.forward_shape((4, 1, 3))),
        }

    same_as_torch(case)
    same_error(lambda T: T.distributions.TransformedDistribution(T.distributions.Normal(0.0, 1.0), 3))
    same_error(lambda T: T.distributions.TransformedDistribution(T.distributions.Normal(0.0, 1.0), [3]))
    same_error(lambda T: T.distributions.transforms.ExpTransform(cache_size=2))
    same_error(lambda T: T.distributions.LogNormal(0.0, 1.0).log_prob(T.tensor(-1.0)))


# ---- Gamma, Beta, Dirichlet ----------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_and_dirichlet_kernels_draw_torchs_values(dtype):
    rng = np.random.default_rng(0)
    alpha = np.concatenate([rng.gamma(1.0, 2.0, 300), [1e-3, 0.5, 1.0, 100.0]]).astype(dtype)
    concentration = (rng.random((40, 3)) * 3 + 0.05).astype(dtype)
    lazygrad.manual_seed(5)
    got = (D.gamma.standard_gamma(lazygrad.tensor(alpha)), D.dirichlet.sample_dirichlet(lazygrad.tensor(concentration)))
    torch.manual_seed(5)
    want = (torch._standard_gamma(torch.tensor(alpha)), torch._sample_dirichlet(torch.tensor(concentration)))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert lazygrad.rand(2).tolist() == torch.rand(2).tolist()


@needs_torch
@pytest.mark.parametrize("shape", [(), (3,)])
def test_gamma_is_torchs(shape):  # rsample's gradient in concentration is torch's implicit one
    def case(T):
        g = T.Generator().manual_seed(3)
        concentration = (T.rand(shape, generator=g) * 3 + 0.2).requires_grad_()
        rate = (T.rand(shape, generator=g) + 0.5).requires_grad_()
        d = T.distributions.Gamma(concentration, rate)
        out = scored(T, d, T.rand(shape, generator=g) + 0.1, [concentration, rate])
        out.update(mode=d.mode.detach(), expanded=repr(d.expand((2, *shape))))
        return {**out, **drawn(T, d, [concentration, rate]), "sample_many": d.sample((30,))}

    same_as_torch(case)


@needs_torch
@pytest.mark.parametrize("shape", [(), (2,)])
def test_beta_is_torchs(shape):
    def case(T):
        g = T.Generator().manual_seed(4)
        a, b = (T.rand(shape, generator=g) * 3 + 0.2).requires_grad_(), (T.rand(shape, generator=g) + 0.5)
        b.requires_grad_()
        d = T.distributions.Beta(a, b)
        out = scored(T, d, T.rand(shape, generator=g) * 0.8 + 0.1, [a, b])
        out.update(mode=d.mode.detach(), concentration1=d.concentration1.detach())
        return {**out, **drawn(T, d, [a, b]), "sample_numbers": T.distributions.Beta(2.0, 3.0).sample((4,))}

    same_as_torch(case)


@needs_torch
@pytest.mark.parametrize("concentration", [[0.5, 2.0, 3.0], [[0.5, 2.0, 3.0], [0.2, 0.3, 0.9]]])
def test_dirichlet_is_torchs(concentration):
    def case(T):
        (c,) = params(T, concentration)
        d = T.distributions.Dirichlet(c)
        out = scored(T, d, T.tensor([0.2, 0.3, 0.5]), [c])
        out.update(mode=d.mode.detach(), expanded=repr(d.expand((4, *d.batch_shape))))
        return {**out, **drawn(T, d, [c])}

    same_as_torch(case)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.Gamma(T.tensor(-1.0), 1.0),
        lambda T: T.distributions.Gamma(1.0, 1.0).log_prob(T.tensor(-1.0)),
        lambda T: T.distributions.Dirichlet(T.tensor(1.0)),
        lambda T: T.distributions.Dirichlet(T.tensor([1.0, -1.0])),
        lambda T: T.distributions.Dirichlet(T.ones(3)).log_prob(T.ones(3)),
        lambda T: T.distributions.Beta(0.0, 1.0),
        lambda T: T.distributions.Beta(1.0, 1.0).log_prob(T.tensor(2.0)),
    ],
)
def test_gamma_beta_dirichlet_errors_are_torchs(case):
    same_error(case)


# ---- Poisson, Binomial ---------------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_poisson_and_binomial_kernels_draw_torchs_values(dtype):
    rng = np.random.default_rng(1)
    rate = np.concatenate([rng.random(200) * 40, [0.0, 10.0, 1e3]]).astype(dtype)
    count, prob = rng.integers(0, 300, 200).astype(dtype), rng.random(200).astype(dtype)
    lazygrad.manual_seed(3)
    got = lazygrad.poisson(lazygrad.tensor(rate)), lazygrad.binomial(lazygrad.tensor(count), lazygrad.tensor(prob))
    torch.manual_seed(3)
    want = torch.poisson(torch.tensor(rate)), torch.binomial(torch.tensor(count), torch.tensor(prob))
    for g, w in zip(got, want):
        assert g.dtype.name == dtype
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert lazygrad.rand(2).tolist() == torch.rand(2).tolist()


@needs_torch
@pytest.mark.backend_agnostic
def test_poisson_of_rates_that_require_grad_gives_zero_gradients_as_torch():
    def case(T):
        rate = T.tensor([1.0, 12.5, 0.0], requires_grad=True)
        draw = T.poisson(rate)
        return {
            "sample": draw.detach(),
            "grad_fn": type(draw.grad_fn).__name__,
            "grad": T.autograd.grad(draw.sum(), rate)[0],
        }

    same_as_torch(case)
    same_error(lambda T: T.poisson(T.tensor([1, 2])))
    same_error(lambda T: T.poisson(T.tensor([-1.0])))


@needs_torch
@pytest.mark.parametrize("shape", [(), (3,)])
def test_poisson_is_torchs(shape):
    def case(T):
        g = T.Generator().manual_seed(5)
        rate = (T.rand(shape, generator=g) * 20).requires_grad_()
        d = T.distributions.Poisson(rate)
        out = scored(T, d, (T.rand(shape, generator=g) * 10).floor(), [rate], ())
        return {**out, "mode": d.mode.detach(), **drawn(T, d, [rate])}

    same_as_torch(case)


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
def test_binomial_is_torchs(given):
    def case(T):
        (p,) = params(T, [0.2, 0.7, 0.5] if given == "probs" else [-1.0, 0.5, 2.0])
        d = T.distributions.Binomial(T.tensor([10.0, 30.0, 5.0]), **{given: p})
        out = scored(T, d, T.tensor([2.0, 20.0, 5.0]), [p], ())
        out.update(mode=d.mode.detach(), support=repr(d.support), expanded=repr(d.expand((2, 3))))
        homogeneous = T.distributions.Binomial(8, **{given: p})
        out.update(entropy=homogeneous.entropy().detach(), enumerate=homogeneous.enumerate_support())
        return {**out, **drawn(T, d, [p])}

    # log_prob is a difference of lgammas of up to ~75: float32 rounding of those is ~1e-5
    same_as_torch(case, rtol=1e-5, atol=2e-5)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.Poisson(T.tensor(-1.0)),
        lambda T: T.distributions.Poisson(2.0).log_prob(T.tensor(0.5)),
        lambda T: T.distributions.Binomial(T.tensor([1.5]), T.tensor([0.5])),
        lambda T: T.distributions.Binomial(5, T.tensor(0.5)).log_prob(T.tensor(6.0)),
        lambda T: T.distributions.Binomial(T.tensor([2.0, 3.0]), T.tensor([0.5, 0.5])).entropy(),
        lambda T: T.distributions.Binomial(3),
    ],
)
def test_poisson_and_binomial_errors_are_torchs(case):
    same_error(case)


# ---- kl_divergence -------------------------------------------------------------------------------------------------

KL_FAMILIES = {
    "Normal": lambda T, a: T.distributions.Normal(T.tensor([0.5, -1.0]) * a, T.tensor([1.0, 2.0]) * a),
    "Laplace": lambda T, a: T.distributions.Laplace(T.tensor([0.5, -1.0]) * a, T.tensor([1.0, 2.0]) * a),
    "Exponential": lambda T, a: T.distributions.Exponential(T.tensor([0.5, 2.0]) * a),
    "Gamma": lambda T, a: T.distributions.Gamma(T.tensor([0.5, 2.0]) * a, T.tensor([1.5, 1.0])),
    "Beta": lambda T, a: T.distributions.Beta(T.tensor([0.5, 2.0]) * a, T.tensor([1.5, 1.0])),
    "Uniform": lambda T, a: T.distributions.Uniform(T.tensor([0.1, 0.2]) * a, T.tensor([0.6, 0.9])),
    "Poisson": lambda T, a: T.distributions.Poisson(T.tensor([0.5, 2.0]) * a),
    "Bernoulli": lambda T, a: T.distributions.Bernoulli(T.tensor([0.3, 0.6]) * a),
    "Binomial": lambda T, a: T.distributions.Binomial(T.tensor([5.0, 5.0]), T.tensor([0.3, 0.6]) * a),
    "Categorical": lambda T, a: T.distributions.Categorical(T.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]) ** a),
    "OneHotCategorical": lambda T, a: T.distributions.OneHotCategorical(T.tensor([[0.2, 0.3, 0.5]]) ** a),
    "Dirichlet": lambda T, a: T.distributions.Dirichlet(T.tensor([[0.5, 2.0, 3.0], [1.0, 1.0, 0.2]]) * a),
    "MultivariateNormal": lambda T, a: T.distributions.MultivariateNormal(
        T.tensor([[0.5, -1.0, 2.0]]) * a, T.eye(3) * a + 0.2
    ),
    "LogNormal": lambda T, a: T.distributions.LogNormal(T.tensor([0.5, -1.0]) * a, T.tensor([1.0, 2.0])),
    "Cauchy": lambda T, a: T.distributions.Cauchy(T.tensor([0.5, -1.0]) * a, T.tensor([1.0, 2.0]) * a),
    "HalfNormal": lambda T, a: T.distributions.HalfNormal(T.tensor([1.0, 2.0]) * a),
    "Chi2": lambda T, a: T.distributions.Chi2(T.tensor([1.0, 3.0]) * a),
    "Geometric": lambda T, a: T.distributions.Geometric(T.tensor([0.3, 0.6]) * a),
    "Independent": lambda T, a: T.distributions.Independent(
        T.distributions.Normal(T.tensor([[0.5, -1.0]]) * a, T.tensor([[1.0, 2.0]])), 1
    ),
}


def registered_pairs(families: dict[str, Any]) -> list[tuple[str, str]]:
    """The pairs of ``families`` that torch's registry has a rule for (not its exponential-family rule)."""
    if not HAS_TORCH:
        return []
    registry = torch.distributions.kl._KL_REGISTRY
    names = {getattr(torch.distributions, name): name for name in families}
    return sorted((names[p], names[q]) for p, q in registry if p in names and q in names)


def same_kl_as_torch(families: dict[str, Any], p: str, q: str) -> None:
    """``kl_divergence(p, q)`` and its gradient in ``q``'s scale, on lazygrad and on torch."""

    def case(T):
        a = T.tensor(1.3, requires_grad=True)
        kl = T.distributions.kl_divergence(families[p](T, 1.0), families[q](T, a))
        grad = T.autograd.grad(kl[kl.isfinite()].sum(), a, allow_unused=True)[0] if kl.isfinite().any() else None
        return {"kl": kl.detach(), "grad": grad if grad is not None else "none"}

    same_as_torch(case, rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.parametrize(("p", "q"), registered_pairs(KL_FAMILIES))
def test_kl_divergence_is_torchs(p, q):
    same_kl_as_torch(KL_FAMILIES, p, q)


@needs_torch
@pytest.mark.backend_agnostic
def test_kl_divergence_edge_values_and_registration_are_torchs():
    def case(T):
        D_ = T.distributions

        class MyNormal(D_.Normal):
            pass

        @D_.register_kl(MyNormal, D_.Normal)
        def _zero(p, q):
            return T.zeros(1)

        return {
            "uniform": D_.kl_divergence(D_.Uniform(0.0, 1.0), D_.Uniform(0.2, 1.0)),
            "bernoulli": D_.kl_divergence(D_.Bernoulli(T.tensor([0.0, 1.0])), D_.Bernoulli(T.tensor([0.5, 1.0]))),
            "categorical": D_.kl_divergence(
                D_.Categorical(T.tensor([0.5, 0.5, 0.0])), D_.Categorical(T.tensor([0.5, 0.0, 0.5]))
            ),
            "subclass": D_.kl_divergence(MyNormal(0.0, 1.0), D_.Normal(0.0, 1.0)),
            "fallback": D_.kl_divergence(D_.Normal(0.0, 1.0), MyNormal(1.0, 1.0)),
        }

    same_as_torch(case)
    same_error(
        lambda T: T.distributions.kl_divergence(
            T.distributions.Normal(0.0, 1.0), T.distributions.Categorical(T.ones(2))
        )
    )
    same_error(
        lambda T: T.distributions.kl_divergence(
            T.distributions.MultivariateNormal(T.zeros(2), T.eye(2)),
            T.distributions.MultivariateNormal(T.zeros(3), T.eye(3)),
        )
    )


@needs_torch
@pytest.mark.parametrize("family", ["Normal", "Exponential", "Gamma", "Beta", "Poisson", "Bernoulli", "Dirichlet"])
def test_exponential_family_entropy_and_bregman_kl_are_torchs(family):
    def case(T):
        D_ = T.distributions
        p, q = KL_FAMILIES[family](T, 1.0), KL_FAMILIES[family](T, 1.3)
        out = {"is_member": isinstance(p, D_.ExponentialFamily), "bregman": D_.kl._kl_expfamily_expfamily(p, q)}
        if family in ("Normal", "Exponential", "Gamma", "Bernoulli"):  # torch gives these a carrier measure
            out.update(entropy=D_.ExponentialFamily.entropy(p).detach(), closed_form=p.entropy().detach())
        else:
            out["entropy"] = error(lambda: D_.ExponentialFamily.entropy(p))
        return {name: value.detach() if hasattr(value, "detach") else value for name, value in out.items()}

    same_as_torch(case, rtol=1e-5, atol=1e-5)
    same_error(lambda T: T.distributions.kl_divergence(T.distributions.Normal(0.0, 1.0), T.distributions.Poisson(1.0)))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_gamma_gradient_is_torchs_implicit_gradient(dtype):
    rng = np.random.default_rng(0)
    alpha = np.concatenate([rng.random(60) * 3 + 0.05, rng.random(30) * 30 + 8]).astype(dtype)

    def case(T):
        c = T.tensor(alpha, requires_grad=True)
        x = T.distributions.Gamma(c, T.ones((), dtype=c.dtype)).rsample()
        return {"sample": x.detach(), "grad": T.autograd.grad(x.sum(), c)[0]}

    same_as_torch(case, rtol=1e-6, atol=1e-7)


@needs_torch
@pytest.mark.parametrize("cls", ["Cauchy", "Chi2", "HalfNormal"])
@pytest.mark.parametrize("shape", [(), (2,)])
def test_cauchy_chi2_half_normal_are_torchs(cls, shape):
    def case(T):
        g = T.Generator().manual_seed(6)
        scale = (T.rand(shape, generator=g) + 0.5).requires_grad_()
        D_ = T.distributions
        d = D_.Cauchy(T.zeros(shape), scale) if cls == "Cauchy" else getattr(D_, cls)(scale)
        methods = ("entropy",) if cls == "Chi2" else ("entropy", "cdf", "icdf_of_cdf")
        out = scored(T, d, T.rand(shape, generator=g) + 0.2, [scale], methods)
        return {**out, "mode": d.mode.detach(), "expanded": repr(d.expand((2, *shape))), **drawn(T, d, [scale])}

    # Cauchy draws go through tan, HalfNormal's through abs of a fused multiply-add on jax
    same_as_torch(_with_icdf(case), exact=cls != "Cauchy")


@needs_torch
@pytest.mark.parametrize("shape", [(), (3,)])
def test_student_t_is_torchs(shape):
    """Moments (NaN and inf where df is at most 1 or 2), scores, draws and their gradients towards every parameter."""
    def case(T):
        g = T.Generator().manual_seed(8)
        df = (T.tensor([0.8, 1.5, 4.0]) if shape else T.tensor(3.5)).requires_grad_()
        loc = (T.rand(shape, generator=g) - 0.5).requires_grad_()
        scale = (T.rand(shape, generator=g) + 0.5).requires_grad_()
        d = T.distributions.StudentT(df, loc, scale)
        out = scored(T, d, T.rand(shape, generator=g) * 4 - 2, [df, loc, scale])
        return {**out, "mode": d.mode.detach(), "expanded": repr(d.expand((2, *shape))), **drawn(T, d, [df, scale])}

    same_as_torch(case, rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("event", [False, True])
def test_mixture_same_family_is_torchs(event):
    def case(T):
        D_ = T.distributions
        w, mu = params(T, [[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]], [[[-2.0, 0.5], [0.0, 0.0], [3.0, -1.0]]] * 2)
        scale = T.tensor([0.5, 1.0, 2.0]).unsqueeze(-1)
        components = D_.Independent(D_.Normal(mu, scale), 1) if event else D_.Normal(mu[..., 0], scale[..., 0])
        d = D_.MixtureSameFamily(D_.Categorical(w), components)
        value = T.tensor([[0.1, -1.0], [2.5, 0.3]]) if event else T.tensor([0.1, 2.5])
        out = scored(T, d, value, [w, mu], ())
        out.update(support=repr(d.support), expanded=repr(d.expand((3, 2))))
        if not event:
            out["cdf"] = d.cdf(value).detach()
        return {**out, "sample": d.sample(), "sample_batch": d.sample((4,)), "sample_after": T.rand(2)}

    same_as_torch(case)
    same_error(
        lambda T: T.distributions.MixtureSameFamily(
            T.distributions.Normal(0.0, 1.0), T.distributions.Normal(T.zeros(2), 1.0)
        )
    )
    same_error(
        lambda T: T.distributions.MixtureSameFamily(
            T.distributions.Categorical(T.ones(2)), T.distributions.Normal(T.zeros(3), 1.0)
        )
    )


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
def test_multinomial_is_torchs(given):
    def case(T):
        (p,) = params(T, [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
        d = T.distributions.Multinomial(10, **{given: p})
        out = scored(T, d, T.tensor([[2.0, 3.0, 5.0], [10.0, 0.0, 0.0]]), [p])
        out.update(support=repr(d.support), expanded=repr(d.expand((3, 2))))
        return {**out, **drawn(T, d, [p])}

    same_as_torch(case, rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
def test_geometric_is_torchs(given):
    def case(T):
        (p,) = params(T, [0.2, 0.5, 0.9] if given == "probs" else [-1.0, 0.0, 2.0])
        d = T.distributions.Geometric(**{given: p})
        out = scored(T, d, T.tensor([0.0, 3.0, 1.0]), [p])
        return {**out, "mode": d.mode.detach(), **drawn(T, d, [p])}

    same_as_torch(case)
    same_error(lambda T: T.distributions.Geometric(T.tensor([0.0, 0.5])))
    same_error(lambda T: T.distributions.Multinomial(T.tensor(3), T.ones(2)))
    same_error(lambda T: T.distributions.Multinomial(3, T.ones(2) / 2).log_prob(T.tensor([3.0, 1.0])))


@needs_torch
@pytest.mark.backend_agnostic
def test_dirichlet_gradient_is_torchs_implicit_gradient_in_every_regime():
    rng = np.random.default_rng(0)
    alpha = np.concatenate([rng.random(300) * 3 + 0.05, rng.random(100) * 30 + 6.5])
    beta = np.concatenate([rng.random(300) * 3 + 0.05, rng.random(100) * 30 + 6.5])
    x, total = rng.beta(alpha, beta), alpha + beta
    got = D.dirichlet.dirichlet_grad(*(lazygrad.tensor(v) for v in (x, alpha, total)))
    want = torch._dirichlet_grad(*(torch.tensor(v) for v in (x, alpha, total)))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("cls", ["Gumbel", "HalfCauchy"])
@pytest.mark.parametrize("shape", [(), (2,)])
def test_gumbel_and_half_cauchy_are_torchs(cls, shape):
    def case(T):
        g = T.Generator().manual_seed(7)
        scale = (T.rand(shape, generator=g) + 0.5).requires_grad_()
        D_ = T.distributions
        d = D_.Gumbel(T.zeros(shape), scale) if cls == "Gumbel" else D_.HalfCauchy(scale)
        methods = ("entropy",) if cls == "Gumbel" else ("entropy", "cdf", "icdf_of_cdf")
        out = scored(T, d, T.rand(shape, generator=g) + 0.2, [scale], methods)
        out.update(mode=d.mode.detach(), expanded=repr(d.expand((2, *shape))), support=repr(d.support))
        return {**out, "sample": d.sample(), "sample_batch": d.sample((2, 3)), "sample_after": T.rand(2)}

    # both transform their uniforms with float32 log / tan
    same_as_torch(_with_icdf(case), exact=False)


@needs_torch
def test_one_hot_categorical_straight_through_is_torchs():
    def case(T):
        (p,) = params(T, [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
        d = T.distributions.OneHotCategoricalStraightThrough(p)
        x = d.rsample((2,))
        return {"repr": repr(d), "sample": x.detach(), "grad": T.autograd.grad((x * T.arange(3.0)).sum(), p)[0]}

    same_as_torch(case)
