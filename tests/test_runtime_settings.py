"""The process-wide settings programs start with (threads, matmul precision, deterministic algorithms), the small
conversions ``asarray``, ``can_cast`` and ``typename``, and ``torch.jit``'s pass-through entry points: torch's
answers and torch's errors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad
from lazygrad import runtime_settings

pytestmark = pytest.mark.backend_agnostic  # settings and host conversions


@pytest.fixture(autouse=True)
def restored_settings() -> Iterator[None]:
    before = (dict(runtime_settings._threads), dict(runtime_settings._state))
    yield
    runtime_settings._threads.update(before[0])
    runtime_settings._state.update(before[1])


def test_settings_are_recorded_and_reported():
    lazygrad.set_num_threads(1)
    lazygrad.set_num_interop_threads(3)
    assert (lazygrad.get_num_threads(), lazygrad.get_num_interop_threads()) == (1, 3)
    assert lazygrad.get_float32_matmul_precision() == "highest"
    lazygrad.set_float32_matmul_precision("high")
    with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
        lazygrad.set_float32_matmul_precision("fast")
    assert lazygrad.get_float32_matmul_precision() == "high"
    assert not lazygrad.are_deterministic_algorithms_enabled()
    lazygrad.use_deterministic_algorithms(True, warn_only=True)
    assert lazygrad.are_deterministic_algorithms_enabled() and lazygrad.is_deterministic_algorithms_warn_only_enabled()


BAD_SETTINGS = {
    "zero threads": lambda t: t.set_num_threads(0),
    "float threads": lambda t: t.set_num_threads(2.5),
    "zero interop threads": lambda t: t.set_num_interop_threads(0),
    "mode not a bool": lambda t: t.use_deterministic_algorithms("yes"),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_settings_raise_torchs_errors(case):
    errors = []
    for lib in ([__import__("torch")] if HAS_TORCH else []) + [lazygrad]:
        with pytest.raises(Exception) as info:
            BAD_SETTINGS[case](lib)
        errors.append((type(info.value).__name__, str(info.value)))
    assert len(set(errors)) == 1 and errors[0][0] in ("RuntimeError", "TypeError")


def test_asarray_shares_what_it_can():
    array = np.ones(3, np.float32)
    shared, copied = lazygrad.asarray(array), lazygrad.asarray(array, copy=True)
    array[0] = 5
    assert shared.tolist() == [5.0, 1.0, 1.0] and copied.tolist() == [1.0, 1.0, 1.0]
    t = lazygrad.ones(2)
    assert lazygrad.asarray(t) is t and lazygrad.asarray(t, copy=True) is not t
    assert lazygrad.asarray(t, dtype=lazygrad.float64).dtype == lazygrad.float64
    assert lazygrad.asarray([1, 2]).dtype == lazygrad.int64 and lazygrad.asarray((1, 2.5)).dtype == lazygrad.float32
    assert lazygrad.asarray([1.0], requires_grad=True).requires_grad


def test_can_cast_and_typename():
    assert lazygrad.can_cast(lazygrad.float64, lazygrad.float32) and lazygrad.can_cast(lazygrad.bool, lazygrad.int8)
    assert not lazygrad.can_cast(lazygrad.float32, lazygrad.int32)
    assert not lazygrad.can_cast(lazygrad.int64, lazygrad.bool)
    assert lazygrad.typename(lazygrad.ones(2, dtype=lazygrad.int64)) == "torch.LongTensor"
    assert lazygrad.typename(3) == "int" and lazygrad.typename(np.ones(1)) == "numpy.ndarray"
    assert lazygrad.typename(lazygrad.nn.Linear) == "lazygrad.nn.layers.Linear"


def test_jit_entry_points_leave_programs_as_written():
    @lazygrad.jit.script
    def double(x):
        return x * 2

    model = lazygrad.nn.Linear(2, 2)
    assert lazygrad.jit.trace(model, lazygrad.ones(1, 2)) is model
    assert double(lazygrad.ones(2)).tolist() == [2.0, 2.0]
    assert lazygrad.jit.ignore(double) is double and lazygrad.jit.ignore(drop=True)(double) is double
    assert not lazygrad.jit.is_scripting() and not lazygrad.jit.is_tracing()
    with pytest.raises(NotImplementedError, match="TorchScript"):
        lazygrad.jit.save(model, "model.pt")
