"""torch's second names for ops (``multiply``, ``concat``, ...) and the numpy-style shape ops (``movedim``,
``ravel``, ``fliplr``, ``flipud``, ``rot90``, ``tile``): values against numpy, dtypes, gradients and
``grad_fn`` names against torch, errors in torch's words."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

import lazygrad

RNG = np.random.default_rng(3)
X = RNG.standard_normal((2, 3, 4))
M = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4)) + 3.0


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


def test_arithmetic_and_comparison_aliases_are_their_ops():
    check_op(lambda T, a, b: T.multiply(a, b), lambda m, a, b: a * b, M, B)
    check_op(lambda T, a, b: a.subtract(b, alpha=2), lambda m, a, b: a - 2 * b, M, B)
    check_op(lambda T, a, b: T.divide(a, b, rounding_mode="floor"), lambda m, a, b: m.floor(a / b), M, B, grad=False)
    check_op(lambda T, a: T.true_divide(a, 2), lambda m, a: a / 2, np.arange(4))
    check_op(lambda T, a: T.absolute(a), lambda m, a: m.abs(a), M)
    check_op(lambda T, a: a.negative(), lambda m, a: -a, M)
    check_op(lambda T, a: T.fix(a), lambda m, a: m.trunc(a), M * 3, grad=False)
    for name, op in (("greater", np.greater), ("greater_equal", np.greater_equal), ("less", np.less),
                     ("less_equal", np.less_equal), ("not_equal", np.not_equal)):
        check_op(lambda T, a, b, name=name: getattr(T, name)(a, b), lambda m, a, b, op=op: op(a, b), M, M.round())


def test_in_place_aliases_write_the_tensor():
    x = lazygrad.tensor(M)
    assert x.multiply_(2).subtract_(1).divide_(4).true_divide_(0.5) is x
    np.testing.assert_allclose(x.numpy(), (M * 2 - 1) / 4 / 0.5, rtol=1e-6)
    assert x.negative_() is x
    np.testing.assert_allclose(x.numpy(), -(M * 2 - 1) / 2, rtol=1e-6)


def test_positive_returns_the_tensor_and_refuses_bool():
    x = lazygrad.tensor(M)
    assert lazygrad.positive(x) is x
    _raises(lambda: lazygrad.tensor([True]).positive(), RuntimeError, "The `+` operator, on a bool tensor")


def test_concat_and_concatenate_are_cat():
    check_op(lambda T, a, b: T.concat([a, b], 1), lambda m, a, b: m.concatenate([a, b], 1), M, B)
    check_op(lambda T, a, b: T.concatenate((a, b), dim=-2), lambda m, a, b: m.concatenate([a, b], 0), M, B)


@pytest.mark.parametrize("source, destination", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ([2], [1])])
def test_movedim_and_moveaxis_match_numpy(source, destination):
    check_op(lambda T, x: T.movedim(x, source, destination), lambda m, x: m.moveaxis(x, source, destination), X)
    check_op(lambda T, x: x.moveaxis(source, destination), lambda m, x: m.moveaxis(x, source, destination), X)


def test_movedim_errors_match_torch():
    x = lazygrad.tensor(X)
    _raises(lambda: x.movedim((0, 1), (1,)), RuntimeError, "movedim: Invalid source or destination dims: source "
            "([0, 1] dims) should contain the same number of dims as destination ([1] dims)")
    _raises(lambda: x.movedim((0, 0), (1, 2)), RuntimeError, "movedim: repeated dim in `source` ([0, 0])")
    _raises(lambda: x.movedim(5, 0), IndexError, "Dimension out of range")


def test_ravel_swapdims_and_flips_match_numpy():
    check_op(lambda T, x: T.ravel(x), lambda m, x: m.ravel(x), X)
    check_op(lambda T, x: x.transpose(0, 2).ravel(), lambda m, x: m.ravel(m.swapaxes(x, 0, 2)), X)
    check_op(lambda T, x: T.swapdims(x, 0, 2), lambda m, x: m.swapaxes(x, 0, 2), X)
    check_op(lambda T, x: T.fliplr(x), lambda m, x: m.fliplr(x), X)
    check_op(lambda T, x: x.flipud(), lambda m, x: m.flipud(x), X)
    _raises(lambda: lazygrad.fliplr(lazygrad.ones(3)), RuntimeError, "Input must be >= 2-d.")
    _raises(lambda: lazygrad.flipud(lazygrad.tensor(1.0)), RuntimeError, "Input must be >= 1-d.")


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3, 6])
def test_rot90_matches_numpy(k):
    check_op(lambda T, x: T.rot90(x, k), lambda m, x: m.rot90(x, k), M)
    check_op(lambda T, x: x.rot90(k, [2, 0]), lambda m, x: m.rot90(x, k, (2, 0)), X)


def test_rot90_errors_match_torch():
    x = lazygrad.tensor(X)
    _raises(lambda: x.rot90(1, [0]), RuntimeError, "expected total rotation dims == 2, but got dims = 1")
    _raises(lambda: x.rot90(1, [1, 1]), RuntimeError, "expected rotation dims to be different, but got dim0 = 1 "
            "and dim1 = 1")
    _raises(lambda: lazygrad.ones(3).rot90(), RuntimeError, "expected total dims >= 2, but got total dims = 1")


@pytest.mark.parametrize("dims", [(2,), (2, 1), (1, 2, 1, 1), ()])
def test_tile_matches_numpy(dims):
    check_op(lambda T, x: T.tile(x, dims), lambda m, x: m.tile(x, dims), X)
    if dims:  # the method takes its dims one by one too
        check_op(lambda T, x: x.tile(*dims), lambda m, x: m.tile(x, dims), X)
