"""``AdaptiveLogSoftmaxWithLoss``, ``TripletMarginWithDistanceLoss``, ``NLLLoss2d`` and ``CrossMapLRN2d``:
printed modules, parameters, values, gradients, warnings and errors equal torch's (torch's weights loaded).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch
from module_oracle import call_module, check_module, raises_like_torch

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch

RNG = np.random.default_rng(5)
ROWS = RNG.standard_normal((6, 8))
# Targets in the shortlist (0, 1), the first cluster (2..4) and the second (5..9), the last of each included.
TARGETS = np.array([0, 4, 9, 2, 1, 5])


def adaptive(nn, **options):
    options = {"div_value": 2.0, "head_bias": True} | options
    return nn.AdaptiveLogSoftmaxWithLoss(8, 10, [2, 5], **options)


@pytest.mark.parametrize("options", [{}, {"div_value": 4.0, "head_bias": False}], ids=["div2", "empty_projection"])
def test_adaptive_log_softmax_forward_matches_torch(options):
    """Output and loss with their gradients, for the input and every parameter (a projection of width 0
    included: ``in_features // div_value ** 2`` is 0 for the second cluster at ``div_value=4``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn about initializing the empty projection
        check_module(lambda nn: adaptive(nn, **options), call_module, ROWS, TARGETS)


def test_adaptive_log_softmax_unbatched_and_grad_fns():
    """One row and a 0-d target give a 0-d output; both forms record torch's grad_fns."""
    state = adaptive(torch.nn).double().state_dict()

    def fn(T, x, target):
        module = adaptive(T.nn).double()
        module.load_state_dict(state)
        return tuple(module(x, target))

    check_like_torch(fn, ROWS[0], np.array(TARGETS[2]))
    check_like_torch(fn, ROWS, TARGETS)


def test_adaptive_log_softmax_log_prob_and_predict_match_torch():
    theirs = adaptive(torch.nn)
    ours = adaptive(lazygrad.nn)
    ours.load_state_dict(theirs.state_dict())
    rows = RNG.standard_normal((64, 8)).astype(np.float32)
    head_choice = theirs.head(torch.tensor(rows)).argmax(1)
    assert (head_choice < 2).any() and (head_choice >= 2).any()  # both of predict's cases occur
    check_module(lambda nn: adaptive(nn), lambda lib, m, t: m.log_prob(t[0]), rows)
    assert np.array_equal(ours.predict(lazygrad.tensor(rows)).numpy(), theirs.predict(torch.tensor(rows)).numpy())


ADAPTIVE_ERRORS = {
    "no_cutoffs": lambda T: T.nn.AdaptiveLogSoftmaxWithLoss(8, 10, []),
    "unsorted_cutoffs": lambda T: T.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 2]),
    "cutoff_too_large": lambda T: T.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [2, 10]),
    "target_out_of_range": lambda T: adaptive(T.nn)(T.tensor(ROWS, dtype=T.float32), T.tensor([0, 1, 2, 3, 4, 10])),
    "batch_mismatch": lambda T: adaptive(T.nn)(T.tensor(ROWS, dtype=T.float32), T.tensor([0, 1])),
    "two_dim_target": lambda T: adaptive(T.nn)(T.tensor(ROWS, dtype=T.float32), T.tensor([[0, 1]])),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ADAPTIVE_ERRORS)
def test_adaptive_log_softmax_errors_like_torch(name):
    raises_like_torch(ADAPTIVE_ERRORS[name])


ANCHOR, POSITIVE, NEGATIVE = (RNG.standard_normal((4, 3)) for _ in range(3))


def manhattan(x, y):
    return (x - y).abs().sum(-1)


@pytest.mark.parametrize("options", [{}, {"distance_function": manhattan, "margin": 2.5, "swap": True},
                                     {"swap": True, "reduction": "none"}, {"reduction": "sum"}],
                         ids=["default", "custom_swap", "swap_none", "sum"])
def test_triplet_margin_with_distance_loss_matches_torch(options):
    check_module(lambda nn: nn.TripletMarginWithDistanceLoss(**options), call_module, ANCHOR, POSITIVE, NEGATIVE)
    check_like_torch(lambda T, a, p, n: T.nn.functional.triplet_margin_with_distance_loss(a, p, n, **options),
                     ANCHOR, POSITIVE, NEGATIVE)


TRIPLET_ERRORS = {
    "module_margin": lambda T: T.nn.TripletMarginWithDistanceLoss(margin=0.0),
    "functional_margin": lambda T: T.nn.functional.triplet_margin_with_distance_loss(
        T.tensor(ANCHOR), T.tensor(POSITIVE), T.tensor(NEGATIVE), margin=-1.0),
    "reduction": lambda T: T.nn.functional.triplet_margin_with_distance_loss(
        T.tensor(ANCHOR), T.tensor(POSITIVE), T.tensor(NEGATIVE), reduction="avg"),
    "dimensions": lambda T: T.nn.functional.triplet_margin_with_distance_loss(
        T.tensor(ANCHOR), T.tensor(POSITIVE[0]), T.tensor(NEGATIVE)),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", TRIPLET_ERRORS)
def test_triplet_margin_with_distance_loss_errors_like_torch(name):
    raises_like_torch(TRIPLET_ERRORS[name])


@pytest.mark.backend_agnostic
def test_nll_loss_2d_warns_as_deprecated_like_torch():
    messages = []
    for T in (torch, lazygrad):
        with pytest.warns(FutureWarning) as record:
            T.nn.NLLLoss2d()
        messages.append(str(record[0].message))
    assert messages[0] == messages[1]


def test_nll_loss_2d_is_nll_loss_on_images():
    images = RNG.standard_normal((2, 3, 2, 2))
    labels = RNG.integers(0, 3, (2, 2, 2))
    weight = np.array([0.5, 1.0, 2.0])

    def fn(T, x, target):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            loss = T.nn.NLLLoss2d(weight=T.tensor(weight), ignore_index=1)
        return loss(x.log_softmax(1), target)

    check_like_torch(fn, images, labels)


@pytest.mark.parametrize("size, channels", [(5, 7), (4, 6), (2, 4), (6, 3)])
def test_cross_map_lrn2d_matches_torch_values_and_gradient(size, channels):
    """torch's windows and its own backward (which is not this forward's exact gradient), grad_fn included."""
    x = RNG.standard_normal((2, channels, 2, 3))
    check_like_torch(lambda T, x: T.nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=1.5)(x), x)


def test_cross_map_lrn2d_module_prints_and_runs_like_torch():
    x = RNG.standard_normal((1, 4, 3, 3)).astype(np.float32)
    ours = lazygrad.nn.CrossMapLRN2d(3)
    assert repr(ours) == repr(torch.nn.CrossMapLRN2d(3))
    assert_close(ours(lazygrad.tensor(x)), torch.nn.CrossMapLRN2d(3)(torch.tensor(x)))


@pytest.mark.backend_agnostic
def test_cross_map_lrn2d_needs_four_dimensions():
    raises_like_torch(lambda T: T.nn.CrossMapLRN2d(3)(T.ones(2, 3, 4)))
