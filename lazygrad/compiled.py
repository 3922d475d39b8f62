"""``lazygrad.compile``: trace a step once, then replay its program without running the Python again.

Each call signature (argument shapes, dtypes, ``requires_grad``, Python types, grad mode, backend) is
handled in three stages. The first call runs the function as it is: a warm-up in which optimizers create
their state. The second runs it under a trace (``capture``): auto step boundaries are off, so the whole
call (forward, ``backward()``, ``optimizer.step()``, ``zero_grad()``, in-place updates) becomes one
program, and a snapshot of every live tensor before and after tells where each program input came from
(an argument, a tensor's current buffer, a number derived from an argument, a parameter group or a
random generator) and what each output rebinds (a tensor, a storage, a ``.grad``, a returned value).
Later calls whose guards hold gather those inputs, run the cached executable and bind its outputs:
no node is built, no backward pass walked, no program linearized.

What the trace cannot replay makes that signature run uncompiled, counted in ``graph_breaks`` and
explained under ``LAZYGRAD_DEBUG``: a read of a value inside the function (``.item()``, ``bool()``,
printing; with ``fullgraph=True`` it raises instead), a tensor made inside and kept elsewhere, a returned
tensor whose autograd graph is still unused, Python-number state that the call changes (a module
attribute, an optimizer's int step count).
"""

from __future__ import annotations

import functools
import gc
import logging
import sys
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import capture, dtypes, metrics, realization, views
from .dtypes import DType
from .grad_mode import _state as _grad_state
from .ir import Node, cut
from .nn.module import Module
from .optim.optimizer import Optimizer
from .program import linearize
from .tensor import Tensor, _fresh, _wrap
from .trees import flatten, unflatten

log = logging.getLogger("lazygrad")

_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_PLAIN = (int, float, bool, str, type(None))
_MISS = object()
_PLANS_PER_SIGNATURE = 8  # train/eval, grad modes, ...: the variants a signature keeps replayable


def compile(model: Any = None, *, fullgraph: bool = False, dynamic: bool | None = None, mode: str | None = None,
            backend: str | None = None, options: dict | None = None, name: str | None = None, disable: bool = False,
            recompile_limit: int | None = None, isolate_recompiles: bool = False, shapes_spec: Any = None) -> Any:
    """Compile a function or module: later calls replay one cached program (PyTorch's ``torch.compile``).

    ``options``, ``name``, ``recompile_limit``, ``isolate_recompiles`` and ``shapes_spec`` tune torch's own
    compiler; they are accepted so that torch programs run, and change nothing here.
    """
    if mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(map(str, _MODES[1:]))}")
    if model is None:  # used as ``@compile(fullgraph=True)``
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, mode=mode, backend=backend,
                                 options=options, disable=disable)
    if not callable(model):
        raise RuntimeError("compile() expects a callable or an nn.Module")
    if disable or backend == "eager":
        return model
    compiled = CompiledFunction(model, fullgraph, dynamic, backend if backend in ("numpy", "jax") else None)
    return OptimizedModule(model, compiled) if isinstance(model, Module) else compiled


class OptimizedModule(Module):
    """A module whose calls are compiled; everything else is the wrapped module's (``_orig_mod``)."""

    def __init__(self, mod: Module, compiled: CompiledFunction) -> None:
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = compiled

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["_compiled"](*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)


