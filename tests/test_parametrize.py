"""``nn.utils.parametrize`` and ``nn.utils.parametrizations`` against torch: the generated class and its printout,
the originals and their state_dict keys, chaining, assignment through ``right_inverse``, removal, ``cached()``,
weight and spectral norm (values, gradients, grad_fn names and power-iteration vectors from the same seed),
training steps, and torch's errors.

Each check is written once as ``fn(lib)`` and run with ``lib`` = lazygrad and ``lib`` = torch."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
agnostic = pytest.mark.backend_agnostic

W = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
X = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
IMAGES = np.random.default_rng(2).standard_normal((2, 2, 5, 5)).astype(np.float32)


def symmetric(lib):
    """The parametrization of torch's tutorial: a matrix made symmetric from its upper triangle."""

    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def scaled(lib):
    """A second parametrization to chain after the first; no right_inverse, so assignment must fail."""

    class Doubled(lib.nn.Module):
        def forward(self, X):
            return 2 * X

    return Doubled()


def flattened(lib):
    """A parametrization that changes the shape: refused unless ``unsafe``."""
    class Flattened(lib.nn.Module):
        def forward(self, X):
            return X.flatten()

    return Flattened()


def linear(lib, weight=W):
    layer = lib.nn.Linear(3, 3)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(weight))
        layer.bias.zero_()
    return layer


def compare(ours, theirs, rtol=1e-5, atol=1e-6):
    """Equal structure: strings and numbers equal, tensors close."""
    assert len(ours) == len(theirs)
    for got, want in zip(ours, theirs):
        if isinstance(want, torch.Tensor):
            assert_close(got, want.detach().numpy(), rtol=rtol, atol=atol)
        else:
            assert got == want


def _symmetric_layer(lib):
    layer = lib.nn.utils.parametrize.register_parametrization(linear(lib), "weight", symmetric(lib))
    out = layer(lib.tensor(X))
    out.pow(2).sum().backward()
    original = layer.parametrizations.weight.original
    return [repr(layer), type(layer).__name__, isinstance(layer, lib.nn.Linear), layer.weight.grad_fn.name(),
            list(layer.state_dict()), [n for n, _ in layer.named_parameters()], layer.weight, out, original.grad]


@needs_torch
def test_symmetric_parametrization_matches_torch() -> None:
    compare(_symmetric_layer(lazygrad), _symmetric_layer(torch))


@agnostic
def test_first_parametrization_keeps_the_parameter_object() -> None:
    layer = linear(lazygrad)
    weight = layer.weight
    lazygrad.nn.utils.parametrize.register_parametrization(layer, "weight", symmetric(lazygrad))
    assert layer.parametrizations.weight.original is weight  # an optimizer built before still trains it
    assert_close(weight, np.triu(W))


def _chained(lib):
    P = lib.nn.utils.parametrize
    layer = P.register_parametrization(linear(lib), "weight", symmetric(lib))
    P.register_parametrization(layer, "weight", scaled(lib))
    layer(lib.tensor(X)).sum().backward()
    return [repr(layer), len(layer.parametrizations.weight), list(layer.state_dict()), layer.weight,
            layer.parametrizations.weight.original.grad]


@needs_torch
@agnostic
def test_chained_parametrizations_apply_in_order() -> None:
    ours = _chained(lazygrad)
    compare(ours, _chained(torch))
    assert_close(ours[3], 2 * (np.triu(W) + np.triu(W, 1).T))


def _assigned(lib):
    layer = lib.nn.utils.parametrize.register_parametrization(linear(lib), "weight", symmetric(lib))
    original = layer.parametrizations.weight.original
    layer.weight = lib.tensor(W.T.copy())
    return [layer.parametrizations.weight.original is original, original, layer.weight]


@needs_torch
@agnostic
def test_assignment_goes_through_right_inverse() -> None:
    ours = _assigned(lazygrad)
    compare(ours, _assigned(torch))
    assert ours[0]
    assert_close(ours[1], np.triu(W.T))


def _buffer_parametrized(lib):
    module = lib.nn.Module()
    module.register_buffer("table", lib.tensor(W))
    lib.nn.utils.parametrize.register_parametrization(module, "table", symmetric(lib))
    return [list(module.state_dict()), [n for n, _ in module.named_buffers()], list(module.parameters()),
            module.table, module.table.requires_grad]


@needs_torch
@agnostic
def test_buffer_parametrization_keeps_a_buffer() -> None:
    compare(_buffer_parametrized(lazygrad), _buffer_parametrized(torch))


@agnostic
def test_state_dict_round_trip_restores_values() -> None:
    P, nn = lazygrad.nn.utils.parametrize, lazygrad.nn
    source = nn.utils.parametrizations.weight_norm(P.register_parametrization(linear(lazygrad), "bias",
                                                                                scaled(lazygrad)))
    target = nn.utils.parametrizations.weight_norm(P.register_parametrization(linear(lazygrad, W.T.copy()), "bias",
                                                                                scaled(lazygrad)))
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert list(target.state_dict()) == ["parametrizations.bias.original", "parametrizations.weight.original0",
                                         "parametrizations.weight.original1"]
    assert_close(target.weight, source.weight.detach().numpy())
    assert_close(target(lazygrad.tensor(X)), source(lazygrad.tensor(X)).detach().numpy())


