"""The jax backend: one cached XLA program per training step, the numpy backend's values, exact dtypes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazygrad as torch

jax = pytest.importorskip("jax")

FLOAT32 = {"rtol": 1e-4, "atol": 1e-5}


def _jax_only() -> None:
    """Tests about jax itself, or comparing it with numpy, run once: under the fixture's jax parameter."""
    if torch.get_backend() != "jax":
        pytest.skip("a jax-only test")


# ---- a training loop -------------------------------------------------------------------------------------


def _train(steps: int, seed: int = 0) -> list[float]:
    """A 2-layer MLP with softmax cross-entropy and hand-written SGD; new data and a new lr every step."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((12, 5))
    w1 = torch.tensor(rng.standard_normal((12, 16)).astype(np.float32) * 0.3, requires_grad=True)
    b1 = torch.zeros(16, requires_grad=True)
    w2 = torch.tensor(rng.standard_normal((16, 5)).astype(np.float32) * 0.3, requires_grad=True)
    b2 = torch.zeros(5, requires_grad=True)
    params = [w1, b1, w2, b2]
    losses = []
    for step in range(steps):
        inputs = rng.standard_normal((8, 12)).astype(np.float32)
        x = torch.tensor(inputs)
        onehot = torch.tensor(np.eye(5, dtype=np.float32)[(inputs @ teacher).argmax(1)])
        logits = (x @ w1 + b1).relu() @ w2 + b2
        loss = -(logits.log_softmax(1) * onehot).sum(1).mean()
        loss.backward()
        lr = 0.3 * 0.99**step
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
        losses.append(loss.item())
    return losses


def test_training_loop_compiles_at_most_twice_despite_new_lr_and_data() -> None:
    # Step 0 creates the grads, step 1 accumulates into the zeroed ones: two programs, then none.
    _jax_only()
    torch.clear_cache()
    torch.reset_metrics()
    _train(50)
    assert torch.metrics()["compiles"] <= 2


def test_training_loop_runs_one_program_per_step() -> None:
    _jax_only()
    _train(2)  # leave no pending work behind, so the count below is the loop's own
    torch.reset_metrics()
    _train(50)
    assert torch.metrics()["executions"] == 50


def test_training_loop_losses_match_numpy_backend() -> None:
    _jax_only()
    on_jax = _train(50)
    with torch.backend("numpy"):
        on_numpy = _train(50)
    np.testing.assert_allclose(on_jax, on_numpy, **FLOAT32)
    assert on_jax[-1] < on_jax[0]


# ---- same values and gradients as numpy ------------------------------------------------------------------


def _values_and_grads(name: str, fn: Callable, *arrays: np.ndarray) -> list[np.ndarray]:
    """``fn``'s value and the gradients of its sum with respect to every input, computed on backend ``name``."""
    with torch.backend(name):
        leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*leaves)
        out.sum().backward()
        return [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


def _assert_backends_agree(fn: Callable, *arrays: np.ndarray) -> None:
    for got, want in zip(_values_and_grads("jax", fn, *arrays), _values_and_grads("numpy", fn, *arrays)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **FLOAT32)


def _floats(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    # XLA on CPU flushes subnormal floats (|x| < 1.2e-38) to zero where numpy keeps them, which changes
    # e.g. sign(x). Magnitudes of at least 1/8 keep every chain below out of that range.
    magnitudes = st.floats(0.125, 2, width=32)
    elements = st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda v: -v))
    return hnp.arrays(np.float32, shape, elements=elements)


UNARY: dict[str, Callable] = {
    "tanh": lambda x: x.tanh(), "sin": lambda x: x.sin(), "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(), "abs": lambda x: x.abs(), "neg": lambda x: -x, "half": lambda x: x * 0.5,
    "square": lambda x: x * x, "exp_of_bounded": lambda x: x.tanh().exp(),
}
BINARY: dict[str, Callable] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "max": lambda a, b: torch.maximum(a, b), "div": lambda a, b: a / (b * b + 1),
}
SHAPES = [(3,), (2, 3), (4, 1, 3)]


