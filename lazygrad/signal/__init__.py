"""``torch.signal``: signal-processing functions; so far its window functions, ``signal.windows``."""

from . import windows

__all__ = ["windows"]
