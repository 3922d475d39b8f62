"""Optimizer updates against torch's CPU optimizers, bit for bit: the same fixed float32 gradients for a few
steps, then every parameter element compared by its bits.

torch's default CPU update is its single-tensor code, and lazygrad's optimizers follow it op for op (the fused
multiply-adds of ``add(alpha=)``, ``addcmul`` and ``lerp`` included). One op differs on purpose: torch's CPU
``sqrt`` is within one unit in the last place but not correctly rounded (about one float32 in six comes out one
bit away), while lazygrad's is IEEE's. So torch runs here with an IEEE ``sqrt`` in place of its own, and
everything else is checked to the bit.

The jax backend is compared with a tolerance: XLA's CPU compiler contracts a product and a sum into one fused
multiply-add and turns a division by a scalar into a product with its reciprocal, so its bits are not torch's.

Each row of ``CASES`` is an optimizer name and its keyword arguments; ``Lr`` stands for a 0-dim tensor learning
rate, made by each library for itself.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

STEPS = 6  # RAdam's rectified update starts at the sixth step, whatever its betas
SHAPES = ((37, 19), (19,))  # a weight and a bias


class Lr(NamedTuple):
    """A learning rate given as a 0-dim float32 tensor."""

    value: float


CASES: list[tuple[str, dict[str, Any]]] = [
    ("Adam", {}),
    ("Adam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("Adam", {"amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 1e-2, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": Lr(1e-2), "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"lr": 1e-2, "weight_decay": 0.3, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": Lr(1e-2)}),
    ("Adamax", {}),
    ("Adamax", {"lr": 1e-2, "betas": (0.8, 0.9), "weight_decay": 0.1, "maximize": True}),
    ("Adamax", {"lr": Lr(1e-2), "weight_decay": 0.1}),
    ("NAdam", {}),
    ("NAdam", {"weight_decay": 0.1, "momentum_decay": 0.05}),
    ("NAdam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("NAdam", {"lr": Lr(1e-2), "betas": (0.8, 0.9)}),
    ("RAdam", {}),
    ("RAdam", {"lr": 1e-2, "betas": (0.8, 0.9), "weight_decay": 0.1, "maximize": True}),
    ("RAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "betas": (0.5, 0.7)}),
    ("RAdam", {"lr": Lr(1e-2), "betas": (0.8, 0.95)}),
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("ASGD", {"lr": 0.01, "t0": 2, "weight_decay": 0.01}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adadelta", {"weight_decay": 0.01}),
    ("Rprop", {}),
]


def _arrays() -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial parameters and each step's gradients, float32."""
    rng = np.random.default_rng(7)
    params = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in SHAPES] for _ in range(STEPS)]
    return params, grads


def _trained(lib: Any, name: str, kwargs: dict[str, Any]) -> list[np.ndarray]:
    """The parameters after ``STEPS`` steps of ``lib.optim.<name>``."""
    params, grads = _arrays()
    made = {key: lib.tensor(value.value) if isinstance(value, Lr) else value for key, value in kwargs.items()}
    weights = [lib.nn.Parameter(lib.tensor(p)) for p in params]
    optimizer = getattr(lib.optim, name)(weights, **made)
    for step_grads in grads:
        for weight, grad in zip(weights, step_grads):
            weight.grad = lib.tensor(grad)
        optimizer.step()
    return [np.array(w.detach().numpy()) for w in weights]


def _ieee_sqrt(self: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.sqrt(self.detach().numpy()))


def _ieee_sqrt_(self: torch.Tensor) -> torch.Tensor:
    return self.copy_(_ieee_sqrt(self))


@pytest.fixture
def torch_with_ieee_sqrt(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(torch.Tensor, "sqrt", _ieee_sqrt)
    monkeypatch.setattr(torch.Tensor, "sqrt_", _ieee_sqrt_)
    return torch


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{name}-{kwargs}" for name, kwargs in CASES])
def test_parameters_are_torchs(backend: str, torch_with_ieee_sqrt: Any, name: str, kwargs: dict[str, Any]) -> None:
    theirs = _trained(torch_with_ieee_sqrt, name, kwargs)
    ours = _trained(lazygrad, name, kwargs)
    for mine, expected in zip(ours, theirs):
        assert mine.dtype == expected.dtype == np.float32
        if backend == "jax":
            np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-6)
        else:
            differing = np.count_nonzero(mine.view(np.uint32) != expected.view(np.uint32))
            assert differing == 0, f"{differing} of {mine.size} elements differ from torch's"
