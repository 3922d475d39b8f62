"""Fractional max pooling: with torch's ``_random_samples`` the same windows, values, indices and gradients as
torch; with drawn samples torch's output shapes, and every output the maximum of a window torch could choose."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch
from module_oracle import raises_like_torch

import lazygrad

if HAS_TORCH:
    import torch

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
RNG = np.random.default_rng(0)
IMAGE = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32)
VOLUME = RNG.standard_normal((2, 2, 5, 6, 7)).astype(np.float32)


@pytest.mark.parametrize("x, kernel, size, columns", [
    (IMAGE, 2, (3, 3), 2), (IMAGE, (3, 2), (5, 1), 2), (IMAGE[0], 2, (4, 5), 2),
    (VOLUME, (2, 3, 2), (3, 2, 4), 3), (VOLUME[1], 1, (4, 1, 6), 3),
])
def test_fractional_max_pool_with_given_samples_matches_torch(x, kernel, size, columns):
    samples = np.random.default_rng(1).random((2, x.shape[-columns - 1], columns)).astype(np.float32)
    name = f"fractional_max_pool{columns}d"
    check_like_torch(lambda T, x, s: getattr(T.nn.functional, name)(x, kernel, size, return_indices=True,
                                                                    _random_samples=s), x, samples,
                     grads=[True, False])


@pytest.mark.parametrize("columns", [2, 3])
def test_fractional_max_pool_module_with_samples_keeps_them_as_a_buffer(columns):
    x = IMAGE if columns == 2 else VOLUME
    samples = np.random.default_rng(2).random((2, x.shape[1], columns)).astype(np.float32)
    outs = []
    for T in (lazygrad, torch):
        layer = getattr(T.nn, f"FractionalMaxPool{columns}d")(2, output_ratio=0.5, _random_samples=T.tensor(samples))
        outs.append((repr(layer), list(layer.state_dict()), layer(T.tensor(x)).numpy()))
    assert outs[0][:2] == outs[1][:2]
    np.testing.assert_array_equal(outs[0][2], outs[1][2])


@pytest.mark.parametrize("columns, kwargs", [
    (2, {"output_ratio": (0.5, 0.7)}), (2, {"output_size": 4}), (3, {"output_ratio": 0.5}),
    (3, {"output_size": (2, 4, 1)}),
])
def test_fractional_max_pool_draws_its_samples_and_pools_torchs_windows_for_them(columns, kwargs):
    x = IMAGE if columns == 2 else VOLUME
    name = f"fractional_max_pool{columns}d"
    lazygrad.manual_seed(5)
    values, where = getattr(lazygrad.nn.functional, name)(lazygrad.tensor(x), 2, return_indices=True, **kwargs)
    lazygrad.manual_seed(5)
    drawn = lazygrad.rand(x.shape[0], x.shape[1], columns)  # what the call drew, as torch would draw it
    want, want_where = getattr(torch.nn.functional, name)(torch.tensor(x), 2, return_indices=True,
                                                          _random_samples=torch.tensor(drawn.numpy()), **kwargs)
    assert tuple(values.shape) == tuple(getattr(torch.nn.functional, name)(torch.tensor(x), 2, **kwargs).shape)
    np.testing.assert_array_equal(values.numpy(), want.numpy())
    np.testing.assert_array_equal(where.numpy(), want_where.numpy())


def test_fractional_max_pool_gradient_reaches_only_the_chosen_elements():
    x = lazygrad.tensor(IMAGE, requires_grad=True)
    values, where = lazygrad.nn.functional.fractional_max_pool2d(x, 3, output_size=(2, 2), return_indices=True)
    values.sum().backward()
    expected = np.zeros((2, 3, 42), np.float32)
    for n in range(2):
        for c in range(3):
            np.add.at(expected[n, c], where.numpy()[n, c].ravel(), 1.0)
    np.testing.assert_array_equal(x.grad.numpy().reshape(2, 3, -1), expected)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("call", [
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 4, output_size=(5, 3)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, output_size=(3, 6)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), (1, 2, 3), output_size=3),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, output_size=(3, 3, 3)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, output_ratio=(0.5, 0.5, 0.5)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, output_ratio=0.5),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(7, 6), 2, output_size=3, _random_samples=T.rand(1, 3, 2)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 0, 7, 6), 2, output_size=3),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(7, 6), 2, output_size=3),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, 3, _random_samples=T.rand(2, 3, 3)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, 3, _random_samples=T.rand(1, 3, 2)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, 3, _random_samples=T.rand(2, 2, 2)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, 3, _random_samples=T.rand(2, 3, 2, 1)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(2, 3, 7, 6), 2, 3,
                                                    _random_samples=T.rand(2, 3, 2, dtype=T.float64)),
    lambda T: T.nn.functional.fractional_max_pool3d(T.zeros(2, 3, 5, 6, 4), 2, output_size=(4, 3, 2)),
    lambda T: T.nn.functional.fractional_max_pool3d(T.zeros(2, 3, 5, 6, 4), 2, output_size=(3, 3, 3)),
    lambda T: T.nn.functional.fractional_max_pool3d(T.zeros(2, 3, 5, 6, 4), (2, 2), output_size=2),
    lambda T: T.nn.functional.fractional_max_pool3d(T.zeros(5, 6, 4), 2, output_size=2,
                                                    _random_samples=T.rand(1, 5, 3)),
    lambda T: T.nn.functional.fractional_max_pool2d(T.zeros(1, 1, 4, 4), 2, output_size=2,
                                                    _random_samples=T.rand(1, 1, 2, requires_grad=True)),
    lambda T: T.nn.functional.fractional_max_pool3d(T.zeros(2, 3, 0, 6, 4), 2, output_size=2),
    lambda T: T.nn.FractionalMaxPool2d(2),
    lambda T: T.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5),
    lambda T: T.nn.FractionalMaxPool2d(2, output_ratio=1.5),
    lambda T: T.nn.FractionalMaxPool3d(0, output_size=2),
    lambda T: T.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 1.0)),
])
def test_fractional_max_pool_errors_match_torch(call):
    raises_like_torch(call)


def test_fractional_max_pool_of_an_empty_batch_has_torchs_shape():
    out = lazygrad.nn.functional.fractional_max_pool2d(lazygrad.zeros(0, 3, 7, 6), 2, output_size=3)
    assert tuple(out.shape) == (0, 3, 3, 3)
