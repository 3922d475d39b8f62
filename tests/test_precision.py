"""float16 and bfloat16 end to end, autocast and GradScaler: dtypes, values and printing as torch has them."""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest

import lazygrad as torch
from lazygrad import autocast_mode
from lazygrad.nn import functional as F
from tests.helpers import HAS_TORCH

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
HALVES = ["float16", "bfloat16"]
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6)).astype(np.float32)
W = RNG.standard_normal((5, 6)).astype(np.float32)
B = RNG.standard_normal(5).astype(np.float32)
IMG = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32)
KER = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
LONG = RNG.standard_normal(3000).astype(np.float32)
LABELS = np.array([0, 2, 1, 4])


def _values(t) -> np.ndarray:
    return np.asarray(t.detach().float().numpy())


# ---- the dtype lattice ------------------------------------------------------------------------------------


def test_bfloat16_and_float16_promote_to_float32():
    assert torch.promote_types(torch.bfloat16, torch.float16) is torch.float32
    assert torch.promote_types(torch.bfloat16, torch.float32) is torch.float32
    assert torch.promote_types(torch.bfloat16, torch.int64) is torch.bfloat16
    assert torch.promote_types(torch.float16, torch.float64) is torch.float64


@pytest.mark.parametrize("half", HALVES)
def test_a_16_bit_result_widened_in_the_same_program_is_rounded_first(half):
    """``(a / b).float()`` in one program: XLA would keep the quotient in float32 unless told not to."""
    a, b = LONG[:64], LONG[64:128] + 4.0
    x, y = torch.tensor(a).to(getattr(torch, half)), torch.tensor(b).to(getattr(torch, half))
    quotient = x.numpy().astype(np.float32) / y.numpy().astype(np.float32)
    assert np.array_equal((x / y).float().numpy(), quotient.astype(x.numpy().dtype).astype(np.float32))


@needs_torch
@pytest.mark.parametrize("half", HALVES)
@pytest.mark.parametrize("order", [2, 1, 3, -math.inf])
def test_a_16_bit_vector_norm_accumulates_in_float32_as_torch(half, order):
    import torch as T

    got = torch.linalg.vector_norm(torch.tensor(LONG).to(getattr(torch, half)), order, dim=0)
    want = T.linalg.vector_norm(T.tensor(LONG).to(getattr(T, half)), order, dim=0)
    assert got.dtype == getattr(torch, half) and got.float().item() == want.float().item()


@needs_torch
def test_promote_types_matches_torch_for_every_pair():
    import torch as T

    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
    for a in names:
        for b in names:
            want = str(T.promote_types(getattr(T, a), getattr(T, b))).removeprefix("torch.")
            assert torch.promote_types(getattr(torch, a), getattr(torch, b)).name == want, (a, b)


@pytest.mark.parametrize(("other", "expected"), [
    (1.5, "bfloat16"), (2, "bfloat16"), ("zero_dim_float32", "bfloat16"), ("float16_vector", "float32"),
    ("float32_vector", "float32"),
])
def test_results_of_mixed_operands_take_torchs_dtype(other, expected):
    x = torch.ones(3, dtype=torch.bfloat16)
    operand = {"zero_dim_float32": torch.tensor(1.0), "float16_vector": torch.ones(3, dtype=torch.float16),
               "float32_vector": torch.ones(3)}.get(other, other)
    assert (x + operand).dtype.name == expected
    assert (x * operand).dtype.name == expected


def test_an_integer_tensor_with_a_bfloat16_scalar_tensor_is_bfloat16():
    assert (torch.arange(3) * torch.tensor(2.0, dtype=torch.bfloat16)).dtype is torch.bfloat16


# ---- creation, conversion and printing --------------------------------------------------------------------


@pytest.mark.parametrize("name", HALVES)
def test_conversions_name_the_dtype(name):
    dtype = getattr(torch, name)
    x = torch.tensor([1.0, 2.0])
    converted = [x.half() if name == "float16" else x.bfloat16(), x.to(dtype), x.to(dtype=dtype), x.type(dtype)]
    assert all(t.dtype is dtype for t in converted)
    assert converted[0].type() == {"float16": "torch.HalfTensor", "bfloat16": "torch.BFloat16Tensor"}[name]
    assert converted[0].float().dtype is torch.float32 and converted[0].is_floating_point()
    assert torch.finfo(dtype).bits == 16


