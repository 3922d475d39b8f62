"""Convolution, pooling, indexing by value, einsum, embedding and padding modes against numpy, jax and torch.

Each op is checked with ``check_op``: values against a numpy oracle, gradients against finite differences,
``jax.grad`` of the same oracle and torch (grad_fn names included). Shapes stay small and cases few: each
new structure is a new program, and a compile on jax.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, assigned, check_like_torch, check_op, torch_oracle

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def distinct(*shape: int) -> np.ndarray:
    """Values without ties (and away from each other), so max pooling's choice is stable under small steps."""
    return RNG.permutation(math.prod(shape)).reshape(shape) / 4 - 1


def Fn(T):
    """torch.nn.functional for torch, lazygrad.nn.functional for lazygrad."""
    return T.nn.functional


# ---- oracles written against the numpy API (so jax.numpy traces them for jax.grad) ----------------------------


def conv_oracle(m, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    n = x.ndim - 2
    stride, dilation = ((v,) * n if isinstance(v, int) else v for v in (stride, dilation))
    pads = [(p, p) for p in ((padding,) * n if isinstance(padding, int) else padding)]
    x = m.pad(x, [(0, 0), (0, 0), *pads])
    batch = x.shape[0]
    out_channels, group_in, *kernel = w.shape
    out = [(size - d * (k - 1) - 1) // s + 1 for size, k, d, s in zip(x.shape[2:], kernel, dilation, stride)]
    w = w.reshape(groups, out_channels // groups, group_in, *kernel)
    total = 0
    for offset in np.ndindex(*kernel):
        window = tuple(slice(i * d, i * d + (o - 1) * s + 1, s) for i, d, o, s in zip(offset, dilation, out, stride))
        part = x[(slice(None), slice(None), *window)].reshape(batch, groups, group_in, *out)
        total = total + m.einsum("ngc...,goc->ngo...", part, w[(Ellipsis, *offset)])
    total = total.reshape(batch, out_channels, *out)
    return total if b is None else total + b.reshape(out_channels, *([1] * n))


def pool_windows(m, x, kernel, stride, padding, fill):
    x = m.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)], constant_values=fill)
    out = [(size - kernel) // stride + 1 for size in x.shape[2:]]
    return [x[:, :, i:i + (out[0] - 1) * stride + 1:stride, j:j + (out[1] - 1) * stride + 1:stride]
            for i in range(kernel) for j in range(kernel)]


def max_pool_oracle(m, x, kernel, stride, padding):
    return m.max(m.stack(pool_windows(m, x, kernel, stride, padding, -np.inf)), axis=0)


def avg_pool_oracle(m, x, kernel, stride, padding):
    return sum(pool_windows(m, x, kernel, stride, padding, 0)) / kernel**2


def index_grid(index, dim):
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def scatter_add_oracle(m, x, dim, index, src):
    src = src[tuple(slice(0, s) for s in index.shape)]
    if m is np:
        out = x.copy()
        np.add.at(out, index_grid(index, dim), src)
        return out
    return x.at[index_grid(index, dim)].add(src)


# ---- convolution -------------------------------------------------------------------------------------------

# name -> (input shape, weight shape, keyword arguments)
CONV2D = {
    "plain": ((2, 3, 5, 5), (4, 3, 3, 3), {}),
    "stride_padding": ((1, 2, 6, 5), (3, 2, 3, 2), {"stride": 2, "padding": 1}),
    "dilation_asymmetric": ((1, 2, 7, 6), (2, 2, 2, 3), {"stride": (1, 2), "padding": (2, 0), "dilation": (2, 1)}),
    "groups": ((2, 4, 4, 4), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    "depthwise": ((1, 3, 5, 4), (3, 1, 2, 2), {"groups": 3, "stride": 2}),
}


@pytest.mark.parametrize("name", CONV2D)
def test_conv2d_matches_oracle_with_gradients(name):
    x_shape, w_shape, kwargs = CONV2D[name]
    check_op(lambda T, x, w, b: Fn(T).conv2d(x, w, b, **kwargs),
             lambda m, x, w, b: conv_oracle(m, x, w, b, **kwargs),
             normal(*x_shape), normal(*w_shape), normal(w_shape[0]))


def test_conv2d_without_bias_and_unbatched_input():
    check_op(lambda T, x, w: Fn(T).conv2d(x, w, padding=1), lambda m, x, w: conv_oracle(m, x[None], w, padding=1)[0],
             normal(2, 4, 3), normal(3, 2, 2, 2))


def test_conv1d_matches_oracle_with_gradients():
    check_op(lambda T, x, w, b: Fn(T).conv1d(x, w, b, stride=2, padding=1, dilation=2),
             lambda m, x, w, b: conv_oracle(m, x, w, b, stride=2, padding=1, dilation=2),
             normal(2, 2, 9), normal(3, 2, 3), normal(3))


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kernel, dilation", [(3, 1), (4, 1), (2, 2)])
def test_conv_padding_same_keeps_the_size_like_torch(kernel, dilation):
    x, w = normal(1, 2, 5, 6), normal(3, 2, kernel, kernel)
    ours = F.conv2d(lazygrad.tensor(x), lazygrad.tensor(w), padding="same", dilation=dilation)
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding="same", dilation=dilation)
    assert_close(ours, theirs)


def test_conv_padding_valid_is_no_padding():
    x, w = normal(1, 1, 4), normal(1, 1, 2)
    assert_close(F.conv1d(lazygrad.tensor(x), lazygrad.tensor(w), padding="valid"), conv_oracle(np, x, w))


def test_conv_with_wrong_channel_count_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"expected input\[1, 5, 4, 4\] to have 3 channels, but got 5"):
        F.conv2d(lazygrad.zeros(1, 5, 4, 4), lazygrad.zeros(2, 3, 3, 3))


