"""lazygrad.compile: a traced step replays bit for bit like the uncompiled one, without building a graph."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import lazygrad as torch
from lazygrad import nn


def _counts() -> dict[str, float]:
    return dict(torch.metrics())


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _values(tensors: list[torch.Tensor]) -> list[np.ndarray]:
    return [t.detach().numpy() for t in tensors]


def test_seed_snippet_gradient_matches_and_replays_without_building_nodes() -> None:
    def step(x: torch.Tensor) -> torch.Tensor:
        x.grad = None
        y = 2 * x * x
        y.sum().backward()
        return y

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    compiled = torch.compile(step)
    expected = step(x).detach().numpy(), x.grad.numpy()
    for _ in range(2):
        compiled(x)
    before = _counts()
    y = compiled(x)
    after = _counts()
    assert np.array_equal(y.detach().numpy(), expected[0]) and np.array_equal(x.grad.numpy(), [4.0, 8.0, 12.0])
    assert after["nodes_built"] == before["nodes_built"]
    assert after["replays"] == before["replays"] + 1 and after["compiles"] == before["compiles"]


def test_an_optimizer_whose_construction_failed_does_not_break_a_trace() -> None:
    with pytest.raises(ValueError) as failed:
        torch.optim.RMSprop([torch.ones(1, requires_grad=True)], lr=-1.0)  # half built, kept by the traceback
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    compiled = torch.compile(lambda x: (x * x).sum())
    assert [compiled(x).item() for _ in range(3)] == [5.0, 5.0, 5.0]
    assert failed.value is not None


def _adam_run(compiled: bool, steps: int) -> tuple[list[float], list[np.ndarray]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step) if compiled else step
    x, y = torch.randn(5, 4), torch.randn(5, 2)
    losses = []
    for _ in range(steps):
        losses.append(run(x, y).item())
        sched.step()
    return losses, _values(list(model.parameters())) + _values([s["exp_avg_sq"] for s in opt.state.values()])


def test_adam_with_cosine_schedule_is_bit_identical() -> None:
    eager, compiled = _adam_run(False, 30), _adam_run(True, 30)
    assert eager[0] == compiled[0]
    assert _same(eager[1], compiled[1])


def test_learning_rate_changes_do_not_recompile() -> None:
    before = _counts()
    _adam_run(True, 12)
    after = _counts()
    assert after["traces"] - before["traces"] == 1 and after["replays"] - before["replays"] == 10
    assert after["graph_breaks"] == before["graph_breaks"]


def _sgd_run(compiled: bool) -> list[np.ndarray]:
    torch.manual_seed(1)
    w = torch.randn(3, 3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)

    def step(x: torch.Tensor) -> None:
        opt.zero_grad()
        (x @ w).square().sum().backward()
        opt.step()

    run = torch.compile(step) if compiled else step
    x = torch.randn(2, 3)
    for _ in range(6):
        run(x)
    return _values([w, opt.state[w]["momentum_buffer"]])


def test_sgd_with_momentum_is_bit_identical() -> None:
    assert _same(_sgd_run(False), _sgd_run(True))


def _scheduled_sgd_run(compiled: bool, steps: int, decay: float) -> list[np.ndarray]:
    torch.manual_seed(2)
    w = torch.randn(3, 3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1 + decay * t))

    def step(x: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        loss = (x @ w).square().sum()
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step) if compiled else step
    x = torch.randn(2, 3)
    losses = []
    for _ in range(steps):
        losses.append(run(x).detach().numpy())
        sched.step()
    return [*losses, *_values([w, opt.state[w]["momentum_buffer"]])]


def _trace_counts(run: Callable[[], object]) -> tuple[float, float]:
    before = _counts()
    run()
    after = _counts()
    return after["traces"] - before["traces"], after["replays"] - before["replays"]


def test_a_schedule_moving_sgds_rate_keeps_replaying_bit_for_bit() -> None:
    """SGD's update is ``add(alpha=-lr)``, whose ``alpha != 1`` test guards on its outcome, not on the rate: a rate
    that moves every step traces as often as a constant one (the momentum buffer's first step adds one trace)."""
    steps = 10
    assert _same(_scheduled_sgd_run(False, steps, 1.0), _scheduled_sgd_run(True, steps, 1.0))
    moving = _trace_counts(lambda: _scheduled_sgd_run(True, steps, 1.0))
    constant = _trace_counts(lambda: _scheduled_sgd_run(True, steps, 0.0))
    assert moving == constant and moving[1] >= steps - 3


@pytest.mark.parametrize("rate", [0.5, 1.0])
def test_a_test_that_comes_out_the_other_way_traces_again(rate: float) -> None:
    w = torch.ones(3, requires_grad=True)

    def step(lr: float) -> torch.Tensor:
        with torch.no_grad():
            w.add_(torch.ones(3), alpha=lr)  # alpha == 1 takes a plain add, any other rate a fused one
            return w.sum()

    compiled = torch.compile(step)
    for _ in range(3):
        compiled(0.25)
    before = _counts()
    compiled(rate)
    after = _counts()
    assert after["replays"] - before["replays"] == (rate != 1.0)  # the other outcome runs as traced anew
    assert w.sum().item() == 3 * (1 + 3 * 0.25 + rate)


def _manual_run(compiled: bool) -> list[np.ndarray]:
    w = torch.ones(4, requires_grad=True)
    b = torch.zeros(4)

    def step(x: torch.Tensor, lr: float) -> torch.Tensor:
        w.grad = None
        loss = (w * x + b).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w.sub_(w.grad * lr)
            b.add_(x * lr)
        return loss

    run = torch.compile(step) if compiled else step
    x = torch.tensor([0.5, -1.0, 2.0, 0.25])
    losses = [run(x, 0.01 * (i + 1)).detach().numpy() for i in range(6)]
    return [*losses, *_values([w, b, w.grad])]


def test_handwritten_updates_with_a_changing_python_number_are_bit_identical() -> None:
    before = _counts()
    compiled = _manual_run(True)
    after = _counts()
    assert _same(_manual_run(False), compiled)
    assert after["traces"] - before["traces"] == 1 and after["replays"] - before["replays"] == 4


def _dropout_run(compiled: bool) -> list[np.ndarray]:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    run = torch.compile(model) if compiled else model
    x = torch.randn(2, 4)
    with torch.no_grad():
        out = [run(x).numpy() for _ in range(4)]
        model.eval()
        out += [run(x).numpy() for _ in range(3)]
        model.train()
        out += [run(x).numpy() for _ in range(2)]
    return out


def test_dropout_module_in_train_and_eval_is_bit_identical() -> None:
    eager = _dropout_run(False)
    assert not np.array_equal(eager[0], eager[1])  # fresh draws every call
    before = _counts()
    compiled = _dropout_run(True)
    after = _counts()
    assert _same(eager, compiled)
    assert after["traces"] - before["traces"] == 2  # train, then eval; back to train hits the first plan


def test_compiled_module_is_a_module_with_the_same_parameters() -> None:
    model = nn.Linear(2, 2)
    compiled = torch.compile(model)
    assert isinstance(compiled, nn.Module) and compiled._orig_mod is model
    assert [id(p) for p in compiled.parameters()] == [id(p) for p in model.parameters()]
    assert compiled.weight is model.weight


@pytest.mark.parametrize("change", ["batch", "dtype", "grad_mode"])
def test_a_changed_signature_retraces_once_and_going_back_hits_the_cache(change: str) -> None:
    w = torch.ones(3)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return (x * w).sum(-1)

    compiled = torch.compile(fn)
    first = torch.ones(2, 3)
    second = {"batch": torch.ones(4, 3), "dtype": torch.ones(2, 3, dtype=torch.float64), "grad_mode": first}[change]

    def call(x: torch.Tensor, changed: bool) -> torch.Tensor:
        with torch.set_grad_enabled(not (changed and change == "grad_mode")):
            return compiled(x)

    for _ in range(3):
        call(first, False)
    traces = _counts()["traces"]
    second_out = [call(second, True) for _ in range(3)]
    assert _counts()["traces"] == traces + 1
    replays = _counts()["replays"]
    assert np.array_equal(call(first, False).numpy(), fn(first).numpy())
    assert _counts()["traces"] == traces + 1 and _counts()["replays"] == replays + 1
    assert second_out[-1].shape == fn(second).shape


def test_a_python_number_that_decides_control_flow_is_guarded() -> None:
    def fn(x: torch.Tensor, k: float) -> torch.Tensor:
        return x * k if k > 0 else x - k

    compiled = torch.compile(fn)
    x = torch.ones(2)
    for k in (1.0, 2.0, 3.0, -1.0, -2.0, 4.0):
        assert np.array_equal(compiled(x, k).numpy(), fn(x, k).numpy())


def test_a_read_inside_breaks_the_graph_without_fullgraph() -> None:
    w = torch.ones(2)

    def fn(x: torch.Tensor) -> float:
        w.mul_(x)
        return w.sum().item()

    compiled = torch.compile(fn)
    before = _counts()
    got = [compiled(torch.full((2,), 2.0)) for _ in range(4)]
    assert got == [4.0, 8.0, 16.0, 32.0]
    assert _counts()["graph_breaks"] - before["graph_breaks"] == 3 and _counts()["replays"] == before["replays"]


def test_a_read_inside_raises_with_fullgraph_naming_the_line() -> None:
    @torch.compile(fullgraph=True)
    def fn(x: torch.Tensor) -> float:
        return (x * 2).sum().item()

    fn(torch.ones(2))
    with pytest.raises(RuntimeError, match=r"fullgraph=True.*test_compile\.py:\d+"):
        fn(torch.ones(2))


def test_a_tensor_kept_outside_the_function_makes_it_run_uncompiled() -> None:
    kept = []

    def fn(x: torch.Tensor) -> None:
        kept.append(x * 2)

    compiled = torch.compile(fn)
    for i in range(4):
        compiled(torch.full((1,), float(i)))
    assert [t.item() for t in kept] == [0.0, 2.0, 4.0, 6.0]


def test_unknown_mode_is_refused_like_torch() -> None:
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast"):
        torch.compile(lambda x: x, mode="fast")


def test_donation_frees_overwritten_weights_and_spares_held_ones(backend: str) -> None:
    if backend != "jax":
        pytest.skip("buffer donation is a jax feature")
    import jax

    weights = [torch.randn(1024, 1024).requires_grad_() for _ in range(4)]
    opt = torch.optim.SGD(weights, lr=0.01)

    def step(x: torch.Tensor) -> None:
        opt.zero_grad()
        h = x
        for w in weights:
            h = (h @ w).tanh()
        h.sum().backward()
        opt.step()

    compiled = torch.compile(step)
    x = torch.randn(4, 1024)
    for _ in range(3):
        compiled(x)
    old = [w.node.buffer for w in weights]
    held = weights[1].detach()
    compiled(x)
    assert [b.is_deleted() for b in old] == [True, False, True, True]
    assert held.numpy().shape == (1024, 1024)

    def live_bytes() -> int:
        return sum(a.nbytes for a in jax.live_arrays())

    del old, held
    steady = live_bytes()
    compiled(x)
    assert live_bytes() <= steady  # the new weights took the old ones' place


def test_a_replayed_step_overwrites_its_state_in_place_and_keeps_only_its_new_outputs(backend: str) -> None:
    if backend != "jax":
        pytest.skip("buffer donation is a jax feature")
    import jax

    weights = [torch.randn(256, 256).requires_grad_() for _ in range(4)]
    opt = torch.optim.SGD(weights, lr=0.01, momentum=0.9)

    def step(x: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        h = x
        for w in weights:
            h = (h @ w).tanh()
        loss = h.sum()
        loss.backward()
        opt.step()
        return loss

    compiled = torch.compile(step)
    x = torch.randn(8, 256)
    losses = [compiled(x) for _ in range(3)]  # run as usual, traced, replayed
    del losses
    state = [*weights, *(opt.state[w]["momentum_buffer"] for w in weights)]
    overwritten = [t.node.buffer for t in state]
    before = sum(a.nbytes for a in jax.live_arrays())
    loss = compiled(x)
    after = sum(a.nbytes for a in jax.live_arrays())
    assert all(b.is_deleted() for b in overwritten)  # weights and momentum were written into their old buffers
    del overwritten
    # The gradients replaced the previous step's, which are gone: only the returned loss is new.
    assert after - before <= loss.node.buffer.nbytes
    assert [t.grad.shape for t in weights] == [(256, 256)] * 4


def test_a_global_number_that_changes_every_call_is_never_replayed_stale() -> None:
    w = torch.ones(3, requires_grad=True)
    state = {"lr": 0.5}

    @torch.compile
    def update(x):
        loss = (w * x).sum()
        loss.backward()
        with torch.no_grad():
            w.sub_(state["lr"] * w.grad)  # the dict's number is not an argument: the trace cannot see it
            w.grad.zero_()
        return loss

    expected = torch.ones(3)
    x = torch.tensor([1.0, 2.0, 3.0])
    before = _counts()
    for _ in range(5):
        update(x)
        expected -= state["lr"] * x
        state["lr"] /= 2
    assert w.tolist() == expected.tolist()
    after = _counts()
    assert after["replays"] == before["replays"] and after["graph_breaks"] > before["graph_breaks"]


def test_a_tensor_copied_from_another_before_the_trace_is_read_apart_in_replays() -> None:
    """``ema.copy_(w)`` leaves both on one value, which the trace reads as one input; once the replays move them
    apart, the plan no longer fits and the call is traced again."""
    w, ema = torch.ones(3), torch.zeros(3)

    def step() -> torch.Tensor:
        w.sub_(0.1)
        ema.add_((w - ema) * 0.5)
        return w.sum()

    compiled = torch.compile(step)
    sums = [compiled().item()]
    ema.copy_(w)
    sums += [compiled().item() for _ in range(5)]
    np.testing.assert_allclose(sums, [2.7, 2.4, 2.1, 1.8, 1.5, 1.2], rtol=1e-6)
    np.testing.assert_allclose(ema.numpy(), np.full(3, 0.496875), rtol=1e-6)


def _minibatch_run(compiled: bool, epochs: int) -> tuple[list[float], list[np.ndarray]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data, target = torch.randn(40, 3), torch.randn(40, 1)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    work = torch.compile(step) if compiled else step
    losses = []
    for _ in range(epochs):
        for i in range(4):
            losses.append(work(data[i * 10:(i + 1) * 10], target[i * 10:(i + 1) * 10]).item())
    return losses, _values(list(model.parameters()))


def test_minibatches_sliced_from_a_dataset_replay_in_one_execution_per_step() -> None:
    """The slices a replay takes as arguments are computed on the host, not by a program of their own before the
    step's (a device's buffers too large to copy still take one); the values are those of the uncompiled epochs."""
    expected = _minibatch_run(False, 3)
    before = _counts()
    got = _minibatch_run(True, 3)
    after = _counts()
    assert got[0] == expected[0] and _same(got[1], expected[1])
    assert after["replays"] - before["replays"] == 12 - 2  # the first two calls warm up and trace
    # the warm-up and the trace take three; then each replay is one program (the loss read is its output)
    assert after["executions"] - before["executions"] == 3 + 10
