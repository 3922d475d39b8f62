"""Laziness made observable through ``lazygrad.metrics()``: what runs when, what compiles, what stays flat.

Building graphs (backward included) runs nothing; reading a value runs one program; a training step is one
program whose structure repeats, so it compiles once; long graphs and long loops neither recurse nor grow;
and realizing at any point never changes a value.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, smooth_arrays
from hypothesis import given
from hypothesis import strategies as st

import lazygrad

if HAS_TORCH:
    import torch


class Counter:
    """Differences of ``lazygrad.metrics()`` since construction (or the last ``take``)."""

    def __init__(self):
        self.start = lazygrad.metrics()

    def take(self):
        now = lazygrad.metrics()
        delta = {k: now[k] - self.start[k] for k in now}
        self.start = now
        return delta


# ---- nothing runs until a value is read -----------------------------------------------------------------------


def test_building_fifty_ops_and_backward_runs_nothing():
    count = Counter()
    x = lazygrad.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = lazygrad.ones(3, 3, requires_grad=True)
    y = x
    for i in range(10):
        y = (w @ y).tanh() * 0.5 + x.sigmoid() - i / 10
    loss = (y * y).mean()
    loss.backward()
    with lazygrad.no_grad():
        w -= 0.1 * w.grad
    delta = count.take()
    assert delta["nodes_built"] >= 50
    assert delta["executions"] == 0 and delta["compiles"] == 0 and delta["cache_hits"] == 0


def test_reading_one_value_runs_exactly_one_program_for_everything_pending():
    x = lazygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward()
    count = Counter()
    value = loss.item()
    assert count.take()["executions"] == 1
    # The gradient was pending too, so it was computed in the same program: reading it runs nothing.
    grad = x.grad.tolist()
    assert count.take()["executions"] == 0
    assert value == pytest.approx(float(np.sum(np.exp([1, 2, 3]) * [1, 2, 3])), rel=1e-6)
    assert grad == pytest.approx(list(np.exp([1, 2, 3]) * [2, 3, 4]), rel=1e-6)


@pytest.mark.parametrize("read", ["item", "tolist", "numpy", "bool", "float", "repr", "realize", "method"])
def test_every_way_of_reading_realizes_once(read):
    y = lazygrad.tensor([2.0]) * 3
    count = Counter()
    value = {"item": lambda: y.item(), "tolist": lambda: y.tolist()[0], "numpy": lambda: y.numpy()[0],
             "bool": lambda: bool(y) and 6.0, "float": lambda: float(y), "repr": lambda: float(repr(y)[8:-2]),
             "realize": lambda: lazygrad.realize(y) or 6.0, "method": lambda: y.realize() and 6.0}[read]()
    assert value == 6.0
    assert count.take()["executions"] == 1
    y.tolist()
    assert count.take()["executions"] == 0


def test_an_error_in_user_code_after_building_runs_nothing():
    count = Counter()
    a = lazygrad.ones(2, 3) * 2
    with pytest.raises(RuntimeError):
        a @ a
    assert count.take()["executions"] == 0
    assert a.sum().item() == 12.0


# ---- one program per training step, compiled once -------------------------------------------------------------


def _linear_regression(steps, lr_of, data_of):
    """The D2L loop: forward, backward, update under no_grad, zero the grads, read the loss."""
    w = lazygrad.zeros(3, 1, requires_grad=True)
    b = lazygrad.zeros(1, requires_grad=True)
    per_step, losses = [], []
    count = Counter()
    for step in range(steps):
        features, labels = data_of(step)
        loss = ((features @ w + b - labels) ** 2 / 2).mean()
        loss.backward()
        with lazygrad.no_grad():
            w -= lr_of(step) * w.grad
            b -= lr_of(step) * b.grad
            w.grad.zero_()
            b.grad.zero_()
        losses.append(loss.item())
        per_step.append(count.take())
    return per_step, losses, w, b


def _fixed_data(seed=0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((16, 3)).astype(np.float32)
    labels = features @ np.array([[2.0], [-3.4], [1.0]], np.float32) + 4.2
    return lambda step: (lazygrad.tensor(features), lazygrad.tensor(labels))


def test_a_training_step_is_one_program_and_the_graph_does_not_grow():
    per_step, losses, _, _ = _linear_regression(8, lambda step: 0.1, _fixed_data())
    assert [m["executions"] for m in per_step] == [1] * 8
    # Step 0 creates the grads, step 1 accumulates into zeroed ones; from there every step is the same graph.
    assert len({m["nodes_built"] for m in per_step[1:]}) == 1
    assert losses[-1] < losses[0]


def test_a_new_learning_rate_and_new_data_of_the_same_shape_do_not_recompile():
    rng = np.random.default_rng(1)

    def fresh_data(step):
        features = rng.standard_normal((16, 3)).astype(np.float32)
        return lazygrad.tensor(features), lazygrad.tensor(features.sum(1, keepdims=True))

    per_step, _, _, _ = _linear_regression(10, lambda step: 0.01 + step / 1000, fresh_data)
    assert sum(m["compiles"] for m in per_step[2:]) == 0
    assert [m["cache_hits"] for m in per_step[2:]] == [1] * 8


def test_batches_padded_from_sequences_of_new_lengths_do_not_recompile():
    """Token ids padded from sentences of varying lengths are worked out on the host before the step's program,
    so its structure sees the padded batch's shape, not each sentence's length."""
    rng = np.random.default_rng(2)
    emb = lazygrad.nn.Embedding(9, 4)
    count, losses = Counter(), []
    for step in range(6):
        sentences = [lazygrad.tensor(rng.integers(3, 9, rng.integers(1, 4)).tolist()) for _ in range(5)]
        sentences[0] = lazygrad.arange(3, 7)  # the longest: every batch is (5, 6) once bos and eos are added
        batch = lazygrad.nn.utils.rnn.pad_sequence(
            [lazygrad.cat([lazygrad.tensor([1]), s.flip(0), lazygrad.tensor([2])]) for s in sentences],
            batch_first=True)
        loss = emb(batch).masked_fill((batch == 0).unsqueeze(-1), 0.0).sum()
        loss.backward()
        losses.append(loss.item())
        expected = emb.weight.detach().numpy()[batch.numpy()].sum(where=batch.numpy()[..., None] != 0)
        # a sum of ~30 float32 terms near 1 in another order: an absolute error of a few 1e-7 where it cancels to ~0
        assert np.isclose(losses[-1], expected, rtol=1e-5, atol=1e-5)
        if step == 1:
            count.take()
    assert count.take()["compiles"] == 0


@pytest.mark.parametrize("assemble", [lazygrad.cat, lazygrad.stack])
def test_batches_sampled_from_a_replay_memory_do_not_recompile(assemble):
    """Which computed samples a batch holds, and which of them are one tensor sampled twice, is data: the batch
    is assembled before the step's program, which reads it as one input."""
    rng = np.random.default_rng(3)
    samples = [rng.standard_normal((1, 4)).astype(np.float32) for _ in range(6)]
    memory = [lazygrad.tensor(sample) for sample in samples]  # copies: no memory shared with numpy
    picks = [[0, 1, 2], [3, 4, 5], [0, 0, 1], [2, 5, 2], [4, 4, 4], [1, 3, 0]]
    net = lazygrad.nn.Linear(4, 2)
    optimizer = lazygrad.optim.SGD(net.parameters(), lr=0.1)
    count = Counter()
    for step, pick in enumerate(picks):
        batch = assemble([memory[i] for i in pick])
        weight, bias = net.weight.detach().numpy().copy(), net.bias.detach().numpy().copy()
        loss = net(batch).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rows = np.concatenate([samples[i] for i in pick]).reshape(batch.shape)
        assert np.isclose(loss.item(), ((rows @ weight.T + bias) ** 2).mean(), rtol=1e-5)
        if step == 1:
            count.take()
    assert count.take()["compiles"] == 0


