"""A realizable slice of the graph, flattened into a straight-line program that is its own cache key.

Values are referred to by integers: instruction ``i`` produces value ``i``; input ``k`` (a node that
already holds a buffer) is ``-k - 1``. The program records shapes, dtypes and static parameters but
never a buffer's contents, so equal programs run the same compiled executable on new data.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    pending: list[Node] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if node.buffer is None:
                pending.append(node)
                stack += node.args
    pending.sort(key=_serial)
    return pending


def linearize(roots: Sequence[Node], share_numbers: bool = True) -> tuple[Program, list[Any]]:
    """The program computing ``roots`` from the buffers below them, and those buffers in input order.

    Nodes are numbered as they are created and arguments always exist before their users, so sorting
    the pending nodes by serial number orders them for execution without a second graph walk. Inputs
    are numbered by first use, not by when their buffers were made, so a training loop whose parameters
    were rebound in another order after the first step still produces the same program. A compiled function
    (``lazygrad.compile``) keeps every number its own input (``share_numbers=False``): it refills them one
    by one from where each came from, and two equal numbers today may differ tomorrow.
    """
    pending = pending_nodes(roots)
    ref: dict[Node, int] = {}
    inputs: list[tuple[Shape, DType]] = []
    buffers: list[Any] = []
    host_scalars: list[int] = []

    def input_ref(node: Node) -> int:
        if not node.shape and type(node.buffer) is np.ndarray:
            host_scalars.append(len(inputs))
        inputs.append((node.shape, node.dtype))
        buffers.append(node.buffer)
        ref[node] = -len(inputs)
        return -len(inputs)

    instrs: list[Instr] = []
    make = Instr._make
    for node in pending:
        args = tuple([ref[a] if a in ref else input_ref(a) for a in node.args])
        ref[node] = len(instrs)
        instrs.append(make((node.op, args, node.params, node.shape, node.dtype)))
    outputs = tuple([ref[r] if r in ref else input_ref(r) for r in roots])
    program = Program(tuple(inputs), tuple(instrs), outputs, tuple(host_scalars))
    if share_numbers and len(host_scalars) > MANY_NUMBERS:
        return _share_equal_numbers(program, buffers)
    return program, buffers


# A program with more Python numbers than this passes equal ones as one input. A chain of ``x * 0.5`` or an
# optimizer's betas repeated per parameter would otherwise give hundreds of inputs, and XLA's compile time
# and memory grow fast with them. Small programs keep one input per number, so a value that happens to equal
# another (a learning rate decayed to 0) never changes their structure; which inputs are shared is part of
# the program, so it stays a structural key either way.
MANY_NUMBERS = 64


def _share_equal_numbers(program: Program, buffers: list[Any]) -> tuple[Program, list[Any]]:
    host = set(program.host_scalars)
    first: dict[tuple, int] = {}
    where: list[int] = []  # new position of each old input
    inputs: list[tuple[Shape, DType]] = []
    kept: list[Any] = []
    host_scalars: list[int] = []
    for k, (spec, buffer) in enumerate(zip(program.inputs, buffers)):
        key = (spec[1], buffer.tobytes()) if k in host else None
        if key is not None and key in first:
            where.append(first[key])
            continue
        if key is not None:
            first[key] = len(inputs)
            host_scalars.append(len(inputs))
        where.append(len(inputs))
        inputs.append(spec)
        kept.append(buffer)

    def moved(ref: int) -> int:
        return ref if ref >= 0 else -where[-ref - 1] - 1

    instrs = tuple(ins._replace(args=tuple(map(moved, ins.args))) for ins in program.instrs)
    outputs = tuple(map(moved, program.outputs))
    return Program(tuple(inputs), instrs, outputs, tuple(host_scalars)), kept
