"""``F.affine_grid`` and ``F.grid_sample`` against torch: values, the gradients for the input and for the grid (or
the affine matrices), torch's grad_fn names, warnings and errors.

Every mode, padding mode and corner alignment of one rank is built into one loss, so a backend compiles one
program per rank. Grid positions reach past the image (-1.4 .. 1.4) so that every padding mode matters.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad
import lazygrad.nn.functional as F

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

_RNG = np.random.default_rng(3)
# (input, grid) per rank: 2-D images sampled at a 3x4 grid, 3-D volumes at a 2x2x3 grid.
CASES = {
    2: (_RNG.standard_normal((2, 3, 4, 5)), _RNG.uniform(-1.4, 1.4, (2, 3, 4, 2))),
    3: (_RNG.standard_normal((2, 2, 3, 4, 5)), _RNG.uniform(-1.4, 1.4, (2, 2, 2, 3, 3))),
}
SETTINGS = list(itertools.product(("bilinear", "nearest"), ("zeros", "border", "reflection"), (False, True)))
# On jax all twelve make one program that XLA compiles for half a minute: each mode and each padding once there.
JAX_SETTINGS = [("bilinear", "zeros", False), ("bilinear", "reflection", True), ("nearest", "border", False),
                ("nearest", "reflection", False)]


def _sampled(lib, functional, image, grid, settings):
    """Each setting's output and the gradients of a weighted sum of all outputs for its input and its grid."""
    leaves, outs = [], []
    for mode, padding_mode, align_corners in settings:
        x, g = lib.tensor(image, requires_grad=True), lib.tensor(grid, requires_grad=True)
        leaves.append((x, g))
        outs.append(functional.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners))
    weights = lib.tensor(np.random.default_rng(0).standard_normal(tuple(outs[0].shape)))
    sum((out * weights).sum() for out in outs).backward()
    return outs, leaves


@pytest.mark.parametrize("rank", sorted(CASES))
def test_grid_sample_matches_torch(rank: int) -> None:
    image, grid = CASES[rank]
    settings = JAX_SETTINGS if lazygrad.get_backend() == "jax" else SETTINGS
    ours, our_leaves = _sampled(lazygrad, F, image, grid, settings)
    theirs, their_leaves = _sampled(torch, torch.nn.functional, image, grid, settings)
    for setting, got, want, (x, g), (tx, tg) in zip(settings, ours, theirs, our_leaves, their_leaves):
        assert got.grad_fn.name() == want.grad_fn.name(), setting
        assert_close(got, want.detach().numpy())
        assert_close(x.grad, tx.grad.numpy())
        assert_close(g.grad, tg.grad.numpy())


@pytest.mark.parametrize(("size", "theta_shape"), [((2, 3, 4, 5), (2, 2, 3)), ((2, 1, 2, 1, 3), (2, 3, 4))])
def test_affine_grid_matches_torch(size, theta_shape) -> None:
    theta = np.random.default_rng(1).standard_normal(theta_shape)
    ours, theirs = lazygrad.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    for align_corners in (False, True):
        got = F.affine_grid(ours, size, align_corners=align_corners)
        want = torch.nn.functional.affine_grid(theirs, size, align_corners=align_corners)
        assert got.grad_fn.name() == want.grad_fn.name()
        assert_close(got, want.detach().numpy())
        (got * got).sum().backward()
        (want * want).sum().backward()
    assert_close(ours.grad, theirs.grad.numpy())


def test_spatial_transformer_samples_a_rotated_image() -> None:
    """affine_grid then grid_sample, as a spatial transformer chains them: a quarter turn is exact."""
    image = np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)
    quarter_turn = lazygrad.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])
    grid = F.affine_grid(quarter_turn, [1, 1, 4, 4], align_corners=False)
    turned = F.grid_sample(lazygrad.tensor(image), grid, align_corners=False)
    np.testing.assert_allclose(turned.numpy()[0, 0], np.rot90(image[0, 0]), atol=1e-6)


def test_default_alignment_warns_like_torch() -> None:
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior has changed"):
        F.affine_grid(lazygrad.eye(2, 3).unsqueeze(0), [1, 1, 2, 2])
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior has changed"):
        F.grid_sample(lazygrad.zeros(1, 1, 2, 2), lazygrad.zeros(1, 1, 1, 2))


@pytest.mark.parametrize("call", [
    lambda f, lib: f.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), mode="cubic", align_corners=False),
    lambda f, lib: f.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), padding_mode="wrap",
                                 align_corners=False),
    lambda f, lib: f.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 3), align_corners=False),
    lambda f, lib: f.grid_sample(lib.zeros(2, 1, 2, 2), lib.zeros(1, 1, 1, 2), align_corners=False),
    lambda f, lib: f.grid_sample(lib.zeros(1, 1, 2), lib.zeros(1, 1, 2), align_corners=False),
    lambda f, lib: f.affine_grid(lib.zeros(1, 2, 3), [1, 1, 2], align_corners=False),
    lambda f, lib: f.affine_grid(lib.zeros(1, 3, 3), [1, 1, 2, 2], align_corners=False),
    lambda f, lib: f.affine_grid(lib.zeros(1, 2, 3, dtype=lib.int64), [1, 1, 2, 2], align_corners=False),
    lambda f, lib: f.affine_grid(lib.zeros(1, 2, 3), [1, 1, 0, 2], align_corners=False),
])
def test_errors_match_torch(call) -> None:
    with pytest.raises(Exception) as theirs:
        call(torch.nn.functional, torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(F, lazygrad)
    assert str(ours.value) == str(theirs.value)
