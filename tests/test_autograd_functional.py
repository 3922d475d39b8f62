"""``autograd.functional``: Jacobians, Hessians and their vector products against closed forms, and torch's."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad
from lazygrad.autograd import functional as AF

X = np.array([0.5, -1.25, 2.0])
Y = np.array([[1.5, -0.5], [0.25, 2.0]])
V = np.array([1.0, -2.0, 0.5])


def _t(a: np.ndarray, requires_grad: bool = False) -> lazygrad.Tensor:
    return lazygrad.tensor(a, dtype=lazygrad.float64, requires_grad=requires_grad)


def _cubic(x):
    return (x ** 3).sum()


def _pair(x, y):
    return (x.sin() * x, y @ y)


def test_jacobian_of_elementwise_and_of_a_pair_is_the_closed_form() -> None:
    jac = AF.jacobian(lambda x: x.sin() * x, _t(X))
    np.testing.assert_allclose(jac.numpy(), np.diag(np.cos(X) * X + np.sin(X)))
    (dx_a, dy_a), (dx_b, dy_b) = AF.jacobian(_pair, (_t(X), _t(Y)))
    assert dx_a.shape == (3, 3) and dy_a.shape == (3, 2, 2) and dx_b.shape == (2, 2, 3) and dy_b.shape == (2, 2, 2, 2)
    assert not dy_a.numpy().any() and not dx_b.numpy().any()  # no dependence: zeros
    expected = np.zeros((2, 2, 2, 2))  # d(Y @ Y)[i, j] / dY[k, l] = [i == k] Y[l, j] + Y[i, k] [l == j]
    for i, j, k, m in np.ndindex(2, 2, 2, 2):
        expected[i, j, k, m] = (i == k) * Y[m, j] + Y[i, k] * (m == j)
    np.testing.assert_allclose(dy_b.numpy(), expected)


def test_hessian_and_its_vector_products_are_the_closed_form() -> None:
    x, v = _t(X), _t(V)
    np.testing.assert_allclose(AF.hessian(_cubic, x).numpy(), np.diag(6 * X))
    for product in (AF.vhp, AF.hvp):
        value, hv = product(_cubic, x, v)
        np.testing.assert_allclose(value.item(), (X ** 3).sum())
        np.testing.assert_allclose(hv.numpy(), 6 * X * V)
    (hxx, hxy), (hyx, hyy) = AF.hessian(lambda a, b: (a * b).sum() ** 2, (_t(X[:2]), _t(X[1:])))
    a, b = X[:2], X[1:]
    np.testing.assert_allclose(hxy.numpy(), 2 * np.outer(b, a) + 2 * (a * b).sum() * np.eye(2))
    np.testing.assert_allclose(hxx.numpy(), 2 * np.outer(b, b))
    np.testing.assert_allclose(hyy.numpy(), 2 * np.outer(a, a))
    np.testing.assert_allclose(hyx.numpy(), hxy.numpy().T)


def test_vjp_and_jvp_are_products_with_the_jacobian() -> None:
    x, v = _t(X), _t(V)
    jac = np.diag(np.cos(X) * X + np.sin(X))
    out, product = AF.vjp(lambda t: t.sin() * t, x, v)
    np.testing.assert_allclose(out.numpy(), np.sin(X) * X)
    np.testing.assert_allclose(product.numpy(), V @ jac)
    out, product = AF.jvp(lambda t: t.sin() * t, x, v)
    np.testing.assert_allclose(product.numpy(), jac @ V)
    grad = AF.vjp(_cubic, (x,))[1]
    assert isinstance(grad, tuple) and np.allclose(grad[0].numpy(), 3 * X ** 2)  # a tuple in, a tuple out


def test_results_are_detached_unless_a_graph_is_asked_for() -> None:
    x = _t(X, requires_grad=True)
    assert not AF.jacobian(lambda t: t ** 2, x).requires_grad
    jac = AF.jacobian(lambda t: t ** 2, x, create_graph=True)
    (second,) = lazygrad.autograd.grad(jac.sum(), x)  # the graph reaches x itself
    np.testing.assert_allclose(second.numpy(), np.full(3, 2.0))


def test_errors_and_strict_mode_follow_torch() -> None:
    x = _t(X)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda t: t * 2, x)
    with pytest.raises(RuntimeError, match=r"^Output 0 of the user-provided function does not require gradients"):
        AF.jacobian(lambda t: _t(V), x, strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, x), strict=True)
    for second_order in (AF.hessian, functools.partial(AF.vhp, v=x), functools.partial(AF.hvp, v=x)):
        with pytest.raises(RuntimeError, match=r"^While computing the hessian, found that the jacobian of the "
                                                r"user-provided function with respect to input 0 is independent"):
            second_order(lambda t: (t * 2).sum(), x, strict=True)  # a linear function's gradient is a constant
    assert AF.hessian(lambda t: (t * t).sum(), x, strict=True).tolist() == (2 * np.eye(3)).tolist()
    with pytest.raises(RuntimeError, match="single Tensor with a single element"):
        AF.hessian(lambda t: t * 2, x)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda t: t, [1.0])
    with pytest.raises(NotImplementedError, match="requires `vectorize=True`"):
        AF.jacobian(lambda t: t, x, strategy="forward-mode")
    assert np.array_equal(AF.jacobian(lambda t: t * 2, x, vectorize=True, strategy="forward-mode").numpy(),
                          2 * np.eye(3))


@pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
def test_every_function_gives_torchs_values_and_structure() -> None:
    import torch

    def run(m):
        F = m.autograd.functional
        x, y, v = (m.tensor(a, dtype=m.float64) for a in (X, Y, V))
        return [F.jacobian(_pair, (x, y)), F.jacobian(lambda t: t.exp(), x), F.hessian(_cubic, x),
                F.hessian(lambda a, b: (a * b).sum() ** 2, (x[:2], x[1:])), F.vjp(lambda t: t.tanh(), x, v),
                F.jvp(lambda t: t.tanh(), x, v), F.vhp(_cubic, x, v), F.hvp(_cubic, (x,), (v,))]

    def plain(value):
        return [plain(v) for v in value] if isinstance(value, tuple) else value.tolist()

    for got, want in zip(run(lazygrad), run(torch)):
        assert (type(got) is tuple) == (type(want) is tuple)
        assert _same(plain(got), plain(want)), (got, want)


def _same(got, want) -> bool:
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want))
    return bool(np.isclose(got, want, rtol=1e-12, atol=1e-12))
