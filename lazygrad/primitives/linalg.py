"""Matrix factorizations and solves over the last two axes; a factorization with several outputs is one
primitive per ``part`` (``svd`` with part ``U``, ``S`` or ``Vh``), so every node keeps one output."""

from __future__ import annotations

from collections.abc import Callable

from .. import dtypes
from ..autodiff import Cotangents
from ..dtypes import DType
from ..ir import Node, Shape, apply
from ..ops import add, const, div, iota, mul, neg, permute, reshape, scale, select, slice_
from .rules import _same_dtype, declare

# ---- shape/dtype rules ------------------------------------------------------------------------------------


def _matrices(op: str, x: Node, square: bool = True) -> Shape:
    """Check ``x`` is a float batch of (square) matrices; return its batch shape."""
    if not x.dtype.is_floating_point:
        raise TypeError(f"[{op}] expects a floating-point input, got {x.dtype.name}")
    if len(x.shape) < 2 or (square and x.shape[-1] != x.shape[-2]):
        raise ValueError(f"[{op}] expects a batch of {'square ' if square else ''}matrices, got {x.shape}")
    return x.shape[:-2]


def _same_matrices(op: str) -> Callable[..., tuple[Shape, DType]]:
    def rule(x: Node) -> tuple[Shape, DType]:
        _matrices(op, x)
        return x.shape, x.dtype
    return rule


def _solve_rule(a: Node, b: Node) -> tuple[Shape, DType]:
    batch = _matrices("solve", a)
    dtype = _same_dtype("solve", a, b)
    if b.shape[:-2] != batch or len(b.shape) != len(a.shape) or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"[solve] needs right-hand sides of shape (*batch, n, k) for {a.shape}, got {b.shape}")
    return b.shape, dtype


def _determinant(x: Node) -> tuple[Shape, DType]:
    return _matrices("det", x), x.dtype


def _slogdet_rule(x: Node, part: str) -> tuple[Shape, DType]:
    if part not in ("sign", "logabsdet"):
        raise ValueError(f"[slogdet] unknown part {part!r}")
    return _matrices("slogdet", x), x.dtype


def _svd_rule(x: Node, part: str, full_matrices: bool) -> tuple[Shape, DType]:
    batch = _matrices("svd", x, square=False)
    m, n = x.shape[-2:]
    k = min(m, n)
    shapes = {"U": (m, m if full_matrices else k), "S": (k,), "Vh": (n if full_matrices else k, n)}
    if part not in shapes:
        raise ValueError(f"[svd] unknown part {part!r}")
    return batch + shapes[part], x.dtype


def _qr_rule(x: Node, part: str, mode: str) -> tuple[Shape, DType]:
    batch = _matrices("qr", x, square=False)
    m, n = x.shape[-2:]
    rows = m if mode == "complete" else min(m, n)
    if part not in ("Q", "R") or mode not in ("reduced", "complete"):
        raise ValueError(f"[qr] unknown part {part!r} or mode {mode!r}")
    return batch + ((m, rows) if part == "Q" else (rows, n)), x.dtype


def _eigh_rule(x: Node, part: str, lower: bool) -> tuple[Shape, DType]:
    _matrices("eigh", x)
    if part not in ("values", "vectors"):
        raise ValueError(f"[eigh] unknown part {part!r}")
    return (x.shape[:-1] if part == "values" else x.shape), x.dtype


# ---- VJP rules --------------------------------------------------------------------------------------------


def _mT(x: Node) -> Node:
    rank = len(x.shape)
    return permute(x, (*range(rank - 2), rank - 1, rank - 2))


def _mm(a: Node, b: Node) -> Node:
    """Batched matrix product over the last two axes (equal batch shapes)."""
    batch = tuple(range(len(a.shape) - 2))
    return apply("dot_general", (a, b), ((len(batch) + 1,), (len(batch),), batch, batch))


def _per_matrix(x: Node) -> Node:
    """One value per matrix, shaped to broadcast over the matrices."""
    return reshape(x, (*x.shape, 1, 1))


def _lower(x: Node, offset: int = 0) -> Node:
    rows, cols = x.shape[-2:]
    keep = apply("le", (apply("sub", (iota((rows, cols), 1), iota((rows, cols), 0))), const(offset, dtypes.int64)))
    return select(keep, x, const(0, x.dtype))


