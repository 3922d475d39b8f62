"""Reading and writing by index: gather, scatter, scatter_add, index_select, embedding and advanced indexing.

All of them lower to the two indexing primitives: ``gather`` (``numpy.take`` along one axis) and its
transpose ``scatter_add``. A torch op that indexes several axes at once (``gather`` with per-element
indices, ``x[rows, cols]``) first folds those axes into one and combines the indices into positions
along it, so every read is one ``gather`` of exactly the elements it returns, and its gradient one
``scatter_add``: no one-hot masks whose size grows with the indexed axis.

A boolean mask selects a data-dependent number of elements, so reading through one reads the mask's
value first, as torch must too. Indices whose values are already known are checked against the sizes
with torch's messages at the op; pending ones pass through a check node (``checks``), which raises the
same error when the program computes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import checks, dtypes, ops
from .creation import tensor
from .ir import Node, apply, broadcast_shapes
from .tensor import Tensor, _check_fits, _dim, _record, _torch_type_name, attach

_INT = dtypes.int64


class _Rule(NamedTuple):
    """How an op reads indices: whether negatives count from the end, and torch's errors for bad ones."""

    wraps: bool
    error: type[Exception]
    message: str  # for an index out of range: "{}" takes the index, {dim} and {size} the axis and its size
    # for indices of a non-integer dtype, a RuntimeError (indexing rejects them earlier, with an IndexError)
    dtype_message: str


_OUT_OF_BOUNDS = "index {{}} is out of bounds for dimension {dim} with size {size}"
_NOT_INT = "{op}(): Expected dtype int32/int64 for index"
_RULES = {
    "gather": _Rule(False, RuntimeError, _OUT_OF_BOUNDS, _NOT_INT.format(op="gather")),
    "scatter_add": _Rule(False, RuntimeError, _OUT_OF_BOUNDS, _NOT_INT.format(op="scatter")),
    "index_select": _Rule(False, IndexError, "index out of range in self",
                          "index_select(): Expected dtype int32 or int64 for index"),
    "indexing": _Rule(True, IndexError, _OUT_OF_BOUNDS, "tensors used as indices must be long, int, byte or bool "
                                                     "tensors"),
}
_RULES["index_fill"] = _Rule(True, IndexError, _OUT_OF_BOUNDS, "index_fill_(): Expected dtype int64 for index.")
_RULES["index_add"] = _Rule(False, IndexError, "index out of range in self",
                            "index_add_(): Expected dtype int32/int64 for index")
_RULES["index_put_"] = _RULES["indexing"]
_RULES["embedding"] = _RULES["index_select"]
_RULES["take"] = _Rule(True, IndexError, "out of range: tried to access index {{}} on a tensor of {size} elements.",
                       "take(): Expected a long tensor for index")


def _index_node(index: Tensor, size: int, dim: int, op: str) -> Node:
    """``index`` as int64 positions in [0, size), read by ``op``'s rule: negatives wrap if it allows them.

    Known values are checked now; pending ones go through a check node, verified when they are computed.
    """
    rule = _RULES[op]
    if index.dtype.is_floating_point or index.dtype is dtypes.bool_:
        raise RuntimeError(rule.dtype_message)
    node = ops.cast(index.node, _INT)
    low = -size if rule.wraps else 0
    message = rule.message.format(dim=dim, size=size)
    if index.node.buffer is not None:
        _check_known(index._value(), low, size, rule.error, message)
    else:
        node = checks.guard(node, checks.in_range(node, low, size), rule.error, message, op)
    if not rule.wraps:
        return node
    negative = apply("lt", (node, ops.const(0, _INT)))
    return ops.select(negative, ops.add(node, ops.const(size, _INT)), node)


def _check_known(values: np.ndarray, low: int, high: int, error: type[Exception], message: str) -> None:
    bad = values[(values < low) | (values >= high)]
    if bad.size:
        raise error(message.format(int(bad.flat[0])))


def _fold(coords: Sequence[Node], sizes: Sequence[int]) -> Node:
    """Row-major positions of the coordinate tuples ``coords`` in a box of ``sizes``."""
    flat = coords[0]
    for coord, size in zip(coords[1:], sizes[1:]):
        flat = ops.add(ops.mul(flat, ops.const(size, _INT)), coord)
    return flat


