"""Adam and AdamW (with optional AMSGrad), following torch's update order.

The step count is a float32 tensor, as in torch's capturable Adam, and the bias corrections are computed
from it inside the program in float64: the update graph is identical from the second step on, compiles
once, and a compiled step (``lazygrad.compile``) replays it without any Python number to refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import dtypes
from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam; ``decoupled_weight_decay=True`` makes it AdamW (decay applied to the weights, not the gradient)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        # in torch's order: state dicts print them
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        for param, grad in self._gradients(group):
            state = self.state[param]
            if not state:
                state["step"] = tensor(0.0, device=param.device)
                state["exp_avg"] = zeros_like(param)
                state["exp_avg_sq"] = zeros_like(param)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_like(param)
            if not isinstance(state["step"], Tensor):  # a step count loaded from a state dict
                state["step"] = tensor(float(state["step"]), device=param.device)
            step = state["step"].add_(1).to(dtypes.float64)
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param.mul_(1 - lr * weight_decay)
                else:
                    grad = grad + param * weight_decay
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            # exp_avg moves toward grad by (1 - beta1): torch's lerp, written as a + w * (b - a).
            exp_avg.add_((grad - exp_avg) * (1 - beta1))
            exp_avg_sq.mul_(beta2).add_(grad * grad * (1 - beta2))
            second = exp_avg_sq
            if group["amsgrad"]:
                second = state["max_exp_avg_sq"].copy_(state["max_exp_avg_sq"].maximum(exp_avg_sq))
            step_size = lr / (1 - beta1**step)
            denom = second.sqrt() / (1 - beta2**step).sqrt() + eps
            param.sub_(exp_avg / denom * step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
