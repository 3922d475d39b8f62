"""``nn.functional``: activations, normalization, dropout and losses composed from Tensor operations.

Nothing here adds a primitive. Class-index losses select the target's column with a one-hot mask
(``target == arange(C)``) instead of a gather, and every Python number enters the graph through Tensor
arithmetic, so it becomes a program input: changing it (a dropout rate, a momentum) never recompiles.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import checks, convolution, dtypes, ops
from ..arithmetic import where
from ..autocast_mode import STATE as _autocast
from ..autocast_mode import float32_op, lower_precision_op
from ..autograd.function import BackwardCFunction, Function
from ..creation import arange
from ..grad_mode import is_grad_enabled, no_grad
from ..index_ops import embedding as _embedding
from ..ir import Node, apply
from ..reductions import mean_node
from ..reshaping import cat
from ..tensor import _C10_NAMES, Tensor, _record, _torch_type_name, _wrap
from . import resampling, transposed
from .activation_ops import _hardtanh, elu_family, torch_backward
from .functional_base import (
    _as_op,
    _channel_affine,
    _channel_view,
    _feature_dropout,
    _inplace,
    _masked_dropout,
    _moments,
    _reduce,
    _reduction,
    _warn_feature_rank,
    legacy_reduction,
    logsigmoid,
)

# ---- helpers ----------------------------------------------------------------------------------------


def _implicit_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


# ---- linear and activations ---------------------------------------------------------------------------


def _plain_affine(rows: Tensor, weight: Tensor, bias: Tensor) -> bool:
    """Whether ``rows @ weight.t() + bias`` needs none of matmul's checks or casts: same dtypes, agreeing inner
    sizes, a bias that broadcasts over the rows. Anything else takes the general path, which raises as torch."""
    dtype = rows.dtype
    if weight.dtype is not dtype or bias.dtype is not dtype or _autocast.active:
        return False
    (_, inner), (out, inner_w) = rows.node.shape, weight.node.shape
    return inner == inner_w and bias.node.shape in ((out,), (1,), ())


@lower_precision_op
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one matrix product, recorded as torch records it.

    Other than 2-D, the input is flattened to rows and the result viewed back, as torch does, so the
    records read ``AddmmBackward0`` (``MmBackward0`` without bias) under a view, down to ``TBackward0``.
    """
    if bias is not None and input.dtype in dtypes.HALF:  # torch adds the bias to the float32 product, rounding once
        return linear(input.float(), weight.float(), bias.float()).to(input.dtype)
    if input.ndim == 1 and bias is None:  # torch: a one-row product, squeezed
        product = input.unsqueeze(0) @ weight.t()
        return _as_op("SqueezeBackward4", product.squeeze(0), product)
    rows = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
    if bias is not None and _plain_affine(rows, weight, bias):  # the usual layer: one record, two nodes
        # ``weight.t()``'s node and record; the transposed tensor never leaves this function, so it is not
        # registered as a view of the weight's memory (nothing could write through it or read it afterwards)
        transposed = _record("TBackward0", ops.permute(weight.node, (1, 0)), weight)
        product = _record("AddmmBackward0", apply("add", (apply("dot_general", (rows.node, transposed.node),
                                                               ((1,), (0,), (), ())), bias.node)),
                          bias, rows, transposed)
        return product if input.ndim == 2 else product.reshape(*input.shape[:-1], weight.shape[0])
    transposed = weight.t()
    product = rows @ transposed
    if bias is not None:
        product = _as_op("AddmmBackward0", product + bias, bias, rows, transposed)
    if input.ndim == 2:
        return product
    out = product.reshape(*input.shape[:-1], weight.shape[0])
    return out if bias is not None else _as_op("UnsafeViewBackward0", out, product)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, input.relu(), inplace)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


# torch's GELU constants: 1/sqrt(2), the normal density's 1/sqrt(2 pi), and sqrt(2/pi) for the tanh form.
_SQRT_HALF = math.sqrt(0.5)
_NORMAL_DENSITY = 1 / math.sqrt(2 * math.pi)
_GELU_TANH_SCALE = math.sqrt(2.0 / math.pi)
_GELU_TANH_CUBIC = 0.044715


def _gelu_erf(x: Tensor) -> Tensor:
    return x * 0.5 * (1.0 + (x * _SQRT_HALF).erf())


def _gelu_erf_slope(x: Tensor) -> Tensor:
    """torch's ``cdf + x * pdf``."""
    return 0.5 * (1.0 + (x * _SQRT_HALF).erf()) + x * ((-0.5 * x * x).exp() * _NORMAL_DENSITY)


def _gelu_tanh(x: Tensor) -> Tensor:
    return 0.5 * x * (1.0 + ((x + x * x * x * _GELU_TANH_CUBIC) * _GELU_TANH_SCALE).tanh())


