"""Writes by index: index_put(_), index_copy(_), masked_scatter(_), scatter_reduce(_) and fill_diagonal_.

Values and gradients against numpy oracles (``check_op``), torch's messages for bad arguments, and the
in-place forms through views, which must reach their base as every in-place op does.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, assigned, check_like_torch, check_op

import lazygrad

RNG = np.random.default_rng(5)
X = RNG.permutation(np.arange(12, dtype=np.float64) - 5.5).reshape(3, 4) / 4
ROWS = np.array([0, 2, 0])


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


def _added(m, x, index, value):
    if m is np:
        out = x.copy()
        np.add.at(out, index, value)
        return out
    return x.at[index].add(value)


def test_index_put_writes_and_accumulates():
    v = X[0] * 2
    check_op(lambda T, x, v: x.index_put((T.tensor(ROWS[1:]),), v), lambda m, x, v: assigned(m, x, ROWS[1:], v), X, v)
    check_op(lambda T, x, v: T.index_put(x, (T.tensor(ROWS),), v, accumulate=True),
             lambda m, x, v: _added(m, x, ROWS, v), X, v)
    cols = np.array([1, 3])
    check_op(lambda T, x, v: x.index_put((T.tensor(ROWS[:2]), T.tensor(cols)), v[:2], True),
             lambda m, x, v: _added(m, x, (ROWS[:2], cols), v[:2]), X, v)


def test_index_put_in_place_through_a_view_reaches_the_base():
    base = lazygrad.tensor(X, dtype=lazygrad.float32)
    row = base[1]
    row.index_put_((lazygrad.tensor([0, 0]),), lazygrad.tensor([1.0, 2.0]), accumulate=True)
    want = X.copy()
    want[1, 0] += 3.0
    assert_close(base, want)
    _raises(lambda: base.index_put_((lazygrad.tensor([0]),), lazygrad.tensor([1], dtype=lazygrad.float64)),
            RuntimeError, "Index put requires the source and destination dtypes match, got Float for the destination "
                          "and Double for the source.")


def test_index_copy_replaces_slices():
    src = RNG.standard_normal((3, 2))
    check_op(lambda T, x, s: x.index_copy(1, T.tensor(np.array([3, 0])), s[:, :2]),
             lambda m, x, s: assigned(m, x, (slice(None), np.array([3, 0])), s[:, :2]), X, src)
    x = lazygrad.tensor(X)
    _raises(lambda: x.index_copy(0, lazygrad.tensor([5]), lazygrad.ones(1, 4, dtype=lazygrad.float64)), IndexError,
            "index_copy_(): index 5 is out of bounds for dimension 0 with size 3")
    _raises(lambda: x.index_copy(0, lazygrad.tensor([0]), lazygrad.ones(2, 4, dtype=lazygrad.float64)), IndexError,
            "index_copy_(): Number of indices (1) should be equal to source.size(dim) (2)")
    x[0].index_copy_(0, lazygrad.tensor([1]), lazygrad.tensor([9.0], dtype=lazygrad.float64))
    assert x[0, 1].item() == 9.0


def test_masked_scatter_fills_true_positions_in_order():
    mask = X > 0
    src = RNG.standard_normal(12)
    check_op(lambda T, x, s: x.masked_scatter(T.tensor(mask), s),
             lambda m, x, s: assigned(m, x, mask, s[:int(mask.sum())]), X, src)
    row = np.array([True, False, True, False])  # broadcast over the rows
    check_op(lambda T, x, s: T.masked_scatter(x, T.tensor(row), s),
             lambda m, x, s: assigned(m, x, np.broadcast_to(row, (3, 4)), s[:6]), X, src)
    _raises(lambda: lazygrad.zeros(3).masked_scatter(lazygrad.tensor([True, True, True]), lazygrad.ones(2)),
            RuntimeError, "Number of elements of source < number of ones in mask")
    pending = lazygrad.ones(3) > 0
    with pytest.raises(RuntimeError, match="Number of elements of source < number of ones in mask"):
        lazygrad.zeros(3).masked_scatter(pending, lazygrad.ones(2)).tolist()


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_a_loop(reduce, include_self):
    index = np.array([[0, 2, 0, 0], [1, 1, 3, 1], [2, 0, 2, 3]])
    src = RNG.permutation(np.arange(12, dtype=np.float64)).reshape(3, 4) / 8 + 33 / 64  # no ties, nor with X
    want = _scatter_reduce_loop(X, index, src, reduce, include_self)
    check_op(lambda T, x, s: x.scatter_reduce(1, T.tensor(index), s, reduce, include_self=include_self),
             lambda m, x, s: want, X, src, jax_oracle=False)


def _scatter_reduce_loop(x, index, src, reduce, include_self):
    groups = {}
    for (i, j), k in np.ndenumerate(index):
        groups.setdefault((i, k), []).append(src[i, j])
    out = x.copy()
    combine = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce]
    for at, values in groups.items():
        out[at] = combine([*values, x[at]] if include_self else values)
    return out


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_extremum_from_infinite_starts(reduce, backend):
    """A per-destination softmax starts its maximum at -inf and may hold masked (-inf) scores: the result is the
    extremum, never nan, and each gradient goes to the element that reached it."""
    sign = 1.0 if reduce == "amax" else -1.0
    start = lazygrad.full((4,), -sign * np.inf)
    scores = lazygrad.tensor([1.0, 3.0, -np.inf, 2.0, 5.0], requires_grad=True)  # a masked score: sign * -inf
    destination = lazygrad.tensor([0, 0, 0, 1, 3])
    out = start.scatter_reduce(0, destination, scores * sign, reduce, include_self=True)
    assert out.tolist() == [3.0 * sign, 2.0 * sign, -sign * np.inf, 5.0 * sign]
    (out[[0, 1, 3]] * lazygrad.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert scores.grad.tolist() == [0.0, sign, 0.0, 2.0 * sign, 3.0 * sign]


def test_scatter_reduce_of_integers_rounds_the_mean_down():
    z = lazygrad.arange(6).reshape(2, 3)
    out = z.scatter_reduce(1, lazygrad.tensor([[0, 0], [2, 2]]), lazygrad.tensor([[1, 2], [3, 4]]), "mean")
    assert out.tolist() == [[1, 1, 2], [3, 4, 4]]
    z.scatter_reduce_(1, lazygrad.tensor([[0], [0]]), lazygrad.tensor([[7], [8]]), "amax", include_self=False)
    assert z.tolist() == [[7, 1, 2], [8, 4, 5]]


def test_fill_diagonal_in_place():
    out = lazygrad.zeros(5, 3).fill_diagonal_(2, wrap=True)
    assert out.tolist() == [[2, 0, 0], [0, 2, 0], [0, 0, 2], [0, 0, 0], [2, 0, 0]]
    assert lazygrad.zeros(5, 3).fill_diagonal_(2).sum().item() == 6
    assert lazygrad.zeros(2, 4).fill_diagonal_(1).tolist() == [[1, 0, 0, 0], [0, 1, 0, 0]]
    assert lazygrad.zeros(3, 3, 3).fill_diagonal_(1)[1, 1, 1].item() == 1
    _raises(lambda: lazygrad.zeros(3).fill_diagonal_(1), RuntimeError, "dimensions must larger than 1")
    check_op(lambda T, x: (x * 1).fill_diagonal_(0.5), lambda m, x: assigned(m, x, (np.arange(3), np.arange(3)), 0.5),
             X)


def test_put_writes_and_accumulates_at_flat_positions():
    index = np.array([0, -1, 5])
    check_op(lambda T, x, s: x.put(T.tensor(index[:2]), s[:2]),
             lambda m, x, s: assigned(m, x.reshape(-1), index[:2], s[:2]).reshape(3, 4), X, X[1, :3].copy())
    check_op(lambda T, x, s: T.put(x, T.tensor(np.array([1, 1, 5])), s, accumulate=True),
             lambda m, x, s: _added(m, x.reshape(-1), np.array([1, 1, 5]), s).reshape(3, 4), X, X[1, :3].copy())
    _raises(lambda: lazygrad.zeros(2).put(lazygrad.tensor([5]), lazygrad.ones(1)), IndexError,
            "out of range: tried to access index 5 on a tensor of 2 elements.")


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce_matches_a_loop(reduce):
    rows = np.array([0, 2, 0])
    src = RNG.permutation(np.arange(12, dtype=np.float64)).reshape(3, 4) / 8 + 33 / 64  # no ties, nor with X
    index = np.broadcast_to(rows[:, None], (3, 4))
    for include_self in (True, False):
        want = _scatter_reduce_loop(X.T, index.T, src.T, reduce, include_self).T
        check_op(lambda T, x, s, keep=include_self: x.index_reduce(0, T.tensor(rows), s, reduce, include_self=keep),
                 lambda m, x, s, want=want: want, X, src, jax_oracle=False)


def test_add_products_in_place():
    x = lazygrad.tensor(X[:, :3].copy())
    v = lazygrad.tensor(X[0, :3].copy())
    x.addr_(v, v, alpha=2)
    assert_close(x, X[:, :3] + 2 * np.outer(X[0, :3], X[0, :3]))
    w = lazygrad.tensor(X[0, :3].copy())
    assert lazygrad.addmv_(w, x, v, beta=0) is w
    assert_close(w, (X[:, :3] + 2 * np.outer(X[0, :3], X[0, :3])) @ X[0, :3])


@pytest.mark.skipif(not HAS_TORCH, reason="torch's rule for ties is the oracle")
@pytest.mark.parametrize("include_self", [True, False])
def test_extremum_ties_share_the_gradient_as_in_torch(include_self):
    x = np.array([[1.0, 0.0], [0.0, 2.0], [2.0, 1.0]])
    src = np.array([[1.0, 2.0], [2.0, 0.0], [2.0, 0.0]])
    index = np.array([[0, 0], [2, 2], [2, 1]])
    check_like_torch(lambda T, x, s: x.scatter_reduce(0, T.tensor(index), s, "amax", include_self=include_self),
                     x, src)
    check_like_torch(lambda T, x, s: x.index_reduce(0, T.tensor(index[:, 0]), s, "amin", include_self=include_self),
                     x, src)
