"""torch's layout and memory-format names: lazygrad has one of each (dense, contiguous), and accepts the others.

Programs pass ``memory_format=torch.channels_last`` or test ``x.is_sparse`` without depending on the answer's
consequences; lazygrad takes the names and computes the same values (an XLA program picks its own layouts).
"""

from __future__ import annotations

from .tensor import Tensor


class _TorchName:
    """A named constant of torch's, printed (and pickled) by its name."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name  # pickled by name: unpickling finds the module's own instance


class memory_format(_TorchName):  # lower case, like torch.memory_format
    """A named memory format."""

    __slots__ = ()


class layout(_TorchName):  # lower case, like torch.layout
    """A named tensor layout; every lazygrad tensor is ``strided`` (dense)."""

    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
strided = layout("strided")
sparse_coo = layout("sparse_coo")


def is_complex(input: Tensor) -> bool:
    """False: lazygrad has no complex dtypes."""
    return False


Tensor.is_complex = is_complex
Tensor.is_sparse = property(lambda self: False)
Tensor.layout = property(lambda self: strided)
