"""``nn.DataParallel``: torch's single-process data parallelism, which on a machine without accelerators (torch's
case here) runs the module as it is. A lazygrad program already uses the cores of its device, so the wrapper
only keeps torch's shape: the module under ``module``, and ``module.`` in front of every state dict name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .module import Module


class DataParallel(Module):
    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids: list[Any] = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