def test_conv_with_kernel_larger_than_input_raises_torch_message():
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(lazygrad.zeros(1, 1, 2, 2), lazygrad.zeros(1, 1, 3, 3))


def test_strided_same_padding_is_rejected():
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(lazygrad.zeros(1, 1, 4, 4), lazygrad.zeros(1, 1, 3, 3), stride=2, padding="same")


@needs_torch
def test_conv2d_module_initializes_within_torch_bounds_and_prints_like_torch():
    ours, theirs = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), torch.nn.Conv2d(4, 6, 3, stride=2, padding=1,
                                                                                      groups=2)
    assert ours.weight.shape == theirs.weight.shape and ours.bias.shape == theirs.bias.shape
    bound = 1 / math.sqrt(2 * 9)
    assert np.abs(ours.weight.detach().numpy()).max() <= bound
    assert np.abs(ours.bias.detach().numpy()).max() <= bound
    assert repr(ours) == repr(theirs)
    assert repr(nn.Conv1d(2, 3, 5, bias=False)) == repr(torch.nn.Conv1d(2, 3, 5, bias=False))


@needs_torch
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_module_prints_a_padding_string_unquoted_like_torch(padding):
    assert repr(nn.Conv2d(6, 8, 3, padding=padding)) == repr(torch.nn.Conv2d(6, 8, 3, padding=padding))


# ---- pooling ---------------------------------------------------------------------------------------------------

POOLS = [(2, 2, 0), (3, 2, 1), (2, 1, 1)]  # (kernel, stride, padding)


@pytest.mark.parametrize("kernel, stride, padding", POOLS)
def test_max_pool2d_matches_oracle_with_gradients(kernel, stride, padding):
    check_op(lambda T, x: Fn(T).max_pool2d(x, kernel, stride, padding),
             lambda m, x: max_pool_oracle(m, x, kernel, stride, padding), distinct(2, 2, 5, 4))


@pytest.mark.parametrize("kernel, stride, padding", POOLS)
def test_avg_pool2d_matches_oracle_with_gradients(kernel, stride, padding):
    check_op(lambda T, x: Fn(T).avg_pool2d(x, kernel, stride, padding),
             lambda m, x: avg_pool_oracle(m, x, kernel, stride, padding), normal(2, 2, 5, 4))


