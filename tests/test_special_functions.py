"""torch.special's modified Bessel functions, erfcx, ndtri, zeta and orthogonal polynomials against torch:
values over wide ranges and at the special values in float64 and float32, result dtypes, gradients and grad_fn
names (or their absence), and the errors torch raises for dtypes it has no kernel for."""

from __future__ import annotations

import decimal

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")

if HAS_TORCH:
    import torch

# Both sides of the series/asymptotic switch at 30, float32's and float64's overflow, and the infinities.
BESSEL_ARGS = np.concatenate([-np.logspace(-8, 3, 23), [0.0, -0.0, 29.9, 30.0, 30.1, 88.7, 88.8, 709.0, 710.0],
                              np.logspace(-8, 3, 23), [np.inf, -np.inf, np.nan]])
# Both sides of erfcx's switches at 1 and -26.7, and very large arguments.
ERFCX_ARGS = np.concatenate([BESSEL_ARGS, [-26.6, -26.8, -5.6, 0.99, 1.0, 1.01, 1e10, 1e300]])
# The central range's edges at 0.1 and 0.9, probabilities far below float64's smallest normal number, and
# both ends and the outside of [0, 1].
NDTRI_ARGS = np.concatenate([[0.0, 1.0, -0.1, 1.1, np.nan, 5e-324, 1e-300, 1e-20, 0.0999, 0.1, 0.9, 0.9001,
                              1 - 1e-16, 0.5], np.linspace(0.001, 0.999, 21), np.logspace(-300, -1, 25)])
# K's series below 2, its trapezoidal rule up to 20 and its expansion beyond, with both seams.
K_ARGS = np.concatenate([BESSEL_ARGS, [1e-300, 1.999, 2.0, 2.001, 19.99, 20.0, 20.01, 800.0]])
UNARY = {"i0e": BESSEL_ARGS, "i1": BESSEL_ARGS, "i1e": BESSEL_ARGS, "modified_bessel_i0": BESSEL_ARGS,
         "modified_bessel_i1": BESSEL_ARGS, "spherical_bessel_j0": BESSEL_ARGS, "erfcx": ERFCX_ARGS,
         "ndtri": NDTRI_ARGS, "modified_bessel_k0": K_ARGS, "modified_bessel_k1": K_ARGS,
         "scaled_modified_bessel_k0": K_ARGS, "scaled_modified_bessel_k1": K_ARGS}
# Not in UNARY: bessel_j0/j1, whose torch kernels are off by up to 4e-7 for 2 < |x| < 21 (tested below against
# a series of their own).
NOT_DIFFERENTIABLE_J = ["bessel_j0", "bessel_j1"]
DIFFERENTIABLE = {"i0e": "SpecialI0EBackward0", "i1": "SpecialI1Backward0", "i1e": "SpecialI1EBackward0",
                  "erfcx": "SpecialErfcxBackward0", "ndtri": "SpecialNdtriBackward0"}
POLYNOMIALS = [name for name in ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
                                 "chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
                                 "laguerre_polynomial_l", "legendre_polynomial_p")
               for name in (name, f"shifted_{name}") if not name.startswith("shifted_h")
               and not name.startswith("shifted_l")]
POLYNOMIAL_X = np.array([-3.0, -1.0, -0.99, -0.5, -1e-3, 0.0, 0.3, 0.5, 0.75, 0.999, 1.0, 1.5, 2.5, np.inf])
# Negative, fractional (truncated) and non-finite degrees, both sides of the closed forms' thresholds (6, 8),
# and beyond float32's Hermite limit of 128.
POLYNOMIAL_N = np.array([-3.0, -0.5, 0, 1, 2, 2.7, 3, 6, 7, 8, 9, 20, 50, 129, 200, np.inf, np.nan])
F32_ULP = 2.0 ** -23


def _torch(name: str, *args: np.ndarray) -> np.ndarray:
    return getattr(torch.special, name)(*[torch.tensor(a) for a in args]).numpy()


def _ours(name: str, *args: np.ndarray) -> np.ndarray:
    return getattr(lazygrad.special, name)(*[lazygrad.tensor(a) for a in args]).numpy()


