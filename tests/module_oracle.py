"""``check_module``: one layer built in lazygrad and in torch with torch's weights, compared in one line.

The layer is written once as ``make(nn)`` and called once as ``call(lib, module, tensors)``, so the same
code runs on both libraries. Values of every output and gradients of a fixed weighted sum of them (with
respect to the float inputs and to every parameter) must agree; parameter names, shapes and the printed
module must be torch's. The float inputs' dtype sets the modules' dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

if HAS_TORCH:
    import torch

# (rtol, atol) per dtype: a recurrence or a softmax sums in a different order than torch's kernels.
MODULE_TOLERANCES = {np.float32: (1e-4, 2e-5), np.float64: (1e-7, 1e-10)}


def outputs(result: Any) -> list[Any]:
    """A layer's outputs as a flat list: ``(out, (h, c))`` and ``(out, None)`` are both accepted."""
    if isinstance(result, (tuple, list)):
        return [leaf for part in result for leaf in outputs(part)]
    return [] if result is None else [result]


def _float_dtype(inputs: list[np.ndarray]) -> Any:
    return next((x.dtype.type for x in inputs if x.dtype.kind == "f"), np.float32)


def run_module(lib: Any, module: Any, inputs: list[np.ndarray], call: Callable[..., Any]) -> tuple[list, list]:
    """Outputs of ``call``, then the gradients of ``sum(out_i * ct_i)`` for the float inputs and the parameters."""
    dtype = _float_dtype(inputs)
    tensors = [lib.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    outs = outputs(call(lib, module, tensors))
    rng = np.random.default_rng(len(outs))
    loss = sum((out * lib.tensor(rng.standard_normal(tuple(out.shape)).astype(dtype))).sum() for out in outs)
    loss.backward()
    grads = [t.grad for t in tensors if t.requires_grad] + [p.grad for _, p in module.named_parameters()]
    return outs, grads


def check_module(make: Callable[[Any], Any], call: Callable[..., Any], *inputs: np.ndarray) -> Any:
    """Compare ``make(lazygrad.nn)`` with ``make(torch.nn)`` (torch's state_dict loaded into ours)."""
    dtype = _float_dtype(list(inputs))
    theirs = make(torch.nn).to(torch.float64 if dtype is np.float64 else torch.float32)
    ours = make(lazygrad.nn)
    if dtype is np.float64:
        ours.double()
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours.load_state_dict(theirs.state_dict())
    our_outs, our_grads = run_module(lazygrad, ours, list(inputs), call)
    their_outs, their_grads = run_module(torch, theirs, list(inputs), call)
    rtol, atol = MODULE_TOLERANCES[dtype]
    assert len(our_outs) == len(their_outs)
    for got, want in zip(our_outs, their_outs):
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        assert_close(got, want, rtol, atol)
    for got, want in zip(our_grads, their_grads):
        assert (got is None) == (want is None)
        if got is not None:
            assert_close(got, want, rtol, atol)
    return ours


def call_module(lib: Any, module: Any, tensors: list[Any]) -> Any:
    """The plain ``call`` for ``check_module``: the module applied to the inputs in order."""
    return module(*tensors)


def raises_like_torch(make: Callable[[Any], Any]) -> None:
    """``make(torch)`` and ``make(lazygrad)`` raise the same exception type with the same message."""
    raised = []
    for lib in (torch, lazygrad):
        with pytest.raises(Exception) as info:  # the type is compared with torch's below
            make(lib)
        raised.append((type(info.value), str(info.value)))
    assert raised[1] == raised[0]