def test_a_batch_worked_out_on_the_host_lets_go_of_its_sentences():
    sentence = lazygrad.tensor([4, 5, 6])
    batch = sentence.flip(0) * 2 + 1  # ids shifted past the reserved ones
    kept = batch[1:]  # pending on the batch, so the batch is folded inside the program that computes this
    assert batch.node.args
    assert kept.tolist() == [11, 9]
    assert batch.tolist() == [13, 11, 9]
    assert batch.node.args == () and kept.node.args == ()  # computed leaves, as realized tensors are


def test_the_loop_learns_the_same_parameters_as_torch():
    _, losses, w, b = _linear_regression(30, lambda step: 0.1, _fixed_data())
    if HAS_TORCH:
        features, labels = (torch.from_numpy(a.numpy()) for a in _fixed_data()(0))
        tw, tb = torch.zeros(3, 1, requires_grad=True), torch.zeros(1, requires_grad=True)
        expected = []
        for _ in range(30):
            loss = ((features @ tw + tb - labels) ** 2 / 2).mean()
            loss.backward()
            with torch.no_grad():
                tw -= 0.1 * tw.grad
                tb -= 0.1 * tb.grad
                tw.grad.zero_()
                tb.grad.zero_()
            expected.append(loss.item())
        assert_close(np.array(losses, np.float32), np.array(expected, np.float32), rtol=1e-4, atol=1e-5)
        assert_close(w.detach(), tw, rtol=1e-4, atol=1e-5)
        assert_close(b.detach(), tb, rtol=1e-4, atol=1e-5)
    assert losses[-1] < 0.05 * losses[0]


