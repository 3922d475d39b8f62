"""torch's legacy forms (``torch.range``, ``Tensor.new``, ``apply_``/``map_``/``map2_``) and what a real CPU tensor
answers about itself (``is_signed``, ``is_same_size``, ``is_cpu``, ``get_device``, the conjugate and negative bits)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle of these values")


@needs_torch
@pytest.mark.backend_agnostic
def test_range_includes_its_end_and_warns_as_torch():
    import torch

    for args, kwargs in (((0, 3), {}), ((1, 2, 0.5), {}), ((3, 0, -1), {}), ((0, 1, 0.3), {}), ((-2, 2.5), {}),
                         ((0, 3), {"dtype": "int64"}), ((0.5, 2.5), {"dtype": "float64"})):
        with pytest.warns(UserWarning, match=r"torch.range is deprecated and will be removed in a future release "
                                             r"because its behavior is inconsistent with Python's range builtin. "
                                             r"Instead, use torch.arange, which produces values in \[start, end\)."):
            ours = lazygrad.range(*args, **{k: getattr(lazygrad, v) for k, v in kwargs.items()})
        with warnings.catch_warnings():  # torch warns once per process
            warnings.simplefilter("ignore")
            theirs = torch.range(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for args, message in (((0, 3, 0), "step must be nonzero"),
                          ((3, 0), "upper bound and lower bound inconsistent with step sign")):
        with pytest.warns(UserWarning), pytest.raises(RuntimeError, match=message):
            lazygrad.range(*args)


@pytest.mark.backend_agnostic
def test_new_takes_sizes_data_or_a_tensor():
    x = lazygrad.ones(2, dtype=lazygrad.float64)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype is lazygrad.float64
    assert x.new(lazygrad.Size([4])).shape == (4,) and x.new().shape == (0,)
    data = x.new([1, 2])
    assert data.dtype is lazygrad.float64 and data.tolist() == [1.0, 2.0]
    assert lazygrad.tensor([1, 2]).new((1.5, 2.5)).tolist() == [1, 2]  # a tuple is data, in the tensor's dtype
    source = lazygrad.tensor([3.0, 4.0], dtype=lazygrad.float64, requires_grad=True)
    alias = x.new(source)
    assert not alias.requires_grad and alias.data_ptr() == source.data_ptr()
    with pytest.raises(TypeError, match=r"new\(\): data must be a sequence \(got float\)"):
        x.new(2.5)


def test_apply_writes_in_place_and_views_see_it():
    """On a pending result and through a view: the base and every other view read the new values."""
    y = lazygrad.arange(6.0).reshape(2, 3) * 1
    row = y[0]
    assert y.apply_(lambda v: v * 2) is y
    np.testing.assert_array_equal(row.numpy(), [0, 2, 4])
    np.testing.assert_array_equal(y.numpy(), [[0, 2, 4], [6, 8, 10]])
    base = lazygrad.arange(4.0)
    middle = base[1:3]
    middle.apply_(lambda v: v * 10)
    np.testing.assert_array_equal(base.numpy(), [0, 10, 20, 3])
    counts = lazygrad.arange(4)
    counts.apply_(lambda v: v / 3)  # results take the tensor's dtype, as torch casts them
    assert counts.dtype is lazygrad.int64 and counts.tolist() == [0, 0, 0, 1]


def test_map_and_map2_broadcast_their_operands():
    a = lazygrad.ones(2, 2)
    a.map_(lazygrad.tensor([1.0, 2.0]), lambda p, q: p + q)
    np.testing.assert_array_equal(a.numpy(), [[2, 3], [2, 3]])
    b = lazygrad.arange(3.0)
    b.map2_(lazygrad.ones(3), lazygrad.tensor(2.0), lambda p, q, r: p * r + q)
    np.testing.assert_array_equal(b.numpy(), [1, 3, 5])


@pytest.mark.backend_agnostic
def test_host_functions_refuse_tensors_that_require_grad():
    x = lazygrad.ones(2, requires_grad=True)
    for call in (lambda: x.apply_(abs), lambda: (x * 2).map_(x, max)):
        with pytest.raises(RuntimeError, match=r"Can't call apply_\(\) on Variable that requires grad. Use "
                                               r"var.detach\(\).apply_\(\) instead."):
            call()


@needs_torch
@pytest.mark.backend_agnostic
def test_queries_and_real_identities_match_torch():
    import torch

    for dtype in ("bool", "uint8", "int8", "int64", "float16", "float32", "float64"):
        ours, theirs = lazygrad.ones(2, dtype=getattr(lazygrad, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
        assert ours.is_signed() == theirs.is_signed() == lazygrad.is_signed(ours)
    x = lazygrad.ones(2, 3, requires_grad=True)
    assert x.is_same_size(lazygrad.zeros(2, 3)) and not lazygrad.is_same_size(x, lazygrad.zeros(3, 2))
    assert x.is_cpu and x.get_device() == lazygrad.get_device(x) == -1
    assert not (x.is_conj() or x.is_neg() or lazygrad.is_conj(x) or lazygrad.is_neg(x))
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg"):
        assert getattr(x, name)() is x and getattr(lazygrad, name)(x) is x  # as torch's, for a real tensor
    assert x.detach().conj_physical_() is not None
