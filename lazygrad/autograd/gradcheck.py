"""``gradcheck``: analytic Jacobians against central finite differences, as ``torch.autograd.gradcheck``;
``gradgradcheck``: the same check of the gradients themselves, as functions of the inputs and the output gradients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..creation import rand, tensor
from ..tensor import Tensor
from .engine import grad


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when an analytic and a numerical Jacobian disagree."""


def _outputs(result: Any) -> list[Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _numerical(fn: Callable, inputs: list[Any], index: int, n_outputs: int, eps: float) -> list[np.ndarray]:
    """d(output j)/d(input ``index``) by central differences: one (numel(in), numel(out)) array per output."""
    base = inputs[index].detach().numpy().astype(np.float64)
    columns: list[list[np.ndarray]] = [[] for _ in range(n_outputs)]
    for flat_index in range(base.size):
        values = []
        for sign in (1, -1):
            bumped = base.copy().reshape(-1)
            bumped[flat_index] += sign * eps
            args = list(inputs)
            args[index] = tensor(bumped.reshape(base.shape), dtype=inputs[index].dtype)
            # Not under no_grad, as in torch: a checked function may itself differentiate (gradgradcheck's does).
            values.append([o.detach().numpy().astype(np.float64).reshape(-1) for o in _outputs(fn(*args))])
        for j in range(n_outputs):
            columns[j].append((values[0][j] - values[1][j]) / (2 * eps))
    return [np.stack(c) if c else np.zeros((0, 0)) for c in columns]


def _analytical(outputs: list[Tensor], inputs: list[Any], wrt: list[int]) -> list[list[np.ndarray]]:
    """Rows of every Jacobian by one ``autograd.grad`` per output element, all built before any is read."""
    rows: dict[tuple[int, int], list[list[Tensor]]] = {}
    for j, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for k in range(out.numel()):
            seed = np.zeros(out.numel())
            seed[k] = 1.0
            grads = grad(out, [inputs[i] for i in wrt], tensor(seed.reshape(out.shape), dtype=out.dtype),
                         retain_graph=True, allow_unused=True, materialize_grads=True)
            for i, g in zip(wrt, grads):
                rows.setdefault((j, i), []).append(g)
    jacobians = []
    for j, out in enumerate(outputs):
        per_input = []
        for i in wrt:
            row_tensors = rows.get((j, i))
            size = inputs[i].numel()
            if row_tensors is None:
                per_input.append(np.zeros((size, out.numel())))
            else:
                per_input.append(np.stack([r.detach().numpy().astype(np.float64).reshape(-1)
                                           for r in row_tensors], axis=1).reshape(size, out.numel()))
        jacobians.append(per_input)
    return jacobians


def gradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Any], *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Whether ``fn``'s gradients match central differences for every input that requires grad.

    Use float64 inputs: the finite-difference error of float32 swamps the tolerances. On a mismatch,
    raise ``GradcheckError`` with both Jacobians (or return False when ``raise_exception`` is off).
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    outputs = _outputs(fn(*inputs))
    analytical = _analytical(outputs, inputs, wrt)
    for position, i in enumerate(wrt):
        numerical = _numerical(fn, inputs, i, len(outputs), eps)
        for j in range(len(outputs)):
            a, n = analytical[j][position], numerical[j]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                with np.printoptions(precision=4, suppress=True):
                    raise GradcheckError(f"Jacobian mismatch for output {j} with respect to input {i},\n"
                                         f"numerical:{tensor(n)}\nanalytical:{tensor(a)}\n")
    return True


def gradgradcheck(func: Callable[..., Any], inputs: Tensor | Sequence[Any], grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Whether ``func``'s second derivatives match finite differences of its (``create_graph``) gradients.

    The checked function maps the inputs and the output gradients to the input gradients, so both the
    backward's dependence on the inputs and its linearity in the output gradients are checked, as torch does.
    Missing ``grad_outputs`` are drawn uniformly from [-1, 1) (one per output that requires grad).
    """
    tupled_inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        outputs = [o for o in _outputs(func(*tupled_inputs)) if o.requires_grad]
        tupled_grads = tuple((rand(o.shape, dtype=o.dtype) * 2 - 1).requires_grad_() for o in outputs)
    else:
        tupled_grads = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    n_grads = len(tupled_grads)
    diff_inputs = {i for i, x in enumerate(tupled_inputs) if isinstance(x, Tensor) and x.requires_grad}
    diff_grads = {i for i, g in enumerate(tupled_grads) if g.requires_grad}

    def first_derivatives(*args: Any) -> tuple[Tensor, ...]:
        # gradcheck hands in fresh (bumped) tensors: give them back the requires_grad of the originals.
        input_args = [x.requires_grad_() if i in diff_inputs else x for i, x in enumerate(args[:-n_grads])]
        outputs = [o for o in _outputs(func(*input_args)) if o.requires_grad]
        grads = [g.requires_grad_() if i in diff_grads else g for i, g in enumerate(args[-n_grads:])]
        wrt = [x for i, x in enumerate(input_args) if i in diff_inputs]
        grad_inputs = grad(outputs, wrt, grads, create_graph=True, allow_unused=True)
        return tuple(g for g in grad_inputs if g is not None)

    return gradcheck(first_derivatives, tupled_inputs + tupled_grads, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
