"""``autograd.graph``: saved-tensor hooks, multi-tensor gradient hooks and the ``Node`` type, against torch.

Each program is written once against the torch API and returns plain Python data (what the hooks saw, the
gradients), so the same function runs on lazygrad and on torch and the results are compared whole.
"""

from __future__ import annotations

import threading

import pytest
from helpers import HAS_TORCH

import lazygrad

if HAS_TORCH:
    import torch

pytestmark = pytest.mark.backend_agnostic  # hook calls and autograd bookkeeping; values are a few small ones


def like_torch(program):
    """``program(lazygrad)``, checked equal to ``program(torch)`` when torch is installed."""
    ours = program(lazygrad)
    if HAS_TORCH:
        assert ours == program(torch)
    return ours


def _rounded(t) -> list:
    return [round(v, 5) for v in t.reshape(-1).tolist()]


# ---- which tensors an op saves, and when the hooks run -----------------------------------------------------

OPS = {
    "mul": lambda T, a, b: a * b,
    "mul by a constant tensor": lambda T, a, b: a * b.detach(),
    "add": lambda T, a, b: a + b,
    "sum": lambda T, a, b: a.sum(),
    "exp": lambda T, a, b: a.exp(),
    "sin": lambda T, a, b: a.sin(),
    "tanh": lambda T, a, b: a.tanh(),
    "sigmoid": lambda T, a, b: a.sigmoid(),
    "square": lambda T, a, b: a * a,
    "matmul": lambda T, a, b: a @ b.t(),
    "softmax": lambda T, a, b: a.softmax(-1),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_pack_and_unpack_see_what_torch_saves(op: str) -> None:
    def program(T):
        a = T.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], requires_grad=True)
        b = T.tensor([[1.0, 2.0, -3.0], [0.5, -0.5, 1.0]], requires_grad=True)
        names = {id(a): "a", id(b): "b"}
        events = []

        def describe(t):
            if id(t) in names:
                return names[id(t)]
            return type(t.grad_fn).__name__ if t.grad_fn is not None else tuple(t.shape)

        def pack(t):
            events.append(("pack", describe(t)))
            return t, describe(t)

        def unpack(packed):
            events.append(("unpack", packed[1]))
            return packed[0]

        with T.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = OPS[op](T, a, b)
        events.append("backward")
        y.sum().backward()
        return events, _rounded(a.grad)

    like_torch(program)


def test_unpacks_result_is_what_backward_computes_with() -> None:
    def program(T):
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: t.detach() * 10, lambda p: p):
            y = x * x
        y.sum().backward()
        return _rounded(x.grad)

    assert like_torch(program) == [20.0, 40.0, 60.0]


def test_a_packed_value_need_not_be_a_tensor() -> None:
    def program(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        store = {}

        def pack(t):
            key = len(store)
            store[key] = t.detach().tolist()
            return key

        with T.autograd.graph.saved_tensors_hooks(pack, lambda key: T.tensor(store[key]) * 0 + 1):
            y = x.exp()
        y.sum().backward()
        return _rounded(x.grad), len(store)

    assert like_torch(program) == ([1.0, 1.0], 1)


def test_unpack_runs_once_per_backward_and_the_freed_graph_raises() -> None:
    def program(T):
        x = T.tensor([0.5, 1.0], requires_grad=True)
        calls = []
        with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: calls.append(1) or t):
            y = x.sin()
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        try:
            y.sum().backward()
        except RuntimeError as error:
            return len(calls), str(error).startswith("Trying to backward through the graph a second time")
        return len(calls), False

    assert like_torch(program) == (2, True)


def test_innermost_hooks_apply_and_pack_runs_with_hooks_off() -> None:
    def program(T):
        x = T.tensor([0.5, 1.0], requires_grad=True)
        log = []

        def inner_pack(t):
            log.append("inner")
            return t * t  # an op that saves tensors: it must not reach any pack hook

        with T.autograd.graph.saved_tensors_hooks(lambda t: log.append("outer") or t, lambda t: t):
            with T.autograd.graph.saved_tensors_hooks(inner_pack, lambda t: log.append("unpack inner") or t):
                y = x.sin()
            z = x.cos()
        log.append("backward")
        with T.no_grad():
            x.sin()  # no record, nothing packed
        (y + z).sum().backward()
        return log

    assert like_torch(program) == ["inner", "outer", "backward", "unpack inner"]


