"""``torch.finfo`` and ``torch.iinfo``: the numeric limits of a dtype, with torch's fields and printed form."""

from __future__ import annotations

from dataclasses import dataclass, fields

import ml_dtypes
import numpy as np

from . import dtypes
from .dtypes import DType

# Python's own number types name torch's 64-bit dtypes here (torch.finfo(float) is float64).
_PYTHON_TYPES = {float: dtypes.float64, int: dtypes.int64, bool: dtypes.bool_}


def _dtype(value: object) -> DType:
    return _PYTHON_TYPES.get(value) or dtypes.to_dtype(value)


def _limits_repr(info: object) -> str:
    shown = [f"{f.name}={getattr(info, f.name):g}" for f in fields(info) if f.name not in ("bits", "dtype")]
    return f"{type(info).__name__}({', '.join(shown)}, dtype={info.dtype})"


@dataclass(frozen=True, repr=False)
class finfo:  # lower case, like torch.finfo
    """Limits of a floating dtype (the default float dtype when none is given)."""

    bits: int
    resolution: float
    min: float
    max: float
    eps: float
    smallest_normal: float
    tiny: float
    dtype: str

    def __init__(self, type: object = None) -> None:
        dtype = dtypes.default_float() if type is None else _dtype(type)
        if not dtype.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = ml_dtypes.finfo(dtype.np)  # numpy's finfo, extended to bfloat16
        values = {"bits": info.bits, "resolution": 10.0 ** -info.precision, "min": float(info.min),
                  "max": float(info.max), "eps": float(info.eps), "smallest_normal": float(info.smallest_normal),
                  "tiny": float(info.tiny), "dtype": dtype.name}
        for name, value in values.items():
            object.__setattr__(self, name, value)

    __repr__ = __str__ = _limits_repr


@dataclass(frozen=True, repr=False)
class iinfo:  # lower case, like torch.iinfo
    """Limits of an integer dtype."""

    bits: int
    min: int
    max: int
    dtype: str

    def __init__(self, type: object) -> None:
        dtype = _dtype(type)
        if dtype is dtypes.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if dtype.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(dtype.np)
        for name, value in {"bits": info.bits, "min": int(info.min), "max": int(info.max), "dtype": dtype.name}.items():
            object.__setattr__(self, name, value)

    __repr__ = __str__ = _limits_repr
