"""``autograd.Function``: an op whose backward is user code, recorded like any other op.

``forward`` runs under ``no_grad`` and builds ordinary lazy nodes; its outputs get the Function's record
as ``grad_fn`` (class ``<Name>Backward``, as torch names it). The record is also the ``ctx`` the user's
``forward`` and ``backward`` see. When the engine reaches it, it calls ``backward`` with lazy gradient
tensors, so a custom backward is as lazy as the built-in rules, and differentiable again when it runs
under ``create_graph``.

Several differentiable outputs share one record through a packed node: the outputs are flattened and
concatenated, each output is a slice of that node with a small record of its own pointing at the shared
one, so the engine sums each output's gradient into one cotangent, which the record splits again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from .. import ops, saved_tensors
from ..autograd_graph import _FREED, GradFn, _identity, grad_fn_class
from ..grad_mode import is_grad_enabled, no_grad, set_grad_enabled
from ..ir import apply
from ..saved_tensors import Saved, pack
from ..tensor import Tensor, _wrap


class FunctionCtx:
    """What ``forward`` can leave for ``backward``: saved tensors, flags, and any attribute it sets."""

    needs_input_grad: tuple[bool, ...]
    _packed: list[Saved | None] | None = None  # the saved tensors as saved-tensor hooks packed them

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The saved tensors; under saved-tensor hooks, unpacked afresh at each access, as in torch."""
        if self._saved is None:
            raise RuntimeError(_FREED)
        if self._packed is not None:
            return tuple(None if saved is None else saved.unpacked() for saved in self._packed)
        return self._saved

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """These outputs get no gradient history (indices, masks)."""
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` sees zeros (default) or None for outputs that received no gradient."""
        self._materialize = value


class BackwardCFunction(FunctionCtx, GradFn):
    """The record of one ``Function.apply``: the ctx of its forward and backward, and its GradFn.

    No ``__slots__``: user code may set any attribute on the ctx, as in torch.
    """

    custom = True
    function: type[Function]

    def __init__(self) -> None:
        GradFn.__init__(self, None, None, ())  # type: ignore[arg-type]
        self._saved: tuple | None = ()
        self._non_differentiable: set[int] = set()
        self._materialize = True
        self._layout: list[tuple[int, tuple[int, ...], int]] = []  # (output index, shape, offset in packed)
        self._n_outputs = 0
        self._arg_positions: tuple[int, ...] = ()
        self._arg_shapes: tuple[tuple[int, ...], ...] = ()
        self._n_args = 0
        self._output_meta: dict[int, tuple[tuple[int, ...], Any]] = {}

    def release(self) -> None:
        GradFn.release(self)
        self._saved = self._packed = None

    def __repr__(self) -> str:  # torch makes these classes in its autograd.function module
        return f"<torch.autograd.function.{type(self).__name__} object at {hex(id(self))}>"

    def apply_backward(self, ct: Any, create_graph: bool) -> list[Any]:
        """Call the user's ``backward`` with one gradient per forward output; one result per tensor input."""
        ct = ct if isinstance(ct, Tensor) else _wrap(ct)
        grads: list[Any] = [None] * self._n_outputs
        packed = len(self._layout) > 1
        for index, shape, offset in self._layout:
            grads[index] = ct[offset:offset + math.prod(shape)].reshape(shape) if packed else ct
        if self._materialize:
            for index, (shape, dtype) in self._output_meta.items():
                if grads[index] is None:
                    grads[index] = _wrap(ops.full(shape, 0, dtype))
        name = self.name()
        with set_grad_enabled(create_graph):
            result = self.function.backward(self, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != self._n_args:
            raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected "
                               f"{self._n_args}, got {len(result)})")
        out = []
        for position, shape, node in zip(self._arg_positions, self._arg_shapes, self.inputs):
            g = result[position]
            if g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {name} returned a gradient that is not a Tensor at index {position}")
            if tuple(g.shape) != shape:
                raise RuntimeError(f"Function {name} returned an invalid gradient at index {position} - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(shape)}")
            if create_graph:
                out.append(g if g.dtype is node.dtype else g.to(node.dtype))
            else:
                out.append(ops.cast(g.node, node.dtype))
        return out


class Function:
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` static methods; call ``apply``."""

    _backward_cls: type[BackwardCFunction]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(cls.__name__ + "Backward", (BackwardCFunction,), {"function": cls})

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple[Any, ...], output: Any) -> Any:
        """Overridden, it makes the Function torch's newer style: ``forward(*args)`` takes no ctx, and this
        fills the ctx from the inputs and the output."""
        raise NotImplementedError("setup_context is not implemented.")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run ``forward`` without recording, then record the outputs as results of this Function."""
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            if cls.setup_context is Function.setup_context:
                result = cls.forward(ctx, *args)
            else:
                result = cls.forward(*args)
                cls.setup_context(ctx, args, result)
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return result
        outs = list(result) if isinstance(result, tuple) else [result]
        tensors = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx._n_args = len(args)
        ctx._n_outputs = len(outs)
        ctx._arg_positions = tuple(i for i, _ in tensors)
        ctx._arg_shapes = tuple(tuple(a.shape) for _, a in tensors)
        ctx.inputs = tuple(a.node for _, a in tensors)
        ctx.edges = tuple(a.grad_fn if a.grad_fn is not None else (a if a.requires_grad else None) for _, a in tensors)
        differentiable = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.dtype.is_floating_point
                          and id(o) not in ctx._non_differentiable]
        ctx._output_meta = {i: (tuple(o.shape), o.dtype) for i, o in enumerate(outs) if isinstance(o, Tensor)}
        if not differentiable:
            return result
        input_nodes = {id(n) for n in ctx.inputs}
        replaced: dict[int, Tensor] = {}
        if len(differentiable) == 1:
            (i,) = differentiable
            node = outs[i].node
            ctx.out = _identity(node) if id(node) in input_nodes else node
            ctx._layout = [(i, tuple(outs[i].shape), 0)]
            replaced[id(outs[i])] = _wrap(ctx.out, ctx)
        else:
            dtypes = {outs[i].dtype for i in differentiable}
            if len(dtypes) > 1:
                raise NotImplementedError(f"{cls.__name__}: differentiable outputs of different dtypes are not "
                                          "supported")
            flat = [ops.reshape(outs[i].node, (outs[i].numel(),)) for i in differentiable]
            ctx.out = packed = apply("concat", tuple(flat), (0,))
            port = grad_fn_class(ctx.name())
            offset = 0
            for i in differentiable:
                shape, size = tuple(outs[i].shape), outs[i].numel()
                piece = ops.reshape(apply("slice", (packed,), ((offset,), (offset + size,), (1,))), shape)
                ctx._layout.append((i, shape, offset))
                replaced[id(outs[i])] = _wrap(piece, port(piece, (packed,), (ctx,)))
                offset += size
        if ctx._saved:
            # A saved output is the recorded one, so a backward that uses it stays differentiable.
            ctx._saved = tuple(replaced.get(id(t), t) for t in ctx._saved)
            # Packed once the outputs are recorded, as torch does; only the packs are kept.
            if saved_tensors.active and saved_tensors.hooks.stack:
                packs = iter(pack([t for t in ctx._saved if t is not None]))
                ctx._packed = [None if t is None else next(packs) for t in ctx._saved]
                ctx._saved = ()
        new = [replaced.get(id(o), o) for o in outs]
        return tuple(new) if isinstance(result, tuple) else new[0]


