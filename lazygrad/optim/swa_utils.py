"""Weight averaging: ``AveragedModel`` (stochastic weight averaging and EMA), ``update_bn`` and ``SWALR``.

torch decides whether an update is the first one by reading ``n_averaged``. Here that choice is a ``where``
on the counter inside the program, so averaging every step costs no read: the averaging function runs every
time and the first update keeps the model's values instead of its result, which is what torch keeps.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import foreach_ops
from ..arithmetic import where
from ..creation import tensor
from ..dtypes import int64
from ..grad_mode import no_grad
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

AvgFn = Callable[[Tensor, Tensor, Any], Tensor]
MultiAvgFn = Callable[[list[Tensor], list[Tensor], Any], None]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """An exponential moving average over lists of tensors: ``ema += (1 - decay) * (model - ema)``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param_list: list[Tensor], current_param_list: list[Tensor], _: Any) -> None:
        if ema_param_list[0].dtype.is_floating_point:
            foreach_ops.FUNCTIONS["_foreach_lerp_"](ema_param_list, current_param_list, 1 - decay)
        else:
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """The running mean over lists of tensors: the ``n``-th model enters with weight ``1 / (n + 1)``."""

    @no_grad()
    def swa_update(averaged_param_list: list[Tensor], current_param_list: list[Tensor], num_averaged: Any) -> None:
        if averaged_param_list[0].dtype.is_floating_point:
            foreach_ops.FUNCTIONS["_foreach_lerp_"](averaged_param_list, current_param_list, 1 / (num_averaged + 1))
            return
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            if isinstance(num_averaged, Tensor):
                p_avg.addcdiv_(p_model - p_avg, num_averaged + 1)
            else:
                p_avg.add_(p_model - p_avg, alpha=1.0 / (num_averaged + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The exponential moving average of one tensor."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """The running mean of one tensor."""

    @no_grad()
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of ``model`` whose parameters (and, with ``use_buffers``, buffers) average the model's over
    the ``update_parameters`` calls; ``n_averaged`` counts them."""

    def __init__(self, model: Module, device: Any = None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: MultiAvgFn | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _averaged(self, model: Module) -> tuple[list[Tensor], list[Tensor]]:
        if self.use_buffers:
            return ([p.detach() for p in itertools.chain(self.module.parameters(), self.module.buffers())],
                    [p.detach() for p in itertools.chain(model.parameters(), model.buffers())])
        return [p.detach() for p in self.parameters()], [p.detach() for p in model.parameters()]

    @no_grad()
    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current values into the averages (the first call copies them)."""
        averaged, current = self._averaged(model)
        first = self.n_averaged == 0
        if self.avg_fn is not None:
            for p_avg, p_model in zip(averaged, current):
                p_avg.copy_(self.avg_fn(p_avg, p_model, self.n_averaged))
        else:  # torch's CPU default is the one-tensor running mean: the same values
            update = self.multi_avg_fn or _running_mean
            for group_avg, group_model in _by_dtype(averaged, current):
                update(group_avg, group_model, self.n_averaged)
        for p_avg, p_model in zip(averaged, current):
            p_avg.copy_(where(first, p_model, p_avg))
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                b_avg.detach().copy_(b_model.detach())
        self.n_averaged += 1


def _running_mean(averaged: list[Tensor], current: list[Tensor], num_averaged: Tensor) -> None:
    swa = get_swa_avg_fn()
    for p_avg, p_model in zip(averaged, current):
        p_avg.copy_(swa(p_avg, p_model, num_averaged))


def _by_dtype(averaged: Sequence[Tensor], current: Sequence[Tensor]) -> list[tuple[list[Tensor], list[Tensor]]]:
    """The pairs grouped by dtype, in order of first appearance, as torch groups them for its list kernels."""
    groups: dict[Any, tuple[list[Tensor], list[Tensor]]] = {}
    for p_avg, p_model in zip(averaged, current):
        group = groups.setdefault(p_avg.dtype, ([], []))
        group[0].append(p_avg)
        group[1].append(p_model)
    return list(groups.values())


@no_grad()
def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every batch norm's running statistics as the plain average over one pass of ``loader``."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, BatchNorm1d):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for input in loader:
        if isinstance(input, (list, tuple)):
            input = input[0]
        if device is not None:
            input = input.to(device)
        model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's rate to its ``swa_lr`` over ``anneal_epochs`` (cosine or linear), then holds it."""

    def __init__(self, optimizer: Optimizer, swa_lr: float | Sequence[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups, prev_lrs)]