class CompiledFunction:
    """The callable ``compile`` returns for a function: per call signature, a warm-up, a trace, replays."""

    def __init__(self, fn: Callable, fullgraph: bool, dynamic: bool | None, backend: str | None) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._fullgraph = fullgraph
        # Float arguments are symbolic unless dynamic=False. Int arguments are part of the signature, as torch
        # specializes them: ``1.5 ** n`` runs float's own arithmetic on an int subclass, which no symbol survives.
        self._symbolic = dynamic is not False
        self._backend = backend
        self._entries: dict[tuple, _Entry] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._backend is not None and self._backend != realization._backend_name:
            with realization.use_backend(self._backend):
                return self._call(args, kwargs)
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict) -> Any:
        leaves: list[Any] = []
        tree = flatten((args, kwargs), leaves)
        key = (tree, tuple(map(self._describe, leaves)), _grad_state.enabled, realization._backend_name)
        entry = self._entries.get(key)
        if entry is None:
            if self._entries and realization._debugging():
                log.debug("compile: %s: a new call signature: %s", self._fn.__qualname__, _signature_change(
                    key, self._entries))
            entry = self._entries[key] = _Entry()
        if entry.eager is not None:
            metrics.bump("graph_breaks")
            return self._fn(*args, **kwargs)
        failed = None
        for plan in entry.plans:
            result = plan.replay(leaves)
            if result is not _MISS:
                return result
            failed = plan.failed
        if not entry.warm:
            entry.warm = True
            entry.numbers = capture.record_numbers()
            try:
                return self._fn(*args, **kwargs)
            finally:
                capture.stop_numbers()
        if failed is not None and realization._debugging():
            log.debug("compile: %s: retracing: %s", self._fn.__qualname__, failed)
        return self._trace(entry, leaves, tree)

    def _describe(self, value: Any) -> Any:
        kind = type(value)
        if isinstance(value, Tensor):
            return (kind, value.node.shape, value.node.dtype, value._requires_grad)
        if kind is float and self._symbolic:
            return kind
        try:
            hash(value)
        except TypeError:
            return (kind, id(value))
        return (kind, value)

    def _trace(self, entry: _Entry, leaves: list[Any], tree: Any) -> Any:
        metrics.bump("traces")
        realization.realize(t for t in leaves if isinstance(t, Tensor))  # the call starts from computed values
        before = _Snapshot()
        trace = capture.Trace(self._fullgraph, realization._user_frame)
        traced = [capture.SymFloat(v, ("arg", i)) if type(v) is float and self._symbolic else v
                  for i, v in enumerate(leaves)]
        args, kwargs = unflatten(tree, iter(traced))
        numbers = capture.record_numbers()
        capture.begin(trace)
        try:
            with realization.auto_step(False):
                result = self._fn(*args, **kwargs)
        finally:
            capture.end()
            capture.stop_numbers()
        reason = (trace.broken and f"{trace.broken[0]} at {metrics.site(trace.broken[1])}") or \
            capture.changed_number(entry.numbers, numbers)
        plan = None
        if not reason:
            plan, reason = _build(trace, before, leaves, result)
        if plan is None:
            metrics.bump("graph_breaks")
            realization.realize(why="lazygrad.compile fallback")
            if realization._debugging():
                log.debug("compile: %s runs uncompiled for this call signature: %s", self._fn.__qualname__, reason)
            if not reason.startswith(_RETRYABLE):
                entry.eager = reason
            return result
        entry.plans.insert(0, plan)
        del entry.plans[_PLANS_PER_SIGNATURE:]
        return plan.result


class _Entry:
    __slots__ = ("eager", "numbers", "plans", "warm")

    def __init__(self) -> None:
        self.warm = False
        self.numbers: list | None = None  # the plain numbers of the warm-up call, compared with the trace's
        self.plans: list[_Plan] = []
        self.eager: str | None = None


# ---- explaining a new signature -------------------------------------------------------------------------


def _signature_change(key: tuple, entries: dict) -> str:
    """What differs from the most recent signature, in words (for LAZYGRAD_DEBUG)."""
    last = list(entries)[-1]
    if key[2] != last[2]:
        return f"grad mode is {'on' if key[2] else 'off'}"
    if key[3] != last[3]:
        return f"backend {key[3]!r}"
    for i, (new, old) in enumerate(zip(key[1], last[1])):
        if new != old:
            return f"argument {i} was {_words(old)}, now {_words(new)}"
    return "the arguments' structure changed"


def _words(description: Any) -> str:
    if type(description) is tuple and description[0] is not None and issubclass(description[0], Tensor):
        _, shape, dtype, grad = description
        return f"a {dtype.name}{list(shape)} tensor{' requiring grad' if grad else ''}"
    return repr(description[1]) if type(description) is tuple else description.__name__



# ---- what the trace saw: the live objects before and after the call ------------------------------------


def _module_state(module: Module) -> tuple:
    """What a replay relies on a module keeping: its flags and numbers, and which tensors it holds."""
    return (tuple((k, v) for k, v in module.__dict__.items() if type(v) in _PLAIN),
            tuple(map(id, module._parameters.values())), tuple(map(id, module._buffers.values())))


