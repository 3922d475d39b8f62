"""The reference backend: interprets a program with numpy, one primitive at a time.

Each primitive maps to a numpy function in ``IMPLS``. A program runs through a small interpreter the
first time and as generated straight-line Python from its second run on; both free each intermediate
right after its last use, so memory stays at what the program needs at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from lazygrad import dtypes
from lazygrad.checks import CheckFailed, LinAlgError
from lazygrad.dtypes import FLOATING_NP, DType
from lazygrad.fma import fma_arrays
from lazygrad.primitives import check_covers
from lazygrad.primitives.elementwise import kernel_exponent
from lazygrad.program import Program


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype in FLOATING_NP:
        return np.true_divide(a, b)
    # Integer division truncates toward zero (C and XLA semantics); floor division is built on top.
    quotient = np.floor_divide(a, b)
    return quotient + ((quotient < 0) & (quotient * b != a))


def _logistic(x: np.ndarray) -> np.ndarray:
    # torch's own form, 1 / (1 + exp(-x)): full relative precision in the lower tail, where the tanh form
    # cancels to 0 (sigmoid(-20) is 2.06e-9, not 0). Far below, exp(-x) overflows to inf and the result is
    # 0, as in torch (float32 below x = -88.7; programs run with overflow warnings off).
    # 16-bit floats run in float32 and round once, like torch's CPU kernel (exp(12) overflows float16).
    if x.dtype in _ACCUMULATE:
        return _logistic(x.astype(np.float32)).astype(x.dtype)
    return np.reciprocal(np.exp(np.negative(x)) + x.dtype.type(1))


def _sign(x: np.ndarray) -> np.ndarray:
    # torch's sign is (x > 0) - (x < 0): 0 for NaN (np.sign gives NaN) and +0 for -0.
    if x.dtype == np.bool_:
        return x.copy()
    return np.subtract(x > 0, x < 0, dtype=x.dtype) if x.dtype in FLOATING_NP else np.sign(x)


# torch's own kernels for a number exponent, which give other signed zeros and infinities than pow
# (pow(-0.0, -0.5) is +inf, rsqrt(-0.0) -inf) and other roundings (x * x * x, 1 / (x * x)). A tensor exponent
# takes pow, as in torch, even when it holds one of these numbers.
_POWERS: dict[float, Callable[[np.ndarray], np.ndarray]] = {
    0.5: np.sqrt, 2.0: np.square, 3.0: lambda x: x * x * x, -0.5: lambda x: 1 / np.sqrt(x),
    -1.0: lambda x: 1 / x, -2.0: lambda x: 1 / (x * x),
}
# torch runs the kernels of 16-bit floats in float32 and rounds once, except bfloat16's products, which round
# after each multiplication (measured against torch 2.13's CPU kernels).
_ROUNDED_EACH_STEP = {("bfloat16", 3.0), ("bfloat16", -2.0)}


def _power_kernel(exponent: float, dtype: DType) -> Callable[[np.ndarray, Any], np.ndarray]:
    kernel, wide = _POWERS[exponent], _ACCUMULATE.get(dtype.np)
    if wide is None or (dtype.name, exponent) in _ROUNDED_EACH_STEP:
        return lambda x, _: kernel(x).astype(dtype.np, copy=False)
    return lambda x, _: kernel(x.astype(wide)).astype(dtype.np)


def _power(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _integer_power(x, y) if x.dtype.kind in "iu" else np.power(x, y)


def _integer_power(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Integer powers wrap around as torch's do; a negative exponent gives 0, except for the bases 1 and -1."""
    if not (np.asarray(y) < 0).any():
        return np.power(x, y)
    out = np.power(x, np.maximum(y, 0))
    odd = (y & 1).astype(bool)
    inverse = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0)).astype(x.dtype)
    return np.where(y < 0, inverse, out)


_erf = np.frompyfunc(math.erf, 1, 1)

_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_BRANCH_FREE_FROM = 512  # elements; below, np.where's lower call cost wins (see _select)