def _old_checkpoint_loaded(lib):
    with pytest.warns(FutureWarning):
        old = lib.nn.utils.weight_norm(linear(lib))
    new = lib.nn.utils.parametrizations.weight_norm(linear(lib, W.T.copy()))
    result = new.load_state_dict(old.state_dict())
    return [repr(result), list(old.state_dict()), new.weight]


@needs_torch
@agnostic
def test_weight_norm_loads_a_checkpoint_of_the_hook_form() -> None:
    ours = _old_checkpoint_loaded(lazygrad)
    compare(ours, _old_checkpoint_loaded(torch))
    assert_close(ours[2], W)


def _removed(lib, leave_parametrized):
    P = lib.nn.utils.parametrize
    layer = P.register_parametrization(linear(lib), "weight", symmetric(lib))
    original = layer.parametrizations.weight.original
    P.remove_parametrizations(layer, "weight", leave_parametrized=leave_parametrized)
    return [type(layer) is lib.nn.Linear, repr(layer), hasattr(layer, "parametrizations"), layer.weight is original,
            [n for n, _ in layer.named_parameters()], P.is_parametrized(layer), layer.weight]


@needs_torch
@agnostic
@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations_restores_the_class(leave_parametrized) -> None:
    ours = _removed(lazygrad, leave_parametrized)
    compare(ours, _removed(torch, leave_parametrized))
    assert ours[0] and ours[3]
    assert_close(ours[-1], np.triu(W) + np.triu(W, 1).T if leave_parametrized else np.triu(W))


def _removed_one_of_two(lib):
    P = lib.nn.utils.parametrize
    layer = lib.nn.utils.parametrizations.weight_norm(linear(lib))
    P.register_parametrization(layer, "bias", scaled(lib))
    P.remove_parametrizations(layer, "weight")
    kept = [type(layer).__name__, P.is_parametrized(layer), P.is_parametrized(layer, "weight"),
            P.type_before_parametrizations(layer).__name__, layer.weight.requires_grad, type(layer.weight).__name__,
            layer.weight]
    P.remove_parametrizations(layer, "bias")
    return [*kept, type(layer).__name__, P.type_before_parametrizations(layer).__name__, list(layer.state_dict())]


@needs_torch
@agnostic
def test_class_stays_parametrized_until_the_last_removal() -> None:
    compare(_removed_one_of_two(lazygrad), _removed_one_of_two(torch))


def _cached_spectral(lib):
    lib.manual_seed(0)
    layer = lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 4))
    with lib.nn.utils.parametrize.cached():
        first, second = layer.weight, layer.weight
    third = layer.weight
    return [first is second, third is second, layer.parametrizations.weight[0]._u, third]


@needs_torch
@agnostic
def test_cached_builds_the_tensor_once() -> None:
    ours = _cached_spectral(lazygrad)
    compare(ours, _cached_spectral(torch))  # two power iterations, not three: the cached reads share one
    assert ours[0] and not ours[1]


def _weight_normed(lib, make, dim):
    lib.manual_seed(0)
    layer = lib.nn.utils.parametrizations.weight_norm(make(lib.nn), dim=dim)
    weight = layer.parametrizations.weight
    x = lib.tensor(IMAGES) if isinstance(layer, lib.nn.Conv2d) else lib.tensor(X)
    out = layer(x)
    out.pow(2).sum().backward()
    return [repr(layer), list(layer.state_dict()), layer.weight.grad_fn.name(), tuple(weight.original0.shape),
            out, weight.original0, weight.original1.grad, weight.original0.grad]


@needs_torch
@agnostic
@pytest.mark.parametrize(("make", "dim"), [
    (lambda nn: nn.Linear(3, 2), 0), (lambda nn: nn.Linear(3, 2), 1), (lambda nn: nn.Linear(3, 2), None),
    (lambda nn: nn.Conv2d(2, 3, 3), 2),
])
def test_weight_norm_matches_torch(make, dim) -> None:
    compare(_weight_normed(lazygrad, make, dim), _weight_normed(torch, make, dim))


def _spectral_normed(lib, make, iterations):
    lib.manual_seed(0)
    layer = lib.nn.utils.parametrizations.spectral_norm(make(lib.nn), n_power_iterations=iterations)
    norm = layer.parametrizations.weight[0]
    x = lib.tensor(IMAGES)
    values = [repr(layer), list(layer.state_dict()), layer.weight.grad_fn.name()]
    for _ in range(2):
        out = layer(x)
    out.pow(2).sum().backward()
    values += [out, norm._u, norm._v, layer.parametrizations.weight.original.grad]
    layer.eval()
    return [*values, layer(x), norm._u]


