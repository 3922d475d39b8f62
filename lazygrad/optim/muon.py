"""Muon: momentum SGD for 2-D weights whose update is orthogonalized by a Newton-Schulz iteration.

The iteration is a fixed number of bfloat16 matrix products (as torch computes it), so it is part of the step's
program like any other update; the learning rate's shape adjustment is a number known from the shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ..creation import zeros_like
from ..products import addmm
from ..tensor import Tensor
from .adafactor import _as_scalar
from .optimizer import Optimizer

# the quintic's coefficients, chosen for the steepest slope at zero (torch's defaults)
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5
EPS = 1e-7

# ``adjust_lr_fn`` -> the learning rate's factor for a (rows, columns) weight, so that rectangular weights get
# updates of a comparable RMS: the original's sqrt(max(1, rows/columns)), or 0.2*sqrt(max(rows, columns)) to match
# AdamW's update RMS (and reuse its learning rate and weight decay).
def _original(rows: int, cols: int) -> float:
    return math.sqrt(max(1, rows / cols))


ADJUST_LR: dict[str | None, Callable[[int, int], float]] = {
    None: _original,
    "original": _original,
    "match_rms_adamw": lambda rows, cols: 0.2 * math.sqrt(max(rows, cols)),
}


def orthogonalized(grad: Tensor, ns_coefficients: tuple[float, float, float], ns_steps: int,
                   eps: float) -> Tensor:
    """``grad``'s polar factor, approximately (singular values end near, not at, one): ``ns_steps`` steps of
    ``X <- a X + (b A + c A^2) X`` with ``A = X X^T``, from ``X = grad / ||grad||`` in bfloat16. The wide
    orientation keeps ``A`` the smaller Gram matrix."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    x = grad.bfloat16()
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)  # a spectral norm of at most one, where the iteration converges
    for _ in range(ns_steps):
        gram = x @ x.T
        x = addmm(x, addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(Optimizer):
    """Nesterov (or plain) momentum whose direction is orthogonalized, with decoupled weight decay; for the 2-D
    weights of hidden layers only (torch refuses others, which another optimizer such as AdamW takes)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                 eps: float = EPS, ns_steps: int = NS_STEPS, adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not lr >= 0.0:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not momentum >= 0.0:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in ADJUST_LR:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
                    "ns_coefficients": ns_coefficients, "eps": eps, "ns_steps": ns_steps,
                    "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                if param.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{param.size()}")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum = _as_scalar(group["lr"]), group["momentum"]
        params = [p for p in group["params"] if p.grad is not None]
        for param in params:  # torch makes every buffer before it updates any parameter
            if "momentum_buffer" not in self.state[param]:
                self.state[param]["momentum_buffer"] = zeros_like(param.grad)
        for param in params:
            grad = param.grad
            if grad.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            buf = self.state[param]["momentum_buffer"]
            buf.lerp_(grad, 1 - momentum)
            update = grad.lerp(buf, momentum) if group["nesterov"] else buf
            update = orthogonalized(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
            step_size = lr * ADJUST_LR[group["adjust_lr_fn"]](*param.shape[:2])
            param.mul_(1 - lr * group["weight_decay"])
            if isinstance(step_size, Tensor):  # torch reads a tensor rate as the number ``add_``'s alpha takes
                param.addcmul_(update, -step_size)  # the same single rounding as ``add_(alpha=)``
            else:
                param.add_(update, alpha=-step_size)
