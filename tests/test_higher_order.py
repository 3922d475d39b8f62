"""autograd.grad and create_graph: gradients returned, gradients of gradients, and still one program."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import HAS_JAX, HAS_TORCH, assert_close

import lazygrad
from lazygrad import autograd

if HAS_JAX:
    import jax
    import jax.numpy as jnp
if HAS_TORCH:
    import torch

# create_graph rewrites the graph; test_backend_agreement.py runs such programs everywhere
pytestmark = pytest.mark.backend_agnostic

F64 = lazygrad.float64
X = np.array([-1.25, 0.5, 1.75])


def leaf(values: np.ndarray = X) -> lazygrad.Tensor:
    return lazygrad.tensor(values, dtype=F64, requires_grad=True)


# ---- autograd.grad: torch's semantics and errors ------------------------------------------------------------


def test_grad_returns_gradients_without_touching_dot_grad() -> None:
    x = leaf()
    (g,) = autograd.grad((x * x).sum(), x)
    assert x.grad is None and g.grad_fn is None and not g.requires_grad
    assert_close(g, 2 * X)


def test_grad_of_several_outputs_and_inputs_sums_over_outputs() -> None:
    x, y = leaf(), leaf(X + 1)
    gx, gy = autograd.grad([(x * y).sum(), x.sum()], [x, y])
    assert_close(gx, X + 2)
    assert_close(gy, X)


def test_grad_with_respect_to_a_non_leaf() -> None:
    x = leaf()
    h = x * 3
    (g,) = autograd.grad((h * h).sum(), h)
    assert_close(g, 2 * 3 * X)


def test_unused_input_raises_unless_allowed() -> None:
    x, unused = leaf(), leaf()
    with pytest.raises(RuntimeError, match=r"appears to not have been used in the graph\. Set allow_unused=True"):
        autograd.grad(x.sum(), [x, unused], retain_graph=True)
    g, nothing = autograd.grad(x.sum(), [x, unused], allow_unused=True)
    assert nothing is None
    assert_close(g, np.ones(3))


def test_materialize_grads_gives_zeros_for_unused_inputs() -> None:
    x, unused = leaf(), leaf()
    _, zero = autograd.grad(x.sum(), [x, unused], materialize_grads=True)
    assert_close(zero, np.zeros(3))


def test_non_scalar_output_needs_grad_outputs() -> None:
    x = leaf()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        autograd.grad(x * 2, x)
    (g,) = autograd.grad(x * 2, x, grad_outputs=lazygrad.tensor([1.0, 2.0, 3.0], dtype=F64))
    assert_close(g, [2.0, 4.0, 6.0])


def test_grad_outputs_of_the_wrong_shape_raise() -> None:
    x = leaf()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\]"):
        autograd.grad(x * 2, x, grad_outputs=lazygrad.ones(2, dtype=F64))


def test_inputs_and_outputs_must_require_grad() -> None:
    x = leaf()
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad(x.sum(), lazygrad.ones(3))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        autograd.grad(lazygrad.ones(3).sum(), x)


def test_grad_frees_the_graph_unless_retained() -> None:
    x = leaf()
    y = (x.exp() * x).sum()
    autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        autograd.grad(y, x)
    z = (x.exp() * x).sum()
    first = autograd.grad(z, x, retain_graph=True)[0]
    assert_close(autograd.grad(z, x)[0], first)


def test_backward_with_inputs_accumulates_only_there() -> None:
    x, y = leaf(), leaf()
    (x * y).sum().backward(inputs=[x])
    assert y.grad is None
    assert_close(x.grad, X)


# ---- create_graph: higher derivatives --------------------------------------------------------------------------


def test_create_graph_gradients_carry_history() -> None:
    x = leaf()
    (g,) = autograd.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    assert g.grad_fn.name().endswith("Backward")


def test_a_gradient_requires_grad_only_through_what_its_formula_uses() -> None:
    """As in torch: under create_graph, ``(2 * x).sum()``'s gradient is a constant (no history, so it cannot be
    differentiated again), ``(x * x).sum()``'s depends on x; a chain keeps history only where a factor does."""
    x = leaf()
    (constant,) = autograd.grad((2 * x).sum(), x, create_graph=True)
    (linear,) = autograd.grad((x * x).sum(), x, create_graph=True)
    (chained,) = autograd.grad((x.exp() * 3).sum() + (x * 2).sum(), x, create_graph=True)
    assert not constant.requires_grad and constant.grad_fn is None and "grad_fn" not in repr(constant)
    assert linear.requires_grad and chained.requires_grad
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        autograd.grad(constant.sum(), x)
    assert_close(autograd.grad(chained.sum(), x)[0], 3 * np.exp(X))


