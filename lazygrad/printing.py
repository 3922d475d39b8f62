"""Render host numpy arrays exactly the way PyTorch prints tensors.

``repr(tensor)`` is part of the user-visible API: doctests, tutorials and notebooks compare against
PyTorch's output character for character.  This module reproduces the behaviour of PyTorch's
``torch/_tensor_str.py`` for dense tensors of real and boolean dtypes, working purely on a numpy array
of the tensor's values (the caller materialises the lazy tensor first).  It imports nothing else from
lazygrad, so it can be used and tested on its own.

The pipeline mirrors PyTorch's:

1. decide whether to summarise (``numel > threshold``) and, if so, which elements stay visible;
2. build one formatter from the visible values, which fixes the display mode (integer-valued floats,
   scientific or fixed precision) and a common element width;
3. lay elements out recursively: rows wrap at ``linewidth``, nested dimensions are separated by
   ``ndim - 1`` newlines, and elided stretches become ``...``;
4. append the suffixes (``size=``, ``dtype=``, ``grad_fn=`` ...), each wrapping onto a new line when it
   would run past ``linewidth``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ml_dtypes
import numpy as np

__all__ = ["get_printoptions", "printoptions", "set_printoptions", "tensor_repr"]

_PREFIX = "tensor("
_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)


@dataclasses.dataclass
class _PrintOptions:
    """Global print options; the defaults are PyTorch's ``"default"`` profile."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

