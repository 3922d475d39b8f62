"""``renorm``: every slice along a dimension whose p-norm exceeds ``maxnorm`` scaled down to it (the max-norm
constraint of embedding and weight rows), composed as torch computes it: ``x * maxnorm / (norm + 1e-7)`` where the
norm is over the limit, so its gradient includes the norm's own."""

from __future__ import annotations

from . import ops
from .ir import apply
from .linalg import vector_norm
from .tensor import Tensor, _dim, _record, attach

_EPSILON = 1e-7  # torch's guard against a zero norm in the scale


class RenormMethods:
    """renorm and renorm_ (attached to Tensor below)."""

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """self with each ``self.select(dim, i)`` whose ``p``-norm exceeds ``maxnorm`` rescaled to norm ``maxnorm``."""
        if p <= 0:
            raise RuntimeError("renorm: non-positive-norm not supported")
        if maxnorm < 0:
            raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
        if self.ndim <= 1:
            raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {self.ndim} dimensions")
        axis = _dim(dim, self.ndim)
        norm = vector_norm(self, p, [a for a in range(self.ndim) if a != axis], True).node
        limit = ops.const(maxnorm, norm.dtype)
        scale = ops.div(ops.broadcast_to(limit, norm.shape), ops.add(norm, ops.const(_EPSILON, norm.dtype)))
        factor = ops.select(apply("gt", (norm, limit)), scale, ops.broadcast_to(ops.const(1, norm.dtype), norm.shape))
        return _record("RenormBackward0", ops.mul(self.node, factor), self)

    def renorm_(self, p: float, dim: int, maxnorm: float) -> Tensor:
        return self._inplace(Tensor.renorm, p, dim, maxnorm)


attach(RenormMethods)

FUNCTIONS = {"renorm": Tensor.renorm}
TAKES_OUT = {"renorm"}