def test_unpack_returning_a_non_tensor_raises_torchs_type_error() -> None:
    def program(T):
        x = T.tensor([0.5, 1.0], requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
            y = x * x
        try:
            y.sum().backward()
        except TypeError as error:
            return str(error)

    expected = "Output of saved tensor unpack_hook expected to be a Tensor but got result of type int"
    assert like_torch(program) == expected


def test_disable_saved_tensors_hooks_refuses_hooks_inside_and_around() -> None:
    def program(T):
        graph = T.autograd.graph
        messages = []
        with graph.disable_saved_tensors_hooks("outer off"):
            with graph.disable_saved_tensors_hooks("inner off"):
                pass
            try:
                with graph.save_on_cpu():
                    pass
            except RuntimeError as error:
                messages.append(str(error))
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            try:
                with graph.disable_saved_tensors_hooks("hooks are set"):
                    pass
            except RuntimeError as error:
                messages.append(str(error))
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass  # enabled again
        return messages

    assert like_torch(program) == ["outer off", "hooks are set"]


def test_custom_function_saves_are_packed_after_forward_and_unpacked_at_each_access() -> None:
    def program(T):
        log = []

        class Scale(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, None)
                log.append("forward")
                return x * 2

            @staticmethod
            def backward(ctx, g):
                first, nothing = ctx.saved_tensors
                x, _ = ctx.saved_tensors  # each access unpacks again
                assert nothing is None and first is not None
                return g * x

        a = T.tensor([1.0, 3.0], requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(lambda t: log.append(("pack", t is a)) or t,
                                                  lambda t: log.append("unpack") or t * 2):
            y = Scale.apply(a)
            with T.no_grad():
                Scale.apply(a)  # not recorded: nothing packed
        y.sum().backward()
        return log, _rounded(a.grad)

    assert like_torch(program) == (["forward", ("pack", True), "forward", "unpack", "unpack"], [2.0, 6.0])


def test_save_on_cpu_keeps_gradients() -> None:
    def program(T):
        x = T.tensor([0.5, -1.0, 2.0], requires_grad=True)
        with T.autograd.graph.save_on_cpu():
            y = (x.sin() * x).exp()
        y.sum().backward()
        return _rounded(x.grad)

    like_torch(program)


@pytest.mark.parametrize("hooks", ["identity", "detached copy"])
def test_second_derivatives_through_hooks_that_keep_values(hooks: str) -> None:
    def program(T):
        pack = (lambda t: t) if hooks == "identity" else (lambda t: t.detach().clone())
        x = T.tensor([0.5, -1.0, 2.0], dtype=T.float64, requires_grad=True)
        with T.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            (g,) = T.autograd.grad((x.exp() + x * x * x + x.tanh()).sum(), x, create_graph=True)
        (h,) = T.autograd.grad((g * g).sum(), x)
        return _rounded(g), _rounded(h)

    like_torch(program)


def test_composite_ops_unpack_every_pack_and_copies_keep_the_gradients() -> None:
    def program(T):
        T.manual_seed(0)
        nn = T.nn
        model = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.ReLU(), nn.Linear(6, 3))
        with T.no_grad():
            for p in model.parameters():
                p.copy_(T.linspace(-1, 1, p.numel()).reshape(p.shape))
        x = T.linspace(-2, 2, 8).reshape(2, 4).requires_grad_()
        counts = {"pack": 0, "unpack": 0}

        def pack(t):
            counts["pack"] += 1
            return t.detach().clone()  # another tensor with the same values: backward must compute from it

        def unpack(t):
            counts["unpack"] += 1
            return t

        with T.autograd.graph.saved_tensors_hooks(pack, unpack):
            loss = nn.functional.cross_entropy(model(x), T.tensor([0, 2]))
        packed = counts["pack"]
        loss.backward()
        return packed > 0 and counts["unpack"] == packed, _rounded(x.grad), _rounded(model[0].weight.grad)

    assert like_torch(program)[0]


def test_hooks_are_per_thread() -> None:
    packed = []
    x = lazygrad.ones(2, requires_grad=True)
    other = threading.Thread(target=lambda: packed.append(("other thread", (x * x).grad_fn.packed)))
    with lazygrad.autograd.graph.saved_tensors_hooks(lambda t: packed.append("pack") or t, lambda t: t):
        other.start()
        other.join()
        x.sin()
    assert packed == [("other thread", None), "pack"]


def test_hooks_off_leave_records_unpacked() -> None:
    x = lazygrad.ones(2, requires_grad=True)
    assert (x * x).grad_fn.packed is None


# ---- register_multi_grad_hook -------------------------------------------------------------------------------


def test_multi_grad_hook_all_gets_one_gradient_per_tensor_per_pass() -> None:
    def program(T):
        a = T.tensor([1.0, 2.0], requires_grad=True)
        b = T.tensor([3.0, 4.0], requires_grad=True)
        c = a * b
        d = a * b
        log = []
        handle = T.autograd.graph.register_multi_grad_hook(
            (a, b, c, d), lambda grads: log.append([None if g is None else _rounded(g) for g in grads]))
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        (c + 2 * d).sum().backward(retain_graph=True)
        handle.remove()
        c.sum().backward()
        return log

    assert like_torch(program) == [[[3.0, 4.0], [1.0, 2.0], [1.0, 1.0], None], [[3.0, 4.0], None, [1.0, 1.0], None],
                                   [[9.0, 12.0], [3.0, 6.0], [1.0, 1.0], [2.0, 2.0]]]


def test_multi_grad_hook_any_gets_the_first_gradient_once_per_pass() -> None:
    def program(T):
        a = T.tensor([1.0, 2.0], requires_grad=True)
        h = a * 3
        m = h * h
        log = []
        T.autograd.graph.register_multi_grad_hook((a, h, m), lambda g: log.append(_rounded(g)), mode="any")
        m.sum().backward(retain_graph=True)
        m.sum().backward()
        return log

    assert like_torch(program) == [[1.0, 1.0], [1.0, 1.0]]


def test_multi_grad_hook_refuses_an_unknown_mode_and_tensors_without_grad() -> None:
    def program(T):
        errors = []
        for tensors, mode in [((T.ones(2, requires_grad=True),), "some"), ((T.ones(2),), "all")]:
            try:
                T.autograd.graph.register_multi_grad_hook(tensors, print, mode=mode)
            except (ValueError, AssertionError) as error:
                errors.append((type(error).__name__, str(error)))
        return errors

    assert like_torch(program) == [("ValueError", "Expects mode to be one of ('all', 'any') but got some"),
                                   ("AssertionError", "Expected gradient function to be set")]


def test_leaf_hooks_run_only_for_leaves_backward_is_asked_for() -> None:
    def program(T):
        a = T.ones(2, requires_grad=True)
        b = T.ones(2, requires_grad=True)
        log = []
        a.register_hook(lambda g: log.append("a"))
        b.register_hook(lambda g: log.append("b"))
        (a * b).sum().backward(inputs=(a,))
        return log

    assert like_torch(program) == ["a"]


# ---- Node, increment_version --------------------------------------------------------------------------------


def test_grad_fns_and_their_accumulate_grad_ends_are_graph_nodes() -> None:
    def program(T):
        Node = T.autograd.graph.Node

        class Twice(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        a = T.ones(2, requires_grad=True)
        b = a * 2
        return (isinstance(b.grad_fn, Node), isinstance(b.grad_fn.next_functions[0][0], Node),
                isinstance(Twice.apply(a).grad_fn, Node), issubclass(type(b.grad_fn), Node), isinstance(a, Node))

    assert like_torch(program) == (True, True, True, True, False)


def test_increment_version_accepts_tensors() -> None:
    x = lazygrad.ones(2, requires_grad=True)
    y = x * x
    lazygrad.autograd.graph.increment_version([x])
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
