"""Turning a list of samples into a batch: tensors are stacked, numbers become tensors, containers recurse.

The rules follow torch's ``default_collate`` case for case (Python floats become float64 tensors, a tuple
sample collates into a list, a column of strings stays a tuple), so a loop written against torch sees the
same batch.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import dtypes
from ...creation import from_host, from_numpy, tensor
from ...reshaping import stack
from ...tensor import Tensor

_UNSUPPORTED = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _numpy_kind_ok(array: np.ndarray | np.generic) -> bool:
    """numpy strings and objects have no tensor form."""
    return array.dtype.kind not in "SaUO"


def _collate_arrays(batch: Sequence[Any]) -> Tensor:
    if not _numpy_kind_ok(batch[0]):
        raise TypeError(_UNSUPPORTED.format(batch[0].dtype))
    return from_host(np.stack(batch))  # a new array: torch's stack of the samples does not share them either


def _collate_mapping(batch: Sequence[Any]) -> Any:
    collated = {key: default_collate([sample[key] for sample in batch]) for key in batch[0]}
    try:
        return type(batch[0])(collated)
    except TypeError:  # a mapping type that cannot be built from a dict
        return collated


def _collate_sequence(batch: Sequence[Any]) -> Any:
    size = len(batch[0])
    if any(len(sample) != size for sample in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    columns = [default_collate(samples) for samples in zip(*batch)]  # strings stay the tuple zip made, as in torch
    first = batch[0]
    if hasattr(first, "_fields"):  # a namedtuple keeps its type
        return type(first)(*columns)
    if isinstance(first, tuple):  # torch returns a list for tuples (a DataLoader over pairs yields [x, y])
        return columns
    try:
        return type(first)(columns)
    except TypeError:
        return columns


# The rule for each kind of sample, tried in order (numpy scalars before float, which np.float64 subclasses).
_COLLATE_RULES: list[tuple[type | tuple[type, ...], Callable[[Sequence[Any]], Any]]] = [
    (Tensor, lambda batch: stack(list(batch), 0)),
    (np.ndarray, _collate_arrays),
    ((np.bool_, np.number), _collate_arrays),
    (float, lambda batch: tensor(batch, dtype=dtypes.float64)),
    (int, lambda batch: tensor(batch)),  # ints give int64, bools a bool tensor
    ((str, bytes), lambda batch: batch),
    (collections.abc.Mapping, _collate_mapping),
    (collections.abc.Sequence, _collate_sequence),
]


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, the way torch's DataLoader does by default."""
    first = batch[0]
    for kinds, rule in _COLLATE_RULES:
        if isinstance(first, kinds):
            return rule(batch)
    raise TypeError(_UNSUPPORTED.format(type(first)))


def default_convert(data: Any) -> Any:
    """Turn numpy arrays and scalars inside ``data`` into tensors (used when a DataLoader does not batch)."""
    if isinstance(data, (np.ndarray, np.bool_, np.number)):
        return from_numpy(np.asarray(data)) if _numpy_kind_ok(data) else data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
