"""The relaxed, heavy-tailed and gamma-built distributions against ``torch.distributions``: the same draws after
the same seed, the same scores, moments and gradients, the same errors and reprs (with the helpers of
test_distributions.py: each case is written once against the torch API and run on both libraries)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from helpers import HAS_TORCH
from test_distributions import (
    _with_icdf,
    drawn,
    needs_torch,
    params,
    registered_pairs,
    same_as_torch,
    same_error,
    same_kl_as_torch,
)

import lazygrad
import lazygrad.distributions as D

if HAS_TORCH:
    import torch


def _described(T: Any, d: Any, value: Any, grads: list[Any], methods: tuple[str, ...] = ("entropy",)) -> dict:
    """What ``scored`` and ``drawn`` report (a moment torch does not define is reported as missing), plus the
    mode, support and repr of an expanded copy."""
    out: dict[str, Any] = {"repr": repr(d), "batch_shape": tuple(d.batch_shape), "event_shape": tuple(d.event_shape)}
    for name in ("mean", "mode", "variance", "stddev"):
        try:
            out[name] = getattr(d, name).detach()
        except NotImplementedError:
            out[name] = "none"
    for name in methods:
        out[name] = getattr(d, name)(*(() if name == "entropy" else (value,))).detach()
    log_prob = d.log_prob(value)
    out["log_prob"] = log_prob.detach()
    for i, g in enumerate(T.autograd.grad(log_prob.sum(), grads, retain_graph=True)):
        out[f"grad_log_prob{i}"] = g
    out.update(support=repr(d.support), expanded=repr(d.expand((2, *d.batch_shape))), has_rsample=d.has_rsample)
    return {**out, **drawn(T, d, grads if d.has_rsample else [])}


# ---- relaxed distributions -------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
@pytest.mark.parametrize("values", [0.3, [0.1, 0.5, 0.9]])
def test_relaxed_bernoulli_is_torchs(given, values):
    def case(T):
        logits = [v * 4 - 2 for v in values] if isinstance(values, list) else 0.5
        (p,) = params(T, values if given == "probs" else logits)
        temperature = T.tensor(0.7, requires_grad=True)
        d = T.distributions.RelaxedBernoulli(temperature, **{given: p})
        value = T.tensor([0.2, 0.6, 0.95]) if d.batch_shape else T.tensor(0.4)
        out = _described(T, d, value, [temperature, p], ())
        logit = T.distributions.relaxed_bernoulli.LogitRelaxedBernoulli(temperature, **{given: p})
        out["logit_log_prob"] = logit.log_prob(value.logit()).detach()
        return {**out, "sample_logit": logit.rsample((2,)).detach(), "param_shape": tuple(d.base_dist.param_shape)}

    # logit and sigmoid of float32 uniforms: torch's vectorized log and exp may round differently
    same_as_torch(case, rtol=1e-5, atol=1e-6, exact=False)


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
def test_relaxed_one_hot_categorical_is_torchs(given):
    def case(T):
        probs, logits = [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], [[1.0, -0.5, 0.0], [2.0, 0.1, -1.0]]
        (p,) = params(T, probs if given == "probs" else logits)
        temperature = T.tensor(0.5, requires_grad=True)
        d = T.distributions.RelaxedOneHotCategorical(temperature, **{given: p})
        value = T.tensor([[0.1, 0.3, 0.6], [0.7, 0.2, 0.1]])
        out = _described(T, d, value, [temperature, p], ())
        base = T.distributions.relaxed_categorical.ExpRelaxedCategorical(temperature, **{given: p})
        out["exp_log_prob"] = base.log_prob(value.log()).detach()
        return {**out, "sample_log": base.rsample().detach(), "param_shape": tuple(d.base_dist.param_shape)}

    same_as_torch(case, rtol=1e-5, atol=1e-5, exact=False)


@pytest.mark.backend_agnostic
def test_relaxed_one_hot_draws_lie_on_the_simplex_and_harden_as_temperature_falls():
    logits = lazygrad.tensor([[2.0, 0.0, -1.0]]).expand(2000, 3)
    lazygrad.manual_seed(1)
    cold = D.RelaxedOneHotCategorical(lazygrad.tensor(0.05), logits=logits).sample()
    warm = D.RelaxedOneHotCategorical(lazygrad.tensor(5.0), logits=logits).sample()
    assert (cold.sum(-1) - 1).abs().max().item() < 1e-5
    assert cold.max(-1)[0].mean().item() > 0.95 > warm.max(-1)[0].mean().item()
    frequencies = lazygrad.nn.functional.one_hot(cold.argmax(-1), 3).float().mean(0)
    expected = logits[0].softmax(-1)
    assert (frequencies - expected).abs().max().item() < 0.04  # the Gumbel-max trick


# ---- NegativeBinomial -------------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("given", ["probs", "logits"])
def test_negative_binomial_is_torchs(given):
    def case(T):
        count, p = params(T, [2.0, 5.0, 0.5], [0.2, 0.5, 0.7] if given == "probs" else [-1.0, 0.0, 1.5])
        d = T.distributions.NegativeBinomial(count, **{given: p})
        out = _described(T, d, T.tensor([0.0, 3.0, 7.0]), [count, p], ())
        return {**out, "sample_many": d.sample((20,)), "param_shape": tuple(d.param_shape)}

    same_as_torch(case, rtol=1e-5, atol=1e-5)


# ---- continuous families built from other distributions ---------------------------------------------------------

FAMILIES = {
    "Weibull": (lambda T, a, b: T.distributions.Weibull(a, b), ("entropy", "cdf", "icdf_of_cdf")),
    "Pareto": (lambda T, a, b: T.distributions.Pareto(a * 0.5, b), ("entropy", "cdf", "icdf_of_cdf")),
    "InverseGamma": (lambda T, a, b: T.distributions.InverseGamma(a, b), ("entropy",)),
    "Kumaraswamy": (lambda T, a, b: T.distributions.Kumaraswamy(a, b), ("entropy",)),
    "FisherSnedecor": (lambda T, a, b: T.distributions.FisherSnedecor(a * 3, b * 4), ()),
    "ContinuousBernoulli": (
        lambda T, a, b: T.distributions.ContinuousBernoulli(a / 3.5),
        ("entropy", "cdf", "icdf_of_cdf"),
    ),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("shape", [(), (3,)])
def test_continuous_family_is_torchs(name, shape):
    make, methods = FAMILIES[name]

    def case(T):
        if shape:  # below and above 1 and 2, where moments and modes change form; 1.75 puts probs at 0.5
            a, b = params(T, [0.6, 1.75, 3.0], [2.5, 0.8, 1.5])
        else:
            a, b = params(T, 1.2, 2.5)
        d = make(T, a, b)
        value = (T.tensor([0.3, 0.6, 0.9]) if shape else T.tensor(0.45)) + (0.7 if name == "Pareto" else 0.0)
        grads = [a] if name == "ContinuousBernoulli" else [a, b]
        return _described(T, d, value, grads, methods)

    # draws pass float32 exp, log and pow, which torch vectorizes with its own rounding
    same_as_torch(_with_icdf(case), rtol=2e-5, atol=1e-5, exact=False)


@needs_torch
def test_inverse_gamma_and_fisher_snedecor_draw_torchs_gamma_draws():
    def case(T):
        c, r = params(T, [0.5, 2.0, 7.0], [1.0, 0.3, 2.0])
        x = T.distributions.InverseGamma(c, r).rsample((5,))
        f = T.distributions.FisherSnedecor(c, r).rsample((5,))
        grads = T.autograd.grad(x.sum() + f.sum(), [c, r])
        return {"sample_inverse": x.detach(), "sample_f": f.detach(), "grad_c": grads[0], "grad_r": grads[1]}

    same_as_torch(case, rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.RelaxedBernoulli(T.tensor(1.0)),
        lambda T: T.distributions.RelaxedBernoulli(T.tensor(1.0), T.tensor(1.5)),
        lambda T: T.distributions.RelaxedBernoulli(T.tensor(1.0), T.tensor(0.5)).log_prob(T.tensor(1.5)),
        lambda T: T.distributions.RelaxedOneHotCategorical(T.tensor(1.0), T.tensor([0.5, -0.5])),
        lambda T: T.distributions.RelaxedOneHotCategorical(T.tensor(1.0), T.ones(2), T.ones(2)),
        lambda T: T.distributions.NegativeBinomial(T.tensor(-1.0), T.tensor(0.5)),
        lambda T: T.distributions.NegativeBinomial(T.tensor(2.0), T.tensor(1.0)),
        lambda T: T.distributions.NegativeBinomial(T.tensor(2.0), T.tensor(0.5)).log_prob(T.tensor(1.5)),
        lambda T: T.distributions.Weibull(T.tensor(1.0), T.tensor(-2.0)),
        lambda T: T.distributions.Weibull(1.0, 2.0).log_prob(T.tensor(-1.0)),
        lambda T: T.distributions.Pareto(T.tensor(1.0), T.tensor(0.0)),
        lambda T: T.distributions.Pareto(T.tensor(1.0), T.tensor(2.0)).log_prob(T.tensor(0.5)),
        lambda T: T.distributions.InverseGamma(T.tensor(-1.0), 1.0),
        lambda T: T.distributions.Kumaraswamy(1.0, 1.0).log_prob(T.tensor(1.5)),
        lambda T: T.distributions.FisherSnedecor(T.tensor(0.0), 1.0),
        lambda T: T.distributions.ContinuousBernoulli(T.tensor(1.5), validate_args=True),
        lambda T: T.distributions.ContinuousBernoulli(logits=T.tensor(0.5)).log_prob(T.tensor(2.0)),
    ],
)
def test_validation_errors_are_torchs(case):
    same_error(case)


@needs_torch
@pytest.mark.backend_agnostic
def test_class_attributes_are_torchs():
    names = ["RelaxedBernoulli", "RelaxedOneHotCategorical", "NegativeBinomial", "Weibull", "Pareto", "InverseGamma"]
    names += ["Kumaraswamy", "FisherSnedecor", "ContinuousBernoulli", "LowRankMultivariateNormal", "LogisticNormal"]
    names += ["VonMises", "GeneralizedPareto"]
    for name in names:
        mine, theirs = getattr(D, name), getattr(torch.distributions, name)
        assert repr(mine.arg_constraints) == repr(theirs.arg_constraints), name
        assert repr(mine.support) == repr(theirs.support) or name in ("Pareto", "GeneralizedPareto"), name
        assert mine.has_rsample == theirs.has_rsample or name in ("Weibull", "Pareto"), name
        transformed = issubclass(theirs, torch.distributions.TransformedDistribution)
        assert issubclass(mine, D.TransformedDistribution) == transformed, name


# ---- LowRankMultivariateNormal ----------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("batched", [False, True])
def test_low_rank_multivariate_normal_is_torchs(batched):
    def case(T):
        loc, factor, diag = params(
            T,
            [[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]] if batched else [0.5, -1.0, 2.0],
            [[1.0, 0.2], [-0.5, 0.7], [0.3, -1.1]],
            [0.5, 1.5, 0.8],
        )
        d = T.distributions.LowRankMultivariateNormal(loc, factor, diag)
        out = _described(T, d, T.tensor([[0.1, -0.2, 1.0], [1.5, 0.3, -0.7]]), [loc, factor, diag])
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            out[name] = getattr(d, name).detach()
        return out

    # draws go through a matrix product, summed in its own order
    same_as_torch(case, rtol=1e-5, atol=1e-5, exact=False)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.LowRankMultivariateNormal(T.tensor(0.0), T.ones(1, 1), T.ones(1)),
        lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(3), T.ones(3), T.ones(3)),
        lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(3), T.ones(2, 1), T.ones(3)),
        lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(3), T.ones(3, 1), T.ones(2)),
        lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(2, 3), T.ones(4, 3, 1), T.ones(3)),
        lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(3), T.ones(3, 1), T.tensor([-5.0, 1.0, 1.0])),
    ],
)
def test_low_rank_multivariate_normal_errors_are_torchs(case):
    same_error(case)


# ---- KL divergences ---------------------------------------------------------------------------------------------

KL_FAMILIES = {
    "ContinuousBernoulli": lambda T, a: T.distributions.ContinuousBernoulli(T.tensor([0.2, 0.4999, 0.8]) ** a),
    "Pareto": lambda T, a: T.distributions.Pareto(T.tensor([0.5, 1.0, 0.8]) * a, T.tensor([0.7, 2.5, 3.5]) * a),
    "Beta": lambda T, a: T.distributions.Beta(T.tensor([0.5, 2.0, 1.0]) * a, T.tensor([1.5, 1.0, 3.0])),
    "Exponential": lambda T, a: T.distributions.Exponential(T.tensor([0.5, 2.0, 1.0]) * a),
    "Gamma": lambda T, a: T.distributions.Gamma(T.tensor([0.5, 2.0, 1.0]) * a, T.tensor([1.5, 1.0, 3.0])),
    "Normal": lambda T, a: T.distributions.Normal(T.tensor([0.5, -1.0, 0.2]) * a, T.tensor([1.0, 2.0, 0.5]) * a),
    "Laplace": lambda T, a: T.distributions.Laplace(T.tensor([0.5, -1.0, 0.2]) * a, T.tensor([1.0, 2.0, 0.5])),
    "Uniform": lambda T, a: T.distributions.Uniform(T.tensor([0.1, 0.0, 1.2]) * a, T.tensor([0.6, 0.9, 3.0])),
    "Gumbel": lambda T, a: T.distributions.Gumbel(T.tensor([0.5, -1.0, 0.2]) * a, T.tensor([1.0, 2.0, 0.5]) * a),
    "MultivariateNormal": lambda T, a: T.distributions.MultivariateNormal(
        T.tensor([[0.5, -1.0, 2.0]]) * a, T.eye(3) * a + 0.2
    ),
    "LowRankMultivariateNormal": lambda T, a: T.distributions.LowRankMultivariateNormal(
        T.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, 0.1]]) * a,
        T.tensor([[1.0, 0.2], [-0.5, 0.7], [0.3, -1.1]]) * a,
        T.tensor([0.5, 1.5, 0.8]),
    ),
}
NEW_FAMILIES = ("ContinuousBernoulli", "Pareto", "LowRankMultivariateNormal", "Gumbel")


def _new_pairs() -> list[tuple[str, str]]:
    """The pairs of the families above with a rule in torch's registry that involve a family added here (or the
    Gumbel, whose rules came with them)."""
    return [pair for pair in registered_pairs(KL_FAMILIES) if set(pair) & set(NEW_FAMILIES)]


@needs_torch
@pytest.mark.backend_agnostic  # compositions of ops each family's own tests run on every backend
@pytest.mark.parametrize(("p", "q"), _new_pairs())
def test_kl_divergence_is_torchs(p, q):
    same_kl_as_torch(KL_FAMILIES, p, q)


@needs_torch
@pytest.mark.backend_agnostic
def test_low_rank_kl_refuses_different_event_shapes_as_torch():
    def case(T):
        D_ = T.distributions
        p = D_.LowRankMultivariateNormal(T.zeros(2), T.ones(2, 1), T.ones(2))
        return D_.kl_divergence(p, D_.MultivariateNormal(T.zeros(3), T.eye(3)))

    same_error(case)


# ---- structured transforms and the constraint registries --------------------------------------------------------

STRUCTURED = {
    "softmax": (lambda tr: tr.SoftmaxTransform(), (2, 3)),
    "stick_breaking": (lambda tr: tr.StickBreakingTransform(), (2, 3)),
    "lower_cholesky": (lambda tr: tr.LowerCholeskyTransform(), (2, 3, 3)),
    "positive_definite": (lambda tr: tr.PositiveDefiniteTransform(), (2, 3, 3)),
    "corr_cholesky": (lambda tr: tr.CorrCholeskyTransform(), (2, 6)),
    "reshape": (lambda tr: tr.ReshapeTransform((2, 3), (6,)), (4, 2, 3)),
    "cat": (lambda tr: tr.CatTransform([tr.ExpTransform(), tr.identity_transform], dim=-1, lengths=[1, 2]), (2, 3)),
    "cat_events": (
        lambda tr: tr.CatTransform([tr.IndependentTransform(tr.ExpTransform(), 1), tr.identity_transform], 0, [2, 3]),
        (5, 2),
    ),
    "stack": (lambda tr: tr.StackTransform([tr.ExpTransform(), tr.SigmoidTransform()], dim=1), (3, 2)),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(STRUCTURED))
def test_structured_transform_is_torchs(name):
    make, shape = STRUCTURED[name]

    def case(T):
        t = make(T.distributions.transforms)
        x = (T.linspace(-1.5, 2.0, math.prod(shape)).reshape(shape) * 0.7).requires_grad_()
        y = t(x)
        out = {"y": y.detach(), "x_back": t.inv(y).detach(), "reprs": repr([t, t.inv, t.domain, t.codomain])}
        out["facts"] = (t.bijective, t.domain.event_dim, t.codomain.event_dim, t == make(T.distributions.transforms))
        out["shapes"] = (tuple(t.forward_shape(T.Size(shape))), tuple(t.inverse_shape(y.shape)))
        if name not in ("softmax", "lower_cholesky", "positive_definite"):  # torch gives these no log-determinant
            jacobian = t.log_abs_det_jacobian(x, y)
            out["jacobian"] = jacobian.detach()
            if jacobian.requires_grad:  # a reshape's is a constant zero
                out["grad_jacobian"] = T.autograd.grad(jacobian.sum(), x, retain_graph=True)[0]
        out["grad_y"] = T.autograd.grad((y * T.arange(y.numel()).reshape(y.shape)).sum(), x)[0]
        return out

    same_as_torch(case, rtol=1e-5, atol=1e-5)


@pytest.mark.backend_agnostic
def test_stick_breaking_log_determinant_is_the_log_volume_change():
    """The log-determinant of the map onto the first ``K`` coordinates of the simplex, by autodiff's Jacobian."""
    t = D.transforms.StickBreakingTransform()
    x = lazygrad.tensor([0.3, -1.2, 0.8], dtype=lazygrad.float64)
    jacobian = lazygrad.autograd.functional.jacobian(lambda v: t(v)[:-1], x)
    expected = float(lazygrad.linalg.slogdet(jacobian)[1].item())
    assert abs(float(t.log_abs_det_jacobian(x, t(x)).item()) - expected) < 1e-10


