"""SyncBatchNorm (batch norm over 2-D+ input, and ``convert_sync_batchnorm``), the lazy batch and instance norms
and ``UninitializedBuffer``: values, gradients, state, printing and errors as torch's."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close
from module_oracle import call_module, check_module, raises_like_torch

import lazygrad
from lazygrad import nn

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
X4 = np.random.default_rng(0).standard_normal((4, 3, 2, 5)).astype(np.float32)


@needs_torch
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 2, 2, 2)])
def test_sync_batchnorm_trains_like_batchnorm_at_any_rank(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ours = check_module(lambda nn: nn.SyncBatchNorm(3, momentum=None), call_module, x)
    ours.eval()
    theirs = torch.nn.SyncBatchNorm(3, momentum=None)
    theirs(torch.tensor(x))
    theirs.eval()
    assert_close(ours(lazygrad.tensor(x)), theirs(torch.tensor(x)))
    assert_close(ours.running_var, theirs.running_var)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("shape", [(5,), (2, 0, 3)])
def test_sync_batchnorm_refuses_what_torch_refuses(shape):
    raises_like_torch(lambda T: T.nn.SyncBatchNorm(3)(T.zeros(*shape)))


@needs_torch
@pytest.mark.backend_agnostic
def test_sync_batchnorm_prints_and_saves_like_torch():
    def run(T):
        layer = T.nn.SyncBatchNorm(4, eps=1e-3, affine=False, process_group="group")
        return repr(layer), list(layer.state_dict()), layer.process_group, isinstance(layer, T.nn.BatchNorm1d)

    assert run(lazygrad) == run(torch)


def _model(T):
    net = T.nn.Sequential(T.nn.Conv2d(3, 3, 1), T.nn.BatchNorm2d(3, momentum=0.3),
                          T.nn.Sequential(T.nn.ReLU(), T.nn.BatchNorm2d(3, affine=False, track_running_stats=False)))
    net[2].eval()
    return net


@needs_torch
@pytest.mark.backend_agnostic
def test_convert_sync_batchnorm_replaces_every_batchnorm_as_torch_does():
    def run(T):
        net = _model(T)
        weight, mean = net[1].weight, net[1].running_mean
        converted = T.nn.SyncBatchNorm.convert_sync_batchnorm(net, process_group="pg")
        return (repr(converted), list(converted.state_dict()), converted is net, converted[1].weight is weight,
                converted[1].running_mean is mean, [m.training for m in converted.modules()],
                converted[2][1].process_group)

    assert run(lazygrad) == run(torch)


@pytest.mark.backend_agnostic
def test_sync_batchnorm_under_ddp_normalizes_with_the_whole_batchs_statistics():
    # the two halves of the batch differ in scale, so per-device statistics would give other values
    code = """
        import numpy as np
        import lazygrad as torch
        from lazygrad import nn
        from lazygrad.distributed.device_mesh import init_device_mesh
        from lazygrad.nn.parallel import DistributedDataParallel

        x = torch.tensor(np.random.default_rng(0).standard_normal((4, 3, 5)) * np.arange(1, 5)[:, None, None],
                         dtype=torch.float32)
        plain = nn.Sequential(nn.Conv1d(3, 3, 1), nn.BatchNorm1d(3))
        synced = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Conv1d(3, 3, 1), nn.BatchNorm1d(3)))
        synced.load_state_dict(plain.state_dict())
        out = DistributedDataParallel(synced, device_mesh=init_device_mesh("cpu", (2,)))(x)
        print(np.abs(out.detach().numpy() - plain(x).detach().numpy()).max(),
              np.abs(synced[1].running_var.numpy() - plain[1].running_var.numpy()).max())
    """
    environment = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "LAZYGRAD_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    output_error, running_var_error = (float(v) for v in result.stdout.split())
    assert output_error < 1e-5 and running_var_error < 1e-6


def test_convert_sync_batchnorm_of_a_batchnorm_returns_a_new_layer_with_its_tensors():
    bn = nn.BatchNorm1d(3, bias=False).double()
    bn(lazygrad.ones(2, 3, dtype=lazygrad.float64))
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(bn)
    assert type(sync) is nn.SyncBatchNorm and sync.bias is None and sync.weight is bn.weight
    assert sync.num_batches_tracked is bn.num_batches_tracked and int(sync.num_batches_tracked) == 1
    x = lazygrad.tensor(X4[:, :, 0, 0].astype(np.float64))
    np.testing.assert_allclose(sync(x).detach().numpy(), bn(x).detach().numpy())


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
                                  "LazyInstanceNorm2d", "LazyInstanceNorm3d"])
def test_lazy_norms_print_and_hold_placeholders_like_torch(name):
    def run(T):
        layer = getattr(T.nn, name)(eps=1e-3, momentum=0.2)
        bare = getattr(T.nn, name)(affine=True, bias=False, track_running_stats=False)
        return (repr(layer), [(k, type(v).__name__) for k, v in layer.state_dict(keep_vars=True).items()],
                repr(layer.running_mean), list(bare.state_dict()), bare.bias, layer.num_features)

    assert run(lazygrad) == run(torch)


@needs_torch
@pytest.mark.parametrize("name, shape", [("LazyBatchNorm1d", (4, 3, 5)), ("LazyBatchNorm2d", (4, 3, 2, 5)),
                                         ("LazyInstanceNorm2d", (4, 3, 2, 5)), ("LazyInstanceNorm3d", (2, 3, 2, 2, 2))])
def test_lazy_norms_take_their_features_from_the_first_call(name, shape):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    results = []
    for T in (lazygrad, torch):
        layer = getattr(T.nn, name)()
        weight = layer.weight
        out = layer(T.tensor(x, requires_grad=True))
        out.backward(T.tensor(np.cos(x)))
        results.append((layer, out, weight))
    (ours, out, weight), (theirs, want, _) = results
    assert repr(ours) == repr(theirs) and type(ours).__name__ == type(theirs).__name__
    assert ours.weight is weight  # materialized in place: an optimizer made before the first call still holds it
    assert_close(out, want, 1e-4, 1e-5)
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, 1e-5, 1e-6)
    assert_close(ours.weight.grad, theirs.weight.grad, 1e-4, 1e-5)


def test_lazy_norm_takes_its_dtype_from_a_conversion_before_the_first_call():
    layer = nn.LazyBatchNorm1d().double()
    assert isinstance(layer.running_mean, nn.UninitializedBuffer)
    layer(lazygrad.ones(2, 3, dtype=lazygrad.float64))
    assert type(layer) is nn.BatchNorm1d and layer.num_features == 3
    assert layer.weight.dtype == layer.running_var.dtype == lazygrad.float64
    assert int(layer.num_batches_tracked) == 1


def test_lazy_norm_loads_a_state_dict_before_its_first_call():
    source = nn.BatchNorm2d(3)
    source(lazygrad.tensor(X4))
    layer = nn.LazyBatchNorm2d()
    layer.load_state_dict(source.state_dict())
    assert tuple(layer.running_mean.shape) == (3,) and not isinstance(layer.running_mean, nn.UninitializedBuffer)
    source.eval()
    layer.eval()
    x = lazygrad.tensor(X4)
    np.testing.assert_allclose(layer(x).detach().numpy(), source(x).detach().numpy(), rtol=1e-6)
    assert type(layer) is nn.BatchNorm2d


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name, shape", [("LazyBatchNorm1d", (4, 3, 2, 2)), ("LazyBatchNorm3d", (2, 3)),
                                         ("LazyInstanceNorm1d", (3, 5)), ("LazyBatchNorm2d", (4,))])
def test_lazy_norm_errors_match_torch(name, shape):
    raises_like_torch(lambda T: getattr(T.nn, name)()(T.zeros(*shape)))


@needs_torch
@pytest.mark.backend_agnostic
def test_uninitialized_buffer_is_a_placeholder_like_torchs():
    def run(T):
        buffer = T.nn.UninitializedBuffer(dtype=T.float64, persistent=False)
        return repr(buffer), str(buffer.dtype), buffer.persistent, buffer.requires_grad

    assert run(lazygrad) == run(torch)


@needs_torch
@pytest.mark.backend_agnostic
def test_instance_norm_with_other_channels_warns_without_affine_like_torch():
    def run(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = T.nn.InstanceNorm1d(4)(T.arange(12.0).reshape(1, 3, 4))
        return tuple(out.shape), [(w.category, str(w.message)) for w in caught]

    assert run(lazygrad) == run(torch)
    raises_like_torch(lambda T: T.nn.InstanceNorm2d(4, affine=True)(T.zeros(3, 2, 2)))
