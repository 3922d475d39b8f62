"""Reductions, orderings, scans and losses on special values, against torch.

Each case runs one function on lazygrad and on torch over fixed tensors holding NaN, +-inf, -0.0/+0.0 and ties
(float32 and float64; 2-D ones for ``dim=``). Results must match exactly: the same NaN positions, the same sign
bits (a -0.0 is not a +0.0), the same indices. Cases that add ordinary values (sums, means, norms, losses) may
round differently, as the backends and torch may sum in another order: those compare with a tight tolerance,
still requiring the same NaN and infinity positions. Gradients of the differentiable cases are compared the
same way, for a fixed cotangent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

NAN, INF = math.nan, math.inf

# One row per pattern: a NaN among ties, all -inf, signed zeros with ties, every special value, ordinary values,
# all NaN.
ROWS = np.array([
    [1.0, NAN, 3.0, 3.0, -1.0],
    [-INF, -INF, -INF, -INF, -INF],
    [0.0, -0.0, 2.0, 2.0, -0.0],
    [INF, 1.0, -INF, NAN, INF],
    [0.5, -1.25, 2.0, 3.5, -0.75],
    [NAN, NAN, NAN, NAN, NAN],
])
# Rows without NaN: ties, infinities and signed zeros only.
CLEAN = np.array([
    [2.0, -1.0, 2.0, 0.0, -0.0],
    [-INF, 3.0, INF, 3.0, -INF],
    [-0.0, 0.0, -0.0, 0.0, 1.0],
])
# No two values equal: where torch's order among ties is unspecified (topk, kthvalue), only NaN is special.
DISTINCT = np.array([
    [1.0, NAN, 3.0, -INF, 0.5],
    [INF, -1.0, NAN, 2.0, -INF],
    [-0.0, 4.0, 1.0, -2.0, 3.0],
])
TIES = np.array([[1.0, 2.0, 2.0], [2.0, 3.0, 0.5]])
CONSTANT = np.array([[1.5, 1.5, 1.5], [-2.0, -2.0, -2.0]])
ZEROS = np.array([[0.0, 2.0, 0.0, 3.0], [INF, 2.0, 0.0, 3.0], [2.0, NAN, 3.0, 0.0]])
ORDINARY = np.array([[0.5, -1.25, 2.0], [3.5, -0.75, 1.5]])
LOGITS = np.array([[1.0, -INF, 2.0], [-INF, -INF, -INF], [INF, 0.0, 1.0], [0.25, NAN, -1.0]])
PROBS = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]])
BINARY = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])

# EXACT: bit for bit. UNSIGNED: exact, but a zero may have either sign (where torch's vectorized kernels keep
# whichever of a tied -0.0 and +0.0 their lanes met first, and in gradients, whose zeros' signs depend on the
# order of torch's backward formulas). CLOSE: a tight tolerance, for sums of ordinary values.
EXACT, UNSIGNED, CLOSE = "exact", "unsigned", "close"


def _sample_weights(lib, x):
    return lib.arange(1, x.numel() + 1, dtype=x.dtype).reshape(x.shape)


# name: (function of (library, x), input, how values compare, whether to compare the gradient)
CASES = {
    "sum": (lambda T, x: x.sum(1), ROWS, CLOSE, True),
    "sum-all": (lambda T, x: x.sum(), CLEAN, CLOSE, True),
    "mean": (lambda T, x: x.mean(1), ROWS, CLOSE, True),
    "mean-empty": (lambda T, x: x[:, :0].mean(1), ROWS, EXACT, False),
    "sum-empty": (lambda T, x: x[:, :0].sum(1), ROWS, EXACT, False),
    "prod": (lambda T, x: x.prod(1), ROWS, CLOSE, True),
    "prod-empty": (lambda T, x: x[:, :0].prod(1), ROWS, EXACT, False),
    "nansum": (lambda T, x: x.nansum(1), ROWS, CLOSE, True),
    "nanmean": (lambda T, x: x.nanmean(1), ROWS, CLOSE, False),
    # torch's gradient of a line of NaNs is NaN (0 times its 1/0), lazygrad's 0: the other lines only
    "nanmean-grad": (lambda T, x: x[:5].nanmean(1), ROWS, CLOSE, True),
    "max-dim": (lambda T, x: x.max(1), ROWS, EXACT, True),
    "min-dim": (lambda T, x: x.min(1), ROWS, EXACT, True),
    "max-dim0": (lambda T, x: x.max(0), CLEAN, EXACT, True),
    "min-dim0-keep": (lambda T, x: x.min(0, keepdim=True), CLEAN, EXACT, True),
    "max-full": (lambda T, x: x.max(), CLEAN, EXACT, True),
    "max-full-nan": (lambda T, x: x.max(), ROWS, EXACT, True),
    "min-full": (lambda T, x: x.min(), CLEAN, EXACT, True),
    "amax": (lambda T, x: x.amax(1), ROWS, UNSIGNED, True),
    "amin": (lambda T, x: x.amin(1), ROWS, UNSIGNED, True),
    "amax-clean": (lambda T, x: x.amax(0), CLEAN, EXACT, True),
    "amin-clean": (lambda T, x: x.amin(1), CLEAN, UNSIGNED, True),
    "argmax": (lambda T, x: x.argmax(1), ROWS, EXACT, False),
    "argmin": (lambda T, x: x.argmin(1), ROWS, EXACT, False),
    "argmax-full": (lambda T, x: x.argmax(), ROWS, EXACT, False),
    "argmin-clean": (lambda T, x: x.argmin(0), CLEAN, EXACT, False),
    "aminmax": (lambda T, x: T.aminmax(x, dim=1), ROWS, UNSIGNED, False),
    "aminmax-grad": (lambda T, x: sum(T.aminmax(x, dim=0)), ROWS, UNSIGNED, True),
    "aminmax-full": (lambda T, x: T.aminmax(x), CLEAN, EXACT, False),
    "median": (lambda T, x: x.median(1), ROWS, EXACT, True),
    "median-even": (lambda T, x: x[:, :4].median(1), ROWS, EXACT, True),
    "median-full": (lambda T, x: x.median(), ROWS, EXACT, True),
    "median-full-ties": (lambda T, x: x.median(), TIES, EXACT, True),
    "nanmedian": (lambda T, x: x.nanmedian(1), ROWS, EXACT, True),
    "nanmedian-full": (lambda T, x: x.nanmedian(), ROWS, UNSIGNED, True),
    "mode": (lambda T, x: x.mode(1), CLEAN, EXACT, True),
    "mode-all-nan": (lambda T, x: x[5:].mode(1), ROWS, EXACT, False),
    "kthvalue": (lambda T, x: x.kthvalue(2, 1), DISTINCT, EXACT, True),
    "kthvalue-last": (lambda T, x: x.kthvalue(5, 1), DISTINCT, EXACT, True),
    "quantile": (lambda T, x: x.quantile(0.5, dim=1), ROWS, CLOSE, True),
    "quantile-q": (lambda T, x: T.quantile(x, T.tensor([0.0, 0.3, 1.0], dtype=x.dtype), dim=1), CLEAN, CLOSE,
                   True),
    "nanquantile": (lambda T, x: x.nanquantile(0.4, dim=1), ROWS, CLOSE, True),
    "var": (lambda T, x: x.var(1), ROWS, CLOSE, True),
    "var-one": (lambda T, x: x[:, :1].var(1), ROWS, EXACT, False),
    "var-correction0": (lambda T, x: x.var(1, correction=0), ORDINARY, CLOSE, True),
    "var-correction-past-count": (lambda T, x: x.var(1, correction=5), ORDINARY, EXACT, False),
    "std": (lambda T, x: x.std(1), ROWS, CLOSE, True),
    "std-one": (lambda T, x: x[:, :1].std(1), ROWS, EXACT, False),
    "std-constant": (lambda T, x: x.std(1), CONSTANT, EXACT, True),
    "std-mean-constant": (lambda T, x: T.std_mean(x, 1), CONSTANT, EXACT, True),
    "prod-zeros": (lambda T, x: x.prod(1), ZEROS, EXACT, True),
    "cumprod-zeros": (lambda T, x: x.cumprod(1), ZEROS, EXACT, True),
    "logsumexp": (lambda T, x: x.logsumexp(1), ROWS, CLOSE, True),
    "logsumexp-clean": (lambda T, x: x.logsumexp(0), CLEAN, CLOSE, True),
    "cumsum": (lambda T, x: x.cumsum(1), ROWS, CLOSE, True),
    "cumprod": (lambda T, x: x.cumprod(1), ROWS, CLOSE, True),
    # torch's gradient is NaN wherever an infinity or a NaN meets its exp(x - out): gradients of finite lines only
    "logcumsumexp": (lambda T, x: x.logcumsumexp(1), ROWS, CLOSE, False),
    "logcumsumexp-finite": (lambda T, x: x[::2].logcumsumexp(1), CLEAN, CLOSE, True),
    "cummax": (lambda T, x: x.cummax(1), ROWS, EXACT, True),
    "cummin": (lambda T, x: x.cummin(1), ROWS, EXACT, True),
    "cummax-clean": (lambda T, x: x.cummax(1), CLEAN, EXACT, True),
    "sort": (lambda T, x: x.sort(1), ROWS, EXACT, True),
    "sort-desc": (lambda T, x: x.sort(1, descending=True), ROWS, EXACT, True),
    "sort-stable": (lambda T, x: x.sort(dim=1, stable=True), CLEAN, EXACT, True),
    "sort-stable-desc": (lambda T, x: x.sort(dim=1, descending=True, stable=True), CLEAN, EXACT, True),
    "argsort": (lambda T, x: x.argsort(dim=1, stable=True), ROWS, EXACT, False),
    "topk": (lambda T, x: x.topk(2, 1), DISTINCT, EXACT, True),
    "topk-smallest": (lambda T, x: x.topk(3, 1, largest=False), DISTINCT, EXACT, True),
    "unique": (lambda T, x: T.unique(x, return_inverse=True, return_counts=True), ROWS, EXACT, False),
    "unique-consecutive": (lambda T, x: T.unique_consecutive(x.flatten(), return_counts=True), ROWS, EXACT,
                           False),
    "all": (lambda T, x: x.all(1), ROWS, EXACT, False),
    "any": (lambda T, x: (x * 0).any(1), ROWS, EXACT, False),
    "any-empty": (lambda T, x: x[:, :0].any(1), ROWS, EXACT, False),
    "all-empty": (lambda T, x: x[:, :0].all(1), ROWS, EXACT, False),
    "count-nonzero": (lambda T, x: T.count_nonzero(x, dim=1), ROWS, EXACT, False),
    "norm": (lambda T, x: x.norm(dim=1), ROWS, CLOSE, True),
    "norm-zero": (lambda T, x: (x * 0).norm(dim=1), CLEAN, EXACT, True),
    "norm-inf": (lambda T, x: T.linalg.vector_norm(x, INF, dim=1), ROWS, EXACT, True),
    "norm-neginf": (lambda T, x: T.linalg.vector_norm(x, -INF, dim=1), ROWS, EXACT, True),
    "norm-0": (lambda T, x: T.linalg.vector_norm(x, 0, dim=1), ROWS, EXACT, False),
    "norm-1": (lambda T, x: T.linalg.vector_norm(x, 1, dim=1), ROWS, CLOSE, True),
    "norm-3": (lambda T, x: T.linalg.vector_norm(x, 3, dim=1), CLEAN, CLOSE, True),
    "norm-3-zeros": (lambda T, x: T.linalg.vector_norm(T.stack([x[2], x[2] * 0]), 3, dim=1), CLEAN, CLOSE, True),
    "norm-half-zeros": (lambda T, x: T.linalg.vector_norm(T.stack([x[2], x[2] * 0]), 0.5, dim=1), CLEAN, CLOSE,
                        True),
    "norm-method-half-zeros": (lambda T, x: T.stack([x[2], x[2] * 0]).norm(0.5, dim=1), CLEAN, CLOSE, True),
    "norm-inf-zeros": (lambda T, x: T.linalg.vector_norm(T.stack([x[2], x[2] * 0]), INF, dim=1), CLEAN, EXACT,
                       True),
    "dist": (lambda T, x: T.dist(x[0], x[2]), ROWS, CLOSE, True),
    "dist-same": (lambda T, x: T.dist(x[0], x[0]), CLEAN, EXACT, True),
    "softmax": (lambda T, x: x.softmax(1), LOGITS, CLOSE, True),
    "log-softmax": (lambda T, x: x.log_softmax(1), LOGITS, CLOSE, True),
    "cross-entropy-ignored": (lambda T, x: T.nn.functional.cross_entropy(
        x, T.tensor([-100, -100]), label_smoothing=0.1), ORDINARY, EXACT, True),
    "cross-entropy-partly-ignored": (lambda T, x: T.nn.functional.cross_entropy(
        x, T.tensor([2, -100]), label_smoothing=0.2), ORDINARY, CLOSE, True),
    "cross-entropy-none": (lambda T, x: T.nn.functional.cross_entropy(
        x, T.tensor([2, 1]), reduction="none", ignore_index=1, label_smoothing=0.3), ORDINARY, CLOSE, True),
    "cross-entropy-inf": (lambda T, x: T.nn.functional.cross_entropy(
        x[:1], T.tensor([0])), LOGITS, CLOSE, True),
    "nll-ignored": (lambda T, x: T.nn.functional.nll_loss(x, T.tensor([1, 1]), ignore_index=1), ORDINARY, EXACT,
                    True),
    "nll-sum-ignored": (lambda T, x: T.nn.functional.nll_loss(x, T.tensor([1, 1]), ignore_index=1,
                                                               reduction="sum"), ORDINARY, EXACT, True),
    "mse-inf": (lambda T, x: T.nn.functional.mse_loss(x[1], x[1].roll(1, 0), reduction="none"), CLEAN, EXACT, True),
    "l1-inf": (lambda T, x: T.nn.functional.l1_loss(x[1], x[1].roll(1, 0), reduction="none"), CLEAN, EXACT, True),
    "smooth-l1-inf": (lambda T, x: T.nn.functional.smooth_l1_loss(x[1], x[0], reduction="none"), CLEAN, EXACT,
                      True),
    "huber-inf": (lambda T, x: T.nn.functional.huber_loss(x[1], x[0], reduction="none"), CLEAN, EXACT, True),
    "smooth-l1-nan": (lambda T, x: T.nn.functional.smooth_l1_loss(
        x[0, :3], T.tensor([NAN, 1.0, 0.0], dtype=x.dtype), beta=0.5, reduction="none"), CLEAN, EXACT, True),
    "huber-nan": (lambda T, x: T.nn.functional.huber_loss(
        x[0, :3], T.tensor([NAN, 1.0, 0.0], dtype=x.dtype), reduction="none"), CLEAN, EXACT, True),
    "bce-mean-saturated": (lambda T, x: T.nn.functional.binary_cross_entropy(
        x, T.tensor(BINARY[::-1].copy(), dtype=x.dtype)), PROBS, CLOSE, True),
    "bce-saturated": (lambda T, x: T.nn.functional.binary_cross_entropy(
        x, T.tensor(BINARY, dtype=x.dtype), reduction="none"), PROBS, CLOSE, True),
    "bce-logits-inf": (lambda T, x: T.nn.functional.binary_cross_entropy_with_logits(
        x[1], T.tensor([1.0, 0.0, 1.0, 0.0, 0.5], dtype=x.dtype), reduction="none"), CLEAN, CLOSE, True),
    "kl-div-zero-target": (lambda T, x: T.nn.functional.kl_div(
        x, T.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], dtype=x.dtype), reduction="none"), ORDINARY, CLOSE, True),
    "kl-div-log-target": (lambda T, x: T.nn.functional.kl_div(
        x, T.tensor([[-INF, 0.0, -1.0], [0.0, -INF, -INF]], dtype=x.dtype), reduction="sum", log_target=True),
                          ORDINARY, CLOSE, True),
}
INT_CASES = {
    "sum": lambda T, x: x.sum(1),
    "prod": lambda T, x: x.prod(1),
    "max": lambda T, x: x.max(1),
    "amin": lambda T, x: x.amin(0),
    "argmax": lambda T, x: x.argmax(1),
    "cumsum": lambda T, x: x.cumsum(1),
    "cummin": lambda T, x: x.cummin(1),
    "sort-desc": lambda T, x: x.sort(dim=1, descending=True, stable=True),
    "topk": lambda T, x: x[:, 3:].topk(1, 1),
    "topk-distinct": lambda T, x: (x * 10 + T.arange(4)).topk(2, 1),
    "kthvalue": lambda T, x: (x * 10 + T.arange(4)).kthvalue(2, 1),
    "argmin": lambda T, x: x.argmin(),
    "median": lambda T, x: x.median(1),
    "mode": lambda T, x: x.mode(1),
    "all": lambda T, x: x.all(1),
    "any": lambda T, x: x.any(0),
    "count-nonzero": lambda T, x: T.count_nonzero(x, dim=0),
    "norm": lambda T, x: x.norm(dim=1),
    "var": lambda T, x: x.var(1),
    "std-mean": lambda T, x: T.std_mean(x),
    "any-empty": lambda T, x: x[:, :0].any(1),
}
INTS = np.array([[3, 0, 3, -2], [0, 0, 0, 0], [1, 7, -7, 7]])


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _assert_same(got, want, how):
    got, want = got.detach().numpy(), want.detach().numpy()
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if got.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN positions")
    np.testing.assert_array_equal(np.isinf(got) & (got > 0), np.isinf(want) & (want > 0), err_msg="+inf positions")
    np.testing.assert_array_equal(np.isinf(got) & (got < 0), np.isinf(want) & (want < 0), err_msg="-inf positions")
    if how != CLOSE:
        np.testing.assert_array_equal(got, want)
    if how == EXACT:
        np.testing.assert_array_equal(np.signbit(got[got == 0]), np.signbit(want[want == 0]), err_msg="zero signs")
    if how == CLOSE:
        tight = 1e-6 if got.dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, want, rtol=tight, atol=tight)


def _run(T, fn, array, dtype, grad):
    x = T.tensor(array, dtype=dtype, requires_grad=grad)
    outs = _outputs(fn(T, x))
    if not grad:
        return outs, None
    values = outs[0]
    (values * _sample_weights(T, values)).sum().backward()
    return outs, x.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_float_special_values(name, dtype):
    fn, array, how, grad = CASES[name]
    got, got_grad = _run(lazygrad, fn, array, getattr(lazygrad, dtype), grad)
    want, want_grad = _run(torch, fn, array, getattr(torch, dtype), grad)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _assert_same(g, w, how)
    if grad:
        _assert_same(got_grad, want_grad, CLOSE if how == CLOSE else UNSIGNED)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("name", list(INT_CASES))
def test_integer_and_bool_inputs(name, dtype):
    """The same values, or an error where torch has no kernel for the dtype (ties only where torch's order is
    specified: topk and kthvalue get distinct values)."""
    fn = INT_CASES[name]
    values = INTS.astype(bool) if dtype == "bool" else INTS

    def run(T):
        try:
            return _outputs(fn(T, T.tensor(values, dtype=getattr(T, dtype))))
        except (RuntimeError, NotImplementedError, TypeError) as error:
            return type(error)

    want, got = run(torch), run(lazygrad)
    if not isinstance(want, list):
        assert got is want, (got, want)
        return
    assert isinstance(got, list), got
    for g, w in zip(got, want):
        _assert_same(g, w, EXACT)


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_variance_without_degrees_of_freedom_warns(name):
    """A single element, or a correction past the count, gives NaN or +inf and torch's warning."""
    def run(T):
        with pytest.warns(UserWarning, match=f"^{name}\\(\\): degrees of freedom is <= 0") as caught:
            result = _outputs(getattr(T, name)(T.tensor([[2.0], [3.0]]), 1))
        return result, len(caught)

    (got, got_warnings), (want, want_warnings) = run(lazygrad), run(torch)
    assert got_warnings == want_warnings == 1
    for g, w in zip(got, want):
        _assert_same(g, w, EXACT)
