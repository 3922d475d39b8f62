"""Sorting, masking, random sampling, cumprod and the composed elementwise and shape ops.

Each deterministic op is one ``check_op`` line: values against numpy, dtype and ``grad_fn`` against torch,
gradients against finite differences, jax.grad and torch. Random ops are checked for reproducibility under
``manual_seed`` and for the statistics of their draws. Shapes are few and fixed: each is a jax compile.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_op

import lazygrad

RNG = np.random.default_rng(7)
X = RNG.permutation(np.arange(12, dtype=np.float64) - 5.5).reshape(3, 4) / 4  # distinct: no ties to differentiate
V = np.array([0.75, -1.25, 2.5, 0.5])
MASK = np.array([True, False, True, False])


def _torch_or_skip():
    return pytest.importorskip("torch")


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


# ---- masked_fill, tril/triu ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["scalar", "tensor", "broadcast"])
def test_masked_fill_matches_numpy_and_torch(case):
    if case == "scalar":
        check_op(lambda T, x, m: x.masked_fill(m, -0.5), lambda m, x, k: m.where(k, -0.5, x), X, MASK)
    elif case == "tensor":
        check_op(lambda T, x, v, m: T.masked_fill(x, m, v), lambda m, x, v, k: m.where(k, v, x), X,
                 np.array(2.5), MASK)
    else:
        check_op(lambda T, x, m: x.masked_fill(m, 1.5), lambda m, x, k: m.where(k, 1.5, x), V,
                 np.array([[True], [False], [True]]))


def test_masked_fill_of_an_integer_tensor_truncates_a_float_value():
    x = lazygrad.tensor([1, 2, 3])
    out = x.masked_fill(lazygrad.tensor([True, False, True]), 0.7)
    assert out.dtype is lazygrad.int64 and out.tolist() == [0, 2, 0]


def test_masked_fill_in_place_writes_the_tensor():
    x = lazygrad.tensor(X)
    assert x.masked_fill_(lazygrad.tensor(MASK), 0.0) is x
    assert_close(x, np.where(MASK, 0.0, X))


def test_masked_fill_errors_match_torch():
    x = lazygrad.tensor(X)
    _raises(lambda: x.masked_fill(lazygrad.tensor(MASK).float(), 1.0), RuntimeError,
            "masked_fill_ only supports boolean masks, but got mask with dtype float")
    _raises(lambda: x.masked_fill(lazygrad.tensor(MASK), lazygrad.tensor([1.0, 2.0])), RuntimeError,
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s).")
    _raises(lambda: x.masked_fill_(lazygrad.ones(2, 3, 4, dtype=lazygrad.bool), 1.0), RuntimeError,
            "output with shape [3, 4] doesn't match the broadcast shape [2, 3, 4]")


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_and_triu_keep_their_triangle(diagonal):
    check_op(lambda T, x: T.tril(x, diagonal), lambda m, x: m.tril(x, diagonal), X)
    check_op(lambda T, x: x.triu(diagonal=diagonal), lambda m, x: m.triu(x, diagonal), X)


def test_tril_in_place_and_its_error():
    x = lazygrad.tensor(X)
    x.tril_()
    assert_close(x, np.tril(X))
    _raises(lambda: lazygrad.tril(lazygrad.ones(3)), RuntimeError, "tril: input tensor must have at least 2 dimensions")


@pytest.mark.parametrize("args", [(3, 4, 1), (3, 3, -1), (4, 2, 0)])
def test_triangle_indices_list_coordinates_row_by_row(args):
    row, col, offset = args
    assert lazygrad.tril_indices(row, col, offset).tolist() == [list(a) for a in np.tril_indices(row, offset, col)]
    assert lazygrad.triu_indices(row, col, offset).tolist() == [list(a) for a in np.triu_indices(row, offset, col)]
    if HAS_TORCH:
        import torch

        assert lazygrad.tril_indices(row, col, offset).tolist() == torch.tril_indices(row, col, offset).tolist()


# ---- sorting ------------------------------------------------------------------------------------------------


def _sorted(m, x, axis, descending=False):
    order = m.argsort(-x if descending else x, axis=axis)
    return m.take_along_axis(x, order, axis=axis), order


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_returns_values_and_positions_with_gradients(dim, descending):
    result = check_op(lambda T, x: T.sort(x, dim=dim, descending=descending),
                      lambda m, x: _sorted(m, x, dim, descending), X)
    assert type(result).__name__ == "sort" and result.values is result[0]


def test_argsort_and_msort():
    check_op(lambda T, x: x.argsort(dim=0, descending=True), lambda m, x: m.argsort(-x, axis=0), X)
    check_op(lambda T, x: T.msort(x), lambda m, x: m.sort(x, axis=0), X)


def test_sort_is_stable_and_orders_nan_like_torch():
    values = [2.0, math.nan, 1.0, 2.0, 1.0]
    up = lazygrad.sort(lazygrad.tensor(values), stable=True)
    down = lazygrad.sort(lazygrad.tensor(values), descending=True, stable=True)
    assert up.indices.tolist() == [2, 4, 0, 3, 1]
    assert down.indices.tolist() == [1, 0, 3, 2, 4]
    if HAS_TORCH:
        import torch

        assert down.indices.tolist() == torch.sort(torch.tensor(values), descending=True, stable=True).indices.tolist()


def test_sort_prints_like_torch_return_types():
    text = repr(lazygrad.sort(lazygrad.tensor([3, 1, 2])))
    assert text == "torch.return_types.sort(\nvalues=tensor([1, 2, 3]),\nindices=tensor([1, 2, 0]))"


@pytest.mark.parametrize("largest", [True, False])
def test_topk_picks_the_extremes_in_order(largest):
    def oracle(m, x):
        values, order = _sorted(m, x, 1, descending=largest)
        return values[:, :2], order[:, :2]

    check_op(lambda T, x: T.topk(x, 2, largest=largest), oracle, X)


def test_kthvalue_and_median():
    check_op(lambda T, x: T.kthvalue(x, 2, dim=1), lambda m, x: tuple(a[:, 1] for a in _sorted(m, x, 1)), X)
    check_op(lambda T, x: x.kthvalue(3, 0, keepdim=True),
             lambda m, x: tuple(a[2:3] for a in _sorted(m, x, 0)), X)
    check_op(lambda T, x: x.median(), lambda m, x: m.sort(x.reshape(-1))[5], X)
    check_op(lambda T, x: T.median(x, 1), lambda m, x: tuple(a[:, 1] for a in _sorted(m, x, 1)), X)


def test_sort_errors_match_torch():
    x = lazygrad.tensor(X)
    _raises(lambda: x.topk(5), RuntimeError, "selected index k out of range")
    _raises(lambda: x.kthvalue(5), RuntimeError, "kthvalue(): selected number k out of range for dimension -1")
    _raises(lambda: x.sort(5), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 5)")


def test_unique_realizes_and_counts():
    x = lazygrad.tensor([3, 1, 3, 2])
    values, inverse, counts = lazygrad.unique(x, return_inverse=True, return_counts=True)
    assert (values.tolist(), inverse.tolist(), counts.tolist()) == ([1, 2, 3], [2, 0, 2, 1], [1, 1, 2])
    assert lazygrad.tensor([[1, 2], [1, 2], [0, 1]]).unique(dim=0).tolist() == [[0, 1], [1, 2]]


def test_bucketize_and_searchsorted_count_boundaries_below():
    boundaries = np.array([1, 3, 5, 7, 9])
    check_op(lambda T, v, b: T.bucketize(v, b, right=True), lambda m, v, b: m.searchsorted(b, v, side="right"),
             np.array([1, 5, 9]), boundaries)
    check_op(lambda T, v, b: T.bucketize(v, b, out_int32=True), lambda m, v, b: m.searchsorted(b, v).astype(np.int32),
             np.array([1.0, 5.5, 9.0]), boundaries.astype(np.float32), grad=False)
    rows = np.array([[1, 3, 5], [2, 4, 6]])
    per_row = lambda m, s, v: np.stack([np.searchsorted(a, b) for a, b in zip(s, v)])  # noqa: E731
    check_op(lambda T, s, v: T.searchsorted(s, v), per_row, rows, np.array([[3, 6, 9]] * 2))
    assert lazygrad.searchsorted(lazygrad.tensor([1, 3, 5]), 3).tolist() == 1
    assert lazygrad.searchsorted(lazygrad.tensor([1, 3, 5]), lazygrad.tensor([3, 6]), side="right").tolist() == [2, 3]


HISTOGRAMS = {  # (values, arguments): each is a case of numpy's histogram, which bins as torch's does
    "extremes": (X.ravel(), {"bins": 5}),
    "range": (X.ravel(), {"bins": 3, "range": (-0.5, 0.5)}),
    "edges": (X.ravel(), {"bins": np.array([-1.0, -0.25, 0.0, 2.0])}),
    "weighted density": (X.ravel(), {"bins": 4, "weight": np.abs(X.ravel()), "density": True}),
    "equal values": (np.full(3, 2.0), {"bins": 4}),
    "no values": (np.zeros(0), {"bins": 3}),
}


@pytest.mark.parametrize("case", HISTOGRAMS)
def test_histogram_matches_numpy(case):
    values, kwargs = HISTOGRAMS[case]
    ours = {k: lazygrad.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    hist, edges = lazygrad.histogram(lazygrad.tensor(values), **ours)
    numpy_kwargs = {"weights" if k == "weight" else k: v for k, v in kwargs.items()}
    want_hist, want_edges = np.histogram(values, **numpy_kwargs)
    assert_close(hist, want_hist)
    assert_close(edges, want_edges)
    assert hist.dtype is edges.dtype is lazygrad.float64


def test_histogram_of_integers_is_refused_like_torch():
    _raises(lambda: lazygrad.tensor([0, 1]).histogram(), NotImplementedError,
            '"histogramdd" not implemented for \'Long\'')


# ---- data-dependent shapes ------------------------------------------------------------------------------------


def test_nonzero_argwhere_and_one_argument_where():
    data = np.array([[1, 0], [0, 2]])
    x = lazygrad.tensor(data)
    assert lazygrad.nonzero(x).tolist() == np.argwhere(data).tolist()
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [0, 1]]
    assert lazygrad.argwhere(lazygrad.tensor([1, 0, 2])).tolist() == [[0], [2]]
    assert [t.tolist() for t in lazygrad.where(lazygrad.tensor([1, 0, 2]))] == [[0, 2]]
    assert lazygrad.nonzero(lazygrad.tensor(3.0)).shape == (1, 0)
    assert [t.tolist() for t in lazygrad.nonzero(lazygrad.tensor(3.0), as_tuple=True)] == [[0]]


def test_masked_select_picks_the_broadcast_mask_positions_with_gradients():
    row_mask = np.array([True, False, True])
    check_op(lambda T, x, m: x.masked_select(m), lambda m, x, k: x[np.broadcast_to(k, x.shape)], X[:, :3], row_mask,
             jax_oracle=False)
    picked = lazygrad.masked_select(lazygrad.tensor(2.0), lazygrad.tensor([[True, False]]))
    assert picked.tolist() == [2.0]
    x = lazygrad.ones(2, 3, requires_grad=True)
    assert x.masked_select(lazygrad.tensor(row_mask)).grad_fn.name() == "MaskedSelectBackward0"
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        x.masked_select(lazygrad.tensor([1, 0, 1]))


@pytest.mark.parametrize(("values", "kwargs"), [([0, 1, 1, 3], {}), ([0, 1], {"minlength": 4}), ([], {}),
                                                 ([2, 0, 2], {"weights": [0.5, 1.0, 2.0]}),
                                                 ([1, 1], {"weights": [1, 2]})])
def test_bincount_counts_or_sums_weights_like_torch(values, kwargs):
    torch = pytest.importorskip("torch")

    def run(m):
        options = {k: m.tensor(v) if k == "weights" else v for k, v in kwargs.items()}
        return m.bincount(m.tensor(values, dtype=m.int64), **options)

    ours, theirs = run(lazygrad), run(torch)
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype)
    assert repr(ours) == repr(theirs)


def test_bincount_refuses_negative_or_matrix_inputs():
    for bad in (lazygrad.tensor([-1]), lazygrad.tensor([[0]])):
        with pytest.raises(RuntimeError, match=r"bincount only supports 1-d non-negative integral inputs\."):
            lazygrad.bincount(bad)


def test_three_argument_where_and_the_method_form():
    check_op(lambda T, x, m: T.where(m, x, -x), lambda m, x, k: m.where(k, x, -x), X, MASK)
    check_op(lambda T, x, m: x.where(m, 0.5), lambda m, x, k: m.where(k, x, 0.5), X, MASK)


def test_count_nonzero():
    check_op(lambda T, x: T.count_nonzero(x, dim=0), lambda m, x: m.sum(x != 0, axis=0), np.array([[1.0, 0], [2, 0]]))
    check_op(lambda T, x: x.count_nonzero(), lambda m, x: m.sum(x != 0), np.array([[1, 0], [2, 0]]))


# ---- cumprod ------------------------------------------------------------------------------------------------

WITH_ZEROS = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 2.0], [0.5, 2.0, 1.5, -1.25]])


@pytest.mark.parametrize("x", [X, WITH_ZEROS], ids=["nonzero", "with_zeros"])
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_with_exact_gradients_even_through_zeros(x, dim):
    check_op(lambda T, x: T.cumprod(x, dim), lambda m, x: m.cumprod(x, axis=dim), x)


def test_cumprod_of_integers_accumulates_in_int64():
    check_op(lambda T, x: x.cumprod(0), lambda m, x: m.cumprod(x).astype(np.int64), np.array([1, 2, 3], np.int32))
    check_op(lambda T, x: x.cumprod(0, dtype=T.float32), lambda m, x: m.cumprod(x).astype(np.float32),
             np.array([1, 2, 3]), dtype=np.float32)


# ---- elementwise ------------------------------------------------------------------------------------------------

UNIT = np.array([[-0.75, -0.3125, 0.0625, 0.5], [0.8125, -0.5625, 0.25, -0.125]])
POSITIVE = np.array([[1.25, 2.5, 0.375, 4.0], [8.0, 1.0, 3.5, 0.625]])

ELEMENTWISE = {
    "log2": (lambda T, x: T.log2(x), lambda m, x: m.log2(x), POSITIVE),
    "log10": (lambda T, x: x.log10(), lambda m, x: m.log10(x), POSITIVE),
    "exp2": (lambda T, x: T.exp2(x), lambda m, x: m.exp2(x), UNIT * 3),
    "sinh": (lambda T, x: T.sinh(x), lambda m, x: m.sinh(x), UNIT * 3),
    "cosh": (lambda T, x: x.cosh(), lambda m, x: m.cosh(x), UNIT * 3),
    "tan": (lambda T, x: T.tan(x), lambda m, x: m.tan(x), UNIT),
    "asin": (lambda T, x: T.asin(x), lambda m, x: m.arcsin(x), UNIT),
    "acos": (lambda T, x: x.acos(), lambda m, x: m.arccos(x), UNIT),
    "atan": (lambda T, x: T.arctan(x), lambda m, x: m.arctan(x), UNIT * 4),
    "asinh": (lambda T, x: T.asinh(x), lambda m, x: m.arcsinh(x), UNIT * 4),
    "acosh": (lambda T, x: T.acosh(x), lambda m, x: m.arccosh(x), POSITIVE + 1),
    "atanh": (lambda T, x: x.atanh(), lambda m, x: m.arctanh(x), UNIT),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_functions_match_numpy_with_gradients(name, dtype):
    fn, oracle, x = ELEMENTWISE[name]
    check_op(fn, oracle, x.astype(dtype))


def test_elementwise_functions_stay_accurate_at_the_edges():
    tiny = np.array([1e-20, -1e-12, 1e-8], np.float32)
    assert_close(lazygrad.sinh(lazygrad.tensor(tiny)), np.sinh(tiny), rtol=1e-6)
    assert_close(lazygrad.asinh(lazygrad.tensor(tiny)), np.arcsinh(tiny), rtol=1e-6)
    assert_close(lazygrad.atanh(lazygrad.tensor(tiny)), np.arctanh(tiny), rtol=1e-6)
    large = np.array([-1e6, 1e6], np.float64)
    assert_close(lazygrad.asinh(lazygrad.tensor(large)), np.arcsinh(large))
    assert lazygrad.exp2(lazygrad.tensor([3.0, 10.0])).tolist() == [8.0, 1024.0]
    assert lazygrad.asin(lazygrad.tensor([2.0])).isnan().item()
    assert lazygrad.sinh(lazygrad.tensor([1, 2])).dtype is lazygrad.float32


def test_addcmul_and_addcdiv_scale_a_product_or_quotient():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((1, 3)).astype(np.float32)
    c = rng.uniform(0.5, 2, (2, 1)).astype(np.float32)
    check_op(lambda T, a, b, c: T.addcmul(a, b, c, value=-0.5), lambda m, a, b, c: a - np.float32(0.5) * b * c,
             a, b, c)
    check_op(lambda T, a, b, c: T.addcdiv(a, b, c, value=2), lambda m, a, b, c: a + 2 * b / c, a, b, c)
    check_op(lambda T, a, b, c: a.addcdiv(b, c), lambda m, a, b, c: a + b / c, a, b, c)
    ints = lazygrad.ones(2, dtype=lazygrad.int64)
    assert lazygrad.addcmul(ints, ints, ints, value=2).tolist() == [3, 3]
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        lazygrad.addcdiv(ints, ints, ints)


def test_addcmul_addcdiv_and_lerp_in_place():
    t = lazygrad.ones(3)
    t.addcmul_(lazygrad.full((3,), 2.0), lazygrad.full((3,), 3.0), value=0.5)
    assert t.tolist() == [4.0, 4.0, 4.0]
    t.addcdiv_(lazygrad.full((3,), 2.0), lazygrad.full((3,), 4.0), value=-2)
    assert t.tolist() == [3.0, 3.0, 3.0]
    t.lerp_(lazygrad.tensor([5.0, 7.0, 3.0]), 0.5)
    assert t.tolist() == [4.0, 5.0, 3.0]
    x = lazygrad.ones(3, requires_grad=True)
    assert type(lazygrad.addcdiv(x, x, x + 1)).__name__ == "Tensor"
    assert lazygrad.addcdiv(x, x, x + 1).grad_fn.name() == "AddcdivBackward0"
    assert x.addcmul(x, x).grad_fn.name() == "AddcmulBackward0"


def test_hypot_lerp_and_their_dtypes():
    a, b = X[0], V
    check_op(lambda T, a, b: T.hypot(a, b), lambda m, a, b: m.hypot(a, b), a, b)
    check_op(lambda T, a, b: T.lerp(a, b, 0.25), lambda m, a, b: a + 0.25 * (b - a), a, b)
    check_op(lambda T, a, b, w: a.lerp(b, w), lambda m, a, b, w: a + w * (b - a), a, b, np.array([0.25, 0.75, 1, 0]))
    assert lazygrad.lerp(lazygrad.tensor([1.0, -3.0]), lazygrad.tensor([7.0, 5.0]), 1.0).tolist() == [7.0, 5.0]
    _raises(lambda: lazygrad.hypot(lazygrad.tensor([3]), lazygrad.tensor([4])), NotImplementedError,
            "\"hypot_cpu\" not implemented for 'Long'")


def test_isclose_logical_xor_and_one_sided_clamps():
    a = np.array([1.0, math.nan, math.inf, 1.0, 2.0], np.float32)
    b = np.array([1.0 + 1e-7, math.nan, math.inf, math.inf, 2.1], np.float32)
    check_op(lambda T, a, b: T.isclose(a, b), lambda m, a, b: m.isclose(a, b), a, b)
    check_op(lambda T, a, b: a.isclose(b, equal_nan=True), lambda m, a, b: m.isclose(a, b, equal_nan=True), a, b)
    check_op(lambda T, a, b: T.logical_xor(a, b), lambda m, a, b: m.logical_xor(a, b), np.array([1, 0, 2]),
             np.array([1.0, 1.0, 0.0]))
    check_op(lambda T, x: T.clamp_min(x, 0.0), lambda m, x: m.maximum(x, 0.0), X)
    check_op(lambda T, x: x.clamp_max(0.5), lambda m, x: m.minimum(x, 0.5), X)
    check_op(lambda T, x, lo: x.clamp_min(lo), lambda m, x, lo: m.maximum(x, lo), X, V[::-1].copy())
    _raises(lambda: lazygrad.isclose(lazygrad.tensor([1.0]), lazygrad.tensor([1.0], dtype=lazygrad.float64)),
            RuntimeError, "Float did not match Double")


def test_std_mean_var_mean_and_aminmax():
    check_op(lambda T, x: T.std_mean(x, 1), lambda m, x: (m.std(x, axis=1, ddof=1), m.mean(x, axis=1)), X)
    check_op(lambda T, x: T.var_mean(x, dim=0, correction=0, keepdim=True),
             lambda m, x: (m.var(x, axis=0, keepdims=True), m.mean(x, axis=0, keepdims=True)), X)
    check_op(lambda T, x: T.aminmax(x, dim=1), lambda m, x: (m.min(x, axis=1), m.max(x, axis=1)), X)
    result = lazygrad.aminmax(lazygrad.tensor([1, 3, 2]))
    assert repr(result) == "torch.return_types.aminmax(\nmin=tensor(1),\nmax=tensor(3))"
    _raises(lambda: lazygrad.aminmax(lazygrad.zeros(0)), RuntimeError, "aminmax(): cannot compute aminmax over an "
            "empty dimension as the operation has no identity.")


# ---- shapes and products ----------------------------------------------------------------------------------------


def test_roll_along_axes_and_flattened():
    check_op(lambda T, x: T.roll(x, 1, 0), lambda m, x: m.roll(x, 1, 0), X)
    check_op(lambda T, x: x.roll((1, -1), (0, 1)), lambda m, x: m.roll(x, (1, -1), (0, 1)), X)
    check_op(lambda T, x: T.roll(x, 5), lambda m, x: m.roll(x, 5), X)
    _raises(lambda: lazygrad.roll(lazygrad.tensor(X), (1, -1), (0,)), RuntimeError,
            "shifts and dimensions must align. shifts: 2, dims:1")


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_diag_and_diagonal(offset):
    check_op(lambda T, v: T.diag(v, offset), lambda m, v: m.diag(v, offset), V)
    check_op(lambda T, x: T.diag(x, offset), lambda m, x: m.diag(x, offset), X)
    check_op(lambda T, x: x.diagonal(offset), lambda m, x: m.diagonal(x, offset), X)


def test_trace_sums_the_main_diagonal_of_a_matrix():
    check_op(lambda T, x: x.trace(), lambda m, x: m.trace(x), X)
    check_op(lambda T, x: T.trace(x), lambda m, x: m.trace(x), np.arange(6).reshape(2, 3))
    with pytest.raises(RuntimeError, match="trace: expected a matrix, but got tensor with dim 1"):
        lazygrad.ones(3).trace()


def test_nbytes_and_itemsize_follow_the_dtype():
    x = lazygrad.zeros(3, 4, dtype=lazygrad.float64)
    assert (x.nbytes, x.itemsize, lazygrad.zeros(0).nbytes) == (96, 8, 0)
    assert lazygrad.ones(5, dtype=lazygrad.int16).nbytes == 10


def test_diagonal_of_other_axes_and_diag_embed():
    x = np.arange(24.0).reshape(2, 3, 4)
    check_op(lambda T, x: T.diagonal(x, -1, 2, 0), lambda m, x: m.diagonal(x, -1, 2, 0), x)
    check_op(lambda T, v: T.diag_embed(v), lambda m, v: m.stack([m.diag(r) for r in v]), X)
    _raises(lambda: lazygrad.diag(lazygrad.zeros(2, 2, 2)), RuntimeError, "diag(): Supports 1D or 2D tensors. Got 3D")


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_numpy(indexing):
    check_op(lambda T, a, b: T.meshgrid(a, b, indexing=indexing), lambda m, a, b: m.meshgrid(a, b, indexing=indexing),
             V, X[0, :3].copy())
    _raises(lambda: lazygrad.meshgrid(lazygrad.tensor(V), indexing="foo"), RuntimeError,
            "torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: foo")


def test_outer_addmm_baddbmm_and_cross():
    check_op(lambda T, a, b: T.outer(a, b), lambda m, a, b: m.outer(a, b), V, X[0])
    check_op(lambda T, c, a, b: T.addmm(c, a, b, beta=0.5, alpha=2.0), lambda m, c, a, b: 0.5 * c + 2 * a @ b,
             V[:3].copy(), X, X.T.copy())
    batch = np.stack([X, X[::-1]])
    check_op(lambda T, c, a, b: T.baddbmm(c, a, b), lambda m, c, a, b: c + a @ b, np.ones((2, 3, 3)), batch,
             batch.transpose(0, 2, 1).copy())
    check_op(lambda T, a, b: T.cross(a, b, dim=1), lambda m, a, b: m.cross(a, b, axis=1), X[:, :3].copy(),
             X[:, 1:].copy())
    check_op(lambda T, a, b: T.linalg.cross(a, b), lambda m, a, b: m.cross(a, b), X[:, 1:].copy(), X[::-1, :3].copy())
    _raises(lambda: lazygrad.outer(lazygrad.tensor(X), lazygrad.tensor(V)), RuntimeError,
            "outer: Expected 1-D argument self, but got 2-D")
    _raises(lambda: lazygrad.addmm(lazygrad.tensor(V), lazygrad.tensor(X), lazygrad.tensor(X)), RuntimeError,
            "mat1 and mat2 shapes cannot be multiplied (3x4 and 3x4)")


def test_addmm_with_zero_beta_ignores_nan_input():
    out = lazygrad.addmm(lazygrad.full((2, 2), math.nan), lazygrad.eye(2), lazygrad.eye(2), beta=0)
    assert out.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_index_fill_and_index_add():
    index = np.array([0, 2])

    def filled(m, x, i):
        return m.where(m.isin(m.arange(4), i)[None, :], -1.0, x)

    check_op(lambda T, x, i: x.index_fill(1, i, -1.0), filled, X, index)
    check_op(lambda T, x, i, s: x.index_add(0, i, s, alpha=2),
             lambda m, x, i, s: x + 2 * (s[0] + s[2]) * (m.arange(3) == 0)[:, None] + 2 * s[1] * (m.arange(3) == 2)
             [:, None], X, np.array([0, 2, 0]), X[::-1].copy())
    x = lazygrad.tensor(X)
    x.index_fill_(0, lazygrad.tensor([1]), 0.0)
    assert_close(x, np.where((np.arange(3) == 1)[:, None], 0.0, X))
    _raises(lambda: lazygrad.zeros(3).index_add(0, lazygrad.tensor([0]), lazygrad.tensor([1])), RuntimeError,
            "index_add_(): self (Float) and source (Long) must have the same scalar type")


# ---- random ---------------------------------------------------------------------------------------------------


def _twice(draw):
    lazygrad.manual_seed(123)
    first = draw().tolist()
    lazygrad.manual_seed(123)
    return first, draw().tolist()


RANDOM_OPS = {
    "multinomial": lambda: lazygrad.multinomial(lazygrad.tensor([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]]), 2),
    "multinomial_replacement": lambda: lazygrad.multinomial(lazygrad.tensor([0.1, 0.2, 0.7]), 6, True),
    "randperm": lambda: lazygrad.randperm(6),
    "normal": lambda: lazygrad.normal(lazygrad.zeros(4), 2.0),
    "normal_sizes": lambda: lazygrad.normal(1.0, 0.5, (2, 2)),
    "normal_": lambda: lazygrad.empty(4).normal_(),
    "bernoulli": lambda: lazygrad.bernoulli(lazygrad.full((6,), 0.5)),
    "random_": lambda: lazygrad.empty(4).random_(10),
    "exponential_": lambda: lazygrad.empty(4).exponential_(),
}


@pytest.mark.parametrize("name", RANDOM_OPS)
def test_random_ops_reproduce_under_manual_seed(name):
    first, second = _twice(RANDOM_OPS[name])
    assert first == second
    lazygrad.manual_seed(124)
    if name != "multinomial":  # two rows of few categories may repeat by chance
        assert RANDOM_OPS[name]().tolist() != first


def test_random_ops_follow_an_explicit_generator():
    g = lazygrad.Generator().manual_seed(5)
    a = lazygrad.randperm(8, generator=g).tolist()
    g.manual_seed(5)
    assert lazygrad.randperm(8, generator=g).tolist() == a


def test_multinomial_with_replacement_matches_the_probabilities():
    p = np.array([0.1, 0.0, 0.6, 0.3])
    draws = lazygrad.multinomial(lazygrad.tensor(p * 5), 4000, replacement=True).numpy()
    assert draws.dtype == np.int64 and draws.shape == (4000,)
    assert_close(np.bincount(draws, minlength=4) / 4000, p, rtol=0, atol=0.03)


def test_multinomial_without_replacement_draws_distinct_categories_by_weight():
    p = lazygrad.tensor([[0.1, 0.2, 0.3, 0.4]] * 2000)
    draws = lazygrad.multinomial(p, 3).numpy()
    assert draws.shape == (2000, 3)
    assert all(len(set(row)) == 3 for row in draws)
    assert_close(np.bincount(draws[:, 0], minlength=4) / 2000, np.array([0.1, 0.2, 0.3, 0.4]), rtol=0, atol=0.04)


def test_multinomial_errors_match_torch():
    p = lazygrad.tensor([0.2, 0.8])
    _raises(lambda: lazygrad.multinomial(p, 3), RuntimeError,
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    _raises(lambda: lazygrad.multinomial(lazygrad.tensor([[[0.2, 0.8]]]), 1), RuntimeError,
            "prob_dist must be 1 or 2 dim")
    _raises(lambda: lazygrad.multinomial(p, 0), RuntimeError, "cannot sample n_sample <= 0 samples")
    _raises(lambda: lazygrad.multinomial(lazygrad.tensor([1, 2]), 1), RuntimeError,
            "multinomial only supports floating-point dtypes for input, got: Long")
    _raises(lambda: lazygrad.multinomial(lazygrad.tensor([-0.2, 0.8]), 1), RuntimeError,
            "probability tensor contains either `inf`, `nan` or element < 0")
    _raises(lambda: lazygrad.multinomial(lazygrad.tensor([0.0, 0.0]), 1), RuntimeError,
            "invalid multinomial distribution (sum of probabilities <= 0)")


def test_randperm_is_a_permutation_of_the_requested_dtype():
    perm = lazygrad.randperm(50)
    assert perm.dtype is lazygrad.int64 and sorted(perm.tolist()) == list(range(50))
    assert lazygrad.randperm(5, dtype=lazygrad.float32).dtype is lazygrad.float32
    _raises(lambda: lazygrad.randperm(-1), RuntimeError, "Trying to create tensor with negative dimension -1: [-1]")


def test_normal_forms_have_the_requested_moments():
    mean = lazygrad.tensor([[0.0], [5.0]]).expand(2, 5000)
    draws = lazygrad.normal(mean, lazygrad.tensor([[1.0], [0.5]])).numpy()
    assert_close(draws.mean(axis=1), np.array([0.0, 5.0]), rtol=0, atol=0.06)
    assert_close(draws.std(axis=1), np.array([1.0, 0.5]), rtol=0.05, atol=0)
    sized = lazygrad.normal(2.0, 3.0, size=(4000,)).numpy()
    assert abs(sized.mean() - 2.0) < 0.2 and abs(sized.std() - 3.0) < 0.2
    filled = lazygrad.empty(4000, dtype=lazygrad.float64).normal_(-1.0, 0.5).numpy()
    assert filled.dtype == np.float64 and abs(filled.mean() + 1.0) < 0.04 and abs(filled.std() - 0.5) < 0.04


def test_normal_records_torch_names_with_zero_gradients():
    mean = lazygrad.zeros(3, requires_grad=True)
    std = lazygrad.ones(3, requires_grad=True)
    out = lazygrad.normal(mean, std)
    assert out.grad_fn.name() == "NormalBackward3"
    assert lazygrad.normal(mean, 1.0).grad_fn.name() == "NormalBackward1"
    assert lazygrad.normal(0.0, std).grad_fn.name() == "NormalBackward2"
    out.sum().backward()
    assert mean.grad.tolist() == [0.0] * 3 and std.grad.tolist() == [0.0] * 3
    _raises(lambda: lazygrad.normal(lazygrad.zeros(2), -1.0), RuntimeError,
            "normal expects std >= 0.0, but found std -1")
    _raises(lambda: lazygrad.normal(0.0, 1.0), TypeError, "normal() received an invalid combination of arguments")


def test_bernoulli_draws_with_the_given_probabilities():
    p = lazygrad.tensor([0.0, 0.25, 1.0]).reshape(3, 1).expand(3, 4000)
    draws = lazygrad.bernoulli(p).numpy()
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0}
    assert_close(draws.mean(axis=1), np.array([0.0, 0.25, 1.0]), rtol=0, atol=0.03)
    ints = lazygrad.zeros(4000, dtype=lazygrad.int64).bernoulli_(0.5).numpy()
    assert ints.dtype == np.int64 and abs(ints.mean() - 0.5) < 0.04
    chosen = lazygrad.zeros(3).bernoulli_(lazygrad.tensor([0.0, 1.0, 1.0]))
    assert chosen.tolist() == [0.0, 1.0, 1.0]
    _raises(lambda: lazygrad.bernoulli(lazygrad.tensor([1, 0])), NotImplementedError,
            "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'")


def test_random_and_exponential_fills():
    ints = lazygrad.zeros(4000, dtype=lazygrad.int64).random_(2, 5).numpy()
    assert set(np.unique(ints)) == {2, 3, 4}
    floats = lazygrad.zeros(3000).random_(5).numpy()
    assert floats.dtype == np.float32 and set(np.unique(floats)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    wide = lazygrad.zeros(1000, dtype=lazygrad.int32).random_().numpy()
    assert wide.min() >= 0 and wide.max() > 2**20
    rates = lazygrad.zeros(4000, dtype=lazygrad.float64).exponential_(2.0).numpy()
    assert rates.min() >= 0 and abs(rates.mean() - 0.5) < 0.04
    _raises(lambda: lazygrad.zeros(3).random_(5, 2), RuntimeError,
            "random_ expects 'from' to be less than 'to', but got from=5 >= to=2")
    _raises(lambda: lazygrad.zeros(3).exponential_(-1), RuntimeError,
            "exponential_ expects lambda > 0.0, but found lambda=-1")


def test_in_place_draws_write_through_views():
    x = lazygrad.zeros(2, 3)
    x[0].uniform_(1.0, 2.0)
    values = x.numpy()
    assert (values[0] >= 1.0).all() and (values[1] == 0.0).all()


def test_scatter_with_reduce_add_like_torch():
    x = lazygrad.ones(4) * 2
    index = lazygrad.tensor([1, 1])
    assert x.scatter(0, index, lazygrad.tensor([3.0, 5.0]), reduce="add").tolist() == [2.0, 10.0, 2.0, 2.0]
    assert x.scatter(0, index, 4.0, reduce="add").tolist() == [2.0, 10.0, 2.0, 2.0]
    y = lazygrad.zeros(3)
    y.scatter_(0, lazygrad.tensor([0, 2]), lazygrad.tensor([1.0, 2.0]), reduce="add")
    assert y.tolist() == [1.0, 0.0, 2.0]
    _raises(lambda: x.scatter(0, index, 1.0, reduce="max"), RuntimeError,
            "reduce argument must be either add or multiply.")


@pytest.mark.parametrize("dim", [-1, 0])
def test_mode_takes_the_smallest_most_frequent_value_and_its_last_position_like_torch(dim):
    x = lazygrad.tensor([[1, 2, 2, 3, 3, 1], [5, 5, 4, 4, 4, 0]])
    values, indices = lazygrad.mode(x, dim)
    expected = {-1: ([1, 4], [5, 4]), 0: ([1, 2, 2, 3, 3, 0], [0, 0, 0, 0, 0, 1])}[dim]
    assert (values.tolist(), indices.tolist()) == expected
    y = lazygrad.tensor([3.0, 1.0, 1.0, 3.0], requires_grad=True)
    result = y.mode()
    assert repr(result) == "torch.return_types.mode(\nvalues=tensor(1., grad_fn=<ModeBackward0>),\nindices=tensor(2))"
    result.values.backward()
    assert y.grad.tolist() == [0.0, 0.0, 1.0, 0.0]


# ---- addcmul/addcdiv, in-place forms, movedim, index_put -----------------------------------------------------


def test_addcmul_and_addcdiv_match_numpy_and_torch():
    check_op(lambda T, x, a, b: T.addcmul(x, a, b, value=0.5), lambda m, x, a, b: x + 0.5 * a * b, X, X * 2, X - 1)
    check_op(lambda T, x, a, b: x.addcdiv(a, b, value=-2), lambda m, x, a, b: x + -2 * a / b, X, X * 2, X * X + 1)


@pytest.mark.parametrize("name", ["abs", "relu", "sigmoid", "tanh", "sin", "floor", "reciprocal", "square", "sign"])
def test_in_place_form_of_an_elementwise_op_writes_what_the_op_returns(name):
    x = lazygrad.tensor(X)
    view = x[1:]
    expected = getattr(x, name)().tolist()
    assert getattr(x, name + "_")() is x
    assert x.tolist() == expected and view.tolist() == expected[1:]


def test_in_place_forms_refuse_a_float_result_in_an_integer_tensor_and_write_comparisons_as_numbers():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        lazygrad.tensor([1, 2]).sigmoid_()
    a = lazygrad.tensor([0.5, 2.0])
    a.gt_(1)
    assert a.tolist() == [0.0, 1.0] and a.dtype is lazygrad.float32


def test_addcmul_in_place_is_adams_second_moment_update():
    v = lazygrad.tensor([1.0, 2.0])
    g = lazygrad.tensor([3.0, -1.0])
    v.mul_(0.5).addcmul_(g, g, value=0.5)
    assert v.tolist() == [5.0, 1.5]


def test_movedim_is_a_permute_view():
    a = lazygrad.zeros(2, 3, 4)
    b = a.movedim((0, 1), (2, 0))
    assert b.shape == (3, 4, 2) and b.stride() == (4, 1, 12) and lazygrad.moveaxis(a, 0, -1).shape == (3, 4, 2)
    b[1, 2, 0] = 5
    assert a[0, 1, 2].item() == 5


def test_index_put_writes_or_accumulates_and_checks_dtypes():
    a = lazygrad.zeros(3, 3)
    rows, cols = lazygrad.tensor([0, 0, 2]), lazygrad.tensor([1, 1, 0])
    a.index_put_((rows, cols), lazygrad.tensor([1.0, 2.0, 3.0]))
    assert a.tolist() == [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 0.0]]
    b = a.index_put([rows, cols], lazygrad.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert b.tolist() == [[0.0, 5.0, 0.0], [0.0, 0.0, 0.0], [6.0, 0.0, 0.0]] and a[0, 1].item() == 2.0
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got Float "
                       "for the destination and Double for the source"):
        a.index_put_((rows,), lazygrad.tensor(1.0, dtype=lazygrad.float64))


def test_subtraction_and_integer_division_of_bools_raise_torchs_errors():
    two = "Subtraction, the `-` operator, with two bool tensors is not supported"
    one = "Subtraction, the `-` operator, with a bool tensor is not supported"
    mask = lazygrad.tensor([True, False])
    for fn, message in [(lambda: mask - True, two), (lambda: mask - mask, two), (lambda: 1 - mask, one),
                        (lambda: lazygrad.tensor([1, 2]) - True, one), (lambda: lazygrad.ones(2).sub_(mask), one),
                        (lambda: mask.sub(lazygrad.tensor([1, 1]), alpha=2), one)]:
        _raises(fn, RuntimeError, message)
    for fn, kernel in [(lambda: mask // mask, "div_floor_cpu"), (lambda: mask % True, "remainder_cpu"),
                       (lambda: mask.fmod(mask), "fmod_cpu"), (lambda: mask**mask, "pow"),
                       (lambda: mask.div(True, rounding_mode="trunc"), "div_trunc_cpu")]:
        _raises(fn, NotImplementedError, f"\"{kernel}\" not implemented for 'Bool'")


def test_an_augmented_operator_refuses_a_result_its_tensor_cannot_hold():
    mask = lazygrad.tensor([True, False])
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        mask //= 2


def test_fill_takes_a_number_or_a_zero_dimensional_tensor_only():
    _raises(lambda: lazygrad.zeros(2, 3).fill_(lazygrad.ones(3)), RuntimeError,
            "fill_ only supports 0-dimension value tensor but got tensor with 1 dimensions.")
    assert lazygrad.zeros(2).fill_(lazygrad.tensor(3.0)).tolist() == [3.0, 3.0]


def test_a_python_int_outside_a_narrow_integer_dtype_wraps_in_arithmetic_and_is_refused_when_written():
    small = lazygrad.tensor([1, 2], dtype=lazygrad.uint8)
    assert (small - 3).tolist() == [254, 255] and (small * 300).tolist() == [44, 88]
    assert (lazygrad.tensor([1, 2], dtype=lazygrad.int8) + 200).tolist() == [-55, -54]
    small.add_(-3)
    assert small.tolist() == [254, 255] and small.fill_(-1).tolist() == [255, 255]
    assert lazygrad.full((2,), -1, dtype=lazygrad.uint8).tolist() == [255, 255]
    small[0] = -200  # an unsigned dtype takes magnitudes up to its maximum
    assert small.tolist() == [56, 255]
    for write, name in [(lambda: small.__setitem__(0, 256), "uint8_t"),
                        (lambda: lazygrad.zeros(2, dtype=lazygrad.int16).__setitem__(lazygrad.tensor([0]), 70000),
                         "int16_t"),
                        (lambda: lazygrad.zeros(2, dtype=lazygrad.int32).index_fill_(0, lazygrad.tensor([0]), 2**31),
                         "int")]:
        _raises(write, RuntimeError, f"value cannot be converted to type {name} without overflow")


def test_lerp_refuses_an_end_of_another_dtype():
    _raises(lambda: lazygrad.tensor([1.0, 2.0]).lerp(lazygrad.tensor(2), 0.5), RuntimeError,
            "expected dtype float for `end` but got dtype long int")
    _raises(lambda: lazygrad.ones(2).lerp_(lazygrad.ones(2, dtype=lazygrad.float64), 0.5), RuntimeError,
            "expected dtype float for `end` but got dtype double")


def test_float_floor_division_floors_the_exact_quotient_like_torch_and_python():
    x = lazygrad.tensor([1.0, -1.0, 7.0, 5.5, -5.5, 0.05, -0.05, math.inf], dtype=lazygrad.float64)
    got = (x // 0.1).tolist()
    assert got[:-1] == [v // 0.1 for v in [1.0, -1.0, 7.0, 5.5, -5.5, 0.05, -0.05]] and math.isnan(got[-1])
    assert [str(v) for v in (lazygrad.tensor([0.5, -0.0, 1.0]) // lazygrad.tensor([3.0, 3.0, 0.0])).tolist()] == \
        ["0.0", "-0.0", "inf"]
    assert (lazygrad.tensor([7.0, -3.0], dtype=lazygrad.float16) // 0.1).tolist() == [69.0, -30.0]
    assert (lazygrad.tensor([7.0], requires_grad=True) // 2).grad_fn.name() == "NotImplemented"
