"""``SyncBatchNorm``: batch normalization whose statistics span the whole (data-parallel) batch.

torch all-reduces the statistics across the processes of a DDP job. Here data parallelism is one program
over a device mesh: a batch sharded across the devices is still one tensor, so its mean and variance are
already the global ones, and the layer computes exactly what ``BatchNorm`` computes, over inputs of any rank
from 2-D up. ``convert_sync_batchnorm`` swaps it in for every batch norm of a model, as DDP scripts do.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .module import Module
from .normalization import BatchNorm1d, StatisticsNorm, init_statistics


class SyncBatchNorm(StatisticsNorm):
    """Batch norm over (N, C, *) input; ``process_group`` is kept for torch scripts and selects nothing."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any | None = None, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        init_statistics(self, num_features, eps, momentum, affine, track_running_stats, dtype, bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    # the batch norms' own forward and printing; not a subclass of theirs, as in torch
    forward = BatchNorm1d.forward
    extra_repr = BatchNorm1d.extra_repr

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any | None = None) -> Module:
        """``module`` with every batch norm in it (itself included) replaced by a ``SyncBatchNorm`` that takes
        over its settings, its parameters and buffers (the same tensors) and its training mode."""
        output = module
        if isinstance(module, (BatchNorm1d, SyncBatchNorm)):
            output = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                         process_group, bias=module.bias is not None)
            if module.affine:
                output.weight = module.weight
                output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output
