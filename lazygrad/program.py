"""A realizable slice of the graph, flattened into a straight-line program that is its own cache key.

Values are referred to by integers: instruction ``i`` produces value ``i``; input ``k`` (a node that
already holds a buffer) is ``-k - 1``. The program records shapes, dtypes and static parameters but
never a buffer's contents, so equal programs run the same compiled executable on new data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np

from .dtypes import DType
from .ir import Node, Shape


class Instr(NamedTuple):
    op: str
    args: tuple[int, ...]
    params: tuple
    shape: Shape
    dtype: DType


_serial = attrgetter("serial")


class Program(NamedTuple):
    inputs: tuple[tuple[Shape, DType], ...]
    instrs: tuple[Instr, ...]
    outputs: tuple[int, ...]
    # Inputs that are 0-d host arrays (Python numbers): a backend may pass them packed in one array
    # rather than one transfer each, which matters when a step has hundreds of them.
    host_scalars: tuple[int, ...] = ()
    # Per output, the layout a caller asked for (a backend's sharding object) or None: empty unless some
    # output must land in a given layout over several devices (lazygrad.distributed's placements).
    layouts: tuple = ()

    def describe(self) -> str:
        """A readable listing, one line per value (for debugging and the docs)."""
        lines = [f"in{k}: {dtype.name}{list(shape)}" for k, (shape, dtype) in enumerate(self.inputs)]
        for i, ins in enumerate(self.instrs):
            args = ", ".join(f"in{-a - 1}" if a < 0 else f"%{a}" for a in ins.args)
            params = ", ".join(map(repr, ins.params))
            lines.append(f"%{i} = {ins.op}({args}{'; ' + params if params else ''}) -> "
                         f"{ins.dtype.name}{list(ins.shape)}")
        lines.append("return " + ", ".join(f"in{-o - 1}" if o < 0 else f"%{o}" for o in self.outputs))
        return "\n".join(lines)


def pending_nodes(roots: Sequence[Node]) -> list[Node]:
    """The nodes without a buffer that ``roots`` need, in serial (creation, hence execution) order."""
    seen: set[Node] = set()  # nodes hash by identity
    add = seen.add
    pending: list[Node] = []
    stack = list(roots)
    pop, extend, append = stack.pop, stack.extend, pending.append
    while stack:
        node = pop()
        if node not in seen:
            add(node)
            if node.buffer is None:
                append(node)
                extend(node.args)
    pending.sort(key=_serial)
    return pending


def linearize(roots: Sequence[Node], share_numbers: bool = True,
              settle: Callable[[list[Node]], bool] | None = None) -> tuple[Program, list[Any]]:
    """The program computing ``roots`` from the buffers below them, and those buffers in input order.

    Nodes are numbered as they are created and arguments always exist before their users, so sorting
    the pending nodes by serial number orders them for execution without a second graph walk. Inputs
    are numbered by first use, not by when their buffers were made, so a training loop whose parameters
    were rebound in another order after the first step still produces the same program. A compiled function
    (``lazygrad.compile``) keeps every number its own input (``share_numbers=False``): it refills them one
    by one from where each came from, and two equal numbers today may differ tomorrow. ``settle`` may give
    pending nodes their values before the program is made (says whether it gave any): the roots it gave one are
    no outputs.
    """
    pending = pending_nodes(roots)
    if settle is not None and settle(pending):
        pending = [node for node in pending if node.buffer is None]
        roots = [node for node in roots if node.buffer is None]
    if not share_numbers:
        return _flatten(pending, roots, False, None)[:2]
    size = len(pending)
    if size in _shared_at:  # a loop repeats its step: a program of this size shared its numbers last time
        program, buffers, numbers = _flatten(pending, roots, True, None)
        if numbers > MANY_NUMBERS:
            return program, buffers
        _shared_at.discard(size)
        return _flatten(pending, roots, False, None)[:2]
    try:
        return _flatten(pending, roots, False, MANY_NUMBERS)[:2]
    except _ManyNumbers:
        if len(_shared_at) > 1024:
            _shared_at.clear()
        _shared_at.add(size)
        return _flatten(pending, roots, True, None)[:2]


# A program with more Python numbers than this passes equal floats as one input. A chain of ``x * 0.5`` or an
# optimizer's betas repeated per parameter would otherwise give hundreds of inputs, and XLA's compile time
# and memory grow fast with them. Integers stay one input each: they are mostly positions of windows
# (``vec[0, argmax(vec)]``), which vary with the data, and sharing equal ones would make the program's
# structure depend on the data. Small programs keep one input per number, so a value that happens to equal
# another (a learning rate decayed to 0) never changes their structure; which inputs are shared is part of
# the program, so it stays a structural key either way.
MANY_NUMBERS = 64


class _ManyNumbers(Exception):
    """Raised by ``_flatten`` when a program turns out to hold more than ``MANY_NUMBERS`` numbers."""


# Sizes (pending nodes) of the last programs that shared their numbers: such a program is flattened sharing at
# once, so a training step with hundreds of numbers (an optimizer's constants per parameter) is flattened once,
# not once to find out and once more. Only a guess: the pass checks it and redoes the work when it was wrong.
_shared_at: set[int] = set()


def _flatten(pending: list[Node], roots: Sequence[Node], share: bool,
             limit: int | None) -> tuple[Program, list[Any], int]:
    """``linearize``'s one pass, over plain lists and one dict (it runs at every realization), also giving how many
    numbers (distinct nodes) it met. With ``share``, equal floats (same dtype and bytes) become one input;
    without it, the pass stops at ``limit`` numbers."""
    ref: dict[Node, int] = {}
    numbers: dict[tuple[DType, bytes], int] = {}
    inputs: list[tuple[Shape, DType]] = []
    buffers: list[Any] = []
    host_scalars: list[int] = []
    met = [0]  # numbers met, shared or not
    get, ndarray = ref.get, np.ndarray

    def refs(nodes: Sequence[Node]) -> tuple[int, ...]:
        out = []
        for a in nodes:
            r = get(a)
            if r is None:
                buffer = a.buffer
                if not a.shape and type(buffer) is ndarray:
                    met[0] += 1
                    if share:
                        if a.dtype.is_floating_point:
                            key = (a.dtype, buffer.tobytes())
                            r = numbers.get(key)
                            if r is not None:
                                ref[a] = r
                                out.append(r)
                                continue
                            numbers[key] = -len(inputs) - 1
                    elif len(host_scalars) == limit:
                        raise _ManyNumbers
                    host_scalars.append(len(inputs))
                inputs.append((a.shape, a.dtype))
                buffers.append(buffer)
                r = ref[a] = -len(inputs)
            out.append(r)
        return tuple(out)

    instrs = []
    for i, node in enumerate(pending):
        # Most arguments are numbered already (earlier instructions, inputs met before): one lookup per argument
        # at C speed; ``refs`` numbers the new inputs. tuple.__new__ rather than Instr._make: the same tuple
        # without a Python-level call per instruction.
        args = tuple(map(get, node.args))
        if None in args:
            args = refs(node.args)
        instrs.append(_new_tuple(Instr, (node.op, args, node.params, node.shape, node.dtype)))
        ref[node] = i
    outputs = refs(roots)
    return Program(tuple(inputs), tuple(instrs), outputs, tuple(host_scalars)), buffers, met[0]


_new_tuple = tuple.__new__
