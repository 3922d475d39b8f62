"""``torch.utils``: data loading, activation checkpointing and DLPack exchange."""

from . import checkpoint, data, dlpack

__all__ = ["checkpoint", "data", "dlpack"]
