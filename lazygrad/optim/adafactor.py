"""Adafactor: Adam-like steps whose second moment of a matrix is kept as one row and one column factor.

torch's single-tensor update reads three numbers per parameter on the host (the step count, the parameter's
RMS and the update's RMS). Here only the step count is a number (``StateScalars`` knows it without a read); the
two RMS values stay 0-dim tensors, so the relative step size and the update clipping are part of the program
and a training step is still one program.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import dtypes
from ..creation import tensor, zeros_like
from ..tensor import Tensor
from ..type_info import finfo
from .optimizer import Optimizer
from .state_scalars import Scalar, StateScalars, step_tensor, where


class Adafactor(Optimizer):
    """Relative step sizes ``max(eps2, RMS(param)) * min(lr, 1/sqrt(t))``, a factored second moment for
    tensors of two or more dimensions (a full one for vectors), updates clipped to RMS ``d``, and decoupled
    weight decay scaled by ``lr``."""

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        checks = (
            (lr >= 0.0, f"Learning rate should be >= 0 but is: {lr}"),
            (beta2_decay <= 0.0, f"beta2_decay should be <= 0 but is: {beta2_decay}"),
            (eps[0] is None or eps[0] >= 0.0, f"epsilon1 should be >= 0 but is: {eps[0]}"),
            (eps[1] >= 0.0, f"epsilon2 should be >= 0 but is: {eps[1]}"),
            (d >= 1.0, f"Clipping threshold d should be >= 1 but is: {d}"),
            (weight_decay >= 0.0, f"weight_decay should be >= 0 but is: {weight_decay}"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)
        self._scalars = StateScalars()

    def _state(self, param: Tensor, grad: Tensor) -> dict[str, Any]:
        state = self.state[param]
        if not state:
            state["step"] = tensor(0.0)
            if grad.ndim > 1:
                state["row_var"] = grad.new_zeros([*grad.shape[:-1], 1])
                state["col_var"] = grad.new_zeros([*grad.shape[:-2], 1, grad.shape[-1]])
            else:
                state["variance"] = zeros_like(grad)
        step_tensor(state)
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, weight_decay, d = _as_scalar(group["lr"]), group["weight_decay"], group["d"]
        eps1, eps2 = group["eps"]
        for param, grad in self._gradients(group):
            state = self._state(param, grad)
            if eps1 is None:  # torch takes it from the group's first parameter with a gradient
                eps1 = finfo(param.dtype).eps
            step = self._scalars.count(state["step"])
            one_minus_beta2 = step**group["beta2_decay"]
            relative = _smaller(lr, 1 / step**0.5)
            # torch reads these norms as Python numbers (doubles); float64 0-dim tensors keep its arithmetic
            alpha = _rms(param).clamp(min=eps2) * relative
            if weight_decay != 0:
                param.mul_(1 - lr * weight_decay)
            if grad.ndim > 1:
                row_var, col_var = state["row_var"], state["col_var"]
                row_var.lerp_(grad.norm(dim=-1, keepdim=True).square().div(grad.size(-1)), one_minus_beta2)
                col_var.lerp_(grad.norm(dim=-2, keepdim=True).square().div(grad.size(-2)), one_minus_beta2)
                var_estimate = (row_var @ col_var).div(row_var.mean(dim=-2, keepdim=True).clamp(min=eps1))
            else:
                variance = state["variance"]
                variance.lerp_(grad * grad, one_minus_beta2)
                var_estimate = variance
            update = var_estimate.clamp(min=eps1 * eps1).rsqrt().mul(grad)
            clip = (update.norm(2).to(dtypes.float64) / (update.numel() ** 0.5 * d)).clamp(min=1.0)
            param.addcmul_(update, -alpha / clip)  # one rounding, as torch's ``add_(alpha=)``


def _rms(t: Tensor) -> Tensor:
    """The root mean square of ``t``'s elements, as torch's ``t.norm(2).item() / t.numel() ** 0.5``."""
    return t.norm(2).to(dtypes.float64) / t.numel() ** 0.5


def _smaller(a: Scalar, b: Scalar) -> Scalar:
    """Python's ``min(a, b)`` (``a`` unless ``b < a``), chosen in the program when either is a tensor."""
    return where(b < a, b, a)


def _as_scalar(lr: Any) -> Any:
    """A one-element tensor learning rate as a 0-dim tensor, as torch squeezes it."""
    return lr.squeeze() if isinstance(lr, Tensor) and lr.ndim != 0 else lr
