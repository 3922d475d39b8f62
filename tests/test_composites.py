"""Composite ops built from the shape, indexing and product ops: rearranging (repeat_interleave, take,
diff, tensor_split, ...), running extrema and log-sum-exp, and the products beyond matmul.

Each family is one ``check_op`` per case (values against numpy, dtype, gradients and ``grad_fn`` against
torch), plus torch's messages for bad arguments.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, check_op

import lazygrad

RNG = np.random.default_rng(3)
X = RNG.permutation(np.arange(12, dtype=np.float64) - 5.5).reshape(3, 4) / 4  # distinct values: no ties
V = np.array([0.75, -1.25, 2.5])
M = np.array([[2.0, 0.5, 0.25], [0.5, 3.0, -0.5], [0.25, -0.5, 1.5]])  # well conditioned


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


# ---- rearranging ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["flat", "dim", "tensor", "one"])
def test_repeat_interleave_matches_numpy(case):
    reps = {"flat": 2, "dim": 2, "tensor": np.array([1, 0, 2]), "one": np.array([2])}[case]
    dim = None if case == "flat" else 0
    check_op(lambda T, x: x.repeat_interleave(T.tensor(reps) if isinstance(reps, np.ndarray) else reps, dim=dim),
             lambda m, x: m.repeat(x, reps if np.ndim(reps) == 0 else np.broadcast_to(reps, (3,)), axis=dim), X)


def test_repeat_interleave_of_repeats_alone_repeats_positions():
    assert lazygrad.repeat_interleave(lazygrad.tensor([1, 0, 2])).tolist() == [0, 2, 2]


def test_repeat_interleave_errors():
    x = lazygrad.tensor(X)
    _raises(lambda: x.repeat_interleave(lazygrad.tensor([1, 2]), 0), RuntimeError,
            "repeats must have the same size as input along dim, but got repeats.size(0) = 2 and input.size(0) = 3")
    _raises(lambda: x.repeat_interleave(lazygrad.tensor([1, -1, 1]), 0), RuntimeError, "repeats can not be negative")
    _raises(lambda: x.repeat_interleave(2, output_size=5), RuntimeError,
            "repeat_interleave: Invalid output_size, expected 24 but got 5")


def test_broadcast_tensors_and_shapes():
    a, b = lazygrad.broadcast_tensors(lazygrad.tensor(X), lazygrad.tensor(X[:1]))
    assert a.shape == b.shape == (3, 4)
    assert lazygrad.broadcast_shapes((2, 1), (3,), 1) == lazygrad.Size([2, 3])
    _raises(lambda: lazygrad.broadcast_shapes((2, 3), (4,)), RuntimeError,
            "Attempting to broadcast a dimension of length 4 at -1! Mismatching argument at index 1 had (4,); but "
            "expected shape should be broadcastable to [2, 3]")
    x = lazygrad.tensor(X)
    assert lazygrad.broadcast_tensors(x, x)[0] is x
    check_op(lambda T, x, y: T.broadcast_tensors(x, y), lambda m, x, y: m.broadcast_arrays(x, y), X, X[:, :1])


def test_take_and_take_along_dim_match_numpy():
    index = np.array([[0, -1], [5, 11]])
    check_op(lambda T, x: T.take(x, T.tensor(index)), lambda m, x: m.take(x, index), X)
    along = np.array([[1], [0], [3]])
    check_op(lambda T, x: T.take_along_dim(x, T.tensor(along), 1), lambda m, x: m.take_along_axis(x, along, 1), X)
    flat = np.array([0, 4])
    check_op(lambda T, x: x.take_along_dim(T.tensor(flat)), lambda m, x: m.reshape(x, -1)[flat], X)
    check_op(lambda T, x: T.take_along_dim(x, T.tensor(-along), 1), lambda m, x: m.take_along_axis(x, -along, 1), X)
    wide = np.array([[2, 0]])  # broadcast over the rows
    check_op(lambda T, x: T.take_along_dim(x, T.tensor(wide), 1),
             lambda m, x: m.take_along_axis(x, np.broadcast_to(wide, (3, 2)), 1), X)


def test_take_errors():
    x = lazygrad.tensor(X)
    _raises(lambda: x.take(lazygrad.tensor([12])), IndexError,
            "out of range: tried to access index 12 on a tensor of 12 elements.")
    pending = lazygrad.tensor([1]) * 12
    with pytest.raises(IndexError, match="tried to access index 12 on a tensor of 12 elements"):
        x.take(pending).tolist()
    _raises(lambda: x.take_along_dim(lazygrad.tensor([0]), 1), RuntimeError,
            "torch.take_along_dim(): input and indices should have the same number of dimensions")


@pytest.mark.parametrize("case", ["once", "twice", "rows", "joined"])
def test_diff_matches_numpy(case):
    if case == "joined":
        check_op(lambda T, x, p: T.diff(x, prepend=p, append=p), lambda m, x, p: m.diff(x, prepend=p, append=p), X,
                 X[:, :1])
        return
    n, dim = {"once": (1, -1), "twice": (2, -1), "rows": (1, 0)}[case]
    check_op(lambda T, x: x.diff(n, dim), lambda m, x: m.diff(x, n, dim), X)


def test_diff_of_bools_is_inequality():
    assert lazygrad.diff(lazygrad.tensor([True, False, False])).tolist() == [True, False]
    _raises(lambda: lazygrad.diff(lazygrad.tensor(1.0)), RuntimeError,
            "diff expects input to be at least one-dimensional")


@pytest.mark.parametrize("split", [3, [1, 3], [3, 1, 9], [-3, 3]])
def test_tensor_split_matches_numpy(split):
    # jax's array_split refuses indices that go back or count from the end, which numpy and torch take
    check_op(lambda T, x: T.tensor_split(x, split, 1), lambda m, x: m.array_split(x, split, 1), X,
             jax_oracle=split in (3, [1, 3]))


def test_hsplit_vsplit_dsplit_and_column_stack():
    check_op(lambda T, x: T.hsplit(x, 2), lambda m, x: m.hsplit(x, 2), X)
    check_op(lambda T, x: x.vsplit([1]), lambda m, x: m.vsplit(x, [1]), X)
    check_op(lambda T, x: T.dsplit(x.reshape(3, 2, 2), 2), lambda m, x: m.dsplit(x.reshape(3, 2, 2), 2), X)
    check_op(lambda T, x, v: T.column_stack([x[:, :3].T, v]), lambda m, x, v: m.column_stack([x[:, :3].T, v]), X, V)
    _raises(lambda: lazygrad.hsplit(lazygrad.tensor(X), 3), RuntimeError,
            "torch.hsplit attempted to split along dimension 1, but the size of the dimension 4 is not divisible by "
            "the split_size 3!")
    _raises(lambda: lazygrad.dsplit(lazygrad.tensor(X), 2), RuntimeError,
            "torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with 2 dimensions!")


def test_cartesian_prod_combinations_block_diag_diagflat():
    check_op(lambda T, v, w: T.cartesian_prod(v, w),
             lambda m, v, w: m.stack([m.repeat(v, 2), m.tile(w, 3)], 1), V, V[:2])
    first, second = np.array([0, 0, 1]), np.array([1, 2, 2])
    check_op(lambda T, v: T.combinations(v), lambda m, v: m.stack([v[first], v[second]], 1), V)
    check_op(lambda T, v: T.combinations(v, 2, with_replacement=True),
             lambda m, v: m.stack([v[np.array([0, 0, 0, 1, 1, 2])], v[np.array([0, 1, 2, 1, 2, 2])]], 1), V)
    check_op(lambda T, x, v: T.block_diag(x[:2, :2], v),
             lambda m, x, v: m.concatenate([m.pad(x[:2, :2], ((0, 0), (0, 3))),
                                            m.pad(v[None], ((0, 0), (2, 0)))]), X, V)
    check_op(lambda T, x: T.diagflat(x[:2, :2], 1), lambda m, x: m.diagflat(x[:2, :2], 1), X)


def test_unfold_takes_windows_along_a_dimension():
    check_op(lambda T, x: x.unfold(1, 2, 1), lambda m, x: m.stack([x[:, 0:2], x[:, 1:3], x[:, 2:4]], 1), X)
    check_op(lambda T, x: x.unfold(0, 2, 2), lambda m, x: x[None, :2].transpose(0, 2, 1), X)
    check_op(lambda T, x: x.unfold(1, 1, 3), lambda m, x: x[:, ::3, None], X)


def test_unfold_into_separate_windows_is_a_view():
    x = lazygrad.tensor(X)
    windows = x.unfold(1, 2, 2)
    x.mul_(2)
    assert_close(windows, np.stack([X[:, 0:2], X[:, 2:4]], 1) * 2)
    windows[0, 1].zero_()
    assert x[0, 2:].tolist() == [0.0, 0.0]


def test_unravel_index_matches_numpy():
    rows, cols = lazygrad.unravel_index(lazygrad.tensor([5, 7, -1]), (2, 4))
    assert rows.tolist() == [1, 1, 1] and cols.tolist() == [1, 3, 3]


# ---- running extrema and log-sum-exp ------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1])
def test_cummax_cummin_match_numpy(dim):
    for name, largest in (("cummax", True), ("cummin", False)):
        positions = _positions(X, dim, largest)

        def oracle(m, x, positions=positions):
            return m.take_along_axis(x, positions, dim), positions

        out = check_op(lambda T, x, name=name: getattr(T, name)(x, dim), oracle, X, grad=False)
        assert type(out).__name__ == name and out.values is out[0] and out.indices is out[1]
        check_op(lambda T, x, name=name: getattr(x, name)(dim).values, lambda m, x, o=oracle: o(m, x)[0], X)


def _positions(x, dim, largest):
    """Where the running extremum was last reached, by a plain loop."""
    x = np.moveaxis(x, dim, -1)
    out = np.zeros(x.shape, dtype=np.int64)
    for index in np.ndindex(x.shape[:-1]):
        best = 0
        for j in range(x.shape[-1]):
            if (x[index][j] >= x[index][best]) if largest else (x[index][j] <= x[index][best]):
                best = j
            out[(*index, j)] = best
    return np.moveaxis(out, -1, dim)


def test_cummax_keeps_the_latest_tie_and_propagates_nan():
    values, indices = lazygrad.cummax(lazygrad.tensor([1.0, float("nan"), 2.0, float("nan"), 3.0]), 0)
    assert indices.tolist() == [0, 1, 1, 3, 3]
    assert np.isnan(values.numpy()[1:]).all()
    assert lazygrad.cummin(lazygrad.tensor([2, 1, 1, 3]), 0).indices.tolist() == [0, 1, 2, 2]


def test_logcumsumexp_matches_numpy():
    check_op(lambda T, x: T.logcumsumexp(x, 1), lambda m, x: m.logaddexp.accumulate(x, axis=1) if m is np else
             m.log(m.cumsum(m.exp(x), axis=1)), X)
    big = lazygrad.tensor([-float("inf"), 0.0, 1000.0])
    assert lazygrad.logcumsumexp(big, 0).tolist() == [-float("inf"), 0.0, 1000.0]


# ---- products -----------------------------------------------------------------------------------------------------


def test_addmv_addbmm_addr_vdot_match_numpy():
    check_op(lambda T, x, v, w: T.addmv(w, x[:, :3], v, beta=0.5, alpha=2), lambda m, x, v, w: 0.5 * w + 2 * (
        x[:, :3] @ v), X, V, V)
    b1, b2 = RNG.standard_normal((2, 3, 2)), RNG.standard_normal((2, 2, 4))
    check_op(lambda T, x, a, b: T.addbmm(x, a, b), lambda m, x, a, b: x + (a @ b).sum(0), X, b1, b2)
    check_op(lambda T, x, v, w: T.addr(x[:, :3], v, w, alpha=3), lambda m, x, v, w: x[:, :3] + 3 * m.outer(v, w), X,
             V, V)
    check_op(lambda T, v, w: T.vdot(v, w), lambda m, v, w: m.dot(v, w), V, V[::-1].copy())
    check_op(lambda T, v, w: T.ger(v, w), lambda m, v, w: m.outer(v, w), V, V)


def test_tensordot_inner_kron_match_numpy():
    check_op(lambda T, x, y: T.tensordot(x, y, 1), lambda m, x, y: m.tensordot(x, y, 1), X, X.T.copy())
    check_op(lambda T, x, y: T.tensordot(x, y, ([0, 1], [1, 0])), lambda m, x, y: m.tensordot(x, y, ([0, 1], [1, 0])),
             X, X.T.copy())
    check_op(lambda T, x, y: T.inner(x, y), lambda m, x, y: m.inner(x, y), X, X[:2])
    check_op(lambda T, x, y: T.kron(x, y), lambda m, x, y: m.kron(x, y), X[:2, :2], V)


@pytest.mark.parametrize("n", [0, 1, 3, -1, -2])
def test_matrix_power_matches_numpy(n):
    def oracle(m, a):
        base = m.linalg.inv(a) if n < 0 else a
        out = m.eye(3) + 0 * a if n == 0 else base
        for _ in range(abs(n) - 1):
            out = out @ base
        return out
    check_op(lambda T, a: T.matrix_power(a, n), oracle, M)


def test_chain_matmul_and_multi_dot():
    check_op(lambda T, a, b: T.linalg.multi_dot([a[0], b, a.T]), lambda m, a, b: a[0] @ b @ a.T, X[:, :3], M)
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        check_op(lambda T, a, b: T.chain_matmul(a, b, b), lambda m, a, b: a @ b @ b, X[:, :3], M)


def test_product_errors():
    x, v = lazygrad.tensor(X), lazygrad.tensor(V)
    _raises(lambda: lazygrad.addmv(v, x, v), RuntimeError, "size mismatch, got input (3), mat (3x4), vec (3)")
    _raises(lambda: lazygrad.vdot(x, x), RuntimeError, "1D tensors expected, but got 2D and 2D tensors")
    _raises(lambda: lazygrad.matrix_power(x, 2), RuntimeError,
            "linalg.matrix_power: A must be batches of square matrices, but they are 3 by 4 matrices")
    _raises(lambda: lazygrad.tensordot(x, x, 1), RuntimeError,
            "contracted dimensions need to match, but first has size 4 in dim -1 and second has size 3 in dim 0")


# Bad arguments, with torch's error type and message.
_ERRORS = {
    "diff_prepend": (lambda T: T.diff(T.ones(2, 3), prepend=T.ones(3, 3)), RuntimeError,
                     "diff expects the shape of tensor to prepend or append to match that of input except along the "
                     "differencing dimension; input.size(0) = 2, but got tensor.size(0) = 3"),
    "addbmm_batches": (lambda T: T.addbmm(T.ones(2, 2), T.ones(2, 2, 3), T.ones(3, 3, 2)), RuntimeError,
                       "batch1 and batch2 must have same number of batches, got 2 and 3"),
    "float_repeats": (lambda T: T.ones(2).repeat_interleave(T.tensor([1.0, 2.0])), NotImplementedError,
                      "\"repeat_interleave_cpu\" not implemented for 'Float'"),
    "masked_scatter_dtype": (lambda T: T.zeros(3).masked_scatter(T.tensor([True, False, True]),
                                                                 T.ones(3, dtype=T.float64)), RuntimeError,
                             "masked_scatter: expected self and source to have same dtypes but gotFloat and Double"),
    "index_copy_slices": (lambda T: T.zeros(3, 2).index_copy(0, T.tensor([0]), T.ones(1, 3)), RuntimeError,
                          "index_copy_(): Source/destination tensor must have same slice shapes. Destination slice "
                          "shape: 2 at dimension 0 and source slice shape: 3 at dimension 0."),
    "cov_float_fweights": (lambda T: T.cov(T.ones(2, 3), fweights=T.ones(3)), RuntimeError,
                           "cov(): expected fweights to have integral dtype but got fweights with Float dtype"),
    "fill_diagonal_leaf": (lambda T: T.ones(2, 2, requires_grad=True).fill_diagonal_(0), RuntimeError,
                           "a view of a leaf Variable that requires grad is being used in an in-place operation."),
    "rng_state": (lambda T: T.set_rng_state(T.ones(3)), TypeError, "RNG state must be a torch.ByteTensor"),
}


@pytest.mark.parametrize("case", sorted(_ERRORS))
def test_bad_arguments_raise_torchs_errors(case):
    fn, error, message = _ERRORS[case]
    _raises(lambda: fn(lazygrad), error, message)
