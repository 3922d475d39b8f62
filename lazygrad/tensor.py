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
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import checks, dtypes, ops, printing, realize, views
from .autocast_mode import STATE as _autocast
from .autocast_mode import float32_op
from .autocast_mode import lower as _autocast_lower
from .autograd_graph import GradFn, RemovableHook, RetainGrad, grad_fn_class, register_leaf_hook
from .device import device as device_
from .device import move as move_to
from .device import of as device_of
from .dtypes import DType
from .grad_mode import _state as _grad_state
from .ir import Node, apply, broadcast_shapes, leaf
from .views import Storage, View

Number = (int, float, bool)
_new = object.__new__
_accumulating = threading.RLock()


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``lazygrad.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"lazygrad.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self)


class ReturnTypes(NamedTuple):
    values: Tensor
    indices: Tensor


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
    return t


def _fresh(node: Node) -> Node:
    """A new node with ``node``'s value: a tensor that starts its own autograd identity gets its own node."""
    if node.buffer is not None:
        return leaf(node.buffer, node.shape, node.dtype)
    return apply("reshape", (node,), (node.shape,))


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
    return _wrap(node, grad_fn_class(name)(node, nodes, edges))


def _edge(t: Tensor) -> Any:
    """Where a gradient for ``t`` goes: its record, the leaf itself, or nowhere."""
    return t.grad_fn if t.grad_fn is not None else (t if t._requires_grad else None)


# ---- sharing memory: views and aliases (the node-level half is in ``views``) -----------------------------


def _share(t: Tensor) -> View:
    """``t``'s place in a storage, making ``t`` the first reader of a new one if it shares none yet."""
    view = t._view
    if view is None:
        storage = Storage(t.node)
        storage.readers.append(weakref.ref(t))
        view = t._view = View(storage, (), None)
    return view


def _alias(source: Tensor, out: Tensor) -> Tensor:
    """Make ``out`` read ``source``'s memory without following its history (``detach``, ``.data =``)."""
    view = _share(source)
    out._view = View(view.storage, view.steps, None)
    view.storage.readers.append(weakref.ref(out))
    return out


def _as_view(base: Tensor, out: Tensor) -> Tensor:
    """Make ``out``, just built from ``base`` by shape primitives, a view of ``base``'s memory, as torch's
    view ops return. It follows the history of the tensor at the root of the view chain, unless a
    ``detach()`` broke the chain."""
    view = _share(base)
    follows = view.base if view.base is not None else (None if view.steps else base)
    out._view = View(view.storage, view.steps + views.steps_between(out.node, base.node), follows)
    view.storage.readers.append(weakref.ref(out))
    return out


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
    if len(readers) == 1 and readers[0] is writer and not writer._view.steps:
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
        if t.node.buffer is None:
            realize.track(t)


def _layout(t: Tensor) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """``t``'s (shape, strides, storage offset) as torch would lay it out."""
    view = t._view
    if view is None or not view.steps:
        return t.node.shape, views.contiguous_strides(t.node.shape), 0
    return views.layout(view.storage.node.shape, view.steps)


def _scalar_value(value: Any) -> bool | int | float | None:
    if isinstance(value, Number):
        return value
    if isinstance(value, np.generic) and value.shape == ():
        return value.item()
    return None


def _integer_divisor(dividend: Tensor, divisor: Any, op: str) -> Any:
    """``divisor``, known not to be a zero that divides integers: torch raises for it, where floats give inf/nan.

    A known zero raises now; a pending divisor is checked when it is computed.
    """
    if dividend.dtype.is_floating_point or isinstance(divisor, float):
        return divisor
    if not isinstance(divisor, Tensor):
        if divisor == 0:
            raise RuntimeError("ZeroDivisionError")
        return divisor
    if divisor.dtype.is_floating_point:
        return divisor
    if divisor.node.buffer is None:
        node = divisor.node
        return _wrap(checks.guard(node, checks.nonzero(node), RuntimeError, "ZeroDivisionError", op))
    if divisor.numel() and not divisor._value().all():
        raise RuntimeError("ZeroDivisionError")
    return divisor


def _nonempty(op: str, t: Tensor, dim: int) -> None:
    """torch refuses a max-like reduction over an empty axis, which has no value to return."""
    if t.ndim and t.node.shape[dim] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")


def _extremum_axes(op: str, t: Tensor, dim: int | Sequence[int]) -> tuple[int, ...]:
    """The axes of amax/amin, refused as torch refuses them: it names the first empty one as the user wrote it."""
    axes = _dims(dim, t.ndim)
    given = (dim,) if isinstance(dim, int) else tuple(dim)
    if not given and t.numel() == 0:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    for d in given:
        _nonempty(op, t, d)
    return axes


def _dim(dim: int, ndim: int) -> int:
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return dim % max(ndim, 1)


def _p_norm(x: Node, p: float, axes: tuple[int, ...], keepdim: bool) -> Node:
    """``sum(|x|**p) ** (1/p)``, with torch's gradient 0 where a slope is infinite.

    For p < 1, ``|x|**p`` is vertical at x = 0; for p > 1, the root is vertical at a zero sum. Each is fed a
    safe value there and its result put back by a select, so no 0 * inf reaches the gradient.
    """
    zero, one = ops.const(0, x.dtype), ops.const(1, x.dtype)
    magnitude = apply("abs", (x,))
    if p > 1:
        total = ops.reduce("reduce_sum", apply("pow", (magnitude, ops.const(p, x.dtype))), axes, keepdim)
    else:
        at_zero = apply("eq", (magnitude, zero))
        safe = apply("pow", (ops.select(at_zero, one, magnitude), ops.const(p, x.dtype)))
        powered = ops.select(at_zero, ops.const(0.0 if p > 0 else math.inf, x.dtype), safe)
        return apply("pow", (ops.reduce("reduce_sum", powered, axes, keepdim), ops.const(1 / p, x.dtype)))
    empty = apply("eq", (total, zero))
    root = apply("pow", (ops.select(empty, one, total), ops.const(1 / p, x.dtype)))
    return ops.select(empty, zero, root)


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


