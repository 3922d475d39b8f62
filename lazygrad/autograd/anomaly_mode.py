"""``detect_anomaly`` and ``set_detect_anomaly``: torch's switches for anomaly mode, as context managers and
decorators, with torch's warning and its ``is_anomaly_enabled`` flags.

Anomaly mode here records the setting only: lazygrad's backward builds the gradient graph without computing it,
so there is no value to check for NaN when each backward function runs (and no forward traceback to keep).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any


class _State(threading.local):
    enabled = False
    check_nan = True


_state = _State()


def is_anomaly_enabled() -> bool:
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _state.check_nan


class set_detect_anomaly:
    """Set anomaly mode: at once as a call, or for a block as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = (_state.enabled, _state.check_nan)
        _state.enabled, _state.check_nan = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _state.enabled, _state.check_nan = self._previous


class detect_anomaly:
    """Anomaly mode on inside a block (or a decorated function), with torch's warning on entering."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self._previous = (_state.enabled, _state.check_nan)
        _state.enabled, _state.check_nan = True, self.check_nan

    def __exit__(self, *exc: object) -> None:
        _state.enabled, _state.check_nan = self._previous

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)
        return wrapper