def _coordinates(input: Tensor, dim: int, index: Tensor, op: str, name: str) -> Node:
    """torch.gather/scatter positions: ``index`` along ``dim``, the element's own coordinate elsewhere."""
    if index.ndim != input.ndim:
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {name} tensor")
    for a, (i, s) in enumerate(zip(index.shape, input.shape)):
        if a != dim and i > s:
            raise RuntimeError(f"Size does not match at dimension {a} expected index {list(index.shape)} to be "
                               f"smaller than self {list(input.shape)} apart from dimension {dim}")
    shape = index.node.shape
    along = _index_node(index, input.shape[dim] if input.ndim else 1, dim, op)
    coords = [along if a == dim else ops.iota(shape, a) for a in range(len(shape))]
    return _fold(coords, input.shape) if coords else along


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` (for ``dim=0``): per-element picks along ``dim``."""
    axis = _dim(dim, input.ndim)
    flat = _coordinates(input, axis, index, "gather", "input")
    node = apply("gather", (ops.reshape(input.node, (input.numel(),)), ops.reshape(flat, (math.prod(flat.shape),))),
                 (0,))
    return _record("GatherBackward0", ops.reshape(node, index.node.shape), input)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` plus each ``src`` element added at the position ``gather`` would read it from."""
    axis = _dim(dim, input.ndim)
    if src.dtype is not input.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
        raise RuntimeError(f"Expected index {list(index.shape)} to be smaller than self {list(input.shape)} apart "
                           f"from dimension {axis} and to be smaller size than src {list(src.shape)}")
    flat = _coordinates(input, axis, index, "scatter_add", "self")
    count = math.prod(flat.shape)
    updates = ops.slice_(src.node, (0,) * src.ndim, index.node.shape, (1,) * src.ndim)
    added = apply("scatter_add", (ops.reshape(updates, (count,)), ops.reshape(flat, (count,))), (0, input.numel()))
    return _record("ScatterAddBackward0", ops.add(input.node, ops.reshape(added, input.node.shape)), input, src)


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None, *,
            reduce: str | None = None) -> Tensor:
    """``input`` with ``src`` (a tensor, or one number) written at the positions ``gather`` would read it from.

    Where ``index`` repeats a position the last value stays, as torch's CPU kernel writes them in order.
    ``reduce="add"`` adds instead.
    """
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if reduce == "multiply":
        raise NotImplementedError("scatter(reduce='multiply') is not supported; multiply the gathered values instead")
    axis = _dim(dim, input.ndim)
    source = src if src is not None else value
    flat = _coordinates(input, axis, index, "scatter_add", "self")
    count = math.prod(flat.shape)
    if isinstance(source, Tensor):
        if source.dtype is not input.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        updates = ops.slice_(source.node, (0,) * source.ndim, index.node.shape, (1,) * source.ndim)
        name, inputs = "ScatterBackward0", (input, source)
    else:
        updates = ops.broadcast_to(ops.scalar(source, input.dtype), index.node.shape)
        name, inputs = "ScatterBackward1", (input,)
    flat = ops.reshape(flat, (count,))
    updates = ops.reshape(updates, (count,))
    if reduce == "add":  # torch records no gradient formula for the reducing forms
        placed = apply("scatter_add", (updates, flat), (0, input.numel()))
        return _record("NotImplemented", ops.add(input.node, ops.reshape(placed, input.node.shape)), *inputs)
    # a position repeats only along ``axis`` (one-hot's (n, 1) index never does): no sort otherwise
    along = index.shape[axis] if index.ndim else 1
    repeats = along > 1 and (index.node.buffer is None or _repeats_along(index._value(), axis))
    return _record(name, _overwrite(input.node, updates, flat, repeats), *inputs)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (a vector) along ``dim``."""
    axis = _dim(dim, input.ndim)
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    size = input.shape[axis] if input.ndim else 1
    node = apply("gather", (input.node if input.ndim else ops.reshape(input.node, (1,)),
                            ops.reshape(_index_node(index, size, axis, "index_select"), (index.numel(),))), (axis,))
    return _record("IndexSelectBackward0", ops.reshape(node, input.node.shape) if not input.ndim else node, input)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` at the integer positions ``input``: one gather, whose gradient is one scatter_add.

    torch reads the padding row like any other but gives it no gradient: padding positions take their rows
    through ``stop_gradient``, so the scatter_add of the gradient receives zeros there.
    """
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.dtype.is_floating_point or input.dtype is dtypes.bool_:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    rows = weight.shape[0]
    flat = ops.reshape(_index_node(input, rows, 0, "embedding"), (input.numel(),))
    if padding_idx is None:
        node = apply("gather", (weight.node, flat), (0,))
    else:
        if not -rows <= padding_idx < rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= rows
        hit = ops.reshape(apply("eq", (flat, ops.const(padding_idx, _INT))), (input.numel(), 1))
        read = apply("gather", (weight.node, flat), (0,))
        node = ops.select(ops.broadcast_to(hit, read.shape), apply("stop_gradient", (read,)), read)
    # torch's record lists the weight only: the indices are integers, never differentiated.
    return _record("EmbeddingBackward0", ops.reshape(node, (*input.node.shape, weight.shape[1])), weight)


# ---- advanced indexing ---------------------------------------------------------------------------------


def _as_tuple(index: Any) -> Any:
    """torch reads a short list holding sequences, tensors, slices or None as a tuple of indices."""
    if isinstance(index, list) and len(index) < 32 and any(
            isinstance(i, (list, tuple, Tensor, slice)) or i is None or i is Ellipsis for i in index):
        return tuple(index)
    return index


def is_advanced(index: Any) -> bool:
    """Does ``index`` hold a tensor, list, array or bool, which index by value rather than by range?"""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (Tensor, list, np.ndarray, bool)) for i in items)


class _Advanced:
    """An index with tensors, lists or masks, reduced to: unsqueezes, slices, then one gather.

    Masks become the integer positions of their true elements; integers select first, as in torch (not
    numpy, where they would join the index tensors); the indexed axes fold into one, whose positions are
    combined from the indices. The result's indexed part goes where the indexed axes were if they are
    adjacent, else first (numpy's and torch's rule).
    """

    def __init__(self, shape: tuple[int, ...], index: Any) -> None:
        raw = list(index) if isinstance(index, tuple) else [index]
        dots = [i for i, item in enumerate(raw) if item is Ellipsis]
        if len(dots) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        used = sum(_consumed(i) for i in raw)
        if used > len(shape):
            raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
        if dots:
            raw[dots[0]:dots[0] + 1] = [slice(None)] * (len(shape) - used)
        else:
            raw += [slice(None)] * (len(shape) - used)
        items: list[Any] = []
        for item in raw:
            items.extend(self._expand_mask(item, shape, sum(_consumed(i) for i in items)))
        self.view = []  # the input's shape with the None axes inserted
        self.items = []
        axis = 0
        for item in items:
            if item is None:
                self.view.append(1)
                self.items.append(slice(None))
            else:
                self.view.append(shape[axis])
                self.items.append(item)
                axis += 1

    @staticmethod
    def _expand_mask(item: Any, shape: tuple[int, ...], axis: int) -> list[Any]:
        """A mask (bool tensor, list or array) as one int64 index per axis it covers."""
        if isinstance(item, bool):
            raise IndexError("indexing with a Python bool is not supported")
        if isinstance(item, (list, np.ndarray)):
            item = np.asarray(item)
            if item.dtype.kind not in "bi" and item.size:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            item = item.astype(np.int64) if item.dtype.kind != "b" else item
        if isinstance(item, Tensor) and item.dtype in (dtypes.bool_, dtypes.uint8):
            item = item._value().astype(bool)
        if isinstance(item, np.ndarray) and item.dtype == bool:
            for i, (m, s) in enumerate(zip(item.shape, shape[axis:])):
                if m != s:
                    raise IndexError(f"The shape of the mask {list(item.shape)} at index {i} does not match the shape "
                                     f"of the indexed tensor {list(shape)} at index {axis + i}")
            return list(np.nonzero(item))
        if isinstance(item, Tensor) and item.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return [item]

    def read(self, node: Node, op: str = "indexing") -> Node:
        """``node`` read through the index; ``op`` names the user's operation in errors."""
        node = ops.reshape(node, tuple(self.view))
        starts, stops, steps, indices, dropped = [], [], [], {}, []
        for a, (item, size) in enumerate(zip(self.items, node.shape)):
            if isinstance(item, int):  # torch selects with an integer first, as in basic indexing
                if not -size <= item < size:
                    raise IndexError(f"index {item} is out of bounds for dimension {a} with size {size}")
                starts.append(item % size)
                stops.append(item % size + 1)
                steps.append(1)
                dropped.append(a)
                continue
            if isinstance(item, slice):
                if item.step is not None and item.step <= 0:
                    raise ValueError("step must be greater than zero")
                start, stop, step = item.indices(size)
                starts.append(start)
                stops.append(max(stop, start))
                steps.append(step)
                continue
            starts.append(0)
            stops.append(size)
            steps.append(1)
            # torch numbers the dimension of a bad index among the index tensors, not the indexed axes
            indices[a - len(dropped)] = self._positions(item, size, len(indices), op)
        node = ops.slice_(node, tuple(starts), tuple(stops), tuple(steps))
        node = ops.reshape(node, tuple(d for a, d in enumerate(node.shape) if a not in dropped))
        axes = sorted(indices)
        if not axes:
            return node
        try:
            batch = broadcast_shapes(*(indices[a].shape for a in axes))
        except RuntimeError:
            shapes = ", ".join(str(list(indices[a].shape)) for a in axes)
            raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with shapes "
                             f"[{shapes}]") from None
        adjacent = axes == list(range(axes[0], axes[-1] + 1))
        rest = [a for a in range(len(node.shape)) if a not in indices]
        at = axes[0] if adjacent else 0
        order = rest[:at] + axes + rest[at:]
        moved = ops.permute(node, order)
        sizes = [node.shape[a] for a in axes]
        folded = ops.reshape(moved, (*moved.shape[:at], math.prod(sizes), *moved.shape[at + len(axes):]))
        positions = _fold([ops.broadcast_to(indices[a], batch) for a in axes], sizes)
        return apply("gather", (folded, positions), (at,))

    @staticmethod
    def _positions(item: Any, size: int, dim: int, op: str) -> Node:
        if isinstance(item, Tensor):
            return _index_node(item, size, dim, op)
        values = np.asarray(item, dtype=np.int64)
        _check_known(values, -size, size, IndexError, _OUT_OF_BOUNDS.format(dim=dim, size=size))
        values = np.where(values < 0, values + size, values)
        if values.ndim == 0:
            return ops.const(int(values), _INT)
        return tensor(values).node


def _consumed(item: Any) -> int:
    """How many axes of the indexed tensor ``item`` uses up: a mask uses one per dimension."""
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, Tensor) and item.dtype in (dtypes.bool_, dtypes.uint8):
        return item.ndim
    if isinstance(item, (list, np.ndarray)) and np.asarray(item).dtype == bool:
        return np.asarray(item).ndim
    return 1


def getitem(t: Tensor, index: Any) -> Tensor:
    """``t[index]`` for an index with tensors, lists or masks (torch's ``IndexBackward0``)."""
    return _record("IndexBackward0", _Advanced(t.node.shape, _as_tuple(index)).read(t.node), t)


def index_put_(t: Tensor, indices: tuple[Tensor, ...] | list[Tensor], values: Tensor,
               accumulate: bool = False) -> Tensor:
    """``t[indices] = values``, or with ``accumulate`` ``t[indices] += values`` adding every repeat."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_(): argument 'indices' (position 1) must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    if values.dtype is not t.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_torch_type_name(t.dtype)} for the destination and "
                           f"{_torch_type_name(values.dtype)} for the source.")
    setitem(t, tuple(indices), values, accumulate)
    return t


def setitem(t: Tensor, index: Any, value: Any, accumulate: bool = False) -> None:
    """``t[index] = value`` by index or mask, as a new node: torch's ``index_put_`` (``IndexPutBackward0``).

    A mask over the leading axes with a broadcastable value is a ``select``, which needs no mask value.
    Otherwise the written positions come from reading the same index out of a tensor of flat positions,
    and the values are scattered there; a position written twice keeps the last value, as in torch.
    """
    t._check_inplace()
    _check_fits(value, t.dtype)
    inputs = (t, value) if isinstance(value, Tensor) else (t,)
    source = ops.cast(value.node, t.dtype) if isinstance(value, Tensor) else ops.scalar(value, t.dtype)
    shape = t.node.shape
    if isinstance(index, Tensor) and index.dtype is dtypes.bool_ and index.shape == shape[:index.ndim] \
            and math.prod(source.shape) == 1 and not accumulate:
        mask = ops.reshape(index.node, index.node.shape + (1,) * (len(shape) - index.ndim))
        node = ops.select(ops.broadcast_to(mask, shape), ops.broadcast_to(ops.reshape(source, ()), shape), t.node)
        t._assign(_record("IndexPutBackward0", node, *inputs), cast=True)
        return
    positions = _Advanced(shape, _as_tuple(index)).read(ops.reshape(ops.iota((t.numel(),), 0), shape), "index_put_")
    try:
        source = ops.broadcast_to(source, positions.shape)
    except (ValueError, RuntimeError):
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(source.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(positions.shape)}") from None
    count = math.prod(positions.shape)
    flat = ops.reshape(positions, (count,))
    if accumulate:
        added = apply("scatter_add", (ops.reshape(source, (count,)), flat), (0, t.numel()))
        node = ops.add(t.node, ops.reshape(added, shape))
    else:
        node = _overwrite(t.node, ops.reshape(source, (count,)), flat, _may_repeat(index))
    t._assign(_record("IndexPutBackward0", node, *inputs), cast=True)


def _may_repeat(index: Any) -> bool:
    """Whether an advanced index may name one position twice: not when it holds masks only, or one list or
    computed integer tensor of distinct non-negative values (``x[rows] = v``); otherwise assume it may."""
    items = index if isinstance(index, tuple) else (index,)
    by_value = [i for i in items if isinstance(i, (Tensor, list, np.ndarray)) and not _is_mask(i)]
    if not by_value:
        return False
    if len(by_value) > 1:
        return True
    (item,) = by_value
    if isinstance(item, Tensor):
        if item.node.buffer is None:
            return True
        item = item._value()
    values = np.asarray(item).ravel()
    return bool(values.size) and (values.min() < 0 or np.unique(values).size != values.size)


def _is_mask(item: Any) -> bool:
    if isinstance(item, Tensor):
        return item.dtype in (dtypes.bool_, dtypes.uint8)
    return np.asarray(item).dtype == bool


def _repeats_along(index: np.ndarray, axis: int) -> bool:
    """Whether ``scatter``'s ``index`` names one position twice: a value repeated along ``axis``."""
    if index.ndim == 0 or index.shape[axis] < 2:
        return False
    ordered = np.sort(index, axis=axis)
    return bool((np.diff(ordered, axis=axis) == 0).any())


def _overwrite(base: Node, updates: Node, flat: Node, repeats: bool) -> Node:
    """``base`` with ``updates`` (a vector) written at its flat positions ``flat``; where a position is named
    twice the last value stays, as torch's CPU kernels write in order. ``repeats`` False skips that sort.

    Each written position gathers its writer's value, so the value is copied bit for bit (a sum into zeros would
    turn -0.0 into 0.0). torch's gradient of every update is the output's gradient at its position, overwritten
    or not, so the overwritten ones subtract a zero that still carries it."""
    count = flat.shape[0]
    size = math.prod(base.shape)
    writers = ops.add(ops.iota((count,), 0, flat.dtype), ops.const(1, flat.dtype))  # 0 marks "no writer"
    keep = _last_writes(flat) if repeats and count > 1 else None
    if keep is not None:
        writers = ops.select(keep, writers, ops.zeros_like(writers))
    writer = apply("scatter_add", (writers, flat), (0, size))
    written = apply("gt", (writer, ops.const(0, flat.dtype)))
    first = apply("max", (apply("sub", (writer, ops.const(1, flat.dtype))), ops.const(0, flat.dtype)))
    value = apply("gather", (updates, first), (0,))
    if keep is not None and updates.dtype.is_floating_point:
        carried = ops.select(keep, ops.zeros_like(updates), _zero_with_negated_gradient(updates))
        value = apply("sub", (value, apply("scatter_add", (carried, flat), (0, size))))
    return ops.select(ops.reshape(written, base.shape), ops.reshape(value, base.shape), base)


def _zero_with_negated_gradient(x: Node) -> Node:
    """Zeros whose gradient with respect to ``x`` is -1 (where ``x`` is finite: inf - inf would be nan)."""
    finite = apply("lt", (apply("abs", (x,)), ops.const(math.inf, x.dtype)))
    kept = ops.select(finite, x, ops.zeros_like(x))
    return apply("sub", (apply("stop_gradient", (kept,)), kept))


def _last_writes(flat: Node) -> Node:
    """For each position of the vector ``flat``, whether no later element names the same position.

    A stable sort puts each position's writers together in their order; the last of each run is kept.
    """
    count = flat.shape[0]
    order = apply("argsort", (flat,), (0, False))
    ordered = apply("gather", (flat, order), (0,))
    differs = apply("ne", (ops.slice_(ordered, (0,), (count - 1,), (1,)), ops.slice_(ordered, (1,), (count,), (1,))))
    last = apply("concat", (differs, ops.full((1,), True, dtypes.bool_)), (0,))
    kept = apply("scatter_add", (ops.cast(last, dtypes.int32), order), (0, count))
    return apply("gt", (kept, ops.const(0, dtypes.int32)))


class IndexOpMethods:
    """The Tensor methods of the indexing ops above (attached to Tensor below)."""

    def gather(self, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
        return gather(self, dim, index)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return scatter_add(self, dim, index, src)

    def index_put_(self, indices: tuple[Tensor, ...], values: Tensor, accumulate: bool = False) -> Tensor:
        return index_put_(self, indices, values, accumulate)

    def index_put(self, indices: tuple[Tensor, ...], values: Tensor, accumulate: bool = False) -> Tensor:
        return index_put_(self.clone(), indices, values, accumulate)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return self._inplace(Tensor.scatter_add, dim, index, src)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return index_select(self, dim, index)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        return scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        return self._inplace(scatter, dim, index, src, value, reduce=reduce)


attach(IndexOpMethods)
