"""``gradcheck``: analytic Jacobians against central finite differences, as ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..creation import tensor
from ..grad_mode import no_grad
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
            with no_grad():
                values.append([o.detach().numpy().astype(np.float64).reshape(-1)
                               for o in _outputs(fn(*args))])
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
