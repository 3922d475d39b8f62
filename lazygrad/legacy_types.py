"""torch's legacy typed constructors: ``torch.FloatTensor``, ``torch.LongTensor`` and the others.

Older tutorials build tensors with them (``torch.LongTensor([label])``, ``torch.FloatTensor(2, 3)``) and test or
change a tensor's type with them (``isinstance(x, torch.FloatTensor)``, ``x.type(torch.LongTensor)``). Each is
a class of its own: calling it makes a tensor of its dtype, and an isinstance check reads the dtype.
"""

from __future__ import annotations

from typing import Any

from . import dtypes
from .creation import tensor, zeros
from .dtypes import DType
from .tensor import Size, Tensor, _torch_type_name


class LegacyTensorType(type):
    """The metaclass of the typed constructors (``dtype`` is the tensors' dtype)."""

    dtype: DType

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        """From data (``LongTensor([1, 2])``, a tensor of this type) or from sizes (``FloatTensor(2, 3)``,
        ``FloatTensor(torch.Size([2]))``, ``FloatTensor()`` for an empty one); the values of a tensor made from
        sizes are zeros."""
        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            data = args[0]
            if isinstance(data, Tensor):
                if data.dtype is not cls.dtype:
                    raise TypeError(f"expected {cls.dtype} (got {data.dtype})")
                return data
            return tensor(data, dtype=cls.dtype, device=device)
        sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args or (0,)
        return zeros(*sizes, dtype=cls.dtype, device=device)


LEGACY_TYPES = {
    f"{_torch_type_name(dtype)}Tensor": LegacyTensorType(f"{_torch_type_name(dtype)}Tensor", (), {"dtype": dtype})
    for dtype in (dtypes.float32, dtypes.float64, dtypes.float16, dtypes.bfloat16, dtypes.uint8, dtypes.int8,
                  dtypes.int16, dtypes.int32, dtypes.int64, dtypes.bool_)
}


def typename(obj: Any) -> str:
    """A tensor's legacy type name (``torch.FloatTensor``), or any other object's module-qualified name."""
    if isinstance(obj, Tensor):
        return obj.type()
    named = obj if hasattr(obj, "__qualname__") else type(obj)
    module = getattr(named, "__module__", "") or ""
    return named.__qualname__ if module in ("", "builtins") else f"{module}.{named.__qualname__}"

