"""How a primitive is declared, and the helpers its shape rule and VJP rule share with the others.

``declare`` puts a primitive's shape/dtype rule (into ``ir.PRIMITIVES``) and its VJP rule (into
``autodiff.VJP``) in one call, so the two can never drift apart; ``check_covers`` holds any other table
(a backend's implementations) to the same set of names.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from ..autodiff import VJP, Cotangents, Rule
from ..dtypes import DType
from ..ir import PRIMITIVES, Node, Primitive, Shape, apply
from ..ops import const, sum_to

ShapeRule = Callable[..., tuple[Shape, DType]]

# Tensor methods that are one float unary primitive under a torch GradFn name: method -> (primitive, GradFn).
FLOAT_UNARY_METHODS: dict[str, tuple[str, str]] = {}


def declare(name: str, kind: str, rule: ShapeRule, vjp: Rule | None, method: str | None = None,
            grad_fn: str | None = None) -> None:
    """Declare primitive ``name``: its family ``kind``, shape/dtype ``rule`` and ``vjp`` (None for sources).

    ``method``/``grad_fn`` make it a float Tensor method and ``lazygrad.<method>`` function as well.
    """
    if name in PRIMITIVES:
        raise ValueError(f"primitive {name!r} is declared twice")
    PRIMITIVES[name] = Primitive(name, rule, kind)
    if vjp is not None:
        VJP[name] = vjp
    if method is not None:
        FLOAT_UNARY_METHODS[method] = (name, grad_fn)


def check_covers(table: Collection[str], what: str, names: Collection[str] | None = None) -> None:
    """Raise unless ``table`` has an entry for exactly the primitives ``names`` (all of them by default)."""
    expected = set(PRIMITIVES if names is None else names)
    missing, extra = sorted(expected - set(table)), sorted(set(table) - set(PRIMITIVES))
    if missing or extra:
        raise RuntimeError(f"{what} out of step with the primitive table: missing {missing}, unknown {extra}")


# ---- shared by shape rules ------------------------------------------------------------------------------


def _same_dtype(op: str, *nodes: Node) -> DType:
    dtype = nodes[0].dtype
    for node in nodes[1:]:
        if node.dtype is not dtype:
            raise TypeError(f"[{op}] arguments must share a dtype, got "
                            + ", ".join(n.dtype.name for n in nodes))
    return dtype


def _check_axes(op: str, shape: Shape, axes: Sequence[int]) -> None:
    if any(not 0 <= a < len(shape) for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"[{op}] invalid axes {tuple(axes)} for shape {shape}")


# ---- shared by VJP rules ----------------------------------------------------------------------------------


def _u(op: str, x: Node) -> Node:
    return apply(op, (x,))


def _one_minus(x: Node) -> Node:
    return apply("sub", (const(1, x.dtype), x))


def _back(ct: Node | None, arg: Node) -> Node | None:
    return None if ct is None or not arg.dtype.is_floating_point else sum_to(ct, arg.shape)


def _each(n: Node, needs: tuple[bool, ...], *makers: Callable[[], Node | None]) -> Cotangents:
    """Build only the cotangents that are needed; each maker builds one argument's cotangent."""
    out = []
    for need, make, arg in zip(needs, makers, n.args):  # a loop, not a generator: this runs for most records
        out.append(_back(make(), arg) if need else None)
    return tuple(out)