CONSTRAINTS = [
    "real",
    "real_vector",
    "positive",
    "nonnegative",
    "unit_interval",
    "simplex",
    "lower_cholesky",
    "positive_definite",
    "positive_semidefinite",
    "corr_cholesky",
    "boolean",
    "interval(-1.0, 3.0)",
    "half_open_interval(0.0, 2.0)",
    "greater_than(2.0)",
    "greater_than_eq(-1.0)",
    "less_than(1.5)",
    "independent(constraints.positive, 2)",
    "cat([constraints.positive, constraints.real], 0, [2, 1])",
    "stack([constraints.unit_interval, constraints.positive], 0)",
]


@needs_torch
@pytest.mark.backend_agnostic  # which transform a constraint maps to; the transforms run on every backend above
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_biject_to_and_transform_to_are_torchs(registry, constraint):
    def case(T):
        c = eval(constraint, {"constraints": T.distributions.constraints}, vars(T.distributions.constraints))
        try:
            t = getattr(T.distributions, registry)(c)
        except NotImplementedError as e:
            return {"error": str(e)}
        x = T.linspace(-1.0, 1.2, 12).reshape(4, 3)
        if constraint in ("lower_cholesky", "positive_definite", "positive_semidefinite"):
            x = x.reshape(4, 3, 1).expand(4, 3, 3) + T.eye(3)
        elif constraint == "corr_cholesky":
            x = x[:, :3]
        elif constraint.startswith(("cat", "stack")):
            x = x.T[: 3 if constraint.startswith("cat") else 2]
        y = t(x)
        return {"repr": repr(t), "y": y, "inside": c.check(y).all().item(), "x_back": t.inv(y)}

    same_as_torch(case, rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.backend_agnostic
def test_constraint_registry_registration_is_torchs():
    def case(T):
        registry = T.distributions.constraint_registry.ConstraintRegistry()
        registry.register(T.distributions.constraints.positive, lambda c: T.distributions.transforms.ExpTransform())
        return repr(registry(T.distributions.constraints.greater_than(3.0)))

    assert case(lazygrad) == case(torch)
    same_error(lambda T: T.distributions.constraint_registry.ConstraintRegistry().register(3, lambda c: None))
    same_error(lambda T: T.distributions.biject_to(T.distributions.constraints.lower_cholesky))


@needs_torch
@pytest.mark.parametrize("shape", [(), (2,)])
def test_logistic_normal_is_torchs(shape):
    def case(T):
        loc, scale = params(T, [[0.5, -1.0, 0.2]] * (shape[0] if shape else 1), [1.0, 0.5, 2.0])
        d = T.distributions.LogisticNormal(loc[0] if not shape else loc, scale)
        value = T.tensor([0.1, 0.2, 0.3, 0.4])
        return _described(T, d, value, [loc, scale], ())

    # stick-breaking passes the draws through float32 sigmoid and log
    same_as_torch(case, rtol=1e-5, atol=1e-5, exact=False)


@needs_torch
def test_cumulative_distribution_transform_is_torchs():
    def case(T):
        loc, scale = params(T, [0.5, -1.0], [1.0, 2.0])
        t = T.distributions.transforms.CumulativeDistributionTransform(T.distributions.Normal(loc, scale))
        d = T.distributions.TransformedDistribution(T.distributions.Normal(0.0, 1.0), [t])
        x = T.tensor([0.2, -0.4])
        u = t(x)
        out = {"u": u.detach(), "back": t.inv(u).detach(), "jacobian": t.log_abs_det_jacobian(x, u).detach()}
        out["grads"] = T.autograd.grad(d.log_prob(T.tensor([0.3, 0.9])).sum(), [loc, scale])[0]
        return {**out, "support": repr(d.support), "domain": repr(t.domain), "sign": t.sign}

    same_as_torch(case, rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.distributions.transforms.ReshapeTransform((2, 3), (5,)),
        lambda T: T.distributions.transforms.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2)),
        lambda T: T.distributions.transforms.StickBreakingTransform().forward_shape(()),
        lambda T: T.distributions.transforms.CorrCholeskyTransform().forward_shape((4,)),
        lambda T: T.distributions.transforms.CorrCholeskyTransform().inverse_shape((3, 2)),
        lambda T: T.distributions.transforms.CatTransform([T.distributions.transforms.ExpTransform()], 0, [2, 1]),
        lambda T: T.distributions.transforms.CatTransform([T.distributions.transforms.ExpTransform()], 0, [2])(
            T.ones(3)
        ),
        lambda T: T.distributions.transforms.CatTransform([T.distributions.transforms.ExpTransform()], 2)(T.ones(3)),
        lambda T: T.distributions.transforms.StackTransform([T.distributions.transforms.ExpTransform()]).inv(T.ones(3)),
        lambda T: T.distributions.transforms.StackTransform([3]),
    ],
)
def test_structured_transform_errors_are_torchs(case):
    same_error(case)


