"""``torch.special``: torch's values, gradients and grad_fn names, and the tails of ``log_ndtr`` against double
precision references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch

import lazygrad

pytestmark = pytest.mark.backend_agnostic

POINTS = np.array([-5.5, -1.5, -0.5, 0.3, 3.0, 7.0], dtype=np.float32)
UNARY = ["expit", "gammaln", "psi", "digamma", "ndtr", "log_ndtr", "erf", "erfc", "erfinv", "exp2", "expm1",
         "log1p", "sinc", "entr", "logit"]


def _domain(name: str) -> np.ndarray:
    if name in ("erfinv", "logit"):
        return np.array([-0.9, -0.2, 0.1, 0.6], dtype=np.float32) if name == "erfinv" else \
            np.array([0.1, 0.45, 0.9], dtype=np.float32)
    if name == "entr":
        return np.array([0.2, 0.5, 1.0, 3.0], dtype=np.float32)
    if name == "log1p":
        return POINTS[POINTS > -1]
    return POINTS


@pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
@pytest.mark.parametrize("name", UNARY)
def test_unary_special_functions_match_torch(name):
    check_like_torch(lambda T, x: getattr(T.special, name)(x), _domain(name), rtol=2e-6, atol=1e-7)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
def test_functions_with_more_arguments_match_torch():
    a = np.array([[2.5, 3.0], [4.0, 1.75]], dtype=np.float32)
    check_like_torch(lambda T, a: T.special.multigammaln(a, 3), a)
    check_like_torch(lambda T, x, y: T.special.xlog1py(x, y), np.array([0.0, 2.0, 1.5], np.float32),
                     np.array([3.0, 3.0, 0.5], np.float32))
    check_like_torch(lambda T, a: T.special.logsumexp(a, 1), a)
    check_like_torch(lambda T, a: T.special.softmax(a, 0), a)
    check_like_torch(lambda T, a: T.special.log_softmax(a, dim=1), a)
    check_like_torch(lambda T, x: T.special.xlogy(x, 3.0), np.array([0.0, 2.0], np.float32))
    check_like_torch(lambda T, x: T.special.round(x, decimals=2), np.array([1.2345, 2.5], np.float32))
    check_like_torch(lambda T, x: T.special.logit(x, eps=0.25), np.array([0.2, 0.7], np.float32))


def _log_ndtr_reference(x: float) -> float:
    if x > -1:
        return math.log1p(-0.5 * math.erfc(x / math.sqrt(2)))
    if x > -30:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2)))
    series = 1 - 1 / x**2 + 3 / x**4 - 15 / x**6 + 105 / x**8
    return -x * x / 2 - math.log(-x) - 0.5 * math.log(2 * math.pi) + math.log(series)


def test_log_ndtr_is_accurate_in_both_tails():
    xs = [-60.0, -40.0, -37.5, -36.0, -20.0, -5.0, -1.01, -0.99, 0.0, 3.0, 8.0]
    x = lazygrad.tensor(xs, dtype=lazygrad.float64, requires_grad=True)
    out = lazygrad.special.log_ndtr(x)
    out.sum().backward()
    assert_close(out, np.array([_log_ndtr_reference(v) for v in xs]), rtol=1e-12, atol=1e-300)
    step = 1e-6
    slopes = [(_log_ndtr_reference(v + step) - _log_ndtr_reference(v - step)) / (2 * step) for v in xs]
    assert_close(x.grad, np.array(slopes), rtol=1e-6, atol=1e-12)
    assert np.all(np.isfinite(x.grad.numpy()))  # no branch that is not taken leaks an infinite slope


def test_ndtr_is_torchs_composition_in_float32():
    out = lazygrad.special.ndtr(lazygrad.tensor([-5.0, 0.0, 1.0]))
    # (1 + erf(x / sqrt 2)) / 2 in float32 cancels: 2.98e-07 at -5, where the true value is 2.87e-07
    assert out.tolist() == pytest.approx([2.9802322e-07, 0.5, 0.8413447], rel=1e-6)
    assert out.grad_fn is None and lazygrad.special.ndtr(lazygrad.tensor([1, 2])).dtype is lazygrad.float32


def test_entr_and_xlog1py_at_the_edges_of_their_domains():
    entr = lazygrad.special.entr(lazygrad.tensor([-1.0, 0.0, 0.5, 1.0, math.nan, math.inf]))
    assert str(entr.tolist()) == str([-math.inf, 0.0, float(np.float32(0.5 * math.log(2))), -0.0, math.nan, -math.inf])
    out = lazygrad.special.xlog1py(lazygrad.tensor([0.0, 0.0, 2.0, 0.0]), lazygrad.tensor([-1.0, math.nan, 3.0, 2.0]))
    assert str(out.tolist()) == str([0.0, math.nan, float(np.float32(2 * math.log(4.0))), 0.0])


def test_multigammaln_sums_shifted_log_gammas():
    a = lazygrad.tensor([2.5, 4.0], dtype=lazygrad.float64, requires_grad=True)
    out = lazygrad.special.multigammaln(a, 3)
    want = [sum(math.lgamma(v - j / 2) for j in range(3)) + 1.5 * math.log(math.pi) for v in (2.5, 4.0)]
    assert_close(out, np.array(want), rtol=1e-12)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        lazygrad.special.multigammaln(a, 0)


def test_special_functions_take_out_and_input():
    out = lazygrad.empty(2)
    result = lazygrad.special.expit(input=lazygrad.tensor([0.0, 1.0]), out=out)
    assert result is out and out.tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-1))])
