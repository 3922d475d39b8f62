"""``torch.autograd.functional``: Jacobians, Hessians and their products with vectors, for a function of tensors.

Each function calls ``func`` on differentiable stand-ins of ``inputs`` and asks ``autograd.grad`` for the
products, one reverse pass per row of a Jacobian. As in torch, a tensor given as ``inputs`` gives results
without the tuple, an input an output does not depend on gets zeros (``strict=True`` refuses it instead), and
results are detached unless ``create_graph=True``. Everything stays lazy until a result is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..creation import zeros, zeros_like
from ..grad_mode import enable_grad
from ..reshaping import stack
from ..tensor import Tensor
from .engine import grad

Inputs = Tensor | Sequence[Tensor]


def _as_tuple(value: Any, arg: str, fn: str) -> tuple[tuple[Tensor, ...], bool]:
    is_tuple = isinstance(value, (tuple, list))
    values = tuple(value) if is_tuple else (value,)
    for i, t in enumerate(values):
        if not isinstance(t, Tensor):
            where = f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors"
            raise TypeError(f"{where} but the value at index {i} has type {type(t)}." if is_tuple else
                            f"{where} but the given {arg} has type {type(t)}.")
    return values, is_tuple


def _stand_ins(inputs: Inputs, create_graph: bool, fn: str) -> tuple[tuple[Tensor, ...], bool]:
    """Leaves to differentiate against, and whether ``inputs`` was a tuple; with ``create_graph`` an input with
    history keeps it (a view of it)."""
    xs, is_tuple = _as_tuple(inputs, "inputs", fn)
    leaves = tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_() for x in xs)
    return leaves, is_tuple


def _grads(outputs: Sequence[Tensor], inputs: Sequence[Tensor], cotangents: Sequence[Tensor | None] | None,
           create_graph: bool, strict: bool, what: str = "input") -> tuple[Tensor, ...]:
    """``sum_i cotangent_i^T d outputs_i / d inputs``, zeros for an input nothing depends on."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents or [None] * len(outputs)) if o.requires_grad]
    found: Sequence[Tensor | None] = [None] * len(inputs)
    if pairs:
        found = grad([o for o, _ in pairs], list(inputs), [c for _, c in pairs], retain_graph=True,
                     create_graph=create_graph, allow_unused=True)
    for i, g in enumerate(found):
        if g is None and strict:
            raise RuntimeError(f"The output of the user-provided function is independent of {what} {i}. This is not "
                               "allowed in strict mode.")
    return tuple(zeros_like(x) if g is None else g for g, x in zip(found, inputs))


_NO_GRAD = {
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs must be computed "
               "in a differentiable manner from the input when running in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with respect "
                "to input {i} is independent of the input. This is not allowed in strict mode. You should ensure that "
                "your function is twice differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).",
}


def _check_requires_grad(values: Sequence[Tensor], kind: str, strict: bool) -> None:
    """In strict mode, refuse ``values`` (the function's outputs, or the gradient a Hessian differentiates) that
    carry no graph: a constant output, a linear function's gradient."""
    if strict:
        for i, value in enumerate(values):
            if not value.requires_grad:
                raise RuntimeError(_NO_GRAD[kind].format(i=i))


def _out(values: Sequence[Tensor], is_tuple: bool, create_graph: bool) -> Any:
    values = tuple(v if create_graph else v.detach() for v in values)
    return values if is_tuple else values[0]


def _cotangents(v: Any, outputs: tuple[Tensor, ...], fn: str) -> tuple[Tensor, ...]:
    """``v`` checked against ``outputs``; without one, each output must hold a single element (the ones)."""
    if v is None:
        if any(o.numel() != 1 for o in outputs):
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
        return tuple(zeros_like(o) + 1 for o in outputs)
    vs, _ = _as_tuple(v, "v", fn)
    if len(vs) != len(outputs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(outputs)} but got {len(vs)}.")
    for i, (c, o) in enumerate(zip(vs, outputs)):
        if c.shape != o.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {o.shape} but got {c.shape}.")
    return vs


def _call(func: Callable, inputs: tuple[Tensor, ...], fn: str, strict: bool) -> tuple[tuple[Tensor, ...], bool]:
    outputs, is_tuple = _as_tuple(func(*inputs), "outputs of the user-provided function", fn)
    _check_requires_grad(outputs, "outputs", strict)
    return outputs, is_tuple


