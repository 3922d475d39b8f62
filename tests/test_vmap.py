"""``func.vmap`` and ``func.stack_module_state``: values against numpy, per-example gradients against ``jax.grad``
under ``jax.vmap``, torch's messages for bad arguments, and its three randomness modes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH
from hypothesis import given
from hypothesis import strategies as st

import lazygrad
from lazygrad import nn
from lazygrad.func import functional_call, grad, stack_module_state, vmap

RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 5))


@given(in_dim=st.integers(-3, 2), out_dim=st.integers(-2, 1), seed=st.integers(0, 2**16))
def test_a_mapped_function_equals_numpy_over_each_example(in_dim, out_dim, seed):
    """``vmap(f, in_dims, out_dims)(x)`` is f on each slice along in_dims, stacked along out_dims."""
    x = np.random.default_rng(seed).standard_normal((2, 3, 4))

    def f(a):
        return (a * a).sum(-1) + a[:, 0]

    got = vmap(lambda a: f(a), in_dims=in_dim, out_dims=out_dim)(lazygrad.tensor(x))
    examples = [f(example) for example in np.moveaxis(x, in_dim, 0)]
    np.testing.assert_allclose(got.numpy(), np.stack(examples, axis=out_dim), rtol=1e-12)


def test_inputs_left_whole_and_nested_structures():
    """None leaves an input whole; a dict input can map some entries and not others; outputs keep their form."""
    got = vmap(lambda d, w: {"product": d["x"] @ w, "pair": (d["bias"], d["x"].sum())},
               in_dims=({"x": 0, "bias": None}, None))({"x": lazygrad.tensor(X), "bias": lazygrad.tensor(W[0])},
                                                       lazygrad.tensor(W))
    np.testing.assert_allclose(got["product"].numpy(), X @ W, rtol=1e-12)
    np.testing.assert_allclose(got["pair"][0].numpy(), np.tile(W[0], (3, 1)))
    np.testing.assert_allclose(got["pair"][1].numpy(), X.sum(1), rtol=1e-12)


def test_nested_maps_make_an_outer_product():
    outer = vmap(vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None))
    np.testing.assert_allclose(outer(lazygrad.tensor(X[0]), lazygrad.tensor(W[0])).numpy(), np.outer(X[0], W[0]))


def test_mapping_builds_a_graph_and_runs_one_program():
    x = lazygrad.tensor(X)
    lazygrad.realize(x)
    before = lazygrad.metrics()["executions"]
    out = vmap(lambda a: (a.exp() * 2).sum())(x)
    assert lazygrad.metrics()["executions"] == before
    np.testing.assert_allclose(out.numpy(), (np.exp(X) * 2).sum(1), rtol=1e-12)
    assert lazygrad.metrics()["executions"] == before + 1


def _mlp_loss(params, x, y):
    hidden = (x @ params["w1"] + params["b1"]).tanh()
    return ((hidden @ params["w2"]).squeeze(-1) - y).pow(2).mean()


def test_per_example_gradients_equal_jax():
    """``vmap(grad(loss), in_dims=(None, 0, 0))``: one gradient per example, as jax.vmap(jax.grad(...)) gives."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rng = np.random.default_rng(0)
    params = {"w1": rng.standard_normal((3, 6)), "b1": rng.standard_normal(6), "w2": rng.standard_normal((6, 1))}
    x, y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    got = vmap(grad(_mlp_loss), in_dims=(None, 0, 0))({k: lazygrad.tensor(v) for k, v in params.items()},
                                                      lazygrad.tensor(x).unsqueeze(1), lazygrad.tensor(y).unsqueeze(1))

    def jax_loss(p, xb, yb):
        hidden = jnp.tanh(xb @ p["w1"] + p["b1"])
        return jnp.mean(((hidden @ p["w2"]).squeeze(-1) - yb) ** 2)

    with jax.enable_x64(True):
        expected = jax.vmap(jax.grad(jax_loss), in_axes=(None, 0, 0))(
            {k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(x)[:, None], jnp.asarray(y)[:, None])
        expected = {k: np.asarray(v) for k, v in expected.items()}
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_allclose(got[name].numpy(), expected[name], rtol=1e-10, atol=1e-12)


def test_an_ensemble_of_models_runs_from_their_stacked_state():
    lazygrad.manual_seed(0)
    models = [nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)) for _ in range(3)]
    batch = lazygrad.randn(5, 4)
    params, buffers = stack_module_state(models)
    assert params["0.weight"].shape == (3, 8, 4) and params["0.weight"].is_leaf and params["0.weight"].requires_grad
    assert buffers == {}

    def one_model(p, b, x):
        return functional_call(models[0], (p, b), (x,))

    together = vmap(one_model, in_dims=(0, 0, None))(params, buffers, batch)
    for k, model in enumerate(models):
        np.testing.assert_allclose(together[k].detach().numpy(), model(batch).detach().numpy(), rtol=1e-6, atol=1e-7)
    together.sum().backward()  # gradients reach the stacked leaves, one slice per model
    assert params["2.bias"].grad.shape == (3, 2)
    np.testing.assert_array_equal(params["2.bias"].grad.numpy(), np.full((3, 2), 5.0))


