"""The helpers ``nn.functional`` and its families share: in-place results, torch-named records, reductions,
channel dropout and ``logsigmoid``. A module of their own, so the families import them without a cycle."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..arithmetic import where
from ..creation import drawn, zeros
from ..random_ops import memory_order
from ..random_stream import RandomStream
from ..tensor import _ABSENT, Tensor, _record, _torch_type_name


def _inplace(input: Tensor, result: Tensor, inplace: bool, name: str | None = None) -> Tensor:
    """Honour ``inplace=True``: ``input`` takes the result's value and history, as torch's in-place kernel gives
    it, under the record ``name`` where torch names its in-place form apart (``LeakyReluBackward1``)."""
    if not inplace:
        return result
    input._check_inplace()
    return input._assign(result if name is None else _record(name, result.node, input))


def _channel_view(t: Tensor, ndim: int, axis: int) -> Tensor:
    """A per-channel vector shaped to broadcast along ``axis`` of an ``ndim``-dimensional tensor."""
    return t.reshape(t.shape[0], *([1] * (ndim - axis - 1)))


def _channel_affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """``out * weight + bias`` with (C,) vectors along axis 1, either of them left out when None (the norms)."""
    if weight is not None:
        out = out * _channel_view(weight, out.ndim, 1)
    if bias is not None:
        out = out + _channel_view(bias, out.ndim, 1)
    return out


def _moments(input: Tensor, axes: tuple[int, ...], count: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Over ``axes`` (kept) of ``count`` elements: the mean, the centered input, the summed squares of it, and the
    biased variance. The running statistics of batch and instance norm need the sum for the unbiased one."""
    mean = input.mean(axes, keepdim=True)
    centered = input - mean
    squares = (centered * centered).sum(axes, keepdim=True)
    return mean, centered, squares, squares / count


def _as_op(name: str, out: Tensor, *inputs: Tensor | None) -> Tensor:
    """``out``, composed from ``inputs`` by Tensor ops, recorded as one op named like torch's.

    Only the ``grad_fn`` name changes: the gradient still comes from the composed nodes' VJP rules. A None
    input is an optional argument left out, kept in the record's ``next_functions`` as torch keeps it.
    """
    return _record(name, out.node, *(_ABSENT if t is None else t for t in inputs))


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """Map the deprecated ``size_average``/``reduce`` pair to a ``reduction`` string, as torch does."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  UserWarning, stacklevel=3)
    return reduction


def _reduction(reduction: str, size_average: bool | None, reduce: bool | None) -> str:
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))`` without overflow.

    Both branches take ``exp`` of a non-positive number, and the branch is picked by the same
    ``x >= 0`` test in both places, so the gradient at 0 is torch's 0.5 (an ``abs``/``clamp`` form
    would give 1 there, and a naive two-branch form would leak NaN gradients from the unused branch).
    """
    positive = input >= 0
    out = where(positive, 0.0, input) - where(positive, -input, input).exp().log1p()
    return _as_op("LogSigmoidBackward0", out, input)


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _skips_draw(input: Tensor, p: float, training: bool) -> bool:
    """torch returns the input itself, drawing nothing, in evaluation, for p == 0 and for an empty input."""
    return not training or p == 0.0 or input.numel() == 0


def _dropout_noise(input: Tensor, p: float, feature: bool, finish: Callable) -> Tensor:
    """torch's dropout noise: ``bernoulli_(1 - p)`` (one double-precision uniform per value) in the input's
    dtype, turned by ``finish(keep, work, dtype)`` into what torch's in-place ops make of it.

    Element-wise noise is ``empty_like(input)``, laid out as the input is, and the draws fill its memory in
    order: a transposed input draws in its memory's order. Channel noise (``feature``) is a new contiguous
    (N, C, 1, ...) tensor. The noise is made on the host, as torch makes it, and enters the program as an
    input (a compiled replay draws it again); only the products with the input stay in the graph.
    """
    shape = _feature_shape(input) if feature else tuple(input.shape)
    if not input.dtype.is_floating_point:  # torch draws the mask, then cannot scale it in place
        drawn(lambda stream: stream.bernoulli(shape, 1.0 - p))
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_torch_type_name(input.dtype)}")
    order = tuple(range(len(shape))) if feature else memory_order(shape, input.stride())
    dtype = input.dtype.np
    work = np.float64 if dtype == np.float64 else np.float32  # torch's arithmetic type for the dtype

    def make(stream: RandomStream) -> np.ndarray:
        keep = stream.bernoulli(tuple(shape[a] for a in order), 1.0 - p).transpose(np.argsort(order))
        return finish(keep.astype(dtype), work, dtype)

    return drawn(make, device=input.device)


def _zeroed(input: Tensor) -> Tensor:
    """Dropout with p == 1: torch multiplies by a zero of the input's dtype (NaN stays NaN), drawing nothing."""
    return input * zeros((), dtype=input.dtype)


def _masked_dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool) -> Tensor:
    """Dropout with one draw per element (per channel if ``feature``), broadcast over ``input``: torch's
    ``input * noise`` where ``noise`` is the mask divided by ``1 - p`` in the input's dtype (a kept value is
    scaled by ``1 / (1 - p)`` rounded as torch rounds it); p == 1 multiplies by zero without drawing."""
    _check_p(p)
    if _skips_draw(input, p, training):
        return input
    if p == 1.0:
        return _inplace(input, _zeroed(input), inplace)

    def scaled(keep: np.ndarray, work: type, dtype: np.dtype) -> np.ndarray:
        return (keep.astype(work) / work(1.0 - p)).astype(dtype)

    return _inplace(input, input * _dropout_noise(input, p, feature, scaled), inplace)


def _warn_feature_rank(name: str, ndim: int, spatial: int) -> None:
    """torch's deprecation warning for a channel dropout given a rank it was not made for (warned at the caller's
    caller: the user's line)."""
    warnings.warn(f"{name}: Received a {ndim}-D input to {name}, which is deprecated and will result in an error in "
                  "a future release. To retain the behavior and silence this warning, please use dropout instead. "
                  f"Note that {name} exists to provide channel-wise dropout on inputs with {spatial} spatial "
                  "dimensions, a channel dimension, and an optional batch dimension (i.e. "
                  f"{spatial + 1}D or {spatial + 2}D inputs).", UserWarning, stacklevel=3)


def _feature_shape(input: Tensor) -> tuple[int, ...]:
    """torch's feature noise shape: one value per (sample, channel), broadcast along the remaining axes."""
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return (*input.shape[:2], *([1] * (input.ndim - 2)))


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Zero whole channels: one draw per (sample, channel), shared along the remaining axes."""
    return _masked_dropout(input, p, training, inplace, True)
