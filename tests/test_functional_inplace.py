"""``nn.functional``'s in-place activations (``F.relu_`` ... ``F.threshold_``, and ``inplace=True``): the tensor
itself takes the result, with torch's values, gradients and in-place ``grad_fn`` names."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, check_like_torch

import lazygrad
import lazygrad.nn.functional as F

X = np.array([[-2.5, -0.4, 0.0, 0.3], [0.8, 1.6, -1.1, 2.2]])
CALLS = {"relu_": (), "leaky_relu_": (0.2,), "elu_": (0.7,), "selu_": (), "celu_": (1.3,), "hardtanh_": (-0.5, 1.0),
         "threshold_": (0.25, -3.0)}


@pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
@pytest.mark.parametrize("name", list(CALLS))
def test_functional_in_place_matches_torch(name):
    def fn(T, x):
        y = x * 1.5
        out = getattr(T.nn.functional, name)(y, *CALLS[name])
        assert out is y
        return out

    check_like_torch(fn, X, rtol=1e-7)  # torch's celu gradient rounds alpha to float32


@pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "celu", "hardtanh", "relu6", "silu",
                                  "hardswish", "hardsigmoid", "mish"])
def test_inplace_flag_records_torchs_in_place_names(name):
    # torch's hardsigmoid gradient holds 1/6 in float32
    check_like_torch(lambda T, x: getattr(T.nn.functional, name)(x * 1.5, inplace=True), X, rtol=1e-7)


def test_functional_in_place_refuses_a_leaf_that_requires_grad():
    x = lazygrad.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        F.relu_(x)
