"""Custom autograd.Function, tensor hooks, retain_grad and module forward hooks: all recorded lazily."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad
from lazygrad import autograd, nn
from lazygrad.autograd.function import once_differentiable

pytestmark = pytest.mark.backend_agnostic  # Functions and hooks act while the graph is built

X = np.array([-0.5, 0.25, 1.5])


def leaf(values: np.ndarray = X) -> lazygrad.Tensor:
    return lazygrad.tensor(values, dtype=lazygrad.float64, requires_grad=True)


class MyExp(autograd.Function):
    """exp with a deliberately wrong backward (twice the true gradient), so the custom rule is visible."""

    @staticmethod
    def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor) -> lazygrad.Tensor:
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> lazygrad.Tensor:
        (y,) = ctx.saved_tensors
        return 2 * grad * y


class Scale(autograd.Function):
    """x * factor with a non-tensor argument, which receives no gradient."""

    @staticmethod
    def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor, factor: float) -> lazygrad.Tensor:
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> tuple:
        return grad * ctx.factor, None


class SinCos(autograd.Function):
    """Two differentiable outputs and one non-differentiable one."""

    @staticmethod
    def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor) -> tuple:
        ctx.save_for_backward(x)
        index = x.argmax()
        ctx.mark_non_differentiable(index)
        return x.sin(), x.cos(), index

    @staticmethod
    def backward(ctx: autograd.FunctionCtx, d_sin: lazygrad.Tensor, d_cos: lazygrad.Tensor, _: object) -> object:
        (x,) = ctx.saved_tensors
        return d_sin * x.cos() - d_cos * x.sin()


# ---- autograd.Function ---------------------------------------------------------------------------------------------


def test_custom_backward_is_what_flows() -> None:
    x = leaf()
    MyExp.apply(x).sum().backward()
    assert_close(x.grad, 2 * np.exp(X))


def test_custom_function_forward_value_and_grad_fn_name() -> None:
    y = MyExp.apply(leaf())
    assert repr(y.grad_fn).startswith("<torch.autograd.function.MyExpBackward object at ")  # where torch makes it
    assert y.grad_fn.name() == "MyExpBackward"
    assert_close(y, np.exp(X))


def test_forward_runs_without_recording() -> None:
    seen = {}

    class Probe(autograd.Function):
        @staticmethod
        def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor, factor: int) -> lazygrad.Tensor:
            y = x * factor
            seen["inner_grad_fn"] = y.grad_fn
            seen["needs"] = ctx.needs_input_grad
            return y

        @staticmethod
        def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> tuple:
            return grad, None

    Probe.apply(leaf(), 3)
    assert seen == {"inner_grad_fn": None, "needs": (True, False)}


def test_non_tensor_arguments_get_no_gradient() -> None:
    x = leaf()
    Scale.apply(x, 3.0).sum().backward()
    assert_close(x.grad, np.full(3, 3.0))


def test_several_outputs_share_one_backward() -> None:
    x = leaf()
    s, c, index = SinCos.apply(x)
    assert s.grad_fn.name() == c.grad_fn.name() == "SinCosBackward"
    assert not index.requires_grad and index.item() == 2
    (2 * s + c).sum().backward()
    assert_close(x.grad, 2 * np.cos(X) - np.sin(X))


def test_an_output_without_gradient_is_handed_zeros() -> None:
    x = leaf()
    s, _, _ = SinCos.apply(x)
    s.sum().backward()
    assert_close(x.grad, np.cos(X))


def test_saved_tensors_are_freed_after_backward() -> None:
    x = leaf()
    y = MyExp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.grad_fn.saved_tensors  # noqa: B018


def test_wrong_number_of_gradients_raises() -> None:
    class Bad(autograd.Function):
        @staticmethod
        def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor) -> lazygrad.Tensor:
            return x * 1

        @staticmethod
        def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> tuple:
            return grad, grad

    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients \(expected 1, got 2\)"):
        Bad.apply(leaf()).sum().backward()


def test_under_no_grad_apply_records_nothing() -> None:
    with lazygrad.no_grad():
        y = MyExp.apply(leaf())
    assert y.grad_fn is None and not y.requires_grad


def test_custom_backward_is_differentiable_with_create_graph() -> None:
    class Exp(autograd.Function):
        @staticmethod
        def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor) -> lazygrad.Tensor:
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> lazygrad.Tensor:
            return grad * ctx.saved_tensors[0]

    x = leaf()
    (g,) = autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    (gg,) = autograd.grad((g * x).sum(), x)
    assert_close(gg, np.exp(X) * (1 + X))


class ScaledSquare(autograd.Function):
    """torch's newer style: ``forward`` without a ctx, ``setup_context`` filling it from the inputs and output."""

    @staticmethod
    def forward(x: lazygrad.Tensor, k: float) -> lazygrad.Tensor:
        return x * x * k

    @staticmethod
    def setup_context(ctx: autograd.FunctionCtx, inputs: tuple, output: lazygrad.Tensor) -> None:
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k, ctx.output_shape = k, output.shape

    @staticmethod
    def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> tuple[lazygrad.Tensor, None]:
        (x,) = ctx.saved_tensors
        return 2 * x * grad * ctx.k, None


