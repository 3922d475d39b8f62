"""The window functions: torch's ``*_window`` factories and ``torch.signal.windows``, values against torch in
float32 and float64 (symmetric and periodic, and the lengths 0 and 1), keyword arguments, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

pytestmark = [pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle of these values"),
              pytest.mark.backend_agnostic]  # constants computed on the host (signal.windows: a few small ops)
LENGTHS = (0, 1, 2, 5, 8)


def _same(ours, theirs, tolerance: float = 1e-6) -> None:
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name, extra", [("hann_window", ()), ("hamming_window", ()), ("hamming_window", (0.6, 0.3)),
                                         ("blackman_window", ()), ("bartlett_window", ()), ("kaiser_window", ()),
                                         ("kaiser_window", (5.0,))])
@pytest.mark.parametrize("dtype", [None, "float64", "float16"])
def test_window_factories_match_torch(name, extra, dtype):
    import torch

    for length in LENGTHS:
        for periodic in (True, False):
            ours = getattr(lazygrad, name)(length, periodic, *extra,
                                           **({} if dtype is None else {"dtype": getattr(lazygrad, dtype)}))
            theirs = getattr(torch, name)(length, periodic, *extra,
                                          **({} if dtype is None else {"dtype": getattr(torch, dtype)}))
            _same(ours, theirs, 1e-3 if dtype == "float16" else 1e-6)
    _same(getattr(lazygrad, name)(6), getattr(torch, name)(6))  # periodic by default


def test_window_factories_refuse_what_torch_refuses():
    with pytest.raises(RuntimeError, match="hann_window requires non-negative window_length, got window_length=-1"):
        lazygrad.hann_window(-1)
    with pytest.raises(RuntimeError, match=r"kaiser_window expects floating point dtypes, got: TensorOptions\(dtype="
                                           r"long int"):
        lazygrad.kaiser_window(3, dtype=lazygrad.int64)
    assert lazygrad.bartlett_window(4, requires_grad=True).requires_grad


SIGNAL_WINDOWS = [("bartlett", {}), ("blackman", {}), ("cosine", {}), ("exponential", {}),
                  ("exponential", {"tau": 0.5}), ("gaussian", {}), ("gaussian", {"std": 0.7}),
                  ("general_cosine", {"a": [0.5, 0.3, 0.2]}), ("general_hamming", {}),
                  ("general_hamming", {"alpha": 0.6}), ("hamming", {}), ("hann", {}), ("kaiser", {}),
                  ("kaiser", {"beta": 4.0}), ("nuttall", {})]


@pytest.mark.parametrize("name, kwargs", SIGNAL_WINDOWS)
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_signal_windows_match_torch(name, kwargs, dtype):
    import torch

    for length in LENGTHS:
        for sym in (True, False):
            ours = getattr(lazygrad.signal.windows, name)(
                length, sym=sym, **kwargs, **({} if dtype is None else {"dtype": getattr(lazygrad, dtype)}))
            theirs = getattr(torch.signal.windows, name)(
                length, sym=sym, **kwargs, **({} if dtype is None else {"dtype": getattr(torch, dtype)}))
            _same(ours, theirs)


def test_signal_windows_history_and_errors_match_torch():
    import torch

    ours, theirs = lazygrad.signal.windows.hann(5, requires_grad=True), torch.signal.windows.hann(5, requires_grad=True)
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__
    _same(lazygrad.signal.windows.exponential(6, center=1.0, sym=False),
          torch.signal.windows.exponential(6, center=1.0, sym=False))
    for call, message in (
            (lambda w: w.bartlett(-1), "bartlett requires non-negative window length, got M=-1"),
            (lambda w: w.hann(-1), "general_cosine requires non-negative window length, got M=-1"),
            (lambda w: w.hann(3, dtype=lazygrad.float16), "general_cosine expects float32 or float64 dtypes, got: "
                                                          "torch.float16"),
            (lambda w: w.gaussian(3, std=0), "Standard deviation must be positive, got: 0 instead."),
            (lambda w: w.exponential(3, tau=-1), "Tau must be positive, got: -1 instead."),
            (lambda w: w.exponential(3, center=1.0), "Center must be None for symmetric windows"),
            (lambda w: w.kaiser(3, beta=-1), "beta must be non-negative, got: -1 instead."),
            (lambda w: w.general_cosine(3, a=[]), "Coefficients cannot be empty")):
        with pytest.raises(ValueError, match=message):
            call(lazygrad.signal.windows)