@needs_torch
def test_max_pool2d_sends_a_tied_gradient_to_the_first_maximum_like_torch():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.5, 2.0], [2.0, 2.0, 0.0]]]])
    check_like_torch(lambda T, x: Fn(T).max_pool2d(x, 2, 1), x)


@needs_torch
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool2d_indices_dilation_and_ceil_mode_match_torch(ceil_mode):
    x = distinct(1, 2, 7, 6)
    kwargs = {"kernel_size": (3, 2), "stride": 2, "padding": 1, "dilation": (1, 2), "ceil_mode": ceil_mode,
              "return_indices": True}
    values, indices = F.max_pool2d(lazygrad.tensor(x), **kwargs)
    want_values, want_indices = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs)
    assert_close(values, want_values)
    assert_close(indices, want_indices)


@needs_torch
@pytest.mark.parametrize("ceil_mode, count_include_pad", [(True, True), (True, False), (False, False)])
def test_avg_pool2d_divisors_follow_torch(ceil_mode, count_include_pad):
    def fn(T, x):
        return Fn(T).avg_pool2d(x, 3, 2, 1, ceil_mode=ceil_mode, count_include_pad=count_include_pad)

    check_op(fn, torch_oracle(fn), normal(1, 1, 6, 5), jax_oracle=False)


def test_pool_modules_run_the_functional_ops():
    x = lazygrad.tensor(distinct(1, 1, 4, 4))
    assert_close(nn.MaxPool2d(2)(x), max_pool_oracle(np, x.numpy(), 2, 2, 0))
    assert_close(nn.AvgPool2d(2, stride=1)(x), avg_pool_oracle(np, x.numpy(), 2, 1, 0))


def test_max_pool2d_padding_larger_than_half_the_kernel_is_rejected():
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(lazygrad.zeros(1, 1, 4, 4), 2, padding=2)


# ---- gather, scatter_add, index_select, embedding --------------------------------------------------------------

INDEX = np.array([[0, 2, 1], [1, 1, 0]])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_take_along_axis(dim):
    index = INDEX if dim == 0 else np.array([[3, 0], [0, 2], [1, 1]])
    check_op(lambda T, x, i: x.gather(dim, i), lambda m, x, i: x[index_grid(i, dim % 2)], normal(3, 4), index)


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add_accumulates_repeated_positions(dim):
    check_op(lambda T, x, i, s: x.scatter_add(dim, i, s), lambda m, x, i, s: scatter_add_oracle(m, x, dim, i, s),
             normal(3, 4), INDEX, normal(2, 3))


def scatter_oracle(m, x, dim, index, src):
    src = src[tuple(slice(0, s) for s in index.shape)] if isinstance(src, np.ndarray) or hasattr(src, "shape") else src
    if m is np:
        out = x.copy()
        out[index_grid(index, dim)] = src
        return out
    return x.at[index_grid(index, dim)].set(src)


@pytest.mark.parametrize(("dim", "index"), [(0, INDEX), (1, np.array([[3, 0, 1], [2, 1, 0]]))])
def test_scatter_writes_src_where_gather_would_read(dim, index):
    check_op(lambda T, x, i, s: x.scatter(dim, i, s), lambda m, x, i, s: scatter_oracle(m, x, dim, i, s),
             normal(3, 4), index, normal(2, 3))
    check_op(lambda T, x, i: T.scatter(x, dim, i, value=2.5), lambda m, x, i: scatter_oracle(m, x, dim, i, 2.5),
             normal(3, 4), index)


@needs_torch
def test_scatter_records_torch_grad_fn_names_and_checks_dtypes():
    x, index = lazygrad.zeros(2, 3, requires_grad=True), lazygrad.tensor([[0], [2]])
    assert x.scatter(1, index, lazygrad.ones(2, 1)).grad_fn.name() == "ScatterBackward0"
    assert x.scatter(1, index, 5.0).grad_fn.name() == "ScatterBackward1"
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected self.dtype to be equal to src.dtype"):
        x.scatter(1, index, lazygrad.ones(2, 1, dtype=lazygrad.float64))
    z = lazygrad.zeros(3)
    z.scatter_(0, lazygrad.tensor([1]), lazygrad.tensor([4.0])).scatter_(0, lazygrad.tensor([2]), value=7)
    assert z.tolist() == [0.0, 4.0, 7.0]