# ---- long graphs and long loops -------------------------------------------------------------------------------

# The chain is 100,000 nodes on numpy (4 per link: a multiply, an add and their two Python-number inputs), far
# past Python's recursion limit; it builds, differentiates and runs in a few seconds. XLA's compile time grows
# steeply with a chain's length (about 3 s for 200 links, 40 s for 1,000), so jax gets a short chain.
CHAIN_LINKS = {"numpy": 25_000, "jax": 200}


def test_a_long_chain_realizes_and_backpropagates_without_recursion(backend):
    links = CHAIN_LINKS[backend]
    count = Counter()
    started = time.perf_counter()
    x = lazygrad.tensor([1.0, 2.0], dtype=lazygrad.float64, requires_grad=True)
    y = x
    for _ in range(links):
        y = y * 1.0001 + 0.0
    total = y.sum()
    total.backward()
    assert count.take()["nodes_built"] >= 4 * links
    factor = 1.0001**links
    assert total.item() == pytest.approx(3 * factor, rel=1e-9)
    assert x.grad.tolist() == pytest.approx([factor, factor], rel=1e-9)
    assert count.take()["executions"] == 1
    assert time.perf_counter() - started < 60  # a regression to quadratic work would take minutes


def test_ten_thousand_update_steps_keep_graph_and_memory_flat():
    """A leak per step shows as objects that survive the loop, or traced memory growing with the window."""
    features = lazygrad.tensor([1.0, 2.0, 3.0], dtype=lazygrad.float64)
    target = lazygrad.tensor([2.0, 4.0, 6.0], dtype=lazygrad.float64)
    w = lazygrad.zeros(3, dtype=lazygrad.float64, requires_grad=True)

    def step():
        loss = ((w * features - target) ** 2).sum()
        loss.backward()
        with lazygrad.no_grad():
            w.sub_(0.01 * w.grad)
            w.grad.zero_()
        return loss.item()

    def traced_retention(steps):
        tracemalloc.start()
        try:
            for _ in range(steps):
                step()
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    for _ in range(500):
        step()
    gc.collect()
    objects_early = len(gc.get_objects())
    count = Counter()
    sizes = set()
    for _ in range(9_000):
        step()
        sizes.add(count.take()["nodes_built"])
    short, long = traced_retention(100), traced_retention(400)
    gc.collect()
    objects_late = len(gc.get_objects())
    assert len(sizes) == 1  # every step builds the same graph
    assert w.node.buffer is not None and not w.node.args  # the parameter is a plain buffer again: graph cut
    assert abs(objects_late - objects_early) < 200
    assert long - short < 16_384, f"retained {short} B over 100 steps but {long} B over 400"
    assert w.detach().tolist() == pytest.approx([2.0, 2.0, 2.0], rel=1e-6)


# ---- laziness never changes a result --------------------------------------------------------------------------

UNARY = {"tanh": lambda t: t.tanh(), "sin": lambda t: t.sin(), "sigmoid": lambda t: t.sigmoid(),
         "neg": lambda t: -t, "half": lambda t: t * 0.5}
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / (b * b + 1)}


def _in_place(kind, target, source, scalar):
    if kind == "add_":
        target.add_(source)
    elif kind == "mul_":
        target.mul_(scalar)
    elif kind == "sub_":
        target.sub_(source, alpha=scalar)
    else:
        target[1] = source[0] * scalar


instructions = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), st.integers(0, 20)),
    st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY)), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("in_place"), st.sampled_from(["add_", "mul_", "sub_", "setitem"]), st.integers(0, 20),
              st.integers(0, 20), st.sampled_from([0.5, -1.5, 2.0])),
    st.tuples(st.just("realize"), st.sets(st.integers(0, 20), min_size=1, max_size=3),
              st.sampled_from(["realize", "tolist", "item"])),
)