@needs_torch
@pytest.mark.parametrize("shape", [(), (3,)])
def test_von_mises_is_torchs(shape):
    """Torch's rejection sampler round by round (concentrations from nearly uniform to nearly normal)."""

    def case(T):
        loc, concentration = params(T, *(([0.5, -2.0, 3.0], [0.1, 2.0, 30.0]) if shape else (1.0, 4.5)))
        d = T.distributions.VonMises(loc, concentration)
        value = T.tensor([0.1, 0.2, 3.1]) if shape else T.tensor(-0.3)
        out = _described(T, d, value, [loc, concentration], ())
        return {**out, "sample_many": d.sample((50,))}

    same_as_torch(case, rtol=1e-5, atol=1e-6)
    same_error(lambda T: T.distributions.VonMises(T.tensor(0.0), T.tensor(-1.0)))


@needs_torch
@pytest.mark.parametrize("concentration", [0.3, [-0.4, 0.0, 0.7]])
def test_generalized_pareto_is_torchs(concentration):
    """Heavy (positive), exponential (zero) and bounded (negative) tails, the exponential limit taken exactly."""

    def case(T):
        shape = (3,) if isinstance(concentration, list) else ()
        loc, scale = ([0.5, -1.0, 0.2], [1.0, 2.0, 0.5]) if shape else (0.5, 1.5)
        loc, scale, c = params(T, loc, scale, concentration)
        d = T.distributions.GeneralizedPareto(loc, scale, c)
        value = T.tensor([0.9, 0.1, 0.6]) if shape else T.tensor(1.2)
        out = _described(T, d, value, [loc, scale, c], ("entropy", "cdf", "icdf_of_cdf", "log_survival_function"))
        return {**out, "support_check": d.support.check(value)}

    same_as_torch(_with_icdf(case), rtol=1e-5, atol=1e-5, exact=False)
    same_error(lambda T: T.distributions.GeneralizedPareto(0.0, -1.0, 0.5))
    same_error(lambda T: T.distributions.GeneralizedPareto(0.0, 1.0, -0.5).log_prob(T.tensor(3.0)))
