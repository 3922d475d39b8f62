"""Realization: decide what to compute now, get a compiled program from the cache, run it, cut the graph.

When any value is needed, every live tensor with pending work is computed in the same program, the
way PyTorch/XLA syncs live tensors at a step boundary. A training step (forward, backward, update,
then ``loss.item()``) is therefore one backend program, and afterwards every tensor holds a plain
buffer, so the graph does not grow from step to step.

Realizing never rebinds a tensor: each computed node takes its buffer in place, and a node whose holder
has no autograd record is then cut (``ir.cut``) so that nothing it was computed from stays alive. So a
realization may happen between any two node builds, inside any op or from another thread, without
changing which graph an op is being built on. Tensors with a record keep their node's arguments, which
the backward pass walks (as torch keeps the tensors a graph saved).

Threads: each thread tracks the pending tensors it built and a realization computes its own thread's
(plus the tensors it reads), so independent models in independent threads run exactly the programs they
would run alone. Realization itself, the program cache and the metrics are shared and taken under one
re-entrant lock.

A buffer belongs to the backend that made it, and the buffer's class says which one that is (each
backend names its ``buffer_type``), so nothing extra is stored per tensor and the check costs one type
comparison per program input. 0-d host arrays (Python numbers entering as inputs) belong to no backend:
like torch's CPU scalars, every backend accepts them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

import numpy as np

from . import backends, capture, checks, host_read, ir, metrics, recompile, shared_memory
from .ir import Node, cut, is_computed, toposort
from .passes import optimize
from .program import Program, linearize

log = logging.getLogger("lazygrad")


def _positive_setting(name: str) -> int | None:
    """The environment variable ``name`` as a positive int, None when unset; anything else is refused."""
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {text!r}")
    return value


def _cache_size_setting() -> int | None:
    """``LAZYGRAD_CACHE_SIZE``, or None to use the backend's default."""
    return _positive_setting("LAZYGRAD_CACHE_SIZE")


CACHE_SIZE = _cache_size_setting()
# Programs kept per backend when LAZYGRAD_CACHE_SIZE is not set. A compiled XLA program keeps its machine code
# in many memory maps (thousands for a large one), so jax keeps far fewer than the numpy interpreter.
_DEFAULT_CACHE_SIZE = {"numpy": 512, "jax": 64}


def _map_limit() -> int | None:
    """How many memory maps the process may hold before cached programs are evicted: half of Linux's
    ``vm.max_map_count``, past which allocating code aborts the process. None where there is no such limit."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read()) // 2
    except (OSError, ValueError):
        return None


MAP_LIMIT = _map_limit()


def map_count() -> int:
    """The process's memory maps now (read on a compile only: it costs a few milliseconds at worst)."""
    with open("/proc/self/maps", "rb") as f:
        return f.read().count(b"\n")


def _debugging() -> bool:
    return os.environ.get("LAZYGRAD_DEBUG", "0") not in ("", "0")


if _debugging() and not log.handlers:
    # Asked for at start-up: make the explanations visible without the user configuring logging.
    log.setLevel(logging.DEBUG)
    log.addHandler(logging.StreamHandler())

# Whether to remember the user's line behind each tensor, for the explanations. Checked on every tracked op,
# so it is a plain flag, read from LAZYGRAD_DEBUG at import and again at every realization.
_recording = _debugging()


class BackendMismatchError(RuntimeError):
    """A program would read a buffer that another backend made."""


class Holder(Protocol):
    """Anything that owns a node and may be rebound to its realized buffer (a Tensor)."""

    node: Node


# A long graph built without a read (a chain of small ops) leaves one reference per dropped intermediate in
# ``pending``. Dropped while young, they die by reference counting; kept until the read, thousands of them
# survive into the collector's oldest generation and make Python's full collections come sooner.
_COMPACT_AT = 256


