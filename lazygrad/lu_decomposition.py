"""LU factorization with partial pivoting, composed from ops: ``linalg.lu_factor``, ``lu_factor_ex``, ``lu``,
``lu_solve`` and ``torch.lu_unpack``; and the Cholesky sweep that tells ``linalg.cholesky_ex`` where a matrix
stops being positive-definite.

No backend has an LU primitive, and the pivot rows depend on the values: each column's pivot is an ``argmax``
and the row swap a ``gather`` and two ``where``, so the elimination stays one lazy graph (a few ops per column)
and its gradient comes from autodiff through the same steps. The steps follow LAPACK's unblocked ``getf2`` and
``potf2`` (the first largest magnitude as pivot; a zero pivot skipped and reported in ``info``; a failed
Cholesky leaving its last pivot in place), so pivots, factors and ``info`` match torch's up to rounding.
Errors that depend on the values (``check_errors``) are checked when the program runs.
"""

from __future__ import annotations

import math
from typing import Any

from . import checks, dtypes, ops, return_types
from .creation import arange
from .ir import apply, broadcast_shapes
from .masking import where
from .reshaping import stack
from .tensor import Tensor, _record, _torch_type_name, _wrap


def _check(op: str, A: Tensor) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f'"lu_cpu" not implemented for \'{_torch_type_name(A.dtype)}\'')


def checked(info: Tensor, error: type[Exception], message: str, op: str) -> Tensor:
    """``info``, verified to be zero when the program runs (else torch's ``error``; ``{}`` in ``message`` takes
    the first nonzero value). Results selected by ``checked(info) == 0`` depend on the check."""
    ok = apply("eq", (info.node, ops.const(0, info.dtype)))
    return _wrap(checks.guard(info.node, ok, error, message, op))


# ---- the eliminations ---------------------------------------------------------------------------------------