@settings(max_examples=10)
@given(st.sampled_from(SHAPES).flatmap(lambda s: st.tuples(_floats(s), _floats(s))),
       st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=4), st.sampled_from(sorted(BINARY)))
def test_elementwise_chains_match_numpy_backend(xy: tuple, unary: list[str], binary: str) -> None:
    _jax_only()
    def chain(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = BINARY[binary](a, b)
        for name in unary:
            out = UNARY[name](out)
        return out

    _assert_backends_agree(chain, *xy)


REDUCTIONS: dict[str, Callable] = {
    "sum": lambda x, d: x.sum(d), "mean": lambda x, d: x.mean(d, keepdim=True), "amax": lambda x, d: x.amax(d),
    "max_values": lambda x, d: x.max(d).values, "logsumexp": lambda x, d: x.logsumexp(d),
    "softmax": lambda x, d: x.softmax(d), "prod": lambda x, d: x.prod(d),
}


@settings(max_examples=10)
@given(_floats((3, 4)), st.sampled_from(sorted(REDUCTIONS)), st.sampled_from([0, 1, -1]))
def test_reductions_match_numpy_backend(x: np.ndarray, reduction: str, dim: int) -> None:
    _jax_only()
    _assert_backends_agree(lambda t: REDUCTIONS[reduction](t, dim), x)


@settings(max_examples=8)
@given(st.sampled_from([((4, 3), (3, 5)), ((2, 4, 3), (3, 2)), ((2, 4, 3), (2, 3, 5)), ((3,), (3, 4))]).flatmap(
    lambda shapes: st.tuples(_floats(shapes[0]), _floats(shapes[1]))))
def test_matmuls_match_numpy_backend(ab: tuple) -> None:
    _jax_only()
    _assert_backends_agree(lambda a, b: (a @ b).tanh(), *ab)


# ---- dtype fidelity ----------------------------------------------------------------------------------------


def test_int64_beyond_32_bits_survives_arithmetic() -> None:
    big = 2**40 + 3
    t = torch.tensor([big, -big]) * 2 + 1
    assert t.dtype is torch.int64
    assert t.tolist() == [2 * big + 1, -2 * big + 1]


def test_float64_keeps_double_precision() -> None:
    t = torch.tensor([1.0], dtype=torch.float64) + 1e-12
    assert t.dtype is torch.float64
    assert t.numpy().dtype == np.float64
    assert t.item() - 1.0 == pytest.approx(1e-12, rel=1e-3)


def test_float32_program_stays_float32_on_device() -> None:
    _jax_only()
    t = (torch.ones(3) * 0.1).exp().sum()
    t.realize()
    assert isinstance(t.node.buffer, jax.Array)
    assert t.node.buffer.dtype == np.float32


def test_bool_results_are_bool() -> None:
    a = torch.tensor([1.5, -2.0, 0.5])
    mask = (a > 0) & ~(a > 1)
    assert mask.dtype is torch.bool
    assert mask.numpy().dtype == np.bool_
    assert mask.tolist() == [False, False, True]


def test_integer_division_truncates_toward_zero() -> None:
    a, b = torch.tensor([-7, 7, -7, 7]), torch.tensor([2, 2, -2, -2])
    assert torch.div(a, b, rounding_mode="trunc").tolist() == [-3, 3, 3, -3]


def test_fmod_takes_the_sign_of_the_dividend() -> None:
    assert torch.tensor([-7, 7]).fmod(3).tolist() == [-1, 1]
    assert torch.tensor([-7.5, 7.5]).fmod(-2.0).tolist() == [-1.5, 1.5]


def test_int32_arithmetic_and_max_stay_int32() -> None:
    t = (torch.tensor([1, 2, 3], dtype=torch.int32) * 3 + 1).amax()
    assert t.dtype is torch.int32
    assert t.numpy().dtype == np.int32
    assert t.item() == 10


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_randn_has_normal_moments_shape_and_dtype(dtype: torch.dtype) -> None:
    torch.manual_seed(3)
    draws = torch.randn(200, 100, dtype=dtype)
    values = draws.numpy()
    assert values.shape == (200, 100) and values.dtype == dtype.np
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02


def test_rand_is_uniform_on_unit_interval() -> None:
    torch.manual_seed(4)
    values = torch.rand(20000).numpy()
    assert values.min() >= 0 and values.max() < 1
    assert abs(values.mean() - 0.5) < 0.01 and abs(values.var() - 1 / 12) < 0.005


def test_two_draws_differ_without_recompiling() -> None:
    _jax_only()
    first = torch.randn(5).numpy()
    torch.reset_metrics()
    second = torch.randn(5).numpy()
    assert not np.array_equal(first, second)
    assert torch.metrics()["compiles"] == 0


# ---- buffers -------------------------------------------------------------------------------------------------


def test_data_goes_to_the_device_once() -> None:
    _jax_only()
    t = torch.tensor([1.0, 2.0])
    assert isinstance(t.node.buffer, jax.Array)


def test_numpy_on_jax_returns_a_writable_copy() -> None:
    _jax_only()
    t = torch.tensor([1.0, 2.0]) * 1
    host = t.numpy()
    host[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


# ---- several devices (a subprocess, where XLA can be told to expose two CPU devices) ------------------------


def _run_with_two_cpu_devices(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
                   "LAZYGRAD_BACKEND": "jax", **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                          text=True, timeout=120)


def test_to_device_moves_the_buffer_and_runs_there() -> None:
    _jax_only()
    result = _run_with_two_cpu_devices("""
        import lazygrad as torch
        a = torch.tensor([1.0, 2.0]).to("jax:1")
        b = (a * 3).sum()
        print(a.device, b.item(), b.device)
        try:
            (a + torch.tensor([1.0, 1.0])).tolist()
        except RuntimeError as error:
            print(error)
    """)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines[0] == "cpu:1 9.0 cpu:1"
    assert "different jax devices (jax:cpu:0, jax:cpu:1)" in lines[1]


def test_lazygrad_device_picks_the_default_jax_device() -> None:
    _jax_only()
    result = _run_with_two_cpu_devices("""
        import lazygrad as torch
        print(torch.tensor([1.0]).device, torch.zeros(2).realize().device)
    """, LAZYGRAD_DEVICE="cpu:1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpu:1", "cpu:1"]


# ---- Python numbers as program inputs ---------------------------------------------------------------------


def test_many_python_numbers_of_several_dtypes_reach_the_program_in_order() -> None:
    # Each number is an input; jax receives them packed per dtype, which must not reorder or mix them.
    floats = np.arange(6, dtype=np.float32)
    ints = np.arange(4, dtype=np.int64)
    zero_d = torch.tensor(2.5)
    zero_d.tolist()  # a computed 0-d buffer of the backend: an input that is not a Python number
    x, n = torch.tensor(floats), torch.tensor(ints)
    want_x, want_n = floats.copy(), ints.copy()
    for k in range(1, 150):
        x = x * (1 + k / 1000) + k / 10
        n = n + k if k % 2 else n * 2 - k
        want_x = want_x * np.float32(1 + k / 1000) + np.float32(k / 10)
        want_n = want_n + k if k % 2 else want_n * 2 - k
    flags = (x > 100.0) | True
    out = (x * zero_d).tolist(), n.tolist(), flags.tolist()
    np.testing.assert_allclose(out[0], want_x * np.float32(2.5), rtol=1e-5)
    assert out[1] == want_n.tolist()
    assert out[2] == [True] * 6


def test_python_numbers_are_marked_in_the_program() -> None:
    from lazygrad.program import linearize

    x = torch.tensor([1.0, 2.0])
    x.tolist()
    y = (x * 3.0 + torch.tensor(2.0)) / 4
    program, buffers = linearize([y.node])
    marked = [k for k, b in enumerate(buffers) if np.ndim(b) == 0 and isinstance(b, np.ndarray)]
    # 3.0 and 4 always; the 0-d tensor too where the backend keeps buffers as numpy arrays.
    assert program.host_scalars == tuple(marked) and len(marked) == (2 if torch.get_backend() == "jax" else 3)