def test_a_module_converts_its_parameters_to_bfloat16():
    model = torch.nn.Linear(3, 2).bfloat16()
    assert model.weight.dtype is torch.bfloat16 and model.bias.dtype is torch.bfloat16
    assert model(torch.ones(1, 3, dtype=torch.bfloat16)).dtype is torch.bfloat16


@needs_torch
@pytest.mark.parametrize("name", HALVES)
def test_python_doubles_round_through_float32_as_in_torch(name):
    import torch as T

    doubles = [*RNG.standard_normal(200).tolist(), 0.1, 1 / 3, 65519.99, 1e-8, 3.0e38]
    ours = torch.tensor(doubles, dtype=getattr(torch, name))
    theirs = T.tensor(doubles, dtype=getattr(T, name))
    np.testing.assert_array_equal(_values(ours), theirs.float().numpy())
    assert torch.full((2,), 0.1, dtype=getattr(torch, name)).tolist() == \
        T.full((2,), 0.1, dtype=getattr(T, name)).tolist()


@needs_torch
@pytest.mark.parametrize("name", HALVES)
@pytest.mark.parametrize("make", [
    lambda m, d: m.tensor([0.1, 1.5, -2.25], dtype=d),
    lambda m, d: m.tensor([[1.0, 2.0], [3.0, -4.0]], dtype=d),
    lambda m, d: m.tensor([1e-5, 3.0e4, 1.0], dtype=d),
    lambda m, d: m.tensor([0.125, 7.0], dtype=d, requires_grad=True),
    lambda m, d: m.tensor([0.3, 0.7], dtype=d, requires_grad=True) * 3,
    lambda m, d: m.tensor(2.5, dtype=d),
    lambda m, d: m.zeros(0, 3, dtype=d),
    lambda m, d: m.arange(12, dtype=m.float32).reshape(3, 4).to(d) / 7,
], ids=["vector", "integral", "sci", "leaf", "grad_fn", "scalar", "empty", "matrix"])
def test_repr_matches_torch(name, make):
    import torch as T

    ours = repr(make(torch, getattr(torch, name)))
    theirs = repr(make(T, getattr(T, name)))
    assert ours == theirs


@needs_torch
@pytest.mark.parametrize("name", ["int64", "bool", "int32", "float32"])
def test_repr_of_an_empty_tensor_names_every_dtype_but_the_default_float(name):
    import torch as T

    assert repr(torch.zeros(0, dtype=getattr(torch, name))) == repr(T.zeros(0, dtype=getattr(T, name)))