def getrf(A: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The packed factors ``LU`` (unit ``L`` below the diagonal), the 1-based int32 ``pivots`` and ``info`` (the
    first zero pivot, 1-based, or 0) of ``P A = L U``, one elimination step per column."""
    m, n = A.shape[-2:]
    batch = A.shape[:-2]
    rows, cols = arange(m), arange(n)
    info = A.new_zeros(batch, dtype=dtypes.int32)
    pivots = []
    for j in range(min(m, n)):
        p = A[..., j:, j].abs().argmax(-1) + j
        pivots.append(p)
        row_p = A.gather(-2, p[..., None, None].expand(*batch, 1, n))
        at_p = (rows == p.unsqueeze(-1)).unsqueeze(-1)
        A = where((rows == j).unsqueeze(-1), row_p, where(at_p, A[..., j:j + 1, :], A))
        pivot = A[..., j, j]
        zero = pivot == 0
        info = where((info == 0) & zero, j + 1, info).int()
        # Below a zero pivot the column is all zeros (the pivot was its largest magnitude): it stays as it is.
        below = where(rows > j, A[..., :, j] / where(zero, 1, pivot).unsqueeze(-1), 0)
        right = where(cols > j, A[..., j, :], 0)
        A = where((rows > j).unsqueeze(-1) & (cols == j), below.unsqueeze(-1),
                  A - below.unsqueeze(-1) * right.unsqueeze(-2))
    found = stack(pivots, -1) if pivots else A.new_zeros((*batch, 0), dtype=dtypes.int64)
    return A, (found + 1).int(), info


def potf2(A: Tensor) -> tuple[Tensor, Tensor]:
    """The lower Cholesky factor as far as it goes, and ``info``: the order of the first leading minor that is not
    positive-definite (0 if none), where the sweep stops with that pivot on the diagonal and the rest unread."""
    n = A.shape[-1]
    rows = arange(n)
    info = A.new_zeros(A.shape[:-2], dtype=dtypes.int32)
    W = A
    for j in range(n):
        active = info == 0
        d = W[..., j, j] - (W[..., j, :j] * W[..., j, :j]).sum(-1)
        good = active & (d > 0)
        info = where(active & ~(d > 0), j + 1, info).int()
        root = where(good, d, 1).sqrt()
        column = (W[..., :, j] - (W[..., :, :j] * W[..., j:j + 1, :j]).sum(-1)) / root.unsqueeze(-1)
        diagonal = where(good, root, where(active, d, W[..., j, j]))
        new = where(rows > j, where(good.unsqueeze(-1), column, W[..., :, j]),
                    where(rows == j, diagonal.unsqueeze(-1), W[..., :, j]))
        W = where(arange(n) == j, new.unsqueeze(-1), W)
    return W.tril(), info


# ---- the factorization --------------------------------------------------------------------------------------

_ZERO_PIVOT = ("U[{0},{0}] is zero and using it on lu_solve would result in a division by zero. If you still want "
               "to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def _no_pivoting(pivot: bool) -> None:
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def factor(A: Tensor, op: str, pivot: bool, check_errors: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``LU``, ``pivots`` and ``info`` of ``A`` for ``op``, with ``check_errors`` raising for a zero pivot."""
    _check("torch.lu_factor", A)
    _no_pivoting(pivot)
    LU, pivots, info = getrf(A)
    if check_errors:
        info = checked(info, RuntimeError, f"torch.{op}: {_ZERO_PIVOT}", op)
        LU = where((info == 0)[..., None, None], LU, math.nan)
    return _record("LinalgLuFactorExBackward0", LU.node, A), pivots, info


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """``LU``, ``pivots`` and ``info`` of ``P A = L U`` (see ``lu_unpack``); ``info`` is the first zero pivot of
    ``U`` (1-based) or 0, and ``check_errors`` raises for one when the program runs."""
    return return_types.linalg_lu_factor_ex(*factor(A, "linalg.lu_factor_ex", pivot, check_errors))


def lu_factor(A: Tensor, *, pivot: bool = True) -> Any:
    """``LU`` and ``pivots`` of ``P A = L U``, raising when the program runs if ``U`` has a zero pivot."""
    return return_types.linalg_lu_factor(*factor(A, "linalg.lu_factor", pivot, True)[:2])


def _permutation(pivots: Tensor, m: int, dtype: Any) -> Tensor:
    """The ``P`` of ``A = P L U`` from LAPACK's pivots: the row swaps applied in order to ``0..m-1``."""
    order = arange(m).expand(*pivots.shape[:-1], m)
    at = arange(m)
    for j in range(pivots.shape[-1]):
        p = (pivots[..., j:j + 1] - 1).long()
        order = where(at == j, order.gather(-1, p), where(at == p, order[..., j:j + 1], order))
    return (at.unsqueeze(-1) == order.unsqueeze(-2)).to(dtype)


def _unpacked(LU: Tensor, pivots: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + (arange(m).unsqueeze(-1) == arange(k)).to(LU.dtype)
    return _permutation(pivots, m, LU.dtype), L, LU[..., :k, :].triu()


def lu(A: Tensor, *, pivot: bool = True) -> Any:
    """``P``, ``L`` and ``U`` with ``A = P L U``: a permutation, a unit lower-trapezoidal and an upper-trapezoidal
    matrix."""
    _check("linalg.lu", A)
    _no_pivoting(pivot)
    P, L, U = _unpacked(*getrf(A)[:2])
    return return_types.linalg_lu(P, _record("LinalgLuBackward0", L.node, A), _record("LinalgLuBackward0", U.node, A))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True) -> Any:
    """``P``, ``L`` and ``U`` from ``lu_factor``'s packed result; the parts not asked for come back empty."""
    if LU_pivots.dtype.name != "int32":
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    P, L, U = _unpacked(LU_data, LU_pivots)
    empty = LU_data.new_zeros(0)
    L, U = (_record("LuUnpackBackward0", (t if unpack_data else empty).node, LU_data) for t in (L, U))
    return return_types.lu_unpack(P if unpack_pivots else empty, L, U)


# ---- solving with the factors --------------------------------------------------------------------------------


def _solve(T: Tensor, B: Tensor) -> Tensor:
    """``T^-1 B`` for square ``T``, batch dimensions broadcast."""
    batch = broadcast_shapes(T.shape[:-2], B.shape[:-2])
    t, b = (ops.broadcast_to(x.node, (*batch, *x.shape[-2:])) for x in (T, B))
    return _wrap(apply("solve", (t, b)))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """``X`` with ``A X = B`` for ``A = P L U`` given by ``lu_factor`` (``X A = B`` with ``left=False``, ``A^T``
    for ``A`` with ``adjoint``): two triangular solves and a permutation."""
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if LU.dtype is not B.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{_torch_type_name(LU.dtype)} and B of type {_torch_type_name(B.dtype)} instead")
    n = LU.shape[-1]
    if B.shape[-2 if left else -1] != n:
        rows, cols = (B.shape[-2], B.shape[-1])
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
                           f"{'AX' if left else 'XA'} = B ({n}x{n} and {rows}x{cols})")
    P, L, U = _unpacked(LU, pivots)
    # X A = B is A^T X^T = B^T: the other of the two left solves, on B^T.
    rhs, transposed = (B, adjoint) if left else (B.mT, not adjoint)
    X = P @ _solve(L.mT, _solve(U.mT, rhs)) if transposed else _solve(U, _solve(L, P.mT @ rhs))
    if not left:
        X = X.mT
    return _record("LinalgLuSolveBackward0", X.node, LU, B)


__all__ = ["factor", "getrf", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "lu_unpack", "potf2"]
