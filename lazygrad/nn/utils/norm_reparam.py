"""The computations weight and spectral normalization share between their two forms: the forward pre-hooks of
``nn.utils.weight_norm``/``spectral_norm`` and the parametrizations of ``nn.utils.parametrizations``.

Both forms must give torch's values and ``grad_fn`` names and draw torch's random numbers, so each rule lives
here once rather than in each form.
"""

from __future__ import annotations

from ...grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..functional_base import _as_op


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every axis but ``dim`` (kept, the others of size 1); over all of ``v`` for -1."""
    if dim == -1:
        return v.norm(2)
    if dim == 0:
        return v.reshape(v.shape[0], -1).norm(2, 1).reshape(v.shape[0], *([1] * (v.ndim - 1)))
    if dim == v.ndim - 1:
        return v.reshape(-1, v.shape[-1]).norm(2, 0).reshape(*([1] * (v.ndim - 1)), v.shape[-1])
    return norm_except_dim(v.transpose(0, dim), 0).transpose(0, dim)


def rescaled_direction(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``v`` rescaled to the norms ``g`` along ``dim`` (torch's ``_weight_norm``), named as torch's fused op where
    torch fuses it (the first and last axes)."""
    out = v * (g / norm_except_dim(v, dim))
    if dim in (0, v.ndim - 1):
        return _as_op("WeightNormInterfaceBackward0", out, v, g)
    return out


def weight_as_matrix(weight: Tensor, dim: int) -> Tensor:
    """``weight`` as a matrix whose rows run along ``dim``: the matrix whose spectral norm is estimated."""
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.ndim) if d != dim])
    return weight.reshape(weight.shape[0], -1)


def random_unit_vectors(matrix: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Starting left and right singular vectors for the power iteration: normal draws, left first, as torch draws
    them (so a seeded program starts from torch's vectors), scaled to unit length."""
    height, width = matrix.shape
    with no_grad():
        u = F.normalize(matrix.new_empty(height).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(matrix.new_empty(width).normal_(0, 1), dim=0, eps=eps)
    return u, v
