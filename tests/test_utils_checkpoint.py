"""``torch.utils.checkpoint`` against torch: a checkpointed segment gives torch's values, gradients and random
draws, warns as torch warns, and the reentrant variant leaves parameters without gradients when no input
requires one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch


def _run(lib, checkpointed):
    """The gradients of a dropout network's first layer and input, then the generator's next draw."""
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Dropout(0.3), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    x = lib.tensor(np.arange(15.0, dtype=np.float32).reshape(5, 3) / 7, requires_grad=True)
    checkpointed(lib, model, x).pow(2).sum().backward()
    return model[0].weight.grad, x.grad, lib.randn(3)


@pytest.mark.parametrize("checkpointed", [
    lambda lib, m, x: lib.utils.checkpoint.checkpoint(m, x, use_reentrant=False),
    lambda lib, m, x: lib.utils.checkpoint.checkpoint(m, x, use_reentrant=True),
    lambda lib, m, x: lib.utils.checkpoint.checkpoint_sequential(m, 2, x, use_reentrant=False),
])
def test_checkpointed_segment_matches_torch(checkpointed) -> None:
    for got, want in zip(_run(lazygrad, checkpointed), _run(torch, checkpointed)):
        assert_close(got, want.numpy())


def test_reentrant_checkpoint_without_grad_inputs_gives_no_gradient_like_torch() -> None:
    for lib in (torch, lazygrad):
        layer = lib.nn.Linear(2, 2)
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            out = lib.utils.checkpoint.checkpoint(layer, lib.ones(1, 2), use_reentrant=True)
        assert not out.requires_grad


def test_checkpoint_options_are_checked_like_torch() -> None:
    for lib in (torch, lazygrad):
        with pytest.warns(UserWarning, match="the use_reentrant parameter should be passed explicitly"):
            lib.utils.checkpoint.checkpoint(lib.nn.Identity(), lib.ones(1, requires_grad=True))
        with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
            lib.utils.checkpoint.checkpoint(lib.nn.Identity(), lib.ones(1), use_reentrant=True, scale=2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.utils.checkpoint.checkpoint(lib.mul, lib.ones(1), lib.ones(1), use_reentrant=False)
