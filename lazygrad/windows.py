"""torch's window factories (``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``,
``kaiser_window``): constants computed on the host in the requested dtype, in torch's order of operations, so
float16, float32 and float64 windows round as torch's do. A periodic window is the symmetric window one longer,
without its last point (the form a spectral analysis repeats without a seam)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes
from .creation import tensor
from .dtypes import DType
from .tensor import Tensor

Formula = Callable[[np.ndarray, int], np.ndarray]  # (arange(n) in the dtype, n) -> the symmetric window


def _hamming(alpha: float, beta: float) -> Formula:
    def formula(n: np.ndarray, length: int) -> np.ndarray:
        kind = n.dtype.type
        return np.cos(n * kind(2 * math.pi / (length - 1))) * kind(-beta) + kind(alpha)

    return formula


def _blackman(n: np.ndarray, length: int) -> np.ndarray:
    kind = n.dtype.type
    angle = n * kind(math.pi / (length - 1))
    return np.cos(angle * kind(4)) * kind(0.08) - np.cos(angle * kind(2)) * kind(0.5) + kind(0.42)


def _bartlett(n: np.ndarray, length: int) -> np.ndarray:
    kind = n.dtype.type
    window = n * kind(2 / (length - 1))
    first_half = (length - 1) // 2 + 1
    window[first_half:] = kind(2) - window[first_half:]
    return window


def _kaiser(beta: float) -> Formula:
    def formula(n: np.ndarray, length: int) -> np.ndarray:
        # one kernel, computing 16-bit floats in float32 as torch's kernels do
        wide = n.astype(np.float32) if n.dtype.itemsize < 4 else n
        kind = wide.dtype.type
        middle = kind((length - 1) / 2)
        ratio = (wide - middle) / middle
        return (np.i0(kind(beta) * np.sqrt(kind(1) - ratio * ratio)) / np.i0(kind(beta))).astype(n.dtype)

    return formula


def _window(name: str, formula: Formula, window_length: int, periodic: bool, dtype: Any, device: Any,
            requires_grad: bool) -> Tensor:
    dtype = dtypes.default_float() if dtype is None else dtypes.to_dtype(dtype)
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {_options(dtype)}")
    if window_length <= 1:
        values = np.ones(window_length, dtype.np)
    else:
        length = window_length + 1 if periodic else window_length
        values = formula(np.arange(length, dtype=dtype.np), length)[:window_length]
    return tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def _options(dtype: DType) -> str:
    """How torch's error names a dtype: its C++ TensorOptions."""
    names = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
             "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
             "uint8": "unsigned char", "bool": "bool"}
    return (f"TensorOptions(dtype={names[dtype.name]}, device=cpu, layout=Strided (default), requires_grad=false "
            "(default), pinned_memory=false, memory_format=(nullopt))")


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """0.5 - 0.5 cos(2 pi n / (N - 1))."""
    return _window("hann_window", _hamming(0.5, 0.5), window_length, periodic, dtype, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", _hamming(alpha, beta), window_length, periodic, dtype, device, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", _blackman, window_length, periodic, dtype, device, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The triangle 1 - |2n / (N - 1) - 1|."""
    return _window("bartlett_window", _bartlett, window_length, periodic, dtype, device, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """i0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / i0(beta)."""
    return _window("kaiser_window", _kaiser(beta), window_length, periodic, dtype, device, requires_grad)


FUNCTIONS = {fn.__name__: fn for fn in (hann_window, hamming_window, blackman_window, bartlett_window,
                                        kaiser_window)}
TAKES_OUT: set[str] = set()
