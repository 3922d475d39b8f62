"""``torch.utils.dlpack``: the capsule-based DLPack functions (both copy; see ``lazygrad.interop``)."""

from ..interop import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]
