"""``unfold`` (im2col) and ``fold`` (col2im), composed from strided slices and their adjoint, strided pads.

``unfold`` takes one strided slice of the zero-padded input per kernel offset and lays the offsets out
along the channel axis, as torch's columns are ordered: (channel, kernel row, kernel column). ``fold`` is
its adjoint: every offset's block is spread back with an interior pad (the VJP of a strided slice) and the
blocks are summed, so overlapping positions add up. Each is recorded as one op named like torch's.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import ops
from ..ir import Node, apply
from ..tensor import Tensor, _record, _torch_type_name

IntOrPair = int | Sequence[int]

# argument: (torch's words, its label in the message, smallest allowed value); unfold and fold check them in
# different orders
_LIMITS = {
    "kernel_size": ("kernel size should be greater than zero", "kernel", 1),
    "dilation": ("dilation should be greater than zero", "dilation", 1),
    "padding": ("padding should be non-negative", "pad", 0),
    "stride": ("stride should be greater than zero", "stride", 1),
}
_UNFOLD_ORDER = ("kernel_size", "dilation", "padding", "stride")
_FOLD_ORDER = ("kernel_size", "stride", "dilation", "padding")


def _pairs(args: dict[str, IntOrPair], order: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Every argument as a (height, width) pair, refused with torch's words when it has another length or
    leaves its range."""
    pairs = {}
    for name, value in args.items():
        pair = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
        if len(pair) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(pair)}")
        pairs[name] = pair
    for name in order:
        words, label, least = _LIMITS[name]
        if min(pairs[name]) < least:
            height, width = pairs[name]
            raise RuntimeError(f"{words}, but got {label}_height: {height} {label}_width: {width}")
    return pairs


def _blocks(size: Sequence[int], kernel: Sequence[int], dilation: Sequence[int], padding: Sequence[int],
            stride: Sequence[int]) -> tuple[int, ...]:
    """How many windows fit along each axis (C division, truncating toward zero, as torch counts them)."""
    spans = (s + 2 * p - (d * (k - 1) + 1) for s, k, d, p in zip(size, kernel, dilation, padding))
    return tuple(int(span / st) + 1 for span, st in zip(spans, stride))


def _check_dtype(input: Tensor, kernel: str) -> None:
    if input.dtype.np.kind in "iu":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_torch_type_name(input.dtype)}'")


def _offsets(kernel: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """Each kernel tap's (row, column) offset in the padded input, in torch's column order."""
    return [(i * dilation[0], j * dilation[1]) for i in range(kernel[0]) for j in range(kernel[1])]


def unfold(input: Tensor, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
           stride: IntOrPair = 1) -> Tensor:
    """(N, C, H, W) -> (N, C * kh * kw, L): every sliding block as a column; (C, H, W) drops the batch axis."""
    g = _pairs({"kernel_size": kernel_size, "dilation": dilation, "padding": padding, "stride": stride}, _UNFOLD_ORDER)
    if input.ndim < 3:  # torch reads the plane count and the height before it checks the rank
        input.size(1), input.size(2)
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    _check_dtype(input, "im2col_out_cpu")
    size = input.shape[-2:]
    rows, cols = _blocks(size, g["kernel_size"], g["dilation"], g["padding"], g["stride"])
    if rows < 1 or cols < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(size)}, kernel_size={g['kernel_size']}, "
                           f"dilation={g['dilation']}, padding={g['padding']}, calculated shape of the array of "
                           f"sliding blocks as ({rows}, {cols}), but its components must be at least one.")
    x = input.node if input.ndim == 4 else ops.reshape(input.node, (1, *input.shape))
    n, c = x.shape[:2]
    (ph, pw), (sh, sw) = g["padding"], g["stride"]
    padded = ops.pad(x, (0, 0, ph, pw), (0, 0, ph, pw), (0, 0, 0, 0))
    taps = [ops.reshape(ops.slice_(padded, (0, 0, top, left), (n, c, top + (rows - 1) * sh + 1,
                                                                left + (cols - 1) * sw + 1), (1, 1, sh, sw)),
                        (n, c, 1, rows * cols))
            for top, left in _offsets(g["kernel_size"], g["dilation"])]
    columns = taps[0] if len(taps) == 1 else apply("concat", tuple(taps), (2,))
    shape = (c * len(taps), rows * cols)
    return _record("Im2ColBackward0", ops.reshape(columns, (n, *shape) if input.ndim == 4 else shape), input)


def fold(input: Tensor, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
         padding: IntOrPair = 0, stride: IntOrPair = 1) -> Tensor:
    """(N, C * kh * kw, L) -> (N, C, H, W): the adjoint of ``unfold``, summing where blocks overlap."""
    g = _pairs({"output_size": output_size, "kernel_size": kernel_size, "dilation": dilation, "padding": padding,
                "stride": stride}, _FOLD_ORDER)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    _check_dtype(input, "col2im_out_cpu")
    kernel = g["kernel_size"]
    taps = kernel[0] * kernel[1]
    planes, length = input.shape[-2:]
    if planes % taps:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={planes} and kernel_size={kernel}.")
    rows, cols = _blocks(g["output_size"], kernel, g["dilation"], g["padding"], g["stride"])
    if rows * cols != length or rows < 1 or cols < 1:
        raise RuntimeError(f"Given output_size={g['output_size']}, kernel_size={kernel}, dilation={g['dilation']}, "
                           f"padding={g['padding']}, stride={g['stride']}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {rows} * {cols} = {rows * cols}, but got "
                           f"input.size(2)={length}.")
    n = input.shape[0] if input.ndim == 3 else 1
    c = planes // taps
    blocks = ops.reshape(input.node, (n, c, taps, rows, cols))
    node = _spread(blocks, g["output_size"], _offsets(kernel, g["dilation"]), g["padding"], g["stride"])
    return _record("Col2ImBackward0", node if input.ndim == 3 else ops.reshape(node, node.shape[1:]), input)


def _spread(blocks: Node, size: tuple[int, int], offsets: list[tuple[int, int]], padding: tuple[int, int],
            stride: tuple[int, int]) -> Node:
    """Put each tap's (N, C, rows, cols) block back at its strided positions in the padded image, sum them and
    crop the padding: exactly the VJP of ``unfold``'s slices."""
    n, c, _, rows, cols = blocks.shape
    (ph, pw), (sh, sw) = padding, stride
    height, width = size[0] + 2 * ph, size[1] + 2 * pw
    total = None
    for tap, (top, left) in enumerate(offsets):
        block = ops.reshape(ops.slice_(blocks, (0, 0, tap, 0, 0), (n, c, tap + 1, rows, cols), (1,) * 5),
                            (n, c, rows, cols))
        placed = ops.pad(block, (0, 0, top, left), (0, 0, height - top - (rows - 1) * sh - 1,
                                                   width - left - (cols - 1) * sw - 1), (0, 0, sh - 1, sw - 1))
        total = placed if total is None else ops.add(total, placed)
    return ops.slice_(total, (0, 0, ph, pw), (n, c, ph + size[0], pw + size[1]), (1, 1, 1, 1))
