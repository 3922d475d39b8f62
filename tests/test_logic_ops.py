"""NaN-skipping reductions, bitwise ops by name, ``isin`` and the dtype/value predicates: values against numpy,
dtypes, gradients and ``grad_fn`` names against torch, errors in torch's words."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import check_op

import lazygrad

WITH_NAN = np.array([[1.5, np.nan, -2.0], [np.nan, np.nan, 0.25]])
INTS = np.array([[3, 5, 12], [-7, 0, 9]])


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value) == message, str(info.value)


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_nansum_and_nanmean_skip_nans(dim, keepdim):
    axis = tuple(dim) if isinstance(dim, tuple) else dim
    check_op(lambda T, x: T.nansum(x, dim, keepdim), lambda m, x: m.nansum(x, axis, keepdims=keepdim), WITH_NAN)
    check_op(lambda T, x: x.nanmean(dim, keepdim), lambda m, x: m.nanmean(x, axis, keepdims=keepdim),
             WITH_NAN[:, [0, 2]])
    check_op(lambda T, x: T.nansum(x, dim, keepdim), lambda m, x: m.sum(x, axis, keepdims=keepdim), INTS)


def test_nansum_dtype_and_nanmean_error():
    check_op(lambda T, x: T.nansum(x, dtype=T.float64), lambda m, x: m.nansum(x), WITH_NAN.astype(np.float32))
    _raises(lambda: lazygrad.tensor([1, 2]).nanmean(), RuntimeError,
            "nanmean(): expected input to have floating point or complex dtype but got Long")


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bitwise_binary_ops_match_numpy(name):
    op = getattr(np, name)
    check_op(lambda T, a, b: getattr(T, name)(a, b), lambda m, a, b: op(a, b), INTS, INTS[::-1].copy())
    check_op(lambda T, a: getattr(a, name)(6), lambda m, a: op(a, 6), INTS)
    check_op(lambda T, a, b: getattr(T, name)(a, b), lambda m, a, b: op(a, b), INTS > 2, INTS < 6)
    x = lazygrad.tensor(INTS)
    assert getattr(x, name + "_")(6) is x
    np.testing.assert_array_equal(x.numpy(), op(INTS, 6))
    _raises(lambda: getattr(lazygrad, name)(lazygrad.tensor([1.0]), 1), RuntimeError,
            f"\"{name}_cpu\" not implemented for 'Float'")


def test_bitwise_not_and_the_in_place_operators():
    check_op(lambda T, a: T.bitwise_not(a), lambda m, a: m.invert(a), INTS)
    check_op(lambda T, a: a.bitwise_not(), lambda m, a: m.invert(a), INTS > 2)
    x = lazygrad.tensor(INTS)
    assert x.bitwise_not_() is x
    np.testing.assert_array_equal(x.numpy(), ~INTS)
    y = lazygrad.tensor(INTS)
    y &= 6
    y |= 1
    y ^= 8
    np.testing.assert_array_equal(y.numpy(), ((INTS & 6) | 1) ^ 8)
    _raises(lambda: lazygrad.tensor([1.0]).bitwise_not(), RuntimeError,
            "\"bitwise_not_cpu\" not implemented for 'Float'")


@pytest.mark.parametrize("invert", [False, True])
def test_isin_matches_numpy(invert):
    check_op(lambda T, a, b: T.isin(a, b, invert=invert), lambda m, a, b: m.isin(a, b, invert=invert), INTS,
             np.array([[5.0, 9.0], [0.0, 4.5]]))
    check_op(lambda T, a: T.isin(a, 12, invert=invert), lambda m, a: m.isin(a, 12, invert=invert), INTS)
    check_op(lambda T, b: T.isin(5, b, invert=invert), lambda m, b: m.isin(5, b, invert=invert), INTS)
    check_op(lambda T, a, b: T.isin(a, b), lambda m, a, b: m.isin(a, b), INTS, np.zeros(0, dtype=np.int64))


def test_infinity_and_real_predicates():
    values = np.array([-np.inf, np.inf, np.nan, 1.0])
    check_op(lambda T, x: T.isneginf(x), lambda m, x: m.isneginf(x), values)
    check_op(lambda T, x: x.isposinf(), lambda m, x: m.isposinf(x), values)
    check_op(lambda T, x: T.isposinf(x), lambda m, x: m.isposinf(x), INTS)
    check_op(lambda T, x: T.isreal(x), lambda m, x: m.isreal(x), values)


def test_is_nonzero_and_is_floating_point():
    assert lazygrad.is_nonzero(lazygrad.tensor([2.0])) and not lazygrad.tensor(0).is_nonzero()
    assert lazygrad.is_floating_point(lazygrad.tensor([1.0])) and not lazygrad.is_floating_point(lazygrad.tensor(1))
    _raises(lambda: lazygrad.is_nonzero(lazygrad.tensor([1, 2])), RuntimeError,
            "Boolean value of Tensor with more than one value is ambiguous")
    _raises(lambda: lazygrad.is_nonzero(lazygrad.tensor([])), RuntimeError,
            "Boolean value of Tensor with no values is ambiguous")


@pytest.mark.parametrize("a, b, expected", [
    ("int", 1.0, "float32"), (2, 3.0, "float32"), (1, True, "int64"), ("int", "f64_0d", "float64"),
    ("int", 5, "int32"), ("f64_0d", "int", "float64"), (True, math.pi, "float32"),
])
def test_result_type_follows_torch_promotion(a, b, expected):
    operands = {"int": lazygrad.tensor([1], dtype=lazygrad.int32),
                "f64_0d": lazygrad.tensor(1.0, dtype=lazygrad.float64)}
    result = lazygrad.result_type(operands.get(a, a) if isinstance(a, str) else a,
                                  operands.get(b, b) if isinstance(b, str) else b)
    assert result is getattr(lazygrad, expected)