class _Tracked(threading.local):
    """This thread's pending work: tensors (weak references: a dropped tensor needs no computing), the
    cotangent tables of backward passes under way, and the state of automatic step boundaries."""

    def __init__(self) -> None:
        self.pending: list[weakref.ref] = []
        self.compact_at = _COMPACT_AT  # the length of ``pending`` at which dead references are dropped
        # Those whose graph holds a check that failed or raised when it ran: it would fail again (values do
        # not change), so they are left out of realizations until one of them is read, which raises again.
        self.failing: list[weakref.ref] = []
        self.in_flight: list[dict] = []
        self.auto_step = True
        self.backward_pending = False  # a backward pass built graph since this thread last realized


_tracked = _Tracked()
_lock = threading.RLock()
_cache: OrderedDict[tuple[str, Program], Any] = OrderedDict()
_backend_name = os.environ.get("LAZYGRAD_BACKEND", "numpy")
_backend = backends.get(_backend_name)
_native: type | None = getattr(_backend, "buffer_type", None)
_owners: dict[type, backends.Backend] = {}


class Layout(NamedTuple):
    """How a holder asked its values to be laid out: the backend's sharding (None where the mesh is one
    device) and the front end's description of it (lazygrad.distributed's mesh and placements)."""

    sharding: Any
    spec: Any


# Output layouts that holders asked for, by id(holder) (filled by lazygrad.distributed; an entry goes when its
# holder dies). Empty unless a tensor was distributed, so a one-device program pays one truth test.
layouts: dict[int, Layout] = {}


def ask_layout(holder: Holder, layout: Layout) -> None:
    """Lay out every value ``holder`` gets from now on as ``layout`` says, until it dies."""
    key = id(holder)
    if key not in layouts:
        weakref.finalize(holder, layouts.pop, key, None)
    layouts[key] = layout


def share_layout(source: Holder, out: Holder) -> None:
    """``out`` now shares ``source``'s memory (``detach``, ``Parameter(t)``, ``.data =``): it is laid out
    as ``source`` asked, as torch's DTensor keeps its placements through these."""
    layout = layouts.get(id(source))
    if layout is not None:
        ask_layout(out, layout)


def keep_layout(holder: Holder) -> None:
    """A computed value written into a holder that asked for a layout (a plain tensor loaded into a
    distributed parameter) is laid out at once; a pending one is laid out by its realization."""
    layout = layouts.get(id(holder))
    node = holder.node
    if layout is None or layout.sharding is None or getattr(node.buffer, "sharding", None) == layout.sharding:
        return
    holder.node = ir.leaf(_backend.move(node.buffer, layout.sharding), node.shape, node.dtype)


def backend() -> backends.Backend:
    return _backend


def set_backend(name: str) -> None:
    """Select the backend for programs compiled from now on (raises ValueError for an unknown name).

    Pending work is computed first, on the backend it was built for: its buffers belong there.
    """
    global _backend, _backend_name, _native
    chosen = backends.get(name)
    if chosen is _backend:
        return
    realize(why="backend switch")
    _backend, _backend_name = chosen, name
    _native = getattr(chosen, "buffer_type", None)
    _arm_guard()


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[backends.Backend]:
    """``with lazygrad.backend("jax"):`` runs the block on a backend, then restores the previous one."""
    previous = _backend_name
    set_backend(name)
    try:
        yield _backend
    finally:
        set_backend(previous)


def owner(buffer: Any) -> backends.Backend | None:
    """The backend that made ``buffer``; None for host scalars and buffers no loaded backend claims."""
    kind = type(buffer)
    if kind is np.ndarray and buffer.ndim == 0:
        return None
    found = _owners.get(kind)
    if found is None:
        found = next((b for b in backends.loaded() if getattr(b, "buffer_type", None) is kind), None)
        if found is not None:
            _owners[kind] = found
    return found


def track(holder: Holder) -> None:
    """Remember a holder of a pending node so the next realization computes it too."""
    pending = _tracked.pending
    pending.append(weakref.ref(holder))
    if len(pending) > _tracked.compact_at:
        _drop_dead(pending)
    if _recording:
        recompile.note_tensor(holder, _user_frame())


def _drop_dead(pending: list[weakref.ref]) -> None:
    """Drop the references to tensors that died, in place and in order (the order of a program's outputs)."""
    pending[:] = [r for r in pending if r() is not None]
    _tracked.compact_at = 2 * len(pending) + _COMPACT_AT  # amortized: each reference is checked O(1) times


