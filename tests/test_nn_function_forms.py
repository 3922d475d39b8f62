"""The torch.* forms of the nn ops (torch.conv2d, torch.dropout(x, p, train), torch.embedding(weight, indices), ...):
torch's signatures, the functional ops' values, gradients and grad_fn names, and the losses' int reductions."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch

import lazygrad
import lazygrad.nn.functional as F

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch

_rng = np.random.default_rng(0)


def _arr(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape).astype(np.float32)


X3, X4, X5 = _arr(2, 4, 6), _arr(2, 4, 5, 5), _arr(1, 2, 4, 4, 4)
C4, ROWS = _arr(4), _arr(3, 6)
PROBS = _rng.uniform(0.05, 0.95, (2, 4, 6)).astype(np.float32)
POS_WEIGHT = _rng.uniform(0.5, 2.0, 6).astype(np.float32)
SIGNS = np.where(_rng.standard_normal(3) > 0, 1.0, -1.0).astype(np.float32)


def _seeded(T: Any, op: Callable[[], Any]) -> Any:
    T.manual_seed(0)
    return op()


def _stats(T: Any) -> tuple[Any, Any]:
    return T.zeros(4), T.ones(4)


def _normed(T: Any, op: Callable[..., Any]) -> tuple[Any, ...]:
    """A normalization with running statistics, and the statistics it updated."""
    mean, var = _stats(T)
    return op(mean, var), mean, var


# name -> (fn(lib, *tensors), inputs): each torch.* form against torch's, values, gradients and grad_fn.
CASES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "conv1d": (lambda T, x, w, b: T.conv1d(x, w, b, 1, 1), (X3, _arr(3, 4, 3), _arr(3))),
    "conv1d same": (lambda T, x, w: T.conv1d(x, w, padding="same"), (X3, _arr(3, 4, 3))),
    "conv2d": (lambda T, x, w: T.conv2d(x, w, None, 2, 1, 1, 2), (X4, _arr(4, 2, 3, 3))),
    "conv3d": (lambda T, x, w: T.conv3d(x, w), (X5, _arr(3, 2, 2, 2, 2))),
    "conv_transpose1d": (lambda T, x, w: T.conv_transpose1d(x, w, None, 2, 1, 1), (X3, _arr(4, 3, 3))),
    "conv_transpose2d": (lambda T, x, w, b: T.conv_transpose2d(x, w, b, 1, 0, 0, 2), (X4, _arr(4, 1, 2, 2), _arr(2))),
    "conv_transpose3d": (lambda T, x, w: T.conv_transpose3d(x, w), (X5, _arr(2, 1, 2, 2, 2))),
    "dropout": (lambda T, x: _seeded(T, lambda: T.dropout(x, 0.3, True)), (X3,)),
    "dropout_": (lambda T, x: _seeded(T, lambda: T.dropout_(x * 1, 0.3, True)), (X3,)),
    "feature_dropout": (lambda T, x: _seeded(T, lambda: T.feature_dropout(x, 0.5, True)), (X4,)),
    "feature_dropout_": (lambda T, x: _seeded(T, lambda: T.feature_dropout_(x * 1, 0.5, True)), (X3,)),
    "alpha_dropout": (lambda T, x: _seeded(T, lambda: T.alpha_dropout(x, 0.3, True)), (X3,)),
    "alpha_dropout_": (lambda T, x: _seeded(T, lambda: T.alpha_dropout_(x * 1, 0.3, True)), (X3,)),
    "feature_alpha_dropout": (lambda T, x: _seeded(T, lambda: T.feature_alpha_dropout(x, 0.5, True)), (X4,)),
    "feature_alpha_dropout_": (lambda T, x: _seeded(T, lambda: T.feature_alpha_dropout_(x * 1, 0.5, True)), (X3,)),
    "embedding": (lambda T, w: T.embedding(w, T.tensor([[1, 3], [3, 0]])), (_arr(5, 3),)),
    "embedding padding_idx": (lambda T, w: T.embedding(w, T.tensor([[1, 3], [3, 0]]), 3), (_arr(5, 3),)),
    "embedding padding_idx outside": (lambda T, w: T.embedding(w, T.tensor([1, 4]), padding_idx=7), (_arr(5, 3),)),
    "layer_norm": (lambda T, x, w, b: T.layer_norm(x, [6], w, b, 1e-3, True), (X3, _arr(6), _arr(6))),
    "batch_norm training": (lambda T, x, w, b: _normed(T, lambda m, v: T.batch_norm(x, w, b, m, v, True, 0.2, 1e-5,
                                                                                      True)), (X3, C4, C4)),
    "batch_norm eval": (lambda T, x: _normed(T, lambda m, v: T.batch_norm(x, None, None, m, v, False, 0.1, 1e-3,
                                                                            False)), (X4,)),
    "group_norm": (lambda T, x, w, b: T.group_norm(x, 2, w, b), (X4, C4, C4)),
    "instance_norm": (lambda T, x, w: _normed(T, lambda m, v: T.instance_norm(x, w, None, m, v, True, 0.1, 1e-5,
                                                                               False)), (X3, C4)),
    "instance_norm running": (lambda T, x: _normed(T, lambda m, v: T.instance_norm(x, None, None, m, v, False, 0.1,
                                                                                    1e-5, False)), (X3,)),
    "rms_norm": (lambda T, x, w: T.rms_norm(x, [6], w), (X3, _arr(6))),
    "cosine_similarity": (lambda T, a, b: T.cosine_similarity(a, b, 2), (X3, _arr(2, 4, 6))),
    "pairwise_distance": (lambda T, a, b: T.pairwise_distance(a, b, 3, 1e-6, True), (ROWS, _arr(3, 6))),
    "pdist": (lambda T, x: T.pdist(x, 1.5), (ROWS,)),
    "pixel_shuffle": (lambda T, x: T.pixel_shuffle(x, 2), (_arr(1, 8, 2, 3),)),
    "pixel_unshuffle": (lambda T, x: T.pixel_unshuffle(x, 2), (_arr(1, 2, 4, 6),)),
    "channel_shuffle": (lambda T, x: T.channel_shuffle(x, 2), (X4,)),
    "adaptive_avg_pool1d": (lambda T, x: T.adaptive_avg_pool1d(x, 4), (X3,)),
    "adaptive_max_pool1d": (lambda T, x: T.adaptive_max_pool1d(x, 4), (X3,)),
    "avg_pool1d": (lambda T, x: T.avg_pool1d(x, 3, (), 1, False, False), (X3,)),
    "max_pool1d": (lambda T, x: T.max_pool1d(x, 2), (X3,)),
    "max_pool1d_with_indices": (lambda T, x: T.max_pool1d_with_indices(x, 3, 2, 1), (X3,)),
    "max_pool2d": (lambda T, x: T.max_pool2d(x, 2, (), 1, 1, True), (X4,)),
    "max_pool3d": (lambda T, x: T.max_pool3d(x, 2), (X5,)),
    "selu": (lambda T, x: T.selu(x), (X3,)),
    "selu_": (lambda T, x: T.selu_(x * 1), (X3,)),
    "celu": (lambda T, x: T.celu(x, 0.5), (X3,)),
    "celu_": (lambda T, x: T.celu_(x * 1), (X3,)),
    "rrelu": (lambda T, x: T.rrelu(x, 0.1, 0.3), (X3,)),
    "rrelu training": (lambda T, x: _seeded(T, lambda: T.rrelu(x, training=True)), (X3,)),
    "rrelu generator": (lambda T, x: T.rrelu(x, 0.2, 0.4, True, T.Generator().manual_seed(5)), (X3,)),
    "rrelu_": (lambda T, x: _seeded(T, lambda: T.rrelu_(x * 1, training=True)), (X3,)),
    "threshold": (lambda T, x: T.threshold(x, 0.1, 2.0), (X3,)),
    "threshold_": (lambda T, x: T.threshold_(x * 1, 0.1, 2.0), (X3,)),
    "prelu": (lambda T, x, w: T.prelu(x, w), (X3, C4)),
    "Tensor.prelu": (lambda T, x, w: x.prelu(w), (X3, _arr(1))),
    "hardshrink": (lambda T, x: T.hardshrink(x, 0.7), (X3,)),
    "Tensor.hardshrink": (lambda T, x: x.hardshrink(), (X3,)),
    "bilinear": (lambda T, a, b, w, c: T.bilinear(a, b, w, c), (_arr(3, 2), _arr(3, 4), _arr(5, 2, 4), _arr(5))),
    "rsub number": (lambda T, x: T.rsub(x, 2.5), (X3,)),
    "rsub number alpha": (lambda T, x: T.rsub(x, 2, 3), (X3,)),
    "rsub tensor": (lambda T, x, y: T.rsub(x, y), (X3, _arr(4, 6))),
    "rsub tensor alpha": (lambda T, x, y: T.rsub(x, y, alpha=0.5), (X3, _arr(4, 6))),
    "constant_pad_nd": (lambda T, x: T.constant_pad_nd(x, [1, 2, 0, -1], 0.5), (X3,)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_form_gives_what_torch_gives(name: str) -> None:
    fn, inputs = CASES[name]
    check_like_torch(fn, *inputs)


# name -> fn(lib, a, b, c, reduction), its inputs: each loss under every reduction code and the default.
LOSSES: dict[str, tuple[Callable[..., Any], tuple[np.ndarray, ...]]] = {
    "binary_cross_entropy_with_logits": (lambda T, x, t, *r: T.binary_cross_entropy_with_logits(
        x, t, T.tensor(PROBS[0]), T.tensor(POS_WEIGHT), *r), (X3, PROBS)),
    "cosine_embedding_loss": (lambda T, a, b, t, *r: T.cosine_embedding_loss(a, b, t, 0.1, *r), (ROWS, _arr(3, 6),
                                                                                                  SIGNS)),
    "hinge_embedding_loss": (lambda T, x, t, *r: T.hinge_embedding_loss(x, t, 0.5, *r), (ROWS, np.sign(ROWS))),
    "margin_ranking_loss": (lambda T, a, b, t, *r: T.margin_ranking_loss(a, b, t, 0.2, *r), (_arr(3), _arr(3),
                                                                                              SIGNS)),
    "kl_div": (lambda T, x, t, *r: T.kl_div(x, t, *r), (X3, PROBS)),
    "kl_div log_target": (lambda T, x, t, *r: T.kl_div(x, t, *r, log_target=True), (X3, _arr(2, 4, 6))),
    "poisson_nll_loss": (lambda T, x, t, *r: T.poisson_nll_loss(x, t, True, True, 1e-8, *(r or (1,))),
                         (X3, PROBS * 4)),
    "poisson_nll_loss rates": (lambda T, x, t, *r: T.poisson_nll_loss(x, t, False, False, 1e-6, *(r or (2,))),
                               (PROBS, PROBS * 4)),
    "triplet_margin_loss": (lambda T, a, p, n, *r: T.triplet_margin_loss(a, p, n, 1.0, 2, 1e-6, True, *r),
                            (ROWS, _arr(3, 6), _arr(3, 6))),
}


@pytest.mark.parametrize("reduction", [(), (0,), (1,), (2,), (5,)], ids=["default", "none", "mean", "sum", "other"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_takes_reduction_as_an_int(name: str, reduction: tuple[int, ...]) -> None:
    fn, inputs = LOSSES[name]
    check_like_torch(lambda T, *tensors: fn(T, *tensors, *reduction), *inputs)


# ---- against nn.functional: the same graph ------------------------------------------------------------------


@pytest.mark.backend_agnostic
def test_forms_call_the_functional_ops() -> None:
    x = lazygrad.tensor(X3, requires_grad=True)
    weight = lazygrad.tensor(_arr(5, 3), requires_grad=True)
    indices = lazygrad.tensor([[0, 4], [2, 2]])
    pairs = [
        (lazygrad.embedding(weight, indices, 2), F.embedding(indices, weight, 2)),
        (lazygrad.layer_norm(x, [4, 6]), F.layer_norm(x, [4, 6])),
        (lazygrad.conv1d(x, x[:, :, :3]), F.conv1d(x, x[:, :, :3])),
        (lazygrad.rsub(x, 1.0), 1.0 - x),
        (lazygrad.constant_pad_nd(x, [1, 1]), F.pad(x, [1, 1])),
        (lazygrad.max_pool1d(x, 2), F.max_pool1d(x, 2)),
    ]
    for ours, functional in pairs:
        assert ours.grad_fn.name() == functional.grad_fn.name()
        assert_close(ours, functional, 0.0, 0.0)


@pytest.mark.backend_agnostic
def test_dropout_draws_what_functional_dropout_draws() -> None:
    x = lazygrad.tensor(X4)
    for form, functional in ((lambda: lazygrad.dropout(x, 0.4, True), lambda: F.dropout(x, 0.4)),
                             (lambda: lazygrad.feature_dropout(x, 0.4, True), lambda: F.dropout2d(x, 0.4)),
                             (lambda: lazygrad.alpha_dropout(x, 0.4, True), lambda: F.alpha_dropout(x, 0.4, True))):
        assert_close(_seeded(lazygrad, form), _seeded(lazygrad, functional), 0.0, 0.0)


@pytest.mark.backend_agnostic
def test_batch_norm_takes_the_affine_parameters_first() -> None:
    x = lazygrad.tensor(X3)
    weight, bias = lazygrad.tensor(C4), lazygrad.tensor(_arr(4))
    mean, var = lazygrad.tensor(_arr(4)), lazygrad.tensor(np.abs(_arr(4)) + 0.5)
    ours = lazygrad.batch_norm(x, weight, bias, mean, var, False, 0.1, 1e-5, True)
    assert_close(ours, F.batch_norm(x, mean, var, weight, bias, False, 0.1, 1e-5), 0.0, 0.0)


@pytest.mark.backend_agnostic
def test_kl_div_mean_is_unwarned_and_equals_functional_mean() -> None:
    x, target = lazygrad.tensor(X3), lazygrad.tensor(PROBS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = lazygrad.kl_div(x, target, 1)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        functional = F.kl_div(x, target, reduction="mean")
    assert_close(ours, functional, 0.0, 0.0)


# ---- what torch's kernels do that nn.functional does not --------------------------------------------------------


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("op", ["dropout", "dropout_", "feature_dropout", "alpha_dropout", "feature_alpha_dropout_"])
def test_dropout_probability_is_checked_as_the_kernel_checks_it(op: str) -> None:
    for lib in (lazygrad, torch):
        with pytest.raises(RuntimeError, match=r"^dropout probability has to be between 0 and 1, but got 1.5$"):
            getattr(lib, op)(lib.ones(2, 3), 1.5, False)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("op", ["feature_dropout", "feature_alpha_dropout"])
def test_feature_dropout_needs_two_axes_only_when_it_draws(op: str) -> None:
    for lib in (lazygrad, torch):
        x = lib.ones(5)
        assert getattr(lib, op)(x, 0.5, False) is x
        with pytest.raises(RuntimeError, match=r"^Feature dropout requires at least 2 dimensions in the input$"):
            getattr(lib, op)(x, 0.5, True)


@pytest.mark.backend_agnostic
def test_dropout_out_of_training_returns_the_input() -> None:
    x = lazygrad.ones(2, 3, requires_grad=True)
    assert lazygrad.dropout(x, 0.5, False) is x
    assert lazygrad.alpha_dropout(x, 0.0, True) is x


@pytest.mark.backend_agnostic
def test_native_channel_shuffle_shuffles_and_records_no_derivative() -> None:
    x = _arr(1, 4, 2, 2)
    ours = lazygrad.native_channel_shuffle(lazygrad.tensor(x, requires_grad=True), 2)
    theirs = torch.native_channel_shuffle(torch.tensor(x, requires_grad=True), 2)
    assert_close(ours, theirs, 0.0, 0.0)
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__ == "NotImplemented"


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("args, keywords", [((3,), {}), ((True,), {}), ((2.5,), {"requires_grad": True}),
                                            ((7,), {"dtype": "int64"}), ((1.5,), {"dtype": "float64"})],
                         ids=["int", "bool", "requires_grad", "int64", "float64"])
def test_scalar_tensor_is_a_float_zero_dim_tensor(args: tuple, keywords: dict[str, Any]) -> None:
    def make(lib: Any) -> Any:
        return lib.scalar_tensor(*args, **{k: getattr(lib, v) if k == "dtype" else v for k, v in keywords.items()})

    ours, theirs = make(lazygrad), make(torch)
    assert (tuple(ours.shape), str(ours.dtype), ours.requires_grad) == (tuple(theirs.shape), str(theirs.dtype),
                                                                        theirs.requires_grad)
    assert ours.item() == theirs.item()


@pytest.mark.backend_agnostic
def test_forms_take_torchs_keywords() -> None:
    table = _arr(5, 3)

    def run(lib: Any) -> list[Any]:
        x, w = lib.tensor(X3), lib.tensor(table)
        out = lib.empty(0)
        lib.hardshrink(x, 0.2, out=out)
        return [lib.embedding(weight=w, indices=lib.tensor([4, 1])), out, lib.threshold(input=x, threshold=0.0,
                                                                                      value=-1.0),
                lib.kl_div(x, lib.tensor(PROBS), 2, log_target=False), lib.conv1d(x=x, weight=x[:, :, :2])]

    for ours, theirs in zip(run(lazygrad), run(torch)):
        assert_close(ours, theirs)


@pytest.mark.backend_agnostic
def test_forms_are_exported_with_torchs_names() -> None:
    for name in ("conv2d", "dropout", "embedding", "batch_norm", "kl_div", "rsub", "scalar_tensor", "selu_"):
        assert name in lazygrad.__all__
        assert getattr(lazygrad, name).__name__ == name
