"""``torch.utils``: data loading and DLPack exchange."""

from . import data, dlpack

__all__ = ["data", "dlpack"]