def test_third_derivative_of_x_to_the_fourth_is_24x() -> None:
    x = leaf()
    (d1,) = autograd.grad((x**4).sum(), x, create_graph=True)
    (d2,) = autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = autograd.grad(d2.sum(), x)
    assert_close(d1, 4 * X**3)
    assert_close(d2, 12 * X**2)
    assert_close(d3, 24 * X)


def test_backward_create_graph_leaves_a_differentiable_grad() -> None:
    x = leaf()
    (x.sin() * x).sum().backward(create_graph=True)
    first = x.grad
    assert first.grad_fn is not None
    x.grad = None
    first.sum().backward()
    assert_close(first, np.sin(X) + X * np.cos(X))
    assert_close(x.grad, 2 * np.cos(X) - X * np.sin(X))


def test_gradient_through_the_cotangent() -> None:
    # d/dv of <J^T v, w> is J w: the gradient graph is differentiable in its seed too.
    x, v = leaf(), leaf(np.array([1.0, -2.0, 0.5]))
    (g,) = autograd.grad(x.tanh(), x, grad_outputs=v, create_graph=True)
    (dv,) = autograd.grad((g * x).sum(), v)
    assert_close(dv, (1 - np.tanh(X) ** 2) * X)


def test_gradients_that_share_a_node_stay_separate_tensors() -> None:
    # add hands one cotangent node to both arguments; as gradients they must remain two tensors,
    # or differentiating their product would see one factor only.
    a, b = leaf(), leaf(X + 1)
    ga, gb = autograd.grad(((a + b) ** 2).sum(), [a, b], create_graph=True)
    (d,) = autograd.grad((ga * gb).sum(), a)
    assert_close(d, 8 * (2 * X + 1))


# ---- against jax (and torch when installed) ---------------------------------------------------------------------

# Each case is written once against the API lazygrad and jax.numpy share.
CASES = {
    "sin_exp": lambda m, x: m.sum(m.sin(x) * m.exp(x)),
    "tanh_square": lambda m, x: m.sum(m.tanh(x) ** 2),
    "rational": lambda m, x: m.sum(x / (1 + x * x)),
    "sqrt_log1p": lambda m, x: m.sum(m.sqrt(m.log1p(x * x))),
    "quadratic_form": lambda m, x: m.sum(x * (m.reshape(x, (3, 1)) * x)),
    "softmax_entropy": lambda m, x: m.sum(m.exp(x) / m.sum(m.exp(x)) * x),
}


