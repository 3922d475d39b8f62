"""``biject_to`` and ``transform_to``: from a constraint to a transform that maps unconstrained reals onto it.

Both are registries keyed by the constraint's type. ``biject_to(c)`` is a bijection (so a ``TransformedDistribution``
can score through it: Hamiltonian Monte Carlo needs it); ``transform_to(c)`` only needs to reach ``c`` and may
pick a simpler, overparameterized map (``softmax`` onto the simplex), for optimizing constrained parameters.
As in torch, a registration applies to every constraint of that type, so the rule registered last for a type
(``greater_than`` after ``positive``) is the one both of them get.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Number
from typing import Any

from . import constraints, transforms

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]

Factory = Callable[[Any], transforms.Transform]


class ConstraintRegistry:
    """Factories of transforms, one per constraint type."""

    def __init__(self) -> None:
        self._registry: dict[type, Factory] = {}
        super().__init__()

    def register(self, constraint: Any, factory: Factory | None = None) -> Any:
        """Register ``factory`` for the type of ``constraint`` (a constraint or its class); without a factory, a
        decorator."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint, constraints.Constraint):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or instance, but got {constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint: constraints.Constraint) -> transforms.Transform:
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _to_greater_than(c: Any) -> transforms.Transform:
    return transforms.ComposeTransform([transforms.ExpTransform(), transforms.AffineTransform(c.lower_bound, 1)])


def _to_less_than(c: Any) -> transforms.Transform:
    return transforms.ComposeTransform([transforms.ExpTransform(), transforms.AffineTransform(c.upper_bound, -1)])


def _to_interval(c: Any) -> transforms.Transform:
    lower, upper = c.lower_bound, c.upper_bound
    if isinstance(lower, Number) and lower == 0 and isinstance(upper, Number) and upper == 1:
        return transforms.SigmoidTransform()
    return transforms.ComposeTransform(
        [transforms.SigmoidTransform(), transforms.AffineTransform(lower, upper - lower)]
    )


def _recursive(registry: ConstraintRegistry) -> dict[type, Factory]:
    """The rules that build a transform from the transforms of the constraints a constraint is made of."""
    return {
        constraints.independent: lambda c: transforms.IndependentTransform(
            registry(c.base_constraint), c.reinterpreted_batch_ndims
        ),
        constraints.cat: lambda c: transforms.CatTransform([registry(p) for p in c.cseq], c.dim, c.lengths),
        constraints.stack: lambda c: transforms.StackTransform([registry(p) for p in c.cseq], c.dim),
    }


# in registration order: a later rule for the same constraint type replaces an earlier one, as torch's does
_SHARED: list[tuple[Any, Factory]] = [
    (constraints.real, lambda c: transforms.identity_transform),
    (constraints.positive, lambda c: transforms.ExpTransform()),
    (constraints.nonnegative, lambda c: transforms.ExpTransform()),
    (constraints.greater_than, _to_greater_than),
    (constraints.greater_than_eq, _to_greater_than),
    (constraints.less_than, _to_less_than),
    (constraints.interval, _to_interval),
    (constraints.half_open_interval, _to_interval),
    (constraints.corr_cholesky, lambda c: transforms.CorrCholeskyTransform()),
]
_BIJECTIONS_ONLY: list[tuple[Any, Factory]] = [
    (constraints.simplex, lambda c: transforms.StickBreakingTransform()),
]
_TRANSFORMS_ONLY: list[tuple[Any, Factory]] = [
    (constraints.simplex, lambda c: transforms.SoftmaxTransform()),
    (constraints.lower_cholesky, lambda c: transforms.LowerCholeskyTransform()),
    (constraints.positive_definite, lambda c: transforms.PositiveDefiniteTransform()),
    (constraints.positive_semidefinite, lambda c: transforms.PositiveDefiniteTransform()),
]

for _registry, _own in ((biject_to, _BIJECTIONS_ONLY), (transform_to, _TRANSFORMS_ONLY)):
    for _constraint, _factory in [*_SHARED, *_own, *_recursive(_registry).items()]:
        _registry.register(_constraint, _factory)
del _registry, _own, _constraint, _factory
