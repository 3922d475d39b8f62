"""A realizable slice of the graph, flattened into a straight-line program that is its own cache key.

Values are referred to by integers: instruction ``i`` produces value ``i``; input ``k`` (a node that
already holds a buffer) is ``-k - 1``. The program records shapes, dtypes and static parameters but
never a buffer's contents, so equal programs run the same compiled executable on new data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from .dtypes import DType
from .ir import Node, Shape, is_computed, toposort


class Instr(NamedTuple):
    op: str
    args: tuple[int, ...]
    params: tuple
    shape: Shape
    dtype: DType


class Program(NamedTuple):
    inputs: tuple[tuple[Shape, DType], ...]
    instrs: tuple[Instr, ...]
    outputs: tuple[int, ...]

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


def linearize(roots: Sequence[Node]) -> tuple[Program, list[Any]]:
    """The program computing ``roots`` from the buffers below them, and those buffers in input order."""
    ref: dict[int, int] = {}
    inputs: list[tuple[Shape, DType]] = []
    buffers: list[Any] = []
    instrs: list[Instr] = []
    for node in toposort(roots, stop=is_computed):
        if node.buffer is not None:
            inputs.append((node.shape, node.dtype))
            buffers.append(node.buffer)
            ref[id(node)] = -len(inputs)
        else:
            ref[id(node)] = len(instrs)
            instrs.append(Instr(node.op, tuple([ref[id(a)] for a in node.args]), node.params, node.shape,
                                node.dtype))
    program = Program(tuple(inputs), tuple(instrs), tuple([ref[id(r)] for r in roots]))
    return program, buffers