def _widened(x: Tensor) -> Node:
    """``x``'s node in the dtype torch's fused softmax kernels compute in: float32 for 16-bit floats (rounded once
    at the end), the default float for integers."""
    if x.dtype in dtypes.HALF:
        return ops.cast(x.node, dtypes.float32)
    return x.node if x.dtype.is_floating_point else ops.cast(x.node, dtypes.default_float())


# ---- the Tensor ---------------------------------------------------------------------------------------


class Tensor:
    """A lazily evaluated n-dimensional array with torch's API and autograd semantics."""

    # ``_view``: how this tensor shares memory with others (a views.View), None while it shares with none.
    # ``_grad`` and ``_requires_grad`` back the checked ``grad`` and ``requires_grad`` properties; the hot
    # paths read and write the slots directly.
    __slots__ = ("__weakref__", "_grad", "_requires_grad", "_retains_grad", "_view", "grad_fn", "node")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, *args: Any) -> None:
        # torch.Tensor(data) / torch.Tensor(2, 3): float32, like the legacy torch constructor.
        from .creation import tensor, zeros

        source = tensor(args[0], dtype=dtypes.float32) if len(args) == 1 and not isinstance(args[0], int) \
            else zeros(*args)
        self.node = source.node
        self.grad_fn = None
        self._requires_grad = False
        self._grad = None
        self._retains_grad = False
        self._view = None

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

    # ---- reading values (these realize) ----
    def realize(self) -> Tensor:
        """Compute this tensor now (with every other pending tensor); returns self."""
        realize.realize((self,))
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        # A copy: buffers are immutable and shared between nodes, so writing into one would change other
        # tensors' values behind the graph's back (torch shares memory here; see docs/architecture.md).
        return np.array(self._value())

    def _value(self) -> np.ndarray:
        return realize.to_numpy(self)

    def item(self) -> bool | int | float:
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._value().reshape(()).item()

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
        suffixes = []
        if self.dtype not in (dtypes.default_float(), dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={self.dtype!r}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
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
        self.grad_fn.register_hook(RetainGrad(self))
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
        return self.grad_fn.register_hook(hook)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Add the gradient graph of this tensor to every leaf's ``.grad`` (lazily; nothing runs here)."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

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
        if self.node.buffer is None:
            realize.track(self)

    # ---- in-place machinery ----
    def _set_node(self, node: Node) -> None:
        """Make ``node`` this tensor's new value, without autograd history (the storage's readers see it)."""
        self._write(node, None)

    def _write(self, node: Node, result: Tensor | None) -> None:
        """Make ``node`` this tensor's value: through its storage to its base and every other reader.

        ``result`` is the Tensor ``node`` was computed as, when its history should become this tensor's.
        """
        view = self._view
        if view is None:  # the usual case: no other tensor shares this one's memory
            self.node = node
            if node.buffer is None:
                realize.track(self)
            if result is not None and result.grad_fn is not None:
                self.grad_fn = result.grad_fn
                self._requires_grad = True
            return
        storage, steps, base = view.storage, view.steps, view.base
        if steps:
            shape, strides, _ = views.layout(storage.node.shape, steps)
            if views.overlaps(shape, strides):
                raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                                   "a single memory location. Please clone() the tensor before performing the "
                                   "operation.")
        if base is not None:  # a view following its base's history: the base records the write
            new = views.write_back(base.node, steps, node)
            if _grad_state.enabled and result is not None and (base.requires_grad or result.requires_grad):
                record = grad_fn_class("CopySlices")(new, (base.node, node), (_edge(base), _edge(result)))
                base.grad_fn, base._requires_grad = record, True
            writer = base
        else:
            new = views.write_back(storage.node, steps, node) if steps else node
            writer = None if steps else self
            if writer is not None and result is not None and result.grad_fn is not None:
                self.grad_fn, self._requires_grad = result.grad_fn, True
        storage.node = new
        if writer is not None:
            writer.node = new
            if new.buffer is None:
                realize.track(writer)
        _refresh(storage, writer)

    def _check_inplace(self) -> None:
        if not _grad_state.enabled:
            return
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = None if self._view is None else self._view.base
        if base is not None and base.requires_grad and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")

    def _assign(self, result: Tensor, cast: bool = False) -> Tensor:
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
        self._write(ops.cast(result.node, self.dtype), result)
        return self

    def _inplace(self, fn: Any, *args: Any) -> Tensor:
        self._check_inplace()
        return self._assign(fn(self, *args))

    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self._inplace(Tensor.add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self._inplace(Tensor.sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(Tensor.mul, other)

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        self._check_inplace()
        return self._assign(self.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(Tensor.pow, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(Tensor.clamp, min, max)

    def neg_(self) -> Tensor:
        return self._inplace(Tensor.neg)

    def exp_(self) -> Tensor:
        return self._inplace(Tensor.exp)

    def sqrt_(self) -> Tensor:
        return self._inplace(Tensor.sqrt)

    def zero_(self) -> Tensor:
        self._check_inplace()
        return self._assign(_record("ZeroBackward0", ops.full(self.node.shape, 0, self.dtype), self))

    def fill_(self, value: Any) -> Tensor:
        self._check_inplace()
        if isinstance(value, Tensor):
            node = ops.broadcast_to(ops.cast(value.node, self.dtype), self.node.shape)
            return self._assign(_record("FillBackward3", node, self, value))
        node = ops.broadcast_to(ops.scalar(value, self.dtype), self.node.shape)
        return self._assign(_record("FillBackward2", node, self))

    def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
        self._check_inplace()
        src = src if isinstance(src, Tensor) else _as_tensor(src, self.dtype)
        broadcast_shapes(src.node.shape, self.node.shape)
        node = ops.broadcast_to(ops.cast(src.node, self.dtype), self.node.shape)
        return self._assign(_record("CopyBackwards", node, self, src), cast=True)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # ---- elementwise arithmetic ----
    def _binary(self, other: Any, op: str, name: str, reverse: bool = False, float_only: bool = False) -> Tensor:
        """Promote, build ``op`` and record it under ``name`` (an empty name records no history)."""
        if isinstance(other, Tensor):
            a, b = self.node, other.node
            if a.dtype is not b.dtype or (float_only and not a.dtype.is_floating_point):  # else nothing to cast
                dtype = a.dtype if a.dtype is b.dtype else _promote(self, other)
                if float_only:
                    dtype = _float_dtype(dtype)
                a, b = ops.cast(a, dtype), ops.cast(b, dtype)
            inputs: tuple[Tensor, ...] = (self, other)
        else:
            a, kind = self.node, type(other)
            if kind is float or kind is int:  # the usual number: its promotion looked up directly
                value = other
                dtype = dtypes.WITH_SCALAR.get((a.dtype, kind)) or _with_scalar(a.dtype, value)
            else:
                value = _scalar_value(other)
                if value is None:
                    return NotImplemented
                dtype = _with_scalar(a.dtype, value)
            if float_only:
                dtype = _float_dtype(dtype)
            if dtype in dtypes.HALF:
                if op == "mul" or (op == "div" and not reverse):
                    # torch scales a 16-bit tensor by a Python number held in float32 and rounds the product
                    # once (it adds and compares the number rounded to the tensor's dtype, as below)
                    wide = apply(op, (ops.cast(a, dtypes.float32), ops.scalar(value, dtypes.float32)))
                    return _record(name, ops.cast(wide, dtype), self)
                b = ops.scalar(value, dtype)
            else:  # ``ops.scalar`` inline: a Python number enters as a 0-d input of the program
                b = Node("buffer", (), (), (), dtype, np.asarray(value, dtype.np))
            a = ops.cast(a, dtype)
            # torch makes the number a tensor operand of these ops: its record lists it as (None, 0)
            inputs = (self, _ABSENT) if name in _NUMBER_OPERAND else (self,)
        node = apply(op, (b, a) if reverse else (a, b))
        return _record(name, node, *inputs) if name else _wrap(node)

    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._binary(other, "add", "AddBackward0")

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._binary(other, "sub", "SubBackward0")

    def mul(self, other: Any) -> Tensor:
        return self._binary(other, "mul", "MulBackward0")

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            other = _integer_divisor(self, other, "div")
            result = self._binary(other, "div", "DivBackward0", float_only=True).trunc()
            return result if self.dtype.is_floating_point else result.to(_promote_any(self, other))
        return self._binary(other, "div", "DivBackward0", float_only=True)

    def pow(self, exponent: Any) -> Tensor:
        name = "PowBackward1" if isinstance(exponent, Tensor) else "PowBackward0"
        return self._binary(exponent, "pow", name)

    def remainder(self, other: Any) -> Tensor:
        # Python's %: the result takes the sign of the divisor.
        other = _integer_divisor(self, other, "remainder")
        divisor = other if isinstance(other, Tensor) else _as_tensor(other, _with_scalar(self.dtype, other))
        r = self._binary(other, "rem", "RemainderBackward0")
        fix = (r != 0) & ((r < 0) != (divisor < 0))
        return where(fix, r + divisor, r)

    def fmod(self, other: Any) -> Tensor:
        return self._binary(_integer_divisor(self, other, "fmod"), "rem", "FmodBackward0")

    def floor_divide(self, other: Any) -> Tensor:
        if self.dtype.is_floating_point or (isinstance(other, Tensor) and other.dtype.is_floating_point) or \
                isinstance(other, float):
            return (self / other).floor()
        other = _integer_divisor(self, other, "floor_divide")
        q = self._binary(other, "div", "DivBackward0")
        r = self._binary(other, "rem", "RemainderBackward0")
        divisor = other if isinstance(other, Tensor) else _as_tensor(other, q.dtype)
        return where((r != 0) & ((r < 0) != (divisor < 0)), q - 1, q)

    def maximum(self, other: Tensor) -> Tensor:
        return self._binary(other, "max", "MaximumBackward0")

    def minimum(self, other: Tensor) -> Tensor:
        return self._binary(other, "min", "MinimumBackward0")

    def atan2(self, other: Tensor) -> Tensor:
        return self._binary(other, "atan2", "Atan2Backward0", float_only=True)

    __add__ = add
    __sub__ = sub
    __mul__ = mul
    __truediv__ = div
    __pow__ = pow
    __mod__ = remainder
    __floordiv__ = floor_divide

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(other, "add", "AddBackward0", reverse=True)

    def __rsub__(self, other: Any) -> Tensor:
        return self._binary(other, "sub", "RsubBackward1", reverse=True)

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(other, "mul", "MulBackward0", reverse=True)

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._binary(other, "div", "MulBackward0", reverse=True, float_only=True)

    def __rpow__(self, other: Any) -> Tensor:
        return self._binary(other, "pow", "PowBackward2", reverse=True)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _as_tensor(other, _with_scalar(self.dtype, other)).floor_divide(self)

    def __rmod__(self, other: Any) -> Tensor:
        return _as_tensor(other, _with_scalar(self.dtype, other)).remainder(self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return matmul(other, self)

    # ---- comparisons and logic (no gradient) ----
    def _compare(self, other: Any, op: str) -> Tensor:
        if other is None or not (isinstance(other, Tensor) or _scalar_value(other) is not None):
            return NotImplemented
        return self._binary(other, op, "")

    def eq(self, other: Any) -> Tensor:
        return self._compare(other, "eq")

    def ne(self, other: Any) -> Tensor:
        return self._compare(other, "ne")

    def lt(self, other: Any) -> Tensor:
        return self._compare(other, "lt")

    def le(self, other: Any) -> Tensor:
        return self._compare(other, "le")

    def gt(self, other: Any) -> Tensor:
        return self._compare(other, "gt")

    def ge(self, other: Any) -> Tensor:
        return self._compare(other, "ge")

    __eq__ = eq  # type: ignore[assignment]
    __ne__ = ne  # type: ignore[assignment]
    __lt__ = lt
    __le__ = le
    __gt__ = gt
    __ge__ = ge

    def _logical(self, other: Any, op: str) -> Tensor:
        if self.dtype.is_floating_point or (isinstance(other, Tensor) and other.dtype.is_floating_point):
            raise RuntimeError(f"\"bitwise_{op}_cpu\" not implemented for 'Float'")
        return self._binary(other, op, "")

    def __and__(self, other: Any) -> Tensor:
        return self._logical(other, "and")

    def __or__(self, other: Any) -> Tensor:
        return self._logical(other, "or")

    def __xor__(self, other: Any) -> Tensor:
        return self._logical(other, "xor")

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        if self.dtype is dtypes.bool_:
            return _wrap(apply("logical_not", (self.node,)))
        if self.dtype.is_floating_point:
            raise TypeError("~ (bitwise_not) is only supported for integer and boolean tensors")
        return -self - 1

    def logical_not(self) -> Tensor:
        return _wrap(apply("logical_not", (self.bool().node,)))

    def logical_and(self, other: Tensor) -> Tensor:
        return self.bool() & other.bool()

    def logical_or(self, other: Tensor) -> Tensor:
        return self.bool() | other.bool()

    def isnan(self) -> Tensor:
        return self != self

    def isinf(self) -> Tensor:
        return self.abs() == math.inf

    def isfinite(self) -> Tensor:
        return (self == self) & (self.abs() != math.inf)

    def equal(self, other: Tensor) -> bool:
        return self.shape == other.shape and bool((self == other).all())

    def allclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        return bool(np.allclose(self._value(), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    # ---- elementwise unary ----
    def _unary(self, op: str, name: str, float_only: bool = True) -> Tensor:
        node = self.node
        if float_only and not self.dtype.is_floating_point:
            node = ops.cast(node, dtypes.default_float())
        return _record(name, apply(op, (node,)), self)

    def neg(self) -> Tensor:
        if self.dtype is dtypes.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return self._unary("neg", "NegBackward0", float_only=False)

    __neg__ = neg
    negative = neg

    def __pos__(self) -> Tensor:
        return self

    def exp(self) -> Tensor:
        return self._unary("exp", "ExpBackward0")

    def log(self) -> Tensor:
        return self._unary("log", "LogBackward0")

    def sqrt(self) -> Tensor:
        return self._unary("sqrt", "SqrtBackward0")

    def rsqrt(self) -> Tensor:
        return self._unary("rsqrt", "RsqrtBackward0")

    def sin(self) -> Tensor:
        return self._unary("sin", "SinBackward0")

    def cos(self) -> Tensor:
        return self._unary("cos", "CosBackward0")

    def tanh(self) -> Tensor:
        return self._unary("tanh", "TanhBackward0")

    def sigmoid(self) -> Tensor:
        return self._unary("logistic", "SigmoidBackward0")

    def log1p(self) -> Tensor:
        return self._unary("log1p", "Log1PBackward0")

    def expm1(self) -> Tensor:
        return self._unary("expm1", "Expm1Backward0")

    def erf(self) -> Tensor:
        return self._unary("erf", "ErfBackward0")

    def abs(self) -> Tensor:
        if self.dtype is dtypes.bool_:
            return self
        return self._unary("abs", "AbsBackward0", float_only=False)

    __abs__ = abs

    def sign(self) -> Tensor:
        return self._unary("sign", "SignBackward0", float_only=False)

    def floor(self) -> Tensor:
        return self if not self.dtype.is_floating_point else self._unary("floor", "FloorBackward0")

    def ceil(self) -> Tensor:
        return self if not self.dtype.is_floating_point else self._unary("ceil", "CeilBackward0")

    def round(self, *, decimals: int = 0) -> Tensor:
        if not self.dtype.is_floating_point:
            return self
        if decimals == 0:
            return self._unary("round", "RoundBackward0")
        # torch's way: scale, round half to even, scale back (10 ** -d is inexact, so divide by 10 ** d).
        scale = ops.scalar(10.0 ** abs(decimals), self.dtype)
        scaled = apply("mul" if decimals > 0 else "div", (self.node, scale))
        node = apply("div" if decimals > 0 else "mul", (apply("round", (scaled,)), scale))
        return _record("RoundBackward1", node, self)

    def trunc(self) -> Tensor:
        if not self.dtype.is_floating_point:
            return self
        return _record("TruncBackward0", apply("mul", (apply("sign", (self.node,)),
                                                        apply("floor", (apply("abs", (self.node,)),)))), self)

    def reciprocal(self) -> Tensor:
        node = ops.cast(self.node, _float_dtype(self.dtype))
        return _record("ReciprocalBackward0", ops.div(ops.const(1, node.dtype), node), self)

    def square(self) -> Tensor:
        return _record("PowBackward0", ops.mul(self.node, self.node), self)

    def relu(self) -> Tensor:
        zero = ops.const(0, self.dtype)
        # "x <= 0" rather than "x > 0": NaN fails both tests, and must come out as NaN, as in torch.
        return _record("ReluBackward0", ops.select(apply("le", (self.node, zero)), zero, self.node), self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        dtype = self.dtype
        for bound in (min, max):
            if bound is not None:
                dtype = _promote(self, bound) if isinstance(bound, Tensor) else _with_scalar(dtype, bound)
        node = ops.cast(self.node, dtype)
        # Selects rather than max/min: the gradient passes wherever the input is kept, bounds included,
        # and a NaN input stays NaN, as in torch.
        for bound, outside in ((min, "lt"), (max, "gt")):
            if bound is not None:
                b = ops.cast(bound.node, dtype) if isinstance(bound, Tensor) else ops.scalar(bound, dtype)
                node = ops.select(apply(outside, (node, b)), ops.broadcast_to(b, node.shape), node)
        tensor_bounds = [b for b in (min, max) if isinstance(b, Tensor)]
        return _record("ClampBackward0" if tensor_bounds else "ClampBackward1", node, self, *tensor_bounds)

    clip = clamp

    # ---- reductions ----
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False,
            dtype: DType | None = None) -> Tensor:
        node = self.node
        target = dtype or (self.dtype if self.dtype.is_floating_point else dtypes.int64)
        node = ops.cast(node, target)
        name = "SumBackward0" if dim is None else "SumBackward1"
        return _record(name, ops.reduce("reduce_sum", node, _dims(dim, self.ndim), keepdim), self)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False,
             dtype: DType | None = None) -> Tensor:
        target = dtype or self.dtype
        if not target.is_floating_point:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {_torch_type_name(self.dtype)}")
        axes = _dims(dim, self.ndim)
        count = math.prod(self.node.shape[a] for a in axes)
        wide = dtypes.float32 if target in dtypes.HALF else target  # torch divides the float32 sum, rounds once
        total = ops.reduce("reduce_sum", ops.cast(self.node, wide), axes, keepdim)
        node = ops.cast(ops.div(total, ops.const(count if count else math.nan, wide)), target)
        return _record("MeanBackward0" if dim is None else "MeanBackward1", node, self)

    @float32_op
    def prod(self, dim: int | None = None, keepdim: bool = False, dtype: DType | None = None) -> Tensor:
        target = dtype or (self.dtype if self.dtype.is_floating_point else dtypes.int64)
        node = ops.reduce("reduce_prod", ops.cast(self.node, target), _dims(dim, self.ndim), keepdim)
        return _record("ProdBackward0" if dim is None else "ProdBackward1", node, self)

    def _extremum(self, op: str, arg_op: str, name: str, dim: int | None, keepdim: bool) -> Any:
        if self.numel() == 0 and dim is None:
            raise RuntimeError(f"{name[:3].lower()}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        if dim is None:
            return _record(name + "Backward1", ops.reduce(op, self.node, range(self.ndim)), self)
        axis = _dim(dim, self.ndim)
        _nonempty(name.lower(), self, axis)
        if self.ndim == 0:
            return ReturnTypes(self.clone(), zeros_like_int(self))
        indices = apply(arg_op, (self.node,), (axis,))
        keep_shape = ops.keep_dims_shape(self.node.shape, (axis,))
        # The values are gathered at the returned index, so the gradient goes to that element only.
        hit = apply("eq", (ops.iota(self.node.shape, axis), ops.broadcast_to(ops.reshape(indices, keep_shape),
                                                                            self.node.shape)))
        picked = ops.select(hit, self.node, ops.const(0, self.dtype))
        values = ops.reduce("reduce_sum", picked, (axis,), keepdim)
        idx = _wrap(ops.reshape(indices, keep_shape) if keepdim else indices)
        return ReturnTypes(_record(name + "Backward0", values, self), idx)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._extremum("reduce_max", "argmax", "Max", dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._extremum("reduce_min", "argmin", "Min", dim, keepdim)

    def amax(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        axes = _extremum_axes("amax", self, dim)
        return _record("AmaxBackward0", ops.reduce("reduce_max", self.node, axes, keepdim), self)

    def amin(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        axes = _extremum_axes("amin", self, dim)
        return _record("AminBackward0", ops.reduce("reduce_min", self.node, axes, keepdim), self)

    def _arg(self, op: str, dim: int | None, keepdim: bool) -> Tensor:
        if dim is None and self.numel() == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        if dim is None:
            flat = ops.reshape(self.node, (self.numel(),))
            node = apply(op, (flat,), (0,))
            return _wrap(ops.reshape(node, (1,) * self.ndim) if keepdim else node)
        axis = _dim(dim, self.ndim)
        _nonempty(op, self, axis)
        if self.ndim == 0:
            return _wrap(ops.const(0, dtypes.int64))
        node = apply(op, (self.node,), (axis,))
        return _wrap(ops.reshape(node, ops.keep_dims_shape(self.node.shape, (axis,))) if keepdim else node)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmin", dim, keepdim)

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        as_int = ops.cast(apply("ne", (self.node, ops.const(0, self.dtype))), dtypes.int64)
        total = ops.reduce("reduce_min", as_int, _dims(dim, self.ndim), keepdim)
        return _wrap(ops.cast(total, dtypes.bool_))

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        as_int = ops.cast(apply("ne", (self.node, ops.const(0, self.dtype))), dtypes.int64)
        total = ops.reduce("reduce_max", as_int, _dims(dim, self.ndim), keepdim)
        return _wrap(ops.cast(total, dtypes.bool_))

    def norm(self, p: Any = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False,
             dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).norm(p, dim, keepdim)
        x = self.node if self.dtype.is_floating_point else ops.cast(self.node, dtypes.default_float())
        axes = _dims(dim, self.ndim)
        if p in ("fro", 2, 2.0):
            squares = ops.reduce("reduce_sum", ops.mul(x, x), axes, keepdim)
            # sqrt of a zero norm has an infinite slope; route it through a safe value so the
            # gradient at the zero vector is 0, as torch defines it.
            zero = ops.const(0, x.dtype)
            is_zero = apply("eq", (squares, zero))
            safe = ops.select(is_zero, ops.const(1, x.dtype), squares)
            node = ops.select(is_zero, zero, apply("sqrt", (safe,)))
        elif p in (math.inf, "inf", -math.inf):
            node = ops.reduce("reduce_max" if p != -math.inf else "reduce_min", apply("abs", (x,)), axes, keepdim)
        elif p == 0:  # the count of nonzero elements: no gradient
            node = ops.reduce("reduce_sum", ops.cast(apply("ne", (x, ops.const(0, x.dtype))), x.dtype), axes, keepdim)
        elif p == 1:
            node = ops.reduce("reduce_sum", apply("abs", (x,)), axes, keepdim)
        else:
            node = _p_norm(x, float(p), axes, keepdim)
        return _record("LinalgVectorNormBackward0", node, self)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        return _record("VarBackward0", _variance(self, dim, unbiased, keepdim, correction), self)

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        node = apply("sqrt", (_variance(self, dim, unbiased, keepdim, correction),))
        return _record("StdBackward0", node, self)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        axes = _dims(dim, self.ndim)
        x = self.node if self.dtype.is_floating_point else ops.cast(self.node, dtypes.default_float())
        peak = ops.reduce("reduce_max", x, axes, keepdims=True)
        # Shift by the (finite) maximum so exp cannot overflow. The shift cancels, so it is not
        # differentiated (as torch's backward, and fewer nodes).
        finite = apply("eq", (apply("abs", (peak,)), ops.const(math.inf, x.dtype)))
        peak = apply("stop_gradient", (ops.select(finite, ops.const(0, x.dtype), peak),))
        shifted = apply("exp", (apply("sub", (x, peak)),))
        node = apply("add", (apply("log", (ops.reduce("reduce_sum", shifted, axes, keepdims=True),)), peak))
        if not keepdim:
            node = ops.reshape(node, tuple(d for i, d in enumerate(self.node.shape) if i not in axes))
        return _record("LogsumexpBackward0", node, self)

    def _shifted_by_max(self, axis: int) -> Node:
        """``x - max(x)`` along ``axis`` in floating point; the shift cancels in softmax, so it has no gradient."""
        x = _widened(self)
        peak = apply("stop_gradient", (ops.reduce("reduce_max", x, (axis,), keepdims=True),))
        return apply("sub", (x, peak))

    def softmax(self, dim: int, dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).softmax(dim)
        axis = _dim(dim, self.ndim)
        e = apply("exp", (self._shifted_by_max(axis),))
        node = ops.div(e, ops.reduce("reduce_sum", e, (axis,), keepdims=True))
        return _record("SoftmaxBackward0", ops.cast(node, _float_dtype(self.dtype)), self)

    def log_softmax(self, dim: int, dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).log_softmax(dim)
        axis = _dim(dim, self.ndim)
        shifted = self._shifted_by_max(axis)
        total = ops.reduce("reduce_sum", apply("exp", (shifted,)), (axis,), keepdims=True)
        node = apply("sub", (shifted, apply("log", (total,))))
        return _record("LogSoftmaxBackward0", ops.cast(node, _float_dtype(self.dtype)), self)

    def cumsum(self, dim: int, *, dtype: DType | None = None) -> Tensor:
        if dtype is not None:
            return self.to(dtype).cumsum(dim)
        node = self.node if self.dtype.is_floating_point else ops.cast(self.node, dtypes.int64)
        return _record("CumsumBackward0", apply("cumsum", (node,), (_dim(dim, self.ndim),)), self)

    # ---- shape ----
    def reshape(self, *shape: Any) -> Tensor:
        """A view when torch could lay the new shape over the same memory, else a copy (as torch)."""
        new = _infer_shape(_sizes(shape), self.numel())
        if self._view is not None and self._view.steps:
            old, strides, _ = _layout(self)
            if views.reshaped_strides(old, strides, new) is None:
                return _record("UnsafeViewBackward0", ops.reshape(self.node, new), self)
        return _as_view(self, _record("ViewBackward0", ops.reshape(self.node, new), self))

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], DType):
            raise NotImplementedError("view(dtype) reinterprets bits, which lazygrad does not support")
        new = _infer_shape(_sizes(shape), self.numel())
        if self._view is not None and self._view.steps:
            old, strides, _ = _layout(self)
            if views.reshaped_strides(old, strides, new) is None:
                raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                   "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return _as_view(self, _record("ViewBackward0", ops.reshape(self.node, new), self))

    def is_contiguous(self, memory_format: Any = None) -> bool:
        shape, strides, _ = _layout(self)
        return views.is_contiguous(shape, strides)

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        strides = _layout(self)[1]
        return strides if dim is None else strides[_dim(dim, self.ndim)]

    def storage_offset(self) -> int:
        return _layout(self)[2]

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        if start == end:  # nothing to merge: torch hands back the tensor itself
            return self
        shape = self.node.shape
        return self.reshape(*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        axis = _dim(dim, self.ndim)
        shape = self.node.shape
        sizes = _infer_shape(tuple(sizes), shape[axis])
        return self.reshape(*shape[:axis], *sizes, *shape[axis + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        axis = _dim(dim, self.ndim + 1)
        shape = self.node.shape
        return _as_view(self, _record("UnsqueezeBackward0", ops.reshape(self.node, (*shape[:axis], 1, *shape[axis:])),
                                      self))

    def squeeze(self, dim: int | Sequence[int] | None = None, *dims: int) -> Tensor:
        if dims:  # squeeze(0, 1), as torch also takes
            dim = (dim, *dims)
        shape = self.node.shape
        axes = _dims(dim, self.ndim) if dim is not None else tuple(i for i, d in enumerate(shape) if d == 1)
        new = tuple(d for i, d in enumerate(shape) if not (i in axes and d == 1))
        name = "SqueezeBackward0" if dim is None else "SqueezeBackward1"
        return _as_view(self, _record(name, ops.reshape(self.node, new), self))

    def permute(self, *dims: Any) -> Tensor:
        perm = tuple(_dim(d, self.ndim) for d in _sizes(dims))
        if sorted(perm) != list(range(self.ndim)):
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(perm)}" if len(perm) != self.ndim else
                               "permute(): duplicate dims are not allowed.")
        return _as_view(self, _record("PermuteBackward0", ops.permute(self.node, perm), self))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        perm = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        perm[a], perm[b] = perm[b], perm[a]
        return _as_view(self, _record("TransposeBackward0", ops.permute(self.node, perm), self))

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return _as_view(self, _record("TBackward0", ops.permute(self.node, tuple(reversed(range(self.ndim)))), self))

    @property
    def T(self) -> Tensor:
        return _as_view(self, _record("PermuteBackward0", ops.permute(self.node, tuple(reversed(range(self.ndim)))),
                                      self))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(torch.{_torch_type_name(self.dtype)}Tensor{{{list(self.shape)}}}, "
                               f"size={list(sizes)}): the number of sizes provided ({len(sizes)}) must be greater or "
                               f"equal to the number of dimensions in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = []
        for i, size in enumerate(sizes):
            own = self.node.shape[i - lead] if i >= lead else None
            if size == -1:
                if own is None:
                    raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a leading, "
                                       "non-existing dimension 0")
                size = own
            if own is not None and own != 1 and own != size:
                raise RuntimeError(f"The expanded size of the tensor ({size}) must match the existing size ({own}) at "
                                   f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(self.shape)}")
            target.append(size)
        return _as_view(self, _record("ExpandBackward0", ops.broadcast_to(self.node, tuple(target)), self))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def broadcast_to(self, *size: Any) -> Tensor:
        return self.expand(*size)

    def repeat(self, *sizes: Any) -> Tensor:
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                               "tensor")
        shape = (1,) * (len(sizes) - self.ndim) + self.node.shape
        # Tile by broadcasting a new axis in front of each existing one, then merging the pairs.
        spread = ops.reshape(self.node, tuple(x for d in shape for x in (1, d)))
        tiled = ops.broadcast_to(spread, tuple(x for r, d in zip(sizes, shape) for x in (r, d)))
        return _record("RepeatBackward0", ops.reshape(tiled, tuple(r * d for r, d in zip(sizes, shape))), self)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        return self if self.is_contiguous() else self.clone()

    def clone(self, *, memory_format: Any = None) -> Tensor:
        return _record("CloneBackward0", self.node, self)

    def flip(self, dims: int | Sequence[int], *more: int) -> Tensor:
        axes = _dims((dims, *more) if more else dims, self.ndim)
        return _record("FlipBackward0", apply("rev", (self.node,), (axes,)) if axes else self.node, self)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        axis = _dim(dim, self.ndim)
        n = self.node.shape[axis]
        name = "SplitBackward0" if isinstance(split_size, int) else "SplitWithSizesBackward0"
        if isinstance(split_size, int):
            sizes = [min(split_size, n - s) for s in range(0, n, split_size)] or [0]
        else:
            sizes = list(split_size)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {dim}), but got split_sizes={sizes}")
        out, start = [], 0
        for size in sizes:
            out.append(self._narrow(axis, start, size, name))
            start += size
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        n = self.node.shape[_dim(dim, self.ndim)]
        return self.split(max(1, -(-n // chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        axis = _dim(dim, self.ndim)
        return tuple(self._select(axis, i, "UnbindBackward0") for i in range(self.node.shape[axis]))

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return self._narrow(_dim(dim, self.ndim), start, length, "SliceBackward0")

    def _narrow(self, axis: int, start: int, length: int, grad_fn_name: str) -> Tensor:
        shape = self.node.shape
        starts = tuple(start if i == axis else 0 for i in range(self.ndim))
        stops = tuple(start + length if i == axis else d for i, d in enumerate(shape))
        return _as_view(self, _record(grad_fn_name, ops.window(self.node, starts, stops, (1,) * self.ndim), self))

    def select(self, dim: int, index: int) -> Tensor:
        return self._select(_dim(dim, self.ndim), index, "SelectBackward0")

    def _select(self, axis: int, index: int, grad_fn_name: str) -> Tensor:
        size = self.node.shape[axis]
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension {axis} with size {size}")
        index %= size
        shape = self.node.shape
        starts = tuple(index if i == axis else 0 for i in range(self.ndim))
        stops = tuple(index + 1 if i == axis else d for i, d in enumerate(shape))
        node = ops.window(self.node, starts, stops, (1,) * self.ndim)
        return _as_view(self, _record(grad_fn_name, ops.reshape(node, shape[:axis] + shape[axis + 1:]), self))

    # ---- indexing ----
    def __getitem__(self, index: Any) -> Tensor:
        from .indexing import getitem

        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        from .indexing import setitem

        setitem(self, index, value)

    def gather(self, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
        from .index_ops import gather

        return gather(self, dim, index)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        from .index_ops import scatter_add

        return scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return self._inplace(Tensor.scatter_add, dim, index, src)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        from .index_ops import index_select

        return index_select(self, dim, index)

    # ---- linear algebra ----
    def dot(self, tensor: Tensor) -> Tensor:
        return dot(self, tensor)

    def matmul(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def mm(self, mat2: Tensor) -> Tensor:
        return matmul(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return matmul(self, mat2)

    def mv(self, vec: Tensor) -> Tensor:
        return matmul(self, vec)

    # ---- conversion ----
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        dtype = kwargs.get("dtype")
        target = kwargs.get("device")
        other = kwargs.get("other")
        if other is not None:
            dtype, target = other.dtype, other.device
        for a in args:
            if isinstance(a, (DType, type, np.dtype)):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, target = a.dtype, a.device
            elif isinstance(a, (str, device_)):
                target = a
        out = self
        if dtype is not None and dtypes.to_dtype(dtype) is not self.dtype:
            out = _record("ToCopyBackward0", ops.cast(self.node, dtypes.to_dtype(dtype)), self)
        elif kwargs.get("copy"):
            out = self.clone()
        # Cast, then move: the cast runs where the data is, and the result lives entirely on the target.
        return out if target is None else move_to(out, target)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        if dtype is None:
            return f"torch.{_torch_type_name(self.dtype)}Tensor"
        return self.to(dtype)

    def float(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.float32)

    def double(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.float64)

    def half(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.float16)

    def bfloat16(self) -> Tensor:
        return self.to(dtypes.bfloat16)

    def long(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.int64)

    def int(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self, memory_format: Any = None) -> Tensor:
        return self.to(dtypes.bool_)

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self.to("cpu")


# ---- helpers used by several ops ----------------------------------------------------------------------


def _torch_type_name(dtype: DType) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[dtype.name]


def _promote(a: Tensor, b: Tensor) -> DType:
    dim = zero = None
    for t in (a, b):
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


def _as_tensor(value: Any, dtype: DType) -> Tensor:
    from .creation import tensor

    return tensor(value, dtype=dtype)


def _infer_shape(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(d for d in shape if d != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if d == -1 else d for d in shape)
    if math.prod(shape) != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _variance(x: Tensor, dim: Any, unbiased: bool | None, keepdim: bool, correction: int | None) -> Node:
    if isinstance(dim, bool):  # var(unbiased) positional form
        dim, unbiased = None, dim
    ddof = correction if correction is not None else (0 if unbiased is False else 1)
    node = x.node if x.dtype.is_floating_point else ops.cast(x.node, dtypes.default_float())
    axes = _dims(dim, x.ndim)
    count = math.prod(x.node.shape[a] for a in axes)
    mean = ops.div(ops.reduce("reduce_sum", node, axes, keepdims=True), ops.const(count, node.dtype))
    centered = apply("sub", (node, mean))
    total = ops.reduce("reduce_sum", ops.mul(centered, centered), axes, keepdim)
    denom = count - ddof
    return ops.div(total, ops.const(denom if denom > 0 else math.nan, node.dtype))


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


def zeros_like_int(x: Tensor) -> Tensor:
    return _wrap(ops.full(x.node.shape, 0, dtypes.int64))


# ---- functions with several tensor inputs -------------------------------------------------------------


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    a, b = input, tensor
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_torch_type_name(a.dtype)} and {_torch_type_name(b.dtype)}")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")
    return _record("DotBackward0", apply("dot_general", (a.node, b.node), ((0,), (0,), (), ())), a, b)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """torch.matmul: dot, matrix-vector, matrix-matrix and broadcast batched products."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): argument 'other' must be Tensor")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    if _autocast.active:
        a, b = _autocast_lower(a, b)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C10_NAMES[a.dtype.name]} != "
                           f"{_C10_NAMES[b.dtype.name]}")
    if a.ndim == 1 and b.ndim == 1:
        return dot(a, b)
    la, lb = a.node.shape, b.node.shape
    k_a = la[-1]
    k_b = lb[-2] if b.ndim > 1 else lb[0]
    if k_a != k_b:
        _matmul_mismatch(la, lb)
    if a.ndim <= 2 and b.ndim <= 2:
        node = apply("dot_general", (a.node, b.node), ((a.ndim - 1,), (0,), (), ()))
        name = "MmBackward0" if a.ndim == 2 and b.ndim == 2 else ("MvBackward0" if a.ndim == 2 else "SqueezeBackward4")
        return _record(name, node, a, b)
    # Batched: broadcast the batch axes, contract the last axis of a with the second-to-last of b.
    an = a.node if a.ndim > 1 else ops.reshape(a.node, (1, la[0]))
    bn = b.node if b.ndim > 1 else ops.reshape(b.node, (lb[0], 1))
    batch = broadcast_shapes(an.shape[:-2], bn.shape[:-2])
    an = ops.broadcast_to(an, batch + an.shape[-2:])
    bn = ops.broadcast_to(bn, batch + bn.shape[-2:])
    nb = len(batch)
    node = apply("dot_general", (an, bn), ((nb + 1,), (nb,), tuple(range(nb)), tuple(range(nb))))
    out_shape = batch + ((la[-2],) if a.ndim > 1 else ()) + ((lb[-1],) if b.ndim > 1 else ())
    name = "UnsafeViewBackward0"
    if b.ndim >= 3 and (a.ndim == 2 or (a.ndim == b.ndim == 3 and la[0] == 1 and lb[0] > 1)):
        # torch computes a single matrix times a batch as a transposed product, made contiguous unless it is
        name = "CloneBackward0" if la[-2] > 1 and lb[-1] > 1 else "TransposeBackward0"
    return _record(name, ops.reshape(node, out_shape), a, b)


# How torch's C++ core spells dtypes in some messages.
_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


def _matmul_mismatch(la: tuple[int, ...], lb: tuple[int, ...]) -> None:
    """Raise torch's message for the kernel that torch would pick: mv, mm (batch folded into rows) or bmm."""
    rows = math.prod(la[:-1]) if len(la) > 1 else 1
    if len(lb) == 1:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{la[-1]}), vec ({lb[0]})")
    if len(lb) == 2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{la[-1]} and {lb[0]}x{lb[1]})")
    batch = math.prod(broadcast_shapes(la[:-2], lb[:-2]))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {la[-1]}] but got: "
                       f"[{batch}, {lb[-2]}].")


def where(condition: Tensor, x: Any, y: Any) -> Tensor:
    """Elementwise choice; scalars take the dtype of the tensor operand, as in torch."""
    tensors = [t for t in (x, y) if isinstance(t, Tensor)]
    if tensors:
        dtype = tensors[0].dtype if len(tensors) == 1 else _promote(x, y)
        for s in (x, y):
            if not isinstance(s, Tensor):
                dtype = _with_scalar(dtype, s)
    else:
        dtype = dtypes.promote_types(dtypes.scalar_dtype(x), dtypes.scalar_dtype(y))

    def node_of(v: Any) -> Node:
        return ops.cast(v.node, dtype) if isinstance(v, Tensor) else ops.scalar(v, dtype)

    cond = condition.node if condition.dtype is dtypes.bool_ else ops.cast(condition.node, dtypes.bool_)
    node = ops.select(cond, node_of(x), node_of(y))
    return _record("WhereBackward0", node, *tensors)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    # torch skips 1-D empty tensors, a legacy way to start an accumulation.
    tensors = [t for t in tensors if t.shape != (0,)] or list(tensors[:1])
    first = tensors[0]
    axis = _dim(dim, first.ndim)
    dtype = first.dtype
    for i, t in enumerate(tensors[1:], 1):
        dtype = dtypes.promote_types(dtype, t.dtype)
        if t.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}")
        for j, (want, got) in enumerate(zip(first.shape, t.shape)):
            if j != axis and want != got:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size {want} "
                                   f"but got size {got} for tensor number {i} in the list.")
    nodes = tuple(ops.cast(t.node, dtype) for t in tensors)
    node = nodes[0] if len(nodes) == 1 else apply("concat", nodes, (axis,))
    return _record("CatBackward0", node, *tensors)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                               f"{list(t.shape)} at entry {i}")
    axis = _dim(dim, len(first) + 1)
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.promote_types(dtype, t.dtype)
    shape = (*first[:axis], 1, *first[axis:])
    parts = tuple(ops.reshape(ops.cast(t.node, dtype), shape) for t in tensors)
    node = parts[0] if len(parts) == 1 else apply("concat", parts, (axis,))
    return _record("StackBackward0", node, *tensors)
