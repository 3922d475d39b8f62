"""Variable-length sequences: padding, and torch's packed layout that recurrent layers consume.

A packed batch stores time step after time step, each holding the sequences still running at that step, longest
first; ``batch_sizes`` counts them per step. The lengths are known on the host (they come from Python lists or
constant tensors), so every layout change is one gather with a host-built index: one node, differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

from ... import dtypes, ops
from ... import realization as realize
from ...creation import full, tensor
from ...ir import apply
from ...reshaping import cat
from ...tensor import Tensor, _record


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``; ``unsorted_indices`` is derived when omitted."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # torch's (data, batch_sizes) pair form
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data`` converted; the indices follow its device, the batch sizes stay where they are."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = {"device": data.device}
        return type(self)(data, self.batch_sizes, _maybe(self.sorted_indices, lambda t: t.to(**move)),
                          _maybe(self.unsorted_indices, lambda t: t.to(**move)))

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to(self.data.cuda(*args, **kwargs).device)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cpu")

    def pin_memory(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(dtype=dtypes.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=dtypes.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=dtypes.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=dtypes.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=dtypes.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=dtypes.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=dtypes.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _maybe(value: Tensor | None, fn: Any) -> Tensor | None:
    return None if value is None else fn(value)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    order = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return tensor(inverse, device=permutation.device)


def _host_ints(values: Tensor | Sequence[int]) -> list[int]:
    return [int(v) for v in (values.tolist() if isinstance(values, Tensor) else values)]


def _rows(input: Tensor, index: np.ndarray, leading: int, name: str) -> Tensor:
    """``input``'s first ``leading`` dims flattened, then the rows at ``index``: one gather, a new tensor (not a
    view), recorded under the name of the op torch ends with (``name``)."""
    flat = ops.reshape(input.node, (math.prod(input.shape[:leading]), *input.shape[leading:]))
    positions = tensor(index, device=input.device).node
    return _record(name, apply("gather", (flat, positions), (0,)), input)


def pad_sequence(sequences: Tensor | Iterable[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``), padded to the
    longest, on the right or the left; the result has the first sequence's dtype."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = list(sequences.unbind(0) if isinstance(sequences, Tensor) else sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    lengths = [s.shape[0] for s in sequences]
    longest = max(lengths)
    # rows of all sequences one after another, then one padding row; each output slot picks a row
    pad_row = full((1, *first.shape[1:]), padding_value, dtype=first.dtype, device=first.device)
    rows = cat([*(s.to(first.dtype) for s in sequences), pad_row])
    index = np.full((len(sequences), longest), rows.shape[0] - 1, dtype=np.int64)
    start = 0
    for b, length in enumerate(lengths):
        columns = slice(0, length) if padding_side == "right" else slice(longest - length, longest)
        index[b, columns] = np.arange(start, start + length)
        start += length
    padded = _rows(rows, index if batch_first else index.T, 1, "CopySlices")
    if not any(s.requires_grad for s in sequences):
        # A collate_fn pads each batch of a DataLoader: computed now from computed sequences, the batch is one
        # input to the step's program, which would otherwise depend on every sequence's length (a new program
        # per batch).
        realize.settle(padded.node)
    return padded


def _check_lengths(lengths: list[int], batch: int, enforce_sorted: bool) -> None:
    if enforce_sorted and any(a < b for a, b in pairwise(lengths)):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                           "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if any(length <= 0 for length in lengths):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    if len(lengths) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={batch})")


def _batch_sizes(sorted_lengths: list[int]) -> list[int]:
    return [sum(1 for length in sorted_lengths if length > t) for t in range(sorted_lengths[0])]


def pack_padded_sequence(input: Tensor, lengths: Tensor | list[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch; with ``enforce_sorted=False`` the sequences are first sorted longest first."""
    lengths = _host_ints(lengths)
    batch_dim = 0 if batch_first else 1
    _check_lengths(lengths, input.shape[batch_dim], enforce_sorted)
    order = np.argsort([-length for length in lengths], kind="stable")
    sizes = _batch_sizes([lengths[b] for b in order])
    # slot (t, b) of the padded input, flattened, for each packed row
    stride = (input.shape[1], 1) if batch_first else (1, input.shape[1])
    index = np.array([order[b] * stride[0] + t * stride[1] for t, n in enumerate(sizes) for b in range(n)],
                     dtype=np.int64)
    data = _rows(input, index, 2, "PackPaddedSequenceBackward0")
    sorted_indices = None if enforce_sorted else tensor(order.astype(np.int64), device=input.device)
    return PackedSequence(data, tensor(sizes, dtype=dtypes.int64), sorted_indices, None)


# torch's last op in pad_packed_sequence, by (sorted_indices given, batch_first): it reorders the batch with
# index_select when the sequences were sorted, else transposes the time-major batch it filled, or returns it.
_PADDED_NAMES = {(True, True): "IndexSelectBackward0", (True, False): "IndexSelectBackward0",
                 (False, True): "TransposeBackward0", (False, False): "CopySlices"}


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded batch in the original order, and each sequence's length."""
    sizes = _host_ints(sequence.batch_sizes)
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    batch = sizes[0]
    order = (np.arange(batch) if sequence.sorted_indices is None
             else np.asarray(_host_ints(sequence.sorted_indices), dtype=np.int64))
    data = sequence.data
    pad_row = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = cat([data, pad_row])
    index = np.full((steps, batch), rows.shape[0] - 1, dtype=np.int64)
    lengths = np.zeros(batch, dtype=np.int64)
    start = 0
    for t, n in enumerate(sizes):
        index[t, order[:n]] = np.arange(start, start + n)
        lengths[order[:n]] += 1
        start += n
    return _rows(rows, index.T if batch_first else index, 1, _PADDED_NAMES[sequence.sorted_indices is not None,
                                                                            batch_first]), tensor(lengths)


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (sorted longest first unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | list[int], batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:length] for seq, length in zip(padded_sequences.unbind(0), _host_ints(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Split a packed batch back into its sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]
