"""What a compiled function's trace records while it runs: symbolic numbers, guards, reads and modules.

``lazygrad.compile`` runs the user's function once more under a ``Trace``. Python numbers that vary from
call to call (arguments, optimizer hyper-parameters) enter it as ``SymFloat``/``SymInt``: they
behave as the number they hold, and remember how that number was derived, so a replay can derive the new
value and pass it to the program as an input. When Python tests one (compares it, branches on it) the
trace guards on the test's outcome; when it inspects one otherwise (formats it, turns it into a plain number)
the trace guards on its value. A replay where a guard no longer holds traces again. This module sits below
the Tensor: ``ops.scalar``, ``realize`` and a few callers report to it, and it imports none of them.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import Any

# An expression: ("arg", i) | ("group", group_dict, key) | ("item", group_dict, key, index)
# | (operator, expr_or_number, ...).
Expr = tuple


class _Local(threading.local):
    trace: Trace | None = None
    numbers: list | None = None  # the Python numbers entering the graph during a warm-up or a trace


_local = _Local()


class GraphBreak(RuntimeError):
    """A compiled function read a tensor's value while ``fullgraph=True`` asked for one program."""


class Trace:
    """The record of one traced call: which numbers were symbolic, which were inspected, what was read."""

    def __init__(self, fullgraph: bool, where: Callable[[], tuple[str, int]]) -> None:
        self.fullgraph = fullgraph
        self.where = where
        self.scalars: dict[int, tuple[Any, Any]] = {}  # id(host buffer) -> (buffer, symbolic number)
        self.guards: list[tuple[Expr, Any]] = []  # (expression, the value it had)
        self.draws: list[tuple[Any, Callable]] = []  # (generator, how it drew) per random draw, in order
        self.drawn: dict[int, int] = {}  # id(drawn buffer) -> its index in draws
        self.modules: dict[int, Any] = {}
        self.optimizers: dict[int, Any] = {}
        self.broken: tuple[str, tuple[str, int]] | None = None


def current() -> Trace | None:
    return _local.trace


def begin(trace: Trace) -> None:
    _local.trace = trace


def end() -> None:
    _local.trace = None


def record_numbers() -> list:
    """Start listing the Python numbers that enter the graph, in order (see ``changed_number``)."""
    _local.numbers = []
    return _local.numbers


def stop_numbers() -> None:
    _local.numbers = None


def note_number(value: Any) -> None:
    numbers = _local.numbers
    if numbers is not None:
        numbers.append(value)


def changed_number(warm: list | None, traced: list) -> str:
    """Why the trace cannot be replayed, if a plain number differs between the warm-up and the trace.

    Such a number comes from state the trace cannot see (a global, an attribute), so a replay would reuse its
    old value. Only a number that changes between those two calls is caught; the docs say so.
    """
    if warm is None or len(warm) != len(traced):  # different work (optimizer state created): not comparable
        return ""
    for before, now in zip(warm, traced):
        if not isinstance(now, SYMBOLIC) and before != now:
            return (f"a Python number changed between calls ({before!r}, then {now!r}) and comes from neither an "
                    "argument nor a param_group, so a replay would reuse its old value")
    return ""


def note_scalar(buffer: Any, value: Any) -> None:
    """``ops.scalar`` made ``buffer`` from a symbolic number: the program input it becomes has a source."""
    trace = _local.trace
    if trace is not None:
        trace.scalars[id(buffer)] = (buffer, value)


def read(why: str) -> None:
    """A value is being read (or computed) inside the traced function: split the capture, or refuse."""
    trace = _local.trace
    if trace is None:
        return
    where = trace.where()
    if trace.fullgraph:
        raise GraphBreak(f"lazygrad.compile(fullgraph=True): {why} at {where[0]}:{where[1]} needs a tensor's value "
                         "inside the compiled function, which would split it into several programs")
    trace.broken = (why, where)
    end()  # the rest of the call runs as it would without compile


def note_module(module: Any) -> None:
    trace = _local.trace
    if trace is not None:
        trace.modules.setdefault(id(module), module)


def note_optimizer(optimizer: Any) -> None:
    trace = _local.trace
    if trace is not None:
        trace.optimizers.setdefault(id(optimizer), optimizer)


def note_draw(buffer: Any, generator: Any, make: Callable) -> None:
    """A random draw made during a trace: a replay draws again with ``make``, in the same order, so the
    generator moves as an uncompiled call moves it."""
    trace = _local.trace
    if trace is not None:
        trace.drawn[id(buffer)] = len(trace.draws)
        trace.draws.append((generator, make))


def tag_group(group: dict[str, Any]) -> dict[str, Any]:
    """An optimizer's parameter group whose numbers read as symbolic, so that a learning rate set by a
    scheduler (or by hand) flows into the program as an input."""
    if _local.trace is None:
        return group
    tagged = dict(group)
    for key, value in group.items():
        if type(value) in _SYMBOLIC:
            tagged[key] = _SYMBOLIC[type(value)](value, ("group", group, key))
        elif type(value) is tuple and all(type(v) in _SYMBOLIC for v in value):
            tagged[key] = tuple(_SYMBOLIC[type(v)](v, ("item", group, key, i)) for i, v in enumerate(value))
    return tagged


# ---- evaluating expressions on a replay ------------------------------------------------------------------