def _assert_same(got: np.ndarray, want: np.ndarray, rtol: float, atol: float = 0.0) -> None:
    """Equal where either is not finite (NaN to NaN), else within the tolerance."""
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.where(np.isfinite(want), 0, got), np.where(np.isfinite(want), 0, want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=atol)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions_match_torch_in_float64(name):
    args = UNARY[name]
    _assert_same(_ours(name, args), _torch(name, args), rtol=1e-13)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions_are_correctly_rounded_in_float32(name):
    """Computed in float64 and rounded once: within half a unit of torch's float64 value rounded, and within a few
    units of torch's float32 kernels (erfcx's 2 exp(x^2) below 0 is the exception: torch's float32 x^2 rounds
    first, and its error grows with x^2)."""
    args = UNARY[name].astype(np.float32)
    ours = _ours(name, args)
    below_overflow = ~(np.abs(args) > 88)  # beyond, float32's exp overflows in torch's kernels, and in ours
    _assert_same(ours[below_overflow], _torch(name, args.astype(np.float64)).astype(np.float32)[below_overflow],
                 rtol=F32_ULP)
    kept = args >= 0 if name == "erfcx" else np.ones(args.shape, bool)
    _assert_same(ours[kept], _torch(name, args)[kept], rtol=5 * F32_ULP)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradients_and_grad_fn_names_are_torchs(name):
    args = UNARY[name]
    args = args[np.isfinite(args) & (np.abs(args) < 700)]
    if name == "ndtri":
        args = args[(args > 0) & (args < 1)]
    check_like_torch(lambda T, x: getattr(T.special, name)(x), args, rtol=1e-12, atol=1e-15)
    assert getattr(lazygrad.special, name)(lazygrad.tensor(args, requires_grad=True)).grad_fn.name() == \
        DIFFERENTIABLE[name]


@pytest.mark.backend_agnostic
def test_scaled_bessel_slopes_at_zero_are_finite():
    x = lazygrad.tensor([0.0], dtype=lazygrad.float64, requires_grad=True)
    (lazygrad.special.i0e(x) + lazygrad.special.i1e(x) + lazygrad.special.i1(x)).sum().backward()
    t = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    (torch.special.i0e(t) + torch.special.i1e(t) + torch.special.i1(t)).sum().backward()
    assert_close(x.grad, t.grad, rtol=1e-15, atol=0)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", sorted(set(UNARY) - set(DIFFERENTIABLE)) + NOT_DIFFERENTIABLE_J)
def test_functions_torch_does_not_differentiate_are_not_tracked(name):
    x = lazygrad.tensor([0.5, 2.0], requires_grad=True)
    out = getattr(lazygrad.special, name)(x)
    assert out.grad_fn is None and not out.requires_grad
    assert not getattr(torch.special, name)(torch.tensor([0.5, 2.0], requires_grad=True)).requires_grad


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["ndtri", "erfcx", "modified_bessel_i0", "spherical_bessel_j0",
                                  "scaled_modified_bessel_k1", "bessel_j1", "chebyshev_polynomial_t", "zeta"])
def test_16_bit_floats_are_refused_as_torch_refuses_them(name):
    args = (1,) if "polynomial" in name or name == "zeta" else ()
    with pytest.raises(NotImplementedError) as theirs:
        getattr(torch.special, name)(torch.tensor([0.5], dtype=torch.float16), *args)
    with pytest.raises(NotImplementedError) as ours:
        getattr(lazygrad.special, name)(lazygrad.tensor([0.5], dtype=lazygrad.float16), *args)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["i0e", "i1", "i1e"])
def test_16_bit_floats_keep_their_dtype_where_torch_has_kernels(name):
    x = np.array([0.5, 3.0], dtype=np.float16)
    out = getattr(lazygrad.special, name)(lazygrad.tensor(x))
    assert out.dtype is lazygrad.float16
    np.testing.assert_allclose(out.numpy(), _torch(name, x), rtol=1e-3)


@pytest.mark.backend_agnostic
def test_integer_inputs_give_the_default_float():
    for name in UNARY:
        assert getattr(lazygrad.special, name)(lazygrad.tensor([0, 1])).dtype is lazygrad.float32


@pytest.mark.backend_agnostic
def test_i0_is_nan_at_the_infinities_as_torchs():
    x = np.array([np.inf, -np.inf, 1.0])
    _assert_same(lazygrad.special.i0(lazygrad.tensor(x)).numpy(), torch.special.i0(torch.tensor(x)).numpy(),
                 rtol=1e-15)


# ---- zeta --------------------------------------------------------------------------------------------------