def test_torch_level_gather_and_index_select_functions():
    check_op(lambda T, x, i: T.gather(x, 1, i), lambda m, x, i: m.take_along_axis(x, i, axis=1), normal(2, 3),
             np.array([[2, 2], [0, 1]]))
    check_op(lambda T, x, i: T.index_select(x, 1, i), lambda m, x, i: m.take(x, i, axis=1), normal(2, 3, 2),
             np.array([2, 0, 2]))


@pytest.mark.parametrize("bad", [5, -1])
def test_gather_out_of_range_index_names_the_dimension(bad):
    with pytest.raises(RuntimeError, match=f"index {bad} is out of bounds for dimension 1 with size 4"):
        lazygrad.zeros(2, 4).gather(1, lazygrad.tensor([[bad]]))


def test_embedding_reads_rows_with_gradients():
    check_op(lambda T, w, i: Fn(T).embedding(i, w), lambda m, w, i: w[i], normal(5, 3), np.array([[4, 0], [4, 2]]))


@needs_torch
def test_embedding_padding_row_gets_no_gradient_like_torch():
    check_like_torch(lambda T, w, i: Fn(T).embedding(i, w, padding_idx=1), normal(4, 2),
                     np.array([1, 3, 1, 0]))


def test_embedding_with_a_padding_row_stays_lazy_and_gives_that_row_no_gradient():
    weight = (lazygrad.ones(4, 2) * 3).requires_grad_()  # pending: nothing computed yet
    lazygrad.reset_metrics()
    out = F.embedding(lazygrad.tensor([1, 3, 1, 0]), weight, padding_idx=1)
    (out * lazygrad.arange(8.0).reshape(4, 2)).sum().backward()
    assert lazygrad.metrics()["executions"] == 0
    assert_close(out, np.full((4, 2), 3.0, np.float32))
    assert_close(weight.grad, np.array([[6, 7], [0, 0], [0, 0], [2, 3]], np.float32))


@needs_torch
def test_embedding_module_starts_with_a_zero_padding_row():
    layer = nn.Embedding(6, 3, padding_idx=-1)
    assert layer.padding_idx == 5
    assert_close(layer.weight.detach()[5], np.zeros(3, np.float32))
    assert repr(layer) == repr(torch.nn.Embedding(6, 3, padding_idx=-1))
    out = layer(lazygrad.tensor([5, 0]))
    assert out.shape == (2, 3) and out.grad_fn.name() == "EmbeddingBackward0"


def test_embedding_out_of_range_index_raises():
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(lazygrad.tensor([3]), lazygrad.zeros(3, 2))


# ---- advanced indexing --------------------------------------------------------------------------------------------

MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, False]])

# name -> index: the same index object reads a numpy array, a jax array, a torch tensor and a lazygrad tensor.
INDEXES = {
    "list": [2, 0, 2],
    "nested_int_tensor": np.array([[1, 0], [2, 2]]),
    "list_of_lists_is_a_tuple": [[1, 0], [2, 2]],
    "negative": [-1, 0],
    "rows_and_columns": ([0, 2, 1], [3, 3, 0]),
    "slice_then_list": (slice(None), [1, -1]),
    "broadcast_pair": ([[0], [2]], [1, 3]),
    "separated_by_slice": ([0, 2], slice(1, 3), [1, 0]),
    "mask": MASK,
    "row_mask": (np.array([True, False, True]),),
    "mask_then_slice": (np.array([True, False, True]), slice(None, None, 2)),
    "ellipsis_and_list": (Ellipsis, [0, 0]),
    "none_and_list": (None, [1, 2]),
}


