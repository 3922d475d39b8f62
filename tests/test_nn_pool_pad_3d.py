"""3-D adaptive max pooling, unpooling, LP pooling and padding modules, the ``*_with_indices`` max pools, the
deprecated ``upsample_nearest``/``upsample_bilinear`` and ``nn.Container``: values, gradients, grad_fn names,
printing, warnings and errors as torch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch
from module_oracle import call_module, check_module, raises_like_torch

import lazygrad

if HAS_TORCH:
    import torch

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
VOLUME = np.random.default_rng(0).standard_normal((2, 2, 5, 4, 3))


@pytest.mark.parametrize("output_size", [(2, 3, None), 1])
def test_adaptive_max_pool3d_matches_torch_with_indices(output_size):
    check_like_torch(lambda T, x: T.nn.functional.adaptive_max_pool3d(x, output_size, return_indices=True), VOLUME)


def test_adaptive_max_pool3d_module_matches_torch_unbatched():
    check_module(lambda nn: nn.AdaptiveMaxPool3d((2, None, 2)), call_module, VOLUME[0])


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("call", [
    lambda T: T.nn.functional.adaptive_max_pool3d(T.zeros(2, 3), 2),
    lambda T: T.nn.functional.adaptive_max_pool3d(T.zeros(1, 2, 2, 2), (1, 1)),
])
def test_adaptive_max_pool3d_errors_match_torch(call):
    raises_like_torch(call)


@pytest.mark.parametrize("name, shape, size", [
    ("max_pool1d_with_indices", (2, 3, 7), 3),
    ("max_pool2d_with_indices", (2, 3, 5, 4), 2),
    ("max_pool3d_with_indices", (2, 2, 4, 4, 3), 2),
    ("adaptive_max_pool1d_with_indices", (2, 3, 7), 3),
    ("adaptive_max_pool2d_with_indices", (2, 3, 5, 4), (2, 3)),
    ("adaptive_max_pool3d_with_indices", (2, 2, 4, 4, 3), 2),
])
def test_with_indices_forms_always_return_the_indices(name, shape, size):
    x = np.random.default_rng(1).standard_normal(shape)
    check_like_torch(lambda T, x: getattr(T.nn.functional, name)(x, size), x)
    check_like_torch(lambda T, x: getattr(T.nn.functional, name)(x, size, return_indices=False), x)


def test_max_unpool3d_inverts_max_pool3d_like_torch():
    def unpool(T, x):
        pooled, where = T.nn.functional.max_pool3d(x, 2, return_indices=True)
        return T.nn.MaxUnpool3d(2)(pooled, where, output_size=(5, 4, 5))

    check_like_torch(unpool, np.random.default_rng(2).standard_normal((1, 2, 4, 4, 5)))


@pytest.mark.backend_agnostic
def test_max_unpool3d_prints_like_torch():
    assert repr(lazygrad.nn.MaxUnpool3d((2, 1, 2), padding=1)) == repr(torch.nn.MaxUnpool3d((2, 1, 2), padding=1))


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("call", [
    lambda T: T.nn.functional.max_unpool3d(T.ones(2, 2, 2), T.zeros(2, 2, 2).long(), 2),
    lambda T: T.nn.functional.max_unpool3d(T.ones(1, 1, 1, 1, 1), T.zeros(1, 1, 1, 1, 1).int(), 2),
    lambda T: T.nn.functional.max_unpool3d(T.ones(1, 1, 1, 1, 2), T.zeros(1, 1, 1, 1, 1).long(), 2),
    lambda T: T.nn.functional.max_unpool3d(T.ones(1, 1, 1, 1, 1), T.zeros(1, 1, 1, 1, 1).long(), 2,
                                           output_size=(5, 2, 2)),
    lambda T: T.nn.functional.max_unpool3d(T.ones(1, 1, 1, 1, 1), T.full((1, 1, 1, 1, 1), 8), 2).sum().item(),
])
def test_max_unpool3d_errors_match_torch(call):
    def run(T):
        with pytest.raises((RuntimeError, ValueError)) as caught:
            call(T)
        return type(caught.value), str(caught.value).partition("\n")[0]

    assert run(lazygrad) == run(torch)


@pytest.mark.parametrize("norm_type, kernel, stride, ceil_mode", [
    (2.0, 2, None, False), (3.0, (3, 2, 2), (2, 1, 2), True), (float("inf"), 2, 1, False),
])
def test_lp_pool3d_matches_torch(norm_type, kernel, stride, ceil_mode):
    x = np.abs(VOLUME) + 0.1
    check_like_torch(lambda T, x: T.nn.functional.lp_pool3d(x, norm_type, kernel, stride, ceil_mode), x)


def test_lp_pool3d_module_matches_torch():
    check_module(lambda nn: nn.LPPool3d(2, (2, 2, 1), stride=1), call_module, np.abs(VOLUME).astype(np.float32))


@pytest.mark.parametrize("name, padding", [
    ("ReflectionPad3d", (1, 2, 0, 1, 2, 1)), ("ReplicationPad3d", 2), ("CircularPad3d", (1, 0, 2, 1, 0, 3)),
])
@pytest.mark.parametrize("shape", [(1, 2, 3, 4, 4), (2, 4, 3, 4)])
def test_3d_padding_modules_match_torch(name, padding, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    check_module(lambda nn: getattr(nn, name)(padding), call_module, x)
    check_like_torch(lambda T, x: getattr(T.nn, name)(padding)(x), x)


@pytest.mark.backend_agnostic
def test_3d_padding_errors_match_torch():
    raises_like_torch(lambda T: T.nn.ReflectionPad3d(3)(T.zeros(1, 1, 3, 3, 3)))


@pytest.mark.parametrize("name, args", [
    ("upsample_nearest", {"scale_factor": 2}), ("upsample_bilinear", {"size": (3, 5)}),
])
def test_deprecated_upsamples_interpolate_and_warn_like_torch(name, args):
    x = np.random.default_rng(4).standard_normal((1, 2, 2, 3))

    def run(T, x):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = getattr(T.nn.functional, name)(x, **args)
        assert [(w.category, str(w.message)) for w in caught] == [
            (UserWarning, f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.")]
        return out

    check_like_torch(run, x)


@pytest.mark.backend_agnostic
def test_container_holds_its_modules_and_warns_like_torch():
    def run(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            container = T.nn.Container(act=T.nn.ReLU(), lin=T.nn.Linear(2, 3))
        return repr(container), list(container.state_dict()), [(w.category, str(w.message)) for w in caught]

    assert run(lazygrad) == run(torch)


def test_adaptive_max_pool3d_gradient_goes_to_the_maxima():
    x = lazygrad.tensor(VOLUME, requires_grad=True)
    values, where = lazygrad.nn.functional.adaptive_max_pool3d(x, (1, 2, 1), return_indices=True)
    values.sum().backward()
    flat = x.grad.reshape(2, 2, -1).numpy()
    expected = np.zeros_like(flat)
    np.put_along_axis(expected, where.reshape(2, 2, -1).numpy(), 1.0, -1)
    assert_close(flat, expected)
