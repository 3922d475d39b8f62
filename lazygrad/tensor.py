"""The torch-like Tensor: every operation builds a node; values are computed only when read.

A Tensor owns a node (``.node``) plus its autograd identity: ``requires_grad``, ``grad_fn`` (the record
of the op that made it) and ``grad``. Operations are written once against the node builders in
``ops``; ``_record`` attaches the torch-named GradFn when autograd is on. Reading a value (printing,
``item``, ``tolist``, ``numpy``, ``bool``) realizes it, together with every other pending tensor.
"""

from __future__ import annotations

import copy
import math
import threading
import warnings
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import dtypes, ops, printing, saved_tensors, shared_memory, views
from . import realization as realize
from .autograd_graph import (
    GradFn,
    RemovableHook,
    RetainGrad,
    grad_fn_class,
    post_accumulate_hooks,
    register_leaf_hook,
)
from .device import device as device_
from .device import of as device_of
from .dtypes import DType
from .grad_mode import _state as _grad_state
from .grad_mode import inference_tensors, is_inference
from .ir import Node, apply, leaf
from .views import Storage, View

Number = (int, float, bool)
_new = object.__new__
_accumulating = threading.RLock()


class Size(tuple):
    """A tensor's shape: a tuple that prints as torch's does (``torch.Size([2, 3])``)."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self)

    # Joining, slicing and repeating a shape give a shape, as in torch (``batch_shape + event_shape``).
    def __add__(self, other: tuple) -> Size:
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other: tuple) -> Size:
        return Size(tuple(other) + tuple(self))

    def __mul__(self, times: int) -> Size:
        return Size(tuple(self) * times)

    __rmul__ = __mul__

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item


# ---- construction of results -------------------------------------------------------------------------


def _wrap(node: Node, grad_fn: GradFn | None = None) -> Tensor:
    t = _new(Tensor)
    t.node = node
    t.grad_fn = grad_fn
    t._requires_grad = grad_fn is not None
    t._grad = None
    t._retains_grad = False
    t._view = None
    if node.buffer is None:
        realize.track(t)
    if _grad_state.inference:
        inference_tensors[id(t)] = t
    return t


def _fresh(node: Node) -> Node:
    """A new node with ``node``'s value: a tensor that starts its own autograd identity gets its own node.

    A pending one is a ``stop_gradient``: an op composed of several primitives and recorded as one (``_as_op``)
    differentiates its own nodes, and a ``detach()`` among them must stop the gradient there too.
    """
    if node.buffer is not None:
        return leaf(node.buffer, node.shape, node.dtype)
    return apply("stop_gradient", (node,))


def _rebound(t: Tensor) -> None:
    """``t`` has a new node: the next realization computes it if pending; a tensor that asked for a layout
    (a distributed parameter) keeps it whatever value is written into it."""
    if t.node.buffer is None:
        realize.track(t)
    elif realize.layouts:
        realize.keep_layout(t)


def _record(name: str, node: Node, *inputs: Tensor) -> Tensor:
    """Wrap ``node`` as the result of a user-level op; attach a GradFn if autograd is tracking it."""
    tracking = False
    if _grad_state.enabled:
        for t in inputs:
            if t._requires_grad:
                tracking = True
                break
    for t in inputs:
        if node is t.node:  # an identity op: keep node identities one per tensor (see autograd_graph)
            # A recorded op's node must stay connected to its input for the VJP walk; _fresh of a
            # realized node would be a new, unconnected buffer leaf.
            node = apply("reshape", (node,), (node.shape,)) if tracking else _fresh(node)
    if not tracking:
        return _wrap(node)
    if len(inputs) == 1:  # most ops: the tuples built directly, without a comprehension's call
        t = inputs[0]
        nodes, edges = (t.node,), (t.grad_fn if t.grad_fn is not None else t if t._requires_grad else None,)
    else:
        nodes = tuple([t.node for t in inputs])
        edges = tuple([t.grad_fn if t.grad_fn is not None else t if t._requires_grad else None for t in inputs])
    result = _wrap(node, grad_fn_class(name)(node, nodes, edges))
    if saved_tensors.active and saved_tensors.hooks.stack:
        saved_tensors.pack_record(result.grad_fn, inputs, result)
    return result


def _edge(t: Tensor) -> Any:
    """Where a gradient for ``t`` goes: its record, the leaf itself, or nowhere."""
    return t.grad_fn if t.grad_fn is not None else (t if t._requires_grad else None)


_PLAIN_CLASS_ENTRIES = frozenset(vars(type("_Plain", (), {})))


def attach(methods: type) -> None:
    """Make every method, property and alias written in the body of ``methods`` (one op family) a Tensor member.

    A family writes its methods in a class body so that their names (``sum``, ``max``, ``abs``...) do not hide
    Python's builtins from the rest of its module; the functions themselves become Tensor's.
    """
    for name, member in vars(methods).items():
        # A class body that defines ``__eq__`` gets ``__hash__ = None``: that is the family's class, not Tensor.
        if name in _PLAIN_CLASS_ENTRIES or (name == "__hash__" and member is None):
            continue
        qualname = getattr(member, "__qualname__", "")
        if qualname.startswith(methods.__name__ + "."):
            member.__qualname__ = "Tensor." + qualname.split(".", 1)[1]
        setattr(Tensor, name, member)


# ---- sharing memory: views and aliases (the node-level half is in ``views``) -----------------------------


def _share(t: Tensor) -> View:
    """``t``'s place in a storage, making ``t`` the first reader of a new one if it shares none yet."""
    view = t._view
    if view is None:
        storage = Storage(t.node)
        storage.add_reader(t)
        view = t._view = View(storage, (), None)
    return view


