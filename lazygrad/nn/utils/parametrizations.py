"""``nn.utils.parametrizations``: weight and spectral normalization as parametrizations.

The successors of the pre-hook forms in ``weight_reparam``: the normalized weight is the module's property
(see ``parametrize``), recomputed on each read rather than before each forward. Weight norm stores the
magnitude ``g`` and direction ``v`` as ``original0`` and ``original1``; spectral norm keeps the weight as
``original`` and its power-iteration vectors as buffers ``_u`` and ``_v`` of the parametrization, advanced
in place (under ``no_grad``) on every read in training mode.
"""

from __future__ import annotations

from typing import Any

from ...grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Module
from . import parametrize
from .norm_reparam import norm_except_dim, random_unit_vectors, rescaled_direction, weight_as_matrix

__all__ = ["spectral_norm", "weight_norm"]

# Power iterations run when spectral norm is registered, so the first forward starts from a good estimate.
_WARM_UP_ITERATIONS = 15


class _WeightNorm(Module):
    """``g * v / ||v||``, the norm taken over every axis but ``dim`` (over all of ``v`` for -1)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return rescaled_direction(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Parametrize ``module.<name>`` by a magnitude (``original0``) and a direction (``original1``), so training
    moves each on its own."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_pre_hook_form(state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        # A checkpoint saved with the pre-hook form names the two tensors ``<name>_g`` and ``<name>_v``.
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(load_pre_hook_form)
    return module


class _SpectralNorm(Module):
    """The weight divided by its largest singular value, estimated by power iteration on the buffers ``_u`` and
    ``_v`` (a vector is divided by its norm, which needs no estimate)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = weight_as_matrix(weight, self.dim)
            u, v = random_unit_vectors(matrix, eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(matrix, _WARM_UP_ITERATIONS)

    def _power_method(self, matrix: Tensor, iterations: int) -> None:
        """Advance the singular-vector estimates, writing the buffers in place: their storage is the module's
        state, so the step's program carries the update."""
        with no_grad():
            for _ in range(iterations):
                self._u = F.normalize(matrix.mv(self._v), dim=0, eps=self.eps, out=self._u)
                self._v = F.normalize(matrix.t().mv(self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        matrix = weight_as_matrix(weight, self.dim)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        # Copies, so a graph built from this read does not see the next read's in-place update.
        u, v = self._u.clone(), self._v.clone()
        return weight / u.dot(matrix.mv(v))

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Parametrize ``module.<name>`` as itself divided by its spectral norm (rows along ``dim``: 1 for transposed
    convolutions, else 0), bounding the layer's Lipschitz constant."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