def test_a_function_with_setup_context_gets_its_ctx_from_the_inputs_and_output() -> None:
    x = leaf()
    y = ScaledSquare.apply(x, 3.0)
    assert_close(y, 3 * X ** 2)
    assert y.grad_fn.name() == "ScaledSquareBackward" and y.grad_fn.output_shape == (3,)
    assert_close(autograd.grad(y.sum(), x)[0], 6 * X)
    assert_close(ScaledSquare.apply(lazygrad.tensor(X), 2.0), 2 * X ** 2)  # no gradient needed: same value


RECORDING: list[bool] = []  # whether each OnceSquare backward ran recording history


class OnceSquare(autograd.Function):
    """x ** 2 with a backward marked once-differentiable."""

    @staticmethod
    def forward(ctx: autograd.FunctionCtx, x: lazygrad.Tensor) -> lazygrad.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx: autograd.FunctionCtx, grad: lazygrad.Tensor) -> tuple[lazygrad.Tensor]:
        RECORDING.append(lazygrad.is_grad_enabled())
        (x,) = ctx.saved_tensors
        return (2 * x * grad,)


def test_once_differentiable_backward_runs_unrecorded_and_refuses_a_second_derivative() -> None:
    """As torch's: the backward runs under no_grad; when its incoming gradient has history (create_graph), its
    results carry a record (printed ``grad_fn=<Error>``) whose backward raises; otherwise they are plain."""
    RECORDING.clear()
    x = leaf()
    (g,) = autograd.grad((OnceSquare.apply(x) ** 2).sum(), x, create_graph=True)
    assert_close(g, 4 * X ** 3)
    assert g.requires_grad and g.grad_fn.name() == "torch::autograd::Error" and "grad_fn=<Error>" in repr(g)
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                           "@once_differentiable"):
        g.sum().backward()
    (plain,) = autograd.grad(OnceSquare.apply(x).sum(), x, create_graph=True)  # its incoming gradient: constant
    assert not plain.requires_grad and RECORDING == [False, False]
    assert_close(plain, 2 * X)


# ---- tensor hooks and retain_grad -----------------------------------------------------------------------------------


def test_hook_on_a_non_leaf_replaces_the_gradient_that_flows_on() -> None:
    x = leaf()
    h = x * 2
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    assert_close(x.grad, 10 * 8 * X)


def test_hook_on_a_leaf_sees_the_total_gradient_and_may_replace_it() -> None:
    x = leaf()
    seen = []
    x.register_hook(lambda g: seen.append(g) or g + 1)
    (x * x + x).sum().backward()
    assert len(seen) == 1
    assert_close(seen[0], 2 * X + 1)
    assert_close(x.grad, 2 * X + 2)


def test_removed_hook_no_longer_runs() -> None:
    x = leaf()
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    x.sum().backward()
    assert_close(x.grad, np.ones(3))


def test_hook_needs_a_tensor_that_requires_grad() -> None:
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        lazygrad.ones(2).register_hook(lambda g: g)


def test_hooks_run_while_the_graph_is_built_not_computed() -> None:
    x = leaf()
    lazygrad.realize()
    lazygrad.reset_metrics()
    calls = []
    x.register_hook(lambda g: calls.append(g.node.buffer is None))
    (x * 3).sum().backward()
    assert calls == [True] and lazygrad.metrics()["executions"] == 0
    assert_close(x.grad, np.full(3, 3.0))


def test_retain_grad_keeps_a_non_leaf_gradient_and_accumulates() -> None:
    x = leaf()
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    y = (h * h).sum()
    y.backward(retain_graph=True)
    assert_close(h.grad, 4 * X)
    y.backward()
    assert_close(h.grad, 8 * X)


def test_retained_gradient_is_the_one_after_hooks() -> None:
    x = leaf()
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    h.sum().backward()
    assert_close(h.grad, np.full(3, 3.0))


def test_retain_grad_on_a_leaf_is_a_no_op_and_needs_requires_grad() -> None:
    x = leaf()
    x.retain_grad()
    assert not x.retains_grad
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        lazygrad.ones(2).retain_grad()


# ---- module forward hooks -----------------------------------------------------------------------------------------


def test_forward_hook_can_replace_the_output() -> None:
    layer = nn.Linear(3, 2)
    handle = layer.register_forward_hook(lambda module, inputs, output: output * 0)
    x = lazygrad.ones(1, 3)
    assert_close(layer(x), np.zeros((1, 2)))
    handle.remove()
    assert layer(x).abs().sum().item() > 0


def test_forward_pre_hook_can_replace_the_inputs() -> None:
    layer = nn.Identity() if hasattr(nn, "Identity") else nn.ReLU()
    layer.register_forward_pre_hook(lambda module, inputs: (inputs[0] + 1,))
    assert_close(layer(lazygrad.zeros(2)), np.ones(2))


