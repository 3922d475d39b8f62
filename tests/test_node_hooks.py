"""Hooks on a ``grad_fn`` (``register_prehook`` / ``register_hook``) and its ``metadata``, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import lazygrad

torch = pytest.importorskip("torch")


def _values(grads):
    return tuple(None if g is None else g.detach().numpy().tolist() for g in grads)


def _order_and_gradients(T):
    """Every kind of hook on one product, each logging what it saw and some replacing it."""
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = T.tensor([3.0, 4.0])
    z = x * y
    log = []
    z.register_hook(lambda g: log.append(("tensor", _values((g,)))) or g * 2)
    z.retain_grad()
    z.grad_fn.register_prehook(lambda go: log.append(("pre", _values(go))) or (go[0] * 3,))
    z.grad_fn.register_prehook(lambda go: log.append(("pre2", _values(go))) or None)
    z.grad_fn.register_hook(lambda gi, go: log.append(("hook", _values(gi), _values(go))) or (gi[0] + 1, None))
    z.grad_fn.register_hook(lambda gi, go: log.append(("hook2", _values(gi), _values(go))) or None)
    z.sum().backward()
    return log, x.grad.numpy().tolist(), z.grad.numpy().tolist()


@pytest.mark.backend_agnostic
def test_tensor_hooks_then_prehooks_then_node_hooks_in_torchs_order():
    ours = _order_and_gradients(lazygrad)
    assert ours == _order_and_gradients(torch)
    assert [entry[0] for entry in ours[0]] == ["tensor", "pre", "pre2", "hook", "hook2"]


def test_replaced_gradients_flow_on_and_none_drops_one():
    for T in (lazygrad, torch):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        w = T.tensor([0.5, -1.0], requires_grad=True)
        z = (x * w).exp()
        z.grad_fn.register_prehook(lambda go: (go[0] * 0 + 1,))
        z.grad_fn.next_functions[0][0].register_hook(lambda gi, go: (None, gi[1] * 10))
        z.sum().backward()
        assert x.grad is None
        np.testing.assert_allclose(w.grad.numpy(), 10 * np.exp([0.5, -2.0]) * [1.0, 2.0], rtol=1e-6)


@pytest.mark.backend_agnostic
def test_removed_hooks_do_not_run():
    x = lazygrad.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    calls = []
    handles = [z.grad_fn.register_prehook(lambda go: calls.append("pre")),
               z.grad_fn.register_hook(lambda gi, go: calls.append("hook"))]
    for handle in handles:
        handle.remove()
    z.sum().backward()
    assert calls == []
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


@pytest.mark.backend_agnostic
def test_custom_function_hooks_see_what_backward_returned():
    def run(T):
        class Scale(T.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * b

            @staticmethod
            def backward(ctx, g):
                return g * 2, g

        x = T.tensor([1.0, 2.0], requires_grad=True)
        out = Scale.apply(x, T.ones(2))
        log = []
        out.grad_fn.register_prehook(lambda go: log.append(_values(go)))
        out.grad_fn.register_hook(lambda gi, go: log.append((_values(gi), _values(go))))
        out.sum().backward()
        return log, x.grad.numpy().tolist()

    assert run(lazygrad) == run(torch)


@pytest.mark.backend_agnostic
def test_hooks_run_under_create_graph_with_differentiable_gradients():
    def run(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        z = x.exp()
        seen = []
        handle = z.grad_fn.register_hook(lambda gi, go: seen.append(gi[0].requires_grad) or (gi[0] * x,))
        (g,) = T.autograd.grad(z.sum(), x, create_graph=True)
        handle.remove()
        (gg,) = T.autograd.grad(g.sum(), x)  # d/dx (exp(x) * x): the replaced gradient is differentiable
        return seen, g.detach().numpy().tolist(), gg.numpy().tolist()

    ours, theirs = run(lazygrad), run(torch)
    assert ours[0] == theirs[0] == [True]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("kind", ["prehook", "hook"])
@pytest.mark.parametrize("bad", ["int", "length", "size", "dtype"])
def test_bad_replacements_raise_torchs_errors(kind, bad):
    def run(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        z = x * 2

        def wrong(*grads):
            g = grads[0][0]
            return {"int": 5, "length": (g, g, g), "size": (g[:1], None)[:len(grads[0])],
                    "dtype": (g.double(), None)[:len(grads[0])]}[bad]

        getattr(z.grad_fn, f"register_{kind}")(wrong)
        with pytest.raises((TypeError, RuntimeError)) as caught:
            z.sum().backward()
        return caught.type, str(caught.value)

    assert run(lazygrad) == run(torch)


@pytest.mark.backend_agnostic
def test_metadata_is_one_dict_per_record():
    for T in (lazygrad, torch):
        x = T.tensor([1.0], requires_grad=True)
        z = x * 2
        assert z.grad_fn.metadata == {}
        z.grad_fn.metadata["tag"] = 1
        assert z.grad_fn.metadata == {"tag": 1}
        assert (x * 3).grad_fn.metadata == {}
        assert z.grad_fn.name() == "MulBackward0"
        assert [type(f).__name__ if f else None for f, _ in z.grad_fn.next_functions] == ["AccumulateGrad", None]


@pytest.mark.backend_agnostic
def test_tensor_hooks_and_retain_grad_are_unchanged():
    for T in (lazygrad, torch):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        z = x * 3
        z.retain_grad()
        z.register_hook(lambda g: g + 1)
        z.grad_fn.register_prehook(lambda go: (go[0] * 10,))
        z.sum().backward()
        np.testing.assert_array_equal(z.grad.numpy(), [2.0, 2.0])  # before the node's pre-hook
        np.testing.assert_array_equal(x.grad.numpy(), [60.0, 60.0])