@functools.cache
def _jax_derivatives(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Hessian-vector product and third-order directional derivative from jax, in float64."""
    f = functools.partial(CASES[name], jnp)
    v = np.array([0.5, -1.0, 2.0])
    with jax.enable_x64(True):
        def hvp(x: jax.Array) -> jax.Array:
            return jax.grad(lambda y: jnp.vdot(jax.grad(f)(y), v))(x)

        third = jax.grad(lambda y: jnp.vdot(hvp(y), v))(jnp.asarray(X))
        return np.asarray(hvp(jnp.asarray(X))), np.asarray(third)


@pytest.mark.skipif(not HAS_JAX, reason="jax is the oracle")
@pytest.mark.parametrize("name", CASES)
def test_second_and_third_derivatives_match_jax(name: str) -> None:
    x = leaf()
    v = lazygrad.tensor([0.5, -1.0, 2.0], dtype=F64)
    (g,) = autograd.grad(CASES[name](lazygrad, x), x, create_graph=True)
    (hv,) = autograd.grad((g * v).sum(), x, create_graph=True)
    (third,) = autograd.grad((hv * v).sum(), x)
    want_hv, want_third = _jax_derivatives(name)
    assert_close(hv, want_hv, 1e-9, 1e-12)
    assert_close(third, want_third, 1e-9, 1e-12)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
def test_double_backward_matches_torch() -> None:
    def f(m: object, x: object, w: object) -> object:
        return ((x @ w).tanh() ** 2).sum()

    xs, ws = np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(0.5, -0.5, 12).reshape(3, 4)
    x, w = lazygrad.tensor(xs, requires_grad=True), lazygrad.tensor(ws, requires_grad=True)
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    gx, gw = autograd.grad(f(lazygrad, x, w), [x, w], create_graph=True)
    tgx, tgw = torch.autograd.grad(f(torch, tx, tw), [tx, tw], create_graph=True)
    second = autograd.grad((gx * gx).sum() + gw.sum(), [x, w])
    want = torch.autograd.grad((tgx * tgx).sum() + tgw.sum(), [tx, tw])
    for got, ref in zip(second, want):
        assert_close(got, ref, 1e-9, 1e-12)


# ---- one program --------------------------------------------------------------------------------------------------


def _mlp_loss(m: object, w1: object, w2: object, x: object) -> object:
    return m.sum((m.tanh(x @ w1) @ w2) ** 2) / 5


def test_hessian_vector_product_of_an_mlp_is_one_program() -> None:
    rng = np.random.default_rng(0)
    w1s, w2s, xs = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((5, 3))
    v1s, v2s = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    w1, w2 = lazygrad.tensor(w1s, requires_grad=True), lazygrad.tensor(w2s, requires_grad=True)
    x, v1, v2 = lazygrad.tensor(xs), lazygrad.tensor(v1s), lazygrad.tensor(v2s)
    lazygrad.realize()
    lazygrad.reset_metrics()
    g1, g2 = autograd.grad(_mlp_loss(lazygrad, w1, w2, x), [w1, w2], create_graph=True)
    h1, h2 = autograd.grad((g1 * v1).sum() + (g2 * v2).sum(), [w1, w2])
    assert lazygrad.metrics()["executions"] == 0
    got1, got2 = h1.numpy(), h2.numpy()
    assert lazygrad.metrics()["executions"] == 1
    if HAS_JAX:
        with jax.enable_x64(True):
            def loss(ws: tuple) -> jax.Array:
                return _mlp_loss(jnp, ws[0], ws[1], jnp.asarray(xs))

            _, want = jax.jvp(jax.grad(loss), ((jnp.asarray(w1s), jnp.asarray(w2s)),),
                              ((jnp.asarray(v1s), jnp.asarray(v2s)),))
        assert_close(got1, want[0], 1e-9, 1e-12)
        assert_close(got2, want[1], 1e-9, 1e-12)


def test_plain_backward_stays_free_of_history() -> None:
    x = leaf()
    (x * x).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def _maml_outer_loss(a: np.ndarray, b: np.ndarray, create_graph: bool) -> tuple[lazygrad.Tensor, ...]:
    """One MAML step on ``x @ a.t() @ b.t()`` (two linear layers' weights): the query loss after an inner SGD
    step, and the leaves it was computed from."""
    rng = np.random.default_rng(4)
    x, y = lazygrad.tensor(rng.standard_normal((5, 1))), lazygrad.tensor(rng.standard_normal((5, 1)))
    xq, yq = lazygrad.tensor(rng.standard_normal((4, 1))), lazygrad.tensor(rng.standard_normal((4, 1)))
    A, B = (lazygrad.tensor(v, dtype=F64, requires_grad=True) for v in (a, b))

    def loss(A: lazygrad.Tensor, B: lazygrad.Tensor, x: lazygrad.Tensor, y: lazygrad.Tensor) -> lazygrad.Tensor:
        return ((x @ A.t()).tanh() @ B.t() - y).pow(2).mean()

    gA, gB = autograd.grad(loss(A, B, x, y), [A, B], create_graph=create_graph)
    return loss(A - 0.1 * gA, B - 0.1 * gB, xq, yq), A, B


def test_second_order_gradients_through_transposed_weights_match_finite_differences() -> None:
    """A transposed weight's rule builds its gradient from the product behind its cotangent; under create_graph
    the cotangent must stay on the path, or the meta-gradient loses every term through the inner gradient."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 1)), rng.standard_normal((1, 3))
    outer, A, B = _maml_outer_loss(a, b, create_graph=True)
    assert outer.requires_grad
    got = [g.numpy().ravel() for g in autograd.grad(outer, [A, B])]
    step, want = 1e-6, []
    for k, v in enumerate((a, b)):
        slope = np.zeros(v.size)
        for i in range(v.size):
            moved = [a.copy(), b.copy()]
            for sign in (1, -1):
                moved[k].flat[i] = v.flat[i] + sign * step
                slope[i] += sign * _maml_outer_loss(*moved, create_graph=False)[0].item() / (2 * step)
        want.append(slope)
    for g, w in zip(got, want):
        assert_close(g, w, rtol=1e-6, atol=1e-8)
