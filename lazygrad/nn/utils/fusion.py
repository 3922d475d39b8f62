"""Folding an evaluation-mode BatchNorm into the convolution or linear layer before it.

In eval mode a BatchNorm is the affine map ``(x - mean) / sqrt(var + eps) * w + b`` per channel, so it can be
moved into the preceding layer's weight and bias: one layer instead of two, with the same outputs.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from ...creation import ones_like, zeros_like
from ...grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter

ModuleT = TypeVar("ModuleT")


def _check_eval(layer: Any, bn: Any) -> None:
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def fuse_conv_bn_eval(conv: ModuleT, bn: Any, transpose: bool = False) -> ModuleT:
    """A new convolution computing ``bn(conv(x))`` of the eval-mode ``conv`` and ``bn`` (``transpose`` for a
    transposed convolution, whose output channels are the weight's second axis)."""
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Tensor | None, bn_b: Tensor | None,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The weight and bias of a convolution followed by an eval-mode BatchNorm, as new Parameters."""
    bias_dtype = conv_w.dtype if conv_b is None else conv_b.dtype
    bias_requires_grad = False if conv_b is None else conv_b.requires_grad
    with no_grad():
        conv_b = zeros_like(bn_rm) if conv_b is None else conv_b
        bn_w = ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = zeros_like(bn_rm) if bn_b is None else bn_b
        rsqrt = (bn_rv + bn_eps).rsqrt()
        shape = [1, -1] if transpose else [-1, 1]
        weight = (conv_w * (bn_w * rsqrt).reshape(shape + [1] * (conv_w.ndim - 2))).to(conv_w.dtype)
        bias = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(bias_dtype)
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, bias_requires_grad)


def fuse_linear_bn_eval(linear: ModuleT, bn: Any) -> ModuleT:
    """A new Linear computing ``bn(linear(x))`` of the eval-mode ``linear`` and ``bn`` (a BatchNorm over the
    linear's output features, or over one feature broadcast to all)."""
    _check_eval(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                           bn_w: Tensor, bn_b: Tensor) -> tuple[Parameter, Parameter]:
    """The weight and bias of a Linear followed by an eval-mode BatchNorm, as new Parameters."""
    bias_dtype = linear_w.dtype if linear_b is None else linear_b.dtype
    bias_requires_grad = False if linear_b is None else linear_b.requires_grad
    with no_grad():
        linear_b = zeros_like(bn_rm) if linear_b is None else linear_b
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        weight = linear_w * scale.unsqueeze(-1).to(linear_w.dtype)
        bias = ((linear_b - bn_rm) * scale + bn_b).to(bias_dtype)
    return Parameter(weight, linear_w.requires_grad), Parameter(bias, bias_requires_grad)
