"""``torch._foreach_*`` against torch: each op over a list of tensors, with a list, a number or a 0-d tensor as
the other argument; in-place forms return the list they updated, out-of-place ones a tuple."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

_RNG = np.random.default_rng(4)
A = [_RNG.standard_normal(3).astype(np.float32), _RNG.standard_normal((2, 2)).astype(np.float32)]
B = [_RNG.standard_normal(3).astype(np.float32), _RNG.standard_normal((2, 2)).astype(np.float32)]

CALLS = {
    "add_alpha": lambda lib, a, b: lib._foreach_add(a, b, alpha=2),
    "mul_scalars": lambda lib, a, b: lib._foreach_mul(a, [2.0, -3.0]),
    "mul_0d": lambda lib, a, b: lib._foreach_mul(a, lib.tensor(0.5)),
    "sqrt": lambda lib, a, b: lib._foreach_sqrt(lib._foreach_abs(a)),
    "norm": lambda lib, a, b: lib._foreach_norm(a),
    "norm_1": lambda lib, a, b: lib._foreach_norm(a, 1),
    "maximum": lambda lib, a, b: lib._foreach_maximum(a, b),
    "lerp_": lambda lib, a, b: lib._foreach_lerp_(a, b, 0.25),
    "addcmul_": lambda lib, a, b: lib._foreach_addcmul_(a, a, b, value=0.5),
    "maximum_": lambda lib, a, b: lib._foreach_maximum_(a, 0.1),
    "zero_": lambda lib, a, b: lib._foreach_zero_(a),
    "copy_": lambda lib, a, b: lib._foreach_copy_(a, b),
    "sub_": lambda lib, a, b: lib._foreach_sub_(a, [1, 2]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_foreach_matches_torch(name: str) -> None:
    ours, theirs = [lazygrad.tensor(x) for x in A], [torch.tensor(x) for x in A]
    got = CALLS[name](lazygrad, ours, [lazygrad.tensor(x) for x in B])
    want = CALLS[name](torch, theirs, [torch.tensor(x) for x in B])
    assert type(got) is type(want)
    if name.endswith("_"):
        assert got is ours
    for g, w in zip(got, want):
        assert_close(g, w.numpy())