def _alias(source: Tensor, out: Tensor) -> Tensor:
    """Make ``out`` read ``source``'s memory without following its history (``detach``, ``.data =``)."""
    view = _share(source)
    out._view = View(view.storage, view.steps, None)
    view.storage.add_reader(out)
    _same_memory_kind(source, out)
    if realize.layouts:
        realize.share_layout(source, out)
    return out


def _same_memory_kind(source: Tensor, out: Tensor) -> None:
    """A view or alias is an inference tensor exactly when the memory it reads is, whatever mode made it."""
    if not inference_tensors.data:  # none made (the mapping's own len() is a Python-level call on every view)
        return
    if is_inference(source):
        inference_tensors[id(out)] = out
    elif is_inference(out):
        del inference_tensors[id(out)]


def _as_view(base: Tensor, out: Tensor) -> Tensor:
    """Make ``out``, just built from ``base`` by shape primitives, a view of ``base``'s memory, as torch's
    view ops return. It follows the history of the tensor at the root of the view chain, unless a
    ``detach()`` broke the chain."""
    view = _share(base)
    follows = view.base if view.base is not None else (None if view.steps else base)
    out._view = View(view.storage, view.steps + views.steps_between(out.node, base.node), follows)
    view.storage.add_reader(out)
    _same_memory_kind(base, out)
    if view.storage.host is not None:
        _bind_view(out)
    return out


def _bind_view(t: Tensor) -> None:
    """On the numpy backend, make a view of memory numpy shares read it through a numpy view with torch's strides,
    so that numpy's writes reach it, as they reach torch's view."""
    storage = t._view.storage
    array = storage.host()
    if array is not None and realize.backend().name == "numpy":
        t.node.buffer = shared_memory.share(shared_memory.view_of(array, t._view.steps))


def _leave_storage(t: Tensor) -> None:
    """``t`` stops reading its storage; views that followed it keep the old memory and no history."""
    view = t._view
    if view is not None:
        readers = [other for r in view.storage.readers if (other := r()) is not None and other is not t]
        for other in readers:
            if other._view.base is t:
                other._view.base = None
        view.storage.readers = [weakref.ref(other) for other in readers]
        t._view = None


def _refresh(storage: Storage, writer: Tensor | None) -> None:
    """Rebuild every reader's node from the storage's new value (the writer already has it).

    Readers that follow no history go first; views follow the tensor at their root, which is one of
    them, and get torch's ``AsStridedBackward0`` record when it requires grad.
    """
    readers = [t for r in storage.readers if (t := r()) is not None]
    storage.readers = [weakref.ref(t) for t in readers]
    if len(readers) == 1 and readers[0] is writer and not writer._view.steps and storage.host is None:
        writer._view = None  # nobody else reads this memory any more
        return
    readers.sort(key=lambda t: t._view.base is not None)
    for t in readers:
        if t is writer:
            continue
        view = t._view
        base = view.base
        if base is None:
            t.node = views.replay(view.steps, storage.node) if view.steps else _fresh(storage.node)
        else:
            t.node = views.replay(view.steps, base.node)
            if base.requires_grad:
                t.grad_fn = grad_fn_class("AsStridedBackward0")(t.node, (base.node,), (_edge(base),))
                t._requires_grad = True
            else:
                t.grad_fn, t._requires_grad = None, False
        _rebound(t)


