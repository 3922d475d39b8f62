"""``nn.utils``' BatchNorm folding, ``skip_init`` and ``stateless.functional_call``, and the deprecated names older
programs call (``nn.init.uniform``, ``nn.utils.clip_grad_norm``), against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

if HAS_TORCH:
    import torch

LIBRARIES = [lazygrad, torch] if HAS_TORCH else [lazygrad]
lib_ids = pytest.mark.parametrize("lib", LIBRARIES, ids=lambda lib: lib.__name__)
agnostic = pytest.mark.backend_agnostic


def _warmed_eval_pair(lib, layer, bn, x):
    """``layer`` and ``bn`` after two training batches (so the running statistics are not the defaults), in eval."""
    bn.train()
    for scale in (1.0, 2.0):
        bn(layer(x * scale))
    layer.eval()
    bn.eval()
    return layer, bn


CASES = {
    "conv2d": (lambda nn: (nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), (2, 3, 5, 5), False),
    "conv1d without bias": (lambda nn: (nn.Conv1d(2, 3, 2, bias=False), nn.BatchNorm1d(3)), (2, 2, 6), False),
    "conv_transpose2d": (lambda nn: (nn.ConvTranspose2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)), (2, 3, 4, 4), True),
}


@pytest.mark.parametrize("case", sorted(CASES))
@lib_ids
def test_fused_conv_gives_the_unfused_eval_outputs(lib, case: str) -> None:
    build, shape, transpose = CASES[case]
    lib.manual_seed(0)
    x = lib.tensor(np.random.RandomState(0).randn(*shape).astype(np.float32))
    conv, bn = _warmed_eval_pair(lib, *build(lib.nn), x)
    fused = lib.nn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    assert type(fused) is type(conv) and fused is not conv
    assert_close(fused(x), bn(conv(x)), rtol=1e-4, atol=1e-5)
    assert isinstance(fused.bias, lib.nn.Parameter)


@lib_ids
def test_fused_linear_gives_the_unfused_eval_outputs(lib) -> None:
    lib.manual_seed(0)
    x = lib.tensor(np.random.RandomState(1).randn(5, 4).astype(np.float32))
    linear, bn = _warmed_eval_pair(lib, lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3), x)
    fused = lib.nn.utils.fuse_linear_bn_eval(linear, bn)
    assert_close(fused(x), bn(linear(x)), rtol=1e-4, atol=1e-5)


@agnostic
def test_fused_weights_match_torchs() -> None:
    torch_ = pytest.importorskip("torch")
    rng = np.random.RandomState(2)
    arrays = [rng.randn(*s).astype(np.float32) for s in [(4, 3, 2, 2), (4,), (4,), (4,), (4,), (4,)]]
    arrays[3] = np.abs(arrays[3]) + 0.5  # a variance
    for lib in (lazygrad, torch_):
        w, b, mean, var, gamma, beta = (lib.tensor(a) for a in arrays)
        w.requires_grad_()
        fused_w, fused_b = lib.nn.utils.fuse_conv_bn_weights(w, None, mean, var, 1e-5, gamma, beta)
        linear_w, linear_b = lib.nn.utils.fuse_linear_bn_weights(w.reshape(4, 12), b, mean, var, 1e-3, gamma, beta)
        if lib is lazygrad:
            ours = [fused_w, fused_b, linear_w, linear_b]
        else:
            for mine, theirs in zip(ours, [fused_w, fused_b, linear_w, linear_b]):
                assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
                assert (mine.requires_grad, mine.is_leaf) == (theirs.requires_grad, theirs.is_leaf)


@agnostic
@lib_ids
def test_fusion_refuses_training_modules_and_mismatched_features(lib) -> None:
    linear, bn = lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        lib.nn.utils.fuse_linear_bn_eval(linear, bn)
    linear.eval()
    bn.eval()
    with pytest.raises(AssertionError, match=r"linear.out_features=2 and bn.num_features=3"):
        lib.nn.utils.fuse_linear_bn_eval(lib.nn.Linear(3, 2).eval(), bn)


@agnostic
@lib_ids
def test_skip_init_builds_the_module_with_torchs_checks(lib) -> None:
    module = lib.nn.utils.skip_init(lib.nn.Linear, 3, 2, bias=False)
    assert (tuple(module.weight.shape), module.weight.requires_grad, module.bias) == ((2, 3), True, None)
    assert isinstance(module.weight, lib.nn.Parameter)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        lib.nn.utils.skip_init(lib.nn.ReLU)
    with pytest.raises(RuntimeError, match="Expected a Module; got <class 'int'>"):
        lib.nn.utils.skip_init(int)


def _warned(call) -> list[tuple[str, str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [(w.category.__name__, str(w.message)) for w in caught if w.filename == __file__]


@agnostic
@lib_ids
def test_stateless_functional_call_warns_and_replaces_parameters(lib) -> None:
    linear = lib.nn.Linear(2, 1)
    result = []
    warned = _warned(lambda: result.append(lib.nn.utils.stateless.functional_call(
        linear, {"weight": lib.ones(1, 2), "bias": lib.zeros(1)}, (lib.tensor([[1.0, 2.0]]),))))
    assert result[0].tolist() == [[3.0]]
    assert warned == [("FutureWarning", "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                       "and will be removed in a future version of PyTorch. Please use `torch.func.functional_call` "
                       "instead which is a drop-in replacement.")]


DEPRECATED_INITS = {
    "uniform": (lambda init, t: init.uniform(t, -1, 1), (3, 4)),
    "normal": (lambda init, t: init.normal(t, 0, 2), (3, 4)),
    "constant": (lambda init, t: init.constant(t, 0.5), (3, 4)),
    "eye": (lambda init, t: init.eye(t), (3, 4)),
    "dirac": (lambda init, t: init.dirac(t), (2, 2, 3)),
    "xavier_uniform": (lambda init, t: init.xavier_uniform(t), (3, 4)),
    "xavier_normal": (lambda init, t: init.xavier_normal(t, gain=2), (3, 4)),
    "kaiming_uniform": (lambda init, t: init.kaiming_uniform(t, a=1), (3, 4)),
    "kaiming_normal": (lambda init, t: init.kaiming_normal(t, mode="fan_out"), (3, 4)),
    "orthogonal": (lambda init, t: init.orthogonal(t), (3, 4)),
    "sparse": (lambda init, t: init.sparse(t, 0.5), (4, 3)),
}


@agnostic
@pytest.mark.parametrize("name", sorted(DEPRECATED_INITS))
@lib_ids
def test_deprecated_init_names_warn_and_initialize_in_place(lib, name: str) -> None:
    call, shape = DEPRECATED_INITS[name]
    t = lib.full(shape, 7.0)
    result = []
    warned = _warned(lambda: result.append(call(lib.nn.init, t)))
    assert warned == [("FutureWarning", f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`.")]
    assert result[0] is t and not bool((t == 7.0).all())


@agnostic
@lib_ids
def test_deprecated_clip_grad_norm_warns_and_clips(lib) -> None:
    p = lib.ones(4, requires_grad=True)
    (p * 2).sum().backward()
    norms = []
    warned = _warned(lambda: norms.append(lib.nn.utils.clip_grad_norm([p], 1.0)))
    assert warned == [("FutureWarning", "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                       "`torch.nn.utils.clip_grad_norm_`.")]
    assert round(float(norms[0]), 5) == 4.0
    assert [round(v, 4) for v in p.grad.tolist()] == [0.5] * 4