def _gelu_tanh_slope(x: Tensor) -> Tensor:
    """torch's ``0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2)`` with ``t`` the inner tanh."""
    x_sq = x * x
    t = ((x + x_sq * x * _GELU_TANH_CUBIC) * _GELU_TANH_SCALE).tanh()
    inner_slope = (1.0 + x_sq * (3 * _GELU_TANH_CUBIC)) * _GELU_TANH_SCALE
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_slope


_GELU = {"none": torch_backward("GeluBackward0", _gelu_erf, _gelu_erf_slope),
         "tanh": torch_backward("GeluBackward0", _gelu_tanh, _gelu_tanh_slope)}


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Exact GELU through erf, or torch's tanh approximation with ``approximate='tanh'``."""
    if approximate not in _GELU:
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _GELU[approximate](input)


def _silu_slope(x: Tensor) -> Tensor:
    s = x.sigmoid()
    return s * (1.0 + x * (1.0 - s))


_silu = torch_backward("SiluBackward0", lambda x: x / (1.0 + (-x).exp()), _silu_slope)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x / (1 + exp(-x))``, with torch's gradient ``s (1 + x (1 - s))``."""
    return _inplace(input, _silu(input), inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    out = where(input > 0, input, input * negative_slope)
    return _inplace(input, _as_op("LeakyReluBackward0", out, input), inplace, "LeakyReluBackward1")


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _implicit_dim("softmax", input.ndim)
    return (input if dtype is None else input.to(dtype)).softmax(dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _implicit_dim("log_softmax", input.ndim)
    return (input if dtype is None else input.to(dtype)).log_softmax(dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``."""
    return _masked_dropout(input, p, training, inplace, False)


# ---- convolution and pooling ----------------------------------------------------------------------------
# The window ops live in ``lazygrad.convolution``: convolution is a primitive, pooling is built from slices.


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return convolution.conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return convolution.conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return convolution.conv(input, weight, bias, stride, padding, dilation, groups, 3)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return convolution.max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool2d``'s ``(values, indices)`` form, which torch's ``max_pool2d`` dispatches to."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return convolution.avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override, 2)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; the padding row receives no gradient. With
    ``max_norm`` the rows read are first scaled down to it in ``weight`` itself, as torch does."""
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    if max_norm is not None:
        _renorm_read_rows(weight, input.reshape(-1), max_norm, norm_type)
    return _embedding(input, weight, padding_idx)


# ---- normalization ------------------------------------------------------------------------------------


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) > input.ndim or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    # torch's kernel computes a 16-bit input in float32 and gives the input's dtype, whatever the weight's
    low = input.dtype in (dtypes.float16, dtypes.bfloat16)
    x = input.float() if low else input
    centered = x - x.mean(axes, keepdim=True)
    out = centered * ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * (weight.float() if low else weight)
    if bias is not None:
        out = out + (bias.float() if low else bias)
    return _as_op("NativeLayerNormBackward0", out.to(input.dtype) if low else out, input, weight, bias)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float | Tensor = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalize over every axis but the channel axis (1).

    In training the batch statistics are used and, if given, the running statistics are updated in
    place under ``no_grad``: more nodes in the same lazy program, nothing is computed here. The
    running variance uses the unbiased estimate, as in torch. A 16-bit input is normalized in float32 and
    the result has its dtype, whatever the parameters' (torch's mixed-type kernel, which autocast relies on).
    """
    half = input.dtype in dtypes.HALF
    x = input.float() if half else input
    ndim = input.ndim
    axes = tuple(a for a in range(ndim) if a != 1)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and ndim > 1 and stat.numel() != input.shape[1]:
            raise RuntimeError(f"{name} should contain {input.shape[1]} elements not {stat.numel()}")
    if training:
        count = input.numel() // input.shape[1]
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
        mean, centered, squares, var = _moments(x, axes, count)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.reshape(-1) * momentum)
                if running_var is not None:
                    running_var.mul_(1 - momentum).add_(squares.reshape(-1) / (count - 1) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        centered = x - _channel_view(running_mean, ndim, 1)
        var = _channel_view(running_var, ndim, 1)
    out = _channel_affine(centered * (var + eps).rsqrt(), weight, bias)
    return _as_op("NativeBatchNormBackward0", out.to(input.dtype) if half else out, input, weight, bias)


# ---- shape helpers ------------------------------------------------------------------------------------


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows along a new last axis. ``num_classes=-1`` reads the maximum, which realizes."""
    if tensor.dtype is not dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    return (tensor.unsqueeze(-1) == arange(num_classes)).long()


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last axes, given as (last-axis low, high, next-axis low, high, ...).

    ``constant`` (negative amounts crop) is one ``pad`` primitive; ``reflect``, ``replicate`` and
    ``circular`` join slices of the edges to each side, one axis at a time.
    """
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.ndim}")
    pairs = [(input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    if mode == "constant":
        return _record("ConstantPadNdBackward0", _constant_pad(input.node, pairs, value or 0), input)
    edge = _EDGES.get(mode)
    if edge is None:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    k = len(pad) // 2
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.")
    node = input.node
    for axis, low, high in pairs:
        size = node.shape[axis]
        if mode != "replicate" and (low >= size + (mode == "circular") or high >= size + (mode == "circular")):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({low}, {high}) at dimension {axis} of input {list(input.shape)}")
        if min(low, high) < 0:
            raise NotImplementedError(f"negative padding is not supported in {mode} mode")
        pieces = [edge(node, axis, 0, low), node, edge(node, axis, size, high)]
        pieces = [p for p in pieces if p.shape[axis]]
        node = apply("concat", tuple(pieces), (axis,)) if len(pieces) > 1 else node
    names = {"reflect": f"ReflectionPad{k}DBackward0", "replicate": f"ReplicationPad{k}DBackward0"}
    return _record(names.get(mode, "CopySlices"), node, input)


def _constant_pad(node: Node, pairs: list[tuple[int, int, int]], value: float) -> Node:
    """One ``pad`` for the growing sides, one ``slice`` for the cropping ones, ``select`` for a non-zero fill."""
    ndim = len(node.shape)
    starts, stops = [0] * ndim, list(node.shape)
    low, high = [0] * ndim, [0] * ndim
    for axis, lo, hi in pairs:
        starts[axis], stops[axis] = max(-lo, 0), node.shape[axis] - max(-hi, 0)
        low[axis], high[axis] = max(lo, 0), max(hi, 0)
    cropped = ops.slice_(node, tuple(starts), tuple(max(a, b) for a, b in zip(starts, stops)), (1,) * ndim)
    padded = ops.pad(cropped, tuple(low), tuple(high), (0,) * ndim)
    if value == 0 or padded is cropped:
        return padded
    inside = ops.pad(ops.full(cropped.shape, True, dtypes.bool_), tuple(low), tuple(high), (0,) * ndim)
    return ops.select(inside, padded, ops.scalar(value, node.dtype))


def _axis_slice(node: Node, axis: int, start: int, stop: int) -> Node:
    starts = tuple(start if a == axis else 0 for a in range(len(node.shape)))
    stops = tuple(stop if a == axis else d for a, d in enumerate(node.shape))
    return ops.slice_(node, starts, stops, (1,) * len(node.shape))


def _reflect(node: Node, axis: int, at: int, width: int) -> Node:
    """The ``width`` elements beside the edge at ``at`` (0 or the size), mirrored without repeating the edge."""
    size = node.shape[axis]
    part = _axis_slice(node, axis, 1, width + 1) if at == 0 else _axis_slice(node, axis, size - 1 - width, size - 1)
    return apply("rev", (part,), ((axis,),)) if width else part


def _replicate(node: Node, axis: int, at: int, width: int) -> Node:
    edge = _axis_slice(node, axis, 0, 1) if at == 0 else _axis_slice(node, axis, at - 1, at)
    return ops.broadcast_to(edge, tuple(width if a == axis else d for a, d in enumerate(node.shape)))


def _circular(node: Node, axis: int, at: int, width: int) -> Node:
    size = node.shape[axis]
    return _axis_slice(node, axis, size - width, size) if at == 0 else _axis_slice(node, axis, 0, width)


_EDGES = {"reflect": _reflect, "replicate": _replicate, "circular": _circular}


def _resized(shape: Sequence[int], axis: int, size: int) -> list[int]:
    return [size if i == axis else d for i, d in enumerate(shape)]


# ---- losses -------------------------------------------------------------------------------------------


def _check_broadcast(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", UserWarning, stacklevel=3)


@float32_op
def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input, target)
    dtype = input.node.dtype
    if weight is None and dtype.is_floating_point and target.node.dtype is dtype \
            and input.node.shape == target.node.shape:
        # The usual loss: the nodes the Tensor ops below would build, under the one record that replaces theirs
        diff = apply("sub", (input.node, target.node))
        return _record("MseLossBackward0", _reduced_node(apply("mul", (diff, diff)), reduction), input, target)
    loss = (input - target).square()
    if weight is not None:
        return _reduce(loss * weight, reduction)
    return _as_op("MseLossBackward0", _reduce(loss, reduction), input, target)


def _reduced_node(node: Node, reduction: str) -> Node:
    """``_reduce`` of a float node, as the nodes ``mean()`` and ``sum()`` build."""
    axes = tuple(range(len(node.shape)))
    if reduction == "mean":
        return mean_node(node, axes, False, node.dtype)
    return ops.reduce("reduce_sum", node, axes) if reduction == "sum" else node


@float32_op
def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Absolute error; with ``weight``, ``'mean'`` is the weighted average (divided by the weights' sum)."""
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input, target)
    loss = (input - target).abs()
    if weight is None:
        return _reduce(loss, reduction)
    _check_weight(weight, input)
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


