"""PyTorch in eager mode, running the shared torch-style workloads: every op runs when it is called."""

from __future__ import annotations

import torch

from . import torch_style
from .base import System


def _nothing_pending(*tensors: torch.Tensor) -> None:
    """Eager CPU torch has finished an op when the call returns."""


def make() -> System:
    style = torch_style.TorchLike(lib=torch, force=_nothing_pending)
    details = {"threads": str(torch.get_num_threads())}
    return System("torch", torch.__version__, torch_style.builders(style), details)
