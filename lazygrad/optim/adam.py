"""Adam and AdamW (with optional AMSGrad), op for op as torch's single-tensor CPU Adam: on the numpy backend the
parameters are torch's bit for bit, given the same gradients, but for torch's ``sqrt`` (MKL's, which is not
correctly rounded; tests/test_optim_bits.py).

The step count is a float32 tensor, as in torch, read through ``StateScalars``: outside a compiled step it is a
Python number the optimizer knows, so the bias corrections are computed as torch's CPU Adam computes them and
enter the program as inputs (15 fewer nodes per parameter than computing them in the graph); inside a compiled
step's trace (``lazygrad.compile``) the same formulas run on the tensor in float64, in the program.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer
from .state_scalars import Scalar, StateScalars, step_tensor


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


def _addcdiv(param: Tensor, tensor1: Tensor, tensor2: Tensor, value: Scalar) -> Tensor:
    """torch's ``param.addcdiv_(tensor1, tensor2, value=value)``. A 0-dim tensor ``value`` (from a tensor learning
    rate, or any step size inside a compiled step's trace) is what torch would read as a number: rounded to the
    parameter's dtype, times ``tensor1``, then the quotient, then the sum, as the kernel does."""
    if isinstance(value, Tensor):
        return param.add_(tensor1 * value / tensor2)
    return param.addcdiv_(tensor1, tensor2, value=value)


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
        self._scalars = StateScalars()

    def _state(self, param: Tensor, amsgrad: bool) -> dict[str, Any]:
        state = self.state[param]
        if not state:
            state["step"] = tensor(0.0, device=param.device)
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
            if amsgrad:
                state["max_exp_avg_sq"] = zeros_like(param)
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        for param, grad in self._gradients(group):
            state = self._state(param, group["amsgrad"])
            # The count after this step: a Python number, or inside a compiled step's trace a float64 tensor (the
            # replay computes it in the program). The arithmetic below is torch's CPU Adam's either way.
            step = self._scalars.count(step_tensor(state))
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param.mul_(1 - lr * weight_decay)
                else:
                    grad = grad.add(param, alpha=weight_decay)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2**0.5
            second = exp_avg_sq
            if group["amsgrad"]:
                second = state["max_exp_avg_sq"].copy_(state["max_exp_avg_sq"].maximum(exp_avg_sq))
            denom = (second.sqrt() / bias_correction2_sqrt).add_(eps)
            _addcdiv(param, exp_avg, denom, -step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
