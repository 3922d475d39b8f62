"""Helpers the distributions share: broadcasting parameters, probabilities and logits, cached properties."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

from .. import dtypes
from ..combining import broadcast_tensors
from ..creation import ones, zeros
from ..creation import tensor as as_tensor_value
from ..nn import functional as F
from ..random_ops import normal
from ..tensor import Size, Tensor
from ..type_info import finfo


def broadcast_all(*values: Tensor | Number) -> tuple[Tensor, ...]:
    """The values as tensors of one shape: numbers take the dtype of the first tensor (else the default float)."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number, torch.Tensor or objects implementing __torch_function__."
        )
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None else dtypes.default_float()
    tensors = [v if isinstance(v, Tensor) else as_tensor_value(v, dtype=dtype) for v in values]
    return tuple(broadcast_tensors(*tensors))


def standard_normal(shape: tuple[int, ...], dtype: Any) -> Tensor:
    """Standard normal draws through ``torch.normal(zeros, ones)``, the call torch's distributions make."""
    return normal(zeros(shape, dtype=dtype), ones(shape, dtype=dtype))


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """``value`` summed over its last ``dim`` axes (the event axes an ``Independent`` reinterprets)."""
    if dim == 0:
        return value
    return value.reshape((*value.shape[: value.ndim - dim], -1)).sum(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept one machine epsilon away from 0 and 1, so their logarithms stay finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    if is_binary:
        return logits.sigmoid()
    return F.softmax(logits, dim=-1)


def as_size(shape: Any) -> Size:
    return shape if isinstance(shape, Size) else Size(shape)


def is_number(value: Any) -> bool:
    return isinstance(value, Number)


HALF_LOG_TWO_PI = math.log(math.sqrt(2 * math.pi))


class lazy_property:
    """A property computed on first read and then stored in the instance's ``__dict__`` (so a distribution
    built from ``probs`` computes ``logits`` only if asked, and ``repr`` shows only what was given or read)."""

    def __init__(self, compute: Any) -> None:
        self.compute = compute
        self.__doc__ = compute.__doc__
        self.name = compute.__name__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.name] = value
        return value


EMPTY_SIZE = Size()  # the default sample shape: one draw per batch entry


class BinaryParameters:
    """The two forms of a two-outcome distribution's parameter, ``probs`` and ``logits``: the one given is stored
    (and is ``_param``), the other computed from it on first read (Bernoulli, Binomial, Geometric, ...)."""

    _param: Tensor

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def _expand_parameter(self, new: Any, batch_shape: Size) -> None:
        """Give ``new`` (an ``expand``'s instance) each form this one holds, expanded; the last is its ``_param``."""
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(batch_shape))
                new._param = getattr(new, name)
