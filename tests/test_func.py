"""lazygrad.func transforms agree with autograd.grad, finite differences and jax, and compose."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import HAS_JAX, assert_close, smooth_arrays
from hypothesis import given, settings

import lazygrad
from lazygrad import autograd, func

if HAS_JAX:
    import jax
    import jax.numpy as jnp

# the transforms rewrite the graph; test_backend_agreement.py runs such programs everywhere
pytestmark = pytest.mark.backend_agnostic

F64 = lazygrad.float64
VECTOR = smooth_arrays((3,), low=-1.5, high=1.5)


def t(values: np.ndarray, requires_grad: bool = False) -> lazygrad.Tensor:
    return lazygrad.tensor(values, dtype=F64, requires_grad=requires_grad)


def scalar_f(m: object, x: object) -> object:
    return m.sum(m.sin(x) * m.exp(x) + x * x * x)


def vector_f(m: object, x: object) -> object:
    return m.tanh(x) * m.sum(x * x)


@settings(max_examples=5)
@given(VECTOR)
def test_grad_agrees_with_autograd_grad(xs: np.ndarray) -> None:
    x = t(xs, requires_grad=True)
    (want,) = autograd.grad(scalar_f(lazygrad, x), x)
    got = func.grad(functools.partial(scalar_f, lazygrad))(t(xs))
    assert not got.requires_grad
    assert_close(got, want)


@settings(max_examples=5)
@given(VECTOR, VECTOR)
def test_vjp_agrees_with_autograd_grad(xs: np.ndarray, vs: np.ndarray) -> None:
    x = t(xs, requires_grad=True)
    (want,) = autograd.grad(vector_f(lazygrad, x), x, grad_outputs=t(vs))
    out, vjp_fn = func.vjp(functools.partial(vector_f, lazygrad), t(xs))
    assert_close(out, vector_f(np, xs))
    assert_close(vjp_fn(t(vs))[0], want)


@settings(max_examples=5)
@given(VECTOR, VECTOR)
def test_jvp_matches_finite_differences(xs: np.ndarray, ts: np.ndarray) -> None:
    out, tangent_out = func.jvp(functools.partial(vector_f, lazygrad), (t(xs),), (t(ts),))
    eps = 1e-6
    numeric = (vector_f(np, xs + eps * ts) - vector_f(np, xs - eps * ts)) / (2 * eps)
    assert_close(out, vector_f(np, xs))
    assert_close(tangent_out, numeric, 1e-6, 1e-8)


def test_grad_composes_into_higher_derivatives() -> None:
    xs = np.array([-1.0, 0.5, 2.0])

    def f(x: lazygrad.Tensor) -> lazygrad.Tensor:
        return (x**4).sum()

    second = func.grad(lambda x: func.grad(f)(x).sum())
    third = func.grad(lambda x: second(x).sum())
    assert_close(second(t(xs)), 12 * xs**2)
    assert_close(third(t(xs)), 24 * xs)


def test_argnums_has_aux_and_value_and_grad() -> None:
    xs, ys = np.array([1.0, 2.0]), np.array([3.0, -1.0])

    def f(x: lazygrad.Tensor, y: lazygrad.Tensor) -> tuple:
        return (x * y).sum(), x + y

    (value, aux), (gx, gy) = func.value_and_grad(f, argnums=(0, 1), has_aux=True)(t(xs), t(ys))
    assert_close(value, (xs * ys).sum())
    assert_close(aux, xs + ys)
    assert_close(gx, ys)
    assert_close(gy, xs)
    g, aux = func.grad(f, argnums=1, has_aux=True)(t(xs), t(ys))
    assert_close(g, xs)


def test_grad_of_a_function_that_ignores_its_input_is_zero() -> None:
    assert_close(func.grad(lambda x: lazygrad.ones(1, dtype=F64).sum())(t(np.ones(2))), np.zeros(2))


def test_grad_needs_a_scalar_output() -> None:
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        func.grad(lambda x: x * 2)(t(np.ones(2)))


@functools.cache
def _jax_jacobian_and_hessian() -> tuple[np.ndarray, np.ndarray]:
    xs = np.array([0.25, -0.75, 1.0])
    with jax.enable_x64(True):
        jac = jax.jacobian(functools.partial(vector_f, jnp))(jnp.asarray(xs))
        hess = jax.hessian(functools.partial(scalar_f, jnp))(jnp.asarray(xs))
        return np.asarray(jac), np.asarray(hess)


@pytest.mark.skipif(not HAS_JAX, reason="jax is the oracle")
def test_jacrev_and_jacfwd_match_jax() -> None:
    xs = np.array([0.25, -0.75, 1.0])
    want, _ = _jax_jacobian_and_hessian()
    assert_close(func.jacrev(functools.partial(vector_f, lazygrad))(t(xs)), want, 1e-9, 1e-12)
    assert_close(func.jacfwd(functools.partial(vector_f, lazygrad))(t(xs)), want, 1e-9, 1e-12)


@pytest.mark.skipif(not HAS_JAX, reason="jax is the oracle")
def test_hessian_matches_jax() -> None:
    xs = np.array([0.25, -0.75, 1.0])
    _, want = _jax_jacobian_and_hessian()
    assert_close(func.hessian(functools.partial(scalar_f, lazygrad))(t(xs)), want, 1e-9, 1e-12)


def test_transforms_stay_connected_to_outer_history() -> None:
    # grad of f at a tensor that itself requires grad can be differentiated further by autograd.
    x = t(np.array([0.5, 1.5]), requires_grad=True)
    g = func.grad(lambda y: (y**3).sum())(x)
    (gg,) = autograd.grad(g.sum(), x)
    assert_close(gg, 6 * np.array([0.5, 1.5]))


def test_grad_and_value_returns_the_gradient_first() -> None:
    """torch.func's name and order: ``(gradient, value)``, and ``(gradient, (value, aux))`` with ``has_aux``."""
    x = t(np.array([1.0, -2.0]))
    g, value = func.grad_and_value(lambda v: (v ** 2).sum())(x)
    assert_close(g, [2.0, -4.0])
    assert value.item() == 5.0
    g, (value, aux) = func.grad_and_value(lambda v: ((v ** 2).sum(), v * 3), has_aux=True)(x)
    assert value.item() == 5.0 and aux.tolist() == [3.0, -6.0]


