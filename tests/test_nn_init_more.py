"""``nn.init``'s truncated normal, orthogonal, identity and Dirac initializers: the distributions and structures
torch's produce, and torch's errors (tests/test_torch_draws_nn.py checks the values against torch's)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad
from lazygrad.nn import init

if HAS_TORCH:
    pass

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")


def _truncated_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-z * z / 2) / math.sqrt(2 * math.pi) for z in (alpha, beta)]
    mass = (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2))) / 2
    shift = (pdf[0] - pdf[1]) / mass
    variance = 1 + (alpha * pdf[0] - beta * pdf[1]) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


def test_trunc_normal_draws_the_truncated_distribution():
    lazygrad.manual_seed(0)
    w = init.trunc_normal_(lazygrad.empty(200, 300), mean=0.5, std=2.0, a=-1.0, b=3.0).numpy()
    want_mean, want_std = _truncated_moments(0.5, 2.0, -1.0, 3.0)
    assert w.dtype == np.float32 and w.min() >= -1.0 and w.max() <= 3.0
    assert abs(w.mean() - want_mean) < 0.02 and abs(w.std() - want_std) < 0.02


def test_trunc_normal_follows_the_generator():
    draws = [init.trunc_normal_(lazygrad.empty(5), generator=lazygrad.Generator().manual_seed(3)).tolist()
             for _ in range(2)]
    assert draws[0] == draws[1]


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    q = init.orthogonal_(lazygrad.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1).astype(np.float64)
    gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(gram, 4 * np.eye(len(gram)), atol=1e-5)


def test_eye_and_dirac_build_torch_s_patterns():
    np.testing.assert_array_equal(init.eye_(lazygrad.empty(2, 3)).numpy(), np.eye(2, 3))
    kernel = init.dirac_(lazygrad.empty(4, 2, 3), groups=2).numpy()
    want = np.zeros((4, 2, 3))
    want[[0, 1, 2, 3], [0, 1, 0, 1], 1] = 1
    np.testing.assert_array_equal(kernel, want)


def test_dirac_conv_passes_its_input_through():
    x = lazygrad.randn(1, 3, 5, 5)
    conv = lazygrad.nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), rtol=1e-6)


ERRORS = [
    (lambda: init.eye_(lazygrad.ones(2, 2, 2)), "Only tensors with 2 dimensions are supported"),
    (lambda: init.dirac_(lazygrad.ones(2, 2)), "Only tensors with 3, 4, or 5 dimensions are supported"),
    (lambda: init.dirac_(lazygrad.ones(3, 2, 3), 2), "dim 0 must be divisible by groups"),
    (lambda: init.orthogonal_(lazygrad.ones(3)), "Only tensors with 2 or more dimensions are supported"),
]


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_match_torch(index):
    make, message = ERRORS[index]
    with pytest.raises(ValueError) as error:
        make()
    assert str(error.value) == message
