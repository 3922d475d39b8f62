"""Process-wide settings programs set at their start: thread counts, float32 matmul precision, deterministic
algorithms. torch's spellings and checks; lazygrad records them and reports them back.

Their effect differs from torch's where lazygrad's design already decides: a program's kernels are the backend's
(numpy's BLAS threads are fixed when it loads; XLA picks its own), matmuls on the CPU run in float32 whatever the
precision asked, and every lazygrad kernel is deterministic, so none is refused or warned about.
"""

from __future__ import annotations

import os
import warnings

__all__ = ["are_deterministic_algorithms_enabled", "get_float32_matmul_precision", "get_num_interop_threads",
           "get_num_threads", "is_deterministic_algorithms_warn_only_enabled", "set_float32_matmul_precision",
           "set_num_interop_threads", "set_num_threads", "use_deterministic_algorithms"]

_threads = {"intra": os.cpu_count() or 1, "interop": os.cpu_count() or 1}
_state = {"matmul_precision": "highest", "deterministic": False, "warn_only": False}
_PRECISIONS = ("highest", "high", "medium")


def _positive(value: int, name: str) -> int:
    if type(value) is not int:
        raise RuntimeError(f"{name} expects an int, but got {type(value).__name__}")
    if value < 1:
        raise RuntimeError(f"{name} expects a positive integer")
    return value


def set_num_threads(num: int) -> None:
    _threads["intra"] = _positive(num, "set_num_threads")


def get_num_threads() -> int:
    return _threads["intra"]


def set_num_interop_threads(num: int) -> None:
    _threads["interop"] = _positive(num, "set_num_interop_threads")


def get_num_interop_threads() -> int:
    return _threads["interop"]


def set_float32_matmul_precision(precision: str) -> None:
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    if type(mode) is not bool:
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]