def test_repr_names_bfloat16_but_not_the_default_dtype():
    assert repr(torch.tensor([1.0, 2.5], dtype=torch.bfloat16)) == "tensor([1.0000, 2.5000], dtype=torch.bfloat16)"
    torch.set_default_dtype(torch.float16)
    try:
        assert repr(torch.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    finally:
        torch.set_default_dtype(torch.float32)


# ---- values against torch ---------------------------------------------------------------------------------


def _ops(m, F_, dtype):
    """The same computations in lazygrad or torch (``m``), on the shared inputs in ``dtype``."""
    x, w, b, img, ker, long = (m.tensor(a).to(dtype) for a in (X, W, B, IMG, KER, LONG))
    return {
        "mul_scalar": x * 0.37, "div_scalar": x / 0.37, "add_scalar": x + 0.37, "add": x + x.flip(0),
        "exp": x.exp(), "tanh": x.tanh(), "sigmoid": x.sigmoid(), "sum": x.sum(), "sum_dim": x.sum(1),
        "long_sum": long.sum(), "mean": long.mean(), "cumsum": long.cumsum(0), "matmul": x @ w.t(),
        "linear": F_.linear(x, w, b), "conv2d": F_.conv2d(img, ker), "conv2d_bias": F_.conv2d(img, ker, b[:4]),
        "softmax": x.softmax(1), "relu": x.relu(), "max": x.max(1)[0],
        "cross_entropy": F_.cross_entropy(x @ w.t(), m.tensor(LABELS)), "log_softmax": x.log_softmax(1),
        "layer_norm": F_.layer_norm(x, (6,)), "gelu": F_.gelu(x), "var": x.var(1), "mse": F_.mse_loss(x, x.flip(1)),
        "addmm": m.addmm(b, x, w.t()), "silu": F_.silu(x), "mish": F_.mish(x),
        "gelu_tanh": F_.gelu(x, approximate="tanh"),
        # autocast's case: float32 parameters on a 16-bit input
        "layer_norm_affine": F_.layer_norm(x, (6,), m.tensor(X[0]), m.tensor(X[1])),
    }


# Ops whose result is bit-for-bit torch's on both backends; torch's fused kernels for the others (and its
# float16 matrix products) round at places of their own, so those agree to about one unit in the last place.
EXACT = {"mul_scalar", "div_scalar", "add_scalar", "add", "exp", "tanh", "sigmoid", "sum", "sum_dim", "long_sum",
         "mean", "cumsum", "softmax", "relu", "max", "gelu", "gelu_tanh", "silu", "mish", "layer_norm",
         "layer_norm_affine"}
EXACT_BFLOAT16 = {"matmul", "linear", "conv2d", "conv2d_bias", "addmm"}


@needs_torch
@pytest.mark.parametrize("name", HALVES)
def test_ops_on_16_bit_floats_match_torch(name, backend):
    import torch as T
    import torch.nn.functional as TF

    ours, theirs = _ops(torch, F, getattr(torch, name)), _ops(T, TF, getattr(T, name))
    exact = EXACT | (EXACT_BFLOAT16 if name == "bfloat16" else set())
    for op, got in ours.items():
        want = theirs[op]
        assert got.dtype.name == str(want.dtype).removeprefix("torch."), op
        if op in exact and backend == "numpy":  # XLA may fuse elementwise chains and skip a rounding
            np.testing.assert_array_equal(_values(got), want.detach().float().numpy(), err_msg=op)
        else:
            ulp = {"float16": 2e-3, "bfloat16": 1.6e-2}[name]
            np.testing.assert_allclose(_values(got), want.detach().float().numpy(), rtol=2 * ulp, atol=2 * ulp,
                                       err_msg=op)


@pytest.mark.parametrize("name", HALVES)
def test_sums_accumulate_in_float32(name):
    ones = torch.ones(4096, dtype=getattr(torch, name))
    # In the 16-bit type itself the running sum would stop growing at 2048 (float16) or 256 (bfloat16).
    assert ones.sum().item() == 4096.0
    assert ones.cumsum(0)[-1].item() == 4096.0
    assert (ones.reshape(64, 64) @ ones.reshape(64, 64))[0, 0].item() == 64.0
    assert ones.mean().item() == 1.0


@needs_torch
@pytest.mark.parametrize("name", HALVES)
def test_gradients_of_16_bit_parameters_match_torch(name):
    import torch as T

    results = []
    for m in (torch, T):
        dtype = getattr(m, name)
        w, b = (m.tensor(a).to(dtype).requires_grad_() for a in (W, B))
        x = m.tensor(X).to(dtype).requires_grad_()
        out = m.nn.functional.linear(x, w, b).softmax(1)
        loss = (out * out).sum()
        loss.backward()
        results.append([loss, w.grad, b.grad, x.grad])
    ulp = {"float16": 1e-3, "bfloat16": 8e-3}[name]
    for got, want in zip(*results):
        assert got.dtype.name == name
        np.testing.assert_allclose(_values(got), want.detach().float().numpy(), rtol=4 * ulp, atol=4 * ulp)


@pytest.mark.parametrize("name", HALVES)
@pytest.mark.parametrize("act", ["gelu", "silu", "mish", "layer_norm"])
def test_fused_ops_compute_a_16_bit_input_in_float32_and_round_once(name, act):
    """As torch's fused kernels: the value and the input's gradient are the float32 ones rounded to the input's dtype
    (for layer_norm with autocast's float32 weight and bias, whose dtype the result does not take)."""
    weight, bias = torch.tensor(X[0]), torch.tensor(X[1])
    fn = (lambda t: F.layer_norm(t, (6,), weight, bias)) if act == "layer_norm" else getattr(F, act)
    x = torch.tensor(X).to(getattr(torch, name)).requires_grad_()
    wide = x.detach().float().requires_grad_()
    out, out_wide = fn(x), fn(wide)
    assert out.dtype is x.dtype
    np.testing.assert_array_equal(_values(out), _values(out_wide.to(x.dtype)))
    if act != "layer_norm":  # its backward rounds in places of its own
        (grad,), (grad_wide,) = torch.autograd.grad(out.sum(), x), torch.autograd.grad(out_wide.sum(), wide)
        np.testing.assert_array_equal(_values(grad), _values(grad_wide.to(x.dtype)))


@needs_torch
@pytest.mark.parametrize("name", HALVES)
@pytest.mark.parametrize("act", ["gelu", "silu", "mish"])
def test_activation_gradients_of_16_bit_inputs_are_torchs_bits(name, act):
    import torch as T

    grads = []
    for m in (torch, T):
        x = m.tensor(X).to(getattr(m, name)).requires_grad_()
        (grad,) = m.autograd.grad((getattr(m.nn.functional, act)(x) * m.tensor(W[:4])).sum(), x)
        grads.append(grad.detach().float().numpy())
    np.testing.assert_array_equal(*grads)


# ---- autocast ---------------------------------------------------------------------------------------------


def _autocast_ops(m):
    x, w, b = m.tensor(X), m.tensor(W), m.tensor(B)
    batch, img, ker = m.tensor(np.stack([X, X])), m.tensor(IMG), m.tensor(KER)
    F_ = m.nn.functional
    return {
        "matmul": lambda: x @ w.t(), "mm": lambda: m.mm(x, w.t()), "bmm": lambda: m.bmm(batch, batch.transpose(1, 2)),
        "linear": lambda: F_.linear(x, w, b), "conv2d": lambda: F_.conv2d(img, ker),
        "conv1d": lambda: F_.conv1d(img[:, :, 0], ker[:, :, 0]),
        "conv_transpose2d": lambda: F_.conv_transpose2d(img, ker.transpose(0, 1)),
        "addmm": lambda: m.addmm(b, x, w.t()),
        "baddbmm": lambda: m.baddbmm(m.zeros(2, 4, 4), batch, batch.transpose(1, 2)),
        "einsum": lambda: m.einsum("ij,kj->ik", x, w), "prelu": lambda: F_.prelu(x, m.tensor([0.25])),
        "sdpa": lambda: F_.scaled_dot_product_attention(batch, batch, batch),
        "mse_loss": lambda: F_.mse_loss(x @ w.t(), x[:, :5]), "l1_loss": lambda: F_.l1_loss(x @ w.t(), x[:, :5]),
        "cross_entropy": lambda: F_.cross_entropy(x @ w.t(), m.tensor(LABELS)),
        "nll_loss": lambda: F_.nll_loss(x @ w.t(), m.tensor(LABELS)),
        "bce_with_logits": lambda: F_.binary_cross_entropy_with_logits(x @ w.t(), (x[:, :5] > 0).float()),
        "prod": lambda: (x @ w.t()).prod(), "inv": lambda: m.linalg.inv(x[:, :4] @ x[:, :4].t() + m.eye(4)),
        "softmax": lambda: (x @ w.t()).softmax(1), "sum": lambda: (x @ w.t()).sum(), "relu": lambda: (x @ w.t()).relu(),
        "exp": lambda: x.exp(), "add": lambda: x + x,
        "batch_norm": lambda: F_.batch_norm(F_.conv2d(img, ker), None, None, m.ones(4), m.zeros(4), training=True),
    }


LOWER = {"matmul", "mm", "bmm", "linear", "conv2d", "conv1d", "conv_transpose2d", "addmm", "baddbmm", "einsum",
         "prelu", "sdpa", "softmax", "sum", "relu", "batch_norm"}  # the last four: bfloat16 in, bfloat16 out


@pytest.mark.parametrize("op", list(_autocast_ops(torch)))
def test_autocast_runs_each_op_in_torchs_dtype(op):
    with torch.autocast("cpu"):
        out = _autocast_ops(torch)[op]()
    assert out.dtype is (torch.bfloat16 if op in LOWER else torch.float32)


@needs_torch
def test_autocast_dtypes_are_torchs():
    import torch as T

    with T.autocast("cpu"):
        theirs = {name: str(fn().dtype).removeprefix("torch.") for name, fn in _autocast_ops(T).items()}
    with torch.autocast("cpu"):
        ours = {name: fn().dtype.name for name, fn in _autocast_ops(torch).items()}
    assert ours == theirs


@needs_torch
def test_autocast_conv_batch_norm_linear_matches_torch():
    """A 16-bit activation through float32 batch norm parameters stays 16-bit (normalized in float32), as the
    linear layer after it then sees in torch."""
    import torch as T

    results = []
    for m in (torch, T):
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Conv2d(3, 4, 3), m.nn.BatchNorm2d(4), m.nn.ReLU(), m.nn.Flatten(),
                              m.nn.Linear(36, 2))
        with m.autocast("cpu"):
            out = net(m.tensor(np.stack([IMG[0]] * 2)))
            normalized = net[:2](m.tensor(np.stack([IMG[0]] * 2)))
        results.append((out, net[1].running_mean, str(normalized.dtype)))
    (out, mean, normalized), (want, want_mean, want_normalized) = results
    assert out.dtype is torch.bfloat16 and normalized == want_normalized == "torch.bfloat16"
    np.testing.assert_allclose(_values(out), want.detach().float().numpy(), rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(mean.numpy(), want_mean.numpy(), rtol=1e-2, atol=1e-3)


def test_autocast_to_float16_and_float64_left_alone():
    x = torch.ones(2, 2)
    with torch.autocast("cpu", dtype=torch.float16):
        assert (x @ x).dtype is torch.float16
        assert (x.double() @ x.double()).dtype is torch.float64
        assert torch.get_autocast_dtype("cpu") is torch.float16
    assert torch.get_autocast_dtype("cpu") is torch.bfloat16


def test_ops_outside_autocast_are_not_cast():
    x = torch.ones(2, 2)
    with torch.autocast("cpu"):
        pass
    assert (x @ x).dtype is torch.float32
    with torch.autocast("cpu"), torch.autocast("cpu", enabled=False):
        assert (x @ x).dtype is torch.float32
        assert not torch.is_autocast_enabled("cpu")


@needs_torch
def test_autocast_training_step_matches_torch():
    import torch as T

    results = []
    for m in (torch, T):
        w, b = m.tensor(W, requires_grad=True), m.tensor(B, requires_grad=True)
        with m.autocast("cpu"):
            logits = m.nn.functional.linear(m.tensor(X), w, b)
            loss = m.nn.functional.cross_entropy(logits, m.tensor(LABELS))
        loss.backward()
        results.append((logits, loss, w.grad, b.grad))
    for got, want in zip(*results):
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        np.testing.assert_allclose(_values(got), want.detach().float().numpy(), rtol=1e-6, atol=1e-6)
    assert results[0][2].dtype is torch.float32  # float32 parameters get float32 gradients


def test_autocast_state_is_per_thread_and_restored():
    seen = []
    with torch.autocast("cpu"):
        assert torch.is_autocast_enabled("cpu") and not torch.is_autocast_enabled()  # no argument: cuda
        worker = threading.Thread(target=lambda: seen.append(torch.is_autocast_enabled("cpu")))
        worker.start()
        worker.join()
    assert seen == [False]
    assert not torch.is_autocast_enabled("cpu")


def test_autocast_decorates_a_function():
    @torch.autocast("cpu")
    def product(a, b):
        return a @ b

    x = torch.ones(2, 2)
    assert product(x, x).dtype is torch.bfloat16
    assert (x @ x).dtype is torch.float32
    assert torch.amp.autocast is torch.autocast


def test_a_parameter_is_cast_once_per_region():
    w = torch.nn.Parameter(torch.ones(2, 2))
    with torch.autocast("cpu"):
        first, = autocast_mode.lower(w)
        again, = autocast_mode.lower(w)
        with torch.no_grad():
            w.mul_(2)
        updated, = autocast_mode.lower(w)
    assert first is again and updated is not first
    assert updated.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert autocast_mode.STATE.cache == {}
    with torch.autocast("cpu", cache_enabled=False):
        assert autocast_mode.lower(w)[0] is not autocast_mode.lower(w)[0]


def test_autocast_refuses_or_disables_what_torch_does():
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        torch.autocast("tpu")
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of torch.bfloat16, torch.float16"):
        region = torch.autocast("cpu", dtype=torch.float32)
    with region:
        assert not torch.is_autocast_enabled("cpu")
    if not torch.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"), torch.autocast("cuda"):
            assert not torch.is_autocast_enabled("cuda")


def test_deprecated_per_device_autocast_spellings_warn_and_work():
    x = torch.ones(2, 2)
    with pytest.warns(FutureWarning, match=r"torch.cpu.amp.autocast\(args...\)` is deprecated"):
        region = torch.cpu.amp.autocast()
    with region:
        assert (x @ x).dtype is torch.bfloat16
    from lazygrad.cuda.amp import GradScaler  # importable as a module, as torch's is

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(GradScaler(), torch.amp.GradScaler)


# ---- GradScaler -------------------------------------------------------------------------------------------


def test_grad_scaler_for_cuda_disables_itself_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available.  Disabling."):
        scaler = torch.amp.GradScaler()
    loss = torch.tensor(2.0)
    assert not scaler.is_enabled() and scaler.scale(loss) is loss and scaler.get_scale() == 1.0
    assert scaler.state_dict() == {}


def _scaled_training(m, init_scale, steps=8, boost=1e6):
    """GradScaler steps in lazygrad or torch on a loss times ``boost``: the scale after each, the final weight
    and the scaler's state dict."""
    model = m.nn.Linear(6, 5)
    with m.no_grad():
        model.weight.copy_(m.tensor(W))
        model.bias.copy_(m.tensor(B))
    opt = m.optim.SGD(model.parameters(), lr=0.1)
    scaler = m.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=2)
    scales = []
    for _ in range(steps):
        opt.zero_grad()
        loss = m.nn.functional.cross_entropy(model(m.tensor(X)), m.tensor(LABELS)) * boost
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, model.weight.detach().numpy(), scaler.state_dict()


