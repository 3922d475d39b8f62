"""Tests for lazygrad.printing: literal PyTorch outputs plus a property test against real torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lazygrad.printing import get_printoptions, printoptions, set_printoptions, tensor_repr

pytestmark = pytest.mark.backend_agnostic  # formatting happens on the host, after any backend


@pytest.fixture(autouse=True)
def _default_printoptions():
    """Every test starts and ends with the default profile, whatever it changed."""
    set_printoptions(profile="default")
    yield
    set_printoptions(profile="default")


F32 = np.float32
F64 = np.float64
NAN, INF = math.nan, math.inf


# ----------------------------------------------------------------------------------------------------
# Literal expectations (strings produced by torch 2.13)
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "suffixes", "expected"),
    [
        (np.arange(4, dtype=F32), [], "tensor([0., 1., 2., 3.])"),
        (np.array([0, 4, 8, 12], F32), [], "tensor([ 0.,  4.,  8., 12.])"),
        (np.full((2, 2), 4.5, F32), [], "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"),
        (np.array(28.0, F32), ["grad_fn=<MulBackward0>"], "tensor(28., grad_fn=<MulBackward0>)"),
        (np.array([True] * 4), [], "tensor([True, True, True, True])"),
        (np.array(0.5, F32), ["grad_fn=<MeanBackward0>"], "tensor(0.5000, grad_fn=<MeanBackward0>)"),
    ],
)
def test_brief_examples(values, suffixes, expected):
    assert tensor_repr(values, suffixes) == expected


@pytest.mark.parametrize(
    ("values", "suffixes", "expected"),
    [
        # integers and bools
        (np.array([1, -22, 333], np.int64), [], "tensor([  1, -22, 333])"),
        (
            np.array([[1, 2], [3, -4]], np.int32),
            ["dtype=torch.int32"],
            "tensor([[ 1,  2],\n        [ 3, -4]], dtype=torch.int32)",
        ),
        (np.array([1, 2], np.uint8), ["dtype=torch.uint8"], "tensor([1, 2], dtype=torch.uint8)"),
        (np.array(7, np.int64), [], "tensor(7)"),
        (np.array([[True, False]]), [], "tensor([[ True, False]])"),
        # negative, fixed-precision floats
        (np.array([-1.5, 2.25, -3.0], F32), [], "tensor([-1.5000,  2.2500, -3.0000])"),
        # scientific mode triggered by the max/min ratio and by the magnitudes
        (np.array([1e-5, 1e10, -3.0], F32), [], "tensor([ 1.0000e-05,  1.0000e+10, -3.0000e+00])"),
        (
            np.array([[1e-5], [1e10], [-3.0]], F32),
            [],
            "tensor([[ 1.0000e-05],\n        [ 1.0000e+10],\n        [-3.0000e+00]])",
        ),
        (np.array([123456789.0], F32), [], "tensor([1.2346e+08])"),
        # nan / inf: ignored when choosing the mode and the width
        (np.array([NAN, INF, -INF, 1.5], F32), [], "tensor([   nan,    inf,   -inf, 1.5000])"),
        (np.array([NAN, INF, -INF, 2.0], F32), [], "tensor([nan, inf, -inf, 2.])"),
        (np.array(NAN, F32), [], "tensor(nan)"),
        # zeros (including negative zero)
        (np.zeros(3, F32), [], "tensor([0., 0., 0.])"),
        (np.zeros((2, 2), F32), [], "tensor([[0., 0.],\n        [0., 0.]])"),
        (np.array(-0.0, F32), [], "tensor(-0.)"),
        (np.array([NAN, 1.0, INF, -0.0], F32), [], "tensor([nan, 1., inf, -0.])"),
        # other float dtypes
        (
            np.array([0.1, 2.5], F64),
            ["dtype=torch.float64"],
            "tensor([0.1000, 2.5000], dtype=torch.float64)",
        ),
        (np.array([1.0, 2.0], np.float16), ["dtype=torch.float16"], "tensor([1., 2.], dtype=torch.float16)"),
        # empty tensors: size only for ndim != 1, inserted before the caller's suffixes
        (np.zeros(0, F32), [], "tensor([])"),
        (np.zeros((0, 3), F32), [], "tensor([], size=(0, 3))"),
        (
            np.zeros((0, 3), np.int64),
            ["dtype=torch.int64"],
            "tensor([], size=(0, 3), dtype=torch.int64)",
        ),
    ],
)
def test_literal(values, suffixes, expected):
    assert tensor_repr(values, suffixes) == expected


def test_three_dimensional_blocks_are_separated_by_blank_lines():
    expected = (
        "tensor([[[ 0.,  1.,  2.],\n"
        "         [ 3.,  4.,  5.]],\n"
        "\n"
        "        [[ 6.,  7.,  8.],\n"
        "         [ 9., 10., 11.]]])"
    )
    assert tensor_repr(np.arange(12, dtype=F32).reshape(2, 2, 3)) == expected


def test_long_vector_wraps_at_linewidth():
    expected = (
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
        "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
        "        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n"
        "        9.0000, 9.3333, 9.6667])"
    )
    assert tensor_repr(np.arange(30, dtype=F32) / F32(3)) == expected


def test_int_mode_floats_wrap_with_aligned_width():
    expected = (
        "tensor([    0.,  1000.,  2000.,  3000.,  4000.,  5000.,  6000.,  7000.,  8000.,\n"
        "         9000., 10000., 11000., 12000., 13000., 14000., 15000., 16000., 17000.,\n"
        "        18000., 19000., 20000., 21000., 22000., 23000., 24000.])"
    )
    assert tensor_repr(np.arange(25, dtype=F32) * 1000) == expected


def test_summarized_vector():
    expected = (
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
    )
    assert tensor_repr(np.arange(2000, dtype=F32)) == expected


def test_summarized_matrix():
    expected = (
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.7000e+01, 9.8000e+01,\n"
        "         9.9000e+01],\n"
        "        [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.9700e+02, 1.9800e+02,\n"
        "         1.9900e+02],\n"
        "        [2.0000e+02, 2.0100e+02, 2.0200e+02,  ..., 2.9700e+02, 2.9800e+02,\n"
        "         2.9900e+02],\n"
        "        ...,\n"
        "        [1.7000e+03, 1.7010e+03, 1.7020e+03,  ..., 1.7970e+03, 1.7980e+03,\n"
        "         1.7990e+03],\n"
        "        [1.8000e+03, 1.8010e+03, 1.8020e+03,  ..., 1.8970e+03, 1.8980e+03,\n"
        "         1.8990e+03],\n"
        "        [1.9000e+03, 1.9010e+03, 1.9020e+03,  ..., 1.9970e+03, 1.9980e+03,\n"
        "         1.9990e+03]])"
    )
    assert tensor_repr(np.arange(2000, dtype=F32).reshape(20, 100)) == expected


def test_summarized_3d_int():
    text = tensor_repr(np.arange(2000, dtype=np.int64).reshape(5, 4, 100))
    assert text.startswith("tensor([[[   0,    1,    2,  ...,   97,   98,   99],\n")
    assert "         [1000, 1001, 1002,  ..., 1097, 1098, 1099],\n" in text
    assert text.endswith("         [1900, 1901, 1902,  ..., 1997, 1998, 1999]]])")
    assert text.count("\n\n") == 4


@pytest.mark.parametrize(
    ("values", "suffixes", "expected"),
    [
        (
            np.arange(8, dtype=F64) * 1.5 + 10,
            ["dtype=torch.float64"],
            "tensor([10.0000, 11.5000, 13.0000, 14.5000, 16.0000, 17.5000, 19.0000, 20.5000],\n"
            "       dtype=torch.float64)",
        ),
        (
            np.arange(8, dtype=F64) * 3 + 20,
            ["dtype=torch.float64", "grad_fn=<MulBackward0>"],
            "tensor([20., 23., 26., 29., 32., 35., 38., 41.], dtype=torch.float64,\n"
            "       grad_fn=<MulBackward0>)",
        ),
        (
            np.arange(17, dtype=F32) * 1.5,
            ["grad_fn=<MulBackward0>"],
            "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
            "        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
            "        24.0000], grad_fn=<MulBackward0>)",
        ),
        (np.arange(2, dtype=F32), ["x" * 75], "tensor([0., 1.],\n       " + "x" * 75 + ")"),
    ],
)
def test_suffix_wrapping(values, suffixes, expected):
    assert tensor_repr(values, suffixes) == expected


# ----------------------------------------------------------------------------------------------------
# Print options
# ----------------------------------------------------------------------------------------------------


def test_precision_and_profiles():
    values = np.array([1.12345, 2.0], F32)
    set_printoptions(precision=2)
    assert tensor_repr(values) == "tensor([1.12, 2.00])"
    set_printoptions(profile="default")
    assert tensor_repr(values) == "tensor([1.1235, 2.0000])"
    set_printoptions(profile="short")
    assert get_printoptions()["edgeitems"] == 2
    assert tensor_repr(values) == "tensor([1.12, 2.00])"


def test_threshold_and_full_profile():
    set_printoptions(threshold=5)
    assert tensor_repr(np.arange(10, dtype=np.int64)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="full")
    assert "..." not in tensor_repr(np.arange(2000, dtype=np.int64))


def test_zero_edgeitems_shows_size():
    set_printoptions(edgeitems=0)
    assert tensor_repr(np.ones((2, 3), F32)) == "tensor([[1., 1., 1.],\n        [1., 1., 1.]], size=(2, 3))"
    set_printoptions(threshold=5, edgeitems=0)
    assert tensor_repr(np.ones((2, 3), F32)) == "tensor([...], size=(2, 3))"
    assert tensor_repr(np.arange(10, dtype=F32)) == "tensor([...], size=(10,))"


def test_sci_mode_forced_and_reset_by_later_calls():
    set_printoptions(sci_mode=True)
    assert tensor_repr(np.array([1.0, 2.0], F32)) == "tensor([1.0000e+00, 2.0000e+00])"
    assert tensor_repr(np.zeros(2, F32)) == "tensor([0., 0.])"  # no finite non-zero value: not applied
    set_printoptions(precision=4)  # like torch, omitting sci_mode returns to automatic mode
    assert tensor_repr(np.array([1.0, 2.0], F32)) == "tensor([1., 2.])"
    set_printoptions(sci_mode=False)
    assert tensor_repr(np.array([1e-5, 1e10], F32)) == "tensor([          0.0000, 10000000000.0000])"


def test_printoptions_context_restores():
    before = get_printoptions()
    with printoptions(precision=1, linewidth=30):
        assert tensor_repr(np.array([0.25, 1.5], F32)) == "tensor([0.2, 1.5])"
    assert get_printoptions() == before


def test_negative_edgeitems_rejected():
    with pytest.raises(ValueError):
        set_printoptions(edgeitems=-1)


def test_unsupported_dtype():
    with pytest.raises(TypeError):
        tensor_repr(np.array([1 + 2j]))


# ----------------------------------------------------------------------------------------------------
# Property test against real torch
# ----------------------------------------------------------------------------------------------------

DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]
DEFAULT_DTYPES = {np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_)}
FLOAT_SCALES = [1e-300, 1e-30, 1e-8, 1e-5, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e5, 1e8, 1e12, 1e30, 1e300]


def _float_elements(dtype: np.dtype) -> st.SearchStrategy[float]:
    """Nasty floats of every kind, plus integer-valued ones so that int mode gets exercised."""
    specials = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-5, 0.5, 1e4 if dtype == np.float16 else 1e10]
    return st.one_of(
        st.floats(width=8 * dtype.itemsize),
        st.integers(-2048, 2048).map(float),
        st.sampled_from(specials),
    )


@st.composite
def small_arrays(draw) -> np.ndarray:
    """0-d to 4-d arrays (possibly empty) with hypothesis-chosen elements."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(0, 4))
    max_side = (1, 40, 12, 5, 4)[ndim]  # long rows exercise wrapping; few elements keep torch fast
    shape = tuple(draw(st.integers(0, max_side)) for _ in range(ndim))
    elements = _float_elements(dtype) if dtype.kind == "f" else None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def large_arrays(draw) -> np.ndarray:
    """Arrays with more than 1000 elements, filled from a seeded generator for speed."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(1, 4))
    sides = [draw(st.integers(1, 12)) for _ in range(ndim - 1)]
    last = -(-1001 // math.prod(sides)) + draw(st.integers(0, 40))
    shape = (*sides, last)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        high = draw(st.sampled_from([10, 1000, int(info.max)]))
        high = min(high, int(info.max))
        return rng.integers(max(int(info.min), -high), high, size=shape, endpoint=True, dtype=dtype)
    scale = draw(st.sampled_from(FLOAT_SCALES))
    values = rng.standard_normal(shape) * scale
    if draw(st.booleans()):
        values = np.round(values)
    with np.errstate(over="ignore"):  # huge scales overflowing to inf in float16/32 are wanted
        values = values.astype(dtype)
    if draw(st.booleans()):
        flat = values.reshape(-1)
        picks = rng.integers(0, flat.size, size=6)
        flat[picks] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=dtype), size=6)
    return values


print_options = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "precision": st.integers(0, 8),
            "threshold": st.sampled_from([0, 5, 50, 1000, math.inf]),
            "edgeitems": st.integers(0, 4),
            "linewidth": st.integers(20, 150),
            "profile": st.sampled_from(["default", "short", "full"]),
            "sci_mode": st.sampled_from([None, True, False]),
        },
    ),
)


def _check_against_torch(values: np.ndarray, autograd: str | None, options: dict) -> None:
    """Build the same tensor in torch, mirror the suffixes torch adds, and compare the strings."""
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(values.copy())
    suffixes = []
    if values.size == 0:
        if values.dtype != np.float32:
            suffixes.append(f"dtype={tensor.dtype}")
    elif values.dtype not in DEFAULT_DTYPES:
        suffixes.append(f"dtype={tensor.dtype}")
    if autograd is not None and values.dtype.kind == "f":
        tensor.requires_grad_()
        if autograd == "grad_fn":
            tensor = tensor * 1
            suffixes.append("grad_fn=<MulBackward0>")
        else:
            suffixes.append("requires_grad=True")
    try:
        torch.set_printoptions(**options)
        set_printoptions(**options)
        expected = repr(tensor)
        assert tensor_repr(values, suffixes) == expected
    finally:
        torch.set_printoptions(profile="default")
        set_printoptions(profile="default")


autograd_modes = st.sampled_from([None, None, "requires_grad", "grad_fn"])
property_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(property_settings, max_examples=300)
@given(values=small_arrays(), autograd=autograd_modes, options=print_options)
def test_matches_torch_small(values, autograd, options):
    _check_against_torch(values, autograd, options)


@settings(property_settings, max_examples=60)
@given(values=large_arrays(), autograd=autograd_modes, options=print_options)
def test_matches_torch_large(values, autograd, options):
    _check_against_torch(values, autograd, options)
