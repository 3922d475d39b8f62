"""Whether operations record autograd history: thread-local, as in torch."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True
    inference = False


_state = _State()
# The tensors whose memory was made inside ``inference_mode`` (and their views), torch's inference tensors, by
# id: a tensor's ``==`` is elementwise, so tensors cannot be keys compared by value.
inference_tensors: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def is_grad_enabled() -> bool:
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    return _state.inference


def is_inference(input: object) -> bool:
    """Whether ``input`` is an inference tensor: made inside ``inference_mode``, or a view of one."""
    return inference_tensors.get(id(input)) is input


class _GradModeContext:
    """Base for the grad-mode switches: usable as ``with`` blocks and as function decorators."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._previous

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(*self._init_args()):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def _init_args(self) -> tuple:
        return ()


class no_grad(_GradModeContext):
    """Operations inside build no autograd history (for updates and evaluation)."""

    mode = False


class enable_grad(_GradModeContext):
    """Turn history recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """Set the grad mode: takes effect at once as a call, or for a block as a context manager."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = _state.enabled
        _state.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: F) -> F:
        _state.enabled = self._previous  # used as a decorator: the mode applies only inside calls
        return super().__call__(fn)

    def _init_args(self) -> tuple:
        return (self.mode,)


class inference_mode(no_grad):
    """``no_grad`` that also marks the tensors it makes as inference tensors (``is_inference()``), as torch's
    does; lazygrad keeps no extra autograd bookkeeping to switch off."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def __enter__(self) -> None:
        super().__enter__()
        self._previous_inference = _state.inference
        _state.inference = not self.mode

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        _state.inference = self._previous_inference

    def _init_args(self) -> tuple:
        return (not self.mode,)