# ---- step boundaries: programs sized by steps, not by reads ------------------------------------------------


def step() -> None:
    """End a step now: compute everything this thread has pending (PyTorch/XLA's ``mark_step``)."""
    realize(why="lazygrad.step()")


def step_boundary() -> None:
    """An automatic step boundary (the end of ``optimizer.step()``): realize unless the user turned them off."""
    if _tracked.auto_step:
        realize(why="optimizer.step()")


def before_backward() -> None:
    """A second backward pass with the previous one still pending starts a new step: realize the previous."""
    if _tracked.auto_step and _tracked.backward_pending:
        realize(why="second backward()")


def after_backward() -> None:
    _tracked.backward_pending = True


@contextlib.contextmanager
def auto_step(enabled: bool) -> Iterator[None]:
    """``with lazygrad.auto_step(False):`` no automatic step boundaries in this thread; programs end at reads,
    ``lazygrad.step()`` and the pending-graph guard only."""
    previous = _tracked.auto_step
    _tracked.auto_step = enabled
    try:
        yield
    finally:
        _tracked.auto_step = previous


class backward_in_flight:
    """Let a realization during a backward pass compute the cotangents built so far, so a huge backward
    is cut by the pending-graph guard like any other graph. (A class: entered once per backward pass, it
    costs a fraction of a generator-based context manager.)"""

    __slots__ = ("_tables",)

    def __init__(self, cotangents: dict, leaf_cotangents: dict) -> None:
        self._tables = (cotangents, leaf_cotangents)

    def __enter__(self) -> None:
        _tracked.in_flight += self._tables

    def __exit__(self, *exc: object) -> None:
        del _tracked.in_flight[-2:]


# ---- the pending-graph guard ---------------------------------------------------------------------------

# XLA's compile time and memory grow faster than linearly with a program's depth: a 10,000-node chain with
# its backward pass needs more than 9 GB to compile, 5,000 about 2.5 GB. A six-layer GPT step is ~4,500 nodes.
_DEFAULT_MAX_PENDING = {"numpy": 200_000, "jax": 5_000}
# A long chain slows XLA down long before the node count does: 2,500 elementwise ops in a row compile in 5 s, five
# rows of 500 in 1.7 s. So on jax, every tenth of the limit, the guard also looks at the path down from the newest
# node, and cuts when at least this share of the nodes built since the last realization lie on it (a chain: 0.5
# with its constants, 1 without). A model's step is wide: a six-layer GPT step's longest path holds 0.32 of it.
_CHAIN_SHARE = {"jax": 0.45}


def max_pending() -> int:
    """How many nodes may be built without a realization before the guard realizes (LAZYGRAD_MAX_PENDING)."""
    value = _positive_setting("LAZYGRAD_MAX_PENDING")
    return _DEFAULT_MAX_PENDING.get(_backend_name, 50_000) if value is None else value


