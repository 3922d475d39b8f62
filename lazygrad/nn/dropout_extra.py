"""Dropout for volumes (``Dropout3d``) and for self-normalizing networks (``AlphaDropout``,
``FeatureAlphaDropout``)."""

from __future__ import annotations

from ..tensor import Tensor
from .functional_layers import alpha_dropout, dropout3d, feature_alpha_dropout
from .layers import Dropout


class Dropout3d(Dropout):
    """Zeroes whole channels of (N, C, D, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(Dropout):
    """Keeps SELU activations at zero mean and unit variance; the identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels (one draw per sample and channel); the identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return feature_alpha_dropout(input, self.p, self.training)