def test_grad_scaler_skips_overflowing_steps_and_adapts_the_scale():
    scales, weight, state = _scaled_training(torch, 2.0**110)
    # Scaled by 2**110 and 2**109 the gradients overflow: those steps are skipped and the scale halves. At 2**108
    # they are finite, and after two clean steps (growth_interval) the scale doubles, to overflow again.
    assert np.log2(scales).tolist() == [109, 108, 108, 109, 108, 108, 109, 108]
    assert state == {"scale": 2.0**108, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2,
                     "_growth_tracker": 0}
    assert np.isfinite(weight).all()


def test_grad_scaler_never_grows_the_scale_past_float32():
    scales, _, _ = _scaled_training(torch, 2.0**127, boost=1e-30)
    assert scales == [2.0**127] * 8


def test_grad_scaler_steps_equal_unscaled_training():
    _, scaled, _ = _scaled_training(torch, 2.0**10, steps=3, boost=1.0)
    model = torch.nn.Linear(6, 5)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(W))
        model.bias.copy_(torch.tensor(B))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(torch.tensor(X)), torch.tensor(LABELS)).backward()
        opt.step()
    np.testing.assert_allclose(scaled, model.weight.detach().numpy(), rtol=1e-6)


@needs_torch
def test_grad_scaler_matches_torch():
    import torch as T

    ours, theirs = _scaled_training(torch, 2.0**110), _scaled_training(T, 2.0**110)
    assert ours[0] == theirs[0] and ours[2] == theirs[2]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)


