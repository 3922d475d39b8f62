"""``linalg.matrix_exp``: scaling and squaring with a diagonal Padé approximant (Higham, 2005), composed from
matrix products and one solve, so its gradient is autodiff's through the same steps.

Each matrix is scaled by ``2**-s`` until its 1-norm is at most the degree's ``theta`` (where the approximant is
exact to the dtype's rounding), and the approximant is squared ``s`` times. ``s`` depends on the values, which a
lazy graph does not know when it is built: the graph holds ``MAX_SQUARINGS`` squarings, each applied only where
``s`` asks for it (elsewhere the identity is squared, which cannot overflow or poison a gradient). Matrices with a
1-norm beyond ``theta * 2**MAX_SQUARINGS`` (about 9e7) are squared that many times only, and lose accuracy.
"""

from __future__ import annotations

import math

from . import dtypes
from .creation import arange
from .ir import apply
from .masking import where
from .tensor import Tensor, _record, _torch_type_name, _wrap

MAX_SQUARINGS = 24
# Per dtype: the approximant's degree, and the largest 1-norm it handles to that dtype's unit roundoff.
_PADE = {dtypes.float64: (13, 5.371920351148152), dtypes.float32: (7, 3.925724783138660)}


def _coefficients(m: int) -> list[float]:
    """The numerator's coefficients of the [m/m] Padé approximant of exp (the denominator's alternate signs)."""
    return [math.factorial(2 * m - j) * math.factorial(m) / (math.factorial(2 * m) * math.factorial(j) *
                                                               math.factorial(m - j)) for j in range(m + 1)]


def _combination(terms: list[Tensor], coefficients: list[float]) -> Tensor:
    total = terms[0] * coefficients[0]
    for term, c in zip(terms[1:], coefficients[1:]):
        total = total + term * c
    return total


def _pade(X: Tensor, m: int) -> Tensor:
    """The [m/m] Padé approximant of exp(X) for m = 7 or 13: odd part U and even part V from the even powers
    of X (Paterson-Stockmeyer for 13), then ``(V - U)^-1 (V + U)``."""
    b = _coefficients(m)
    eye = (arange(X.shape[-1]).unsqueeze(-1) == arange(X.shape[-1])).to(X.dtype)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    low = [eye, X2, X4, X6]
    odd, even = _combination(low, b[1:8:2]), _combination(low, b[0:8:2])
    if m == 13:
        odd = odd + X6 @ _combination(low[1:], b[9::2])
        even = even + X6 @ _combination(low[1:], b[8::2])
    U = X @ odd
    return _wrap(apply("solve", ((even - U).node, (even + U).node)))


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential ``sum A**k / k!`` of each square matrix in ``A``."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_exp: The input tensor A must have at least 2 dimensions.")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.matrix_exp: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_type_name(A.dtype)}")
    n = A.shape[-1]
    if A.shape[-2] != n:
        raise RuntimeError(f"linalg.matrix_exp: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{n} matrices")
    if A.numel() == 0:
        return _record("LinalgMatrixExpBackward0", A.node, A)
    work = A.dtype if A.dtype in _PADE else dtypes.float32  # 16-bit floats are computed in float32
    m, theta = _PADE[work]
    X = A.to(work)
    norm = X.detach().abs().sum(-2).amax(-1)
    s = (norm / theta).log2().ceil().clamp(0, MAX_SQUARINGS).nan_to_num(0.0)
    R = _pade(X * (-s).exp2()[..., None, None], m)
    eye = (arange(n).unsqueeze(-1) == arange(n)).to(work)
    for k in range(MAX_SQUARINGS):
        more = (s > k)[..., None, None]
        Y = where(more, R, eye)
        R = where(more, Y @ Y, R)
    return _record("LinalgMatrixExpBackward0", R.to(A.dtype).node, A)
