"""The gradient entry points: ``backward`` accumulates into ``.grad``, ``grad`` returns the gradients."""


from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from .. import ops
from ..autograd_graph import post_accumulate_hooks
from ..creation import _as_tensor
from ..grad_mode import enable_grad
from ..realization import after_backward, before_backward
from ..tensor import Tensor, _wrap, attach
from .graph_walk import run_backward

_UNUSED = ("One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True "
           "if this is the desired behavior.")

TensorOrTensors = Tensor | Sequence[Tensor]


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    return (value,) if isinstance(value, Tensor) else tuple(value)


def _roots(outputs: tuple[Tensor, ...], grad_outputs: Any, create_graph: bool) -> list[tuple[Tensor, Any]]:
    """Pair each output with its seed cotangent: ones for a scalar, the given gradient otherwise.

    Seeds are nodes for a plain backward and Tensors (keeping any history of the given gradient) when
    the gradient graph is recorded.
    """
    given = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if len(given) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(given)} grad_outputs and "
                           f"{len(outputs)} outputs")
    roots = []
    for i, (out, gradient) in enumerate(zip(outputs, given)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = ops.full(out.node.shape, 1, out.dtype)
            roots.append((out, _wrap(seed) if create_graph else seed))
            continue
        gradient = gradient if isinstance(gradient, Tensor) else _as_tensor(gradient, out.dtype)
        if gradient.shape != out.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {gradient.shape} and "
                               f"output[{i}] has a shape of {out.shape}.")
        if create_graph:
            roots.append((out, gradient if gradient.dtype is out.dtype else gradient.to(out.dtype)))
        else:
            roots.append((out, ops.cast(gradient.node, out.dtype)))
    return roots


def backward(tensors: TensorOrTensors, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: TensorOrTensors | None = None) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad`` (or only into ``inputs``'s)."""
    outputs = _as_tuple(tensors)
    keep = create_graph if retain_graph is None else retain_graph
    if create_graph:
        with enable_grad():
            _accumulate(outputs, grad_tensors, keep, True, inputs)
    else:
        _accumulate(outputs, grad_tensors, keep, False, inputs)
    after_backward()


def _accumulate(outputs: tuple[Tensor, ...], grad_tensors: Any, keep: bool, create_graph: bool,
                inputs: TensorOrTensors | None) -> None:
    """``backward``'s work, in the grad mode its caller chose (no context at all for a plain backward)."""
    roots = _roots(outputs, grad_tensors, create_graph)
    before_backward()  # after the checks: a backward that raises computes nothing
    if inputs is None:
        for leaf_tensor, g in run_backward(roots, keep, create_graph):
            _accumulate_into(leaf_tensor, g)
    else:
        targets = _as_tuple(inputs)
        for target, g in zip(targets, run_backward(roots, keep, create_graph, targets=targets)):
            if g is not None:
                _accumulate_into(target, g)


def _accumulate_into(leaf: Tensor, g: Any) -> None:
    """Add ``g`` to ``leaf.grad``, then run the leaf's post-accumulate-grad hooks."""
    leaf._accumulate_grad(g)
    if post_accumulate_hooks:
        for hook in list(post_accumulate_hooks.get(id(leaf), ())):
            hook(leaf)


def grad(outputs: TensorOrTensors, inputs: TensorOrTensors, grad_outputs: Any = None,
         retain_graph: bool | None = None, create_graph: bool = False, only_inputs: bool = True,
         allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated.

    With ``create_graph`` the results carry their own history, so they can be differentiated again.
    An input the outputs do not depend on raises unless ``allow_unused`` (it then comes back as None,
    or as zeros with ``materialize_grads``). ``only_inputs`` is torch's deprecated flag, ignored as there.
    """
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", stacklevel=2)
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) needs vmap, which lazygrad does not have: "
                                  "call grad once per row of grad_outputs")
    targets = _as_tuple(inputs)
    for t in targets:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    keep = create_graph if retain_graph is None else retain_graph
    with enable_grad() if create_graph else nullcontext():
        roots = _roots(_as_tuple(outputs), grad_outputs, create_graph)
        grads = run_backward(roots, keep, create_graph, targets=targets)
    result: list[Tensor | None] = []
    for target, g in zip(targets, grads):
        if g is None:
            if not allow_unused:
                raise RuntimeError(_UNUSED)
            result.append(_wrap(ops.zeros_like(target.node)) if materialize_grads else None)
        elif isinstance(g, Tensor):
            result.append(g if g.dtype is target.dtype else g.to(target.dtype))
        else:
            result.append(_wrap(ops.cast(g, target.dtype)))
    return tuple(result)


class AutogradMethods:
    """``Tensor.backward``, which is ``autograd.backward`` of one tensor (attached below)."""

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Add the gradient graph of this tensor to every leaf's ``.grad`` (lazily; nothing runs here)."""
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)


attach(AutogradMethods)