def test_grad_scaler_refuses_out_of_order_calls():
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    scaler.scale((w * w).sum()).backward()
    scaler.unscale_(opt)
    assert w.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)"):
        scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.tolist(), [0.8, 0.8], rtol=1e-6)


# torch's CPU autocast runs an LSTM and the plain RNNs in the region's dtype (oneDNN's layer, one lower-precision
# op); a GRU's state keeps its input's dtype while its products are cast one by one
RECURRENT_OUT = {("LSTM", "float32"): "bfloat16", ("RNN", "float32"): "bfloat16", ("GRU", "float32"): "float32",
                 ("LSTM", "bfloat16"): "bfloat16", ("RNN", "bfloat16"): "bfloat16", ("GRU", "bfloat16"): "bfloat16"}


@pytest.mark.parametrize(("mode", "given"), sorted(RECURRENT_OUT))
def test_recurrent_layers_run_under_autocast_in_torchs_dtype(mode, given):
    """Float32 layers take a float32 or a bfloat16 input in a region (outside one, a bfloat16 input is refused);
    the result has torch's dtype and is the float32 layer's up to bfloat16 rounding."""
    torch.manual_seed(0)
    layer = getattr(torch.nn, mode)(4, 3, num_layers=2, batch_first=True)
    x = torch.randn(2, 5, 4)
    exact = layer(x)[0].detach().numpy()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, state = layer(x.to(getattr(torch, given)))
    assert out.dtype.name == RECURRENT_OUT[mode, given]
    assert (state[0] if mode == "LSTM" else state).dtype is out.dtype
    np.testing.assert_allclose(out.float().detach().numpy(), exact, rtol=0.05, atol=0.03)
    out.float().sum().backward()
    assert layer.weight_hh_l1.grad.dtype is torch.float32
    with pytest.raises(ValueError, match="does not match weight dtype"):
        layer(x.bfloat16())
