"""LazyConv1d/2d/3d and LazyConvTranspose1d/2d/3d: ``in_channels`` comes from the first input, which creates
the parameters and turns the module into its eager class; torch's printing, shapes, dtypes and errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad
from lazygrad import nn

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")


@needs_torch
@pytest.mark.backend_agnostic
def test_lazy_convs_print_and_materialize_like_torch():
    def run(T):
        model = T.nn.Sequential(T.nn.LazyConv2d(4, 3, padding=1, bias=False), T.nn.LazyConvTranspose2d(2, 2, stride=2))
        before = [repr(model), repr(model[0].weight), type(model[1].bias).__name__, model[0].in_channels]
        out = model(T.ones(1, 3, 4, 4))
        return [
            *before,
            repr(model),
            [type(m).__name__ for m in model],
            tuple(out.shape),
            [(name, tuple(p.shape)) for name, p in model.named_parameters()],
        ]

    assert run(lazygrad) == run(torch)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda T: T.nn.LazyConv1d(4, 3), (1, 2, 3, 5)),
        (lambda T: T.nn.LazyConvTranspose3d(4, 1), (2, 3)),
        (lambda T: T.nn.LazyConv1d(4, 3, groups=2), (1, 3, 5)),
        (lambda T: T.nn.LazyConvTranspose2d(4, 1, groups=4), (2, 6, 1, 1)),
    ],
)
def test_lazy_conv_errors_match_torch(make, shape):
    def run(T):
        with pytest.raises((RuntimeError, ValueError)) as caught:
            make(T)(T.zeros(*shape))
        return type(caught.value).__name__, str(caught.value).replace("torch.Size", "Size")

    got, want = run(lazygrad), run(torch)
    assert got == (want[0], want[1].replace("lazygrad", "torch"))


def test_lazy_conv_takes_its_dtype_from_to_and_output_size_on_the_first_call():
    layer = nn.LazyConvTranspose1d(2, 3, stride=2).double()
    out = layer(lazygrad.ones(1, 4, 3, dtype=lazygrad.float64), output_size=(8,))
    assert type(layer) is nn.ConvTranspose1d and layer.in_channels == 4
    assert layer.weight.dtype == lazygrad.float64 and tuple(layer.weight.shape) == (4, 2, 3)
    assert tuple(out.shape) == (1, 2, 8)


def test_lazy_conv_loads_a_state_dict_before_its_first_call():
    source = nn.Conv2d(2, 3, 2)
    layer = nn.LazyConv2d(3, 2)
    layer.load_state_dict(source.state_dict())
    x = lazygrad.ones(1, 2, 3, 3)
    np.testing.assert_array_equal(layer(x).detach().numpy(), source(x).detach().numpy())
    assert type(layer) is nn.Conv2d


def test_lazy_conv_unbatched_input_gives_the_channels():
    layer = nn.LazyConv3d(2, 1)
    layer(lazygrad.zeros(3, 2, 2, 2))
    assert layer.in_channels == 3 and tuple(layer.weight.shape) == (2, 3, 1, 1, 1)