def _share_host(t: Tensor, array: np.ndarray) -> np.ndarray:
    """Make ``t``'s storage share memory with ``array``, which holds its value, as torch's CPU tensors do.

    A write through any reader of the storage is then computed at once and copied into the array.
    """
    storage = _share(t).storage
    storage.host = weakref.ref(array)
    _bind_host(storage, array)
    return array


def _bind_host(storage: Storage, array: np.ndarray) -> None:
    """On the numpy backend the array is the storage's buffer and its views' buffers are numpy views of it, so
    numpy's writes reach every reader, as torch's shared memory does (ops built later copy what they read, see
    ``shared_memory``); jax keeps its own copy.

    The computed nodes of the storage and of its whole-storage readers take the array as their buffer (the same
    values), so no tensor changes node or autograd record; a pending storage gets a new leaf instead.
    """
    if realize.backend().name != "numpy":
        return
    readers = [t for r in storage.readers if (t := r()) is not None]
    whole = [storage.node, *(t.node for t in readers if not t._view.steps)]
    if all(node.buffer is not None for node in whole):
        buffer = realize.share_array(array)
        for node in whole:
            node.buffer = buffer
    else:
        storage.node = leaf(realize.share_array(array), storage.node.shape, storage.node.dtype)
        _refresh(storage, None)
    for t in readers:
        if t._view.steps:
            _bind_view(t)


def _write_host(storage: Storage) -> None:
    """Copy the storage's new value into the numpy array it shares memory with, if that array still lives."""
    array = storage.host()
    if array is None:
        storage.host = None
        return
    np.copyto(array, _storage_value(storage))
    _bind_host(storage, array)


def _storage_value(storage: Storage) -> np.ndarray:
    """The whole value of the memory ``storage`` models, on the host (a copy)."""
    holder = _new(Tensor)
    holder.node, holder.grad_fn, holder._view = storage.node, None, None
    return realize.to_numpy(holder)


def _layout(t: Tensor) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """``t``'s (shape, strides, storage offset) as torch would lay it out."""
    view = t._view
    if view is None or not view.steps:
        return t.node.shape, views.contiguous_strides(t.node.shape), 0
    return views.layout(view.storage.node.shape, view.steps)


def _dim(dim: int, ndim: int) -> int:
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return dim % max(ndim, 1)


def _dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        axis = _dim(dim, ndim)
        return (axis,) if ndim else ()  # a 0-d tensor accepts dim 0 and -1 but has no axis to reduce
    axes = tuple(_dim(d, ndim) for d in dim)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
    return axes if axes and ndim else tuple(range(ndim))