class Stale(Exception):
    """A source no longer holds a number (a group's value became a tensor, say): trace again."""


def evaluate(expr: Any, args: list[Any]) -> Any:
    """The value ``expr`` has now, computed with Python's own arithmetic, as the uncompiled call would."""
    if type(expr) is not tuple:
        return expr
    head = expr[0]
    if head == "arg":
        return args[expr[1]]
    if head == "group":
        value = expr[1][expr[2]]
    elif head == "item":
        value = expr[1][expr[2]][expr[3]]
    else:
        return head(*(evaluate(e, args) for e in expr[1:]))
    if type(value) not in _SYMBOLIC:
        raise Stale(f"param_group[{expr[2]!r}] is no longer a Python number")
    return value


def expression(value: Any) -> Any:
    """How a number operand is recorded: its expression if symbolic, else the number itself."""
    return value.expr if isinstance(value, _Sym) else value


# ---- symbolic numbers ----------------------------------------------------------------------------------


class _Sym:
    """Mixed into float and int: arithmetic stays symbolic; inspection guards on the value."""

    expr: Expr

    def _guard(self) -> None:
        trace = _local.trace
        if trace is not None:
            trace.guards.append((self.expr, self._plain()))


def _arithmetic(op: Callable[[Any, Any], Any], base: type, reverse: bool) -> Callable[[Any, Any], Any]:
    method = getattr(base, f"__{'r' if reverse else ''}{op.__name__.strip('_')}__")

    def symbolic(self: Any, other: Any) -> Any:
        result = method(self, other)
        if result is NotImplemented and type(other) in _SYMBOLIC:  # int with float: Python's mixed arithmetic
            plain = other._plain() if isinstance(other, _Sym) else other
            result = op(plain, self._plain()) if reverse else op(self._plain(), plain)
        kind = _SYMBOLIC.get(type(result)) if result is not NotImplemented else None
        if kind is None:
            return result
        operands = (expression(other), self.expr) if reverse else (self.expr, expression(other))
        return kind(result, (op, *operands))
    return symbolic


def _unary(op: Callable[[Any], Any], base: type) -> Callable[[Any], Any]:
    method = getattr(base, f"__{op.__name__.strip('_')}__")

    def symbolic(self: Any) -> Any:
        result = method(self)
        return _SYMBOLIC[type(result)](result, (op, self.expr))
    return symbolic


def _inspecting(name: str, base: type) -> Callable[..., Any]:
    method = getattr(base, name)

    def inspected(self: Any, *args: Any) -> Any:
        self._guard()
        return method(self._plain(), *args)
    return inspected


def _testing(test: Callable[..., Any]) -> Callable[..., Any]:
    """A comparison or truth test guards on its outcome, not on the number: ``alpha != 1`` or ``lr > 0`` holds
    for every learning rate a schedule sets, so a replay with a new rate still matches the trace. A test whose
    outcome is not a bool (against a tensor) guards on the number, as any other inspection."""

    def tested(self: Any, *other: Any) -> Any:
        outcome = test(self._plain(), *(o._plain() if isinstance(o, _Sym) else o for o in other))
        trace = _local.trace
        if trace is not None and type(outcome) is bool:
            trace.guards.append(((test, self.expr, *map(expression, other)), outcome))
        else:
            self._guard()
        return outcome
    return tested


_BINARY = (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
           operator.pow)
_UNARY = (operator.neg, operator.pos, operator.abs)
_TESTS = {"__eq__": operator.eq, "__ne__": operator.ne, "__lt__": operator.lt, "__le__": operator.le,
          "__gt__": operator.gt, "__ge__": operator.ge, "__bool__": operator.truth}
_INSPECTIONS = ("__hash__", "__int__",
                "__float__", "__round__", "__trunc__", "__floor__", "__ceil__", "__format__", "__repr__",
                "__str__", "__divmod__", "__rdivmod__", "is_integer", "as_integer_ratio", "hex", "bit_length")


def _symbolic_class(base: type) -> type:
    namespace: dict[str, Any] = {
        "__new__": lambda cls, value, expr: _new_sym(cls, base, value, expr),
        "_plain": (lambda self: float.__float__(self)) if base is float else (lambda self: int.__int__(self)),
        "__reduce__": lambda self: (base, (self._plain(),)),
    }
    for op in _BINARY:
        name = op.__name__.strip("_")
        namespace[f"__{name}__"] = _arithmetic(op, base, False)
        namespace[f"__r{name}__"] = _arithmetic(op, base, True)
    for op in _UNARY:
        namespace[f"__{op.__name__.strip('_')}__"] = _unary(op, base)
    for name, test in _TESTS.items():
        namespace[name] = _testing(test)
    for name in _INSPECTIONS:
        if hasattr(base, name):
            namespace[name] = _inspecting(name, base)
    if base is int:
        namespace["__index__"] = _inspecting("__index__", int)
    return type(f"Sym{base.__name__.capitalize()}", (_Sym, base), namespace)


def _new_sym(cls: type, base: type, value: Any, expr: Expr) -> Any:
    self = base.__new__(cls, value)
    self.expr = expr
    return self


SymFloat = _symbolic_class(float)
SymInt = _symbolic_class(int)
_SYMBOLIC: dict[type, type] = {float: SymFloat, int: SymInt, SymFloat: SymFloat, SymInt: SymInt}
SYMBOLIC = (SymFloat, SymInt)
