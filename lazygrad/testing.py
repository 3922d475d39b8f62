"""``torch.testing.assert_close``: compare tensors, numbers and nested containers with dtype-aware tolerances.

Failures raise ``AssertionError`` with torch's message: the count of mismatched elements and where the
greatest absolute and relative differences are, or, for scalars, the two values. ``assert_allclose`` is its
deprecated predecessor; ``make_tensor`` (in ``testing_creation``) draws test inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import dtypes
from .creation import from_numpy, tensor
from .device import of as device_of
from .tensor import Tensor
from .testing_creation import make_tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# Default (rtol, atol) per dtype; integers and booleans must match exactly.
_TOLERANCES = {dtypes.float16: (1e-3, 1e-5), dtypes.bfloat16: (1.6e-2, 1e-5),
               dtypes.float32: (1.3e-6, 1e-5), dtypes.float64: (1e-7, 1e-7)}

Message = str | Callable[[str], str] | None


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: Message = None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close, element by element."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    _compare(actual, expected, "", (rtol, atol, equal_nan, check_device, check_dtype), msg)


# assert_allclose's own defaults, looser than assert_close's; any other dtype (bfloat16 too) must match exactly.
_ALLCLOSE_TOLERANCES = {dtypes.float16: (1e-3, 1e-3), dtypes.float32: (1e-4, 1e-5), dtypes.float64: (1e-5, 1e-8)}


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated: ``assert_close`` with NaNs equal, dtypes unchecked and the older, looser default tolerances."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead. You can find detailed upgrade "
                  "instructions in https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(t.dtype, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 check_stride=False, msg=msg or None)


def _compare(actual: Any, expected: Any, where: str, options: tuple, msg: Message) -> None:
    """Walk containers in step; ``where`` is the path to the current item (``[1]['a']``) for the message."""
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        missing, extra = sorted(set(expected) - set(actual), key=repr), sorted(set(actual) - set(expected), key=repr)
        if missing or extra:
            _fail(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: {missing}\n"
                  f"Additional keys in the actual mapping: {extra}", where, msg)
        for key in expected:
            _compare(actual[key], expected[key], f"{where}[{key!r}]", options, msg)
    elif _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", where, msg)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{where}[{i}]", options, msg)
    else:
        _compare_leaves(actual, expected, where, options, msg)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _compare_leaves(actual: Any, expected: Any, where: str, options: tuple, msg: Message) -> None:
    rtol, atol, equal_nan, check_device, check_dtype = options
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual is not expected:
            _fail(f"Booleans mismatch: {actual} is not {expected}", where, msg)
        return
    numbers = (int, float, np.number)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        if type(actual) is not type(expected):
            _fail(f"The (d)types do not match: {type(actual)} != {type(expected)}.", where, msg)
        a, e = np.asarray(actual), np.asarray(expected)
        tolerances = (rtol, atol) if rtol is not None else _TOLERANCES.get(dtypes.from_numpy(a.dtype), (0.0, 0.0))
        _compare_values(a, e, tolerances, equal_nan, where, msg)
        return
    kinds = (Tensor, np.ndarray)
    if not (isinstance(actual, kinds) and isinstance(expected, kinds) and type(actual) is type(expected)):
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")
    a, e = _as_tensor(actual), _as_tensor(expected)
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.", where, msg)
    if check_device and device_of(a) != device_of(e):
        _fail(f"The values for attribute 'device' do not match: {device_of(a)} != {device_of(e)}.", where, msg)
    if check_dtype and a.dtype is not e.dtype:
        _fail(f"The values for attribute 'dtype' do not match: {a.dtype!r} != {e.dtype!r}.", where, msg)
    if rtol is None:  # the looser of the two dtypes' defaults
        pairs = [_TOLERANCES.get(a.dtype, (0.0, 0.0)), _TOLERANCES.get(e.dtype, (0.0, 0.0))]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    # bfloat16 widens to float32 first (exactly): numpy's promotion and float checks do not know it
    common = np.promote_types(*(np.float32 if d is dtypes.bfloat16 else d.np for d in (a.dtype, e.dtype)))
    _compare_values(a.numpy().astype(common), e.numpy().astype(common), (rtol, atol), equal_nan, where, msg)


def _as_tensor(value: Tensor | np.ndarray) -> Tensor:
    return value if isinstance(value, Tensor) else from_numpy(value)


def _compare_values(a: np.ndarray, e: np.ndarray, tolerances: tuple[float, float], equal_nan: bool, where: str,
                    msg: Message) -> None:
    rtol, atol = tolerances
    # Booleans and integers are compared as int64, so differences neither wrap around nor fail to subtract.
    work = a.dtype if a.dtype.kind == "f" else np.dtype(np.int64)
    x, y = a.astype(work), e.astype(work)
    exact = rtol == 0 and atol == 0
    close = (x == y) | (equal_nan & np.isnan(x) & np.isnan(y)) if exact else \
        np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if close.all():
        return
    allowed = ("", "") if exact else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    report = _scalar_report(a.item(), e.item(), allowed) if a.ndim == 0 else _tensor_report(x, y, close, allowed)
    _fail(f"{'Scalars' if a.ndim == 0 else 'Tensor-likes'} are not {'equal' if exact else 'close'}!\n\n{report}",
          where, msg)


def _scalar_report(got: Any, want: Any, allowed: tuple[str, str]) -> str:
    difference = abs(got - want)
    relative = difference / abs(want) if want != 0 else float("inf")
    return (f"Expected {want} but got {got}.\nAbsolute difference: {difference}{allowed[0]}\n"
            f"Relative difference: {relative}{allowed[1]}")


def _tensor_report(a: np.ndarray, e: np.ndarray, close: np.ndarray, allowed: tuple[str, str]) -> str:
    ratio = a.dtype if a.dtype.kind == "f" else dtypes.default_float().np  # torch divides integers in that dtype
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = np.where(close, 0, np.abs(a - e))
        relative = np.where(close, 0, difference.astype(ratio) / np.abs(e).astype(ratio))
    mismatched = int((~close).sum())
    worst, worst_relative = int(np.argmax(difference)), int(np.argmax(relative))
    return (f"Mismatched elements: {mismatched} / {close.size} ({100 * mismatched / close.size:.1f}%)\n"
            f"Greatest absolute difference: {difference.flat[worst].item()} at index {_index(worst, a.shape)}"
            f"{allowed[0]}\n"
            f"Greatest relative difference: {relative.flat[worst_relative].item()} at index "
            f"{_index(worst_relative, a.shape)}{allowed[1]}")


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _fail(text: str, where: str, msg: Message) -> None:
    """Raise the AssertionError: a string ``msg`` replaces the text, a callable one rewrites it."""
    if isinstance(msg, str):
        raise AssertionError(msg)
    if where:
        text += f"\n\nThe failure occurred for item {where}"
    raise AssertionError(text if msg is None else msg(text))