def _run(T, program, arrays, realizing, read_grads_late):
    """Interpret ``program`` on ``T`` (lazygrad or torch); realize intermediates only when ``realizing``."""
    values = [T.tensor(arrays[0], requires_grad=True), T.tensor(arrays[1], requires_grad=True), T.tensor(arrays[2])]
    leaves = values[:2]
    for instruction in program:
        kind = instruction[0]
        pick = lambda i: values[i % len(values)]  # noqa: E731
        if kind == "unary":
            values.append(UNARY[instruction[1]](pick(instruction[2])))
        elif kind == "binary":
            values.append(BINARY[instruction[1]](pick(instruction[2]), pick(instruction[3])))
        elif kind == "in_place":
            target = pick(instruction[2])
            if target.is_leaf and target.requires_grad:
                continue  # torch forbids it; test_autograd checks the error
            _in_place(instruction[1], target, pick(instruction[3]), instruction[4])
        elif realizing:
            chosen = [pick(i) for i in instruction[1]]
            if instruction[2] == "realize":
                T.realize(*chosen)
            elif instruction[2] == "tolist":
                chosen[0].tolist()
            else:
                chosen[0].sum().item()
    loss = sum(v.sum() for v in values if v.requires_grad)
    if isinstance(loss, int):
        return [v.detach() for v in values], [None, None]
    if realizing and not read_grads_late:
        loss.item()  # realize the forward (and its pending grads) before backward
    loss.backward()
    return [v.detach() for v in values], [leaf.grad for leaf in leaves]


@given(program=st.lists(instructions, min_size=1, max_size=10), arrays=st.lists(smooth_arrays((2, 3), low=-1, high=1),
       min_size=3, max_size=3), read_grads_late=st.booleans())
def test_realizing_at_any_point_never_changes_a_result(program, arrays, read_grads_late):
    values, grads = _run(lazygrad, program, arrays, realizing=True, read_grads_late=read_grads_late)
    expected_values = expected_grads = None
    if HAS_TORCH:
        try:
            expected_values, expected_grads = _run(torch, program, arrays, realizing=False, read_grads_late=True)
        except RuntimeError as error:  # torch refuses a backward through a value changed in place since
            assert "modified by an inplace operation" in str(error)
    if expected_values is None:
        expected_values, expected_grads = _run(lazygrad, program, arrays, realizing=False, read_grads_late=True)
    assert len(values) == len(expected_values)
    for got, want in zip(values, expected_values):
        assert_close(got, want)
    for got, want in zip(grads, expected_grads):
        assert (got is None) == (want is None)
        if got is not None:
            assert_close(got, want)


def test_a_loop_that_drops_its_grads_compiles_exactly_once():
    # The data is created before the weights, and after step 0 the weights are rebound to new buffers in
    # update order; the program must not depend on when each buffer was made, or step 1 would recompile.
    rng = np.random.default_rng(3)
    x = lazygrad.tensor(rng.standard_normal((6, 4)).astype(np.float32))
    target = lazygrad.tensor(rng.standard_normal((6, 2)).astype(np.float32))
    b = lazygrad.zeros(2, requires_grad=True)
    w = lazygrad.tensor(rng.standard_normal((4, 2)).astype(np.float32), requires_grad=True)
    lazygrad.realize(b)  # zeros() is itself lazy
    lazygrad.clear_cache()
    lazygrad.reset_metrics()
    for step in range(6):
        loss = ((x @ w + b - target) ** 2).mean()
        loss.backward()
        with lazygrad.no_grad():
            for p in (w, b):
                p.sub_(p.grad * (0.1 / (step + 1)))
                p.grad = None
        loss.item()
    assert lazygrad.metrics()["compiles"] == 1 and lazygrad.metrics()["cache_hits"] == 5


def test_a_cached_program_gives_the_same_values_on_every_run():
    # The numpy backend interprets a program's first run and runs generated code from the second on;
    # both must give what a fresh computation gives, on new data every time.
    rng = np.random.default_rng(5)

    def step(a_np, b_np):
        a, b = lazygrad.tensor(a_np, requires_grad=True), lazygrad.tensor(b_np)
        h = (a @ b).relu()
        out = lazygrad.where(h > 0.5, h.exp(), -h).log_softmax(1).sum(0) * 0.25
        out.sum().backward()
        return out.detach().numpy(), a.grad.numpy(), b.numpy()

    for _ in range(3):
        a_np = rng.standard_normal((3, 4)).astype(np.float32)
        b_np = rng.standard_normal((4, 5)).astype(np.float32)
        lazygrad.clear_cache()
        first = step(a_np, b_np)  # a new program: its first run
        for again in (step(a_np, b_np), step(a_np, b_np)):  # the cached program, run again
            for got, want in zip(again, first):
                np.testing.assert_array_equal(got, want)
        h = np.maximum(a_np @ b_np, 0)
        z = np.where(h > 0.5, np.exp(h), -h)
        log_softmax = z - z.max(1, keepdims=True)
        log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
        assert_close(first[0], log_softmax.sum(0) * 0.25, rtol=1e-5, atol=1e-5)
        assert first[2].tolist() == b_np.tolist()
