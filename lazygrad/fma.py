"""``a * b + c`` rounded once, on numpy arrays: the fused multiply-add a CPU has and numpy does not.

torch's CPU kernels fuse the multiply-adds of ``add(alpha=)``, ``addcmul``, ``lerp`` and of their random
transforms, so matching their bits needs the single rounding. The numpy backend lowers the ``fma`` primitive
with ``fma``; the random streams use it on the host.
"""

from __future__ import annotations

import math
import struct
import threading
from typing import Any

import numpy as np

# A double's bits shifted left by 35 keep its low 29 significand bits on top: 1000...0 there, the pattern of a double
# halfway between two floats (normal range), is the smallest int64.
_FLOAT_TIE_SHIFT, _FLOAT_TIE = 35, np.iinfo(np.int64).min
# A float's bits shifted left once (the sign dropped) minus one, below this: 0 < |x| <= 2**-126, the smallest
# normal magnitude (zero wraps around to the largest).
_DOUBLED_TINY_FLOAT = np.uint32(1 << 24)


def fma(a: np.ndarray, b: np.ndarray | np.floating, c: np.ndarray | np.floating) -> np.ndarray:
    """``a * b + c`` rounded once, in ``a``'s precision (float32 or float64)."""
    a = np.asarray(a)
    b, c = np.asarray(b, dtype=a.dtype), np.asarray(c, dtype=a.dtype)
    with np.errstate(all="ignore"):
        return fma_arrays(a, b, c)