@needs_torch
@agnostic
@pytest.mark.parametrize(("make", "iterations"), [
    (lambda nn: nn.Conv2d(2, 3, 3), 1), (lambda nn: nn.ConvTranspose2d(2, 3, 3), 2),
])
def test_spectral_norm_matches_torch(make, iterations) -> None:
    compare(_spectral_normed(lazygrad, make, iterations), _spectral_normed(torch, make, iterations), 1e-4, 1e-5)


def _spectral_normed_vector(lib):
    layer = lib.nn.utils.parametrizations.spectral_norm(linear(lib), "bias")
    with lib.no_grad():
        layer.bias = lib.tensor([3.0, 4.0, 0.0])
    return [list(layer.state_dict()), layer.bias]


@needs_torch
@agnostic
def test_spectral_norm_of_a_vector_divides_by_its_norm() -> None:
    ours = _spectral_normed_vector(lazygrad)
    compare(ours, _spectral_normed_vector(torch))
    assert_close(ours[1], np.array([0.6, 0.8, 0.0], np.float32))


def _trained(lib):
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Linear(3, 4)), nn.Tanh(),
                          nn.utils.parametrizations.spectral_norm(nn.Linear(4, 1)))
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    x, y = lib.tensor(X), lib.tensor([[1.0], [-1.0]])
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return [*losses, model[0].weight, model[2].weight]


@needs_torch
def test_sgd_steps_match_torch() -> None:
    compare(_trained(lazygrad), _trained(torch), 1e-4, 1e-5)


@agnostic
def test_reading_a_parametrized_weight_computes_nothing() -> None:
    lazygrad.manual_seed(0)
    layer = lazygrad.nn.utils.parametrizations.spectral_norm(lazygrad.nn.Linear(3, 4))
    lazygrad.reset_metrics()
    out = layer(lazygrad.tensor(X))
    layer.weight.sum().backward()
    assert lazygrad.metrics()["executions"] == 0
    out.detach().numpy()
    assert lazygrad.metrics()["executions"] == 1


@agnostic
def test_deepcopy_is_independent_and_pickling_is_refused() -> None:
    layer = lazygrad.nn.utils.parametrize.register_parametrization(linear(lazygrad), "weight", symmetric(lazygrad))
    replica = copy.deepcopy(layer)
    with lazygrad.no_grad():
        replica.parametrizations.weight.original.zero_()
    assert_close(layer.weight, np.triu(W) + np.triu(W, 1).T)
    assert_close(replica.weight, np.zeros((3, 3), np.float32))
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules is only supported through"):
        pickle.dumps(layer)


@agnostic
def test_transfer_shares_the_originals() -> None:
    P = lazygrad.nn.utils.parametrize
    source = P.register_parametrization(linear(lazygrad), "weight", symmetric(lazygrad))
    target = P.transfer_parametrizations_and_params(source, linear(lazygrad, W.T.copy()))
    assert target.parametrizations.weight.original is source.parametrizations.weight.original
    assert_close(target.weight, source.weight.detach().numpy())


def _unsafe_shape_change(lib):
    layer = lib.nn.utils.parametrize.register_parametrization(linear(lib), "weight", flattened(lib), unsafe=True)
    return [tuple(layer.weight.shape), layer.parametrizations.weight.unsafe]


@needs_torch
@agnostic
def test_unsafe_allows_a_shape_change() -> None:
    compare(_unsafe_shape_change(lazygrad), _unsafe_shape_change(torch))


def _error(call, lib):
    with pytest.raises(Exception) as caught:
        call(lib)
    return type(caught.value).__name__, str(caught.value)


@needs_torch
@agnostic
@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.utils.parametrize.register_parametrization(linear(lib), "kernel", symmetric(lib)),
    lambda lib: lib.nn.utils.parametrize.register_parametrization(linear(lib), "weight", flattened(lib)),
    lambda lib: lib.nn.utils.parametrize.register_parametrization(
        lib.nn.utils.parametrizations.weight_norm(linear(lib)), "weight", flattened(lib)),
    lambda lib: lib.nn.utils.parametrize.remove_parametrizations(linear(lib), "weight"),
    lambda lib: lib.nn.utils.parametrize.remove_parametrizations(
        lib.nn.utils.parametrizations.weight_norm(linear(lib)), "weight", leave_parametrized=False),
    lambda lib: setattr(lib.nn.utils.parametrize.register_parametrization(linear(lib), "weight", scaled(lib)),
                        "weight", lib.zeros(3, 3)),
    lambda lib: setattr(lib.nn.utils.parametrize.register_parametrization(linear(lib), "weight", scaled(lib)),
                        "weight", lib.nn.Parameter(lib.zeros(3, 3))),
    lambda lib: lib.nn.utils.parametrizations.spectral_norm(linear(lib), "kernel"),
    lambda lib: lib.nn.utils.parametrizations.spectral_norm(linear(lib), n_power_iterations=0),
    lambda lib: lib.nn.utils.parametrizations.spectral_norm(linear(lib), dim=2),
])
def test_errors_match_torch(call) -> None:
    assert _error(call, lazygrad) == _error(call, torch)
