"""In-place forms (``abs_``, ``eq_``, ``cumsum_``, ...), in-place shape changes (``unsqueeze_``, ``t_``, ...) and
small conversions (``type_as``, ``byte``, ``sum_to_size``, ``nan_to_num``): values against numpy, records and
gradients against torch, errors in torch's words."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch, check_op

import lazygrad

RNG = np.random.default_rng(5)
M = RNG.standard_normal((3, 4))
P = np.abs(M) + 0.5
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("name", ["abs", "ceil", "floor", "log", "relu", "sigmoid", "tanh", "square", "sin",
                                  "trunc", "reciprocal", "log1p", "sign", "atan", "exp2"])
def test_unary_in_place_writes_the_out_of_place_value(name):
    x = lazygrad.tensor(P)
    expected = getattr(lazygrad.tensor(P), name)()
    assert getattr(x, name + "_")() is x
    assert_close(x, expected)


@needs_torch
@pytest.mark.parametrize("name", ["abs_", "relu_", "sigmoid_", "tanh_", "square_", "log_", "round_", "clip_",
                                  "eq_", "lt_", "cumsum_", "nan_to_num_"])
def test_in_place_records_and_gradients_match_torch(name):
    args = {"clip_": (-0.5, 0.5), "eq_": (0.5,), "lt_": (0.0,), "cumsum_": (1,)}.get(name, ())

    def fn(T, x):
        y = x * 1.5 if name != "log_" else x * x
        return getattr(y, name)(*args)

    check_like_torch(fn, M)


@needs_torch
def test_comparison_in_place_with_a_tensor_records_the_second_overload():
    check_like_torch(lambda T, x, y: (x * 1).ge_(y), M, M[0])


def test_in_place_of_a_float_result_into_an_integer_tensor_is_refused():
    _raises(lambda: lazygrad.tensor([1, 2]).log_(), RuntimeError,
            "result type Float can't be cast to the desired output type Long")
    x = lazygrad.tensor([1.5, -2.0])
    _raises(lambda: x.cumsum_(0, dtype=lazygrad.float64), RuntimeError,
            "Bad in-place call: input tensor dtype float and output tensor dtype double should match")


def test_comparison_in_place_keeps_the_dtype():
    x = lazygrad.tensor([1.0, 2.0, 3.0])
    assert x.gt_(1.5) is x and x.dtype is lazygrad.float32 and x.tolist() == [0.0, 1.0, 1.0]
    i = lazygrad.tensor([1, 2, 3])
    assert i.ne_(lazygrad.tensor([1, 0, 3])).tolist() == [0, 1, 0]


@needs_torch
@pytest.mark.parametrize("op", ["unsqueeze_", "squeeze_", "squeeze_1", "squeeze_dims", "squeeze_nothing", "t_",
                                "t_1d", "transpose_", "transpose_same", "swapdims_", "swapaxes_"])
def test_shape_in_place_takes_the_new_shape_and_records_as_torch(op):
    calls = {"unsqueeze_": ("unsqueeze_", 1), "squeeze_": ("squeeze_",), "squeeze_1": ("squeeze_", 1),
             "squeeze_nothing": ("squeeze_", 0), "t_1d": ("t_",), "transpose_same": ("transpose_", 1, 1),
             "squeeze_dims": ("squeeze_", (1, 3)), "t_": ("t_",), "transpose_": ("transpose_", 0, 1),
             "swapdims_": ("swapdims_", 0, 1), "swapaxes_": ("swapaxes_", 1, 0)}
    name, *args = calls[op]
    source = {"t_1d": M[0], "squeeze_nothing": M}.get(op, M if op in ("t_", "transpose_", "transpose_same",
                                                                        "swapdims_", "swapaxes_", "unsqueeze_")
                                                    else M.reshape(3, 1, 4, 1))

    def fn(T, x):
        y = x * 2
        assert getattr(y, name)(*args) is y
        return y * T.arange(y.numel(), dtype=y.dtype).reshape(y.shape)  # a gradient that sees the layout

    check_like_torch(fn, source)


def test_shape_in_place_of_a_view_writes_through_to_its_base():
    base = lazygrad.zeros(2, 3)
    row = base[0]
    row.unsqueeze_(0)
    row.add_(1)
    assert row.shape == (1, 3)
    assert base.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_shape_in_place_errors():
    _raises(lambda: lazygrad.ones(2, 3, requires_grad=True).unsqueeze_(0), RuntimeError,
            "a leaf Variable that requires grad is being used in an in-place operation.")
    _raises(lambda: lazygrad.ones(2, 3, 4).t_(), RuntimeError, "t() expects a tensor with <= 2 dimensions")
    x = lazygrad.ones(2, 3)
    alias = x.view(6)
    _raises(lambda: x.unsqueeze_(0), NotImplementedError, "changing the shape in place")
    assert alias.shape == (6,)


def test_conversions_match_torch():
    x = lazygrad.tensor([[1.7, -2.2], [3.0, 250.0]])
    assert x.byte().dtype is lazygrad.uint8 and x.char().dtype is lazygrad.int8
    assert x.short().dtype is lazygrad.int16 and x.ndimension() == 2
    assert x.type_as(lazygrad.ones(1, dtype=lazygrad.int32)).tolist() == [[1, -2], [3, 250]]
    assert x.type_as(x) is x


@pytest.mark.parametrize("size", [(1, 4), (4,), (3, 1), (1,), (3, 4)])
def test_sum_to_size_sums_the_broadcast_dims(size):
    axes = tuple(range(2 - len(size))) + tuple(i for i, s in enumerate(size, 2 - len(size)) if s == 1)
    check_op(lambda T, x: x.sum_to_size(*size), lambda m, x: m.sum(x, axes, keepdims=True).reshape(size), M)
    check_op(lambda T, x: x.sum_to_size(size), lambda m, x: m.sum(x, axes, keepdims=True).reshape(size), M)


def test_sum_to_size_error_matches_torch():
    _raises(lambda: lazygrad.tensor(M).sum_to_size(2, 4), RuntimeError,
            "size {[2, 4]} is not expandable to size {[3, 4]}.")


@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"posinf": 9.0, "neginf": -8.0}])
def test_nan_to_num_matches_numpy(kwargs):
    x = np.array([np.nan, np.inf, -np.inf, 1.25, -0.5])
    check_op(lambda T, t: T.nan_to_num(t, **kwargs), lambda m, t: np.nan_to_num(t, **kwargs), x, grad=False)
    check_op(lambda T, t: t.nan_to_num(**kwargs), lambda m, t: np.nan_to_num(t, **kwargs), x.astype(np.float32),
             grad=False)
    check_op(lambda T, t: T.nan_to_num(t, **kwargs), lambda m, t: t, np.array([1, 2]))


def test_nan_to_num_in_place():
    x = lazygrad.tensor([float("nan"), 2.0])
    assert x.nan_to_num_(nan=-1.0) is x and x.tolist() == [-1.0, 2.0]


def test_in_place_functions_write_their_first_argument():
    x = lazygrad.tensor([-1.5, 0.5])
    assert lazygrad.relu_(x) is x and x.tolist() == [0.0, 0.5]
    assert lazygrad.clamp_(x, max=0.25) is x and x.tolist() == [0.0, 0.25]
    assert lazygrad.zero_(x) is x and x.tolist() == [0.0, 0.0]


def test_float_power_in_place_needs_a_double_base():
    x = lazygrad.tensor([2.0, 3.0], dtype=lazygrad.float64)
    assert x.float_power_(2) is x and x.tolist() == [4.0, 9.0]
    _raises(lambda: lazygrad.tensor([2.0]).float_power_(2), RuntimeError,
            "the base given to float_power_ has dtype Float but the operation's result requires dtype Double")


def test_updating_a_window_by_index_builds_no_copy_back(backend):
    """``x[i, 1:3] += v`` reads the window, updates it in place and assigns the view back to itself: that last
    copy changes nothing and adds no node, so a data-preparation loop of such updates builds half the graph."""
    x = lazygrad.zeros(4, 5)
    lazygrad.realize(x)
    before = lazygrad.metrics()["nodes_built"]
    x[1, 1:3] += 0.5
    update = lazygrad.metrics()["nodes_built"] - before
    before = lazygrad.metrics()["nodes_built"]
    x[2, 1:3].add_(0.5)  # the same update without the assignment back
    assert lazygrad.metrics()["nodes_built"] - before == update
    expected = np.zeros((4, 5))
    expected[1:3, 1:3] = 0.5
    np.testing.assert_array_equal(x.numpy(), expected)


def _window_writes(m, x, y, read=lambda x, stage: None):
    """Updates by index mixed with whole-tensor writes between the read of a view and its assignment back;
    ``read`` may compute ``x`` after each stage."""
    x = m.tensor(x) if m is not np else x.copy()
    x = x * 1.0  # no leaf: the writes are recorded when ``y`` requires a gradient
    x[0, 1:3] += 1.0
    read(x, 0)
    index = (slice(1, 3), 2)
    window = x[index]
    window *= 3.0
    read(x, 1)
    x *= 2.0  # the window is a view: it reads the doubled values, and the assignment copies them onto themselves
    x[index] = window
    read(x, 2)
    x[(slice(1, 3), 2)] = x[(slice(0, 2), 0)]  # an equal index, another object, another window: a real copy
    row = x[2]
    row[::2] += y
    read(row, 3)
    for i in range(3):
        x[i, i:] -= x[i, 0] * 0.5
    return x


@pytest.mark.parametrize("realize_at", [None, 0, 1, 2, 3])
def test_updates_by_index_equal_numpys_views(backend, realize_at):
    """The assignment back is skipped only for the very view the index made; values match numpy's view semantics
    whichever stage is computed early."""
    x0, y = RNG.standard_normal((3, 4)), RNG.standard_normal(2)

    def read(x, stage):
        if stage == realize_at:
            lazygrad.realize(x)

    got = _window_writes(lazygrad, x0, lazygrad.tensor(y), read)
    np.testing.assert_allclose(got.numpy(), _window_writes(np, x0, y), rtol=1e-12)


@needs_torch
def test_updates_by_index_record_torchs_gradient(backend):
    import torch

    x0, y = RNG.standard_normal((3, 4)), RNG.standard_normal(2)
    grads = []
    for lib in (lazygrad, torch):
        weight = lib.tensor(y, requires_grad=True)
        out = _window_writes(lib, x0, weight)
        assert type(out.grad_fn).__name__ == "CopySlices"
        (out * lib.tensor(x0)).sum().backward()
        grads.append(np.asarray(weight.grad.tolist()))
    np.testing.assert_allclose(*grads, rtol=1e-12)
