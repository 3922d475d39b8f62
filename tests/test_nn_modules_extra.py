"""Volume and adaptive max pooling, channel and alpha dropout, Bilinear, PairwiseDistance and the margin,
embedding and likelihood losses: values, input gradients and printed modules equal torch's.

Inputs are small fixed float64 arrays, so each case is one program per backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch
from module_oracle import call_module, check_module, raises_like_torch

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch

RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def signs(*shape: int) -> np.ndarray:
    return np.where(RNG.standard_normal(shape) > 0, 1, -1).astype(np.int64)



# (make(nn), inputs): every float input also gets a gradient, compared with torch's.
MODULES = {
    "maxpool3d": (lambda nn: nn.MaxPool3d(2, stride=1, padding=1), [normal(1, 2, 3, 4, 4)]),
    "maxpool3d_unbatched": (lambda nn: nn.MaxPool3d((2, 1, 2), dilation=(1, 1, 2)), [normal(2, 3, 4, 5)]),
    "avgpool3d": (lambda nn: nn.AvgPool3d(2, stride=(1, 2, 2), padding=1, count_include_pad=False),
                  [normal(1, 2, 3, 4, 4)]),
    "avgpool3d_ceil": (lambda nn: nn.AvgPool3d(2, ceil_mode=True, divisor_override=3), [normal(2, 3, 5, 3)]),
    "adaptive_max1d": (lambda nn: nn.AdaptiveMaxPool1d(3), [normal(2, 3, 7)]),
    "adaptive_max1d_even": (lambda nn: nn.AdaptiveMaxPool1d(4), [normal(2, 8)]),
    "adaptive_max2d": (lambda nn: nn.AdaptiveMaxPool2d((2, None)), [normal(1, 2, 5, 4)]),
    "adaptive_max2d_unbatched": (lambda nn: nn.AdaptiveMaxPool2d(3), [normal(2, 5, 7)]),
    "adaptive_max2d_indices": (lambda nn: nn.AdaptiveMaxPool2d((None, 3), return_indices=True), [normal(1, 2, 4, 8)]),
    "bilinear": (lambda nn: nn.Bilinear(3, 4, 2), [normal(5, 3), normal(5, 4)]),
    "bilinear_nobias": (lambda nn: nn.Bilinear(3, 4, 2, bias=False), [normal(2, 5, 3), normal(2, 5, 4)]),
    "pairwise": (lambda nn: nn.PairwiseDistance(), [normal(4, 5), normal(4, 5)]),
    "pairwise_p1": (lambda nn: nn.PairwiseDistance(p=1.0, eps=0.0, keepdim=True), [normal(4, 5), normal(4, 5)]),
    "margin_ranking": (lambda nn: nn.MarginRankingLoss(margin=0.3), [normal(6), normal(6), signs(6)]),
    "hinge_embedding": (lambda nn: nn.HingeEmbeddingLoss(margin=0.5, reduction="none"), [normal(2, 3), signs(2, 3)]),
    "cosine_embedding": (lambda nn: nn.CosineEmbeddingLoss(margin=0.2), [normal(4, 5), normal(4, 5), signs(4)]),
    "soft_margin": (lambda nn: nn.SoftMarginLoss(reduction="sum"), [normal(2, 3), signs(2, 3)]),
    "multilabel_soft_margin": (lambda nn: nn.MultiLabelSoftMarginLoss(), [normal(3, 4), RNG.random((3, 4))]),
    "triplet": (lambda nn: nn.TripletMarginLoss(margin=2.0), [normal(4, 5), normal(4, 5), normal(4, 5)]),
    "triplet_swap_p1": (lambda nn: nn.TripletMarginLoss(p=1.0, swap=True, reduction="none"),
                        [normal(4, 5), normal(4, 5), normal(4, 5)]),
    "poisson": (lambda nn: nn.PoissonNLLLoss(), [normal(2, 3), RNG.random((2, 3)) * 3]),
    "poisson_full": (lambda nn: nn.PoissonNLLLoss(log_input=False, full=True, reduction="sum"),
                     [RNG.random((2, 4)) + 0.1, np.array([[0.5, 1.0, 2.0, 3.5], [4.0, 0.7, 1.5, 6.0]])]),
    "gaussian": (lambda nn: nn.GaussianNLLLoss(), [normal(3, 4), normal(3, 4), RNG.random((3, 4)) + 0.1]),
    "gaussian_full_homoscedastic": (lambda nn: nn.GaussianNLLLoss(full=True, eps=0.05, reduction="none"),
                                    [normal(3, 4), normal(3, 4), RNG.random(3) * 0.2]),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_matches_torch(name: str) -> None:
    make, inputs = MODULES[name]
    check_module(make, call_module, *inputs)


# Functional forms with options the module cases above do not cover (each with torch's reduction handling).
FUNCTIONAL = {
    "max_pool3d_indices": (lambda T, x: T.nn.functional.max_pool3d(x, 2, return_indices=True), [normal(1, 1, 2, 4, 4)]),
    "avg_pool3d": (lambda T, x: T.nn.functional.avg_pool3d(x, (1, 2, 2)), [normal(1, 2, 2, 4, 4)]),
    "adaptive_max_pool1d_indices": (lambda T, x: T.nn.functional.adaptive_max_pool1d(x, 4, return_indices=True),
                                    [normal(2, 3, 7)]),
    "adaptive_max_pool2d_indices": (lambda T, x: T.nn.functional.adaptive_max_pool2d(x, (3, 2), True),
                                    [normal(2, 5, 7)]),
    "bilinear_1d": (lambda T, a, b, w: T.nn.functional.bilinear(a, b, w), [normal(3), normal(4), normal(2, 3, 4)]),
    "margin_ranking_legacy": (lambda T, a, b, y: T.nn.functional.margin_ranking_loss(a, b, y, size_average=False),
                              [normal(6), normal(6), signs(6)]),
    "cosine_embedding_0d": (lambda T, a, b, y: T.nn.functional.cosine_embedding_loss(a, b, y, reduction="none"),
                            [normal(5), normal(5), np.array(-1)]),
    "multilabel_weighted": (lambda T, x, y, w: T.nn.functional.multilabel_soft_margin_loss(x, y, w, reduction="none"),
                            [normal(3, 4), RNG.random((3, 4)), RNG.random(4)]),
    "gaussian_float_var": (lambda T, x, y: T.nn.functional.gaussian_nll_loss(x, y, 0.5, reduction="sum"),
                           [normal(3, 4), normal(3, 4)]),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_matches_torch(name: str) -> None:
    fn, inputs = FUNCTIONAL[name]
    check_like_torch(fn, *inputs, grad_fn=False)


@pytest.mark.parametrize("name", ["max_pool3d", "avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d"])
def test_pooling_grad_fn_names_match_torch(name: str) -> None:
    x = normal(1, 2, 4, 4, 4) if name.endswith("3d") else normal(1, 2, 4)
    size = 2 if name.endswith("3d") else 3
    ours, theirs = (getattr(T.nn.functional, name)(T.tensor(x, requires_grad=True), size)
                    for T in (lazygrad, torch))
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


# ---- dropout: random, so checked by its structure and against torch's repr -----------------------------


@pytest.mark.parametrize("cls", ["Dropout3d", "AlphaDropout"])
def test_dropout_prints_and_is_identity_in_eval(cls: str) -> None:
    ours, theirs = getattr(nn, cls)(0.3, inplace=False), getattr(torch.nn, cls)(0.3, inplace=False)
    assert repr(ours) == repr(theirs) == f"{cls}(p=0.3, inplace=False)"
    x = lazygrad.tensor(normal(2, 3, 2, 2, 2))
    assert ours.eval()(x) is x


def test_dropout3d_zeroes_whole_channels_and_rescales() -> None:
    x = normal(4, 6, 2, 2, 3)
    out = nn.Dropout3d(0.5)(lazygrad.tensor(x)).numpy()
    for n in range(4):
        for c in range(6):
            kept = np.allclose(out[n, c], 2 * x[n, c])
            assert kept or np.all(out[n, c] == 0)


def test_dropout3d_unbatched_keeps_shape() -> None:
    out = F.dropout3d(lazygrad.ones(3, 2, 2, 2), 0.5)
    values = out.numpy()
    assert out.shape == (3, 2, 2, 2)
    assert all(np.all(v == 0) or np.all(v == 2) for v in values)


def test_alpha_dropout_sets_dropped_units_to_selu_saturation_then_rescales() -> None:
    p, alpha = 0.25, 1.7580993408473766
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = normal(200)
    out = F.alpha_dropout(lazygrad.tensor(x), p, training=True).numpy()
    kept = np.isclose(out, a * x + alpha * a * p)
    dropped = np.isclose(out, -alpha * a + alpha * a * p)
    assert np.all(kept | dropped)
    assert kept.any() and dropped.any()


def test_alpha_dropout_gradient_is_the_kept_scale() -> None:
    x = lazygrad.tensor(normal(50), requires_grad=True)
    out = F.alpha_dropout(x, 0.5, training=True)
    out.sum().backward()
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    assert set(np.round(x.grad.numpy(), 12)) <= {0.0, round(a, 12)}


# ---- errors: torch's types and wording ------------------------------------------------------------------

ERRORS = {
    "margin_ranking_dims": lambda T: T.nn.functional.margin_ranking_loss(T.ones(2), T.ones(2), T.ones(1, 2)),
    "cosine_target_2d": lambda T: T.nn.functional.cosine_embedding_loss(T.ones(2, 3), T.ones(2, 3), T.ones(2, 1)),
    "cosine_input_dims": lambda T: T.nn.functional.cosine_embedding_loss(T.ones(3), T.ones(3), T.ones(2)),
    "bilinear_batch": lambda T: T.nn.functional.bilinear(T.ones(2, 3), T.ones(3, 4), T.ones(5, 3, 4)),
    "bilinear_size": lambda T: T.nn.functional.bilinear(T.ones(2, 3), T.ones(2, 4), T.ones(5, 2, 4)),
    "adaptive_max1d_sizes": lambda T: T.nn.functional.adaptive_max_pool1d(T.ones(2, 3, 4), (2, 2)),
    "adaptive_max1d_dims": lambda T: T.nn.functional.adaptive_max_pool1d(T.ones(2, 3, 4, 5), 3),
    "adaptive_max2d_dims": lambda T: T.nn.functional.adaptive_max_pool2d(T.ones(3, 4), 2),
    "max_pool3d_dims": lambda T: T.nn.functional.max_pool3d(T.ones(3, 4), 2),
    "avg_pool3d_dims": lambda T: T.nn.functional.avg_pool3d(T.ones(1, 2, 3, 4, 4, 4), 2),
    "gaussian_var_size": lambda T: T.nn.functional.gaussian_nll_loss(T.ones(2, 3), T.ones(2, 3), T.ones(3, 2)),
    "gaussian_negative_float": lambda T: T.nn.functional.gaussian_nll_loss(T.ones(2), T.ones(2), -1.0),
    "gaussian_reduction": lambda T: T.nn.functional.gaussian_nll_loss(T.ones(2), T.ones(2), T.ones(2), reduction="x"),
    "loss_reduction": lambda T: T.nn.functional.soft_margin_loss(T.ones(2), T.ones(2), reduction="x"),
    "triplet_dims": lambda T: T.nn.functional.triplet_margin_loss(T.ones(2, 3), T.ones(2, 3), T.ones(3)),
    "triplet_margin": lambda T: T.nn.TripletMarginLoss(margin=0.0),
    "dropout3d_p": lambda T: T.nn.functional.dropout3d(T.ones(1, 1, 1, 1), 1.5),
    "alpha_dropout_p": lambda T: T.nn.functional.alpha_dropout(T.ones(2), -0.1),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name: str) -> None:
    raises_like_torch(ERRORS[name])


@pytest.mark.backend_agnostic
def test_dropout3d_warns_like_torch_on_other_ranks() -> None:
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(lazygrad.ones(2, 3, 4), 0.5, training=False)


def test_gaussian_var_floor_passes_the_gradient_through() -> None:
    """torch clamps ``var`` under no_grad, so a variance below eps still gets d(loss)/d(var) at eps."""
    var = np.array([1e-9, 0.5])
    grads = []
    for T in (lazygrad, torch):
        v = T.tensor(var, requires_grad=True)
        T.nn.functional.gaussian_nll_loss(T.tensor([0.1, 0.2]), T.tensor([0.0, 0.0]), v, eps=1e-3).backward()
        grads.append(v.grad)
    assert_close(grads[0], grads[1])