def _select(pred: np.ndarray, on_true: np.ndarray, on_false: np.ndarray) -> np.ndarray:
    """``np.where``, but branch-free on large arrays.

    np.where branches per element, so a mask without long runs (ReLU's) costs it a mispredicted branch every
    other element: ~3.7 ns each, seven times the arithmetic. Choosing bits with the mask widened to an all-ones
    integer is exact for every dtype (NaNs, signed zeros) and costs a few vectorized passes. Small arrays keep
    np.where's lower call cost (measured with masks that change every call: the two meet near 512 elements;
    a benchmark that repeats one mask trains the branch predictor and hides the difference).
    """
    if pred.size < _BRANCH_FREE_FROM:
        return np.where(pred, on_true, on_false)
    shape = np.broadcast_shapes(pred.shape, on_true.shape, on_false.shape)
    if pred.shape == on_false.shape == shape and on_true.shape in ((), shape) and 0 not in pred.strides:
        return _choose_bits(pred, on_true, on_false)
    if 0 in pred.strides:  # a mask repeated over axes (a causal mask over batches and heads): widen one copy
        pred = pred[tuple(slice(0, 1) if step == 0 else slice(None) for step in pred.strides)]
    bits = _BITS[on_true.dtype.itemsize]
    mask = pred.view(np.uint8).astype(bits)
    t, f = on_true.view(bits), on_false.view(bits)
    np.negative(mask, out=mask)  # True -> all ones
    chosen = f ^ ((t ^ f) & mask)
    if chosen.shape != shape:  # every operand was repeated: the result still gets its own full array
        chosen = np.ascontiguousarray(np.broadcast_to(chosen, shape))
    return chosen.view(on_true.dtype)


def _choose_bits(pred: np.ndarray, on_true: np.ndarray, on_false: np.ndarray) -> np.ndarray:
    """The branch-free select when the mask and the false branch have the result's shape and the true branch
    has it too or is a number (ReLU's value and gradient): all the work in the widened mask's own array."""
    bits = _BITS[on_true.dtype.itemsize]
    mask = pred.view(np.uint8).astype(bits, order="C")
    t, f = on_true.view(bits), on_false.view(bits)
    if not t.ndim and not t:  # a +0 (all bits clear) where pred: keep on_false's bits elsewhere
        mask -= 1  # True -> 0, False -> all ones
        mask &= f
    else:
        np.negative(mask, out=mask)  # True -> all ones
        mask &= t ^ f
        mask ^= f
    return mask.view(on_true.dtype)


# torch accumulates 16-bit floats in float32 (sums, products, matmuls, convolutions) and rounds the result once;
# numpy would round after every step (and has no BLAS for them).
_ACCUMULATE = {d.np: np.dtype(np.float32) for d in (dtypes.float16, dtypes.bfloat16)}


def _reduce(fn: Callable) -> Callable:
    return lambda x, axes: fn(x, axes, dtype=_ACCUMULATE.get(x.dtype, x.dtype)).astype(x.dtype, copy=False)


def _accumulated(fn: Callable) -> Callable:
    """``fn`` of 16-bit float operands run in float32, its result rounded once to their dtype."""
    def run(lhs: np.ndarray, rhs: np.ndarray, *params: Any) -> np.ndarray:
        wide = _ACCUMULATE.get(lhs.dtype)
        if wide is None:
            return fn(lhs, rhs, *params)
        return fn(lhs.astype(wide), rhs.astype(wide), *params).astype(lhs.dtype)
    return run


def _slice(x: np.ndarray, starts: tuple, stops: tuple, steps: tuple) -> np.ndarray:
    return x[tuple(map(slice, starts, stops, steps))]


def _dynamic_slice(x: np.ndarray, *rest: Any) -> np.ndarray:
    *starts, sizes = rest
    return x[tuple(slice(int(s), int(s) + n) for s, n in zip(starts, sizes))]