class _DelayedError(Function):
    """Passes tensors through; differentiating the result raises: what a once-differentiable backward's
    gradients carry when they would otherwise be recorded."""

    @staticmethod
    def forward(ctx: FunctionCtx, *tensors: Any) -> Any:
        return tensors if len(tensors) > 1 else tensors[0]

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


class Error(BackwardCFunction):
    """The record of ``_DelayedError``, named as torch names it."""

    function = _DelayedError

    def name(self) -> str:
        return "torch::autograd::Error"


_DelayedError._backward_cls = Error


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a ``Function.backward`` that is not itself differentiable: it runs without recording, and
    when its incoming gradients require grad (under ``create_graph``), differentiating its results raises."""
    @functools.wraps(backward)
    def wrapper(ctx: FunctionCtx, *grads: Any) -> Any:
        with no_grad():
            outputs = backward(ctx, *grads)
        if not (is_grad_enabled() and any(isinstance(g, Tensor) and g.requires_grad for g in grads)):
            return outputs
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        present = [i for i, o in enumerate(outputs) if o is not None]
        if not present:
            return outputs[0] if single else outputs
        guarded = _DelayedError.apply(*(outputs[i].detach().requires_grad_() for i in present))
        guarded = guarded if len(present) > 1 else (guarded,)
        result = list(outputs)
        for i, tensor in zip(present, guarded):
            result[i] = tensor
        return result[0] if single else tuple(result)

    return wrapper
