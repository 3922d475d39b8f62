"""Choosing a backend, the buffers each one owns, moving data between them, and the program cache."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import lazygrad as torch

realize_module = sys.modules["lazygrad.realization"]  # the package's ``realize`` is the function


@pytest.fixture
def other(backend: str) -> str:
    """The built-in backend that the test is not running on (each test thus covers both directions)."""
    pytest.importorskip("jax")
    return "numpy" if backend == "jax" else "jax"


# ---- choosing ------------------------------------------------------------------------------------------------


def test_set_backend_selects_the_backend(backend: str, other: str) -> None:
    torch.set_backend(other)
    assert torch.get_backend() == other


def test_unknown_backend_raises_and_keeps_the_current_one(backend: str) -> None:
    with pytest.raises(ValueError, match=r"unknown lazygrad backend 'tpu9'.*numpy"):
        torch.set_backend("tpu9")
    assert torch.get_backend() == backend


def test_backend_context_manager_restores_the_previous_backend(backend: str, other: str) -> None:
    with torch.backend(other):
        assert torch.get_backend() == other
    assert torch.get_backend() == backend


def test_backend_context_manager_restores_after_an_error(backend: str, other: str) -> None:
    with pytest.raises(KeyError), torch.backend(other):
        raise KeyError("boom")
    assert torch.get_backend() == backend


def test_environment_variable_picks_the_backend_at_import(other: str) -> None:
    code = "import lazygrad; print(lazygrad.get_backend())"
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LAZYGRAD_BACKEND": other},
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == other, result.stderr


# ---- buffers belong to a backend -------------------------------------------------------------------------------


def test_tensors_are_created_on_the_current_backend(backend: str, other: str) -> None:
    assert torch.tensor([1.0]).device.backend == backend
    with torch.backend(other):
        assert torch.tensor([1.0]).device.backend == other


def test_results_live_on_the_backend_that_computed_them(backend: str) -> None:
    t = (torch.ones(2) * 3).realize()
    assert t.device.backend == backend
    assert isinstance(t.node.buffer, torch.backends.get(backend).buffer_type)


def test_mixing_backends_names_both(backend: str, other: str) -> None:
    mine = torch.tensor([1.0, 2.0])
    with torch.backend(other):
        theirs = torch.tensor([3.0, 4.0])
    with pytest.raises(RuntimeError, match=f"backend '{other}' is used in a program running on backend '{backend}'"):
        (mine + theirs).tolist()


def test_a_mixing_error_still_computes_the_other_pending_tensors(backend: str, other: str) -> None:
    with torch.backend(other):
        theirs = torch.tensor([3.0])
    innocent = torch.tensor([1.0]) * 2
    mixed = torch.tensor([1.0]) + theirs
    with pytest.raises(RuntimeError, match="move it first"):
        mixed.tolist()
    assert innocent.node.buffer is not None
    assert innocent.tolist() == [2.0]
    with pytest.raises(RuntimeError, match="move it first"):  # still refused, not silently computed
        mixed.tolist()
    assert (torch.tensor([1.0]) + theirs.to(backend)).tolist() == [4.0]


def test_python_numbers_and_0d_host_tensors_work_on_every_backend(backend: str, other: str) -> None:
    with torch.backend("numpy"):
        scale = torch.tensor(2.0)  # a 0-d host tensor, like torch's CPU scalars
    assert (torch.tensor([1.0, 2.0]) * scale + 1).tolist() == [3.0, 5.0]


def test_switching_still_computes_pending_work_next_to_a_mixed_tensor(backend: str, other: str) -> None:
    with torch.backend(other):
        theirs = torch.tensor([3.0, 4.0])
    mixed = torch.tensor([1.0, 2.0]) + theirs
    innocent = torch.tensor([1.0, 2.0]) * 2
    torch.set_backend(other)
    assert innocent.device.backend == backend
    assert mixed.node.buffer is None


def test_switching_computes_pending_work_on_the_backend_it_was_built_for(backend: str, other: str) -> None:
    pending = torch.tensor([1.0, 2.0]) * 2
    torch.set_backend(other)
    assert pending.node.buffer is not None
    assert pending.device.backend == backend


def test_a_tensor_is_readable_after_switching_away(backend: str, other: str) -> None:
    t = torch.tensor([1, 2]) + 1
    t.realize()
    with torch.backend(other):
        assert t.tolist() == [2, 3]
        assert repr(t) == "tensor([2, 3])"


# ---- moving ----------------------------------------------------------------------------------------------------


def test_to_backend_copies_values_and_dtype(backend: str, other: str) -> None:
    t = torch.tensor([[1, 2], [3, 2**40]]) * 2
    moved = t.to(other)
    assert moved.device.backend == other
    assert moved.dtype is torch.int64
    with torch.backend(other):
        assert (moved + 1).tolist() == [[3, 5], [7, 2**41 + 1]]


def test_to_the_same_device_returns_the_tensor(backend: str) -> None:
    t = torch.tensor([1.0])
    assert t.to(backend) is t
    assert t.to(t.device) is t
    assert t.cpu() is t


def test_moving_a_leaf_keeps_it_a_leaf_that_requires_grad(backend: str, other: str) -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    moved = w.to(other)
    assert moved.is_leaf and moved.requires_grad
    with torch.backend(other):
        (moved * moved).sum().backward()
        assert moved.grad.tolist() == [2.0, 4.0]


def test_moving_a_tensor_with_history_raises(backend: str, other: str) -> None:
    w = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="autograd history"):
        (w * 2).to(other)


def test_to_accepts_a_device_and_a_dtype_together(backend: str, other: str) -> None:
    moved = torch.tensor([1.5, 2.5]).to(other, torch.float64)
    assert (moved.device.backend, moved.dtype) == (other, torch.float64)
    assert moved.node.buffer is not None  # nothing left pending that would read the source backend


def test_a_pending_mixed_tensor_does_not_block_switching(backend: str, other: str) -> None:
    with torch.backend(other):
        theirs = torch.tensor([3.0])
    mixed = torch.tensor([1.0]) + theirs
    torch.set_backend(other)
    torch.set_backend(backend)
    with pytest.raises(RuntimeError, match="move it first"):
        mixed.tolist()


def test_device_strings_name_backend_platform_and_index(backend: str) -> None:
    pytest.importorskip("jax")
    assert str(torch.device("numpy")) == "cpu"
    assert str(torch.device("jax")) == "cpu"
    assert torch.device("jax:0") == torch.device("jax:cpu:0")
    assert torch.device("cpu").backend == backend
    assert torch.device("cpu:0") == torch.device("cpu")


def test_a_device_is_not_equal_to_a_string_that_names_no_device() -> None:
    assert torch.tensor([1.0]).device != "abacus"


def test_a_missing_device_raises() -> None:
    pytest.importorskip("jax")
    with pytest.raises(RuntimeError, match="does not exist"):
        torch.device("jax:cpu:99")
    with pytest.raises(RuntimeError, match="unknown device"):
        torch.device("abacus")


def test_factories_create_on_the_requested_device(backend: str, other: str) -> None:
    made = [torch.tensor([1.0], device=other), torch.zeros(2, device=other), torch.randn(2, device=other),
            torch.arange(3, device=other)]
    assert [t.device.backend for t in made] == [other] * len(made)


# ---- the program cache -----------------------------------------------------------------------------------------


def test_a_repeated_program_hits_the_cache(backend: str) -> None:
    torch.reset_metrics()
    for value in (1.0, 2.0, 3.0):
        (torch.tensor([value, 1.0]) * value).tolist()
    assert torch.metrics()["compiles"] <= 1
    assert torch.metrics()["cache_hits"] >= 2


def test_the_cache_keeps_programs_apart_per_backend(backend: str, other: str) -> None:
    torch.clear_cache()
    (torch.tensor([1.0, 5.0]) * 7).tolist()
    torch.reset_metrics()
    with torch.backend(other):
        (torch.tensor([1.0, 5.0]) * 7).tolist()
    assert torch.metrics()["compiles"] == 1


def test_the_cache_evicts_the_least_recently_used_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realize_module, "CACHE_SIZE", 2)
    torch.clear_cache()
    shapes = [(1,), (2,), (3,), (1,)]
    torch.reset_metrics()
    for shape in shapes:
        (torch.ones(shape) + torch.tensor(np.ones(shape, np.float32))).tolist()
    assert torch.metrics()["compiles"] == 4  # (1,) was evicted by (3,)


# ---- recompile explanations --------------------------------------------------------------------------------


@pytest.fixture
def debug_log(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    monkeypatch.setenv("LAZYGRAD_DEBUG", "1")
    caplog.set_level(logging.DEBUG, logger="lazygrad")
    torch.clear_cache()
    return caplog


def test_debug_log_says_when_nothing_was_cached(debug_log: pytest.LogCaptureFixture) -> None:
    (torch.tensor([1.0]) * 2).tolist()
    assert "no cached program to compare with" in debug_log.text


def test_debug_log_names_a_changed_input_shape(debug_log: pytest.LogCaptureFixture) -> None:
    for rows in (128, 64):
        torch.tensor(np.ones((rows, 784), np.float32)).sum().item()
    assert "changed dimension 0 128 -> 64 (shape (128, 784) -> (64, 784))" in debug_log.text


def test_debug_log_names_a_changed_instruction(debug_log: pytest.LogCaptureFixture) -> None:
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])
    (a * b).tolist()
    (a + b).tolist()
    assert "instruction 0 is add" in debug_log.text and "the nearest cached program has mul" in debug_log.text
    assert debug_log.records[-1].name == "lazygrad"


def test_no_debug_log_without_the_variable(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("LAZYGRAD_DEBUG", raising=False)
    caplog.set_level(logging.DEBUG, logger="lazygrad")
    torch.clear_cache()
    (torch.tensor([1.0]) * 2).tolist()
    assert caplog.records == []

