"""``lazygrad.nn.parallel``: data parallelism over a device mesh."""

from __future__ import annotations

from ..data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
