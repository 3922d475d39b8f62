"""Transposed convolution, written as an ordinary convolution of the stride-dilated input.

A transposed convolution scatters every input element, times the kernel, into the output. The same
sums come out of a plain convolution when the input is dilated by the stride (``lhs_dilation`` of the
``conv`` primitive), padded by the kernel's reach minus ``padding`` (plus ``output_padding`` at the high
end; a negative pad crops), and convolved with the kernel flipped in space and with its in/out axes
swapped within each group. So it needs no primitive of its own, and its gradients are the conv rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import dtypes, ops
from ..autocast_mode import lower_precision_op
from ..convolution import IntOrTuple, _batched, _tuple
from ..ir import apply
from ..tensor import Tensor, _record

_AXIS_NAMES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}


@lower_precision_op
def conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrTuple, padding: IntOrTuple,
                   output_padding: IntOrTuple, groups: int, dilation: IntOrTuple, n: int) -> Tensor:
    """torch's conv_transpose{n}d: (N, C_in, *spatial) with a (C_in, C_out/groups, *kernel) weight."""
    x, unbatched = _batched(input, n, f"conv_transpose{n}d")
    if weight.ndim != n + 2:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
                           f"{list(weight.shape)}, but got {input.ndim}-dimensional input of size "
                           f"{list(input.shape)} instead")
    if groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} "
                           f"to have {weight.shape[0]} channels, but got {x.shape[1]} channels instead")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"Input type ({input.dtype.name}) and weight type ({weight.dtype.name}) should be the same")
    strides = _tuple(stride, n, "stride")
    pads = _tuple(padding, n, "padding")
    extra = _tuple(output_padding, n, "output_padding")
    dilations = _tuple(dilation, n, "dilation")
    if any(e >= s and e >= d for e, s, d in zip(extra, strides, dilations)):
        _output_padding_error(extra, strides, dilations, n)
    kernel = weight.shape[2:]
    reach = [d * (k - 1) for k, d in zip(kernel, dilations)]
    sizes = [(i - 1) * s - 2 * p + r + e + 1 for i, s, p, r, e in zip(x.shape[2:], strides, pads, reach, extra)]
    if min(sizes) < 1:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, sizes))}). Output size is too small")
    in_channels, group_out = weight.shape[:2]
    w = ops.reshape(weight.node, (groups, in_channels // groups, group_out, *kernel))
    w = ops.permute(w, (0, 2, 1, *range(3, n + 3)))
    w = ops.reshape(w, (groups * group_out, in_channels // groups, *kernel))
    w = apply("rev", (w,), (tuple(range(2, n + 2)),))
    padding_pairs = tuple((r - p, r - p + e) for r, p, e in zip(reach, pads, extra))
    # 16-bit floats: torch accumulates in float32 and adds the bias there, rounding once
    wide = dtypes.float32 if input.dtype in dtypes.HALF else input.dtype
    node = apply("conv", (ops.cast(x, wide), ops.cast(w, wide)), ((1,) * n, padding_pairs, strides, dilations, groups))
    inputs = [input, weight]
    if bias is not None:
        node = ops.add(node, ops.reshape(ops.cast(bias.node, wide), (groups * group_out,) + (1,) * n))
        inputs.append(bias)
    out = _record("ConvolutionBackward0", ops.cast(node, input.dtype), *inputs)
    return out.squeeze(0) if unbatched else out


def _output_padding_error(extra: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...],
                          n: int) -> None:
    # torch names the axes of a 2-D problem (a 1-D one is a 2-D one of height 1).
    names = _AXIS_NAMES[max(n, 2)]
    lead = (0,) * (len(names) - n)
    words = [f"{kind}_{name}: {value}" for kind, values in (("output_padding", lead + extra),
                                                             ("stride", (1,) * len(lead) + strides),
                                                             ("dilation", (1,) * len(lead) + dilations))
             for name, value in zip(names, values)]
    raise RuntimeError("output padding must be smaller than either stride or dilation, but got " + " ".join(words))


Ints = tuple[int, ...]


def output_padding(input_size: Ints, output_size: Sequence[int], stride: Ints, padding: Ints, kernel_size: Ints,
                   dilation: Ints) -> Ints:
    """The ``output_padding`` that makes a transposed convolution produce ``output_size`` (torch's rule)."""
    n = len(stride)
    wanted = list(output_size)
    if len(wanted) == n + 2:
        wanted = wanted[2:]
    if len(wanted) != n:
        raise ValueError(f"ConvTranspose{n}D: for {len(input_size) + 2}D input, output_size must have {n} or "
                         f"{n + 2} elements (got {len(output_size)})")
    smallest = [(size - 1) * s - 2 * p + d * (k - 1) + 1
                for size, s, p, k, d in zip(input_size, stride, padding, kernel_size, dilation)]
    largest = [low + s - 1 for low, s in zip(smallest, stride)]
    for want, low, high in zip(wanted, smallest, largest):
        if not low <= want <= high:
            raise ValueError(f"requested an output size of {wanted}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of torch.Size({list(input_size)}))")
    return tuple(want - low for want, low in zip(wanted, smallest))
