"""``instance_norm`` and ``rms_norm`` of ``nn.functional``, composed from reductions and elementwise ops."""

from __future__ import annotations

from collections.abc import Sequence

from ..grad_mode import no_grad
from ..tensor import Tensor
from ..type_info import finfo
from .functional_base import _as_op, _channel_affine, _channel_view, _moments


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each (sample, channel) over its positions; running statistics average the samples' ones.

    As in torch the running variance takes each instance's unbiased variance, averaged over the batch.
    """
    ndim = input.ndim
    axes = tuple(range(2, ndim))
    if use_input_stats:
        count = input.numel() // (input.shape[0] * input.shape[1])
        if count <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
        mean, centered, squares, var = _moments(input, axes, count)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.reshape(input.shape[:2]).mean(0) * momentum)
            if running_var is not None:
                unbiased = squares.reshape(input.shape[:2]) / (count - 1)
                running_var.mul_(1 - momentum).add_(unbiased.mean(0) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
        centered = input - _channel_view(running_mean, ndim, 1)
        var = _channel_view(running_var, ndim, 1)
    # torch batch-normalizes the (1, N*C, ...) view of the input and views the result back: its record says so
    out = _channel_affine(centered * (var + eps).rsqrt(), weight, bias)
    return _as_op("ViewBackward0", out, input, weight, bias)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps)`` over the trailing ``normalized_shape`` axes; ``eps=None`` is the dtype's."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) > input.ndim or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    eps = finfo(input.dtype).eps if eps is None else eps
    out = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight
