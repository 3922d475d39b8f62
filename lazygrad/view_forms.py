"""Views as values: the ``*_copy`` functions (a view op's result as a new tensor, recorded under torch's
``<View>Backward0_copy`` name), the ``*_scatter`` functions (the input with the window a view would read replaced
by ``src``: the functional form of writing through a view), and the split forms torch names apart
(``split_with_sizes``, ``unsafe_split``, ``unsafe_chunk``, ``narrow_copy``).

Each runs the view op itself on a stand-in for its input that shares the input's node but no storage or history,
so the view's shape primitives are built once, by the code that defines the view; a scatter then undoes those
primitives around ``src`` with the same ``write_back`` that in-place writes through views use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import ops, views
from .shape_ops import diagonal
from .tensor import Tensor, _dim, _fresh, _record, _wrap, attach


def _view_of(input: Tensor, view: Callable[[Tensor], Any]) -> Any:
    """``view`` applied to a stand-in for ``input``: its result's nodes start at ``input.node``. The stand-in
    counts as requiring grad, so that a view op that changes nothing still builds a node on it (not a fresh
    value, which would cut the gradient off)."""
    stand_in = _wrap(input.node)
    stand_in._requires_grad = True
    return view(stand_in)


def _copy(name: str, input: Tensor, view: Callable[[Tensor], Any]) -> Any:
    """The view's result (or results) as new tensors recorded as ``name``."""
    result = _view_of(input, view)
    if isinstance(result, tuple):
        return tuple(_record(name, part.node, input) for part in result)
    return _record(name, result.node, input)


def _scatter(name: str, input: Tensor, src: Tensor, view: Callable[[Tensor], Tensor]) -> Tensor:
    """``input`` with the window ``view`` reads replaced by ``src`` (cast to input's dtype); gradients reach both."""
    window = _view_of(input, view)
    if window.shape != src.shape:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(window.shape)}")
    steps = views.steps_between(window.node, input.node)
    return _record(name, views.write_back(input.node, steps, ops.cast(src.node, input.dtype)), input, src)


def _sliced(dim: int, start: int | None, end: int | None, step: int) -> Callable[[Tensor], Tensor]:
    def view(t: Tensor) -> Tensor:
        return t[(slice(None),) * _dim(dim, t.ndim) + (slice(start, end, step),)]

    return view


def _selected(dim: int, index: int) -> Callable[[Tensor], Tensor]:
    def view(t: Tensor) -> Tensor:
        axis = _dim(dim, t.ndim)
        size = t.shape[axis]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(t.shape)} at dimension "
                             f"{axis}")
        return t.select(axis, index)

    return view