def _dynamic_update_slice(x: np.ndarray, update: np.ndarray, *starts: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[tuple(slice(int(s), int(s) + n) for s, n in zip(starts, update.shape))] = update
    return out


# A row this short, reduced along a contiguous last axis, is one slow inner-loop call per row in numpy (a softmax's
# max over 32 keys: 3x the time of a sum).
_SHORT_ROW = 256


def _extremum(reduce: np.ufunc, x: np.ndarray, axes: tuple, low: bool) -> np.ndarray:
    """Max or min; over nothing it is the reduction's identity, as in XLA (torch's ``logsumexp`` over an empty
    dimension is -inf through it), where numpy would raise. Short last-axis rows are reduced as whole slabs
    (the axis moved to the front), which vectorizes across rows."""
    if x.size:
        if axes == (x.ndim - 1,) and x.ndim > 1 and x.shape[-1] <= _SHORT_ROW:
            return reduce.reduce(np.ascontiguousarray(np.moveaxis(x, -1, 0)), axis=0)
        return reduce.reduce(x, axis=axes)
    if x.dtype == np.bool_:
        identity = not low
    elif x.dtype.kind == "f":
        identity = -np.inf if low else np.inf
    else:
        info = np.iinfo(x.dtype)
        identity = info.min if low else info.max
    return reduce.reduce(x, axis=axes, initial=identity)


def _pad(x: np.ndarray, low: tuple, high: tuple, interior: tuple) -> np.ndarray:
    shape = tuple(lo + hi + d + max(d - 1, 0) * it for lo, hi, it, d in zip(low, high, interior, x.shape))
    out = np.zeros(shape, dtype=x.dtype)
    out[tuple(slice(lo, lo + max(d - 1, 0) * (it + 1) + min(d, 1), it + 1)
              for lo, it, d in zip(low, interior, x.shape))] = x
    return out


def _dot_general(lhs: np.ndarray, rhs: np.ndarray, lhs_contract: tuple, rhs_contract: tuple,
                 lhs_batch: tuple, rhs_batch: tuple) -> np.ndarray:
    # Lay both operands out as (batch, free, contract) / (batch, contract, free) and use BLAS matmul.
    lhs_free = [i for i in range(lhs.ndim) if i not in lhs_contract and i not in lhs_batch]
    rhs_free = [i for i in range(rhs.ndim) if i not in rhs_contract and i not in rhs_batch]
    batch = [lhs.shape[i] for i in lhs_batch]
    free_l = [lhs.shape[i] for i in lhs_free]
    free_r = [rhs.shape[i] for i in rhs_free]
    k = math.prod(lhs.shape[i] for i in lhs_contract)
    a = lhs.transpose(*lhs_batch, *lhs_free, *lhs_contract).reshape((*batch, math.prod(free_l), k))
    b = rhs.transpose(*rhs_batch, *rhs_contract, *rhs_free).reshape((*batch, k, math.prod(free_r)))
    return np.matmul(a, b).reshape((*batch, *free_l, *free_r))


def _conv(lhs: np.ndarray, rhs: np.ndarray, strides: tuple, padding: tuple, lhs_dilation: tuple,
          rhs_dilation: tuple, groups: int) -> np.ndarray:
    """Convolution as one batched matmul over a strided window view of the (dilated, padded) input."""
    x = _dilate_and_pad(lhs, padding, lhs_dilation)
    batch = x.shape[0]
    out_features, group_in = rhs.shape[:2]
    kernel = rhs.shape[2:]
    out = tuple((size - (k - 1) * d - 1) // s + 1
                for size, k, d, s in zip(x.shape[2:], kernel, rhs_dilation, strides))
    inner = x.strides[2:]
    windows = np.lib.stride_tricks.as_strided(
        x, (batch, groups, group_in, *out, *kernel),
        (x.strides[0], x.strides[1] * group_in, x.strides[1], *(t * s for t, s in zip(inner, strides)),
         *(t * d for t, d in zip(inner, rhs_dilation))), writeable=False)
    spatial = len(kernel)
    # (groups, batch * positions, group_in * kernel): the one copy, im2col's matrix.
    cols = windows.transpose(1, 0, *range(3, 3 + spatial), 2, *range(3 + spatial, 3 + 2 * spatial))
    cols = cols.reshape(groups, batch * math.prod(out), group_in * math.prod(kernel))
    w = rhs.reshape(groups, out_features // groups, group_in * math.prod(kernel)).transpose(0, 2, 1)
    y = np.matmul(cols, w).reshape(groups, batch, *out, out_features // groups)
    y = y.transpose(1, 0, 2 + spatial, *range(2, 2 + spatial))
    return np.ascontiguousarray(y.reshape(batch, out_features, *out))


def _dilate_and_pad(x: np.ndarray, padding: tuple, dilation: tuple) -> np.ndarray:
    """Spread the spatial axes by ``dilation`` and pad them (a negative amount crops)."""
    if all(d == 1 for d in dilation) and all(lo == hi == 0 for lo, hi in padding):
        return x
    grown = [max(s - 1, 0) * d + min(s, 1) for s, d in zip(x.shape[2:], dilation)]
    out = np.zeros((*x.shape[:2], *(g + max(lo, 0) + max(hi, 0) for g, (lo, hi) in zip(grown, padding))), x.dtype)
    out[(slice(None), slice(None), *(slice(max(lo, 0), max(lo, 0) + g, d)
                                     for g, d, (lo, _) in zip(grown, dilation, padding)))] = x
    crop = tuple(slice(max(-lo, 0), size - max(-hi, 0)) for size, (lo, hi) in zip(out.shape[2:], padding))
    return out[(slice(None), slice(None), *crop)]


def _scatter_add(updates: np.ndarray, indices: np.ndarray, axis: int, size: int) -> np.ndarray:
    out = np.zeros((*updates.shape[:axis], size, *updates.shape[axis + indices.ndim:]), updates.dtype)
    if axis == 0 and indices.ndim == 1 and len(indices) > 1 and updates.dtype.kind == "f":
        return _add_rows(out, updates, indices)
    np.add.at(out, (slice(None),) * axis + (indices,), updates)
    return out


def _add_rows(out: np.ndarray, updates: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``out[indices[j]] += updates[j]`` (an embedding's gradient): the rows sorted by index and each run summed
    in one reduction, several times faster than ``np.add.at``'s element-by-element loop."""
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    if ordered[0] < 0:  # -1 and size - 1 would be two runs for one row
        np.add.at(out, indices, updates)
        return out
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    out[ordered[starts]] += np.add.reduceat(updates[order], starts, axis=0)
    return out


def _check(x: np.ndarray, ok: np.ndarray, check: Any, ordinal: int) -> np.ndarray:
    ok = np.asarray(ok)
    if not ok.all():
        raise CheckFailed(ordinal, np.asarray(x)[~ok].flat[0].item())
    return x


def _number_checks(program: Program) -> Program:
    """Each check gets its position among the program's checks as a last parameter: a failure names it."""
    count = 0
    instrs = []
    for ins in program.instrs:
        if ins.op == "check":
            ins = ins._replace(params=(*ins.params, count))
            count += 1
        instrs.append(ins)
    return program._replace(instrs=tuple(instrs)) if count else program


def _iota(shape: tuple, axis: int, dtype: DType) -> np.ndarray:
    line = np.arange(shape[axis], dtype=dtype.np)
    return np.broadcast_to(line.reshape([-1 if i == axis else 1 for i in range(len(shape))]), shape)


def _argsort(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # Sort the reversed line and read the order backwards: descending, equal values keep their order, NaN first.
    order = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    return x.shape[axis] - 1 - order


_SVD_PARTS = {"U": 0, "S": 1, "Vh": 2}


def _zero_pivot(a: np.ndarray) -> int | None:
    """The 1-based position of the first zero pivot of ``a``'s LU factorization with partial pivoting (as
    LAPACK's getrf reports it), or None when every pivot is nonzero."""
    a = np.array(a)
    n = a.shape[-1]
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            return k + 1
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k:] -= np.outer(a[k + 1:, k] / a[k, k], a[k, k:])
    return None


def _raises(fn: Callable[..., Any], *args: np.ndarray) -> bool:
    """Whether numpy's ``fn`` finds ``args`` singular or not positive-definite."""
    try:
        fn(*args)
    except np.linalg.LinAlgError:
        return True
    return False


def _not_positive_definite(a: np.ndarray) -> str:
    order = next(k for k in range(1, a.shape[-1] + 1) if _raises(np.linalg.cholesky, a[:k, :k]))
    return ("The factorization could not be completed because the input is not positive-definite "
            f"(the leading minor of order {order} is not positive-definite).")


def _singular_inverse(a: np.ndarray) -> str:
    pivot = _zero_pivot(a)
    where = "A diagonal element" if pivot is None else f"The diagonal element {pivot}"
    return f"{where} is zero, the inversion could not be completed because the input matrix is singular."


def _singular_solve(a: np.ndarray) -> str:
    return "The solver failed because the input matrix is singular."


def _as_torch_error(fn: Callable[..., np.ndarray], op: str, explain: Callable[[np.ndarray], str],
                    probe: Callable[[np.ndarray], Any] = np.linalg.inv) -> Callable:
    """``fn`` raising torch's LinAlgError and message where numpy raises its own. The message names the first
    matrix of a batch that ``probe`` fails on and, from ``explain``, what is wrong with it: only a failure pays
    for finding them."""

    def run(a: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        try:
            return fn(a, *rest)
        except np.linalg.LinAlgError:
            matrices = np.reshape(a, (-1, *a.shape[-2:]))
            bad = next((i for i, m in enumerate(matrices) if _raises(probe, m)), 0)
            batch = f"(Batch element {bad}): " if a.ndim > 2 else ""
            raise LinAlgError(f"{op}: {batch}{explain(matrices[bad])}") from None

    return run


IMPLS: dict[str, Callable[..., Any]] = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x),
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "logistic": _logistic, "log1p": np.log1p,
    "expm1": np.expm1, "erf": lambda x: np.asarray(_erf(x), dtype=x.dtype), "abs": np.abs, "sign": _sign,
    "floor": np.floor, "ceil": np.ceil, "round": np.round, "logical_not": np.logical_not,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": _divide, "rem": np.fmod, "pow": _power,
    "max": np.maximum, "min": np.minimum, "atan2": np.arctan2, "hypot": np.hypot,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal, "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "select": _select, "fma": fma_arrays,
    "reduce_sum": _reduce(np.sum), "reduce_prod": _reduce(np.prod),
    "reduce_max": lambda x, axes: _extremum(np.maximum, x, axes, low=True),
    "reduce_min": lambda x, axes: _extremum(np.minimum, x, axes, low=False),
    "argmax": lambda x, axis: np.argmax(x, axis=axis), "argmin": lambda x, axis: np.argmin(x, axis=axis),
    "cumsum": _reduce(np.cumsum), "stop_gradient": lambda x: x,
    "broadcast": np.broadcast_to, "slice": _slice,
    # the methods, not np.reshape and np.transpose: those add a Python-level dispatch costing 4x the work
    "reshape": lambda x, shape: x.reshape(shape), "permute": lambda x, perm: x.transpose(perm),
    "dynamic_slice": _dynamic_slice, "dynamic_update_slice": _dynamic_update_slice,
    "pad": _pad, "rev": lambda x, axes: np.flip(x, axes),
    "concat": lambda *args: np.concatenate(args[:-1], axis=args[-1]),
    "dot_general": _accumulated(_dot_general), "conv": _accumulated(_conv),
    "gather": lambda x, indices, axis: np.take(x, indices, axis),
    "scatter_add": _scatter_add, "check": _check, "cast": lambda x, dtype: np.asarray(x).astype(dtype.np),
    "const": lambda value, dtype: np.asarray(value, dtype=dtype.np), "iota": _iota,
    "argsort": _argsort, "cumprod": _reduce(np.cumprod),
    "inv": _as_torch_error(np.linalg.inv, "linalg.inv", _singular_inverse),
    "cholesky": _as_torch_error(np.linalg.cholesky, "linalg.cholesky", _not_positive_definite, np.linalg.cholesky),
    "solve": _as_torch_error(np.linalg.solve, "torch.linalg.solve", _singular_solve), "det": np.linalg.det,
    "slogdet": lambda x, part: np.linalg.slogdet(x)[part == "logabsdet"],
    "svd": lambda x, part, full_matrices: np.linalg.svd(x, full_matrices=full_matrices)[_SVD_PARTS[part]],
    "qr": lambda x, part, mode: np.linalg.qr(x, mode=mode)[part == "R"],
    "eigh": lambda x, part, lower: np.linalg.eigh(x, UPLO="L" if lower else "U")[part == "vectors"],
}

check_covers(IMPLS, "the numpy backend's IMPLS")


def _dot_general_for(shapes: list[tuple], dtype: DType, lhs_contract: tuple, rhs_contract: tuple, lhs_batch: tuple,
                     rhs_batch: tuple) -> Callable | None:
    """``_dot_general`` for fixed operand shapes, with the layout work decided once: only the transposes and
    reshapes that change something are left, so a plain ``x @ w`` is one ``np.matmul`` call."""
    if dtype.np in _ACCUMULATE:
        return None
    (lhs, rhs), matmul = shapes, np.matmul
    lhs_free = [i for i in range(len(lhs)) if i not in lhs_contract and i not in lhs_batch]
    rhs_free = [i for i in range(len(rhs)) if i not in rhs_contract and i not in rhs_batch]
    batch = tuple(lhs[i] for i in lhs_batch)
    free_l, free_r = tuple(lhs[i] for i in lhs_free), tuple(rhs[i] for i in rhs_free)
    k = math.prod(lhs[i] for i in lhs_contract)

    def layout(shape: tuple, perm: tuple, target: tuple) -> Callable[[np.ndarray], np.ndarray]:
        moved = perm != tuple(range(len(shape)))
        reshaped = tuple(shape[i] for i in perm) != target
        if moved and reshaped:
            return lambda x: x.transpose(perm).reshape(target)
        if moved:
            return lambda x: x.transpose(perm)
        return (lambda x: x.reshape(target)) if reshaped else None

    a = layout(lhs, (*lhs_batch, *lhs_free, *lhs_contract), (*batch, math.prod(free_l), k))
    b = layout(rhs, (*rhs_batch, *rhs_contract, *rhs_free), (*batch, k, math.prod(free_r)))
    out = (*batch, *free_l, *free_r)
    if k == 1 and not batch and dtype.is_floating_point:  # an outer product: a broadcast multiply beats BLAS
        return partial(_outer, (math.prod(free_l), 1), (1, math.prod(free_r)), out)
    if (*batch, math.prod(free_l), math.prod(free_r)) == out and a is None and b is None:
        return matmul
    a, b = a or _same, b or _same
    return lambda x, y: matmul(a(x), b(y)).reshape(out)


def _outer(column: tuple, row: tuple, out: tuple, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A product whose contracted size is 1. Adding zero gives -0 products the +0 that matmul's sum has."""
    product = np.multiply(x.reshape(column), y.reshape(row))
    product += 0
    return product.reshape(out)


def _same(x: np.ndarray) -> np.ndarray:
    return x


def _select_for(shapes: list[tuple], dtype: DType) -> Callable | None:
    """The in-place select when the shapes say it applies, without looking at them on every run."""
    pred, on_true, on_false = shapes
    if pred == on_false and on_true in ((), pred) and math.prod(pred) >= _BRANCH_FREE_FROM:
        return _choose_bits
    return None


def _reduce_sum_for(shapes: list[tuple], dtype: DType, axes: tuple) -> Callable | None:
    if dtype.np in _ACCUMULATE:
        return None
    reduce, np_dtype = np.add.reduce, dtype.np
    return lambda x: reduce(x, axes, np_dtype)  # what np.sum runs, without its Python-level dispatch


def _broadcast_for(shapes: list[tuple], dtype: DType, shape: tuple) -> Callable | None:
    """A number spread over ``shape`` (a seed, a mean's 1/n, a zero) as a view with zero strides, built
    directly: np.broadcast_to's Python-level checks cost seven times as much."""
    if shapes[0]:
        return None
    return partial(_spread, shape, dtype.np, (0,) * len(shape))


def _spread(shape: tuple, np_dtype: np.dtype, strides: tuple, x: np.ndarray) -> np.ndarray:
    view = np.ndarray(shape, np_dtype, x, 0, strides)
    view.flags.writeable = False  # as np.broadcast_to's: a write through one element would change them all
    return view


# Instructions whose work can be partly decided from the program's shapes, done once when the code is generated:
# each maker gets the argument shapes, the result dtype and the parameters, and returns a function of the
# arguments alone (or None to keep the general implementation).
SPECIALIZED: dict[str, Callable[..., Callable | None]] = {
    "dot_general": _dot_general_for,
    "reduce_sum": _reduce_sum_for,
    "broadcast": _broadcast_for,
    "select": _select_for,
}


def _implementation(program: Program, ins: Any) -> Callable[..., Any]:
    """The function running ``ins``: a float power by a constant exponent that has a torch kernel runs it."""
    exponent = kernel_exponent(program, ins)
    return IMPLS[ins.op] if exponent is None else _power_kernel(exponent, ins.dtype)


def _dead_after(program: Program) -> list[list[int]]:
    """For each instruction, the intermediates (not outputs) it uses for the last time: freed right after."""
    last_use: dict[int, int] = {}
    for i, ins in enumerate(program.instrs):
        for a in ins.args:
            if a >= 0:
                last_use[a] = i
    dead: list[list[int]] = [[] for _ in program.instrs]
    for value, i in last_use.items():
        if value not in program.outputs:
            dead[i].append(value)
    return dead


def _output_dtypes(program: Program) -> list[np.dtype]:
    return [program.instrs[o].dtype.np if o >= 0 else program.inputs[-o - 1][1].np for o in program.outputs]


def _interpreter(program: Program) -> Callable[[Sequence[Any]], list[Any]]:
    """Run the instructions one by one over a table of values: nothing to prepare."""
    n_inputs = len(program.inputs)

    def slot(ref: int) -> int:
        return -ref - 1 if ref < 0 else n_inputs + ref

    dead = _dead_after(program)
    steps = [(_implementation(program, ins), [slot(a) for a in ins.args], ins.params, [n_inputs + v for v in dead[i]])
             for i, ins in enumerate(program.instrs)]
    outputs = [slot(o) for o in program.outputs]
    dtypes = _output_dtypes(program)

    def run(inputs: Sequence[Any]) -> list[Any]:
        env: list[Any] = [*inputs, *([None] * len(steps))]
        with np.errstate(all="ignore"):
            for i, (fn, args, params, free) in enumerate(steps):
                env[n_inputs + i] = fn(*[env[a] for a in args], *params)
                for s in free:
                    env[s] = None
        return [np.asarray(env[s], dtype=dt) for s, dt in zip(outputs, dtypes)]

    return run


def _shape(program: Program, ref: int) -> tuple:
    return program.inputs[-ref - 1][0] if ref < 0 else program.instrs[ref].shape


# Elementwise primitives whose implementation is a plain ufunc: each result is a new array no other value
# shares, and writing it into one of the arguments (``out=``) gives the same bits as a new array would.
_UFUNCS = {op: fn for op, fn in IMPLS.items() if isinstance(fn, np.ufunc) and fn.nout == 1 and fn.nin in (1, 2)}


def _reuse_plan(program: Program) -> list[int | None]:
    """Per instruction, an intermediate argument that dies with it and can take its result (``out=``), or None.

    Such an argument is a ufunc's own array with the result's shape and dtype, used only by ufuncs (so no
    view of it exists) and not an output.
    """
    instrs = program.instrs
    shared = set(program.outputs)  # values that must keep their own array
    for ins in instrs:
        if ins.op not in _UFUNCS:
            shared.update(a for a in ins.args if a >= 0)
    plan: list[int | None] = []
    for ins, dead in zip(instrs, _dead_after(program)):
        into = None
        if ins.op in _UFUNCS and ins.shape:
            for a in ins.args:
                made = instrs[a] if a >= 0 else None
                if made is not None and a in dead and a not in shared and made.op in _UFUNCS \
                        and made.shape == ins.shape and made.dtype is ins.dtype:
                    into = a
                    break
        plan.append(into)
    return plan


def _call(program: Program, i: int, ins: Any, scope: dict[str, Any], out: str | None) -> tuple[str, list[str]]:
    """The name ``ins`` calls in generated code and its parameters' names, put in ``scope``: a function made for
    the instruction's shapes (whose parameters it holds), or the general implementation, writing into the
    array named ``out`` if one is given (an argument that dies here: no allocation, and a warm cache)."""
    maker = SPECIALIZED.get(ins.op)
    special = maker and maker([_shape(program, a) for a in ins.args], ins.dtype, *ins.params)
    implementation = _implementation(program, ins)
    if implementation is not IMPLS[ins.op]:
        special = implementation
    if special is not None:
        scope[f"f{i}"] = special
        return f"f{i}", []
    scope[f"op_{ins.op}"] = IMPLS[ins.op]
    params = []
    for j, param in enumerate(ins.params):
        scope[f"c{i}_{j}"] = param
        params.append(f"c{i}_{j}")
    if out is not None:
        params.append(f"out={out}")
    return f"op_{ins.op}", params


def _generated(program: Program) -> Callable[[Sequence[Any]], list[Any]]:
    """The program as one straight-line Python function: each instruction one call on local variables,
    and ``del`` right after an intermediate's last use. No loop, argument lists or value table."""
    n_inputs = len(program.inputs)
    names = [f"in{k}" for k in range(n_inputs)] + [f"v{i}" for i in range(len(program.instrs))]

    def name(ref: int) -> str:
        return names[-ref - 1] if ref < 0 else names[n_inputs + ref]

    # Functions, parameters and dtypes reach the code through its globals, never as source text.
    scope: dict[str, Any] = {"errstate": np.errstate, "asarray": np.asarray}
    body = []
    reuse = _reuse_plan(program)
    outputs_at = set(program.outputs)
    for i, (ins, dead) in enumerate(zip(program.instrs, _dead_after(program))):
        if ins.op == "const" and i not in outputs_at:  # made once, here; read-only, so no run can change it
            constant = scope[f"k{i}"] = IMPLS["const"](*ins.params)
            constant.flags.writeable = False
            body.append(f"v{i} = k{i}")
        else:
            call, params = _call(program, i, ins, scope, None if reuse[i] is None else name(reuse[i]))
            body.append(f"v{i} = {call}({', '.join([name(a) for a in ins.args] + params)})")
        if dead:
            body.append(f"del {', '.join(names[n_inputs + v] for v in dead)}")
    outputs = []
    for k, (o, dtype) in enumerate(zip(program.outputs, _output_dtypes(program))):
        scope[f"d{k}"] = dtype
        outputs.append(f"asarray({name(o)}, d{k})")
    lines = ["def run(inputs):"]
    if n_inputs:
        lines.append(f"    {', '.join(names[:n_inputs])}, = inputs")
    lines.append('    with errstate(all="ignore"):')
    lines += [f"        {line}" for line in body] or ["        pass"]
    lines.append(f"    return [{', '.join(outputs)}]")
    exec(compile("\n".join(lines), f"<lazygrad numpy program of {len(program.instrs)} instructions>", "exec"), scope)
    return scope["run"]


def interpreter(program: Program) -> Callable[[Sequence[Any]], list[Any]]:
    """``program`` run instruction by instruction, with nothing prepared: the numpy backend's first run, and a
    compiling backend's way to run a program it has not compiled (yet)."""
    return _interpreter(_number_checks(program))


class _Executable:
    """Interprets its program on the first run and generates straight-line code for it on the second.

    Generating costs ~30 us per instruction and saves ~1.3 us per instruction on every later run: not worth
    it for a program that runs once (printing a value), well worth it for one that runs every step.
    """

    __slots__ = ("_program", "_run", "_runs")

    def __init__(self, program: Program) -> None:
        self._program = program = _number_checks(program)
        self._run = _interpreter(program)
        self._runs = 0

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        self._runs += 1
        if self._runs == 2:
            self._run = _generated(self._program)
        return self._run(inputs)


class NumpyBackend:
    """Runs programs on the host CPU with numpy; buffers are numpy arrays."""

    name = "numpy"
    buffer_type = np.ndarray

    def compile(self, program: Program) -> Callable[[Sequence[Any]], list[Any]]:
        return _Executable(program)

    def from_numpy(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_numpy(self, buffer: Any) -> np.ndarray:
        return np.asarray(buffer)
