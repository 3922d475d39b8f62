"""LazyLinear (parameters created at the first call), RReLU / F.rrelu and F.gumbel_softmax: torch's printing,
shapes, dtypes and grad_fn names; the random parts by their distributions (the draws themselves are checked
against torch's in tests/test_torch_draws_functional.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")


@needs_torch
@pytest.mark.backend_agnostic
def test_lazy_linear_prints_and_materializes_like_torch():
    def run(T):
        T.manual_seed(0)
        model = T.nn.Sequential(T.nn.LazyLinear(4), T.nn.ReLU(), T.nn.LazyLinear(2, bias=False))
        before = [repr(model), repr(model[0].weight), type(model[0].weight).__name__]
        out = model(T.ones(3, 5))
        return [*before, repr(model), type(model[0]).__name__, type(model[0].weight).__name__, tuple(out.shape),
                [tuple(p.shape) for p in model.parameters()]]

    assert run(lazygrad) == run(torch)


def test_lazy_linear_trains_after_a_dry_run():
    model = nn.Sequential(nn.LazyLinear(3), nn.Tanh(), nn.LazyLinear(1))
    x, y = lazygrad.randn(8, 5), lazygrad.randn(8, 1)
    model(x)
    opt = lazygrad.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_lazy_linear_takes_its_dtype_from_to():
    layer = nn.LazyLinear(2).double()
    layer(lazygrad.ones(1, 3, dtype=lazygrad.float64))
    assert layer.weight.dtype == lazygrad.float64 and layer.bias.dtype == lazygrad.float64


@needs_torch
@pytest.mark.backend_agnostic
def test_rrelu_repr_and_grad_fn_match_torch():
    def run(T):
        x = T.linspace(-2, 2, 5).requires_grad_()
        return [repr(T.nn.RReLU(0.1, 0.3)), repr(T.nn.RReLU(inplace=True)),
                T.nn.functional.rrelu(x, training=True).grad_fn.name(), T.nn.functional.rrelu(x).grad_fn.name()]

    assert run(lazygrad) == run(torch)


def test_rrelu_eval_uses_the_mean_slope_and_training_draws_slopes_in_range():
    x = lazygrad.tensor(np.linspace(-2, 2, 401), dtype=lazygrad.float64, requires_grad=True)
    layer = nn.RReLU(0.1, 0.3).eval()
    want = np.where(x.detach().numpy() > 0, x.detach().numpy(), 0.2 * x.detach().numpy())
    assert_close(layer(x), want)
    layer.train()
    y = layer(x)
    y.sum().backward()
    slopes = (y.detach().numpy() / x.detach().numpy())[:200]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    assert_close(x.grad[:200], slopes)  # the gradient is the drawn slope
    assert_close(y[201:], x[201:].detach())


def test_rrelu_rejects_a_lower_bound_above_the_upper():
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
        F.rrelu(lazygrad.ones(2), 0.5, 0.2, training=True)


def test_gumbel_softmax_samples_the_categorical_distribution():
    lazygrad.manual_seed(0)
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    logits = lazygrad.tensor(np.log(np.tile(probs, (4000, 1))), requires_grad=True)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    counts = hard.detach().numpy().sum(0) / 4000
    assert np.abs(counts - probs).max() < 0.03
    assert_close(hard.detach().sum(-1), np.ones(4000))
    soft = F.gumbel_softmax(logits[:3], tau=2.0)
    assert_close(soft.detach().sum(-1), np.ones(3))
    (hard * lazygrad.arange(4.0)).sum().backward()  # straight through: the soft sample's gradient
    assert np.abs(logits.grad.numpy()).sum() > 0


def test_gumbel_softmax_warns_about_eps():
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        F.gumbel_softmax(lazygrad.zeros(2, 3), eps=1e-5)


@needs_torch
@pytest.mark.backend_agnostic
def test_lazy_linear_loads_a_state_dict_before_its_first_call():
    source = torch.nn.Linear(4, 3)
    state = {k: lazygrad.tensor(v.detach().numpy()) for k, v in source.state_dict().items()}
    layer = nn.LazyLinear(3)
    layer.load_state_dict(state)
    assert tuple(layer.weight.shape) == (3, 4) and repr(layer) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    assert_close(layer(lazygrad.tensor(x)), source(torch.tensor(x)).detach())
    assert repr(layer) == "Linear(in_features=4, out_features=3, bias=True)"