def _sizes(args: tuple) -> tuple[int, ...]:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` as torch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def _float_dtype(dtype: DType) -> DType:
    return dtype if dtype.is_floating_point else dtypes.default_float()


# ---- the Tensor ---------------------------------------------------------------------------------------


_scalar_conversion_warned = False


def _warn_scalar_conversion() -> None:
    """torch warns, once per process, when ``float()`` (or ``%f``) drops a tensor's graph: ``.item()`` says so."""
    global _scalar_conversion_warned
    if not _scalar_conversion_warned:
        _scalar_conversion_warned = True
        warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                      "Consider using tensor.detach() first.", UserWarning, stacklevel=3)


class Tensor:
    """A lazily evaluated n-dimensional array with torch's API and autograd semantics."""

    # ``_view``: how this tensor shares memory with others (a views.View), None while it shares with none.
    # ``_grad`` and ``_requires_grad`` back the checked ``grad`` and ``requires_grad`` properties; the hot
    # paths read and write the slots directly.
    __slots__ = ("__weakref__", "_grad", "_requires_grad", "_retains_grad", "_view", "grad_fn", "node")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    # ---- metadata ----
    @property
    def shape(self) -> Size:
        return Size(self.node.shape)

    def size(self, dim: int | None = None) -> Size | int:
        return self.shape if dim is None else self.node.shape[_dim(dim, self.ndim)]

    @property
    def dtype(self) -> DType:
        return self.node.dtype

    @property
    def ndim(self) -> int:
        return len(self.node.shape)

    def dim(self) -> int:
        return len(self.node.shape)

    def numel(self) -> int:
        return math.prod(self.node.shape)

    nelement = numel

    is_inference = is_inference

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def device(self) -> device_:
        return device_of(self)

    @property
    def is_floating_point_type(self) -> bool:
        return self.dtype.is_floating_point

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    # ---- reading values (these realize) ----
    def realize(self) -> Tensor:
        """Compute this tensor now (with every other pending tensor); returns self."""
        realize.realize((self,))
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        # torch returns the tensor's own memory: later writes through the tensor reach the array and, on
        # the numpy backend, writes to the array reach the tensor (see docs/architecture.md)
        view = self._view
        steps = () if view is None else view.steps
        host = view.storage.host() if view is not None and view.storage.host is not None else None
        if host is None:  # the whole storage's memory, which a view is a window of
            # pending ops that read this memory compute now, before numpy can write it
            realize.realize((self,), why="value read")
            host = _share_host(self, np.array(_storage_value(view.storage) if steps else self._value()))
        elif self.node.buffer is None:
            realize.realize((self,))
        if not steps:
            return host
        window = shared_memory.view_of(host, steps)
        return window if np.may_share_memory(window, host) else np.array(self._value())

    def _value(self) -> np.ndarray:
        return realize.to_numpy(self)

    def item(self) -> bool | int | float:
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return realize.one_value(self).reshape(()).item()

    def tolist(self) -> Any:
        return self._value().tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self._value()
        return np.array(value) if dtype is None else value.astype(dtype)

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        if self.requires_grad and _grad_state.enabled:
            _warn_scalar_conversion()
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if not self.node.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.node.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if not self.node.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.node.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """A new leaf with this value (computed now: a copy never carries a pending graph along)."""
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.")
        if self.node.buffer is None:
            realize.realize((self,))
        # Buffers are never written in place, so the copy may share this one.
        out = _wrap(leaf(self.node.buffer, self.node.shape, self.node.dtype))
        out._requires_grad = self._requires_grad
        memo[id(self)] = out
        if self._grad is not None:
            out._grad = copy.deepcopy(self._grad, memo)
        return out

    def __repr__(self) -> str:
        if realize.layouts and (layout := realize.layouts.get(id(self))) is not None:
            return layout.spec.describe(self)  # a distributed tensor prints as torch's DTensor
        suffixes = []
        # An empty tensor has no elements to show that it holds integers or bools, so torch names those too.
        implied = (dtypes.default_float(),) if 0 in self.shape else (dtypes.default_float(), dtypes.int64, dtypes.bool_)
        if self.dtype not in implied:
            suffixes.append(f"dtype={self.dtype!r}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name().rsplit('::', 1)[-1]}>")  # torch's C++ records: short
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return printing.tensor_repr(self._value(), suffixes)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if self.ndim == 0 else format(repr(self), spec)

    # ---- autograd ----
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad and not self._requires_grad:
            self.node = _fresh(self.node)
            if self.node.buffer is None:
                realize.track(self)
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise RuntimeError("requires_grad must be a bool")
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        if value and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self.requires_grad_(value)

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward passes (None until one reaches this tensor)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        # Checked here, as torch does, rather than failing later inside a backward pass.
        if value is not None:
            _check_grad(self, value)
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` on the next backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.is_leaf or self._retains_grad:
            return
        self.grad_fn.register_tensor_hook(RetainGrad(self))
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook: Any) -> RemovableHook:
        """``hook(grad)`` runs when this tensor's gradient is built; a non-None result replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            return register_leaf_hook(self, hook)
        return self.grad_fn.register_tensor_hook(hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> RemovableHook:
        """``hook(self)`` after each backward pass has accumulated into this leaf's ``.grad``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        return register_leaf_hook(self, hook, post_accumulate_hooks)

    def _accumulate_grad(self, g: Node | Tensor) -> None:
        """Add ``g`` to ``.grad``: in place for a node, out of place for a gradient that keeps its history.

        Under a lock, like torch's AccumulateGrad: two threads' backward passes into one leaf both count.
        """
        with _accumulating:
            if isinstance(g, Tensor):
                g = g if g.dtype is self.dtype else g.to(self.dtype)
                self._grad = g if self._grad is None else self._grad + g
                return
            g = ops.cast(g, self.dtype)
            if self._grad is None:
                self._grad = _wrap(g)
            else:
                self._grad._set_node(ops.add(self._grad.node, g))

    def detach(self) -> Tensor:
        """A tensor with the same value and storage but no autograd history."""
        return _alias(self, _wrap(_fresh(self.node)))

    def detach_(self) -> Tensor:
        # Its own node from now on: the old one stays the output of the record it leaves behind.
        if self.grad_fn is not None:
            self.node = _fresh(self.node)
            if self.node.buffer is None:
                realize.track(self)
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, other: Tensor) -> None:
        # torch's ``a.data = b``: ``a`` leaves its storage (its views and aliases keep the old value) and
        # shares ``b``'s from now on, keeping its own autograd identity.
        source = _share(other)
        if self._view is not None and self._view.storage is source.storage:
            self._view = View(source.storage, source.steps, None)
        else:
            _leave_storage(self)
            _alias(other, self)
        self.node = _fresh(other.node)
        _rebound(self)

    # ---- in-place machinery ----
    def _set_node(self, node: Node) -> None:
        """Make ``node`` this tensor's new value, without autograd history (the storage's readers see it)."""
        self._write(node, None)

    def _write(self, node: Node, result: Tensor | None, uniform: bool = False) -> None:
        """Make ``node`` this tensor's value: through its storage to its base and every other reader.

        ``result`` is the Tensor ``node`` was computed as, when its history should become this tensor's.
        ``uniform`` (one number everywhere: ``fill_(number)``, ``zero_``) may write through an expanded view,
        as in torch.
        """
        if node.buffer is not None and shared_memory.is_shared(node.buffer):  # copy_ from memory numpy may write
            node = shared_memory.copy_of(node)
        view = self._view
        if view is None:  # the usual case: no other tensor shares this one's memory
            if node.buffer is None and not node.dtype.is_floating_point:
                realize.settle(node)
            self.node = node
            if node.buffer is None:
                realize.track(self)
            elif realize.layouts:  # _rebound, inlined: this path runs for every in-place op
                realize.keep_layout(self)
            if result is not None and result.grad_fn is not None:
                self.grad_fn = result.grad_fn
                self._requires_grad = True
            return
        storage, steps, base = view.storage, view.steps, view.base
        if steps:
            shape, strides, _ = views.layout(storage.node.shape, steps)
            if not uniform and views.overlaps(shape, strides):
                raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                                   "a single memory location. Please clone() the tensor before performing the "
                                   "operation.")
        if base is not None:  # a view following its base's history: the base records the write
            new = views.write_back(base.node, steps, node, uniform)
            if _grad_state.enabled and result is not None and (base.requires_grad or result.requires_grad):
                record = grad_fn_class("CopySlices")(new, (base.node, node), (_edge(base), _edge(result)))
                base.grad_fn, base._requires_grad = record, True
            writer = base
        else:
            new = views.write_back(storage.node, steps, node, uniform) if steps else node
            writer = None if steps else self
            if writer is not None and result is not None and result.grad_fn is not None:
                self.grad_fn, self._requires_grad = result.grad_fn, True
        if not new.dtype.is_floating_point:
            realize.settle(new)
        storage.node = new
        if writer is not None:
            writer.node = new
            _rebound(writer)
        _refresh(storage, writer)
        if storage.host is not None:
            _write_host(storage)

    def _check_inplace(self) -> None:
        if not _grad_state.enabled:
            return
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = None if self._view is None else self._view.base
        if base is not None and base.requires_grad and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")

    def _assign(self, result: Tensor, cast: bool = False, uniform: bool = False) -> Tensor:
        """Make ``result`` (computed functionally from self) this tensor's new value and history.

        ``cast`` allows any dtype conversion (``copy_``); arithmetic may not turn a float result into an
        integer tensor, as in torch.
        """
        if result.node.shape != self.node.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        if not cast and result.node.dtype is not self.node.dtype and \
                dtypes.category(result.dtype) > dtypes.category(self.dtype):
            raise RuntimeError(f"result type {_torch_type_name(result.dtype)} can't be cast to the desired "
                               f"output type {_torch_type_name(self.dtype)}")
        self._write(ops.cast(result.node, self.dtype), result, uniform)
        return self

    def _inplace(self, fn: Any, *args: Any, **kwargs: Any) -> Tensor:
        self._check_inplace()
        return self._assign(fn(self, *args, **kwargs))


