"""The multivariate normal distribution, parameterized by one of a covariance matrix, a precision matrix or a
lower-triangular scale; every computation goes through the Cholesky factor ``L`` (covariance ``L @ L.mT``)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import linalg
from ..combining import broadcast_shapes
from ..creation import eye
from ..matmul_ops import matmul
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import EMPTY_SIZE, lazy_property, standard_normal

__all__ = ["MultivariateNormal"]

_MATRIX_ARGUMENTS = ("covariance_matrix", "precision_matrix", "scale_tril")


def batch_mv(matrices: Tensor, vectors: Tensor) -> Tensor:
    """Matrix-vector products over broadcast batch shapes."""
    return matmul(matrices, vectors.unsqueeze(-1)).squeeze(-1)


def batch_mahalanobis(factor: Tensor, x: Tensor) -> Tensor:
    """``x @ inv(L @ L.mT) @ x`` for each vector of ``x``: the squared norm of ``inv(L) @ x``.

    A triangular solve reads only the lower triangle of ``L``, so the strict upper triangle gets no gradient.
    """
    batch = broadcast_shapes(factor.shape[:-2], x.shape[:-1])
    n = x.shape[-1]
    solved = linalg.solve(factor.tril().expand((*batch, n, n)), x.expand((*batch, n)).unsqueeze(-1))
    return solved.squeeze(-1).pow(2).sum(-1)


def precision_to_scale_tril(precision: Tensor) -> Tensor:
    """The lower Cholesky factor of ``inv(precision)``, from the Cholesky factor of the flipped precision."""
    flipped_factor = linalg.cholesky(precision.flip((-2, -1)))
    inverse_factor = flipped_factor.flip((-2, -1)).transpose(-2, -1).tril()
    return linalg.solve(inverse_factor, eye(precision.shape[-1], dtype=precision.dtype).expand(precision.shape))


def half_log_det(factor: Tensor) -> Tensor:
    return factor.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class MultivariateNormal(Distribution):
    """A normal distribution over vectors with mean ``loc``."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix, "scale_tril": scale_tril}
        given = {name: value for name, value in given.items() if value is not None}
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        ((name, matrix),) = given.items()
        if matrix.ndim < 2:
            name_shown = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{name_shown} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, matrix.expand((*batch_shape, -1, -1)))
        self.loc = loc.expand((*batch_shape, -1))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        factors = {
            "scale_tril": lambda m: m,
            "covariance_matrix": linalg.cholesky,
            "precision_matrix": precision_to_scale_tril,
        }
        self._unbroadcasted_scale_tril = factors[name](matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MultivariateNormal:
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        matrix_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in _MATRIX_ARGUMENTS:
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(matrix_shape))
        return self._expanded(new, batch_shape, self.event_shape)

    def _matrix_shape(self) -> Size:
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        return matmul(factor, factor.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        return linalg.inv(matmul(factor, factor.mT)).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape: Any = EMPTY_SIZE) -> Tensor:
        eps = standard_normal(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        factor = self._unbroadcasted_scale_tril
        distance = batch_mahalanobis(factor, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + distance) - half_log_det(factor)

    def entropy(self) -> Tensor:
        entropy = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det(
            self._unbroadcasted_scale_tril
        )
        return entropy if len(self._batch_shape) == 0 else entropy.expand(self._batch_shape)