def as_index(T, index):
    """Arrays inside the index as tensors of ``T`` (lists stay lists)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(T.tensor(p) if isinstance(p, np.ndarray) else p for p in parts)
    return parts if isinstance(index, tuple) else parts[0]


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("name", INDEXES)
def test_advanced_indexing_matches_numpy_with_gradients(name):
    index = INDEXES[name]
    check_op(lambda T, x: x[as_index(T, index)], lambda m, x: x[as_arrays(index)], normal(3, 4, 2))


def as_arrays(index):
    """Lists inside the index as arrays, which jax.numpy requires; a list of lists is a tuple, as in torch."""
    if isinstance(index, list) and isinstance(index[0], list):
        index = tuple(index)
    if isinstance(index, tuple):
        return tuple(np.asarray(p) if isinstance(p, list) else p for p in index)
    return np.asarray(index) if isinstance(index, list) else index


def test_indexing_with_an_int_tensor():
    check_op(lambda T, x, i: x[i], lambda m, x, i: x[i], normal(3, 2), np.array([[2, 1], [0, 2]]))


@needs_torch
def test_integers_beside_lists_select_first_like_torch():
    x = np.arange(24.0).reshape(2, 3, 4)
    ours = lazygrad.tensor(x)[0, :, [0, 1]]
    theirs = torch.tensor(x)[0, :, [0, 1]]
    assert_close(ours, theirs)


def test_out_of_range_list_index_raises_torch_message():
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        lazygrad.zeros(3, 2)[[0, 3]]


def test_mask_of_the_wrong_shape_raises_torch_message():
    with pytest.raises(IndexError, match="The shape of the mask \\[2\\] at index 0 does not match"):
        lazygrad.zeros(3, 2)[lazygrad.tensor([True, False])]


def set_by_mask(T, x, v):
    y = x.clone()
    y[y > 0] = v
    return y


def set_rows(T, x, v):
    y = x.clone()
    y[T.tensor([2, 0])] = v
    return y


def set_points(T, x, v):
    y = x.clone()
    y[[0, 1], [1, 3]] = v
    return y


def test_setitem_with_a_mask_writes_a_value_and_routes_gradients():
    x = normal(3, 4)
    check_op(set_by_mask, lambda m, x, v: assigned(m, x, np.asarray(x) > 0, v), x, np.array(0.5), jax_oracle=False)


def test_setitem_with_an_index_tensor_writes_rows():
    check_op(set_rows, lambda m, x, v: assigned(m, x, np.array([2, 0]), v), normal(3, 4), normal(2, 4))


def test_setitem_with_index_lists_writes_points():
    check_op(set_points, lambda m, x, v: assigned(m, x, ([0, 1], [1, 3]), v), normal(3, 4), normal(2))


def test_setitem_with_a_mask_and_a_vector_of_values():
    x = lazygrad.tensor([[1.0, -1.0], [-2.0, 3.0]])
    x[x < 0] = lazygrad.tensor([10.0, 20.0])
    assert x.tolist() == [[1.0, 10.0], [20.0, 3.0]]


# ---- einsum -------------------------------------------------------------------------------------------------------

# equation -> operand shapes
EINSUM = {
    "ij,jk->ik": [(2, 3), (3, 4)],
    "bij,bjk->bik": [(2, 2, 3), (2, 3, 2)],
    "ij->ji": [(2, 3)],
    "ij->": [(2, 3)],
    "ii->i": [(3, 3)],
    "i,j->ij": [(2,), (3,)],
    "ij,ij->i": [(2, 3), (2, 3)],
    "ij,kj": [(2, 3), (4, 3)],
    "...ij,...jk": [(2, 2, 3), (3, 2)],
    "...i,...i->...": [(2, 3, 2), (3, 2)],
    "ij,jk,kl->il": [(2, 3), (3, 2), (2, 2)],
    "iij,j->i": [(2, 2, 3), (3,)],
}


@pytest.mark.parametrize("equation", EINSUM)
def test_einsum_matches_numpy_with_gradients(equation):
    operands = [normal(*shape) for shape in EINSUM[equation]]
    check_op(lambda T, *xs: T.einsum(equation, *xs), lambda m, *xs: m.einsum(equation, *xs), *operands)


def test_einsum_accepts_a_list_of_operands_and_spaces():
    a, b = normal(2, 3), normal(3)
    assert_close(lazygrad.einsum("i j , j -> i", [lazygrad.tensor(a), lazygrad.tensor(b)]), a @ b)


def test_einsum_takes_torch_sublist_form():
    """Operands each followed by its labels as numbers (0-25 are A-Z, 26-51 a-z, so an implicit output puts 3
    before 27), then optionally the output's labels."""
    a, b = normal(2, 3), normal(3, 4)
    ta, tb = lazygrad.tensor(a), lazygrad.tensor(b)
    assert_close(lazygrad.einsum(ta, [0, 1], tb, [1, 2], [0, 2]), a @ b)
    assert_close(lazygrad.einsum(ta, [Ellipsis, 1], tb, [1, 30]), a @ b)
    assert_close(lazygrad.einsum(ta, [27, 3]), a.T)
    assert_close(lazygrad.einsum(ta, [0, 1], [1]), a.sum(0))
    with pytest.raises(ValueError, match=r"not within the valid range \[0, 52\)"):
        lazygrad.einsum(ta, [0, 60])