# ---- helpers used by several ops ----------------------------------------------------------------------


def _torch_type_name(dtype: DType) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[dtype.name]


def _promote(*tensors: Tensor) -> DType:
    """torch's result dtype of ``tensors``: 0-d tensors count only where they are of a higher category."""
    dim = zero = None
    for t in tensors:
        if t.node.shape:
            dim = t.dtype if dim is None else dtypes.promote_types(dim, t.dtype)
        else:
            zero = t.dtype if zero is None else dtypes.promote_types(zero, t.dtype)
    return dtypes.result_type(dim, zero, None)


def _promote_any(a: Tensor, b: Any) -> DType:
    return _promote(a, b) if isinstance(b, Tensor) else _with_scalar(a.dtype, b)


def _with_scalar(dtype: DType, value: Any) -> DType:
    """The dtype of ``tensor op number``: memoized per (dtype, Python type), as it runs on every such op."""
    key = (dtype, type(value))
    promoted = dtypes.WITH_SCALAR.get(key)
    if promoted is None:
        scalar = dtypes.scalar_dtype(value)
        promoted = scalar if dtypes.category(scalar) > dtypes.category(dtype) else dtype
        dtypes.WITH_SCALAR[key] = promoted
    return promoted


def _check_grad(t: Tensor, grad: Any) -> None:
    """torch's checks on ``t.grad = grad``: a tensor of ``t``'s size, dtype and device, and not ``t`` itself."""
    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(grad).__name__}")
    if grad is t:
        raise RuntimeError("can't assign Variable as its own grad")
    if grad.dtype is not t.dtype:
        raise RuntimeError(f"attempting to assign a gradient with dtype '{_C10_NAMES[grad.dtype.name]}' to a tensor "
                           f"with grad_dtype '{_torch_type_name(t.dtype)}'. The gradient must match the tensor's "
                           "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype "
                           "attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with "
                           "caution. Diverging the dtypes of a tensor and its gradient may break downstream systems "
                           "that assume they match.")
    if grad.device != t.device:
        raise RuntimeError(f"attempting to assign a gradient with device type '{grad.device.type}' to a tensor with "
                           f"device type '{t.device.type}'. Please ensure that the gradient and the tensor are on "
                           "the same device")
    if grad.node.shape != t.node.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of size "
                           f"'{list(t.shape)}'. Please ensure that the gradient and the tensor are the same size")


def _absent() -> Tensor:
    t = _new(Tensor)
    t.node, t.grad_fn, t._requires_grad, t._grad, t._retains_grad, t._view = ops.const(0, dtypes.float32), None, \
        False, None, False, None
    return t


# An operand of a record that no gradient flows to: a Python number, or an optional input left out. Its node
# belongs to no graph, so no cotangent reaches it, and its edge is None, as torch's ``next_functions`` show.
_ABSENT = _absent()
_NUMBER_OPERAND = {"AddBackward0", "SubBackward0", "MulBackward0", "DivBackward0"}


# How torch's C++ core spells dtypes in some messages.
_CHECKED_NAMES = {"int8": "int8_t", "int16": "int16_t", "int32": "int", "uint8": "uint8_t"}


def _check_fits(value: Any, dtype: DType) -> None:
    """torch converts a number written into a tensor (``x[i] = v``, ``index_fill_``) with a range check where
    arithmetic wraps it: refuse a Python int outside ``dtype``'s range (an unsigned one takes magnitudes)."""
    name = _CHECKED_NAMES.get(dtype.name)
    if name is None or type(value) is not int:
        return
    info = np.iinfo(dtype.np)
    if not (-info.max if info.min == 0 else info.min) <= value <= info.max:
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


