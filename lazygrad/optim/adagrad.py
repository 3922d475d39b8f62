"""Adagrad: per-element step sizes from the running sum of squared gradients, in torch's update order.

The step count is a host int, so the decayed rate is a Python float: a program input, no recompile.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..creation import full_like
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Divides the gradient by the root of the running sum of its squares; ``lr_decay`` shrinks the rate
    with the step count. The sums exist from construction, as torch's, so they appear in state dicts."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay),
                            ("weight_decay value", weight_decay),
                            ("initial_accumulator_value value", initial_accumulator_value),
                            ("epsilon value", eps)):
            if value < 0.0:
                raise ValueError(f"Invalid {name}: {value}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = {"step": 0, "sum": full_like(param, group["initial_accumulator_value"])}

    def _update_group(self, group: dict[str, Any]) -> None:
        for param, grad in self._gradients(group):
            state = self.state[param]
            state["step"] += 1
            # torch's single-tensor update, op for op (its add_ and addcdiv_ round as it does)
            if group["weight_decay"] != 0:
                grad = grad.add(param, alpha=group["weight_decay"])
            rate = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
            state["sum"].addcmul_(grad, grad, value=1)
            param.addcdiv_(grad, state["sum"].sqrt().add_(group["eps"]), value=-rate)
