"""``nn.utils.weight_norm`` / ``spectral_norm`` and their removal against torch: parameter and buffer names,
the recomputed weight and its grad_fn, power iteration in training only, gradients, and torch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

X = np.random.default_rng(6).standard_normal((2, 2, 5, 5)).astype(np.float32)


def _weight_normed(lib, make, dim):
    """Names, the weight's grad_fn, then the output, weight_g's and weight_v's gradients and the removed weight."""
    lib.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        layer = lib.nn.utils.weight_norm(make(lib.nn), dim=dim)
    names = [n for n, _ in layer.named_parameters()]
    grad_fn = layer.weight.grad_fn.name()
    x = lib.tensor(X) if isinstance(layer, lib.nn.Conv2d) else lib.tensor(X[:, 0, 0, :3])
    out = layer(x)
    out.pow(2).sum().backward()
    values = [out, layer.weight_g.grad, layer.weight_v.grad]
    lib.nn.utils.remove_weight_norm(layer)
    return names, grad_fn, [n for n, _ in layer.named_parameters()], [*values, layer.weight]


@pytest.mark.parametrize(("make", "dim"), [
    (lambda nn: nn.Conv2d(2, 3, 3), 0), (lambda nn: nn.Linear(3, 2), 1), (lambda nn: nn.Linear(3, 2), None),
    (lambda nn: nn.Conv2d(2, 3, 3), 2),
])
def test_weight_norm_matches_torch(make, dim) -> None:
    ours, theirs = _weight_normed(lazygrad, make, dim), _weight_normed(torch, make, dim)
    assert ours[:3] == theirs[:3]
    for got, want in zip(ours[3], theirs[3]):
        assert_close(got, want.detach().numpy(), rtol=1e-5, atol=1e-6)


def _spectral_normed(lib, make, iterations):
    """Names, then outputs and power-iteration vectors over three training forwards and one eval forward, the
    gradient of weight_orig and the removed weight."""
    lib.manual_seed(0)
    layer = lib.nn.utils.spectral_norm(make(lib.nn), n_power_iterations=iterations)
    names = ([n for n, _ in layer.named_parameters()], list(layer.state_dict()))
    x, values = lib.tensor(X), []
    for _ in range(3):
        out = layer(x)
    values += [out, layer.weight_u, layer.weight_v]
    out.pow(2).sum().backward()
    values.append(layer.weight_orig.grad)
    layer.eval()
    values += [layer(x), layer.weight_u]
    lib.nn.utils.remove_spectral_norm(layer)
    return names, [n for n, _ in layer.named_parameters()], [*values, layer.weight]


@pytest.mark.parametrize(("make", "iterations"), [
    (lambda nn: nn.Conv2d(2, 3, 3), 1), (lambda nn: nn.ConvTranspose2d(2, 3, 3), 2),
])
def test_spectral_norm_matches_torch(make, iterations) -> None:
    ours, theirs = _spectral_normed(lazygrad, make, iterations), _spectral_normed(torch, make, iterations)
    assert ours[:2] == theirs[:2]
    for got, want in zip(ours[2], theirs[2]):
        assert_close(got, want.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("call", [
    lambda nn: nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2))),
    lambda nn: nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=0),
    lambda nn: nn.utils.remove_spectral_norm(nn.Linear(2, 2)),
    lambda nn: nn.utils.remove_weight_norm(nn.Linear(2, 2)),
])
def test_errors_match_torch(call) -> None:
    with pytest.raises(Exception) as theirs:
        call(torch.nn)
    with pytest.raises(type(theirs.value)) as ours:
        call(lazygrad.nn)
    assert str(ours.value) == str(theirs.value)


def test_weight_norm_warns_like_torch() -> None:
    with pytest.warns(FutureWarning, match="`torch.nn.utils.weight_norm` is deprecated"):
        lazygrad.nn.utils.weight_norm(lazygrad.nn.Linear(2, 2))