def _optimizer_state(optimizer: Optimizer) -> tuple:
    return (id(optimizer.state), tuple((id(p), k, v if type(v) in _PLAIN else id(v))
                                       for p, s in optimizer.state.items() for k, v in s.items()))


class _Snapshot:
    """Every live tensor with its node, gradient and record; every module's and optimizer's state."""

    def __init__(self) -> None:
        self.tensors: dict[int, tuple[Tensor, Node, Any, Any]] = {}
        self.modules: dict[int, tuple[Module, tuple]] = {}
        self.optimizers: dict[int, tuple[Optimizer, tuple]] = {}
        self.storages: dict[int, Node] = {}  # id(storage) -> its node
        for obj in gc.get_objects():
            kind = _kind(type(obj))
            if kind is Tensor:
                self.tensors[id(obj)] = (obj, obj.node, obj._grad, obj.grad_fn)
                if obj._view is not None:
                    self.storages[id(obj._view.storage)] = obj._view.storage.node
            # A module or optimizer whose __init__ raised can still be alive (in a traceback): it lacks its
            # state, and no call can use it.
            elif kind is Module and "_parameters" in obj.__dict__:
                self.modules[id(obj)] = (obj, _module_state(obj))
            elif kind is Optimizer and "state" in obj.__dict__:
                self.optimizers[id(obj)] = (obj, _optimizer_state(obj))


@functools.cache
def _kind(cls: type) -> type | None:
    """Which of the classes a trace looks for ``cls`` is (by type: ``isinstance`` would run foreign hooks)."""
    return next((base for base in (Tensor, Module, Optimizer) if issubclass(cls, base)), None)


_RETRYABLE = "a tensor made inside"


def _build(trace: capture.Trace, before: _Snapshot, leaves: list[Any], result: Any) -> tuple[_Plan | None, str]:
    """Run the traced call's work as one program and keep how to replay it; or say why it cannot be."""
    for module, state in before.modules.values():
        if _module_state(module) != state:
            return None, f"the call changed a Python attribute of {type(module).__name__}"
    for optimizer, state in before.optimizers.values():
        if _optimizer_state(optimizer) != state:
            return None, f"{type(optimizer).__name__} keeps Python-number state that the call changed"
    outputs: list[Any] = []
    out_tree = flatten(result, outputs)
    roots: dict[int, tuple[int, Node]] = {}

    def root(node: Node) -> int:
        return roots.setdefault(id(node), (len(roots), node))[0]

    known = before.tensors
    arg_index = {id(t): i for i, t in enumerate(leaves) if isinstance(t, Tensor)}

    def target(t: Tensor) -> Any:
        """How a replay finds ``t``: the argument in its place, else the very tensor."""
        return arg_index[id(t)] if id(t) in arg_index else weakref.ref(t)

    binds: list[tuple[Any, int]] = []
    grads: list[tuple[Any, str, Any]] = []
    new: dict[int, Tensor] = {}  # tensors made by the call that a replay makes anew
    storages: dict[int, Any] = {}
    for t, node, grad, record in known.values():
        if t.grad_fn is not record or (t.node is not node and t.grad_fn is not None):
            return None, "the call recorded autograd history on a tensor that outlives it"
        if t._view is not None:
            storages[id(t._view.storage)] = t._view.storage
        if t.node is not node:
            binds.append((target(t), root(t.node)))
        if t._grad is not grad:
            g = t._grad
            if g is None:
                grads.append((target(t), "none", None))
            elif id(g) in known:
                grads.append((target(t), "same", target(g)))
            else:
                new[id(g)] = g
                grads.append((target(t), "new", id(g)))
    storage_binds = [(s, root(s.node)) for key, s in storages.items() if before.storages.get(key) is not s.node]
    out_spec: list[tuple] = []
    for value in outputs:
        if isinstance(value, Tensor):
            if id(value) in arg_index:
                out_spec.append(("arg", arg_index[id(value)]))
            elif id(value) in known:
                out_spec.append(("tensor", weakref.ref(value)))
            else:
                record = value.grad_fn
                if record is not None and record.out is not None:
                    return None, ("it returns a tensor whose autograd graph is still unused; call backward() inside "
                                  "the compiled function")
                new[id(value)] = value
                out_spec.append(("new", id(value)))
        elif isinstance(value, capture.SYMBOLIC):
            out_spec.append(("sym", value.expr))
        else:
            out_spec.append(("value", value))
    for t in new.values():
        if t._view is not None or (t.grad_fn is None and t._requires_grad):
            return None, "it returns a view of another tensor or a leaf requiring grad"
    escaped = _escaped(known, new)
    if escaped:
        return None, f"a tensor made inside the function ({escaped}) is kept elsewhere, out of the replay's reach"
    made = {key: (root(t.node), type(t.grad_fn) if t.grad_fn is not None else None) for key, t in new.items()}
    nodes = [node for _, node in sorted(roots.values(), key=lambda r: r[0])]
    program, buffers = linearize(nodes, share_numbers=False)
    try:
        exe = realization.executable(program)
        results = exe(buffers)
    except Exception as error:
        return None, f"its program could not run as one ({error})"
    metrics.bump("executions")
    for node, out in zip(nodes, results):
        if node.buffer is None:
            node.buffer = out
        cut(node)
    sources = _sources(buffers, program, leaves, known, trace)
    guards = list(trace.guards) + _baked(program)
    plan = _Plan(program, exe, sources, binds, storage_binds, grads, made, out_spec, out_tree, guards, trace)
    plan.shared = _shared_inputs(buffers, known)
    plan.result = plan.bind(results, leaves)
    return plan, ""


