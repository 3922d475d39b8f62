"""torch's second names for existing ops, and the numpy-style shape ops built from permute, flip and repeat.

torch documents ``multiply`` as an alias of ``mul``, ``concat`` of ``cat`` and so on: each alias here is the
same function under a second name, so it records the same ``grad_fn``. ``movedim``, ``ravel``, ``fliplr``,
``flipud``, ``rot90`` and ``tile`` are short compositions of the shape ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import dtypes, ops
from .arithmetic import ElementwiseMethods as _Elementwise
from .ir import Node, apply
from .reshaping import ShapeMethods as _Shape
from .reshaping import cat
from .tensor import Tensor, _dim, _record, _sizes, attach


def _rev(node: Node, axes: tuple[int, ...]) -> Node:
    return apply("rev", (node,), (axes,))


def _swap(node: Node, a: int, b: int) -> Node:
    perm = list(range(len(node.shape)))
    perm[a], perm[b] = perm[b], perm[a]
    return ops.permute(node, perm)


# rot90 by k quarter turns in the plane (a, b), k taken mod 4: reverse axes, then swap them for odd k.
_QUARTER_TURNS = {
    0: lambda x, a, b: x,
    1: lambda x, a, b: _swap(_rev(x, (b,)), a, b),
    2: lambda x, a, b: _rev(x, (a, b)),
    3: lambda x, a, b: _swap(_rev(x, (a,)), a, b),
}


def _moved_dims(name: str, dims: Any, ndim: int) -> list[int]:
    axes = [dims] if isinstance(dims, int) else list(dims)
    axes = [_dim(d, ndim) for d in axes]
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"movedim: repeated dim in `{name}` ({axes})")
    return axes


class AliasMethods:
    """Second names and numpy-style shape methods (attached to Tensor below)."""

    multiply = _Elementwise.mul
    multiply_ = _Elementwise.mul_
    subtract = _Elementwise.sub
    subtract_ = _Elementwise.sub_
    divide = _Elementwise.div
    divide_ = _Elementwise.div_
    absolute = _Elementwise.abs
    negative = _Elementwise.neg
    negative_ = _Elementwise.neg_
    greater = _Elementwise.gt
    greater_equal = _Elementwise.ge
    less = _Elementwise.lt
    less_equal = _Elementwise.le
    not_equal = _Elementwise.ne
    swapdims = _Shape.transpose
    fix = _Elementwise.trunc

    def true_divide(self, other: Any) -> Tensor:
        return self.div(other)

    def true_divide_(self, other: Any) -> Tensor:
        return self.div_(other)

    def positive(self) -> Tensor:
        """The tensor itself, as torch returns it (refused for bool, like unary ``+``)."""
        if self.dtype is dtypes.bool_:
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Move the dims ``source`` to the positions ``destination``; the others keep their order (a view)."""
        src, dst = _moved_dims("source", source, self.ndim), _moved_dims("destination", destination, self.ndim)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                               f"the same number of dims as destination ({dst} dims)")
        rest = iter(d for d in range(self.ndim) if d not in src)
        placed = dict(zip(dst, src))
        return self.permute([placed[i] if i in placed else next(rest) for i in range(self.ndim)])

    moveaxis = movedim

    def ravel(self) -> Tensor:
        """A 1-D view when the memory is contiguous, else a flattened copy (as torch's ``contiguous().view``)."""
        return self.contiguous().view(-1)

    def fliplr(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> Tensor:
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotate by ``k`` quarter turns from the first of ``dims`` towards the second (a copy)."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        a, b = _dim(dims[0], self.ndim), _dim(dims[1], self.ndim)
        if a == b:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}")
        return _record("Rot90Backward0", _QUARTER_TURNS[k % 4](self.node, a, b), self)

    def tile(self, *dims: Any) -> Tensor:
        """``repeat`` with ``dims`` padded by leading 1s to the tensor's rank."""
        reps = _sizes(dims)
        return self.repeat((1,) * (self.ndim - len(reps)) + reps)


attach(AliasMethods)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return cat(tensors, dim)


def concatenate(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return cat(tensors, dim)


# torch.<name> for each: the functions, and the methods torch also offers as functions.
METHOD_FUNCTIONS = ("multiply", "subtract", "divide", "true_divide", "absolute", "negative", "positive", "greater",
                    "greater_equal", "less", "less_equal", "not_equal", "swapdims", "movedim", "moveaxis", "ravel",
                    "fliplr", "flipud", "rot90", "tile", "fix")
FUNCTIONS = {"concat": concat, "concatenate": concatenate,
             **{name: getattr(Tensor, name) for name in METHOD_FUNCTIONS}}
# Those whose torch signature takes a keyword-only ``out=``.
TAKES_OUT = {"concat", "concatenate", "multiply", "subtract", "divide", "true_divide", "absolute", "negative",
             "greater", "greater_equal", "less", "less_equal", "not_equal", "fix"}
