"""Module backward hooks (``register_full_backward_hook`` and ``..._pre_hook``), built as torch builds them.

A call of a module with such hooks passes its tensor inputs, and then its tensor outputs, through an identity
``autograd.Function`` (``BackwardHookFunction``, so the outputs print ``grad_fn=<BackwardHookFunctionBackward>``
as in torch). The outputs' record sees the gradients with respect to the outputs first: the pre-hooks may replace
them. The inputs' record sees the gradients with respect to the inputs once they are complete: the hooks get
both and may replace the input gradients. All of it runs while the backward graph is built, so it stays lazy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..autograd.function import Function, FunctionCtx
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor

_NO_INPUT_GRAD = ("Full backward hook is firing when gradients are computed with respect to module outputs since no "
                  "inputs require gradients. See https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                  "#torch.nn.Module.register_full_backward_hook for more details.")


class BackwardHookFunction(Function):
    """The identity on tensors, whose backward hands the gradients to ``stage`` (which may replace them)."""

    @staticmethod
    def forward(ctx: FunctionCtx, stage: Callable[[tuple], tuple], *tensors: Tensor) -> tuple[Tensor, ...]:
        ctx.stage = stage
        ctx.mark_non_differentiable(*(t for t in tensors if not t.requires_grad))
        return tensors

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> tuple[Any, ...]:
        return (None, *ctx.stage(grads))


def _pack(indices: Sequence[int], values: Sequence[Any], size: int) -> tuple[Any, ...]:
    """``values`` at ``indices`` of a tuple of ``size`` entries, None elsewhere (the non-tensor arguments)."""
    packed: list[Any] = [None] * size
    for index, value in zip(indices, values):
        packed[index] = value
    return tuple(packed)


class BackwardHook:
    """The hooks of one module call: links the output gradients it sees first to the input gradients."""

    def __init__(self, module: Any, hooks: Sequence[Callable], pre_hooks: Sequence[Callable]) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs: tuple[Any, ...] | None = None
        self.n_inputs = self.n_outputs = 0
        self.input_index: list[int] | None = None
        self.output_index: list[int] | None = None
        self.input_requires: list[bool] = []

    def _through(self, stage: Callable[[tuple], tuple], args: tuple) -> tuple[tuple, list[int] | None]:
        """``args`` with their tensors passed through the identity record (unchanged when none needs a gradient),
        and the positions of the tensors."""
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (is_grad_enabled() and any(args[i].requires_grad for i in index)):
            return args, None
        passed = BackwardHookFunction.apply(stage, *(args[i] for i in index))
        result = list(args)
        for i, tensor in zip(index, passed):
            result[i] = tensor
        return tuple(result), index

    def setup_input_hook(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        self.input_requires = [isinstance(a, Tensor) and a.requires_grad for a in args]
        args, self.input_index = self._through(self._on_input_grads, args)
        return args

    def setup_output_hook(self, output: Any) -> Any:
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        self.n_outputs = len(outputs)
        outputs, self.output_index = self._through(self._on_output_grads, outputs)
        return outputs[0] if single else outputs

    def _on_output_grads(self, grads: tuple) -> tuple:
        assert self.output_index is not None
        self.grad_outputs = _pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            result = hook(self.module, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(self.grad_outputs):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(result)}, "
                                   f"but expected {len(self.grad_outputs)}")
            self.grad_outputs = tuple(result)
        flowing = self.grad_outputs
        if self.input_index is None:  # nothing below needs a gradient: the hooks see the outputs' alone
            warnings.warn(_NO_INPUT_GRAD, UserWarning, stacklevel=2)
            for hook in self.hooks:
                result = hook(self.module, (None,) * self.n_inputs, self.grad_outputs)
                if result is not None and not (isinstance(result, tuple) and all(r is None for r in result)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(flowing[i] for i in self.output_index)

    def _on_input_grads(self, grads: tuple) -> tuple:
        assert self.input_index is not None
        if self.grad_outputs is None:
            return grads
        grads = tuple(g if self.input_requires[i] else None for i, g in zip(self.input_index, grads))
        grad_inputs = _pack(self.input_index, grads, self.n_inputs)
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(result)}, but "
                                   f"expected {len(grad_inputs)}")
            grad_inputs = tuple(result)
        self.grad_outputs = None
        return tuple(grad_inputs[i] for i in self.input_index)
