"""Unfold/Fold, LP pooling and local response normalization: values, input gradients, grad_fn names, printed
modules and errors equal torch's.

Inputs are small fixed float64 arrays, so each case is one program per backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch
from module_oracle import call_module, check_module, raises_like_torch

import lazygrad
from lazygrad.nn import functional as F

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)



# (make(nn), inputs): every float input also gets a gradient, compared with torch's.
MODULES = {
    "unfold": (lambda nn: nn.Unfold(2), [normal(2, 3, 4, 5)]),
    "unfold_options": (lambda nn: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [normal(2, 3, 5, 6)]),
    "unfold_unbatched": (lambda nn: nn.Unfold(3, padding=(1, 0), stride=2), [normal(2, 5, 6)]),
    "fold": (lambda nn: nn.Fold((4, 5), 2), [normal(2, 12, 12)]),
    "fold_options": (lambda nn: nn.Fold(output_size=(5, 6), kernel_size=(2, 2), dilation=(2, 1), padding=1, stride=2),
                     [normal(2, 8, 12)]),
    "fold_unbatched": (lambda nn: nn.Fold(4, 3, stride=1), [normal(9, 4)]),
    "lppool1d": (lambda nn: nn.LPPool1d(2, 3), [normal(2, 3, 7)]),
    "lppool1d_ceil": (lambda nn: nn.LPPool1d(3, 3, stride=2, ceil_mode=True), [normal(3, 8)]),
    "lppool2d": (lambda nn: nn.LPPool2d(2, 2), [normal(2, 3, 4, 5)]),
    "lppool2d_fractional": (lambda nn: nn.LPPool2d(1.5, (2, 3), stride=(1, 2), ceil_mode=True),
                            [np.abs(normal(2, 3, 5, 6)) + 0.1]),
    "lppool2d_inf": (lambda nn: nn.LPPool2d(math.inf, 2), [normal(3, 4, 4)]),
    "local_response_norm": (lambda nn: nn.LocalResponseNorm(3), [normal(2, 3, 4, 5)]),
    "local_response_norm_3d": (lambda nn: nn.LocalResponseNorm(2, alpha=0.5, beta=0.7, k=2.0), [normal(2, 5, 6)]),
    "local_response_norm_5d": (lambda nn: nn.LocalResponseNorm(4, alpha=0.3), [normal(1, 5, 2, 3, 2)]),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_matches_torch(name: str) -> None:
    make, inputs = MODULES[name]
    check_module(make, call_module, *inputs)


# Functional forms, their grad_fn names too: edge cases the module cases above do not reach.
FUNCTIONAL = {
    "unfold": (lambda T, x: T.nn.functional.unfold(x, (3, 2), stride=(1, 2)), [normal(2, 3, 4, 5)]),
    "fold": (lambda T, x: T.nn.functional.fold(x, (4, 5), 2, padding=(0, 1), stride=(2, 2)), [normal(2, 12, 6)]),
    # a window of zeros: torch's sign * relu makes its gradient zero, not NaN
    "lp_pool2d_zero_window": (lambda T, x: T.nn.functional.lp_pool2d(x, 2, 2),
                              [np.where(np.arange(20).reshape(4, 5) < 7, 0.0, normal(2, 3, 4, 5))]),
    "lp_pool1d_inf": (lambda T, x: T.nn.functional.lp_pool1d(x, math.inf, 2), [normal(2, 3, 7)]),
    "lp_pool1d_minus_inf": (lambda T, x: T.nn.functional.lp_pool1d(x, -math.inf, 2, stride=1), [normal(2, 3, 7)]),
    "local_response_norm": (lambda T, x: T.nn.functional.local_response_norm(x, 5, k=0.5), [normal(2, 3, 4, 5)]),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_matches_torch(name: str) -> None:
    fn, inputs = FUNCTIONAL[name]
    check_like_torch(fn, *inputs)


def _overlaps(size: tuple[int, int], kernel: int, dilation: int, padding: int, stride: int) -> np.ndarray:
    """How many (block, tap) pairs read each input position, counted one tap at a time."""
    count = np.zeros([s + 2 * padding for s in size])
    blocks = [(s + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1 for s in size]
    for i in range(kernel):
        for j in range(kernel):
            count[i * dilation:i * dilation + (blocks[0] - 1) * stride + 1:stride,
                  j * dilation:j * dilation + (blocks[1] - 1) * stride + 1:stride] += 1
    return count[padding:padding + size[0], padding:padding + size[1]]


@pytest.mark.parametrize(("kernel", "dilation", "padding", "stride"), [(2, 1, 0, 1), (3, 2, 1, 2)])
def test_fold_of_unfold_is_the_input_times_its_overlap_count(kernel: int, dilation: int, padding: int,
                                                             stride: int) -> None:
    x = normal(2, 3, 6, 7)
    geometry = {"kernel_size": kernel, "dilation": dilation, "padding": padding, "stride": stride}
    columns = lazygrad.nn.Unfold(**geometry)(lazygrad.tensor(x))
    back = lazygrad.nn.Fold((6, 7), **geometry)(columns)
    assert_close(back, x * _overlaps((6, 7), kernel, dilation, padding, stride))


# ---- errors: torch's types and wording ------------------------------------------------------------------

ERRORS = {
    "unfold_rank": lambda T: T.nn.Unfold(2)(T.ones(1, 1, 2, 4, 5)),
    "unfold_2d": lambda T: T.nn.functional.unfold(T.ones(4, 5), 2),
    "unfold_empty_channels": lambda T: T.nn.functional.unfold(T.ones(2, 0, 4, 5), 2),
    "unfold_too_small": lambda T: T.nn.functional.unfold(T.ones(1, 2, 4, 5), (3, 2), dilation=(2, 1), padding=(0, 1)),
    "unfold_kernel_length": lambda T: T.nn.functional.unfold(T.ones(1, 2, 4, 5), (1, 2, 3)),
    "unfold_dilation": lambda T: T.nn.functional.unfold(T.ones(1, 2, 4, 5), 1, dilation=0, padding=-1, stride=0),
    "unfold_integer": lambda T: T.nn.functional.unfold(T.ones(1, 2, 4, 5, dtype=T.int64), 2),
    "fold_rank": lambda T: T.nn.Fold((4, 5), 2)(T.ones(1, 1, 8, 12)),
    "fold_channels": lambda T: T.nn.functional.fold(T.ones(1, 7, 12), (4, 5), 2),
    "fold_blocks": lambda T: T.nn.functional.fold(T.ones(8, 11), (4, 5), 2),
    "fold_stride": lambda T: T.nn.functional.fold(T.ones(1, 8, 12), (4, 5), 1, dilation=0, padding=-1, stride=0),
    "fold_output_size": lambda T: T.nn.functional.fold(T.ones(1, 8, 12), (4, 5, 3), 2),
    "lppool1d_rank": lambda T: T.nn.LPPool1d(2, 3)(T.ones(1, 2, 3, 6)),
    "lppool2d_rank": lambda T: T.nn.LPPool2d(2, 2)(T.ones(1, 2, 3, 6, 4)),
    "lppool1d_inf_rank": lambda T: T.nn.LPPool1d(math.inf, 3)(T.ones(6)),
    "local_response_norm_rank": lambda T: T.nn.LocalResponseNorm(2)(T.ones(2, 3)),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name: str) -> None:
    raises_like_torch(ERRORS[name])


@pytest.mark.backend_agnostic
def test_local_response_norm_of_an_empty_input_is_the_input() -> None:
    x = lazygrad.ones(0, 3, 4)
    assert F.local_response_norm(x, 2) is x
