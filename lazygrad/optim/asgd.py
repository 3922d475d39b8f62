"""Averaged SGD: decayed SGD steps with a decaying rate, and a running average of the iterates (``ax``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer
from .state_scalars import StateScalars, step_tensor


class ASGD(Optimizer):
    """torch's update: ``eta`` and ``mu`` are 0-dim state tensors that each step rewrites from the step count
    (averaging starts after ``t0`` steps); the update reads them as numbers through ``StateScalars``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)
        self._scalars = StateScalars()

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        scalars = self._scalars
        for param, grad in self._gradients(group):
            state = self.state[param]
            if not state:
                state["step"] = tensor(0.0)
                state["eta"] = tensor(float(lr))
                state["mu"] = tensor(1.0)
                state["ax"] = zeros_like(param)
            step = scalars.count(step_tensor(state))
            # torch's single-tensor update, op for op (its add_ rounds once, as a fused multiply-add)
            if group["weight_decay"] != 0:
                grad = grad.add(param, alpha=group["weight_decay"])
            eta = scalars.value(state["eta"])
            param.mul_(1 - lambd * eta).add_(grad, alpha=-eta)
            mu = scalars.value(state["mu"])
            if isinstance(mu, float) and mu == 1:
                state["ax"].copy_(param)
            else:
                state["ax"].add_(param.sub(state["ax"]).mul_(mu))
            scalars.write(state["eta"], lr / ((1 + lambd * lr * step) ** alpha))
            scalars.write(state["mu"], 1 / _at_least_one(step - t0))


def _at_least_one(x: Any) -> Any:
    return x.clamp(min=1) if isinstance(x, Tensor) else max(1, x)
