"""``torch.jit``: TorchScript's entry points as older programs call them.

A lazygrad program is already compiled as a whole from its graph, so scripting or tracing has nothing to add:
``script`` and ``trace`` return what they are given, and the decorators leave functions as they are. Saving a
scripted program for another runtime is TorchScript's own format, which lazygrad does not write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    return func


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """``@torch.jit.ignore`` or ``@torch.jit.ignore(drop=True)``: the function itself."""
    return drop if callable(drop) else (lambda fn: fn)


def unused(fn: F) -> F:
    return fn


def export(fn: F) -> F:
    return fn


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    return the_value


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    raise NotImplementedError("torch.jit.save writes TorchScript, which lazygrad does not produce: save the "
                              "state_dict with torch.save instead")


def load(f: Any, map_location: Any = None, _extra_files: Any = None) -> Any:
    raise NotImplementedError("torch.jit.load reads TorchScript, which lazygrad does not run: load a state_dict "
                              "saved with torch.save instead")
