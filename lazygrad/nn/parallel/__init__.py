"""``lazygrad.nn.parallel``: data parallelism over a device mesh."""

from __future__ import annotations

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