ZETA_S = np.array([0.5, 1.0, 1.0001, 1.1, 1.5, 2.0, 2.5, 3.0, 4.0, 7.5, 10.0, 20.0, 50.0, 100.0, np.inf, np.nan])
# Negative q (NaN unless s is an integer), the poles, small q, and large and infinite q.
ZETA_Q = np.array([-19.5, -10.0, -2.5, -1.0, 0.0, 1e-8, 0.1, 0.5, 1.0, 1.5, 2.0, 10.0, 100.0, 1e5, 1e10, np.inf])


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, F32_ULP)])
def test_zeta_matches_torch(dtype, rtol):
    s, q = ZETA_S[:, None].astype(dtype), ZETA_Q[None].astype(dtype)
    _assert_same(_ours("zeta", s, q), _torch("zeta", s, q), rtol=rtol)


@pytest.mark.backend_agnostic
def test_zeta_takes_numbers_and_names_its_grad_fn_as_torch():
    q = np.array([0.5, 2.5])
    for call in (lambda T, q: T.special.zeta(2.0, q), lambda T, q: T.special.zeta(q + 1, 3.0)):
        ours, theirs = call(lazygrad, lazygrad.tensor(q, requires_grad=True)), call(torch, torch.tensor(q))
        assert_close(ours, theirs, rtol=1e-14)
        theirs = call(torch, torch.tensor(q, requires_grad=True))
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert lazygrad.special.zeta(lazygrad.tensor([2, 3]), lazygrad.tensor([2, 3])).dtype is lazygrad.float32


@pytest.mark.backend_agnostic
def test_zeta_slope_in_q_is_torchs_and_in_s_the_true_derivative():
    """torch defines only the slope in q (-s zeta(s + 1, q)); the slope in s here is the composition's, checked
    against a central difference."""
    s = lazygrad.tensor([2.0, 3.5], dtype=lazygrad.float64, requires_grad=True)
    q = lazygrad.tensor([1.5, 2.5], dtype=lazygrad.float64, requires_grad=True)
    lazygrad.special.zeta(s, q).sum().backward()
    ts, tq = torch.tensor([2.0, 3.5], dtype=torch.float64), torch.tensor([1.5, 2.5], dtype=torch.float64)
    assert_close(q.grad, -ts * torch.special.zeta(ts + 1, tq), rtol=1e-13)
    step = 1e-5
    central = (torch.special.zeta(ts + step, tq) - torch.special.zeta(ts - step, tq)) / (2 * step)
    assert_close(s.grad, central, rtol=1e-8)


@pytest.mark.backend_agnostic
def test_polygamma_and_i0_are_in_the_special_namespace():
    x = np.array([0.3, 2.5, -1.5])
    assert_close(lazygrad.special.polygamma(2, lazygrad.tensor(x)), torch.special.polygamma(2, torch.tensor(x)),
                 rtol=1e-13)
    assert_close(lazygrad.special.i0(lazygrad.tensor(x)), torch.special.i0(torch.tensor(x)), rtol=1e-14)
    assert lazygrad.special.multigammaln is not None and "zeta" in lazygrad.special.__all__


# ---- orthogonal polynomials --------------------------------------------------------------------------------


def _near_zero(want: np.ndarray) -> np.ndarray:
    """Where the polynomial is a rounding error away from one of its zeros: both results are noise there."""
    return np.abs(want) < 1e-9


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch_in_float64(name):
    x, n = POLYNOMIAL_X[:, None], POLYNOMIAL_N[None]
    ours, theirs = _ours(name, x, n), _torch(name, x, n)
    kept = ~_near_zero(theirs)
    _assert_same(ours[kept], theirs[kept], rtol=1e-12)
    np.testing.assert_allclose(ours[~kept], theirs[~kept], atol=1e-10)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_in_float32_are_torchs_float64_values_rounded(name):
    """Computed in float64 and rounded once (torch's float32 recurrences and closed forms drift by up to
    thousands of units near x = -1 at high degree); Hermite's NaN above degree 128 is float32's, as in torch."""
    x, n = POLYNOMIAL_X[:, None].astype(np.float32), POLYNOMIAL_N[None].astype(np.float32)
    ours = _ours(name, x, n)
    want = _torch(name, x.astype(np.float64), n.astype(np.float64)).astype(np.float32)
    if name.startswith("hermite"):
        want = np.where((n > 128) & np.isfinite(n), np.float32(np.nan), want)
    kept = ~_near_zero(want)
    _assert_same(ours[kept], want[kept], rtol=F32_ULP)


