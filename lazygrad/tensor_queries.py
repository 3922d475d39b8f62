"""What a real tensor on the CPU answers about itself: signedness, size equality, its device (``is_cpu``,
``get_device``), and the conjugate and negative bits of complex tensors, which a real tensor never has, so that
``conj``, ``conj_physical``, ``resolve_conj`` and ``resolve_neg`` return the tensor itself, as torch's do."""

from __future__ import annotations

from .tensor import Tensor, attach


class QueryMethods:
    """The predicates and real-tensor identities (attached to Tensor below)."""

    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers (every float and int8 ... int64; not bool or uint8)."""
        return self.dtype.is_signed

    def is_same_size(self, other: Tensor) -> bool:
        return self.shape == other.shape

    @property
    def is_cpu(self) -> bool:
        """Every lazygrad tensor lives in host memory."""
        return True

    def get_device(self) -> int:
        """-1: the CPU's index, as torch gives for a CPU tensor."""
        return -1

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def conj(self) -> Tensor:
        """The tensor itself: a real tensor is its own conjugate."""
        return self

    def conj_physical(self) -> Tensor:
        return self

    def conj_physical_(self) -> Tensor:
        return self

    def resolve_conj(self) -> Tensor:
        return self

    def resolve_neg(self) -> Tensor:
        return self


attach(QueryMethods)

FUNCTIONS = {name: getattr(Tensor, name) for name in (
    "is_signed", "is_same_size", "get_device", "is_conj", "is_neg", "conj", "conj_physical", "conj_physical_",
    "resolve_conj", "resolve_neg")}
TAKES_OUT = {"conj_physical"}
