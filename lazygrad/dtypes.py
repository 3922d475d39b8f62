"""Tensor element types and torch's type-promotion rules."""

from __future__ import annotations

import ml_dtypes
import numpy as np


class DType:
    """An element type; compares by identity and prints as torch does (``torch.float32``), so programs
    written for torch print the same text."""

    __slots__ = ("_rank", "is_floating_point", "itemsize", "name", "np")

    def __init__(self, name: str, np_dtype: type, rank: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        # ml_dtypes' bfloat16 is a numpy extension type (kind "V"), so its name says what it is
        self.is_floating_point = self.np.kind == "f" or name == "bfloat16"
        self._rank = rank

    @property
    def is_signed(self) -> bool:
        return self.is_floating_point or self.np.kind == "i"

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> str:
        return self.name


bool_ = DType("bool", np.bool_, 0)
uint8 = DType("uint8", np.uint8, 1)
int8 = DType("int8", np.int8, 1)
int16 = DType("int16", np.int16, 2)
int32 = DType("int32", np.int32, 3)
int64 = DType("int64", np.int64, 4)
float16 = DType("float16", np.float16, 5)
# numpy has no bfloat16; ml_dtypes (which jax uses for its own) adds it as a numpy dtype with float ufuncs
bfloat16 = DType("bfloat16", ml_dtypes.bfloat16, 5)
float32 = DType("float32", np.float32, 6)
float64 = DType("float64", np.float64, 7)

ALL: tuple[DType, ...] = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NUMPY = {d.np: d for d in ALL}
# The 16-bit floats: torch computes their elementwise ops, sums and products in float32 and rounds once.
HALF = frozenset((float16, bfloat16))
# numpy dtypes of floating tensors, for code that holds arrays rather than DTypes (bfloat16's kind is "V").
FLOATING_NP = frozenset(d.np for d in ALL if d.is_floating_point)

# Category order used by torch when a Python scalar or 0-d tensor meets a dimensioned tensor.
_BOOL, _INT, _FLOAT = 0, 1, 2


def category(dtype: DType) -> int:
    if dtype is bool_:
        return _BOOL
    return _FLOAT if dtype.is_floating_point else _INT


def can_cast(from_: DType, to: DType) -> bool:
    """torch's rule for casts that ops may do implicitly: never to a lower category (float to int, int to bool)."""
    return category(from_) <= category(to)


def from_numpy(np_dtype: np.dtype) -> DType:
    """The lazygrad dtype for a numpy dtype; raises TypeError for one lazygrad does not support."""
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype)}; supported types: "
                        + ", ".join(d.name for d in ALL)) from None


def promote_types(a: DType, b: DType) -> DType:
    """torch.promote_types: bool < integers < floats; within a category, the wider type."""
    if a is b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    if ca == _FLOAT:
        if a.itemsize == b.itemsize:
            return float32  # float16 and bfloat16: neither holds the other (range vs precision), float32 holds both
        return a if a.itemsize > b.itemsize else b
    return _BY_NUMPY[np.promote_types(a.np, b.np)]


_default_float = float32


def default_float() -> DType:
    return _default_float


def set_default_float(dtype: DType) -> None:
    """Choose the dtype of Python floats and float factories (torch.set_default_dtype)."""
    global _default_float
    if not dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = dtype
    WITH_SCALAR.clear()  # its entries depend on the default float


# The result dtype of ``tensor op number`` per (tensor dtype, Python type): memoized by the front end, as it
# is asked on every such op.
WITH_SCALAR: dict[tuple[DType, type], DType] = {}


def scalar_dtype(value: bool | int | float) -> DType:
    """The dtype torch gives a bare Python number."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    return default_float()


def result_type(dim: DType | None, zero_dim: DType | None, scalar: DType | None) -> DType:
    """Combine the three priority tiers torch uses: dimensioned tensors, 0-d tensors, Python scalars.

    A lower tier only decides the result when it brings a higher category (e.g. a float scalar with an
    int tensor); otherwise the higher tier's dtype wins, so ``int32_tensor + 5`` stays int32.
    """
    result = None
    for tier in (dim, zero_dim, scalar):
        if tier is None:
            continue
        if result is None or category(tier) > category(result):
            result = tier
    assert result is not None
    return result


def to_dtype(value: object) -> DType:
    """Accept a lazygrad dtype, a numpy dtype or a Python type (``float``, ``int``, ``bool``)."""
    if isinstance(value, DType):
        return value
    if value is float:
        return default_float()
    if value is int:
        return int64
    if value is bool:
        return bool_
    return from_numpy(np.dtype(value))
