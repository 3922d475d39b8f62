"""Device idioms (``torch.cuda``, ``torch.accelerator``, ``torch.backends``, ``device=``, ``Module.to``) and the
small API programs reach for (``finfo``, ``set_default_dtype``, ``testing.assert_close``, ``Variable``, ``new_*``).

On a machine without a GPU the answers must be a CPU-only torch's; the moves between devices are checked
between the two built-in backends, which stand in for two devices.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import lazygrad as torch
from lazygrad.autograd import Variable
from tests.helpers import HAS_TORCH

if HAS_TORCH:
    import torch as real_torch

HAS_GPU = torch.cuda.is_available()
no_gpu = pytest.mark.skipif(HAS_GPU, reason="checks the behaviour without a GPU")


@pytest.fixture
def other(backend: str) -> str:
    """The built-in backend the test is not running on: a second device to move to."""
    pytest.importorskip("jax")
    return "numpy" if backend == "jax" else "jax"


@pytest.fixture
def float64_default() -> Iterator[None]:
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


# ---- asking for a GPU ---------------------------------------------------------------------------------------


@no_gpu
def test_cuda_queries_answer_as_a_cpu_only_torch() -> None:
    assert (torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda.is_bf16_supported()) == (False, 0, False)
    assert (torch.accelerator.is_available(), torch.accelerator.current_accelerator()) == (False, None)
    assert torch.accelerator.device_count() == 0
    assert (torch.backends.mps.is_available(), torch.backends.mps.is_built()) == (False, False)
    if HAS_TORCH:
        assert torch.cuda.is_available() == real_torch.cuda.is_available()


@no_gpu
def test_cuda_seeding_without_a_gpu_leaves_the_cpu_stream_alone() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3).tolist()
    torch.manual_seed(0)
    assert torch.cuda.manual_seed(5) is None and torch.cuda.manual_seed_all(5) is None
    assert torch.rand(3).tolist() == expected


def test_cudnn_and_matmul_flags_have_torch_defaults_and_can_be_set() -> None:
    flags = torch.backends.cudnn
    assert (flags.enabled, flags.benchmark, flags.deterministic, flags.allow_tf32) == (True, False, False, True)
    assert torch.backends.cuda.matmul.allow_tf32 is False
    if HAS_TORCH:
        theirs = real_torch.backends.cudnn
        assert (theirs.enabled, theirs.benchmark, theirs.deterministic) == (True, False, False)
        assert real_torch.backends.cuda.matmul.allow_tf32 is False
    flags.benchmark = True
    try:
        assert torch.backends.cudnn.benchmark is True
    finally:
        flags.benchmark = False


def test_flag_namespaces_leave_the_backend_registry_alone() -> None:
    assert {"numpy", "jax"} <= set(torch.backends.available())
    assert torch.backends.get("numpy").name == "numpy"


# ---- naming and using a device --------------------------------------------------------------------------------


def test_a_cuda_device_can_be_named_without_a_gpu() -> None:
    plain, second, given = torch.device("cuda"), torch.device("cuda:1"), torch.device("cuda", 0)
    assert (plain.index, second.index, given.index) == (None, 1, 0)
    assert plain.type == second.type == "gpu" and plain != given
    assert (str(plain), torch.device(str(plain))) == ("cuda", plain)


def test_a_malformed_cuda_device_string_raises_torch_error() -> None:
    with pytest.raises(RuntimeError, match=re.escape("Invalid device string: 'cuda:x'")):
        torch.device("cuda:x")


NO_CUDA = "Torch not compiled with CUDA enabled"
GPU_USES: dict[str, Callable[[], Any]] = {
    "factory": lambda: torch.zeros(2, device="cuda"),
    "tensor": lambda: torch.tensor([1.0], device="cuda:0"),
    "Tensor.cuda": lambda: torch.ones(2).cuda(),
    "Tensor.to": lambda: torch.ones(2).to(torch.device("cuda")),
    "Module.to": lambda: torch.nn.Linear(2, 2).to("cuda"),
    "Module.cuda": lambda: torch.nn.Linear(2, 2).cuda(),
    "current_device": torch.cuda.current_device,
}


@no_gpu
@pytest.mark.parametrize("use", GPU_USES.values(), ids=GPU_USES.keys())
def test_using_cuda_without_a_gpu_raises_torch_error(use: Callable[[], Any]) -> None:
    with pytest.raises(AssertionError, match=NO_CUDA):
        use()
    if HAS_TORCH:
        with pytest.raises(AssertionError, match=NO_CUDA):
            real_torch.zeros(2, device="cuda")


def test_is_cuda_is_false_off_the_gpu() -> None:
    assert torch.ones(2).is_cuda is False


FACTORIES: dict[str, Callable[[Any], torch.Tensor]] = {
    "tensor": lambda d: torch.tensor([1.0], device=d),
    "as_tensor": lambda d: torch.as_tensor([1, 2], device=d),
    "zeros": lambda d: torch.zeros(2, device=d),
    "ones": lambda d: torch.ones(2, device=d),
    "empty": lambda d: torch.empty(2, device=d),
    "full": lambda d: torch.full((2,), 3.0, device=d),
    "arange": lambda d: torch.arange(3, device=d),
    "linspace": lambda d: torch.linspace(0, 1, 3, device=d),
    "eye": lambda d: torch.eye(2, device=d),
    "rand": lambda d: torch.rand(2, device=d),
    "randn": lambda d: torch.randn(2, device=d),
    "randint": lambda d: torch.randint(0, 5, (2,), device=d),
    "zeros_like": lambda d: torch.zeros_like(torch.ones(2), device=d),
    "ones_like": lambda d: torch.ones_like(torch.ones(2), device=d),
    "full_like": lambda d: torch.full_like(torch.ones(2), 7, device=d),
    "empty_like": lambda d: torch.empty_like(torch.ones(2), device=d),
    "rand_like": lambda d: torch.rand_like(torch.ones(2), device=d),
    "randn_like": lambda d: torch.randn_like(torch.ones(2), device=d),
    "new_zeros": lambda d: torch.ones(2).new_zeros(2, device=d),
    "new_tensor": lambda d: torch.ones(2).new_tensor([1.0], device=d),
}


@pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys())
def test_factories_honour_device(make: Callable[[Any], torch.Tensor], other: str) -> None:
    made = make(other)
    assert made.device.backend == other
    assert make(torch.device(other)).device.backend == other


def test_like_factories_follow_the_input_device(other: str) -> None:
    source = torch.ones(2, device=other)
    made = [torch.zeros_like(source), torch.ones_like(source), torch.full_like(source, 2), torch.rand_like(source),
            torch.randn_like(source), source.new_ones(3), source.new_tensor([1.0])]
    assert [m.device.backend for m in made] == [other] * len(made)


def test_as_tensor_returns_the_tensor_itself_when_nothing_changes(other: str) -> None:
    t = torch.ones(2)
    assert torch.as_tensor(t) is t and torch.as_tensor(t, dtype=torch.float32, device=t.device) is t
    converted = torch.as_tensor(t, dtype=torch.float64, device=other)
    assert (converted.dtype, converted.device.backend, converted.tolist()) == (torch.float64, other, [1.0, 1.0])


def test_float64_data_is_exact_with_an_explicit_dtype() -> None:
    assert torch.tensor([0.1], dtype=torch.float64).item() == 0.1


def test_module_to_device_moves_parameters_and_buffers_in_place(other: str) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    weight = model[0].weight
    before = weight.tolist()
    assert model.to(other) is model
    assert model[0].weight is weight and weight.tolist() == before
    # (0-d numpy buffers count as host scalars, which every backend accepts, so num_batches_tracked is left out)
    assert {t.device.backend for t in [*model.parameters(), *model.buffers()] if t.ndim} == {other}
    assert weight.requires_grad and weight.is_leaf
    with torch.backend(other):  # a program runs on the backend that holds its inputs
        model(torch.ones(4, 2, device=other)).sum().backward()
        weight.grad.realize()
    assert weight.grad.device.backend == other


def test_module_to_another_jax_device_trains_there(backend: str) -> None:
    """With two jax CPU devices standing in for two GPUs: parameters, gradients and optimizer state stay put."""
    if backend != "jax":
        pytest.skip("runs once, in a subprocess of its own")
    code = """
        import lazygrad as torch
        from lazygrad.utils.data import DataLoader, TensorDataset
        model = torch.nn.Linear(2, 1).to("jax:1")
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        rows = TensorDataset(torch.ones(4, 2, device="jax:1"), torch.zeros(4, 1, device="jax:1"))
        for x, y in DataLoader(rows, batch_size=2):
            loss = ((model(x) - y) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
        state = optimizer.state[model.weight]["exp_avg"]
        print(x.device, model.weight.device, model.weight.grad.device, state.device)
        print(torch.zeros_like(model.bias).device)
    """
    environment = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "LAZYGRAD_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpu:1"] * 5


def test_module_to_a_tensor_takes_its_dtype_and_device(other: str) -> None:
    model = torch.nn.Linear(2, 2)
    model.to(torch.zeros(1, dtype=torch.float64, device=other))
    assert (model.weight.dtype, model.weight.device.backend) == (torch.float64, other)
    model.to(device="cpu", dtype=torch.float32)
    assert (model.weight.dtype, model.weight.device) == (torch.float32, torch.device("cpu"))


# ---- Tensor.new_* ------------------------------------------------------------------------------------------------


NEW: dict[str, Callable[[Any, Any], Any]] = {
    "new_zeros": lambda t, T: t.new_zeros(2, 3),
    "new_ones_tuple": lambda t, T: t.new_ones((2,)),
    "new_full": lambda t, T: t.new_full((2,), 3),
    "new_full_dtype": lambda t, T: t.new_full((2,), 2.5, dtype=T.float32),
    "new_empty_shape": lambda t, T: t.new_empty(2, 1).shape,
    "new_tensor": lambda t, T: t.new_tensor([1, 2]),
    "new_tensor_dtype": lambda t, T: t.new_tensor([1, 2], dtype=T.int64),
    "new_ones_grad": lambda t, T: t.new_ones(2, requires_grad=True).requires_grad,
}


@pytest.mark.parametrize("make", NEW.values(), ids=NEW.keys())
def test_new_factories_match_torch(make: Callable[[Any, Any], Any]) -> None:
    got = make(torch.ones(2, dtype=torch.float64), torch)
    summary = (str(got.dtype).split(".")[-1], got.tolist()) if isinstance(got, torch.Tensor) else tuple(got) \
        if isinstance(got, tuple) else got
    if HAS_TORCH:
        theirs = make(real_torch.ones(2, dtype=real_torch.float64), real_torch)
        expected = (str(theirs.dtype).split(".")[-1], theirs.tolist()) if isinstance(theirs, real_torch.Tensor) \
            else tuple(theirs) if isinstance(theirs, tuple) else theirs
        assert summary == expected
    else:
        assert summary is not None


def test_new_integer_tensor_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        torch.ones(2, dtype=torch.int64).new_ones(2, requires_grad=True)


# ---- version, dtype limits and the default dtype ----------------------------------------------------------------


def test_version_is_a_release_string() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", torch.__version__)


FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("name", FLOATS)
def test_finfo_matches_torch(name: str) -> None:
    info = torch.finfo(getattr(torch, name))
    assert info.dtype == name and info.bits == np.dtype(name).itemsize * 8
    assert info.eps == float(np.finfo(name).eps)
    if HAS_TORCH:
        theirs = real_torch.finfo(getattr(real_torch, name))
        fields = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")
        assert [getattr(info, f) for f in fields] == [getattr(theirs, f) for f in fields]
        assert repr(info) == repr(theirs)


@pytest.mark.parametrize("name", INTS)
def test_iinfo_matches_torch(name: str) -> None:
    info = torch.iinfo(getattr(torch, name))
    assert (info.min, info.max) == (int(np.iinfo(name).min), int(np.iinfo(name).max))
    if HAS_TORCH:
        theirs = real_torch.iinfo(getattr(real_torch, name))
        assert (info.bits, info.min, info.max, info.dtype) == (theirs.bits, theirs.min, theirs.max, theirs.dtype)
        assert repr(info) == repr(theirs)


def test_finfo_of_nothing_is_the_default_dtype(float64_default: None) -> None:
    assert torch.finfo() == torch.finfo(torch.float64) and torch.finfo(float).dtype == "float64"


@pytest.mark.parametrize(("make", "message"), [
    (lambda: torch.finfo(torch.int32), "torch.finfo() requires a floating point input type. Use torch.iinfo to "
     "handle 'torch.finfo'"),
    (lambda: torch.iinfo(torch.float32), "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
     "'torch.iinfo'"),
    (lambda: torch.iinfo(torch.bool), "torch.bool is not supported by torch.iinfo"),
    (lambda: torch.set_default_dtype(torch.int64), "only floating-point types are supported as the default type"),
])
def test_dtype_info_errors_match_torch(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(TypeError) as raised:
        make()
    assert str(raised.value) == message


def test_default_dtype_decides_python_floats_and_factories(float64_default: None) -> None:
    assert torch.get_default_dtype() is torch.float64
    made = [torch.tensor([1.5]), torch.zeros(2), torch.rand(2), torch.arange(0.0, 1.0), torch.ones(1, dtype=None)]
    assert [t.dtype for t in made] == [torch.float64] * len(made)
    assert (torch.tensor([1]).dtype, (torch.tensor([1]) * 0.5).dtype) == (torch.int64, torch.float64)
    assert repr(torch.tensor([1.5])) == "tensor([1.5000])"


def test_default_dtype_starts_as_float32() -> None:
    assert torch.get_default_dtype() is torch.float32


# ---- testing.assert_close ----------------------------------------------------------------------------------------

CLOSE_CASES: dict[str, Callable[[Any], None]] = {
    "tensor_close": lambda T: T.testing.assert_close(T.tensor([1.0, 2.0, 3.0]), T.tensor([1.0, 2.1, 3.0])),
    "python_floats": lambda T: T.testing.assert_close(1.0, 1.1),
    "python_ints": lambda T: T.testing.assert_close(1, 2),
    "int_tensors": lambda T: T.testing.assert_close(T.tensor([1, 2]), T.tensor([1, 3])),
    "shape": lambda T: T.testing.assert_close(T.ones(2), T.ones(3)),
    "dtype": lambda T: T.testing.assert_close(T.ones(2), T.ones(2, dtype=T.float64)),
    "tolerance_pair": lambda T: T.testing.assert_close(T.ones(2), T.ones(2), rtol=1e-3),
    "sequence_item": lambda T: T.testing.assert_close([T.ones(2), T.zeros(2)], [T.ones(2), T.ones(2)]),
    "mapping_item": lambda T: T.testing.assert_close({"a": T.ones(2)}, {"a": T.zeros(2)}),
    "nan": lambda T: T.testing.assert_close(T.tensor([float("nan")]), T.tensor([float("nan")])),
    "nan_equal": lambda T: T.testing.assert_close(T.tensor([float("nan")]), T.tensor([float("nan")]), equal_nan=True),
    "msg": lambda T: T.testing.assert_close(T.tensor([1.0, 2.0]), T.tensor([1.5, 2.0]), msg="custom"),
    "msg_callable": lambda T: T.testing.assert_close(T.tensor([1.0]), T.tensor([1.5]), msg=lambda m: "X" + m),
    "lengths": lambda T: T.testing.assert_close([1, 2], [1, 2, 3]),
    "zero_dim": lambda T: T.testing.assert_close(T.tensor(1.0), T.tensor(1.5)),
    "matrix": lambda T: T.testing.assert_close(T.arange(6.0).reshape(2, 3), T.arange(6.0).reshape(2, 3) + 0.01),
    "bools": lambda T: T.testing.assert_close(T.tensor([True]), T.tensor([False])),
    "numpy": lambda T: T.testing.assert_close(np.ones(2), np.zeros(2)),
    "tensor_and_float": lambda T: T.testing.assert_close(T.ones(2), 1.0),
    "int_and_float": lambda T: T.testing.assert_close(1, 1.0),
    "keys": lambda T: T.testing.assert_close({"a": 1}, {"b": 1}),
    "exact": lambda T: T.testing.assert_close(T.tensor([1.0, 2.0]), T.tensor([1.0, 2.5]), atol=0, rtol=0),
    "float16": lambda T: T.testing.assert_close(T.tensor([1.0, 2.0], dtype=T.float16),
                                                T.tensor([1.0, 2.01], dtype=T.float16)),
    "mixed_dtypes": lambda T: T.testing.assert_close(T.tensor([1.0, 2.0]), T.tensor([1.0, 2.5], dtype=T.float64),
                                                     check_dtype=False),
    "nested": lambda T: T.testing.assert_close([1.0, [2.0, {"x": 3.0}]], [1.0, [2.0, {"x": 3.5}]]),
    "booleans": lambda T: T.testing.assert_close(True, False),
    "within": lambda T: T.testing.assert_close(T.tensor([1.0, 2.0]), T.tensor([1.0, 2.000001])),
}


def outcome(case: Callable[[Any], None], module: Any) -> tuple[str, str]:
    try:
        case(module)
    except (AssertionError, TypeError, ValueError) as error:
        text = str(error).replace("<class 'torch.Tensor'>", "<class 'lazygrad.tensor.Tensor'>")
        return type(error).__name__, text.replace("torch.", "lazygrad.")
    return "passed", ""


@pytest.mark.parametrize("case", CLOSE_CASES.values(), ids=CLOSE_CASES.keys())
def test_assert_close_matches_torch(case: Callable[[Any], None]) -> None:
    got = outcome(case, torch)
    if HAS_TORCH:
        assert got == outcome(case, real_torch)
    else:
        assert got[0] in ("passed", "AssertionError", "TypeError", "ValueError")


def test_assert_close_reports_the_worst_element() -> None:
    with pytest.raises(AssertionError) as raised:
        torch.testing.assert_close(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.5, 3.0]))
    assert "Mismatched elements: 1 / 3 (33.3%)" in str(raised.value)
    assert "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)" in str(raised.value)


# ---- autograd.Variable ------------------------------------------------------------------------------------------


def test_variable_returns_a_tensor_that_can_require_grad() -> None:
    data = torch.ones(2)
    v = Variable(data, requires_grad=True)
    assert type(v) is torch.Tensor and v is not data
    assert (v.requires_grad, v.is_leaf, data.requires_grad) == (True, True, False)
    assert isinstance(data, Variable) and not isinstance([1.0], Variable)
    (v * 3).sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]
    assert Variable(data).requires_grad is False


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: Variable([1.0]), TypeError, "Variable data has to be a tensor, but got list"),
    (lambda: Variable(torch.tensor([1]), requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
])
def test_variable_errors_match_torch(make: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        make()
    assert str(raised.value) == message


@pytest.mark.backend_agnostic
def test_legacy_typed_constructors_build_check_and_convert_types() -> None:
    """``torch.LongTensor([label])`` and friends, as older tutorials write them."""
    labels = torch.LongTensor([3, 1])
    assert labels.dtype is torch.int64 and labels.tolist() == [3, 1]
    assert torch.FloatTensor(2, 3).shape == (2, 3) and torch.FloatTensor((2, 3)).tolist() == [2.0, 3.0]
    assert torch.DoubleTensor(torch.Size([4])).dtype is torch.float64
    assert torch.ByteTensor().shape == (0,)
    assert isinstance(torch.ones(2), torch.FloatTensor) and not isinstance(labels, torch.FloatTensor)
    assert repr(torch.BoolTensor) == "<class 'torch.BoolTensor'>"
    assert torch.ones(2).type(torch.LongTensor).dtype is torch.int64
    assert torch.ones(2).type("torch.HalfTensor").dtype is torch.float16
    with pytest.raises(TypeError, match=r"expected torch\.float32"):
        torch.FloatTensor(labels)


@no_gpu
def test_pinning_memory_needs_an_accelerator() -> None:
    """A CPU-only torch refuses ``pin_memory()`` and reports no tensor pinned; a DataLoader asked to pin runs."""
    x = torch.ones(2)
    assert not x.is_pinned()
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
        x.pin_memory()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4, 2)), batch_size=2,
                                         pin_memory=True)
    assert [b[0].shape for b in loader] == [(2, 2), (2, 2)]