def test_stack_module_state_refuses_mixed_models():
    with pytest.raises(RuntimeError, match="Expected all models to have the same training/eval mode"):
        stack_module_state([nn.Linear(2, 2), nn.Linear(2, 2).eval()])
    with pytest.raises(RuntimeError, match="Expected all models to be of the same class"):
        stack_module_state([nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2))])
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        stack_module_state([])


def test_randomness_modes():
    x = lazygrad.zeros(4, 3)
    lazygrad.manual_seed(1)
    state = lazygrad.get_rng_state()
    with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
        vmap(lambda a: a + lazygrad.rand(3))(x)
    assert lazygrad.equal(lazygrad.get_rng_state(), state)  # the refused draws are put back
    same = vmap(lambda a: a + lazygrad.rand(3), randomness="same")(x).numpy()
    assert (same == same[0]).all()
    after_same = lazygrad.get_rng_state()
    lazygrad.set_rng_state(state)
    np.testing.assert_array_equal(same[0], lazygrad.rand(3).numpy())  # drawn once, as one call draws
    assert lazygrad.equal(lazygrad.get_rng_state(), after_same)
    lazygrad.set_rng_state(state)
    different = vmap(lambda a: a + lazygrad.rand(3), randomness="different")(x).numpy()
    assert len({tuple(row) for row in different}) == 4
    lazygrad.set_rng_state(state)
    np.testing.assert_array_equal(different, lazygrad.rand(4, 3).numpy())  # the draws of one batched call


def test_an_empty_batch_gives_empty_outputs():
    out = vmap(lambda a: a.sum(0) * 2)(lazygrad.zeros(0, 3, 2))
    assert out.shape == (0, 2)


BAD_CALLS = {
    "sizes": lambda torch, vmap: vmap(lambda a, b: a + b)(torch.ones(3, 4), torch.ones(4, 3)),
    "range": lambda torch, vmap: vmap(lambda a: a, in_dims=2)(torch.ones(3, 4)),
    "not a tensor": lambda torch, vmap: vmap(lambda a, b: a * b, in_dims=(0, 0))(torch.ones(3), 2.0),
    "in_dims None": lambda torch, vmap: vmap(lambda a: a, in_dims=None)(torch.ones(3)),
    "returns a number": lambda torch, vmap: vmap(lambda a: 3)(torch.ones(3)),
    "randomness name": lambda torch, vmap: vmap(lambda a: a, randomness="x")(torch.ones(3)),
    "0-d input": lambda torch, vmap: vmap(lambda a: a)(torch.tensor(1.0)),
}


@pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_calls_raise_torchs_errors(case):
    import torch

    errors = []
    for lib in (torch, lazygrad):
        with pytest.raises(Exception) as info:
            BAD_CALLS[case](lib, lib.func.vmap)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
