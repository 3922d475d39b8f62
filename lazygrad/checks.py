"""Runtime checks: errors that depend on values the graph has not computed yet.

An index or divisor that is still pending cannot be judged when the op is called. The op then routes it
through a ``check`` node: the value passes unchanged, and a bool condition of its shape is verified when
the program runs. The node's parameter says what to raise (torch's exception type and message), so
programs that differ only in index values share one compile; the user's line that built the node rides
along outside the cache key. A backend reports a failed check as :class:`CheckFailed`; realization turns
it into torch's error for the tensors that depend on the check and still computes every other tensor.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from .ir import Node, apply, is_computed, toposort
from .ops import const

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


@dataclass(frozen=True)
class Check:
    """A check's static parameter: the exception torch raises, its message ("{}" takes the first bad value)
    and the op that asked."""

    error: type[Exception]
    message: str
    op: str
    # Where the user called the op. Left out of equality, so the same structure built on another line or
    # in the next step is the same program and finds the same compiled executable.
    origin: str = field(default="", compare=False, repr=False)

    def __repr__(self) -> str:
        return f"{self.op}: {self.error.__name__}({self.message!r})"


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a matrix a factorization or solve cannot handle (singular, not
    positive-definite), found when the program runs."""


class CheckFailed(Exception):
    """A backend's report to realization (never seen by users): the ``ordinal``-th check of the program, in
    program order, failed at ``value``."""

    def __init__(self, ordinal: int, value: int) -> None:
        super().__init__(ordinal, value)
        self.ordinal = ordinal
        self.value = value


def _user_line() -> str:
    """``file:line`` of the innermost caller outside lazygrad: the line the user wrote."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "<unknown>"


def guard(x: Node, ok: Node, error: type[Exception], message: str, op: str) -> Node:
    """``x``, verified to satisfy ``ok`` (bool, ``x``'s shape) when it is computed; else torch's ``error``."""
    if 0 in x.shape:
        return x
    return apply("check", (x, ok), (Check(error, message, op, _user_line()),))


def in_range(x: Node, low: int, high: int) -> Node:
    """``low <= x < high`` elementwise."""
    above = apply("ge", (x, const(low, x.dtype)))
    return apply("and", (above, apply("lt", (x, const(high, x.dtype)))))


def nonzero(x: Node) -> Node:
    return apply("ne", (x, const(0, x.dtype)))


def failed_node(roots: Sequence[Node], ordinal: int) -> Node:
    """The check node a backend reported, numbered as ``linearize`` orders instructions (by serial).

    The passes keep every check and their order (they never merge or drop one), so the ordinal a
    backend counts in the compiled program is the ordinal in the graph.
    """
    found = [n for n in toposort(roots, stop=is_computed) if n.op == "check" and n.buffer is None]
    found.sort(key=attrgetter("serial"))
    return found[ordinal]


def error(node: Node, value: int) -> Exception:
    """torch's exception for ``node``'s failed check, with the user's line that asked for the op."""
    check: Check = node.params[0]
    text = check.message.format(value) if "{}" in check.message or "{0}" in check.message else check.message
    return check.error(f"{text}\n  (from {check.op} at {check.origin}; the value was checked when it was computed)")