def test_einsum_with_mismatched_sizes_raises_torch_message():
    with pytest.raises(RuntimeError, match="subscript j has size 4 for operand 1 which does not broadcast"):
        lazygrad.einsum("ij,jk->ik", lazygrad.zeros(2, 3), lazygrad.zeros(4, 2))


# ---- padding modes -------------------------------------------------------------------------------------------------

def widths(x, pad):
    """F.pad's (last-axis low, high, ...) as numpy's per-axis (low, high) pairs."""
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    return [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]


# name -> (pad, keyword arguments, oracle)
PADS = {
    "constant": ((1, 2), {}, lambda m, x: m.pad(x, widths(x, (1, 2)))),
    "constant_value_and_crop": ((-1, 2, 1, 0), {"value": 1.5},
                                lambda m, x: m.pad(x[..., 1:], widths(x, (0, 2, 1, 0)), constant_values=1.5)),
    "reflect": ((2, 1, 1, 2), {"mode": "reflect"}, lambda m, x: m.pad(x, widths(x, (2, 1, 1, 2)), mode="reflect")),
    "replicate": ((1, 2, 2, 0), {"mode": "replicate"}, lambda m, x: m.pad(x, widths(x, (1, 2, 2, 0)), mode="edge")),
    "circular": ((1, 2), {"mode": "circular"}, lambda m, x: m.pad(x, widths(x, (1, 2)), mode="wrap")),
}


@pytest.mark.parametrize("name", PADS)
def test_pad_modes_match_numpy_with_gradients(name):
    pad, kwargs, oracle = PADS[name]
    x = normal(2, 3, 4) if name == "circular" else normal(1, 2, 3, 4)
    check_op(lambda T, x: Fn(T).pad(x, pad, **kwargs), oracle, x)


def test_reflect_padding_as_wide_as_the_axis_is_rejected():
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding input dimension"):
        F.pad(lazygrad.zeros(1, 2, 3), (3, 0), mode="reflect")


def test_one_hot_exists_and_matches_numpy():
    assert F.one_hot(lazygrad.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]]


# ---- a small CNN, end to end ---------------------------------------------------------------------------------------


class SmallCNN:
    """The same network written once against either library's nn module."""

    def __init__(self, T):
        self.layers = T.nn.Sequential(
            T.nn.Conv2d(1, 4, 3, padding=1), T.nn.ReLU(), T.nn.MaxPool2d(2),
            T.nn.Conv2d(4, 6, 3, groups=2), T.nn.ReLU(), T.nn.AvgPool2d(2),
            T.nn.Flatten(), T.nn.Linear(6, 3))


@needs_torch
def test_small_cnn_forward_and_backward_match_torch_with_identical_weights():
    ours, theirs = SmallCNN(lazygrad).layers, SmallCNN(torch).layers
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(p.detach().numpy()))
    images, labels = normal(5, 1, 8, 8).astype(np.float32), np.array([0, 2, 1, 1, 0])
    loss = F.cross_entropy(ours(lazygrad.tensor(images)), lazygrad.tensor(labels))
    loss.backward()
    want = torch.nn.functional.cross_entropy(theirs(torch.tensor(images)), torch.tensor(labels))
    want.backward()
    assert_close(loss, want)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)
