"""autograd.gradcheck, and gradcheck applied over primitives and composite ops."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import lazygrad
from lazygrad import autograd

# gradcheck's API and verdicts; backends agree on gradients in test_backend_agreement.py
pytestmark = pytest.mark.backend_agnostic

RNG = np.random.default_rng(7)
A = RNG.uniform(0.5, 1.5, (2, 3)) * RNG.choice([-1, 1], (2, 3))  # no element near 0 (kinks of abs, relu)
B = RNG.uniform(0.5, 1.5, (2, 3))
M = RNG.uniform(-1, 1, (3, 2))


def t(values: np.ndarray) -> lazygrad.Tensor:
    return lazygrad.tensor(values, dtype=lazygrad.float64, requires_grad=True)


# name -> (function of tensors, inputs). Positive inputs where the op needs them.
OPS: dict[str, tuple[Callable, tuple[np.ndarray, ...]]] = {
    "exp": (lambda a: a.exp(), (A,)),
    "log": (lambda b: b.log(), (B,)),
    "sqrt_rsqrt": (lambda b: b.sqrt() + b.rsqrt(), (B,)),
    "sin_cos_tanh": (lambda a: a.sin() * a.cos() + a.tanh(), (A,)),
    "sigmoid_erf": (lambda a: a.sigmoid() + a.erf(), (A,)),
    "log1p_expm1": (lambda b: b.log1p() * b.expm1(), (B,)),
    "abs_relu": (lambda a: a.abs() + a.relu(), (A,)),
    "add_sub_mul_div": (lambda a, b: (a + b) * (a - b) / b, (A, B)),
    "pow_tensor": (lambda b, a: b**a, (B, A)),
    "maximum_minimum": (lambda a, b: a.maximum(b) + a.minimum(b * 0.5), (A, B)),
    "atan2": (lambda a, b: a.atan2(b), (A, B)),
    "broadcast": (lambda a, r: a * r, (A, B[0])),
    "sum_mean": (lambda a: a.sum(1) + a.mean(0).sum(), (A,)),
    "prod": (lambda a: a.prod(1), (A,)),
    "amax": (lambda a: a.amax(1), (A,)),
    "var_std": (lambda a: a.var(1) + a.std(0).sum(), (A,)),
    "norm": (lambda a: a.norm(dim=1), (A,)),
    "logsumexp": (lambda a: a.logsumexp(1), (A,)),
    "softmax_log_softmax": (lambda a: a.softmax(1) * a.log_softmax(0), (A,)),
    "cumsum": (lambda a: a.cumsum(1), (A,)),
    "matmul": (lambda a, m: a @ m, (A, M)),
    "transpose_reshape": (lambda a: a.t().reshape(3, 2) * a.reshape(3, 2), (A,)),
    "slice_and_index": (lambda a: a[:, 1:] * a[0, :2], (A,)),
    "flip_cat_stack": (lambda a, b: lazygrad.cat([a.flip(1), b], 0) + lazygrad.stack([a, b]).sum(0).repeat(2, 1),
                       (A, B)),
    "where_clamp": (lambda a, b: lazygrad.where(a > 0, a * b, b).clamp(-1.0, 1.2), (A, B)),
}


@pytest.mark.parametrize("name", OPS)
def test_gradcheck_passes(name: str) -> None:
    fn, arrays = OPS[name]
    assert autograd.gradcheck(fn, tuple(t(x) for x in arrays), eps=1e-6, atol=1e-5, rtol=1e-3)


class WrongSquare(autograd.Function):
    @staticmethod
    def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor) -> lazygrad.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> lazygrad.Tensor:
        return grad * ctx.saved_tensors[0]  # the true gradient is twice this


def test_gradcheck_reports_a_wrong_backward_like_torch() -> None:
    x = t(np.array([1.0, 2.0]))
    with pytest.raises(autograd.GradcheckError, match=r"(?s)Jacobian mismatch for output 0 with respect to input 0,\n"
                                                      r"numerical:.*\nanalytical:"):
        autograd.gradcheck(WrongSquare.apply, (x,))
    assert autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_needs_an_input_that_requires_grad() -> None:
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        autograd.gradcheck(lambda x: x * 2, (lazygrad.ones(2, dtype=lazygrad.float64),))
