"""Why a program missed the cache, said in the user's terms: which tensor changed, or which line's op.

A structural cache only pays off when programs repeat, and an accidental difference (a shape that
drifts, a Python int used as a slice bound) silently recompiles every step. With ``LAZYGRAD_DEBUG=1``
each compile logs what separates the new program from the most similar cached one: the input tensor
that changed (named by the user's line that created it) and which dimension or dtype, or the first op
that differs (named by the user's line that built it).

Those lines come from side tables filled only while debugging: the first line each tensor was seen at
(when ``realize.track`` registers its pending node), the line that made each buffer from user data,
and the line that built each tracked node. Tensors and buffers are keyed weakly, so the tables never
keep data alive; nodes (which take no weak references) are keyed by serial number in a bounded table.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from .dtypes import DType
from .ir import Node, Shape
from .metrics import site
from .program import Instr, Program, pending_nodes

Site = tuple[str, int]  # a user's file and line

# ---- where tensors, buffers and nodes were made (filled only with LAZYGRAD_DEBUG on) -----------------------

_tensor_sites: dict[int, tuple[weakref.ref, Site]] = {}
_buffer_sites: dict[int, tuple[weakref.ref, Site]] = {}
_node_sites: dict[int, Site] = {}  # serial -> the line that built the node
NODE_SITES = 1 << 18  # past this many, the oldest half is forgotten (they are long computed)


def _remember(table: dict[int, tuple[weakref.ref, Site]], obj: Any, where: Site) -> None:
    """Keep the first line ``obj`` was seen at, for as long as ``obj`` lives."""
    key = id(obj)
    if key in table:
        return
    try:
        ref = weakref.ref(obj, lambda _, key=key: table.pop(key, None))
    except TypeError:  # an object without weak references cannot be named safely by its id
        return
    table[key] = (ref, where)


def _recall(table: dict[int, tuple[weakref.ref, Site]], obj: Any) -> Site | None:
    entry = table.get(id(obj))
    return entry[1] if entry is not None and entry[0]() is obj else None


def note_tensor(holder: Any, where: Site) -> None:
    """A tensor got a pending node at the user's line ``where``."""
    _remember(_tensor_sites, holder, where)
    _node_sites[holder.node.serial] = where
    if len(_node_sites) > NODE_SITES:
        for serial in list(itertools.islice(_node_sites, NODE_SITES // 2)):
            del _node_sites[serial]


def note_buffer(buffer: Any, where: Site) -> None:
    """User data became ``buffer`` at the user's line ``where``."""
    _remember(_buffer_sites, buffer, where)


def note_results(holders: Iterable[Any]) -> None:
    """After a realization, each new buffer is named by the line that created its tensor."""
    for holder in holders:
        where = _recall(_tensor_sites, holder)
        if where is not None and holder.node.buffer is not None:
            note_buffer(holder.node.buffer, where)


def input_sites(buffers: Sequence[Any]) -> list[Site | None]:
    """The creation line of each program input's tensor, where one is known."""
    return [_recall(_buffer_sites, b) for b in buffers]


def instruction_sites(roots: Sequence[Node]) -> list[Site | None]:
    """The user's line behind each instruction of the program ``linearize(roots)`` makes.

    Instructions are the pending nodes in serial order, as ``program.linearize`` numbers them. A node built
    inside a composite op (log_softmax, a backward pass) has no line of its own: it takes the line of the
    next node that has one, which is the op's result, built last.
    """
    sites: list[Site | None] = [_node_sites.get(n.serial) for n in pending_nodes(roots)]
    later = None
    for i in range(len(sites) - 1, -1, -1):
        if sites[i] is None:
            sites[i] = later
        else:
            later = sites[i]
    return sites


# ---- comparing programs ------------------------------------------------------------------------------------


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


def _change(before: tuple[Shape, DType], after: tuple[Shape, DType]) -> str:
    """``changed dimension 0 128 -> 64 (shape (128, 784) -> (64, 784))``, or the dtype that changed."""
    (old_shape, old_dtype), (new_shape, new_dtype) = before, after
    parts = []
    if old_shape != new_shape:
        if len(old_shape) == len(new_shape):
            dims = [f"dimension {d} {a} -> {b}" for d, (a, b) in enumerate(zip(old_shape, new_shape)) if a != b]
            parts.append(f"{', '.join(dims)} (shape {old_shape} -> {new_shape})")
        else:
            parts.append(f"shape {old_shape} -> {new_shape}")
    if old_dtype is not new_dtype:
        parts.append(f"dtype {old_dtype.name} -> {new_dtype.name}")
    return "changed " + " and ".join(parts)


def _input(k: int, program: Program, sites: Sequence[Site | None]) -> str:
    where = sites[k] if k < len(sites) else None
    if where is not None:
        return f"input {k}, the tensor created at {site(where)},"
    return f"input {k} (a Python number)" if k in program.host_scalars else f"input {k}"


def _instr(i: int, program: Program, sites: Sequence[Site | None]) -> str:
    where = sites[i] if i < len(sites) else None
    return f"instruction {i} ({program.instrs[i].op}{f', built at {site(where)}' if where else ''})"


def _cause(old: Program, new: Program, inputs: Sequence[Site | None], instrs: Sequence[Site | None]) -> str:
    """The difference a user would look for first: the op sequence if it differs, else the input that changed."""
    for i, (a, b) in enumerate(zip(old.instrs, new.instrs)):
        if a.op != b.op:
            where = instrs[i] if i < len(instrs) else None
            return (f"no cached program has this op sequence: instruction {i} is {b.op}"
                    f"{f' (built at {site(where)})' if where else ''}, where the nearest cached program has {a.op}")
        if a.args != b.args:
            return f"{_instr(i, new, instrs)} reads other values than in the cached program (the data flow differs)"
    common = min(len(old.instrs), len(new.instrs))
    if len(new.instrs) > common:
        return (f"the program goes on where the cached one ends: {_instr(common, new, instrs)} and "
                f"{len(new.instrs) - common - 1} more instructions are new")
    if len(old.instrs) > common:
        return f"the program stops at instruction {common}, where the cached one goes on with {old.instrs[common].op}"
    if len(old.inputs) != len(new.inputs):
        return f"input count {len(old.inputs)} -> {len(new.inputs)}"
    for k, (before, after) in enumerate(zip(old.inputs, new.inputs)):
        if before != after:
            return f"{_input(k, new, inputs)} {_change(before, after)}"
    for i, (a, b) in enumerate(zip(old.instrs, new.instrs)):
        if a.params != b.params:
            return (f"{_instr(i, new, instrs)} changed static parameters {a.params} -> {b.params}; such "
                    "parameters (shapes, sizes, steps and axes given as Python ints) are part of the program, so "
                    "each new value compiles once")
        if a != b:
            return f"{_instr(i, new, instrs)} {_change((a.shape, a.dtype), (b.shape, b.dtype))}"
    if old.outputs != new.outputs:
        return f"it returns other values: outputs {list(old.outputs)} -> {list(new.outputs)}"
    return f"other inputs are Python numbers: {list(old.host_scalars)} -> {list(new.host_scalars)}"


def explain(new: Program, cached: Iterable[Program], inputs: Sequence[Site | None] = (),
            instrs: Sequence[Site | None] = ()) -> str:
    """One line naming what separates ``new`` from the most similar of ``cached``.

    ``inputs`` and ``instrs`` are the user's lines behind ``new``'s inputs and instructions, where known.
    """
    size = f"{len(new.inputs)} inputs, {len(new.instrs)} instructions, {len(new.outputs)} outputs"
    nearest: Program | None = None
    best: list[str] = []
    best_rank = (0, 0)
    for program in cached:
        found = differences(program, new)
        # Nearest: the same op sequence first (a changed shape is likelier than a changed program), then fewest
        # differences.
        ops_apart = sum(a.op != b.op for a, b in zip(program.instrs, new.instrs))
        rank = (ops_apart + abs(len(program.instrs) - len(new.instrs)), len(found))
        if nearest is None or rank < best_rank:
            nearest, best, best_rank = program, found, rank
    if nearest is None:
        return f"compiling a program ({size}): no cached program to compare with"
    more = f" (the first of {len(best)} differences)" if len(best) > 1 else ""
    return f"compiling a program ({size}): {_cause(nearest, new, inputs, instrs)}{more}"