def _slogdet(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    if n.params[0] == "sign":
        return None,
    return mul(_per_matrix(ct), _mT(apply("inv", (n.args[0],)))),


def _solve(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a = n.args[0]
    ct_b = apply("solve", (_mT(a), ct))
    return (neg(_mm(ct_b, _mT(n))) if needs[0] else None), ct_b


def _cholesky(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    # With A = L L^T: the symmetric matrix whose lower triangle is tril(L^T ct) with its diagonal halved, moved
    # back through both triangular factors: L^-T S L^-1.
    inverse = apply("inv", (n,))
    lower = _lower(_mm(_mT(n), ct))
    sym = scale(add(lower, _mT(_lower(lower, -1))), 0.5)
    return _mm(_mT(inverse), _mm(sym, inverse)),


def _eigh(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    a = n.args[0]
    part, lower = n.params
    vectors = apply("eigh", (a,), ("vectors", lower))
    if part == "values":  # V diag(ct) V^T
        return _mm(mul(vectors, reshape(ct, (*ct.shape[:-1], 1, ct.shape[-1]))), _mT(vectors)),
    # V (skew(V^T ct) / (w_j - w_i)) V^T, zero on the diagonal; the skew part drops each vector's free sign.
    values = apply("eigh", (a,), ("values", lower))
    size = values.shape[-1]
    gaps = apply("sub", (reshape(values, (*values.shape[:-1], 1, size)), reshape(values, (*values.shape, 1))))
    diagonal = apply("eq", (iota((size, size), 0), iota((size, size), 1)))
    inner = _mm(_mT(vectors), ct)
    skew = scale(apply("sub", (inner, _mT(inner))), 0.5)
    zero, one = const(0, a.dtype), const(1, a.dtype)
    middle = select(diagonal, zero, div(skew, select(diagonal, one, gaps)))
    return _mm(vectors, _mm(middle, _mT(vectors))),


def _leading(x: Node, rows: int, cols: int) -> Node:
    """The top-left ``rows`` x ``cols`` block of each matrix."""
    stops = (*x.shape[:-2], rows, cols)
    return slice_(x, (0,) * len(x.shape), stops, (1,) * len(x.shape))


def _svd(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    # A = U S V^T with k = min(m, n) singular values: the reduced factors (full_matrices' extra columns of U and
    # rows of Vh take no part in A, so their cotangents are dropped, as torch drops them).
    a = n.args[0]
    part, full = n.params
    rows, cols = a.shape[-2:]
    k = min(rows, cols)
    u = _leading(apply("svd", (a,), ("U", full)), rows, k)
    vh = _leading(apply("svd", (a,), ("Vh", full)), k, cols)
    if part == "S":
        return _mm(mul(u, reshape(ct, (*ct.shape[:-1], 1, ct.shape[-1]))), vh),
    s = apply("svd", (a,), ("S", full))
    row, column = reshape(s, (*s.shape[:-1], 1, k)), reshape(s, (*s.shape, 1))  # s_j and s_i
    # F_ij = 1 / (s_j^2 - s_i^2) off the diagonal, 0 on it: how each pair of singular vectors turns into the other.
    diagonal = apply("eq", (iota((k, k), 0), iota((k, k), 1)))
    zero, one = const(0, a.dtype), const(1, a.dtype)
    gaps = apply("sub", (mul(row, row), mul(column, column)))
    f = select(diagonal, zero, div(one, select(diagonal, one, gaps)))
    if part == "U":  # U [F o (U^T G - G^T U)] S V^T + (I - U U^T) G S^-1 V^T
        g = _leading(ct, rows, k)
        inner = _mm(_mT(u), g)
        core = mul(mul(f, apply("sub", (inner, _mT(inner)))), row)
        outside = div(apply("sub", (g, _mm(u, inner))), row)
        return _mm(add(_mm(u, core), outside), vh),
    # Vh, with G = ct^T the cotangent of V: U S [F o (V^T G - G^T V)] V^T + U S^-1 G^T (I - V V^T)
    g = _leading(ct, k, cols)
    inner = _mm(vh, _mT(g))
    core = mul(column, mul(f, apply("sub", (inner, _mT(inner)))))
    outside = div(apply("sub", (g, _mm(_mT(inner), vh))), column)
    return _mm(u, add(_mm(core, vh), outside)),


def _qr(ct: Node, n: Node, needs: tuple[bool, ...]) -> Cotangents:
    raise NotImplementedError("the gradient of linalg.qr is not implemented")


# ---- the declarations ---------------------------------------------------------------------------------------

declare("inv", "other", _same_matrices("inv"), lambda ct, n, needs: (neg(_mm(_mT(n), _mm(ct, _mT(n)))),))
declare("cholesky", "other", _same_matrices("cholesky"), _cholesky)
declare("solve", "other", _solve_rule, _solve)
declare("det", "other", _determinant,
        lambda ct, n, needs: (mul(_per_matrix(mul(ct, n)), _mT(apply("inv", (n.args[0],)))),))
declare("slogdet", "other", _slogdet_rule, _slogdet)
declare("svd", "other", _svd_rule, _svd)
declare("qr", "other", _qr_rule, _qr)
declare("eigh", "other", _eigh_rule, _eigh)
