"""``torch.linalg``: norms, inverse, solve, determinants, and the SVD, QR, Cholesky and symmetric eigen factorizations.

Each factorization is a primitive per result (``svd`` with part ``U``, ``S`` or ``Vh``), run by numpy.linalg
or jax.numpy.linalg. Gradients are VJP rules written from the standard formulas as primitive compositions:
inverse, solve, determinant, log-determinant, Cholesky, eigh, and the SVD (singular values and vectors, so every
matrix norm and the pseudo-inverse differentiates); the QR raises NotImplementedError when a gradient reaches it.
LU with partial pivoting (``lu_decomposition``) and ``matrix_exp`` (``matrix_functions``) have no primitive: they
are composed from ops, and autodiff differentiates them.

Errors that depend on values (a singular matrix, a matrix that is not positive-definite) cannot be seen
when the op is recorded: the numpy backend raises torch's ``LinAlgError`` and message when the program runs
(for the tensors that need the result only: every other tensor is computed as usual), the jax backend returns
inf or NaN, as jax does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import dtypes, ops, return_types
from .autocast_mode import float32_op
from .checks import LinAlgError
from .creation import zeros_like
from .grad_mode import no_grad
from .ir import Node, apply, broadcast_shapes
from .lu_decomposition import checked, getrf, lu, lu_factor, lu_factor_ex, lu_solve, potf2
from .masking import where
from .matmul_ops import matmul as _matmul
from .matrix_functions import matrix_exp
from .reductions import _p_norm, _safe_sqrt
from .reshaping import cat
from .shape_ops import rolled
from .tensor import Tensor, _dim, _dims, _record, _torch_type_name, _wrap
from .type_info import finfo


def _check(op: str, A: Tensor, square: bool = True) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_type_name(A.dtype)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _mT(node: Node) -> Node:
    rank = len(node.shape)
    return ops.permute(node, (*range(rank - 2), rank - 1, rank - 2))


# ---- norms ------------------------------------------------------------------------------------------------


def _vector_norm(x: Node, ord: float, axes: tuple[int, ...], keepdim: bool) -> Node:
    if x.dtype in dtypes.HALF:  # torch accumulates a 16-bit norm in float32 and rounds it once
        return ops.cast(_vector_norm(ops.cast(x, dtypes.float32), ord, axes, keepdim), x.dtype)
    magnitude = apply("abs", (x,))
    if ord == 2:
        return _safe_sqrt(ops.reduce("reduce_sum", ops.mul(x, x), axes, keepdim))
    if ord == math.inf:
        return ops.reduce("reduce_max", magnitude, axes, keepdim)
    if ord == -math.inf:
        return ops.reduce("reduce_min", magnitude, axes, keepdim)
    if ord == 0:
        return ops.reduce("reduce_sum", ops.cast(apply("ne", (x, ops.const(0, x.dtype))), x.dtype), axes, keepdim)
    if ord == 1:
        return ops.reduce("reduce_sum", magnitude, axes, keepdim)
    return _p_norm(x, ord, axes, keepdim)


def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``(sum |x|**ord) ** (1/ord)`` over ``dim`` (all axes by default); ord inf/-inf are max/min of ``|x|``."""
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_type_name(x.dtype)}")
    node = ops.cast(x.node, dtypes.to_dtype(dtype)) if dtype is not None else x.node
    axes = _dims(dim, x.ndim)
    return _record("LinalgVectorNormBackward0", _vector_norm(node, float(ord), axes, keepdim), x)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` over all elements (broadcast together)."""
    diff = input - other
    axes = tuple(range(diff.ndim))
    return _record("DistBackward0", _vector_norm(diff.node, float(p), axes, False), input, other)


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """Frobenius, nuclear, max/min column sum (1/-1), row sum (inf/-inf) or singular value (2/-2) norms."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_type_name(A.dtype)}")
    rows, cols = (_dim(d, A.ndim) for d in dim)
    node = ops.cast(A.node, dtypes.to_dtype(dtype)) if dtype is not None else A.node
    if ord in ("nuc", 2, -2):
        rest = [a for a in range(A.ndim) if a not in (rows, cols)]
        values = apply("svd", (ops.permute(node, (*rest, rows, cols)),), ("S", False))
        last = len(values.shape) - 1
        reduce, name = {"nuc": ("reduce_sum", "SumBackward1"), 2: ("reduce_max", "AmaxBackward0"),
                        -2: ("reduce_min", "AminBackward0")}[ord]
        out = ops.reduce(reduce, values, (last,))
        if keepdim:
            out = ops.reshape(out, ops.keep_dims_shape(A.node.shape, (rows, cols)))
        return _record(name, out, A)
    # Sum |a| along one axis, then take the extreme along the other: columns for 1/-1, rows for inf/-inf.
    summed, extreme = (rows, cols) if ord in (1, -1) else (cols, rows)
    sums = ops.reduce("reduce_sum", apply("abs", (node,)), (summed,), keepdims=True)
    reduce, name = ("reduce_max", "AmaxBackward0") if ord > 0 else ("reduce_min", "AminBackward0")
    out = ops.reduce(reduce, sums, (extreme,), keepdims=True)
    if not keepdim:
        out = ops.reshape(out, tuple(d for a, d in enumerate(A.node.shape) if a not in (rows, cols)))
    return _record(name, out, A)


def norm(A: Tensor, ord: Any = None, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """A vector norm (``dim`` an int, or a 1-D input) or a matrix norm (``dim`` a pair, or a 2-D input)."""
    if dim is None and ord is not None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        dim = tuple(range(A.ndim))
    if dim is not None and not isinstance(dim, int) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ---- inverse, solve, determinants ---------------------------------------------------------------------------


@float32_op
def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A``."""
    _check("inv", A)
    return _record("LinalgInvExBackward0", apply("inv", (A.node,)), A)


@float32_op
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A X = B`` (or ``X A = B`` with ``left=False``); ``B`` may be a vector or a batch of them."""
    _check("solve", A)
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_torch_type_name(A.dtype)} and B of type {_torch_type_name(B.dtype)} instead")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    b = ops.reshape(B.node, (*B.node.shape, 1)) if vector else B.node
    a = A.node if left else _mT(A.node)
    if not left:
        b = _mT(b)
    n, k = b.shape[-2:]
    if n != a.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {'AX' if left else 'XA'} "
                           f"= B ({A.shape[-2]}x{A.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = apply("solve", (ops.broadcast_to(a, (*batch, n, n)), ops.broadcast_to(b, (*batch, n, k))))
    if not left:
        x = _mT(x)
    if vector:
        x = ops.reshape(x, x.shape[:-1])
    return _record("LinalgSolveExBackward0", x, A, B)


def det(A: Tensor) -> Tensor:
    _check("det", A)
    return _record("LinalgDetBackward0", apply("det", (A.node,)), A)


def slogdet(A: Tensor) -> Any:
    """The sign and the log of the absolute value of each determinant (no overflow for large matrices)."""
    _check("slogdet", A)
    parts = (_record("LinalgSlogdetBackward0", apply("slogdet", (A.node,), (part,)), A)
             for part in ("sign", "logabsdet"))
    return return_types.linalg_slogdet(*parts)


def _slogdet(A: Tensor) -> Any:
    return return_types.slogdet(*slogdet(A))


def logdet(A: Tensor) -> Tensor:
    """log(det(A)): NaN where the determinant is negative, -inf where it is zero."""
    sign, logabsdet = slogdet(A)
    return _record("WhereBackward0", ops.select(apply("lt", (sign.node, ops.const(0, A.dtype))),
                                                ops.const(math.nan, A.dtype), logabsdet.node), logabsdet)


# ---- factorizations -----------------------------------------------------------------------------------------


@float32_op
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The lower-triangular ``L`` with ``A = L L^T`` (or ``U = L^T`` with ``upper=True``)."""
    _check("cholesky", A)
    node = apply("cholesky", (A.node,))
    return _record("LinalgCholeskyExBackward0", _mT(node) if upper else node, A)


@float32_op
def svd(A: Tensor, full_matrices: bool = True) -> Any:
    """``U, S, Vh`` with ``A = U diag(S) Vh``; only ``S`` is differentiable here."""
    _check("svd", A, square=False)
    parts = (_record("LinalgSvdBackward0", apply("svd", (A.node,), (part, full_matrices)), A)
             for part in ("U", "S", "Vh"))
    return return_types.linalg_svd(*parts)


def svdvals(A: Tensor) -> Tensor:
    _check("svdvals", A, square=False)
    return _record("LinalgSvdBackward0", apply("svd", (A.node,), ("S", False)), A)


@float32_op
def qr(A: Tensor, mode: str = "reduced") -> Any:
    """``Q`` with orthonormal columns and upper-triangular ``R`` with ``A = Q R``; ``mode="r"`` leaves ``Q`` empty."""
    _check("qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    factor = "reduced" if mode == "r" else mode
    r = _record("LinalgQrBackward0", apply("qr", (A.node,), ("R", factor)), A)
    if mode == "r":
        return return_types.linalg_qr(_wrap(ops.full((0,), 0, A.dtype)), r)
    return return_types.linalg_qr(_record("LinalgQrBackward0", apply("qr", (A.node,), ("Q", factor)), A), r)


def _uplo(UPLO: str) -> bool:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO == "L"


@float32_op
def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, read from the ``UPLO`` triangle."""
    _check("eigh", A)
    lower = _uplo(UPLO)
    parts = (_record("LinalgEighBackward0", apply("eigh", (A.node,), (part, lower)), A)
             for part in ("values", "vectors"))
    return return_types.linalg_eigh(*parts)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    _check("eigvalsh", A)
    return _record("LinalgEighBackward0", apply("eigh", (A.node,), ("values", _uplo(UPLO))), A)


def _from_cholesky(L: Tensor, upper: bool) -> Tensor:
    """The matrix ``L L^T`` (``U^T U`` with ``upper``) whose Cholesky factor ``L`` is."""
    return _matmul(L.mT, L) if upper else _matmul(L, L.mT)


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """``X`` with ``A X = B`` for ``B = input`` and ``A`` given by its Cholesky factor ``input2``: a solve with ``A``
    rebuilt from the factor, which differentiates towards ``B`` and the factor alike."""
    B, L = input, input2
    for name, t in (("b", B), ("u", L)):
        if t.ndim < 2:
            raise RuntimeError(f"{name} should have at least 2 dimensions, but has {t.ndim} dimensions instead")
    with no_grad():  # one record under torch's name, whose gradient walk reaches B and L through the solve
        x = solve(_from_cholesky(L, upper), B)
    return _record("CholeskySolveBackward0", x.node, B, L)


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """The inverse of the matrix whose Cholesky factor ``input`` is."""
    with no_grad():
        x = inv(_from_cholesky(input, upper))
    return _record("CholeskyInverseBackward0", x.node, input)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """``X`` with ``A X = B`` (``X A = B`` with ``left=False``) reading only ``A``'s ``upper`` or lower triangle (and
    taking its diagonal as ones with ``unitriangular``): a solve with that triangle."""
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    _check("solve_triangular", A)
    with no_grad():
        triangle = A.triu(int(unitriangular)) if upper else A.tril(-int(unitriangular))
        if unitriangular:
            eye = ops.cast(apply("eq", (ops.iota(A.shape[-2:], 0), ops.iota(A.shape[-2:], 1))), A.dtype)
            triangle = triangle + _wrap(eye)
        x = solve(triangle, B, left=left)
    return _record("LinalgSolveTriangularBackward0", x.node, A, B)


# ---- factorizations that report failure instead of raising -----------------------------------------------------


def _eye(A: Tensor) -> Tensor:
    return _wrap(ops.cast(apply("eq", (ops.iota(A.shape[-2:], 0), ops.iota(A.shape[-2:], 1))), A.dtype))


def _info(info: Tensor, check_errors: bool, error: type[Exception], message: str, op: str) -> Tensor:
    return checked(info, error, message, op) if check_errors else info


@float32_op
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    """``cholesky`` and ``info``: 0, or the order of the first leading minor that is not positive-definite (whose
    matrix then holds the factorization as far as it went, as LAPACK leaves it)."""
    _check("cholesky", A)
    partial, info = potf2(A)
    info = _info(info, check_errors, LinAlgError, "linalg.cholesky_ex: The factorization could not be completed "
                 "because the input is not positive-definite (the leading minor of order {} is not "
                 "positive-definite).", "linalg.cholesky_ex")
    failed = (info != 0)[..., None, None]
    L = where(failed, partial, cholesky(where(failed, _eye(A), A)))
    if upper:
        L = L.mT
    return return_types.linalg_cholesky_ex(_record("LinalgCholeskyExBackward0", L.node, A), info)


def _singular(A: Tensor, check_errors: bool, message: str, op: str) -> Tensor:
    """``info`` of the LU factorization of ``A``: its first zero pivot, or 0."""
    return _info(getrf(A)[2], check_errors, LinAlgError, message, op)


@float32_op
def inv_ex(A: Tensor, *, check_errors: bool = False) -> Any:
    """``inv`` and ``info``: 0, or the first zero pivot of ``A``'s LU factorization (its inverse is then NaN)."""
    _check("inv", A)
    info = _singular(A, check_errors, "linalg.inv_ex: The diagonal element {} is zero, the inversion could not be "
                     "completed because the input matrix is singular.", "linalg.inv_ex")
    failed = (info != 0)[..., None, None]
    inverse = where(failed, math.nan, inv(where(failed, _eye(A), A)))
    return return_types.linalg_inv_ex(_record("LinalgInvExBackward0", inverse.node, A), info)


@float32_op
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:
    """``solve`` and ``info``: 0, or the first zero pivot of ``A``'s LU factorization (the solution is then NaN)."""
    _check("solve", A)
    info = _singular(A, check_errors, "torch.linalg.solve_ex: The solver failed because the input matrix is "
                     "singular.", "linalg.solve_ex")
    failed = info != 0
    x = solve(where(failed[..., None, None], _eye(A), A), B, left=left)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    x = where(failed[..., None] if vector else failed[..., None, None], math.nan, x)
    return return_types.linalg_solve_ex(_record("LinalgSolveExBackward0", x.node, A, B), info)


# ---- products -------------------------------------------------------------------------------------------------


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (operands broadcast)."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_torch_type_name(input.dtype)} but found "
                           f"{_torch_type_name(other.dtype)}")
    dtype = input.dtype
    shape = broadcast_shapes(input.node.shape, other.node.shape)
    a, b = (ops.broadcast_to(ops.cast(t.node, dtype), shape) for t in (input, other))
    axis = _dim(dim, input.ndim)
    node = apply("sub", (ops.mul(rolled(a, -1, axis), rolled(b, -2, axis)),
                         ops.mul(rolled(a, -2, axis), rolled(b, -1, axis))))
    return _record("LinalgCrossBackward0", node, input, other)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    return _matmul(input, other)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times by repeated squaring; the identity for 0, the inverse's power below."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are {A.shape[-2]} "
                           f"by {A.shape[-1]} matrices")
    if n == 0:  # the identity, with a zero gradient for A as torch's copy into it gives
        eye = ops.broadcast_to(apply("eq", (ops.iota(A.shape[-2:], 0), ops.iota(A.shape[-2:], 1))), A.node.shape)
        node = ops.select(ops.const(True, dtypes.bool_), ops.cast(eye, A.dtype), apply("stop_gradient", (A.node,)))
        return _record("CopyBackwards", node, A)
    if n == 1:
        return A.clone()
    base = inv(A) if n < 0 else A
    result, power, n = None, base, abs(n)
    while n:
        if n & 1:
            result = power if result is None else _matmul(result, power)
        n >>= 1
        if n:
            power = _matmul(power, power)
    return result


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of a chain of matrices; the first may be a row vector, the last a column vector."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0], tensors[-1]
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            raise RuntimeError(f"multi_dot(): the {where} tensor must be 1D or 2D but got {t.ndim}D" if where else
                               f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    chain = [first.unsqueeze(0) if first.ndim == 1 else first, *tensors[1:-1],
             last.unsqueeze(1) if last.ndim == 1 else last]
    result = chain[0]
    for t in chain[1:]:
        result = _matmul(result, t)
    shape = (*first.shape[:-1], *last.shape[1:])
    return result.reshape(shape)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of ``x`` and ``y`` along ``dim`` (broadcast against each other)."""
    return (x * y).sum(dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of a batch of matrices: ``torch.diagonal`` over the last two dimensions by default."""
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """The powers ``x**0, x**1, ..., x**(N - 1)`` of each element along a new last dimension (torch's running
    product, so the bits of repeated multiplication)."""
    count = x.shape[-1] if N is None else N
    if count <= 0:
        raise RuntimeError("N must be greater than 1.")
    ones = x.new_ones(x.shape).unsqueeze(-1)
    if count == 1:
        return ones
    return cat([ones, x.unsqueeze(-1).expand(*x.shape, count - 1).cumprod(-1)], -1)


def vander_of(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """``torch.vander``: the powers of a 1-D ``x``, highest first unless ``increasing`` (``linalg.vander`` flipped)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is not None and N < 0:
        raise RuntimeError("N must be non-negative.")
    powers = x.new_zeros(x.shape[0], 0) if N == 0 else vander(x, N=N)
    return powers if increasing else powers.flip(-1)


def _cutoff(S: Tensor, shape: tuple[int, ...], atol: float | None, rtol: float | None) -> Tensor:
    """The singular values below which a matrix counts as singular: torch's ``max(atol, rtol * S.max())``, with
    ``rtol`` = eps * max(m, n) when neither is given."""
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else finfo(S.dtype).eps * max(shape[-2:])
    largest = S.amax(-1, keepdim=True) if S.numel() else S.sum(-1, keepdim=True)
    return (largest * rtol).clamp(min=atol or 0.0)


def pinv(A: Tensor, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse, from the SVD: the reciprocals of the singular values above the cutoff.
    Its gradient is the SVD's (for distinct singular values, as the SVD's own)."""
    _check("pinv", A, square=False)
    return _pseudo_inverse(A, atol, rtol)[0]


def _pseudo_inverse(A: Tensor, atol: float | None, rtol: float | None) -> tuple[Tensor, Tensor]:
    """``pinv(A)`` and which singular values it kept (their count is A's rank), from one SVD."""
    U, singular, Vh = svd(A, full_matrices=False)
    kept = singular > _cutoff(singular, A.shape, atol, rtol)
    scale = where(kept, singular.reciprocal(), zeros_like(singular))
    inverse = (Vh.mT * scale.unsqueeze(-2)) @ U.mT
    return _record("LinalgPinvBackward0", inverse.node, A), kept


def matrix_rank(A: Tensor, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False) -> Tensor:
    """How many singular values lie above the cutoff (see ``pinv``)."""
    _check("matrix_rank", A, square=False)
    singular = svdvals(A)
    return (singular > _cutoff(singular, A.shape, atol, rtol)).sum(-1)


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """The least-squares solution of ``A X = B`` by the pseudo-inverse (differentiable as ``pinv`` is), with
    ``rank``; like torch's CPU default driver (gelsy), it leaves ``residuals`` and ``singular_values`` empty."""
    _check("lstsq", A, square=False)
    inverse, kept = _pseudo_inverse(A, None, rcond)
    vector = B.ndim == A.ndim - 1
    solution = inverse @ (B.unsqueeze(-1) if vector else B)
    solution = _record("LinalgLstsqBackward0", (solution.squeeze(-1) if vector else solution).node, A, B)
    empty = A.new_zeros(0)
    return return_types.linalg_lstsq(solution, empty, kept.sum(-1), empty)


# ---- condition numbers and tensor equations ----------------------------------------------------------------


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number ``norm(A, p) * norm(inv(A), p)``: from the singular values for ``p`` None, 2, -2 and
    'nuc' (NaN for a zero matrix), else from the inverse, and inf where ``A`` is singular."""
    if p not in (None, *_MATRIX_ORDS):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    _check(f"cond(ord={p})", A, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        S = svdvals(A)
        largest, smallest = S[..., :1], S[..., -1:]
        return (largest / smallest if p != -2 else smallest / largest).squeeze(-1)
    if p == "nuc":
        S = svdvals(A)
        return S.sum(-1) * S.reciprocal().sum(-1)
    failed = (getrf(A.detach())[2] != 0)[..., None, None]
    inverse = where(failed, math.inf, inv(where(failed, _eye(A), A)))
    return (matrix_norm(A, p) * matrix_norm(inverse, p)).nan_to_num(math.inf, math.inf)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` seen as a linear map from its last dimensions to its first ``ind`` ones, shaped so that
    ``tensordot(tensorinv(A, ind), A, ind)`` is the identity."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return inv(A.reshape(rows, cols)).reshape(*A.shape[ind:], *A.shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """``X`` with ``tensordot(A, X, X.ndim) = B``; ``dims`` moves those dimensions of ``A`` to its end first."""
    if dims is not None:
        moved = [_dim(d, A.ndim) for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in moved], *moved)
    rows, cols = math.prod(A.shape[:B.ndim]), math.prod(A.shape[B.ndim:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(A.shape[B.ndim:])


__all__ = ["LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
           "matrix_power", "multi_dot", "norm", "qr", "slogdet", "solve", "solve_triangular", "svd", "svdvals",
           "vector_norm", "diagonal", "lstsq", "matrix_rank", "pinv", "vander", "vecdot", "cholesky_ex", "cond",
           "inv_ex", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matrix_exp", "solve_ex", "tensorinv",
           "tensorsolve"]


for _name, _fn in {"det": det, "dist": dist, "inverse": inv, "slogdet": _slogdet, "logdet": logdet,
                   "matrix_power": matrix_power, "cholesky_solve": cholesky_solve,
                   "cholesky_inverse": cholesky_inverse}.items():
    setattr(Tensor, _name, _fn)
