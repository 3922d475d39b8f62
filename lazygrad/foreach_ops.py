"""``torch._foreach_*``: one op applied to each tensor of a list, the fused multi-tensor kernels that optimizers
and weight averaging (``swa_utils``' EMA) call.

A lazy program fuses on its own, so each is the op applied tensor by tensor. An argument that is a list (of
tensors or numbers) is taken element by element; anything else (a number, a 0-d tensor) is shared. The in-place
form returns the list it updated, the out-of-place one a tuple, as torch's do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .linalg import vector_norm
from .tensor import Tensor

# Ops with both forms (``_foreach_add`` and ``_foreach_add_``), each the Tensor method of that name.
_BOTH = ("abs", "acos", "addcdiv", "addcmul", "asin", "atan", "ceil", "clamp_max", "clamp_min", "cos", "cosh", "div",
         "erf", "erfc", "exp", "expm1", "floor", "frac", "lerp", "lgamma", "log", "log10", "log1p", "log2", "maximum",
         "minimum", "mul", "neg", "pow", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt",
         "sub", "tan", "tanh", "trunc", "add")
_IN_PLACE_ONLY = ("zero", "copy")


def _nth(args: Sequence[Any], i: int) -> list[Any]:
    return [a[i] if isinstance(a, (list, tuple)) else a for a in args]


def _out_of_place(name: str) -> Callable[..., tuple[Tensor, ...]]:
    def op(self: Sequence[Tensor], *args: Any, **kwargs: Any) -> tuple[Tensor, ...]:
        return tuple(getattr(t, name)(*_nth(args, i), **kwargs) for i, t in enumerate(self))
    op.__name__ = f"_foreach_{name}"
    return op


def _in_place(name: str) -> Callable[..., Sequence[Tensor]]:
    method = f"{name}_" if hasattr(Tensor, f"{name}_") else None

    def op(self: Sequence[Tensor], *args: Any, **kwargs: Any) -> Sequence[Tensor]:
        for i, t in enumerate(self):
            if method is None:  # torch has no Tensor.maximum_: the result is copied in
                t.copy_(getattr(t, name)(*_nth(args, i), **kwargs))
            else:
                getattr(t, method)(*_nth(args, i), **kwargs)
        return self
    op.__name__ = f"_foreach_{name}_"
    return op


def _foreach_norm(self: Sequence[Tensor], ord: Any = 2, dtype: Any = None) -> tuple[Tensor, ...]:
    """Each tensor's vector norm (the whole tensor flattened), as clip_grad_norm_ computes them."""
    return tuple(vector_norm(t, ord, dtype=dtype) for t in self)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{f"_foreach_{name}": _out_of_place(name) for name in _BOTH},
    **{f"_foreach_{name}_": _in_place(name) for name in (*_BOTH, *_IN_PLACE_ONLY)},
    "_foreach_norm": _foreach_norm,
}
TAKES_OUT: set[str] = set()
