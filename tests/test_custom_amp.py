"""``amp.custom_fwd`` / ``custom_bwd`` on a custom Function under CPU autocast, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lazygrad

torch = pytest.importorskip("torch")


def _scaled_matmul(T, cast_inputs):
    """A Function whose forward and backward report the dtypes and autocast state they ran under."""
    seen = {}

    class ScaledMatmul(T.autograd.Function):
        @staticmethod
        @T.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, a, b, scale):
            seen["forward"] = (str(a.dtype), str(b.dtype), T.is_autocast_enabled("cpu"))
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return (a @ b) * scale

        @staticmethod
        @T.amp.custom_bwd(device_type="cpu")
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            seen["backward"] = (str(grad.dtype), T.is_autocast_enabled("cpu"), str(T.get_autocast_dtype("cpu")))
            return grad @ b.t() * ctx.scale, a.t() @ grad * ctx.scale, None

    return ScaledMatmul, seen


def _run(T, cast_inputs, autocast):
    fn, seen = _scaled_matmul(T, cast_inputs)
    a = T.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 7, requires_grad=True)
    b = T.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    with T.autocast("cpu", dtype=T.bfloat16, enabled=autocast):
        out = fn.apply(a, b, 0.5)
    out.float().sum().backward()
    seen["out"] = str(out.dtype)
    return seen, out.detach().float().numpy(), a.grad.numpy(), b.grad.numpy(), str(a.grad.dtype)


@pytest.mark.parametrize("cast_inputs", [None, "float32", "bfloat16"])
@pytest.mark.parametrize("autocast", [True, False])
def test_custom_function_dtypes_values_and_state_match_torch(cast_inputs, autocast):
    ours = _run(lazygrad, cast_inputs and getattr(lazygrad, cast_inputs), autocast)
    theirs = _run(torch, cast_inputs and getattr(torch, cast_inputs), autocast)
    assert ours[0] == theirs[0]
    assert ours[4] == theirs[4]
    for got, want in zip(ours[1:4], theirs[1:4]):
        np.testing.assert_allclose(got, want, rtol=1e-2, atol=1e-2)


@pytest.mark.backend_agnostic
def test_device_type_must_be_a_string():
    for T in (lazygrad, torch):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            T.amp.custom_fwd(device_type=None)
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            T.amp.custom_bwd(device_type=1)


@pytest.mark.backend_agnostic
def test_cuda_amp_decorators_warn_like_torch():
    def messages(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            T.cuda.amp.custom_fwd(lambda ctx, x: x, cast_inputs=T.float32)
            T.cuda.amp.custom_bwd(lambda ctx, g: g)
        return [(w.category, str(w.message)) for w in caught]

    assert messages(lazygrad) == messages(torch)
    assert len(messages(lazygrad)) == 2
    assert hasattr(lazygrad.cpu.amp, "custom_fwd") == hasattr(torch.cpu.amp, "custom_fwd")
