"""``torch.utils.checkpoint``: activation checkpointing, which here is the plain call.

torch frees a checkpointed segment's activations after the forward and recomputes them during the backward,
trading compute for memory. A lazy program already decides which values it keeps, so the segment simply runs:
values and gradients are torch's, and so are the random draws (torch replays the segment's draws in the
backward from saved generator state and leaves the generator where the forward left it). What remains visible
is kept: the warnings, the keyword checks, and the reentrant variant's outputs that take no gradient when no
input requires one (the parameters inside then get none either, as in torch).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..grad_mode import no_grad
from ..tensor import Tensor

_EXPLICIT = ("{}: the use_reentrant parameter should be passed explicitly. {} use_reentrant=False is recommended, but "
             "if you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs "
             "for more details on the differences between the two variants.")


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    return contextlib.nullcontext(), contextlib.nullcontext()


def check_backward_validity(inputs: Sequence[Any]) -> None:
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=3)


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable[..., Any] = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, with torch's checks of the checkpoint options."""
    if use_reentrant is None:
        warnings.warn(_EXPLICIT.format("torch.utils.checkpoint", "Starting in PyTorch 2.9, calling checkpoint "
                                       "without use_reentrant will raise an exception."), stacklevel=2)
        use_reentrant = True
    kwargs.pop("preserve_rng_state", None)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if not use_reentrant:
        with context_fn()[0]:
            return function(*args, **kwargs)
    if context_fn is not noop_context_fn or debug is not False:
        raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    check_backward_validity(args)
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        with no_grad():
            return function(*args)
    return function(*args)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """The modules (or functions) applied in turn, every segment but the last one checkpointed."""
    if use_reentrant is None:
        warnings.warn(_EXPLICIT.format("torch.utils.checkpoint.checkpoint_sequential", "In version 2.9 we will raise "
                                       "an exception if use_reentrant is not passed."), stacklevel=2)
        use_reentrant = True
    kwargs.pop("preserve_rng_state", None)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)

    def run(segment: list[Any]) -> Callable[[Any], Any]:
        def forward(value: Any) -> Any:
            for f in segment:
                value = f(value)
            return value
        return forward

    size = len(functions) // segments
    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(run(functions[start:end]), input, use_reentrant=use_reentrant)
    return run(functions[end:])(input)
