"""Why a program missed the cache: the nearest cached program and what differs from it.

A structural cache only pays off when programs repeat, and an accidental difference (a shape that
drifts, a Python number baked in as a constant) silently recompiles every step. With ``LAZYGRAD_DEBUG=1``
each compile logs this explanation, so such a difference shows up by name. It runs on misses only.
"""

from __future__ import annotations

from collections.abc import Iterable

from .program import Instr, Program

SHOWN = 5  # differences spelled out per message; the count covers all of them


def _instr_difference(i: int, old: Instr, new: Instr) -> str | None:
    if old.op != new.op:
        return f"instruction {i} op {old.op} -> {new.op}"
    for field in ("args", "params", "shape"):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            return f"instruction {i} ({new.op}) {field} {before} -> {after}"
    if old.dtype is not new.dtype:
        return f"instruction {i} ({new.op}) dtype {old.dtype.name} -> {new.dtype.name}"
    return None


def differences(old: Program, new: Program) -> list[str]:
    """Every place where ``new`` differs from ``old``, in program order, as readable phrases."""
    found: list[str] = []
    if len(old.inputs) != len(new.inputs):
        found.append(f"input count {len(old.inputs)} -> {len(new.inputs)}")
    for k, ((old_shape, old_dtype), (new_shape, new_dtype)) in enumerate(zip(old.inputs, new.inputs)):
        if old_shape != new_shape:
            found.append(f"input {k} shape {old_shape} -> {new_shape}")
        if old_dtype is not new_dtype:
            found.append(f"input {k} dtype {old_dtype.name} -> {new_dtype.name}")
    if len(old.instrs) != len(new.instrs):
        found.append(f"instruction count {len(old.instrs)} -> {len(new.instrs)}")
    for i, (a, b) in enumerate(zip(old.instrs, new.instrs)):
        if (phrase := _instr_difference(i, a, b)) is not None:
            found.append(phrase)
    if old.outputs != new.outputs:
        found.append(f"outputs {list(old.outputs)} -> {list(new.outputs)}")
    if old.host_scalars != new.host_scalars:
        found.append(f"Python-number inputs {list(old.host_scalars)} -> {list(new.host_scalars)}")
    return found


def explain(new: Program, cached: Iterable[Program]) -> str:
    """One line naming what separates ``new`` from the most similar of ``cached``."""
    size = f"{len(new.inputs)} inputs, {len(new.instrs)} instructions, {len(new.outputs)} outputs"
    best: list[str] | None = None
    for program in cached:
        found = differences(program, new)
        if best is None or len(found) < len(best):
            best = found
    if best is None:
        return f"compiling a program ({size}): no cached program to compare with"
    shown = "; ".join(best[:SHOWN]) + ("; ..." if len(best) > SHOWN else "")
    return f"compiling a program ({size}): the nearest cached program differs in {len(best)} places: {shown}"
