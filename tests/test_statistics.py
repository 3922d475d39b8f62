"""Statistics: cdist, cov, corrcoef, histc, quantile/nanquantile, unique_consecutive, the trapezoidal rule, and
the random generator's state (seed, get_rng_state, set_rng_state, randint_like)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch, check_op

import lazygrad

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
RNG = np.random.default_rng(11)
A = RNG.permutation(np.arange(12, dtype=np.float64) - 5.5).reshape(4, 3) / 4  # distinct: no ties
B = RNG.standard_normal((5, 3))


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_cdist_matches_numpy(p):
    def oracle(m, a, b):
        d = m.abs(a[:, None, :] - b[None, :, :])
        return d.max(-1) if p == float("inf") else (d**p).sum(-1) ** (1 / p)

    check_op(lambda T, a, b: T.cdist(a, b, p=p), oracle, A, B)


def test_cdist_errors():
    a = lazygrad.tensor(A)
    _raises(lambda: lazygrad.cdist(a[0], a), RuntimeError, "cdist only supports at least 2D tensors, X1 got: 1D")
    _raises(lambda: lazygrad.cdist(a, lazygrad.ones(2, 4)), RuntimeError,
            "X1 and X2 must have the same number of columns. X1: 3 X2: 4")


def test_cov_and_corrcoef_match_numpy():
    check_op(lambda T, a: T.cov(a), lambda m, a: m.cov(a), A)
    check_op(lambda T, a: a.cov(correction=0), lambda m, a: m.cov(a, ddof=0), A)
    freq, weights = np.array([1, 2, 1]), np.array([0.5, 1.0, 2.0])
    check_op(lambda T, a: T.cov(a, fweights=T.tensor(freq), aweights=T.tensor(weights)),
             lambda m, a: m.cov(a, fweights=freq, aweights=weights), A)
    check_op(lambda T, a: T.corrcoef(a), lambda m, a: m.corrcoef(a), A)
    assert abs(lazygrad.cov(lazygrad.tensor([1, 2, 4])).item() - 7 / 3) < 1e-6


def test_histc_counts_values_in_bins():
    x = lazygrad.tensor([1.0, 2.0, 1.0, 4.0])
    assert lazygrad.histc(x, bins=4, min=0, max=3).tolist() == [0, 2, 1, 0]
    assert x.histc(4).tolist() == [2, 1, 0, 1]  # over the data's range: 1..4
    _raises(lambda: lazygrad.histc(lazygrad.tensor([1, 2]), 3), NotImplementedError,
            "\"histogram_cpu\" not implemented for 'Long'")


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_matches_numpy(interpolation):
    method = {"midpoint": "midpoint"}.get(interpolation, interpolation)
    check_op(lambda T, a: T.quantile(a, 0.3, dim=1, interpolation=interpolation),
             lambda m, a: np.quantile(a, 0.3, axis=1, method=method), A, jax_oracle=False)
    q = np.array([0.25, 0.5, 0.9])
    check_op(lambda T, a: a.quantile(T.tensor(q), keepdim=True, interpolation=interpolation),
             lambda m, a: np.quantile(a, q, keepdims=True, method=method), A, jax_oracle=False)


def test_nanquantile_skips_nan():
    x = lazygrad.tensor([[1.0, float("nan"), 3.0], [float("nan")] * 3])
    assert np.isnan(lazygrad.quantile(x[0], 0.5).item())
    got = lazygrad.nanquantile(x, 0.5, dim=1).tolist()
    assert got[0] == 2.0 and np.isnan(got[1])
    _raises(lambda: lazygrad.quantile(lazygrad.tensor(A), 1.5), RuntimeError,
            "quantile() q must be in the range [0, 1] but got 1.5")


def test_unique_consecutive_runs():
    x = lazygrad.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    values, inverse, counts = lazygrad.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3, 1, 2]
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert counts.tolist() == [2, 2, 1, 2, 1]
    rows, counts = lazygrad.tensor([[1, 1], [1, 1], [2, 3]]).unique_consecutive(dim=0, return_counts=True)
    assert rows.tolist() == [[1, 1], [2, 3]] and counts.tolist() == [2, 1]


def test_rng_state_round_trips():
    state = lazygrad.get_rng_state()
    assert state.dtype is lazygrad.uint8
    first = lazygrad.rand(3).tolist()
    lazygrad.set_rng_state(state)
    assert lazygrad.rand(3).tolist() == first
    assert isinstance(lazygrad.seed(), int)
    drawn = lazygrad.randint_like(lazygrad.zeros(2, 3), 2, 5)
    assert drawn.dtype is lazygrad.float32 and drawn.shape == (2, 3)
    assert ((drawn >= 2) & (drawn < 5)).all()


def test_fork_rng_restores_the_default_generator():
    lazygrad.random.manual_seed(3)
    first = lazygrad.rand(2).tolist()
    lazygrad.manual_seed(3)
    with lazygrad.random.fork_rng():
        lazygrad.rand(5)
    assert lazygrad.rand(2).tolist() == first
    assert lazygrad.random.initial_seed() == 3


@needs_torch
@pytest.mark.parametrize("case", ["uniform", "dx", "points", "points_dim0", "cumulative", "cumulative_points"])
def test_trapezoid_matches_torch(case):
    """torch's composition: the same values, gradients for ``y`` and the sample points, and grad_fn names."""
    y = np.array([[1.0, 2.0, 4.0, 7.0], [0.5, -1.0, 3.0, 2.0], [2.0, 2.0, 1.0, 0.0]])
    calls = {
        "uniform": (lambda T, y: T.trapezoid(y), (y,)),
        "dx": (lambda T, y: T.trapezoid(y, dx=0.5, dim=0), (y,)),
        "points": (lambda T, y, x: T.trapezoid(y, x), (y, np.array([0.0, 1.0, 3.0, 3.5]))),
        "points_dim0": (lambda T, y, x: T.trapz(y, x, dim=0), (y, np.array([0.0, 0.5, 2.0]))),
        "cumulative": (lambda T, y: T.cumulative_trapezoid(y, dx=2.0), (y,)),
        "cumulative_points": (lambda T, y, x: T.cumulative_trapezoid(y, x), (y, np.array([[0.0, 1.0, 3.0, 3.5]]))),
    }
    fn, inputs = calls[case]
    check_like_torch(fn, *inputs)


def test_trapezoid_refuses_mismatched_points():
    with pytest.raises(RuntimeError, match="There must be one `x` value for each sample point"):
        lazygrad.trapezoid(lazygrad.ones(3), lazygrad.ones(2))
    with pytest.raises(TypeError, match="argument 'x' must be Tensor"):
        lazygrad.trapezoid(lazygrad.ones(3), 2.0)
    assert lazygrad.trapezoid(lazygrad.zeros(2, 0)).tolist() == [0.0, 0.0]
