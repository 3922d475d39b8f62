"""Graph passes over a linearized program: plain functions from Program to Program.

They run only when a program is compiled (a cache miss), never on the per-step path, and they keep
the program's inputs and the order of its outputs, so the caller's buffers still line up.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .primitives import check_covers
from .program import Instr, Program

# Elementwise arithmetic evaluated on constants at compile time; anything else is left to the backend.
_FOLD: dict[str, Callable] = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum,
}


def _rebuild(program: Program, keep: list[Instr | None], remap: list[int]) -> Program:
    """Drop instructions marked ``None`` and renumber references through ``remap``."""
    new_index: list[int] = []
    instrs: list[Instr] = []
    for ins in keep:
        if ins is None:
            new_index.append(-1)
            continue
        new_index.append(len(instrs))
        instrs.append(ins)

    def resolve(ref: int) -> int:
        target = remap[ref] if ref >= 0 else ref
        return new_index[target] if target >= 0 else target

    instrs = [ins._replace(args=tuple(resolve(a) for a in ins.args)) for ins in instrs]
    return program._replace(instrs=tuple(instrs), outputs=tuple(resolve(o) for o in program.outputs))


def eliminate_common_subexpressions(program: Program) -> Program:
    """Merge instructions that apply the same primitive to the same arguments with the same parameters."""
    seen: dict[tuple, int] = {}
    remap: list[int] = []
    keep: list[Instr | None] = []
    for i, ins in enumerate(program.instrs):
        args = tuple(remap[a] if a >= 0 else a for a in ins.args)
        ins = ins._replace(args=args)
        key = (ins.op, args, ins.params, ins.shape, ins.dtype)
        # Checks are never merged: a backend reports a failed one by its position among the checks of the graph.
        if ins.op != "check" and key in seen:
            remap.append(seen[key])
            keep.append(None)
            continue
        seen[key] = i
        remap.append(i)
        keep.append(ins)
    return _rebuild(program, keep, remap)


def fold_constants(program: Program) -> Program:
    """Evaluate elementwise arithmetic whose arguments are all scalar constants."""
    instrs = list(program.instrs)
    for i, ins in enumerate(instrs):
        fn = _FOLD.get(ins.op)
        if fn is None or ins.shape != () or not ins.args:
            continue
        if all(a >= 0 and instrs[a].op == "const" for a in ins.args):
            values = [np.asarray(instrs[a].params[0], dtype=ins.dtype.np) for a in ins.args]
            with np.errstate(all="ignore"):
                value = fn(*values).item()
            if isinstance(value, float) and math.isnan(value):
                value = math.nan
            instrs[i] = Instr("const", (), (value, ins.dtype), (), ins.dtype)
    return eliminate_dead_code(program._replace(instrs=tuple(instrs)))


# Shape primitives that carry a constant's value unchanged to every element of their result.
_SPREADS = ("reshape", "broadcast")


def _ones(instrs: tuple[Instr, ...]) -> list[bool]:
    """Which instructions are a constant 1, reshaped or broadcast any way."""
    ones: list[bool] = []
    for ins in instrs:
        if ins.op == "const":
            ones.append(ins.params[0] == 1 and type(ins.params[0]) is not bool)
        else:
            ones.append(ins.op in _SPREADS and ins.args[0] >= 0 and ones[ins.args[0]])
    return ones


def drop_unit_products(program: Program) -> Program:
    """Replace ``x * 1`` by ``x`` when the product has ``x``'s shape and dtype.

    Multiplying by one is exact in every dtype (signed zeros, infinities and NaNs included), so this
    changes no bit of any result. Backward passes make many: the seed of ``loss.backward()`` is a
    broadcast 1 that the first VJP rules multiply with.
    """
    ones = _ones(program.instrs)
    if not any(ones):
        return program
    remap: list[int] = []
    keep: list[Instr | None] = []
    for i, ins in enumerate(program.instrs):
        if ins.op == "mul":
            args = [remap[a] if a >= 0 else a for a in ins.args]
            for unit, other in ((args[0], args[1]), (args[1], args[0])):
                # ``other`` an instruction, never an input: no output may become one of the caller's buffers
                if unit >= 0 and ones[unit] and other >= 0 and program.instrs[other][3:] == (ins.shape, ins.dtype):
                    remap.append(other)
                    keep.append(None)
                    break
            else:
                remap.append(i)
                keep.append(ins)
            continue
        remap.append(i)
        keep.append(ins)
    return _rebuild(program, keep, remap)


# For each comparison, the comparisons of the same two arguments that hold wherever it holds (NaN fails every
# ordering and passes "ne", so it keeps each implication).
_IMPLIES = {"lt": ("lt", "le", "ne"), "gt": ("gt", "ge", "ne"), "eq": ("eq", "le", "ge"),
            "le": ("le",), "ge": ("ge",), "ne": ("ne",)}


def drop_implied_selects(program: Program) -> Program:
    """Replace ``select(p, select(q, a, x), x)`` by the inner select when ``q`` implies ``p``.

    Where ``p`` fails both give ``x``; where it holds the outer one takes the inner one's value, which is ``x``
    wherever ``q`` fails: the same bits everywhere. ReLU builds one in every forward pass: its value zeroes
    ``x < 0`` (torch keeps -0) and its gradient passes where ``x > 0``, through an outer select on ``x <= 0``
    whose true branch is the inner one with its gradient stopped. The inner one is found through such stops.
    """
    instrs = program.instrs
    remap: list[int] = []
    keep: list[Instr | None] = []
    for i, ins in enumerate(instrs):
        inner = _implied_select(instrs, ins)
        if inner is not None and instrs[inner][3:] == ins[3:]:
            remap.append(remap[inner])
            keep.append(None)
        else:
            remap.append(i)
            keep.append(ins)
    return _rebuild(program, keep, remap) if None in keep else program


def _implied_select(instrs: tuple[Instr, ...], ins: Instr) -> int | None:
    """The inner select that ``ins`` (a select) repeats, per ``drop_implied_selects``, or None."""
    if ins.op != "select" or min(ins.args) < 0:
        return None
    outer_pred, inner, on_false = ins.args
    while instrs[inner].op == "stop_gradient" and instrs[inner].args[0] >= 0:
        inner = instrs[inner].args[0]
    nested = instrs[inner]
    if nested.op != "select" or nested.args[2] != on_false or nested.args[0] < 0:
        return None
    p, q = instrs[outer_pred], instrs[nested.args[0]]
    return inner if p.args == q.args and p.op in _IMPLIES.get(q.op, ()) else None


def eliminate_dead_code(program: Program) -> Program:
    """Drop instructions no output depends on."""
    live = [False] * len(program.instrs)
    for out in program.outputs:
        if out >= 0:
            live[out] = True
    for i in range(len(program.instrs) - 1, -1, -1):
        if live[i]:
            for a in program.instrs[i].args:
                if a >= 0:
                    live[a] = True
    keep = [ins if alive else None for ins, alive in zip(program.instrs, live)]
    return _rebuild(program, keep, list(range(len(program.instrs))))


def optimize(program: Program) -> Program:
    """The default pipeline run before a backend compiles a program."""
    merged = eliminate_common_subexpressions(program)
    return eliminate_dead_code(drop_implied_selects(drop_unit_products(fold_constants(merged))))


check_covers(_FOLD, "the constant folder", set(_FOLD))
