"""Adam and AdamW (with optional AMSGrad), following torch's update order.

The step count is a float32 tensor, as in torch. Outside a compiled step its value is also known on the host
(the optimizer wrote it), so the bias corrections are Python numbers computed as torch's CPU Adam computes them:
they enter the program as inputs, and a step builds 15 fewer nodes per parameter. Inside a compiled step's trace
(``lazygrad.compile``) they are computed from the tensor in float64 in the program, so the replay needs no
Python number refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import capture, dtypes
from ..creation import tensor, zeros_like
from ..ir import Node
from ..tensor import Tensor
from .optimizer import Optimizer


def _check_adam_like(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam; ``decoupled_weight_decay=True`` makes it AdamW (decay applied to the weights, not the gradient)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        # in torch's order: state dicts print them
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        # id(param) -> (the node its step tensor got from this optimizer's last increment, the count it holds)
        self._counts: dict[int, tuple[Node, float]] = {}

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        on_host = capture.current() is None
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
            # The count after this step: a Python number, or inside a compiled step's trace a float64 tensor (the
            # replay computes it in the program). The arithmetic below is torch's CPU Adam's either way.
            step = self._increment(param, state["step"]) if on_host else state["step"].add_(1).to(dtypes.float64)
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param.mul_(1 - lr * weight_decay)
                else:
                    grad = grad + param * weight_decay
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            # exp_avg moves toward grad by (1 - beta1): torch's lerp, written as a + w * (b - a).
            exp_avg.add_((grad - exp_avg) * (1 - beta1))
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            second = exp_avg_sq
            if group["amsgrad"]:
                second = state["max_exp_avg_sq"].copy_(state["max_exp_avg_sq"].maximum(exp_avg_sq))
            denom = second.sqrt() / (1 - beta2**step) ** 0.5 + eps
            param.add_(exp_avg * (-lr / (1 - beta1**step)) / denom)  # torch's addcdiv: the product, then the quotient

    def _increment(self, param: Tensor, step: Tensor) -> float:
        """Add one to ``param``'s step tensor and return the new count, known on the host unless someone else
        wrote the tensor since this optimizer did (then it is read, once)."""
        known = self._counts.get(id(param))
        count = (known[1] if known is not None and known[0] is step.node else step.item()) + 1
        step.add_(1)
        self._counts[id(param)] = (step.node, count)
        return count


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
