"""Multi-class margin losses, EmbeddingBag and max unpooling: values, input and weight gradients, printed
modules and error messages equal torch's.

Inputs are small fixed arrays, so each case is one program per backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch
from module_oracle import call_module, check_module, raises_like_torch

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch

RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def lib(nn):
    return lazygrad if nn is lazygrad.nn else torch



def unpool_after_pool(dims: int, *pool_args, output_size=None, **pool_kwargs):
    """Pool with indices, then unpool them: the gradient runs through both, as in an autoencoder."""
    def run(lib, module, tensors):
        pool = getattr(lib.nn.functional, f"max_pool{dims}d")
        values, indices = pool(tensors[0], *pool_args, return_indices=True, **pool_kwargs)
        return module(values, indices, output_size)
    return run


SCORES = normal(3, 4)
# Sample 0 lists classes 3 and 0 (the 1 after -1 is ignored); sample 1 repeats class 1; sample 2 lists all.
LABEL_LISTS = ints(3, 0, -1, 1, 1, 1, 2, -1, 0, 1, 2, 3).reshape(3, 4)
INDICES = ints(0, 2, 4, 1, 1, 3)
OFFSETS = ints(0, 2, 2, 5)  # bags [0, 2), [2, 2) (empty), [2, 5), [5, 6)
BAGS_2D = ints(1, 1, 0, 2, 4, 3).reshape(3, 2)

# (make(nn), call_module, inputs): every float input and every parameter also gets a gradient, compared with torch's.
MODULES = {
    "multi_margin": (lambda nn: nn.MultiMarginLoss(), call_module, [SCORES, ints(0, 1, 3)]),
    "multi_margin_p2_weighted": (
        lambda nn: nn.MultiMarginLoss(p=2, margin=0.7, weight=lib(nn).tensor([0.5, 1.0, 2.0, 1.5]),
                                      reduction="none"),
        call_module, [SCORES, ints(2, 1, 3)]),
    "multilabel_margin": (lambda nn: nn.MultiLabelMarginLoss(), call_module, [SCORES, LABEL_LISTS]),
    "multilabel_margin_none": (lambda nn: nn.MultiLabelMarginLoss(reduction="none"), call_module,
                               [SCORES, LABEL_LISTS]),
    "bag_2d_mean": (lambda nn: nn.EmbeddingBag(5, 3), call_module, [BAGS_2D]),
    "bag_2d_max_padding": (lambda nn: nn.EmbeddingBag(5, 3, mode="max", padding_idx=1), call_module, [BAGS_2D]),
    "bag_offsets_sum_padding": (lambda nn: nn.EmbeddingBag(5, 3, mode="sum", padding_idx=-4), call_module,
                                [INDICES, OFFSETS]),
    "bag_offsets_mean": (lambda nn: nn.EmbeddingBag(5, 3), call_module, [INDICES, OFFSETS]),
    "bag_offsets_max_last_offset": (lambda nn: nn.EmbeddingBag(5, 3, mode="max", include_last_offset=True), call_module,
                                    [INDICES, OFFSETS]),
    "bag_per_sample_weights": (lambda nn: nn.EmbeddingBag(5, 3, mode="sum"),
                               lambda lib, m, t: m(t[0], t[1], per_sample_weights=t[2]),
                               [INDICES, OFFSETS, normal(6)]),
    "unpool1d": (lambda nn: nn.MaxUnpool1d(2), unpool_after_pool(1, 2), [normal(2, 3, 6)]),
    "unpool1d_unbatched_output_size": (lambda nn: nn.MaxUnpool1d(2, stride=2),
                                       unpool_after_pool(1, 2, output_size=(7,)), [normal(3, 7)]),
    "unpool2d": (lambda nn: nn.MaxUnpool2d(2), unpool_after_pool(2, 2), [normal(1, 2, 4, 4)]),
    # Overlapping windows report some positions twice: each is written once and gets its whole gradient.
    "unpool2d_overlapping": (lambda nn: nn.MaxUnpool2d(3, stride=2, padding=1),
                             unpool_after_pool(2, 3, stride=2, padding=1), [normal(2, 5, 5)]),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_matches_torch(name: str) -> None:
    make, run, inputs = MODULES[name]
    check_module(make, run, *inputs)


# Functional forms, with torch's grad_fn names; the class weights of the margin loss get no gradient in torch.
FUNCTIONAL = {
    "multi_margin_weighted_sum": (
        lambda T, x, y, w: T.nn.functional.multi_margin_loss(x, y, p=2, weight=w, reduction="sum"),
        [SCORES, ints(0, 1, 3), np.array([1.0, 0.5, 2.0, 1.0])], [True, False, False]),
    "multi_margin_vector": (lambda T, x, y: T.nn.functional.multi_margin_loss(x, y, margin=2.0, reduction="none"),
                            [SCORES[0], np.array(2)], None),
    "multi_margin_legacy": (lambda T, x, y: T.nn.functional.multi_margin_loss(x, y, size_average=False),
                            [SCORES, ints(3, 3, 0)], None),
    "multilabel_margin_vector": (lambda T, x, y: T.nn.functional.multilabel_margin_loss(x, y),
                                 [SCORES[1], LABEL_LISTS[0]], None),
    "embedding_bag_weights": (
        lambda T, i, w, o, s: T.nn.functional.embedding_bag(i, w, o, mode="sum", per_sample_weights=s,
                                                            padding_idx=2),
        [INDICES, normal(5, 3), OFFSETS, normal(6)], None),
    "embedding_bag_2d_weights": (
        lambda T, i, w, s: T.nn.functional.embedding_bag(i, w, mode="sum", per_sample_weights=s),
        [BAGS_2D, normal(5, 3), normal(3, 2)], None),
    "max_unpool1d": (lambda T, x: T.nn.functional.max_unpool1d(*T.nn.functional.max_pool1d(x, 2, return_indices=True),
                                                                2, output_size=(2, 3, 7)),
                     [normal(2, 3, 6)], None),
    "max_unpool2d": (lambda T, x: T.nn.functional.max_unpool2d(*T.nn.functional.max_pool2d(x, 2, return_indices=True),
                                                                (2, 2), output_size=(5, 4)),
                     [normal(1, 2, 4, 4)], None),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_matches_torch(name: str) -> None:
    fn, inputs, grads = FUNCTIONAL[name]
    check_like_torch(fn, *inputs, grads=grads)


@pytest.mark.parametrize("max_norm, norm_type", [(1.5, 2.0), (0.8, 1.0)])
def test_embedding_bag_max_norm_renormalizes_the_rows_it_reads_in_place(max_norm: float, norm_type: float) -> None:
    weight = normal(5, 3) * 2
    results = []
    for T in (lazygrad, torch):
        w = T.tensor(weight, requires_grad=True)
        out = T.nn.functional.embedding_bag(T.tensor(INDICES[:4]), w, T.tensor(OFFSETS[:2]), max_norm=max_norm,
                                            norm_type=norm_type)
        out.sum().backward()
        results.append((out, w, w.grad))
    for ours, theirs in zip(*results):
        assert_close(ours, theirs)


@pytest.mark.parametrize("max_norm, norm_type", [(1.5, 2.0), (0.8, 1.0)])
def test_embedding_max_norm_renormalizes_the_rows_it_reads_in_place(max_norm: float, norm_type: float) -> None:
    weight = normal(5, 3) * 2
    results = []
    for T in (lazygrad, torch):
        module = T.nn.Embedding(5, 3, max_norm=max_norm, norm_type=norm_type, _weight=T.tensor(weight))
        out = module(T.tensor([[1, 1, 4], [0, 4, 4]]))
        out.sum().backward()
        results.append((out, module.weight, module.weight.grad))
    for ours, theirs in zip(*results):
        assert_close(ours, theirs)


def test_embedding_bag_from_pretrained_keeps_the_table_and_freezes_it() -> None:
    table = normal(4, 2)
    ours, theirs = (T.nn.EmbeddingBag.from_pretrained(T.tensor(table), mode="max", padding_idx=0)
                    for T in (lazygrad, torch))
    assert repr(ours) == repr(theirs) == "EmbeddingBag(4, 2, mode='max', padding_idx=0)"
    assert not ours.weight.requires_grad
    assert lazygrad.nn.EmbeddingBag.from_pretrained(lazygrad.tensor(table), freeze=False).weight.requires_grad
    bags = ints(0, 1, 3, 2, 2, 0).reshape(2, 3)
    assert_close(ours(lazygrad.tensor(bags)), theirs(torch.tensor(bags)))


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("make", [
    lambda nn: nn.EmbeddingBag(5, 2),
    lambda nn: nn.EmbeddingBag(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum", sparse=True,
                               include_last_offset=True, padding_idx=-1),
    lambda nn: nn.MaxUnpool1d(3, stride=2, padding=1),
    lambda nn: nn.MaxUnpool2d((2, 3)),
    lambda nn: nn.MultiMarginLoss(p=2, margin=0.5, reduction="sum"),
    lambda nn: nn.MultiLabelMarginLoss(),
])
def test_prints_like_torch(make) -> None:
    assert repr(make(lazygrad.nn)) == repr(make(torch.nn))


def test_embedding_bag_padding_row_starts_at_zero() -> None:
    lazygrad.manual_seed(0)
    weight = lazygrad.nn.EmbeddingBag(4, 3, padding_idx=-1).weight
    assert np.all(weight.detach().numpy()[3] == 0) and np.all(weight.detach().numpy()[:3] != 0)


def test_max_unpool_rejects_an_index_outside_the_output_when_it_is_computed() -> None:
    indices = lazygrad.tensor([[[0, 3, 4, 9]]]) + 0  # pending: checked when the program runs
    out = lazygrad.nn.functional.max_unpool1d(lazygrad.ones(1, 1, 4), indices, 2)
    with pytest.raises(RuntimeError, match=r"^Found an invalid max index: 9 \(output volumes are of size 8x1\)"):
        out.numpy()


# ---- errors: torch's types and wording ------------------------------------------------------------------

ERRORS = {
    "mm_target_size": lambda T: T.nn.functional.multi_margin_loss(T.ones(3, 4), T.tensor([0, 1])),
    "mm_vector_target_size": lambda T: T.nn.functional.multi_margin_loss(T.ones(4), T.tensor([0, 1])),
    "mm_target_dtype": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 4), T.tensor([0, 1], dtype=T.int32)),
    "mm_input_dims": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 3, 4), T.tensor([0, 1])),
    "mm_no_classes": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 0), T.tensor([0, 1])),
    "mm_weight_size": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 4), T.tensor([0, 1]), weight=T.ones(3)),
    "mm_weight_dims": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 4), T.tensor([0, 1]),
                                                                  weight=T.ones(1, 4)),
    "mm_p": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 4), T.tensor([0, 1]), p=3),
    "mm_module_p": lambda T: T.nn.MultiMarginLoss(p=3),
    "mm_module_weight": lambda T: T.nn.MultiMarginLoss(weight=T.ones(2, 2)),
    "mlm_target_size": lambda T: T.nn.functional.multilabel_margin_loss(T.ones(3, 4), T.tensor([0, 1, -1, 2])),
    "mlm_vector_target_size": lambda T: T.nn.functional.multilabel_margin_loss(T.ones(4), T.tensor([0, -1, 2])),
    "mlm_target_dtype": lambda T: T.nn.functional.multilabel_margin_loss(T.ones(4), T.ones(4)),
    "mlm_input_dims": lambda T: T.nn.functional.multilabel_margin_loss(T.ones(1, 3, 4), T.tensor([0])),
    "mlm_reduction": lambda T: T.nn.functional.multilabel_margin_loss(T.ones(4), T.tensor([0, -1, 2, 3]),
                                                                      reduction="all"),
    "bag_weights_shape": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3, 2), T.tensor([0]),
                                                                 mode="sum", per_sample_weights=T.ones(3)),
    "bag_weights_dtype": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3, 2), T.tensor([0]),
                                                                 mode="sum",
                                                                 per_sample_weights=T.ones(2, dtype=T.float64)),
    "bag_weights_mode": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3, 2), T.tensor([0]),
                                                                per_sample_weights=T.ones(2)),
    "bag_weight_dims": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3), T.tensor([0])),
    "bag_2d_offsets": lambda T: T.nn.functional.embedding_bag(T.tensor([[0, 1]]), T.ones(3, 2), T.tensor([0])),
    "bag_no_offsets": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3, 2)),
    "bag_offsets_dims": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3, 2), T.tensor([[0]])),
    "bag_input_dims": lambda T: T.nn.functional.embedding_bag(T.tensor([[[0, 1]]]), T.ones(3, 2)),
    "bag_mode": lambda T: T.nn.functional.embedding_bag(T.tensor([[0, 1]]), T.ones(3, 2), mode="median"),
    "bag_max_freq": lambda T: T.nn.functional.embedding_bag(T.tensor([[0, 1]]), T.ones(3, 2), mode="max",
                                                            scale_grad_by_freq=True),
    "bag_max_sparse": lambda T: T.nn.functional.embedding_bag(T.tensor([[0, 1]]), T.ones(3, 2), mode="max",
                                                              sparse=True),
    "bag_float_indices": lambda T: T.nn.functional.embedding_bag(T.ones(1, 2), T.ones(3, 2)),
    "bag_float_offsets": lambda T: T.nn.functional.embedding_bag(T.tensor([0, 1]), T.ones(3, 2), T.ones(1)),
    "bag_padding_idx": lambda T: T.nn.functional.embedding_bag(T.tensor([[0, 1]]), T.ones(3, 2), padding_idx=-4),
    "bag_module_padding_idx": lambda T: T.nn.EmbeddingBag(3, 2, padding_idx=3),
    "bag_module_weight_shape": lambda T: T.nn.EmbeddingBag(3, 2, _weight=T.ones(2, 3)),
    "bag_pretrained_dims": lambda T: T.nn.EmbeddingBag.from_pretrained(T.ones(3)),
    "unpool_output_size_length": lambda T: T.nn.functional.max_unpool2d(T.ones(1, 2, 2), T.zeros(1, 2, 2).long(),
                                                                         2, output_size=(4, 4, 4)),
    "unpool_output_size_range": lambda T: T.nn.functional.max_unpool1d(T.ones(1, 1, 4), T.zeros(1, 1, 4).long(),
                                                                       2, output_size=(10,)),
    "unpool_indices_dtype": lambda T: T.nn.functional.max_unpool1d(T.ones(1, 1, 4), T.zeros(1, 1, 4).int(), 2),
    "unpool_indices_shape": lambda T: T.nn.functional.max_unpool2d(T.ones(1, 2, 2), T.zeros(1, 2, 1).long(), 2),
    "unpool_input_dims": lambda T: T.nn.functional.max_unpool1d(T.ones(1, 1, 1, 4), T.zeros(1, 1, 1, 4).long(), 2),
    "unpool2d_input_dims": lambda T: T.nn.functional.max_unpool2d(T.ones(2, 4), T.zeros(2, 4).long(), 2),
    "unpool_known_index": lambda T: T.nn.functional.max_unpool2d(T.ones(1, 2, 2), T.tensor([[[0, 1], [2, 16]]]), 2),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name: str) -> None:
    raises_like_torch(ERRORS[name])


@pytest.mark.backend_agnostic
def test_embedding_bag_refuses_what_it_cannot_compute() -> None:
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq and sparse are not supported"):
        lazygrad.nn.EmbeddingBag(3, 2, scale_grad_by_freq=True)(lazygrad.tensor([[0, 1]]))
