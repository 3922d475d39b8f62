"""What the location-scale families (Normal, Laplace, Cauchy) share: a real ``loc`` and a positive ``scale``,
broadcast together into the batch shape, and expanded together."""

from __future__ import annotations

from typing import Any, ClassVar

from ..tensor import Size
from . import constraints
from .utils import broadcast_all, is_number


class LocationScale:
    """A mixin placed before the family's distribution base (``class Normal(LocationScale, ExponentialFamily)``)."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        batch_shape = Size() if is_number(loc) and is_number(scale) else self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        family = next(c for c in type(self).__mro__ if LocationScale in c.__bases__)
        new = self._get_checked_instance(family, _instance)
        batch_shape = Size(batch_shape)
        new.loc, new.scale = self.loc.expand(batch_shape), self.scale.expand(batch_shape)
        return self._expanded(new, batch_shape)
