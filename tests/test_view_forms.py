"""The functional forms of views: ``*_scatter`` (gradients to the input and to src), the ``*_copy`` functions (new
memory, torch's ``*Backward0_copy`` names), torch's named split forms, and ``renorm``; all against torch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle of these ops")
RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 4))


@pytest.mark.parametrize("fn, src_shape", [
    (lambda T, x, s: T.slice_scatter(x, s, 1, 0, 4, 2), (3, 2)),
    (lambda T, x, s: T.slice_scatter(x, s, 1, -2), (3, 2)),
    (lambda T, x, s: x.slice_scatter(s), (3, 4)),
    (lambda T, x, s: T.select_scatter(x, s, 0, -1), (4,)),
    (lambda T, x, s: x.select_scatter(s, 1, 2), (3,)),
    (lambda T, x, s: T.diagonal_scatter(x, s), (3,)),
    (lambda T, x, s: T.diagonal_scatter(x, s, 2), (2,)),
    (lambda T, x, s: x.diagonal_scatter(s, -1, 1, 0), (3,)),
])
def test_scatters_match_torch_with_gradients_to_both_inputs(fn, src_shape):
    check_like_torch(fn, X, RNG.standard_normal(src_shape))


@pytest.mark.backend_agnostic
def test_scatter_casts_src_to_the_inputs_dtype_and_checks_its_size():
    out = lazygrad.slice_scatter(lazygrad.ones(3, 3), lazygrad.zeros(3, 1, dtype=lazygrad.float64), 1, 1, 2)
    assert out.dtype is lazygrad.float32
    np.testing.assert_array_equal(out.numpy(), [[1, 0, 1]] * 3)
    with pytest.raises(RuntimeError, match=r"expected src to have a size equal to the slice of self. src size = "
                                           r"\[4\], slice size = \[3\]"):
        lazygrad.select_scatter(lazygrad.ones(3, 3), lazygrad.zeros(4), 0, 1)
    with pytest.raises(IndexError, match=r"select\(\): index 5 out of range for tensor of size \[3, 3\] at "
                                         r"dimension 0"):
        lazygrad.select_scatter(lazygrad.ones(3, 3), lazygrad.zeros(3), 0, 5)


COPIES = [("view_copy", ((4, 3),)), ("permute_copy", ((1, 0),)), ("t_copy", ()), ("transpose_copy", (0, 1)),
          ("unsqueeze_copy", (0,)), ("squeeze_copy", ()), ("squeeze_copy", (0,)), ("expand_copy", ((2, 3, 4),)),
          ("diagonal_copy", ()), ("diagonal_copy", (1,)), ("select_copy", (0, 1)), ("slice_copy", (1, 0, 3, 2)),
          ("unbind_copy", ()), ("split_copy", (2,)), ("split_with_sizes_copy", ([1, 2],)), ("alias_copy", ()),
          ("unfold_copy", (1, 2, 1)), ("narrow_copy", (1, 1, 2))]


@pytest.mark.parametrize("name, args", COPIES)
def test_copies_match_torch(name, args):
    check_like_torch(lambda T, x: getattr(T, name)(x, *args), X)


@pytest.mark.parametrize("name, args", COPIES[:4])
def test_copies_do_not_share_memory(name, args):
    x = lazygrad.tensor(X)
    copy = getattr(lazygrad, name)(x, *args)
    before = copy.numpy().copy()
    x.add_(1)
    np.testing.assert_array_equal(copy.numpy(), before)


@pytest.mark.backend_agnostic
def test_detach_copy_is_a_copy_without_history():
    x = lazygrad.tensor(X, requires_grad=True)
    out = lazygrad.detach_copy(x)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), X)


@pytest.mark.parametrize("fn", [
    lambda T, x: x.split_with_sizes([1, 3], 1),
    lambda T, x: T.split_with_sizes(x, [2, 1]),
    lambda T, x: x.unsafe_chunk(2, 1),
    lambda T, x: T.unsafe_chunk(x, 3),
    lambda T, x: T.unsafe_split(x, 3, 1),
    lambda T, x: x.narrow_copy(1, 1, 2),
])
def test_split_forms_match_torch(fn):
    check_like_torch(fn, X)


@pytest.mark.parametrize("p, dim, maxnorm", [(2, 0, 1.0), (1, 1, 0.5), (float("inf"), -1, 1.0), (1.5, 0, 10.0)])
def test_renorm_matches_torch(p, dim, maxnorm):
    """Rows over the limit are scaled (the scale's own gradient included), the others pass through."""
    check_like_torch(lambda T, x: T.renorm(x, p, dim, maxnorm), X, rtol=1e-9)
    check_like_torch(lambda T, x: x.renorm(p, dim, maxnorm), X.astype(np.float32))


@pytest.mark.backend_agnostic
def test_renorm_in_place_and_errors():
    x = lazygrad.tensor([[3.0, 4.0], [0.3, 0.4]])
    assert x.renorm_(2, 0, 1.0) is x
    np.testing.assert_allclose(x.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    for args, message in (((0, 0, 1.0), "renorm: non-positive-norm not supported"),
                          ((2, 0, -1.0), "renorm: expected maxnorm to be >= 0 but got -1")):
        with pytest.raises(RuntimeError, match=message):
            lazygrad.renorm(x, *args)
    with pytest.raises(RuntimeError, match="renorm: input needs at least 2 dimensions, got 1 dimensions"):
        lazygrad.renorm(lazygrad.ones(3), 2, 0, 1.0)
