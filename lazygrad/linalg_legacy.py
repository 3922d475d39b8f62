"""The ``torch.*`` and Tensor forms of linear algebra that predate ``torch.linalg``: ``svd`` (returning ``V``),
``qr(some)``, ``cholesky``, ``pinverse``, ``triangular_solve``, ``lu``, ``lu_solve``, ``matrix_exp``, and the
conjugate transposes ``H``, ``mH`` and ``adjoint`` (plain transposes, as every lazygrad tensor is real).

Each is the ``torch.linalg`` op with the old arguments and results; the ones torch deprecates warn once per
process with torch's message, as torch does.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from . import linalg, return_types
from .lu_decomposition import factor, lu_solve, lu_unpack
from .tensor import Tensor, _record, attach

# torch's deprecation messages, by op (given without torch's note of the C++ line that warned).
_DEPRECATED = {
    "qr": (
        "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
        "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\nQ, R "
        "= torch.qr(A, some)\nshould be replaced with\nQ, R = torch.linalg.qr(A, 'reduced' if some else "
        "'complete')"
    ),
    "cholesky": (
        "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a future "
        "PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = "
        "torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced with\nU = "
        "torch.linalg.cholesky(A).mH\nThis transform will produce equivalent results for all valid "
        "(symmetric positive definite) inputs."
    ),
    "triangular_solve": (
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be "
        "removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments reversed "
        "and does not return a copy of one of the inputs.\nX = torch.triangular_solve(B, "
        "A).solution\nshould be replaced with\nX = torch.linalg.solve_triangular(A, B)."
    ),
    "lu": (
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will "
        "be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be "
        "replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = "
        "torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = "
        "torch.linalg.lu_factor_ex(A, compute_pivots)"
    ),
    "lu_solve": (
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
        "PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = "
        "torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, "
        "B)"
    ),
}


_warned: set[str] = set()
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def deprecated(name: str) -> None:
    """torch's deprecation warning for ``name``, given once per process as torch gives it, at the user's line."""
    if name in _warned:
        return
    _warned.add(name)
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(_DEPRECATED[name], UserWarning, stacklevel=level)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> Any:
    """``U, S, V`` with ``input = U diag(S) V^T`` (``V``, not ``Vh``); ``some=False`` gives square ``U`` and ``V``,
    ``compute_uv=False`` zero-filled square ones."""
    if input.ndim < 2:
        raise RuntimeError(f"linalg.svd: input should have at least 2 dimensions, but has {input.ndim} dimensions "
                           f"instead")
    if not compute_uv:
        m, n = input.shape[-2:]
        S = linalg.svdvals(input)
        return return_types.svd(input.new_zeros(*input.shape[:-2], m, m), S, input.new_zeros(*input.shape[:-2], n, n))
    U, S, Vh = linalg.svd(input, full_matrices=not some)
    return return_types.svd(U, S, Vh.mT)


def qr(input: Tensor, some: bool = True) -> Any:
    """``Q, R`` of ``linalg.qr`` in mode 'reduced', or 'complete' with ``some=False``."""
    deprecated("qr")
    return return_types.qr(*linalg.qr(input, "reduced" if some else "complete"))


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``linalg.cholesky``'s ``L``, or ``L^T`` with ``upper``."""
    deprecated("cholesky")
    if input.ndim < 2:
        raise RuntimeError("cholesky: The input tensor A must have at least 2 dimensions.")
    if input.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"cholesky: A must be batches of square matrices, but they are {input.shape[-2]} by "
                           f"{input.shape[-1]} matrices")
    L = linalg.cholesky(input, upper=upper)
    return _record("CholeskyBackward0", L.node, input)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``linalg.pinv`` with singular values below ``rcond`` times the largest counted as zero."""
    return linalg.pinv(input, rtol=rcond)


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> Any:
    """``X`` with ``A X = input`` (``A^T X = input`` with ``transpose``) for triangular ``A``, and a copy of ``A``
    broadcast to the batch."""
    deprecated("triangular_solve")
    for name, t in (("b", input), ("A", A)):
        if t.ndim < 2:
            raise RuntimeError(f"torch.triangular_solve: Expected {name} to have at least 2 dimensions, but it has "
                               f"{t.ndim} dimensions instead")
    # A^T is triangular on the other side: reading the upper triangle of A^T is reading the lower one of A.
    X = linalg.solve_triangular(A.mT if transpose else A, input, upper=upper != transpose,
                                unitriangular=unitriangular)
    coefficient = A.expand(*X.shape[:-2], *A.shape[-2:])
    return return_types.triangular_solve(_record("TriangularSolveBackward0", X.node, input, A),
                                         _record("TriangularSolveBackward0", coefficient.node, A))


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions: their transpose for real tensors."""
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.ndim}-D tensor.")
    return input.transpose(-2, -1)


def lu_legacy(A: Tensor, pivot: bool = True, get_infos: bool = False) -> Any:
    """``torch.lu``: ``lu_factor``'s ``LU`` and ``pivots``, plus ``info`` with ``get_infos`` (which then does not
    raise for a zero pivot)."""
    deprecated("lu")
    LU, pivots, info = factor(A, "linalg.lu_factor_ex", pivot, not get_infos)
    return return_types._lu_with_info(LU, pivots, info) if get_infos else (LU, pivots)


def lu_solve_legacy(input: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``torch.lu_solve(B, LU, pivots)``: ``linalg.lu_solve`` with its arguments in the old order."""
    deprecated("lu_solve")
    return lu_solve(LU_data, LU_pivots, input)


class _Methods:
    svd = svd
    qr = qr
    cholesky = cholesky
    pinverse = pinverse
    triangular_solve = triangular_solve
    adjoint = adjoint
    matrix_exp = linalg.matrix_exp

    def lu(self, pivot: bool = True, get_infos: bool = False) -> Any:
        return lu_legacy(self, pivot, get_infos)

    def lu_solve(self, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
        return lu_solve_legacy(self, LU_data, LU_pivots)

    @property
    def H(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor. For "
                               f"batches of matrices, consider using tensor.mH")
        if self.ndim == 1:
            raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). Got 1-D tensor.")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def mH(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                               f"tensor.")
        return self.transpose(-2, -1)


attach(_Methods)

FUNCTIONS = {"svd": svd, "qr": qr, "cholesky": cholesky, "pinverse": pinverse, "triangular_solve": triangular_solve,
             "adjoint": adjoint, "matrix_exp": linalg.matrix_exp, "lu": lu_legacy, "lu_solve": lu_solve_legacy,
             "lu_unpack": lu_unpack}
TAKES_OUT = {"svd", "qr", "cholesky", "triangular_solve", "lu_solve", "lu_unpack"}
