"""``torch.conv2d``, ``torch.dropout(x, p, train)``, ``torch.layer_norm``, ...: the ``torch.*`` forms of the
``nn.functional`` ops.

torch offers its nn kernels in its own namespace too, under the kernels' signatures rather than
``nn.functional``'s: ``embedding`` takes the weight first, ``batch_norm`` and ``instance_norm`` the affine
parameters before the running statistics and every argument required, the dropouts a required ``train``, and
the losses ``reduction`` as an int (0 none, 1 mean, 2 sum). Each form here calls the functional op, so the
graph, the values and the ``grad_fn`` are the functional op's (which records torch's names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import dtypes
from .creation import Generator, full
from .nn import functional as F
from .nn.functional_base import _as_op, _feature_dropout, _masked_dropout, _reduce
from .nn.functional_layers import _alpha_dropout
from .nn.random_activation_ops import randomized_leaky_relu
from .tensor import Tensor, attach

# torch's loss reductions as its kernels take them (at::Reduction): any other code reduces nothing, as in torch.
_REDUCTIONS = {1: "mean", 2: "sum"}
# The default torch's argument parser gives the losses' ``reduction``: their stubs read 1 (mean), but the parser
# reads the kernels' default ``Mean`` as the number 0, so a call that leaves it out reduces nothing.
_PARSED_DEFAULT = 0


def _reduction(code: int) -> str:
    return _REDUCTIONS.get(code, "none")


def _checked_p(p: float) -> float:
    """The dropout kernels' own check, a RuntimeError (``nn.functional``'s is a ValueError, raised in Python)."""
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


# ---- dropout ---------------------------------------------------------------------------------------------------


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return _masked_dropout(input, _checked_p(p), train, False, False)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _masked_dropout(input, _checked_p(p), train, True, False)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels: one draw per (sample, channel), for any input of two axes or more."""
    return _feature_dropout(input, _checked_p(p), train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _feature_dropout(input, _checked_p(p), train, True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return _alpha_dropout(input, _checked_p(p), train, False, False)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _alpha_dropout(input, _checked_p(p), train, True, False)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return _alpha_dropout(input, _checked_p(p), train, False, True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _alpha_dropout(input, _checked_p(p), train, True, True)


# ---- embedding and normalization -------------------------------------------------------------------------------


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at ``indices``. The kernel's ``padding_idx`` is a row or, outside the rows, none (-1):
    ``nn.functional`` is the one that counts a negative index from the end."""
    padding = padding_idx if 0 <= padding_idx < weight.shape[0] else None
    return F.embedding(indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05, cudnn_enable: bool = True) -> Tensor:
    """``cudnn_enable`` picks a GPU kernel in torch; there is one computation here."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
               running_var: Tensor | None, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-05, cudnn_enabled: bool = True) -> Tensor:
    return F.group_norm(input, num_groups, weight, bias, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                  running_var: Tensor | None, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# ---- pooling: torch's empty ``stride`` is the kernel size, and the ``_with_indices`` forms return both ---------


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    return F.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    return F.avg_pool1d(input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple[Tensor, Tensor]:
    return F.adaptive_max_pool1d(input, output_size, True)


# ---- activations: no ``inplace`` flag, the in-place forms are their own functions ------------------------------


def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def rrelu(input: Tensor, lower: float = 0.125, upper: float = 0.3333333333333333, training: bool = False,
          generator: Generator | None = None) -> Tensor:
    return randomized_leaky_relu(input, lower, upper, training, False, generator)


def rrelu_(input: Tensor, lower: float = 0.125, upper: float = 0.3333333333333333, training: bool = False,
           generator: Generator | None = None) -> Tensor:
    return randomized_leaky_relu(input, lower, upper, training, True, generator)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle``'s values, recorded as torch records this kernel: without a derivative of its own."""
    out = F.channel_shuffle(input, groups)
    return _as_op("NotImplemented", out, input)


# ---- losses, ``reduction`` an int ------------------------------------------------------------------------------


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None, reduction: int = _PARSED_DEFAULT) -> Tensor:
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = _PARSED_DEFAULT) -> Tensor:
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = _PARSED_DEFAULT) -> Tensor:
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = _PARSED_DEFAULT) -> Tensor:
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def kl_div(input: Tensor, target: Tensor, reduction: int = _PARSED_DEFAULT, *, log_target: bool = False) -> Tensor:
    """The kernel's mean is over every element, unwarned: ``nn.functional``'s warns that it is not ``batchmean``."""
    return _reduce(F.kl_div(input, target, reduction="none", log_target=log_target), _reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-06, swap: bool = False, reduction: int = _PARSED_DEFAULT) -> Tensor:
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


# ---- the rest ------------------------------------------------------------------------------------------------


def rsub(input: Tensor, other: Any, alpha: float = 1) -> Tensor:
    """``other - alpha * input``: ``sub`` with its operands swapped."""
    if isinstance(other, Tensor):
        return _as_op("RsubBackward0", other.sub(input, alpha=alpha), input, other)
    if alpha == 1:
        return input.__rsub__(other)
    return _as_op("RsubBackward1", (input * alpha).__rsub__(other), input)


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:
    return F.pad(input, pad, "constant", value)


def scalar_tensor(s: float, *, dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """A 0-dim tensor holding ``s``, of the default float dtype whatever the number's type."""
    return full((), s, dtype=dtypes.default_float() if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


class NnMethods:
    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        return F.hardshrink(self, lambd)

    def prelu(self, weight: Tensor) -> Tensor:
        return F.prelu(self, weight)


attach(NnMethods)

# torch.<name> for each; the functional op itself where torch's signature is nn.functional's.
FUNCTIONS = {
    **{name: getattr(F, name) for name in (
        "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "rms_norm",
        "cosine_similarity", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
        "adaptive_avg_pool1d", "selu_", "celu_", "threshold_", "prelu", "hardshrink", "bilinear")},
    **{name: globals()[name] for name in (
        "dropout", "dropout_", "feature_dropout", "feature_dropout_", "alpha_dropout", "alpha_dropout_",
        "feature_alpha_dropout", "feature_alpha_dropout_", "embedding", "layer_norm", "batch_norm", "group_norm",
        "instance_norm", "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool3d", "avg_pool1d",
        "adaptive_max_pool1d", "selu", "celu", "threshold", "rrelu", "rrelu_", "native_channel_shuffle",
        "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
        "kl_div", "poisson_nll_loss", "triplet_margin_loss", "rsub", "constant_pad_nd", "scalar_tensor")},
}
# Those whose torch signature takes a keyword-only ``out=``.
TAKES_OUT = {"hardshrink", "threshold"}