def _escaped(known: dict, new: dict) -> str:
    """A tensor the call made and left reachable from somewhere a replay does not rebind, if any."""
    def stray() -> list[Tensor]:
        return [o for o in gc.get_objects()
                if _kind(type(o)) is Tensor and id(o) not in known and id(o) not in new]
    found = stray()
    if found:
        gc.collect()
        found = stray()
    return "" if not found else f"a {found[0].dtype.name}{list(found[0].shape)} tensor"


def _sources(buffers: list[Any], program: Any, leaves: list[Any], known: dict, trace: capture.Trace) -> list[tuple]:
    """Where each program input comes from on a replay."""
    by_arg = {}
    for i, t in enumerate(leaves):
        if isinstance(t, Tensor):
            by_arg.setdefault(id(t.node.buffer), i)
    by_buffer: dict[int, Tensor] = {}
    for t, node, *_ in known.values():
        if node.buffer is not None and (id(node.buffer) not in by_buffer or t._view is None):
            by_buffer[id(node.buffer)] = t
    sources = []
    for k, buffer in enumerate(buffers):
        key = id(buffer)
        if key in by_arg:
            sources.append(("arg", by_arg[key]))
        elif key in trace.scalars:
            sources.append(("sym", trace.scalars[key][1].expr, program.inputs[k][1]))
        elif key in trace.drawn:
            sources.append(("draw", trace.drawn[key]))
        elif key in by_buffer:
            sources.append(("tensor", weakref.ref(by_buffer[key])))
        else:  # made inside the call from constants: the same value every time
            sources.append(("const", buffer))
    return sources


def _shared_inputs(buffers: list[Any], known: dict) -> list[tuple[weakref.ref, ...]]:
    """Tensors that held one program input when traced (``b.copy_(a)`` leaves ``b`` on ``a``'s value): the
    program reads that input once for all of them, which stays right only while they still share a value."""
    inputs = {id(buffer) for buffer in buffers}
    groups: dict[int, list[Tensor]] = {}
    for t, node, *_ in known.values():
        if t._view is None and node.buffer is not None and id(node.buffer) in inputs:
            groups.setdefault(id(node.buffer), []).append(t)
    return [tuple(weakref.ref(t) for t in group) for group in groups.values() if len(group) > 1]


def _same_value(tensors: list[Tensor | None]) -> bool:
    """Whether the tensors still hold one value: one node, or one computed buffer."""
    keys = {id(t.node.buffer if t.node.buffer is not None else t.node) for t in tensors if t is not None}
    return None not in tensors and len(keys) == 1