@pytest.mark.backend_agnostic
def test_polynomial_dtypes_and_number_arguments_are_torchs():
    cheb = "chebyshev_polynomial_t"
    cases = [(np.array([0.5]), 3), (1.5, np.array([2, 3])), (np.array([0.5, 2.0]), np.array([[3.0], [2.0]])),
             (np.array([1, 2]), np.array([3])), (np.array([0.5], np.float32), np.array([3.0]))]
    for x, n in cases:
        ours = getattr(lazygrad.special, cheb)(*[lazygrad.tensor(v) if isinstance(v, np.ndarray) else v
                                                  for v in (x, n)])
        theirs = getattr(torch.special, cheb)(*[torch.tensor(v) if isinstance(v, np.ndarray) else v
                                                for v in (x, n)])
        assert str(ours.dtype) == str(theirs.dtype)
        assert_close(ours, theirs, rtol=1e-6)


@pytest.mark.backend_agnostic
def test_polynomials_are_not_tracked_and_refuse_huge_degrees():
    x = lazygrad.tensor([0.5], requires_grad=True)
    assert lazygrad.special.legendre_polynomial_p(x, 4).grad_fn is None
    with pytest.raises(NotImplementedError, match="degrees above"):
        lazygrad.special.legendre_polynomial_p(x, 10**6)
    assert np.isnan(lazygrad.special.hermite_polynomial_h(x, 10**6).item())  # above torch's limit: NaN


def test_each_function_runs_on_every_backend():
    """A few points of every function on each backend, against torch."""
    x = np.array([-2.5, 0.25, 3.0])
    for name in UNARY:
        args = np.array([0.01, 0.3, 0.75]) if name == "ndtri" else x
        assert_close(_ours(name, args), _torch(name, args), rtol=1e-12)
    assert_close(_ours("zeta", x + 3, x + 3), _torch("zeta", x + 3, x + 3), rtol=1e-12)
    assert_close(_ours("bessel_j0", x * 10), np.array([_bessel_j_reference(v, 0) for v in x * 10]), rtol=0,
                 atol=2e-15)
    for name in POLYNOMIALS:
        assert_close(getattr(lazygrad.special, name)(lazygrad.tensor(x), 5),
                     getattr(torch.special, name)(torch.tensor(x), 5), rtol=1e-12)


# ---- J_0 and J_1 -------------------------------------------------------------------------------------------


def _bessel_j_reference(x: float, order: int) -> float:
    """J_order(x) by its power series in 60-digit decimals: exact to float64 however its terms cancel."""
    with decimal.localcontext() as context:
        context.prec = 60
        half = decimal.Decimal(x) / 2
        term = half if order else decimal.Decimal(1)  # 1 / order! is 1 for both orders
        total, k = term, 0
        while abs(term) > decimal.Decimal(10) ** -40 or k < 5:
            k += 1
            term = -term * half * half / (k * (k + order))
            total += term
        return float(total)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("order", [0, 1])
def test_bessel_j_matches_a_high_precision_series(order):
    """Bessel's integral below 25 and Hankel's expansion above (the series is exact for both up to ~40): absolute
    error at float64's rounding, including 2 < |x| < 21, where torch's own kernel is off by up to 4e-7."""
    x = np.concatenate([np.linspace(-40, 40, 161), [24.99, 25.0, 25.01, 1e-30]])
    want = np.array([_bessel_j_reference(v, order) for v in x])
    np.testing.assert_allclose(_ours(f"bessel_j{order}", x), want, rtol=0, atol=2e-15)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("order", [0, 1])
def test_bessel_j_matches_torch_where_torch_is_accurate(order):
    x = np.concatenate([np.linspace(-1.5, 1.5, 31), np.linspace(30, 1000, 300), -np.linspace(30, 1000, 300),
                        [0.0, -0.0, np.inf, -np.inf, np.nan]])
    name = f"bessel_j{order}"
    ours, theirs = _ours(name, x), _torch(name, x)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=2e-15)
    x32 = np.linspace(-30, 30, 61, dtype=np.float32)
    np.testing.assert_allclose(_ours(name, x32), _torch(name, x32), rtol=0, atol=1e-6)  # torch's float32 error