# name -> (precision, threshold, edgeitems, linewidth), as in torch.set_printoptions.
_PROFILES: dict[str, tuple[int, float, int, int]] = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the global print options, with the same semantics as ``torch.set_printoptions``.

    A ``profile`` is applied first and explicit arguments override it.  As in PyTorch, ``sci_mode`` is
    always assigned, so any call that omits it returns to automatic choice of scientific notation.
    Negative ``edgeitems`` (which PyTorch accepts and then prints overlapping garbage for) are refused.
    """
    if edgeitems is not None and edgeitems < 0:
        raise ValueError(f"edgeitems must be >= 0, got {edgeitems}")
    if profile is not None and profile in _PROFILES:
        _OPTS.precision, _OPTS.threshold, _OPTS.edgeitems, _OPTS.linewidth = _PROFILES[profile]
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current options as keyword arguments accepted by :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options (like ``torch.printoptions``), restoring them on exit."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


# ----------------------------------------------------------------------------------------------------
# Element formatting
# ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Formatter:
    """Formats single elements right-aligned to a width shared by the whole tensor.

    ``width`` is the widest text among the values that decided the layout; ``format`` turns one Python
    scalar into its text padded on the left to ``width`` (nan, inf and zeros are never cut, only left
    unpadded when wider).  Where possible ``format`` is a bound ``str.format`` whose spec does the
    padding, because it runs once per printed element.
    """

    width: int
    format: Callable[[Any], str]


def _make_formatter(visible: list[Any], is_float: bool, opts: _PrintOptions) -> _Formatter:
    """Choose display mode and width from the visible values, as PyTorch's ``_Formatter`` does.

    The values arrive as Python scalars: converting once with ``tolist()`` and working in plain Python
    is cheaper than a dozen numpy calls for the small tensors that are printed most often, and float16
    and float32 values convert to doubles exactly, so every comparison and rendering matches PyTorch's.
    """
    if is_float:
        return _float_formatter([v for v in visible if v != 0.0 and math.isfinite(v)], opts)
    width = max(1, *(len(str(v)) for v in _extremes(visible)))
    return _Formatter(width, f"{{!s:>{width}}}".format)  # !s keeps bools as True/False


def _extremes(values: list[Any]) -> list[Any]:
    """The values whose text can be the longest: the largest and smallest magnitude of each sign.

    Correctly rounded decimal output is monotone in the magnitude, so for either sign a fixed-point or
    integer string is longest at the largest magnitude, and a scientific one has its widest exponent
    (three digits for float64 extremes) at the largest or the smallest magnitude.
    """
    picks = [max(values), min(values)]
    positive = [v for v in values if v > 0]
    negative = [v for v in values if v < 0]
    if positive:
        picks.append(min(positive))
    if negative:
        picks.append(max(negative))
    return picks


def _int_valued_formatter(width: int) -> _Formatter:
    """Integer-valued floats print without decimals plus a ``.`` marking the float dtype (not nan/inf)."""

    def render(value: float) -> str:
        text = f"{value:.0f}." if math.isfinite(value) else f"{value:.0f}"
        return text.rjust(width)

    return _Formatter(width, render)


def _float_formatter(shown: list[float], opts: _PrintOptions) -> _Formatter:
    """Formatter for floating dtypes; ``shown`` holds the non-zero finite values, which alone count."""
    if not shown:
        # Nothing to measure: PyTorch keeps integer mode with width 1 and ignores a forced sci_mode.
        return _int_valued_formatter(1)

    smallest, largest = min(map(abs, shown)), max(map(abs, shown))
    if opts.sci_mode is None:
        sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
    else:
        sci_mode = bool(opts.sci_mode)

    precision = opts.precision
    candidates = _extremes(shown)
    if sci_mode:
        width = max(1, *(len(f"{v:.{precision}e}") for v in candidates))
        return _Formatter(width, f"{{:{width}.{precision}e}}".format)
    if all(v.is_integer() for v in shown):
        return _int_valued_formatter(max(1, *(len(f"{v:.0f}") + 1 for v in candidates)))
    width = max(1, *(len(f"{v:.{precision}f}") for v in candidates))
    return _Formatter(width, f"{{:{width}.{precision}f}}".format)


# ----------------------------------------------------------------------------------------------------
# Layout
# ----------------------------------------------------------------------------------------------------


def _visible_part(values: np.ndarray, edgeitems: int) -> tuple[np.ndarray, tuple[bool, ...]]:
    """Drop what summarisation hides: every axis longer than ``2 * edgeitems`` keeps its ends only.

    Returns the remaining elements and, per axis, whether it was cut.  A cut axis holds exactly
    ``2 * edgeitems`` entries afterwards, so the layout knows to put the ellipsis in the middle.
    """
    cut = tuple(size > 2 * edgeitems for size in values.shape)
    for axis, size in enumerate(values.shape):
        if cut[axis]:
            keep = np.r_[0:edgeitems, size - edgeitems : size]
            values = np.take(values, keep, axis=axis)
    return values, cut


def _vector_str(row: list[Any], cut: bool, indent: int, fmt: _Formatter, opts: _PrintOptions) -> str:
    """Lay out a 1-D row, wrapping so that a line holds as many aligned elements as fit the width."""
    per_line = max(1, math.floor((opts.linewidth - indent) / (fmt.width + 2)))
    items = list(map(fmt.format, row))
    if cut:
        items.insert(opts.edgeitems, " ...")
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _block_str(block: Any, cut: tuple[bool, ...], indent: int, fmt: _Formatter, opts: _PrintOptions) -> str:
    """Recursively lay out nested lists; sub-blocks of an n-D block are separated by n - 1 newlines."""
    if not cut:
        return fmt.format(block)
    if len(cut) == 1:
        return _vector_str(block, cut[0], indent, fmt, opts)
    parts = [_block_str(sub, cut[1:], indent + 1, fmt, opts) for sub in block]
    if cut[0]:
        parts.insert(opts.edgeitems, "...")
    return "[" + ("," + "\n" * (len(cut) - 1) + " " * (indent + 1)).join(parts) + "]"


def _body_str(values: np.ndarray, indent: int, opts: _PrintOptions) -> str:
    """The bracketed contents of a non-empty tensor."""
    summarize = values.size > opts.threshold
    if summarize and opts.edgeitems == 0 and values.ndim > 0:
        return "[...]"  # PyTorch elides everything, at any depth
    if summarize:
        values, cut = _visible_part(values, opts.edgeitems)
    else:
        cut = (False,) * values.ndim
    fmt = _make_formatter(values.ravel().tolist(), values.dtype.kind == "f", opts)
    return _block_str(values.tolist(), cut, indent, fmt, opts)


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int, linewidth: int) -> str:
    """Append ``, suffix`` items and the closing parenthesis, wrapping any item that would not fit.

    The starting line length reproduces PyTorch's arithmetic exactly (including its over-count by two
    when the text has no newline), since that decides where the wrapping happens.
    """
    pieces = [text]
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            line_len += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def tensor_repr(values: np.ndarray, suffixes: Sequence[str] = ()) -> str:
    """Return torch's repr of a tensor holding `values` (shape and numpy dtype taken from the array).

    ``suffixes`` are pre-formatted items such as ``"dtype=torch.float64"`` or
    ``"grad_fn=<MulBackward0>"``, appended in order.  The ``size=(...)`` item that PyTorch shows for
    empty non-1-D tensors (and for every tensor when ``edgeitems`` is 0) is inserted before them.
    """
    values = np.asarray(values)
    if values.dtype == _BFLOAT16:
        values = values.astype(np.float32)  # exact, and the text depends on the values only
    if values.dtype.kind not in "biuf":
        raise TypeError(f"tensor_repr supports bool, integer and floating dtypes, not {values.dtype}")
    opts = _OPTS
    indent = len(_PREFIX)
    if values.size == 0:
        body = "[]"
        show_size = values.ndim != 1
    else:
        body = _body_str(values, indent, opts)
        show_size = not opts.edgeitems
    leading = [f"size={tuple(values.shape)}"] if show_size else []
    return _add_suffixes(_PREFIX + body, [*leading, *suffixes], indent, opts.linewidth)