def fma_arrays(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``fma`` of three arrays of one dtype, called where floating-point warnings are off already (a numpy
    program's body): an update of a bias in a training step is a few microseconds, and so is that setup.
    A 0-d result of a program (a sum) can be a numpy scalar, which the in-place work needs as an array."""
    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    if a.dtype == np.float64:
        return _fma64(a, b, c)
    if a.size <= _FEW and not b.ndim and a.shape == c.shape:
        return _fma32_few(a, b, c)
    return _fma32(a, b, c)


# Up to this many floats (a bias, a scalar parameter) a loop over Python floats beats the vectorized passes: their
# dozen numpy calls cost ~40 us in a training step, where the caches are cold; the loop costs ~1 us a float.
_FEW = 16
_DOUBLE, _INT64 = struct.Struct("<d"), struct.Struct("<q")


def _fma32_few(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``_fma32`` for a few floats and a number ``b``, each double sum rounded to odd (Python floats are doubles)."""
    sums = []
    factor = float(b)
    for x, z in zip(a.ravel().tolist(), c.ravel().tolist()):
        total, error = two_sum(x * factor, z)
        if error and math.isfinite(total) and not _INT64.unpack(_DOUBLE.pack(total))[0] & 1:
            total = math.nextafter(total, math.inf if error > 0 else -math.inf)
        sums.append(total)
    return np.array(sums, np.float32).reshape(a.shape)  # each double rounded once, as astype rounds it


def _fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The product of two floats is exact in a double, so only the double sum rounds before the float result.

    That second rounding differs from a single one only where the double sum lands exactly halfway between
    two floats: in the normal range its low 29 bits say so; among the floats' subnormals (and at the smallest
    normal, which a subnormal midpoint rounds to) the float result is suspected instead. A float result of zero
    needs no check: a double sum that small is exact. Suspects, rare in practice, are redone rounded to odd (the
    last bit set when inexact), which makes the rounding to float the single rounding of the true value.
    Everything else is a few full passes: each numpy call counts, the common case is a parameter update.
    """
    if not b.ndim and a.shape == c.shape and a.size > _BLOCK:
        result, suspect = _fma32_blocks(a, b, c)
    else:
        total = _double_sum(a, b, c)
        result = total.astype(np.float32)
        suspect = bool(result.size) and _any_suspect(total, result)
    if suspect:
        at = _suspects(_double_sum(a, b, c), result)  # a mask, which indexes a 0-d result too
        a, b, c = np.broadcast_arrays(a, b, c)
        exact, error = two_sum(a[at].astype(np.float64) * b[at], c[at].astype(np.float64))
        inexact_even = (error != 0) & ((exact.view(np.int64) & 1) == 0)
        result[at] = np.where(inexact_even, np.nextafter(exact, np.where(error > 0, np.inf, -np.inf)), exact)
    return result


# A large update by a number (a weight's learning rate) works through its double sums a block at a time, in one
# scratch array per thread: 512 KiB that stays in the cache and is never handed back to the system. A new double
# array of a whole weight's size would cost a page fault per 4 KiB at every step, and twice the time.
_BLOCK = 1 << 16
_scratch = threading.local()


def _fma32_blocks(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, bool]:
    """``a * b + c`` rounded twice (through its double sum) for a number ``b``, and whether a result is suspect."""
    work = getattr(_scratch, "work", None)
    if work is None:
        work = _scratch.work = np.empty(_BLOCK, np.float64)
    result = np.empty(a.shape, np.float32)
    flat_a, flat_c, flat_result = a.reshape(-1), c.reshape(-1), result.reshape(-1)
    suspect = False
    for start in range(0, a.size, _BLOCK):
        stop = min(start + _BLOCK, a.size)
        total = work[:stop - start]
        np.copyto(total, flat_a[start:stop])
        total *= b
        total += flat_c[start:stop]
        flat_result[start:stop] = total
        suspect = suspect or _any_suspect(total, flat_result[start:stop])
    return result, suspect


def _any_suspect(total: np.ndarray, result: np.ndarray) -> bool:
    """Whether an element of ``result`` may be a double rounding: two reductions, no mask. ``total``'s memory,
    not needed any more, holds the work, so the common case allocates nothing beyond the double sum."""
    scratch = total.reshape(-1).view(np.int64)
    np.left_shift(scratch, _FLOAT_TIE_SHIFT, out=scratch)
    if np.minimum.reduce(scratch) == _FLOAT_TIE:
        return True
    doubled = np.left_shift(result.reshape(-1).view(np.uint32), 1, out=scratch.view(np.uint32)[:result.size])
    doubled -= 1
    return bool(np.minimum.reduce(doubled) < _DOUBLED_TINY_FLOAT)


def _suspects(total: np.ndarray, result: np.ndarray) -> np.ndarray:
    """The elements whose double sum lies halfway between two floats, or whose result is subnormal."""
    doubled = np.left_shift(result.view(np.uint32), 1)
    doubled -= 1
    return (np.left_shift(total.view(np.int64), _FLOAT_TIE_SHIFT) == _FLOAT_TIE) | (doubled < _DOUBLED_TINY_FLOAT)


def _double_sum(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` in double precision, in a new array of the broadcast shape. A full-size ``a`` with a
    number ``b`` (an update's learning rate) is widened once and worked on in place: mixed-precision ufunc calls
    cast through buffers and cost twice as much."""
    if not b.ndim and a.shape == c.shape:
        total = a.astype(np.float64)
        total *= b
        total += c
        return total
    return np.add(np.multiply(a, b, dtype=np.float64), c, dtype=np.float64)


def two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """``a + b`` rounded, and its rounding error exactly (Knuth). Operators only: numpy and jax arrays alike."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _split(a: Any) -> tuple[Any, Any]:
    """A double as the sum of two halves of 26 significant bits each (Dekker), whose products are exact."""
    scaled = a * 134217729.0  # 2**27 + 1
    high = scaled - (scaled - a)
    return high, a - high


def fma64_parts(a: Any, b: Any, c: Any) -> tuple[Any, Any]:
    """Double ``a * b + c`` as its rounded sum and the exact errors of the product (Dekker) and the sum (Knuth):
    their total is ``a * b + c`` rounded once, unless the exact value lies within 2**-106 of a tie. Operators
    only, so each backend adds them up with its own ``where``."""
    product = a * b
    (a_high, a_low), (b_high, b_low) = _split(a), _split(b)
    product_error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    total, sum_error = two_sum(product, c)
    return total, sum_error + product_error


def _fma64(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Where the error terms are not finite (infinite or huge operands) the plain sum is the answer, and where
    they vanish the sum stands as it is (adding a +0 error would turn a -0 into +0)."""
    total, error = fma64_parts(a, b, c)
    exact = total + error
    return np.where(np.isfinite(exact) & (error != 0), exact, total)