def _class_targets(target: Tensor, classes: int, ignore_index: int, op: str) -> Tensor:
    """``target``, whose entries must be classes or ``ignore_index``: torch's error now if its values are known,
    else when they are computed (a one-hot mask would silently give an out-of-range target a zero term)."""
    message = "Target {} is out of bounds."
    if target.node.buffer is not None:
        values = target._value()
        bad = values[((values < 0) | (values >= classes)) & (values != ignore_index)]
        if bad.size:
            raise IndexError(message.format(int(bad.flat[0])))
        return target
    node = target.node
    ok = apply("or", (checks.in_range(node, 0, classes), apply("eq", (node, ops.const(ignore_index, node.dtype)))))
    return _wrap(checks.guard(node, ok, IndexError, message, op))


class _ClassTargets:
    """Per-sample terms of a class-index loss, built from a one-hot mask instead of a gather.

    ``picked`` is ``-weight[y] * input[y]`` per sample and ``weights`` is ``weight[y]`` (or 1), both 0
    where the target is ``ignore_index``; ``mean`` divides by the sum of ``weights``, as torch does.
    """

    def __init__(self, input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                 op: str = "nll_loss") -> None:
        if input.ndim < 1:
            raise ValueError("Expected input to have at least 1 dimension, got 0")
        if target.dtype.is_floating_point or target.dtype is dtypes.bool_:
            raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_torch_type_name(target.dtype)}")
        self.axis = 1 if input.ndim >= 2 else 0
        classes = input.shape[self.axis]
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                             f"({target.shape[0]}).")
        expected = tuple(input.shape[:self.axis]) + tuple(input.shape[self.axis + 1:])
        if tuple(target.shape) != expected:
            raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
        target = _class_targets(target, classes, ignore_index, op)
        self.valid = target != ignore_index
        index = arange(classes).reshape(classes, *([1] * (input.ndim - self.axis - 1)))
        self.hit = (target.unsqueeze(self.axis) == index) & self.valid.unsqueeze(self.axis)
        self.weight = None if weight is None else _channel_view(weight, input.ndim, self.axis)
        scored = input if self.weight is None else input * self.weight
        self.picked = where(self.hit, -scored, 0.0).sum(self.axis)
        if self.weight is None:
            self.weights = self.valid.to(input.dtype)
        else:
            self.weights = where(self.hit, self.weight, 0.0).sum(self.axis)

    def reduce(self, loss: Tensor, reduction: str) -> Tensor:
        if reduction == "mean":
            return loss.sum() / self.weights.sum()
        return loss.sum() if reduction == "sum" else loss