def test_forward_hook_sees_lazy_tensors_and_gradients_flow_through() -> None:
    layer = nn.Linear(2, 1)
    lazygrad.realize()
    lazygrad.reset_metrics()
    captured = []
    layer.register_forward_hook(lambda module, inputs, output: captured.append(output.node.buffer is None))
    layer(lazygrad.ones(4, 2)).sum().backward()
    assert captured == [True] and lazygrad.metrics()["executions"] == 0
    assert_close(layer.weight.grad, np.full((1, 2), 4.0))


def _backward_hooks_run(m: Any) -> list[Any]:
    """A Linear-Tanh-Linear stack with a full backward pre-hook (doubling the outputs' gradient) on the first layer,
    a full backward hook (zeroing one input column's gradient) on the tanh, and one on a layer called on data that
    needs no gradient: what the hooks saw, the gradients, and the record the hooked outputs carry."""
    m.manual_seed(0)
    first, last = m.nn.Linear(3, 3), m.nn.Linear(3, 1)
    seen: list[Any] = []
    first.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go[0].tolist())) or (go[0] * 2,))
    mask = m.tensor([1.0, 0.0, 1.0])
    tanh = m.nn.Tanh()
    tanh.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", gi[0].tolist(), go[0].tolist()))
                                     or (gi[0] * mask,))
    data = m.nn.Linear(3, 3)
    data.register_full_backward_hook(lambda mod, gi, go: seen.append(("data", gi, go[0].tolist())))
    x = m.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], requires_grad=True)
    out = last(tanh(first(x)) + data(m.ones(2, 3)))
    out.sum().backward()
    return [seen, x.grad.tolist(), first.weight.grad.tolist(), first(x).grad_fn.name()]


@pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
def test_full_backward_hooks_see_and_replace_what_torchs_do() -> None:
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _backward_hooks_run(lazygrad)
    assert [str(w.message).split(" since")[0] for w in caught] == [
        "Full backward hook is firing when gradients are computed with respect to module outputs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _backward_hooks_run(torch)
    assert got[-1] == want[-1] == "BackwardHookFunctionBackward"
    assert [entry[0] for entry in got[0]] == [entry[0] for entry in want[0]] == ["data", "full", "pre"]
    assert got[0][0][1] == want[0][0][1] == (None,)
    np.testing.assert_allclose(np.array(got[0][1][1], dtype=float), np.array(want[0][1][1], dtype=float), rtol=1e-6)
    for g, w in zip(got[1:3], want[1:3]):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_anomaly_mode_switches_as_torchs() -> None:
    """detect_anomaly warns as torch does and turns the flags on inside its block; set_detect_anomaly sets them at
    once or for a block. (Nothing is checked for NaN: the backward computes no values while it is built.)"""
    with pytest.warns(UserWarning, match="^Anomaly Detection has been enabled"):
        mode = autograd.detect_anomaly(check_nan=False)
    with mode:
        assert lazygrad.is_anomaly_enabled() and not lazygrad.is_anomaly_check_nan_enabled()
    assert not lazygrad.is_anomaly_enabled() and lazygrad.is_anomaly_check_nan_enabled()
    autograd.set_detect_anomaly(True)
    assert lazygrad.is_anomaly_enabled()
    with autograd.set_detect_anomaly(False):
        assert not lazygrad.is_anomaly_enabled()
    assert lazygrad.is_anomaly_enabled()
    autograd.set_detect_anomaly(False)
    assert not lazygrad.is_anomaly_enabled()


def _optimizer_in_backward(T: Any) -> tuple[list[float], list[list[float]]]:
    """The optimizer step inside backward: a post-accumulate-grad hook steps and clears each parameter."""
    T.manual_seed(0)
    model = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.Tanh(), T.nn.Linear(4, 1))
    optimizers = {p: T.optim.SGD([p], lr=0.1, momentum=0.9) for p in model.parameters()}

    def step(parameter: Any) -> None:
        optimizers[parameter].step()
        optimizers[parameter].zero_grad()

    handles = [p.register_post_accumulate_grad_hook(step) for p in model.parameters()]
    x = T.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    losses = []
    for _ in range(5):
        loss = model(x).pow(2).mean()
        loss.backward()
        losses.append(loss.item())
    handles[0].remove()
    model(x).sum().backward()  # the first weight keeps its gradient now
    return losses, [p.grad is None for p in model.parameters()]


def test_post_accumulate_grad_hooks_run_the_optimizer_inside_backward():
    losses, cleared = _optimizer_in_backward(lazygrad)
    assert losses[-1] < losses[0] and cleared == [False, True, True, True]
    if HAS_TORCH:
        import torch

        want_losses, want_cleared = _optimizer_in_backward(torch)
        assert_close(np.array(losses), np.array(want_losses), rtol=1e-6)
        assert cleared == want_cleared


def test_post_accumulate_grad_hooks_only_on_leaves_that_require_grad():
    x = leaf()
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert seen == [[2.0] * 3, [5.0] * 3]  # after each accumulation
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        lazygrad.ones(2).register_post_accumulate_grad_hook(print)