def _chunk_sizes(input: Tensor, chunks: int, dim: int) -> list[int]:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input.shape[_dim(dim, input.ndim)]
    size = max(1, -(-n // chunks))
    return [min(size, n - s) for s in range(0, n, size)] or [0]


def _unsafe_pieces(input: Tensor, sizes: Sequence[int], dim: int) -> tuple[Tensor, ...]:
    pieces = input.split(list(sizes), dim)
    return tuple(_record("UnsafeSplitBackward0", piece.node, input) for piece in pieces)


class ViewFormMethods:
    """The scatter and split forms torch also offers as Tensor methods (attached to Tensor below)."""

    def slice_scatter(self, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                      step: int = 1) -> Tensor:
        """self with ``self[..., start:end:step]`` (along ``dim``) replaced by ``src``."""
        return _scatter("SliceScatterBackward0", self, src, _sliced(dim, start, end, step))

    def select_scatter(self, src: Tensor, dim: int, index: int) -> Tensor:
        """self with ``self.select(dim, index)`` replaced by ``src``."""
        return _scatter("SelectScatterBackward0", self, src, _selected(dim, index))

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """self with ``self.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
        return _scatter("DiagonalScatterBackward0", self, src, lambda t: diagonal(t, offset, dim1, dim2))

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return self.split(list(split_sizes), dim)

    def unsafe_split(self, split_size: int, dim: int = 0) -> tuple[Tensor, ...]:
        """split, recorded as torch's unsafe form (whose pieces torch does not guard against in-place writes)."""
        n = self.shape[_dim(dim, self.ndim)]
        return _unsafe_pieces(self, [min(split_size, n - s) for s in range(0, n, split_size)] or [0], dim)

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return _unsafe_pieces(self, _chunk_sizes(self, chunks, dim), dim)

    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor:
        return _copy("NarrowCopyBackward0", self, lambda t: t.narrow(dim, start, length))


def view_copy(input: Tensor, size: Sequence[int]) -> Tensor:
    return _copy("ViewBackward0_copy", input, lambda t: t.view(size))


def permute_copy(input: Tensor, dims: Sequence[int]) -> Tensor:
    return _copy("PermuteBackward0_copy", input, lambda t: t.permute(dims))


def t_copy(input: Tensor) -> Tensor:
    return _copy("TBackward0_copy", input, lambda t: t.t())


def transpose_copy(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return _copy("TransposeBackward0_copy", input, lambda t: t.transpose(dim0, dim1))


def unsqueeze_copy(input: Tensor, dim: int) -> Tensor:
    return _copy("UnsqueezeBackward0_copy", input, lambda t: t.unsqueeze(dim))


def squeeze_copy(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    name = "SqueezeBackward0_copy" if dim is None else "SqueezeBackward1_copy"
    return _copy(name, input, lambda t: t.squeeze(dim))


def expand_copy(input: Tensor, size: Sequence[int], *, implicit: bool = False) -> Tensor:
    return _copy("ExpandBackward0_copy", input, lambda t: t.expand(size))


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    return _copy("DiagonalBackward0_copy", input, lambda t: diagonal(t, offset, dim1, dim2))


def select_copy(input: Tensor, dim: int, index: int) -> Tensor:
    return _copy("SelectBackward0_copy", input, _selected(dim, index))


def slice_copy(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
               step: int = 1) -> Tensor:
    return _copy("SliceBackward0_copy", input, _sliced(dim, start, end, step))


def detach_copy(input: Tensor) -> Tensor:
    """A copy without history, as torch's (which records a node that refuses to differentiate)."""
    return _wrap(_fresh(input.node))


def unbind_copy(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    return _copy("UnbindBackward0_copy", input, lambda t: t.unbind(dim))


def split_copy(input: Tensor, split_size: int, dim: int = 0) -> tuple[Tensor, ...]:
    return _copy("SplitBackward0_copy", input, lambda t: t.split(split_size, dim))


def split_with_sizes_copy(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    return _copy("SplitWithSizesBackward0_copy", input, lambda t: t.split(list(split_sizes), dim))


def alias_copy(input: Tensor) -> Tensor:
    return _record("AliasBackward0_copy", ops.reshape(input.node, input.node.shape), input)


def unfold_copy(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    return _copy("UnfoldBackward0_copy", input, lambda t: t.unfold(dimension, size, step))


attach(ViewFormMethods)

_COPIES = (view_copy, permute_copy, t_copy, transpose_copy, unsqueeze_copy, squeeze_copy, expand_copy, diagonal_copy,
           select_copy, slice_copy, detach_copy, unbind_copy, split_copy, split_with_sizes_copy, alias_copy,
           unfold_copy)
FUNCTIONS: dict[str, Any] = {
    **{name: getattr(Tensor, name) for name in (
        "slice_scatter", "select_scatter", "diagonal_scatter", "split_with_sizes", "unsafe_split", "unsafe_chunk",
        "narrow_copy")},
    **{fn.__name__: fn for fn in _COPIES}}
TAKES_OUT = {"slice_scatter", "select_scatter", "diagonal_scatter", "narrow_copy", *(fn.__name__ for fn in _COPIES)}