@float32_op
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities along axis 1 (or 0 for 1-D input)."""
    reduction = _reduction(reduction, size_average, reduce)
    terms = _ClassTargets(input, target, weight, ignore_index)
    return _nll_record(terms.reduce(terms.picked, reduction), input)


def _nll_record(loss: Tensor, input: Tensor) -> Tensor:
    """torch's record of a class-index NLL loss: one op over the log-probabilities (its 2-D kernel for images)."""
    return _as_op("NllLoss2DBackward0" if input.ndim == 4 else "NllLossBackward0", loss, input)


@float32_op
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits against class indices or class probabilities (same shape as ``input``)."""
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    axis = 1 if input.ndim >= 2 else 0
    classes = input.shape[axis]
    logp = input.log_softmax(axis)
    if target.shape == input.shape:  # torch's rule: probabilities exactly when the shapes are the same
        if not target.dtype.is_floating_point:
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{_torch_type_name(target.dtype)}")
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, axis)
    terms = _ClassTargets(logp, target, weight, ignore_index, "cross_entropy")
    loss = _nll_record(terms.reduce(terms.picked, reduction), logp)
    if label_smoothing == 0.0:
        return loss
    scored = logp if terms.weight is None else logp * terms.weight
    smooth = where(terms.valid, -scored.sum(axis), 0.0)
    return (1 - label_smoothing) * loss + terms.reduce(smooth, reduction) * (label_smoothing / classes)


def _soft_cross_entropy(logp: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                        label_smoothing: float, axis: int) -> Tensor:
    classes = logp.shape[axis]
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    scored = logp * target
    if weight is not None:
        scored = scored * _channel_view(weight, logp.ndim, axis)
    loss = -scored.sum(axis)
    if reduction == "mean":
        return loss.sum() / (logp.numel() / classes)
    return loss.sum() if reduction == "sum" else loss


@float32_op
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one stable expression; ``pos_weight`` scales the positive term."""
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    log_p = logsigmoid(input)
    if pos_weight is None:
        loss = (1 - target) * input - log_p
    else:
        loss = (1 - target) * input - ((pos_weight - 1) * target + 1) * log_p
    loss = _reduce(loss if weight is None else loss * weight, reduction)
    # torch's record lists the input and target; weights appear only when they need a gradient.
    weights = [t for t in (weight, pos_weight) if t is not None and t.requires_grad]
    return _as_op("BinaryCrossEntropyWithLogitsBackward0", loss, input, target, *weights)