def vjp(func: Callable, inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    with enable_grad():
        xs, inputs_tuple = _stand_ins(inputs, create_graph, "vjp")
        outputs, outputs_tuple = _call(func, xs, "vjp", strict)
        products = _grads(outputs, xs, _cotangents(v, outputs, "vjp"), create_graph, strict)
    return _out(outputs, outputs_tuple, create_graph), _out(products, inputs_tuple, create_graph)


def jvp(func: Callable, inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), J v)``, by differentiating the linear map ``u -> J^T u`` (torch's double-backward trick)."""
    with enable_grad():
        xs, _ = _stand_ins(inputs, create_graph, "jvp")
        tangents = _cotangents(v, xs, "jvp")
        outputs, outputs_tuple = _call(func, xs, "jvp", strict)
        dummies = tuple(zeros_like(o).requires_grad_() for o in outputs)
        transposed = _grads(outputs, xs, dummies, True, strict)
        products = _grads(transposed, dummies, tangents, create_graph, strict, "output")
    return _out(outputs, outputs_tuple, create_graph), _out(products, outputs_tuple, create_graph)


def _jacobian(func: Callable, xs: tuple[Tensor, ...], create_graph: bool, strict: bool,
              fn: str) -> tuple[tuple[Tensor, ...], bool, tuple[tuple[Tensor, ...], ...]]:
    """The outputs, whether they were a tuple, and ``d output_i / d input_j`` at ``[i][j]``, one pass per row."""
    outputs, outputs_tuple = _call(func, xs, fn, strict)
    blocks = []
    for out in outputs:
        flat = out.reshape(-1)
        rows = [_grads((flat[k],), xs, None, create_graph, strict) for k in range(flat.numel())]
        blocks.append(tuple(stack([row[j] for row in rows]).reshape(*out.shape, *x.shape) if rows
                            else zeros(*out.shape, *x.shape, dtype=x.dtype) for j, x in enumerate(xs)))
    return outputs, outputs_tuple, tuple(blocks)


def _nested(blocks: tuple[tuple[Tensor, ...], ...], outputs_tuple: bool, inputs_tuple: bool,
            create_graph: bool) -> Any:
    rows = tuple(_out(row, inputs_tuple, create_graph) for row in blocks)
    return rows if outputs_tuple else rows[0]


def _check_strategy(strategy: str, vectorize: bool) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError('torch.autograd.functional.jacobian: `strategy="forward-mode"` requires '
                                  "`vectorize=True`.")


def jacobian(func: Callable, inputs: Inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """``d func(inputs) / d inputs``, shaped ``output.shape + input.shape`` (nested tuples for tuples of either).

    Both strategies give the same values here, from reverse passes; ``vectorize`` changes nothing else."""
    _check_strategy(strategy, vectorize)
    with enable_grad():
        xs, inputs_tuple = _stand_ins(inputs, create_graph, "jacobian")
        _, outputs_tuple, blocks = _jacobian(func, xs, create_graph, strict, "jacobian")
    return _nested(blocks, outputs_tuple, inputs_tuple, create_graph)


def _scalar_output(func: Callable, xs: tuple[Tensor, ...], fn: str, strict: bool) -> Tensor:
    outputs, _ = _call(func, xs, fn, strict)
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor with a single element.")
    return outputs[0]


def hessian(func: Callable, inputs: Inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Jacobian of the gradient of a scalar ``func``: ``[i][j] = d^2 f / d input_i d input_j``."""
    _check_strategy(outer_jacobian_strategy, vectorize)

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        result = _grads((_scalar_output(func, xs, "hessian", strict),), xs, None, True, strict)
        _check_requires_grad(result, "jacobian", strict)
        return result

    with enable_grad():
        xs, inputs_tuple = _stand_ins(inputs, create_graph, "hessian")
        _, _, blocks = _jacobian(gradient, xs, create_graph, strict, "hessian")
    return _nested(blocks, inputs_tuple, inputs_tuple, create_graph)


def _gradient(func: Callable, xs: tuple[Tensor, ...], v: Any, strict: bool,
              fn: str) -> tuple[Tensor, tuple[Tensor, ...], tuple[Tensor, ...]]:
    """A scalar ``func``'s value at ``xs``, its differentiable gradient, and ``v`` checked against ``xs``."""
    vs = _cotangents(v, xs, fn)
    out = _scalar_output(func, xs, fn, strict)
    gradient = _grads((out,), xs, None, True, strict)
    _check_requires_grad(gradient, "jacobian", strict)
    return out, gradient, vs


def vhp(func: Callable, inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    with enable_grad():
        xs, inputs_tuple = _stand_ins(inputs, create_graph, "vhp")
        out, gradient, vs = _gradient(func, xs, v, strict, "vhp")
        products = _grads(gradient, xs, vs, create_graph, strict)
    return _out((out,), False, create_graph), _out(products, inputs_tuple, create_graph)


def hvp(func: Callable, inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), H v)`` for a scalar ``func``, through the transposed product as torch computes it."""
    with enable_grad():
        xs, inputs_tuple = _stand_ins(inputs, create_graph, "hvp")
        out, gradient, vs = _gradient(func, xs, v, strict, "hvp")
        dummies = tuple(zeros_like(x).requires_grad_() for x in xs)
        transposed = _grads(gradient, xs, dummies, True, strict)
        products = _grads(transposed, dummies, vs, create_graph, strict, "output")
    return _out((out,), False, create_graph), _out(products, inputs_tuple, create_graph)
