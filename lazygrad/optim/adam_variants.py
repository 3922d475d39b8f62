"""NAdam, RAdam and Adamax: Adam's moments with Nesterov momentum, a rectified step size, or an infinity norm,
op for op as torch's single-tensor CPU code, so that their bits are torch's as Adam's are (see adam.py).

Their step counts (and NAdam's running product of momentum factors) are 0-dim state tensors, as in torch; the
update reads them as numbers through ``StateScalars`` (host numbers outside a compiled step's trace).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .adam import _addcdiv, _check_adam_like
from .optimizer import Optimizer
from .state_scalars import Scalar, StateScalars, rounded, step_tensor, where


class _AdamLike(Optimizer):
    """The shared state layout: a step count and the two moment buffers named ``moments``."""

    moments: tuple[str, str] = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        super().__init__(params, defaults)
        self._scalars = StateScalars()

    def _state(self, param: Tensor) -> dict[str, Any]:
        state = self.state[param]
        if not state:
            state["step"] = tensor(0.0)
            self._init_extra(state)
            for name in self.moments:
                state[name] = zeros_like(param)
        step_tensor(state)
        return state

    def _init_extra(self, state: dict[str, Any]) -> None:
        """State entries torch creates between the step count and the moments."""

    def _decayed(self, group: dict[str, Any], param: Tensor, grad: Tensor) -> Tensor:
        """The gradient after weight decay (L2 on the gradient, or decoupled on the weights)."""
        weight_decay = group["weight_decay"]
        if weight_decay == 0:
            return grad
        if group.get("decoupled_weight_decay"):
            param.mul_(1 - group["lr"] * weight_decay)
            return grad
        return grad.add(param, alpha=weight_decay)


class NAdam(_AdamLike):
    """Adam with Nesterov momentum; the momentum factor warms up with ``momentum_decay``."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_extra(self, state: dict[str, Any]) -> None:
        state["mu_product"] = tensor(1.0)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
        for param, grad in self._gradients(group):
            state = self._state(param)
            step = self._scalars.count(state["step"])
            bias_correction2 = 1 - beta2**step
            grad = self._decayed(group, param, grad)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
            # a float32 tensor times a number: the number is rounded to float32 first
            product = state["mu_product"]
            mu_product = self._scalars.write(product, self._scalars.value(product) * rounded(mu, product.dtype))
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
            mu_product_next = mu_product * mu_next
            _addcdiv(param, grad, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
            _addcdiv(param, exp_avg, denom, (-lr * mu_next) / (1.0 - mu_product_next))


class RAdam(_AdamLike):
    """Adam whose adaptive step is rectified by the variance of its estimate, and skipped (plain momentum)
    while that variance is intractable (the first few steps)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for param, grad in self._gradients(group):
            state = self._state(param)
            step = self._scalars.count(state["step"])
            grad = self._decayed(group, param, grad)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            scaled = exp_avg / bias_correction1 * lr
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            # the rectification is only defined past rho_t = 4; torch uses it from rho_t > 5
            tractable = rho_t > 5.0
            if isinstance(tractable, Tensor):  # inside a compiled step's trace: both updates, chosen in the program
                rectified = _rectified(scaled, exp_avg_sq, eps, bias_correction2, where(tractable, rho_t, 6.0), rho_inf)
                update = where(tractable, rectified, scaled)
            else:
                update = _rectified(scaled, exp_avg_sq, eps, bias_correction2, rho_t, rho_inf) if tractable else scaled
            param.add_(update, alpha=-1.0)


def _rectified(scaled: Tensor, exp_avg_sq: Tensor, eps: float, bias_correction2: Scalar, rho_t: Scalar,
               rho_inf: float) -> Tensor:
    """RAdam's update while the variance is tractable, in torch's order: the adaptive factor is torch's ``number /
    tensor``, a reciprocal times the number (two roundings)."""
    adaptive = exp_avg_sq.sqrt().add_(eps).reciprocal() * bias_correction2**0.5
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    return scaled * adaptive * rect


class Adamax(_AdamLike):
    """Adam with the infinity norm: the second moment is a decaying running maximum of ``|grad|``."""

    moments = ("exp_avg", "exp_inf")

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for param, grad in self._gradients(group):
            state = self._state(param)
            step = self._scalars.count(state["step"])
            grad = self._decayed(group, param, grad)
            exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_inf.copy_(exp_inf.mul_(beta2).maximum(grad.abs().add_(eps)))
            clr = lr / (1 - beta1**step)
            _addcdiv(param, exp_avg, exp_inf, -clr)
