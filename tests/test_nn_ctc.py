"""``F.ctc_loss`` and ``nn.CTCLoss``: values, gradients (NaN where torch's are), grad_fn names and errors equal
torch's; the gradient through a ``log_softmax`` equals central differences.

One fixed (T, N, C) = (5, 3, 4) input serves every case, so a backend compiles one program per reduction.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch, check_op, torch_oracle
from module_oracle import raises_like_torch

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch

RNG = np.random.default_rng(3)
LOGITS = RNG.standard_normal((5, 3, 4))
LOG_PROBS = LOGITS - np.log(np.exp(LOGITS).sum(2, keepdims=True))
# Sample 0 repeats a label (so its alignment needs a blank between the twos), sample 1 stops early,
# sample 2 needs all five frames for "3 3 3" with blanks between.
PADDED = np.array([[1, 2, 2], [1, 1, 0], [3, 3, 3]])
CONCATENATED = np.array([1, 2, 2, 1, 1, 3, 3, 3])


def ctc(T, log_probs, targets, input_lengths, target_lengths, **options):
    return T.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths, **options)


def lengths(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("input_lengths", [(5, 4, 5), (5, 4, 4), (0, 4, 5)],
                         ids=["feasible", "too_short", "empty_input"])
def test_ctc_loss_matches_torch(reduction, zero_infinity, input_lengths):
    """An impossible alignment gives inf and a NaN gradient, or 0 and a zero gradient with ``zero_infinity``;
    ``'mean'`` divides by the target lengths; a raw ``log_probs`` leaf gets torch's gradient."""
    check_like_torch(lambda T, lp, tg: ctc(T, lp, tg, input_lengths, (3, 2, 3), reduction=reduction,
                                           zero_infinity=zero_infinity), LOG_PROBS, PADDED)


def test_ctc_loss_concatenated_targets_and_tensor_lengths():
    check_like_torch(lambda T, lp, tg, il, tl: ctc(T, lp, tg, il, tl, reduction="none"),
                     LOG_PROBS, CONCATENATED, lengths(5, 4, 4), lengths(3, 2, 3))


def test_ctc_loss_blank_elsewhere_and_empty_target():
    """A nonzero blank; a target of length 0 is the all-blank path (its 'mean' divisor is clamped to 1)."""
    targets = np.array([[0, 2, 2], [1, 0, 0], [3, 3, 0]])
    check_like_torch(lambda T, lp, tg: ctc(T, lp, tg, (5, 4, 5), (3, 0, 2), blank=1), LOG_PROBS, targets)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_ctc_loss_unbatched_float32(reduction):
    check_like_torch(lambda T, lp, tg: ctc(T, lp, tg, (5,), (3,), reduction=reduction),
                     LOG_PROBS[:, 0].astype(np.float32), PADDED[0])


def test_ctc_loss_ignores_padding_past_the_target_length():
    """Entries past a target's length are never read, even when they are not classes."""
    ragged = np.array([[1, 2, 9], [1, 1, -5], [3, 3, 3]])
    for T in (lazygrad, torch):
        loss = ctc(T, T.tensor(LOG_PROBS), T.tensor(ragged), (5, 4, 5), (2, 2, 3))
        assert np.isclose(float(loss), float(ctc(torch, torch.tensor(LOG_PROBS), torch.tensor(PADDED),
                                                  (5, 4, 5), (2, 2, 3))))


def test_ctc_loss_gradient_through_log_softmax_matches_finite_differences():
    """Through a ``log_softmax`` torch's gradient is the exact one: central differences agree."""
    def fn(T, logits):
        return ctc(T, logits.log_softmax(2), T.tensor(PADDED), (5, 4, 5), (3, 2, 3), reduction="sum")

    check_op(fn, torch_oracle(fn), LOGITS, jax_oracle=False)


def test_ctc_loss_module_is_the_functional_form():
    module = lazygrad.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    assert repr(module) == repr(torch.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True))
    lp, tg = lazygrad.tensor(LOG_PROBS), lazygrad.tensor(PADDED)
    expected = ctc(lazygrad, lp, tg, (5, 4, 4), (3, 2, 3), reduction="sum", zero_infinity=True)
    assert float(module(lp, tg, (5, 4, 4), (3, 2, 3))) == float(expected)


BAD_CALLS = {
    "blank_out_of_range": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), (5, 5, 5), (3, 3, 3), blank=4),
    "input_longer_than_T": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), (6, 5, 5), (3, 3, 3)),
    "negative_input_length": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), (-1, 5, 5), (3, 3, 3)),
    "target_longer_than_padding": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), (5, 5, 5), (4, 3, 3)),
    "concatenated_too_short": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(CONCATENATED), (5, 5, 5), (3, 3, 3)),
    "lengths_not_per_sample": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), (5, 5), (3, 3, 3)),
    "float_lengths": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), T.tensor([5.0, 5, 5]),
                                   T.tensor([3, 3, 3])),
    "four_dimensional": lambda T: ctc(T, T.tensor(LOG_PROBS)[None], T.tensor(PADDED), (5, 5, 5), (3, 3, 3)),
    "integer_log_probs": lambda T: ctc(T, T.tensor(PADDED).reshape(3, 3, 1), T.tensor(PADDED), (3, 3, 3),
                                       (1, 1, 1)),
    "bad_reduction": lambda T: ctc(T, T.tensor(LOG_PROBS), T.tensor(PADDED), (5, 5, 5), (3, 3, 3), reduction="x"),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", BAD_CALLS)
def test_ctc_loss_errors_like_torch(name):
    raises_like_torch(BAD_CALLS[name])