def _probe_every(limit: int) -> int | None:
    """How many nodes apart the guard looks for a chain on this backend (None: it does not)."""
    return max(1, limit // 10) if _backend_name in _CHAIN_SHARE else None


def _arm_guard() -> None:
    """From now on, call the guard at the node limit, or sooner where it also looks for a long chain."""
    global _armed_at
    limit = max_pending()
    _armed_at = ir.nodes_created()
    every = _probe_every(limit)
    ir.guard_at = _armed_at + (limit if every is None else every)


_armed_at = 0  # the node count at the last realization: the guard counts the nodes built since


def _pending_depth(node: Node, bound: int) -> int:
    """How many pending nodes lie on a path down from ``node`` (first pending argument each time), up to ``bound``:
    a lower bound of the graph's depth that is exact for a chain, at a cost of one step per level."""
    depth = 0
    while depth < bound:
        for arg in node.args:
            if arg.buffer is None and arg.args:
                node = arg
                depth += 1
                break
        else:
            return depth
    return depth


class PendingGraphWarning(UserWarning):
    """A graph grew past ``LAZYGRAD_MAX_PENDING`` nodes without a realization, so lazygrad realized it."""


_PACKAGE_DIRS = tuple(os.path.dirname(f) + os.sep for f in (__file__, backends.__file__))
_warned: set[tuple[str, int]] = set()


def _user_frame() -> tuple[str, int]:
    """The file and line of the innermost caller outside lazygrad: the user's line that built the node."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIRS):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("<unknown>", 0)


def _pending_nodes() -> int:
    """How many nodes this thread's next realization would compute: the live pending graph."""
    roots = [h.node for r in _tracked.pending if (h := r()) is not None and h.node.buffer is None]
    if _tracked.in_flight:
        roots += _in_flight_cotangents()
    return sum(not is_computed(node) for node in toposort(roots, is_computed))


def _guard(node: Node) -> None:
    """Called by ``ir.apply`` once the pending graph passes the limit, or is due a look for a long chain: realizing is
    safe at any node build.

    The limit counts the nodes built since the last realization. When most of them died or were computed on the
    host since (``settle``: a counting loop's writes), the realization is small and not worth a warning.
    """
    limit = max_pending()
    now = ir.nodes_created()
    built = now - _armed_at
    every = _probe_every(limit)
    if built < limit and every is not None:  # a look for a long chain, before the node limit
        depth = _pending_depth(node, built)
        if depth < max(every, _CHAIN_SHARE[_backend_name] * built):
            ir.guard_at = _armed_at + min(limit, built + every)
            return
        grown, cut_at = f"a chain of {depth} operations was", built
    else:
        grown, cut_at = f"more than {limit} operations were", limit
    ir.guard_at = now + limit  # no second call while the realization below builds nodes
    where = _user_frame()
    if where not in _warned and 2 * _pending_nodes() > cut_at:
        _warned.add(where)
        warnings.warn_explicit(
            f"lazygrad: {grown} built without reading a value, so they are being computed now to bound compile "
            "time and memory. Call lazygrad.step() where a step ends, or set LAZYGRAD_MAX_PENDING to move the "
            "limit.", PendingGraphWarning, where[0], where[1])
    metrics.bump("guard_realizations")
    realize(why="pending-graph guard")


ir.guard = _guard


def realize(targets: Iterable[Holder] = (), why: str = "value read") -> None:
    """Compute ``targets`` and every other live pending holder of this thread in one backend program.

    ``why`` names the kind of sync point for ``metrics_report()``; the user's line is found here.

    A holder that cannot be computed (its graph reads another backend's buffer, holds a check that fails,
    or raises when it runs, as a singular matrix's inverse does) stays pending, and the others are computed
    without it; reading it, as one of ``targets``, raises. If compiling fails (or anything is interrupted),
    every holder stays pending and tracked, so a retry computes it.
    """
    global _recording
    if capture.current() is not None:  # inside a compiled function's trace: a graph break, or its error
        capture.read(why)
    _recording = _debugging()
    targets = list(targets)
    with _lock:
        taken = _tracked.pending
        _tracked.pending = []
        _tracked.compact_at = _COMPACT_AT
        try:
            _compute([h for r in taken if (h := r()) is not None and h.node.buffer is None]
                     + [t for t in targets if t.node.buffer is None], targets, why)
        except BaseException:
            _retrack(taken)
            raise
        _tracked.backward_pending = False
        _arm_guard()


def _in_flight_cotangents() -> list[Node]:
    found = []
    for table in _tracked.in_flight:
        for value in table.values():
            ct = value[1] if type(value) is tuple else value
            if type(ct) is Node and ct.buffer is None:
                found.append(ct)
    return found


def _retrack(taken: list[weakref.ref]) -> None:
    """After a failed realization: what was tracked and is still pending is tracked again, once."""
    tracked = {id(h) for r in (*_tracked.pending, *_tracked.failing) if (h := r()) is not None}
    _tracked.pending[:0] = [r for r in taken if (h := r()) is not None and h.node.buffer is None
                            and id(h) not in tracked]


def _compute(holders: list[Holder], targets: list[Holder], why: str) -> None:
    extra = _in_flight_cotangents() if _tracked.in_flight else []
    if not holders and not extra:
        return
    roots = list(dict.fromkeys([h.node for h in holders] + extra))  # nodes hash by identity: each one once
    program, buffers = linearize(roots, settle=_settle_data if capture.current() is None else None)
    if len(program.outputs) < len(roots):  # some were computed on the host
        roots = [node for node in roots if node.buffer is None]
        if not roots:
            return
    if layouts:
        program = _with_layouts(program, holders, roots)
    native = _native
    foreign = [b for b in buffers if type(b) is not native and owner(b) not in (None, _backend)]
    if foreign:
        ids = {id(b) for b in foreign}
        made_by = owner(foreign[0])
        _set_aside(holders, targets, lambda n: n.buffer is not None and id(n.buffer) in ids, BackendMismatchError(
            f"a tensor on backend {made_by.name!r} is used in a program running on backend {_backend_name!r}; "
            f"move it first with .to({_backend_name!r})"), _tracked.pending, why)
        return
    if _recording:  # LAZYGRAD_DEBUG, read by ``realize`` just before
        _explain_miss(program, roots, buffers)
    exe = _executable(program)
    start, compiling = time.perf_counter(), metrics.seconds("compile_time")
    try:
        outputs = exe(buffers)
    except checks.CheckFailed as failure:
        failed = checks.failed_node(roots, failure.ordinal)
        _set_aside(holders, targets, lambda n: n is failed, checks.error(failed, failure.value),
                   _tracked.failing, why)
        return
    except Exception as failure:  # a primitive raised (a singular matrix): which holders need it is unknown
        if extra:  # work in flight (a backward pass under way) cannot wait
            raise
        _isolate(list({id(h): h for h in holders}.values()), targets, failure, why)
        return
    # a backend may compile a program when it runs it again (jax): that time is compile time
    metrics.add_time("execution_time", time.perf_counter() - start - (metrics.seconds("compile_time") - compiling))
    metrics.bump("executions")
    metrics.sync(why, _user_frame())
    outputs = shared_memory.unshared(buffers, outputs)
    for node, out in zip(roots, outputs):
        node.buffer = out
    if _recording:
        recompile.note_results(holders)
    recorded = {id(h.node) for h in holders if h.grad_fn is not None}
    for node in roots:
        if id(node) not in recorded:
            cut(node)


def _settle_data(pending: list[Node]) -> bool:
    """Give the pending nodes that only move or compare computed integer data their values on the host, so a
    program's structure does not follow each batch's lengths (``host_read.fold_data``)."""
    return host_read.fold_data(pending, _same if _native is np.ndarray else _as_buffer, shared_memory.is_shared)


def _same(value: np.ndarray) -> np.ndarray:
    return value


def _as_buffer(value: np.ndarray) -> Any:
    """A host value as a buffer of the backend; a 0-d one stays a number, as Python numbers enter programs."""
    return value if not value.ndim else from_numpy(value)


def _with_layouts(program: Program, holders: list[Holder], roots: list[Node]) -> Program:
    """``program`` with the layouts its holders asked for, one per output (part of the cache key)."""
    wanted = {id(h.node): layout.sharding for h in holders
              if (layout := layouts.get(id(h))) is not None and layout.sharding is not None}
    if not wanted:
        return program
    return program._replace(layouts=tuple(wanted.get(id(node)) for node in roots))


def _set_aside(holders: list[Holder], targets: list[Holder], blocked: Callable[[Node], bool], error: Exception,
               into: list[weakref.ref], why: str) -> None:
    """Keep the holders whose graph has a ``blocked`` node pending in ``into``, compute the rest, and raise
    ``error`` if a target was kept."""
    kept = {id(h): h for h in holders if any(blocked(n) for n in toposort((h.node,), stop=is_computed))}
    if not kept:  # what is blocked is work in flight (a backward pass under way), which cannot wait
        raise error
    _keep_pending(kept.values(), into)
    _compute([h for h in holders if id(h) not in kept], [t for t in targets if id(t) not in kept], why)
    if any(id(t) in kept for t in targets):
        raise error


def _keep_pending(holders: Iterable[Holder], into: list[weakref.ref]) -> None:
    """Track ``holders`` in ``into`` (once each), which later realizations leave out."""
    known = {id(h) for r in into if (h := r()) is not None}
    into[:] = [r for r in into if r() is not None]
    into += [weakref.ref(h) for h in holders if id(h) not in known]


def _isolate(holders: list[Holder], targets: list[Holder], error: Exception, why: str) -> None:
    """The program computing ``holders`` raised ``error``: compute them in halves, down to the single holders
    whose own program raises. Those are kept pending in ``failing``, as for a failed check (they would fail
    again: values do not change); every other holder gets its value. Raises a failing target's error.

    Only a failure pays: a few programs more, a logarithmic number per failing holder.
    """
    if len(holders) == 1:
        _keep_pending(holders, _tracked.failing)
        if targets:
            raise error
        return
    raised = None
    middle = len(holders) // 2
    for half in (holders[:middle], holders[middle:]):
        half = [h for h in half if h.node.buffer is None]  # the first half may have computed the second's
        ids = {id(h) for h in half}
        try:
            _compute(half, [t for t in targets if id(t) in ids], why)
        except Exception as failure:  # a target failed: the other half is computed all the same
            raised = raised or failure
    if raised is not None:
        raise raised


def _explain_miss(program: Program, roots: list[Node], buffers: list[Any]) -> None:
    """Log why ``program`` is about to be compiled, in terms of the user's lines (LAZYGRAD_DEBUG)."""
    if (_backend_name, program) not in _cache:
        cached = (p for name, p in _cache if name == _backend_name)
        log.debug("%s: %s", _backend_name, recompile.explain(program, cached, recompile.input_sites(buffers),
                                                              recompile.instruction_sites(roots)))


def executable(program: Program) -> Any:
    """The current backend's executable for ``program``, from the cache or compiled now (counted as usual)."""
    return _executable(program)


# The last program looked up and its executable: a training loop asks for the same program step after step, and
# one comparison is cheaper than hashing the program and moving it to the end of the LRU order it already ends.
_last: list = [None, None]


def _executable(program: Program) -> Any:
    key = (_backend_name, program)
    if _last[0] == key:
        metrics.bump("cache_hits")
        return _last[1]
    exe = _cache.get(key)
    if exe is not None:
        _cache.move_to_end(key)
        metrics.bump("cache_hits")
        _last[:] = key, exe
        return exe
    _relieve_map_pressure()
    start = time.perf_counter()
    exe = _backend.compile(optimize(program))
    metrics.add_time("compile_time", time.perf_counter() - start)
    metrics.bump("compiles")
    _cache[key] = exe
    limit = CACHE_SIZE or _DEFAULT_CACHE_SIZE.get(_backend_name, 128)
    while len(_cache) > limit:
        _cache.popitem(last=False)
    _last[:] = key, exe
    return exe


def _relieve_map_pressure() -> None:
    """Evict the least recently used half of the cache while the process's memory maps pass ``MAP_LIMIT``:
    a dropped executable unmaps its code, and running out of maps would end the process mid-compile."""
    if MAP_LIMIT is None:
        return
    while _cache and map_count() > MAP_LIMIT:
        _last[:] = None, None
        for _ in range(max(1, len(_cache) // 2)):
            _cache.popitem(last=False)


def to_numpy(holder: Holder) -> np.ndarray:
    """The holder's value on the host, realizing it first if needed, copied out by the backend that owns it."""
    if capture.current() is not None:
        capture.read("value read")
    if holder.node.buffer is None:
        realize((holder,))
    return host_copy(holder.node.buffer)


def host_copy(buffer: Any) -> np.ndarray:
    """``buffer`` on the host, copied out by the backend that made it. A Python number's 0-d array (a tensor
    filled with a number can hold one) belongs to no backend and is copied as it is."""
    if type(buffer) is _native:
        return _backend.to_numpy(buffer)
    made_by = owner(buffer)
    if made_by is None and type(buffer) is np.ndarray:
        return buffer.copy()
    return (made_by or _backend).to_numpy(buffer)


def one_value(holder: Holder) -> np.ndarray:
    """A one-element holder's value for ``item()`` and the conversions built on it (``int``, ``bool``, indexing).

    When it is an exact function of computed buffers (an element of a computed tensor, plus or minus a number)
    it is computed on the host and everything pending stays pending; otherwise it is realized as any read.
    """
    node = holder.node
    if node.buffer is None and capture.current() is None:
        found = host_read.values(node)
        if found is not None:
            computed, leaves = found
            keep_all = _native is np.ndarray and not shared_memory.shares_any(leaves)  # numpy may write a shared one
            with _lock:
                for pending, value in computed.items():
                    if pending.buffer is None and (keep_all or not value.ndim):
                        pending.buffer = value
            return computed[node]
    return to_numpy(holder)


def settle(node: Node, limit: int = host_read.MAX_NODES) -> None:
    """Give a value its buffer now, computed on the host, when it is an exact function of computed buffers through
    at most ``limit`` pending nodes: an integer or boolean tensor's new value (just written in place), or a batch
    assembled from computed tensors (``cat``, ``stack``, ``pad_sequence``).

    A counting loop (``N[i, j] += 1`` over every bigram of a corpus) otherwise grows one chain of writes until the
    pending-graph guard cuts it, and each cut is a long program of its own to compile. A batch sampled from a
    replay memory would make the step's program follow which samples it holds and which of them are the same
    tensor. Exact results are the same bits on every backend, so computing them here changes no value, only when
    they are computed.
    """
    if node.buffer is not None or capture.current() is not None:  # computed already (``settle_number``)
        return
    found = host_read.values(node, limit)
    if found is None:
        return
    computed, leaves = found
    if not shared_memory.shares_any(leaves):  # numpy may write those, and a computed value may be a view of one
        value = computed[node]
        _give(node, value if _native is np.ndarray else from_numpy(value))


def settle_element(node: Node, source: np.ndarray | Any, position: int) -> None:
    """Give ``node``, element ``position`` of a computed 1-D integer buffer ``source`` (``ix[k]``, ``for i in ix``),
    its value now: it is about to become a Python int (an index, a slice bound), which would otherwise walk its
    graph on the host at every read. Only a numpy buffer no array shares qualifies: taking the element is then
    one numpy indexing, and numpy cannot change it later."""
    if type(source) is np.ndarray and capture.current() is None and not shared_memory.shares_any((source,)):
        _give(node, np.asarray(source[position]))


def settle_number(node: Node) -> None:
    """Give ``node``, a 0-d integer or boolean op on computed numpy buffers (``i + 32`` for a slice bound, ``i < n``
    in a loop's test), its value now: one numpy call, where reading it later walks its graph on the host. Integer
    arithmetic gives the same bits on every backend; only exact primitives qualify, as for any host read."""
    if not host_read.exact(node) or capture.current() is not None:
        return
    buffers = [a.buffer for a in node.args]
    if all(type(b) is np.ndarray for b in buffers) and not shared_memory.shares_any(buffers):
        _give(node, np.asarray(host_read.IMPLS[node.op](*buffers, *node.params), dtype=node.dtype.np))


def _give(node: Node, buffer: Any) -> None:
    """``node``'s value, computed outside a program: its buffer, unless a realization gave it one meanwhile."""
    with _lock:
        if node.buffer is None:
            node.buffer = buffer
            cut(node)


class _Bare(NamedTuple):
    """A holder for a node that no tensor owns yet."""

    node: Node
    grad_fn: None = None


def _compute_now(node: Node) -> Any:
    realize((_Bare(node),), why="shared memory read")
    return node.buffer


shared_memory.compute_now = _compute_now


def share_array(array: np.ndarray) -> Any:
    """A buffer for ``array`` that shares its memory where the backend can (numpy), else a copy (jax)."""
    if _backend.name != "numpy":
        return from_numpy(np.array(array))  # jax may alias a host array it is given, and expects it never to change
    return shared_memory.share(array)


def from_numpy(array: np.ndarray) -> Any:
    buffer = _backend.from_numpy(array)
    if _recording:
        recompile.note_buffer(buffer, _user_frame())
    return buffer


def clear_cache() -> None:
    """Drop every compiled program (and, with them, the memory their machine code holds)."""
    _cache.clear()
    _last[:] = None, None


_arm_guard()