# torch's floor for p (1 - p) is the float32 nearest 1e-12, in every dtype.
_BCE_EPSILON = float(np.float32(1e-12))


def _probabilities(t: Tensor, what: str) -> Tensor:
    """``t``, whose elements must lie in [0, 1] (a NaN does not): torch's error now if its values are known, else
    when they are computed."""
    message = f"all elements of {what} should be between 0 and 1"
    node = t.node
    if node.buffer is not None:
        values = t._value()
        if not ((values >= 0) & (values <= 1)).all():
            raise RuntimeError(message)
        return t
    ok = apply("and", (apply("ge", (node, ops.const(0, node.dtype))), apply("le", (node, ops.const(1, node.dtype)))))
    return _wrap(checks.guard(node, ok, RuntimeError, message, "binary_cross_entropy"))


class _BinaryCrossEntropy(Function):
    """torch's fused BCE, whose gradient is not the derivative of its value.

    The value clamps both logs at -100. The input's gradient is ``(p - t) / max(p (1 - p), 1e-12)``, finite at
    p = 0 and 1 (the derivative of the clamped logs is 0/0 there) and bounded near them; the target's is
    ``-logit(p)``, unclamped. Both are written in torch's order of operations so they round as torch's do,
    and they are ordinary ops, so ``create_graph`` differentiates them again.
    """

    @staticmethod
    def forward(ctx: Any, input: Tensor, target: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
        ctx.save_for_backward(input, target, weight)
        ctx.reduction = reduction
        input, target = _probabilities(input, "input"), _probabilities(target, "target")
        loss = (target - 1) * (-input).log1p().clamp(min=-100) - target * input.log().clamp(min=-100)
        return _reduce(loss if weight is None else loss * weight, reduction)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        input, target, weight = ctx.saved_tensors
        grad = grad.expand(input.shape)

        def finish(g: Tensor) -> Tensor:
            g = g if weight is None else g * weight
            return g / input.numel() if ctx.reduction == "mean" else g

        need_input, need_target = ctx.needs_input_grad[:2]
        grad_input = grad * (input - target) / ((1 - input) * input).clamp(min=_BCE_EPSILON) if need_input else None
        grad_target = -(input / (1 - input)).log() * grad if need_target else None
        return (None if grad_input is None else finish(grad_input),
                None if grad_target is None else finish(grad_target), None, None)


# A built-in op in torch: its record is named like one, not ``<Function>Backward``.
_BinaryCrossEntropy._backward_cls = type("BinaryCrossEntropyBackward0", (BackwardCFunction,),
                                         {"function": _BinaryCrossEntropy})


@float32_op
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities, with torch's clamped logs and bounded gradient."""
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError("The function 'binary_cross_entropy' is not differentiable with respect to argument "
                           "'weight'. This input cannot have requires_grad True.")
    return _BinaryCrossEntropy.apply(input, target, weight, reduction)


# ---- more activations ---------------------------------------------------------------------------------

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    The exponential reads a zeroed input where the linear branch is taken, so a huge input neither
    overflows nor sends a NaN gradient through the unused branch.
    """
    scaled = input * beta
    linear = scaled > threshold
    curve = where(linear, 0.0, scaled).exp().log1p() / beta
    return _as_op("SoftplusBackward0", where(linear, input, curve), input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for positive ``x``, ``alpha * (exp(x) - 1)`` otherwise."""
    return _inplace(input, _as_op("EluBackward0", elu_family(input, alpha, 1.0, 1.0), input), inplace, "EluBackward1")


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """ELU with torch's fixed self-normalizing ``alpha`` and ``scale``."""
    out = _as_op("EluBackward0", elu_family(input, _SELU_ALPHA, _SELU_SCALE, 1.0), input)
    return _inplace(input, out, inplace, "EluBackward1")


def _mish_slope(x: Tensor) -> Tensor:
    t = x.exp().log1p().tanh()
    return t + x * x.sigmoid() * (1.0 - t * t)


_mish = torch_backward("MishBackward0", lambda x: x * x.exp().log1p().tanh(), _mish_slope)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(log1p(exp(x)))``, with torch's gradient ``t + x sigmoid(x) (1 - t^2)``."""
    return _inplace(input, _mish(input), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``, -0 and NaN kept; as in torch the gradient is 0 on the bounds and at NaN."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(input, _as_op("HardtanhBackward0", _hardtanh(input, min_val, max_val), input), inplace)


@lower_precision_op
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learned slope, one shared or one per channel (axis 1)."""
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    slope = _channel_view(weight.reshape(-1), input.ndim, 1) if input.ndim >= 2 else weight.reshape(())
    return _as_op("PreluKernelBackward0", where(input > 0, input, input * slope), input, weight)


# ---- more dropout and pooling ---------------------------------------------------------------------------


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, L) or unbatched (C, L) input."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if input.ndim == 2:
        return _inplace(input, _feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0), inplace)
    return _feature_dropout(input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, H, W); like torch, 3-D input is read as (N, C, L), with a warning."""
    if input.ndim not in (3, 4):
        _warn_feature_rank("dropout2d", input.ndim, 2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", UserWarning, stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def _pool1d_input(input: Tensor, op: str) -> None:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {op})")


def _one_int(value: Any, name: str, op: str) -> Any:
    if not isinstance(value, int) and value is not None and len(value) != 1:
        raise RuntimeError(f"{op}() argument '{name}' should contain one int (got {len(value)})")
    return value


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-D max pooling: the 2-D window machinery over a single spatial axis."""
    if input.ndim not in (2, 3):
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{list(input.shape)}")
    out = convolution.max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)
    # torch pools a height-1 image and squeezes; its grad_fn says so.
    if return_indices:
        return _as_op("SqueezeBackward1", out[0], input), out[1]
    return _as_op("SqueezeBackward1", out, input)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool1d``'s ``(values, indices)`` form, which torch's ``max_pool1d`` dispatches to."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    _pool1d_input(input, "avg_pool1d")
    if stride is not None and not isinstance(stride, int) and not len(stride):  # torch's empty stride: the kernel's
        stride = None
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding)):
        _one_int(value, name, "avg_pool1d")
    out = convolution.avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)
    return _as_op("SqueezeBackward1", out, input)


# ---- more normalization -------------------------------------------------------------------------------


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize each sample's channels in ``num_groups`` groups, then scale and shift per channel."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    channels = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.shape[0] != channels):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(t.shape)} and input of shape {list(input.shape)}")
    grouped = input.reshape(input.shape[0], num_groups, -1)
    centered = grouped - grouped.mean(2, keepdim=True)
    out = _channel_affine((centered * ((centered * centered).mean(2, keepdim=True) + eps).rsqrt()).reshape(input.shape),
                          weight, bias)
    inputs = [t for t in (input, weight, bias) if t is not None]
    return _as_op("NativeGroupNormBackward0", out, *inputs)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim``, the norm floored at ``eps``."""
    result = input / input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    return result if out is None else out.copy_(result)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Sum of the products of the unit vectors along ``dim``.

    Each norm is floored at ``eps`` in value only: torch clamps it in place under ``no_grad``, so the
    gradient flows as if through the bare norm. ``detach`` of the difference does the same.
    """
    def unit(x: Tensor) -> Tensor:
        norm = x.norm(2, dim, keepdim=True)
        return x / (norm + (norm.clamp(min=eps) - norm).detach())

    return (unit(x1) * unit(x2)).sum(dim)


# ---- more losses --------------------------------------------------------------------------------------


def _check_weight(weight: Tensor | None, input: Tensor) -> None:
    if weight is not None and weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")


@float32_op
def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Quadratic below ``beta`` (scaled by ``1/beta``), linear above; ``beta=0`` is the L1 loss."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, size_average, reduce, reduction)
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input, target)
    diff = input - target
    size = diff.abs()
    loss = where(size < beta, _squared_unless(size >= beta, diff) * (0.5 / beta), size - 0.5 * beta)
    return _as_op("SmoothL1LossBackward0", _reduce(loss, reduction), input, target)


def _squared_unless(far: Tensor, diff: Tensor) -> Tensor:
    """``diff ** 2``, with 0 where ``far``: the quadratic branch of the smooth L1 and Huber losses, fed 0 where the
    linear one is used, so an infinite difference gets the linear branch's gradient, not 0 * inf (a NaN
    difference is not far, and its gradient stays NaN, as torch's)."""
    small = where(far, 0.0, diff)
    return small * small


@float32_op
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Quadratic below ``delta``, linear (slope ``delta``) above: ``delta`` times the smooth L1 loss."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    reduction = _reduction(reduction, None, None)
    _check_broadcast(input, target)
    _check_weight(weight, input)
    diff = input - target
    size = diff.abs()
    loss = where(size < delta, _squared_unless(size >= delta, diff) * 0.5, (size - 0.5 * delta) * delta)
    if weight is None:
        return _as_op("HuberLossBackward0", _reduce(loss, reduction), input, target)
    return _reduce(_as_op("HuberLossBackward0", loss, input, target) * weight, reduction)


@float32_op
def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """``target * (log(target) - input)`` per element, for log-probabilities ``input``.

    ``'batchmean'`` divides the sum by the batch size (the mathematical KL divergence); ``'mean'``
    divides by the element count, with torch's warning.
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # 0 * log(0) is 0: the log reads 1 where the target is 0.
        loss = target * where(target == 0, 1.0, target).log() - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


# ---- transposed convolution and resampling ------------------------------------------------------------------


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return transposed.conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return transposed.conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return transposed.conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return resampling.adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    return resampling.adaptive_avg_pool(input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    return resampling.adaptive_avg_pool(input, output_size, 3)


interpolate = resampling.interpolate


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of ``interpolate``, with torch's warning."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", UserWarning,
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate`` in ``nearest`` mode, with torch's warning."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate`` in ``bilinear`` mode with aligned corners, with torch's warning."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- attention ------------------------------------------------------------------------------------------
# Attention is matmuls and a softmax. Masks follow torch: in ``scaled_dot_product_attention`` a bool mask
# marks the keys that take part (True), while ``multi_head_attention_forward`` and the Transformer layers
# take masks that mark the keys to ignore (True) and turn them into additive -inf masks first.


def _flash_kernel_takes(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None,
                        dropout_p: float) -> bool:
    """Whether torch runs its CPU flash kernel: one ``grad_fn`` for the whole attention, and a mask and
    ``is_causal`` taken together (its math path, for 3-D inputs, dropout, unequal head sizes, no keys or a mask
    that requires grad, refuses them)."""
    return (query.ndim == key.ndim == value.ndim == 4 and dropout_p == 0.0
            and query.shape[-1] == key.shape[-1] == value.shape[-1] and key.shape[-2] > 0 and query.shape[-2] > 0
            and (attn_mask is None or not attn_mask.requires_grad))


def _causal_mask(rows: int, cols: int) -> Tensor:
    """Bool (rows, cols), True on and below the diagonal: query i sees keys 0..i, as ``ones(...).tril()``."""
    return arange(rows).unsqueeze(-1) >= arange(cols)


def _masked_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last axis giving 0, not NaN, where a row is all -inf (every key masked), as torch's
    attention does. The shift by the row maximum cancels, so it is not differentiated."""
    with no_grad():
        peak = scores.amax(-1, keepdim=True)
        peak = where(peak == -math.inf, 0.0, peak)
    e = (scores - peak).exp()
    total = e.sum(-1, keepdim=True)
    return e / where(total == 0, 1.0, total)


def _repeat_heads(t: Tensor, times: int) -> Tensor:
    """``t.repeat_interleave(times, -3)``: each key/value head serves ``times`` consecutive query heads."""
    shape = tuple(t.shape)
    return t.unsqueeze(-3).expand(*shape[:-2], times, *shape[-2:]).reshape(*shape[:-3], shape[-3] * times,
                                                                            *shape[-2:])


@lower_precision_op
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two axes (queries, keys).

    A bool ``attn_mask`` keeps the True positions, a float one is added; ``is_causal`` keeps keys at or
    before each query's position. Queries whose keys are all masked out get zeros.

    With ``dropout_p > 0`` torch's CPU flash kernel declines and its math path runs: ``dropout`` on the
    softmax weights, one draw per weight. The same dropout runs here, so the draws and the dropped positions
    are torch's; the values agree to float32 rounding only, as torch's BLAS products and vectorized softmax
    round differently from the backends'.
    """
    flash = _flash_kernel_takes(query, key, value, attn_mask, dropout_p)
    if is_causal and attn_mask is not None and not flash:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if attn_mask is not None and attn_mask.dtype is not dtypes.bool_ and attn_mask.dtype is not query.dtype:
        raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {_C10_NAMES[attn_mask.dtype.name]} and  query.dtype: "
                           f"{_C10_NAMES[query.dtype.name]} instead.")
    inputs = (query, key, value)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads = query.shape[-3]
        if heads % key.shape[-3] or heads % value.shape[-3]:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
        key = _repeat_heads(key, heads // key.shape[-3])
        value = _repeat_heads(value, heads // value.shape[-3])
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal and attn_mask is None:
        attn_mask = _causal_mask(query.shape[-2], key.shape[-2])
    elif is_causal:  # torch's CPU flash kernel applies both masks
        scores = where(_causal_mask(query.shape[-2], key.shape[-2]), scores, -math.inf)
    if attn_mask is None:
        weights = scores.softmax(-1)
    else:
        scores = where(attn_mask, scores, -math.inf) if attn_mask.dtype is dtypes.bool_ else scores + attn_mask
        weights = _masked_softmax(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return _as_op("ScaledDotProductFlashAttentionForCpuBackward0", weights @ value, *inputs) if flash else (
        weights @ value)


def _none_or_dtype(input: Tensor | None) -> dtypes.DType | None:
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type: dtypes.DType | None, other_name: str,
                    target_type: dtypes.DType, check_other: bool = True) -> Tensor | None:
    """A bool "ignore this key" mask as an additive float mask (-inf where True); float masks pass through."""
    if mask is None:
        return None
    if mask.dtype is not dtypes.bool_ and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", UserWarning, stacklevel=3)
    return where(mask, -math.inf, 0.0).to(target_type) if mask.dtype is dtypes.bool_ else mask


def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """torch's checks of the input ranks; True when the input is batched (3-D)."""
    if query.ndim not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query "
                             "tensor")
    batched = query.ndim == 3
    kind, rank = ("batched (3-D)", 3) if batched else ("unbatched (2-D)", 2)
    if key.ndim != rank or value.ndim != rank:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {rank}-D but found {key.ndim}-D "
                             f"and {value.ndim}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != rank - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or {rank - 1}-D but "
                             f"found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.ndim}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
    return batched


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
        add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
        training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
        k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first (L, N, E) inputs (or unbatched (L, E)), as ``nn.MultiheadAttention``.

    Masks mark keys to ignore when bool. With ``need_weights`` the per-head weights are returned (averaged
    over heads by default) and fully masked rows give NaN, as torch's; without, the heads go through
    ``scaled_dot_product_attention``.
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint says attn_mask is causal: the attention builds that mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        is_causal = is_causal and key_padding_mask is None
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
        for name, weight in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if weight is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        weights = in_proj_weight.chunk(3)
    if not use_separate_proj_weight and query is key and key is value:
        # self-attention: one product with the stacked weight
        q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)  # type: ignore[arg-type]
    else:
        biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = (linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))  # type: ignore[arg-type]

    if attn_mask is not None:
        expected = (tgt_len, key.shape[0]) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, key.shape[0])
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"The shape of the {attn_mask.ndim}D attn_mask is {attn_mask.shape}, but should be "
                               f"{expected}.")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k is set but bias_v is None" if bias_v is None else
                             "bias_v is set but bias_k is None")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError(f"bias cannot be added to static {'key' if static_k is not None else 'value'}.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))

    # heads become part of the batch: (N * heads, length, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _static_or_split(k, static_k, "k", bsz * num_heads, head_dim)
    v = _static_or_split(v, static_v, "v", bsz * num_heads, head_dim)
    if add_zero_attn:
        k = cat([k, k.new_zeros((bsz * num_heads, 1, head_dim))], 1)
        v = cat([v, v.new_zeros((bsz * num_heads, 1, head_dim))], 1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            which, want, got = next((i, w, g) for i, (w, g) in enumerate(zip((bsz, src_len), key_padding_mask.shape))
                                    if w != g)
            raise AssertionError(f"Expected key_padded_mask.shape[{which}] to be {want}, but got {got}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        padding = padding.reshape(bsz * num_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
        weights = (scores if attn_mask is None else attn_mask + scores).softmax(-1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        return (out, weights) if batched else (out.squeeze(1), weights.squeeze(0))
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.reshape(bsz, num_heads, -1,
                                                                                              src_len)
    heads = [t.reshape(bsz, num_heads, t.shape[1], head_dim) for t in (q, k, v)]
    out = scaled_dot_product_attention(*heads, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if batched else out.squeeze(1)), None


def _static_or_split(t: Tensor, static: Tensor | None, name: str, batch_heads: int, head_dim: int) -> Tensor:
    """Keys or values as (N * heads, length, head_dim): split from ``t``, or the precomputed ``static`` ones."""
    if static is None:
        return t.reshape(t.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads:
        raise AssertionError(f"expecting static_{name}.size(0) of {batch_heads}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting static_{name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static


# ---- families kept in their own modules, re-exported here (imported last: some build on the helpers above;
# ``threshold`` by assignment: softplus has an argument of that name, which an import would shadow)

from .activation_ops import (  # noqa: E402, F401
    celu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    relu6,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
)
from .activation_ops import threshold as _threshold  # noqa: E402
from .ctc import ctc_loss  # noqa: E402, F401 (re-exported)
from .embedding_bag_ops import _renorm_read_rows, embedding_bag  # noqa: E402, F401
from .fold_ops import fold, unfold  # noqa: E402, F401
from .fractional_pool_ops import (  # noqa: E402, F401 (re-exported)
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from .functional_layers import alpha_dropout, bilinear, dropout3d, feature_alpha_dropout  # noqa: E402, F401 (re-exported)
from .functional_losses import (  # noqa: E402, F401 (re-exported)
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    pdist,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .functional_pooling import (  # noqa: E402, F401 (re-exported)
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    max_pool3d,
    max_pool3d_with_indices,
)
from .grid_sampling import affine_grid, grid_sample  # noqa: E402, F401
from .lp_norm_ops import local_response_norm, lp_pool1d, lp_pool2d, lp_pool3d  # noqa: E402, F401
from .normalization_ops import instance_norm, rms_norm  # noqa: E402, F401
from .random_activation_ops import gumbel_softmax, rrelu, rrelu_  # noqa: E402, F401
from .shuffle_ops import channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: E402, F401
from .unpool_ops import max_unpool1d, max_unpool2d, max_unpool3d  # noqa: E402, F401

threshold = _threshold


# ---- the in-place forms torch names with a trailing underscore ------------------------------------------------


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)
