"""Rprop: per-element step sizes grown while the gradient keeps its sign and shrunk when it flips."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..arithmetic import where
from ..creation import full_like, tensor, zeros_like
from .optimizer import Optimizer
from .state_scalars import step_tensor


class Rprop(Optimizer):
    """Moves each element by its step size against the gradient's sign; after a sign flip the element rests
    one step (its gradient is taken as zero), as in torch."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        (etaminus, etaplus), (smallest, largest) = group["etas"], group["step_sizes"]
        for param, grad in self._gradients(group):
            state = self.state[param]
            if not state:
                state["step"] = tensor(0.0)
                state["prev"] = zeros_like(param)
                state["step_size"] = full_like(grad, group["lr"])
            step_tensor(state).add_(1)  # counted as torch counts, read by nothing
            agreement = grad * state["prev"]
            flipped = agreement < 0
            factor = where(agreement > 0, etaplus, where(flipped, etaminus, full_like(grad, 1.0)))
            step_size = state["step_size"]
            step_size.mul_(factor).clamp_(smallest, largest)
            grad = where(flipped, 0.0, grad)
            param.addcmul_(grad.sign(), step_size, value=-1)
            state["prev"].copy_(grad)
