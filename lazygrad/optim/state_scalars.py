"""0-dim state tensors (step counts, running products, step sizes) whose values an update needs as numbers.

torch's CPU optimizers keep these as tensors (state dicts hold them) and read them with ``.item()``. Outside a
compiled step's trace this optimizer wrote each of them last, so it knows the value on the host: the update uses
Python numbers, which enter the program as inputs, and nothing is read back. Inside a trace
(``lazygrad.compile``) the value is the tensor itself, in float64, so the replay computes it in the program.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import capture, dtypes
from ..arithmetic import where as select
from ..creation import tensor
from ..ir import Node
from ..tensor import Tensor

Scalar = Any  # a Python float on the host, a float64 0-dim tensor inside a trace


class StateScalars:
    """The host copies of an optimizer's 0-dim state tensors, each valid while the tensor holds the node this
    optimizer gave it (a tensor written by anyone else, a loaded state dict say, is read once)."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[Node, float]] = {}

    def value(self, state: Tensor) -> Scalar:
        """``state``'s value as the update reads it."""
        if capture.current() is not None:
            return state.to(dtypes.float64)
        known = self._known.get(id(state))
        return known[1] if known is not None and known[0] is state.node else state.item()

    def write(self, state: Tensor, new: Scalar) -> Scalar:
        """Write ``new`` into ``state`` (rounded to its dtype, as a tensor write rounds) and return it as read."""
        if isinstance(new, Tensor):
            state.copy_(new)
            return state.to(dtypes.float64)
        new = rounded(new, state.dtype)
        state.fill_(new)
        self._known[id(state)] = (state.node, new)
        return new

    def count(self, step: Tensor) -> Scalar:
        """Add one to a step count and return the new count."""
        return self.write(step, self.value(step) + 1)


def rounded(value: Scalar, dtype: Any) -> Scalar:
    """``value`` rounded to ``dtype`` (float32 or float64), still a number or a float64 tensor."""
    if isinstance(value, Tensor):
        return value.to(dtype).to(dtypes.float64)
    return float(np.asarray(value, dtype=np.float32)) if dtype == dtypes.float32 else float(value)


def where(condition: Any, yes: Scalar, no: Scalar) -> Scalar:
    """A choice between two scalars: a Python ``if`` on the host, a select inside a trace."""
    if isinstance(condition, Tensor):
        return select(condition, yes, no)
    return yes if condition else no


def step_tensor(state: dict[str, Any]) -> Tensor:
    """``state["step"]``, a tensor again if a state dict loaded it as a number."""
    if not isinstance(state["step"], Tensor):
        state["step"] = tensor(float(state["step"]))
    return state["step"]