def _baked(program: Any) -> list[tuple]:
    """Guards for symbolic numbers that became part of the program's structure (a static parameter)."""
    found: list[tuple] = []

    def scan(value: Any) -> None:
        if isinstance(value, capture.SYMBOLIC):
            found.append((value.expr, value._plain()))
        elif type(value) is tuple:
            for v in value:
                scan(v)
    for ins in program.instrs:
        scan(ins.params)
    return found


# ---- replaying ------------------------------------------------------------------------------------------


def _leaf(buffer: Any, shape: tuple, dtype: DType) -> Node:
    """A computed value's node, made without a serial number: a replay builds no graph."""
    node = Node.__new__(Node)
    node.op, node.args, node.params, node.shape, node.dtype, node.buffer, node.serial = \
        "buffer", (), (), shape, dtype, buffer, 0
    return node


def _host_number(value: Any, dtype: DType) -> np.ndarray:
    """A Python number as a program input, converted exactly as ``ops.scalar`` converts it."""
    return np.asarray(np.float32(value) if dtype in dtypes.HALF else value, dtype=dtype.np)


class _Plan:
    """One traced call: its executable, where inputs come from, what outputs rebind, and its guards."""

    def __init__(self, program: Any, exe: Any, sources: list[tuple], binds: list, storage_binds: list, grads: list,
                 made: dict, out_spec: list, out_tree: Any, guards: list, trace: capture.Trace) -> None:
        self.program = program
        self.specs = [_spec(program, j) for j in range(len(program.outputs))]
        self.exes: dict[tuple[int, ...], Any] = {(): exe}
        self.sources = sources
        self.binds = binds
        self.storage_binds = storage_binds
        self.grads = grads
        self.made = made
        self.out_spec = out_spec
        self.out_tree = out_tree
        self.guards = guards
        self.draws = [(weakref.ref(g), make) for g, make in trace.draws]
        self.modules = [(weakref.ref(m), _module_state(m)) for m in trace.modules.values()]
        self.optimizers = [(weakref.ref(o), _optimizer_state(o)) for o in trace.optimizers.values()]
        self.failed = ""
        self.result: Any = None
        self.shared: list[tuple[weakref.ref, ...]] = []
        rebound = {id(r()) for r, _ in binds if type(r) is not int}
        backend = realization.backend()
        # Inputs a step overwrites and nothing else reads: their old buffers may be given to the program.
        self.donatable = tuple(k for k, s in enumerate(sources) if s[0] == "tensor" and id(s[1]()) in rebound
                               and s[1]()._view is None) if getattr(backend, "donates", False) else ()

    def _miss(self, why: str) -> Any:
        self.failed = why
        return _MISS

    def replay(self, leaves: list[Any]) -> Any:
        for ref, state in self.modules:
            module = ref()
            if module is None or _module_state(module) != state:
                return self._miss(f"{type(module).__name__ if module else 'a module'} changed "
                                  "(train/eval, an attribute, or a parameter or buffer replaced)")
        for ref, state in self.optimizers:
            optimizer = ref()
            if optimizer is None or _optimizer_state(optimizer) != state:
                return self._miss("an optimizer's state was replaced")
        try:
            for expr, value in self.guards:
                now = capture.evaluate(expr, leaves)
                if now != value:
                    return self._miss(f"a Python number the trace depended on was {value!r}, now {now!r}")
        except (capture.Stale, IndexError) as error:
            return self._miss(str(error) or "a random draw decided the trace's path")
        if not all(_same_value([ref() for ref in group]) for group in self.shared):
            return self._miss("tensors that shared a value when traced (one copied from the other) now differ")
        holders = []
        for source in self.sources:
            if source[0] == "tensor":
                t = source[1]()
                if t is None:
                    return self._miss("a tensor the trace read is gone")
                holders.append(t)
            elif source[0] == "arg":
                holders.append(leaves[source[1]])
        pending = [t for t in holders if t.node.buffer is None]
        for t in pending:
            if not t.requires_grad:  # a minibatch sliced from a computed dataset: computed on the host, no program
                realization.settle(t.node)
        if any(t.node.buffer is None for t in pending):
            realization.realize(t for t in pending if t.node.buffer is None)
        generators = [g() for g, _ in self.draws]
        if any(g is None for g in generators):
            return self._miss("a random generator the trace drew from is gone")
        try:
            draws = [make(g._stream) for g, (_, make) in zip(generators, self.draws)]
            buffers = [self._input(source, leaves, draws) for source in self.sources]
        except capture.Stale as error:
            return self._miss(str(error))
        exe = self._executable(buffers)
        del holders
        outputs = exe(buffers)
        metrics.bump("executions")
        metrics.bump("replays")
        return self.bind(outputs, leaves)

    def _input(self, source: tuple, leaves: list[Any], draws: list[np.ndarray]) -> Any:
        kind = source[0]
        if kind == "tensor":
            return source[1]().node.buffer
        if kind == "arg":
            return leaves[source[1]].node.buffer
        if kind == "sym":
            return _host_number(capture.evaluate(source[1], leaves), source[2])
        if kind == "draw":
            return realization.from_numpy(draws[source[1]])
        return source[1]

    def _executable(self, buffers: list[Any]) -> Any:
        """The executable donating every overwritten input that nothing else holds now."""
        # A buffer held only by its tensor's node and by ``buffers`` (plus getrefcount's argument).
        donate = tuple(k for k in self.donatable if sys.getrefcount(buffers[k]) <= 4)
        exe = self.exes.get(donate)
        if exe is None:
            exe = self.exes[donate] = realization.backend().compile(self.program, donate=donate)
            metrics.bump("compiles")
        return exe

    def bind(self, outputs: list[Any], leaves: list[Any]) -> Any:
        """Rebind what the call rebinds to the program's outputs, and build its return value."""
        nodes: dict[int, Node] = {}

        def node(j: int) -> Node:
            found = nodes.get(j)
            if found is None:
                shape, dtype = self.specs[j]
                found = nodes[j] = _leaf(outputs[j], shape, dtype)
            return found

        bound: dict[int, Tensor] = {}
        for ref, j in self.binds:
            t = leaves[ref] if type(ref) is int else ref()
            if t is not None:
                t.node = node(j)
                bound[id(t)] = t
        written = {}
        for storage, j in self.storage_binds:
            storage.node = node(j)
            written[id(storage)] = storage
        for t in bound.values():  # a tensor that has gained aliases since the trace writes through its storage
            view = t._view
            if view is not None and not view.steps and id(view.storage) not in written:
                view.storage.node = t.node
                written[id(view.storage)] = view.storage
        for storage in written.values():
            for r in storage.readers:  # readers made since the trace follow the new value, as after a write
                reader = r()
                if reader is not None and id(reader) not in bound:
                    steps = reader._view.steps
                    reader.node = views.replay(steps, storage.node) if steps else _fresh(storage.node)
                    if reader.node.buffer is None:
                        realization.track(reader)
        made: dict[int, Tensor] = {}

        def fresh(key: int) -> Tensor:
            t = made.get(key)
            if t is None:
                j, record = self.made[key]
                t = made[key] = _wrap(node(j))
                if record is not None:  # its graph was used up by backward() inside the call, as it is now
                    t.grad_fn = record.__new__(record)
                    t.grad_fn.out = t.grad_fn.inputs = None
                    t.grad_fn.edges, t.grad_fn.tensor_hooks, t.grad_fn.attached = (), None, None
                    t._requires_grad = True
            return t

        for ref, kind, payload in self.grads:
            t = leaves[ref] if type(ref) is int else ref()
            if t is not None:
                if kind == "same":
                    t._grad = leaves[payload] if type(payload) is int else payload()
                else:
                    t._grad = None if kind == "none" else fresh(payload)
        values = []
        for kind, payload in self.out_spec:
            if kind == "new":
                values.append(fresh(payload))
            elif kind == "arg":
                values.append(leaves[payload])
            elif kind == "tensor":
                values.append(payload())
            elif kind == "sym":
                values.append(capture.evaluate(payload, leaves))
            else:
                values.append(payload)
        return unflatten(self.out_tree, iter(values))


def _spec(program: Any, j: int) -> tuple:
    ref = program.outputs[j]
    if ref < 0:
        return program.inputs[-ref - 1]
    ins = program.instrs[ref]
    return ins.shape, ins.dtype