def test_functional_call_swaps_parameters_for_one_call() -> None:
    """The module computes with the given tensors (gradients reach them, not the parameters), then has its own
    parameters back; strict mode names the missing keys."""
    layer = lazygrad.nn.Linear(2, 1).double()
    weight = t(np.array([[2.0, -1.0]]), requires_grad=True)
    out = func.functional_call(layer, {"weight": weight, "bias": t(np.array([0.5]))}, (t(np.ones((3, 2))),))
    assert out.tolist() == [[1.5]] * 3
    out.sum().backward()
    assert weight.grad.tolist() == [[3.0, 3.0]] and layer.weight.grad is None
    assert isinstance(layer.weight, lazygrad.nn.Parameter) and layer.weight.tolist() != [[2.0, -1.0]]
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'bias'"):
        func.functional_call(layer, {"weight": weight}, (t(np.ones((1, 2))),), strict=True)


@pytest.mark.skipif(not HAS_JAX, reason="jax is the oracle")
def test_grad_and_vjp_over_nested_arguments_give_gradients_shaped_like_them() -> None:
    """A dict of parameters (torch.func's per-example gradient tutorial) and a tuple inside a list."""
    params = {"w": np.array([[0.5, -1.0], [2.0, 0.25]]), "pair": [(np.array([1.5, -0.5]), np.array(0.75))]}

    def loss(m, p, x):
        (b, s), = p["pair"]
        return (m.tanh(x @ p["w"] + b) * s).sum()

    x = np.array([0.3, -0.2])
    got = func.grad(functools.partial(loss, lazygrad))(
        {"w": t(params["w"]), "pair": [(t(params["pair"][0][0]), t(params["pair"][0][1]))]}, t(x))
    with jax.enable_x64(True):
        want = jax.grad(functools.partial(loss, jnp))(
            {"w": jnp.asarray(params["w"]), "pair": [(jnp.asarray(params["pair"][0][0]),
                                                      jnp.asarray(params["pair"][0][1]))]}, jnp.asarray(x))
    assert set(got) == {"w", "pair"} and type(got["pair"]) is list and type(got["pair"][0]) is tuple
    assert_close(got["w"], np.asarray(want["w"]), 1e-12, 1e-12)
    for g, w in zip(got["pair"][0], want["pair"][0]):
        assert_close(g, np.asarray(w), 1e-12, 1e-12)
    _, pull = func.vjp(lambda p: p["w"] * 2, {"w": t(params["w"])})
    (pulled,) = pull(t(np.ones((2, 2))))
    assert set(pulled) == {"w"}
    assert_close(pulled["w"], np.full((2, 2), 2.0))
