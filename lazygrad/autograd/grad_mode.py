"""``torch.autograd.grad_mode``: the grad-mode switches (the same objects as ``lazygrad.no_grad`` and its kin)
and the backward-threading switch.

lazygrad's backward only builds graph on the calling thread, so the threading switch changes nothing it does;
it keeps its thread-local flag so programs that set and read it run unchanged.
"""

from __future__ import annotations

import threading

from ..grad_mode import _GradModeContext, enable_grad, inference_mode, no_grad, set_grad_enabled


class _Threading(threading.local):
    enabled = True


_threading = _Threading()


def is_multithreading_enabled() -> bool:
    """Whether backward may run on worker threads (torch's default, True)."""
    return _threading.enabled


def is_view_replay_enabled() -> bool:
    """Whether views are replayed instead of taken as strided views: never, in lazygrad (views are graph ops)."""
    return False


class set_multithreading_enabled(_GradModeContext):
    """Set the backward-threading flag: at once as a call, or for a block as a context manager. As a decorator
    it also sets the flag at once (and leaves it set), as torch's does."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = _threading.enabled
        _threading.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _threading.enabled = self.prev

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)

    def _init_args(self) -> tuple:
        return (self.mode,)


__all__ = ["enable_grad", "inference_mode", "is_multithreading_enabled", "is_view_replay_enabled", "no_grad",
           "set_grad_enabled", "set_multithreading_enabled"]
