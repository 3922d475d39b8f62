"""Programs are sized by steps, not by reads: a loop compiles once per step structure whatever it reads.

The end of ``optimizer.step()`` and a second backward pass with the first still pending are step
boundaries; ``lazygrad.step()`` is an explicit one and ``lazygrad.auto_step(False)`` turns the automatic ones
off. A graph that grows past ``LAZYGRAD_MAX_PENDING`` nodes without a realization is realized by the guard,
which warns once at the user's line.
"""

from __future__ import annotations

import importlib
import random
import warnings

import numpy as np
import pytest

import lazygrad
from lazygrad import nn

X = np.linspace(-1.0, 1.0, 64, dtype=np.float32)
Y = np.sin(3 * X).astype(np.float32)


def _counts(run) -> tuple[list[float], dict[str, int]]:
    lazygrad.clear_cache()
    before = lazygrad.metrics()
    losses = run()
    after = lazygrad.metrics()
    return losses, {k: after[k] - before[k] for k in after}


def _poly_features():
    x = lazygrad.tensor(X)
    return x.unsqueeze(-1) ** lazygrad.tensor([1.0, 2.0, 3.0]), lazygrad.tensor(Y).unsqueeze(-1)


def _optimizer_loop(read_every: int | None, steps: int = 30) -> list[float]:
    lazygrad.manual_seed(0)
    xx, y = _poly_features()
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    opt = lazygrad.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    losses = []
    for t in range(steps):
        loss = (model(xx) - y.flatten()).pow(2).mean()
        if read_every and t % read_every == read_every - 1:
            losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [*losses, loss.item()]


def _manual_loop(read_every: int | None, steps: int = 30) -> list[float]:
    x, y = lazygrad.tensor(X), lazygrad.tensor(Y)
    a, b, c, d = (lazygrad.tensor(v, requires_grad=True) for v in (0.1, -0.2, 0.3, 0.05))
    losses = []
    for t in range(steps):
        loss = (a + b * x + c * x ** 2 + d * x ** 3 - y).pow(2).sum()
        if read_every and t % read_every == read_every - 1:
            losses.append(loss.item())
        loss.backward()
        with lazygrad.no_grad():
            for p in (a, b, c, d):
                p -= 1e-3 * p.grad
                p.grad = None
    return [*losses, loss.item()]


@pytest.mark.parametrize("loop", [_optimizer_loop, _manual_loop])
@pytest.mark.parametrize("read_every", [1, 10, None])
def test_a_training_loop_compiles_a_few_programs_whatever_it_reads(loop, read_every) -> None:
    losses, counts = _counts(lambda: loop(read_every))
    # one structure per step, one for the first step (no previous update), one or two for reading steps
    assert counts["compiles"] <= 4, counts
    assert counts["executions"] <= 30 + 30 // (read_every or 30) * 2 + 2, counts
    assert np.isfinite(losses).all()


@pytest.mark.parametrize("loop", [_optimizer_loop, _manual_loop])
def test_automatic_step_boundaries_do_not_change_values(loop) -> None:
    with_cuts = loop(10)
    with lazygrad.auto_step(False):
        without = loop(10)
    np.testing.assert_allclose(with_cuts, without, rtol=1e-6)


def test_without_automatic_boundaries_a_loop_that_never_reads_runs_one_program() -> None:
    def run():
        with lazygrad.auto_step(False):
            return _optimizer_loop(None, steps=5)

    _, counts = _counts(run)
    assert counts["executions"] == 1


def test_lazygrad_step_ends_a_step_explicitly() -> None:
    x = lazygrad.ones(3)
    y = x * 2
    before = lazygrad.metrics()["executions"]
    lazygrad.step()
    assert lazygrad.metrics()["executions"] == before + 1 and y.node.buffer is not None


def _dynamic_loop(steps: int = 24) -> list[float]:
    random.seed(0)
    lazygrad.manual_seed(0)
    xx, y = _poly_features()
    first, middle, last = nn.Linear(3, 8), nn.Linear(8, 8), nn.Linear(8, 1)
    params = [*first.parameters(), *middle.parameters(), *last.parameters()]
    opt = lazygrad.optim.SGD(params, lr=1e-3, momentum=0.9)
    losses = []
    for t in range(steps):
        h = first(xx).tanh()
        for _ in range(random.randint(0, 3)):  # Python control flow: the depth changes every step
            h = middle(h).tanh()
        loss = (last(h) - y).pow(2).mean()
        if t % 8 == 7:
            losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses


def test_a_net_whose_depth_changes_every_step_compiles_once_per_depth() -> None:
    losses, counts = _counts(_dynamic_loop)
    assert counts["compiles"] <= 4 + 2 + 4, counts  # 4 depths, first steps, reading steps
    assert np.isfinite(losses).all()


# ---- the pending-graph guard -------------------------------------------------------------------------------


def _chain(n: int) -> tuple[list[float], list[float]]:
    x = lazygrad.tensor([0.5, -0.25, 1.0], dtype=lazygrad.float64, requires_grad=True)
    y = x
    for i in range(n):
        y = y * 0.999 + 0.001 if i % 2 else (y * 0.5).tanh() * 2
    y.sum().backward()
    return y.tolist(), x.grad.tolist()


def test_the_guard_realizes_a_runaway_graph_warns_once_at_the_users_line_and_changes_nothing(monkeypatch) -> None:
    expected = _chain(400)
    monkeypatch.setenv("LAZYGRAD_MAX_PENDING", "300")
    monkeypatch.setattr(importlib.import_module("lazygrad.realization"), "_warned", set())  # warned once per process
    lazygrad.step()  # the new limit counts from here
    before = lazygrad.metrics()["guard_realizations"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _chain(400)
    fired = lazygrad.metrics()["guard_realizations"] - before
    assert fired >= 4  # the forward chain and its backward pass are both cut
    assert got[0] == pytest.approx(expected[0], rel=1e-12) and got[1] == pytest.approx(expected[1], rel=1e-12)
    ours = [w for w in caught if issubclass(w.category, lazygrad.PendingGraphWarning)]
    assert len({(w.filename, w.lineno) for w in ours}) == len(ours) >= 1  # once per line
    assert all(w.filename == __file__ for w in ours)


def test_a_backward_pass_longer_than_the_limit_is_cut_into_programs_of_about_the_limit(monkeypatch) -> None:
    """Each record's cotangent stays visible to the guard while its rule builds on it, so the guard computes the
    chain built so far: before, a 100,000-op chain's backward pass became one 50,000-instruction program, whose
    XLA compile overflowed a compiler thread's stack."""
    expected = _chain(400)
    monkeypatch.setenv("LAZYGRAD_MAX_PENDING", "300")
    realization = importlib.import_module("lazygrad.realization")
    sizes = []

    def linearize(*args, **kwargs):
        program, buffers = original(*args, **kwargs)
        sizes.append(len(program.instrs))
        return program, buffers

    original = realization.linearize
    monkeypatch.setattr(realization, "linearize", linearize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lazygrad.PendingGraphWarning)
        lazygrad.step()
        got = _chain(400)
    # a chunk of the backward pass also recomputes the forward values its rules read (tanh's result): ~2x the nodes
    assert max(sizes) <= 3 * 300 and len(sizes) >= 8, sizes
    assert got[0] == pytest.approx(expected[0], rel=1e-12) and got[1] == pytest.approx(expected[1], rel=1e-12)


def test_on_jax_a_long_chain_is_cut_before_the_limit_and_a_wide_graph_is_not(monkeypatch, backend) -> None:
    """XLA compiles a long chain far slower than a wide graph of as many nodes, so on jax the guard also cuts a
    pending graph that is mostly one chain, every tenth of the limit; numpy's interpreter cuts at the limit only."""
    monkeypatch.setenv("LAZYGRAD_MAX_PENDING", "500")
    monkeypatch.setattr(importlib.import_module("lazygrad.realization"), "_warned", set())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lazygrad.PendingGraphWarning)
        lazygrad.step()
        before = lazygrad.metrics()["guard_realizations"]
        wide = [lazygrad.full((3,), float(k)) for k in range(15)]
        for _ in range(6):
            wide = [w * 1.5 + 1.0 for w in wide]  # 15 chains, 12 ops deep: ~380 nodes with the constants
        wide_cuts = lazygrad.metrics()["guard_realizations"] - before
        lazygrad.step()
        deep = lazygrad.ones(3)
        for _ in range(120):
            deep = deep * 0.5 + 0.5  # one chain 240 ops deep: ~480 nodes with the constants
        deep_cuts = lazygrad.metrics()["guard_realizations"] - before - wide_cuts
    assert wide_cuts == 0 and deep_cuts == (4 if backend == "jax" else 0)  # every 100 nodes: a 50-op chain
    assert deep.tolist() == pytest.approx([1.0] * 3) and wide[0].tolist() == pytest.approx([(1.5**6 - 1) * 2] * 3)


def test_a_counting_loop_is_computed_as_it_goes_without_a_warning(monkeypatch) -> None:
    """makemore's bigram counts: each integer write is computed on the host at once, so the writes never pile up
    into chains that the guard must cut (each cut a long program to compile), and nothing warns."""
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 5, size=(300, 2)).tolist()
    expected = np.zeros((5, 5), dtype=np.int32)
    for i, j in pairs:
        expected[i, j] += 1
    monkeypatch.setenv("LAZYGRAD_MAX_PENDING", "300")
    lazygrad.step()
    counts = lazygrad.zeros((5, 5), dtype=lazygrad.int32)
    flags = lazygrad.zeros(5, dtype=lazygrad.bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error", lazygrad.PendingGraphWarning)
        for i, j in pairs:
            counts[i, j] += 1
            flags[j] = True
        assert counts.node.buffer is not None and flags.node.buffer is not None
        assert (counts.numpy() == expected).all() and flags.tolist() == (expected.sum(0) > 0).tolist()


def test_an_invalid_limit_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("LAZYGRAD_MAX_PENDING", "lots")
    with pytest.raises(ValueError, match="LAZYGRAD_MAX_PENDING must be a positive integer"):
        lazygrad.ones(2).tolist()


def test_a_program_with_many_python_numbers_passes_equal_ones_once(monkeypatch) -> None:
    from lazygrad.program import MANY_NUMBERS, linearize, pending_nodes

    monkeypatch.setenv("LAZYGRAD_MAX_PENDING", "100000")
    lazygrad.step()  # the guard must not cut the chain below
    x = lazygrad.ones(3)
    y = x
    for i in range(2 * MANY_NUMBERS):
        y = y * 0.5 + 1.0 if i % 2 else y - 0.25
    program, buffers = linearize([y.node])
    assert len(program.inputs) == len(buffers) == 3  # 0.5, 1.0 and 0.25 (ones(3) is built in the program)
    assert linearize([y.node])[0] == program  # flattened sharing at once the second time: the same program
    # A program of the same size with few numbers, after one that shared: its own numbers, one input each.
    z, numbers = lazygrad.ones(3), 0
    while len(pending_nodes([z.node])) < len(program.instrs):
        if len(pending_nodes([z.node])) < MANY_NUMBERS:
            z, numbers = z * 0.5, numbers + 1
        else:
            z = z.tanh()
    assert len(pending_nodes([z.node])) == len(program.instrs) and numbers <= MANY_NUMBERS
    assert len(linearize([z.node])[0].inputs) == numbers  # every 0.5 its own input
    np.testing.assert_allclose(y.numpy(), np.ones(3) * float(y.numpy()[0]))
    small = lazygrad.ones(3) * 0.5 + 0.5
    assert len(linearize([small.node])[0].inputs) == 2  # few numbers: one input each, structure stays stable


# ---- dynamic positions: windows at changing positions share one program ------------------------------------


def _epoch(batches) -> dict[str, int]:
    data = lazygrad.tensor(np.arange(240.0, dtype=np.float32).reshape(60, 4) / 240)
    target = lazygrad.tensor(np.linspace(-1, 1, 60, dtype=np.float32))
    w = lazygrad.zeros(4, requires_grad=True)
    opt = lazygrad.optim.SGD([w], lr=0.1)

    def run():
        for xb, yb in batches(data, target):
            loss = ((xb @ w) - yb).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [loss.item()]

    return _counts(run)[1]


BATCHINGS = {
    "slices": lambda x, y: ((x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]) for i in range(7)),
    "narrow": lambda x, y: ((x.narrow(0, i * 8, 8), y.narrow(0, i * 8, 8)) for i in range(7)),
    "select": lambda x, y: ((x.view(15, 4, 4)[i], y.view(15, 4)[i]) for i in range(15)),
    "iteration": lambda x, y: zip(x.view(15, 4, 4), y.view(15, 4)),
    "chunks": lambda x, y: zip(x.split(8), y.split(8)),  # the last chunk is shorter
    "index_tensors": lambda x, y: ((x[p], y[p]) for p in (lazygrad.randperm(60)[i * 8:(i + 1) * 8] for i in range(7))),
}


@pytest.mark.parametrize("how", sorted(BATCHINGS))
def test_an_epoch_of_minibatches_taken_from_one_tensor_compiles_once(how) -> None:
    counts = _epoch(BATCHINGS[how])
    assert counts["compiles"] <= 3, counts  # the first step, the steady step, and a short last batch


def test_setting_an_element_at_a_changing_position_reuses_its_program() -> None:
    # the tutorials' one-hot encoding: ``t[li][0][letter] = 1`` for each letter of each name
    lazygrad.clear_cache()
    before = lazygrad.metrics()["compiles"]
    for word in ("abe", "bob", "cat", "dan"):
        t = lazygrad.zeros(3, 1, 26)
        for position, letter in enumerate(word):
            t[position][0][ord(letter) - ord("a")] = 1
        grid = lazygrad.zeros(3, 3)
        grid[position, ord(letter) % 3] = 2.0
        assert t.argmax(-1).flatten().tolist() == [ord(c) - ord("a") for c in word]
        assert grid.sum().item() == 2.0
    assert lazygrad.metrics()["compiles"] - before <= 4  # the first word's two programs, then one each


def test_writing_through_a_window_at_a_changing_position_reuses_its_program() -> None:
    a = lazygrad.zeros(6, 2)
    lazygrad.clear_cache()
    before = lazygrad.metrics()["compiles"]
    for i in range(6):
        a[i].add_(i)
        a.sum().item()
    assert lazygrad.metrics()["compiles"] - before <= 2
    assert a.tolist() == [[float(i)] * 2 for i in range(6)]
    assert a[2:4].storage_offset() == 4 and a[3].stride() == (1,)


# ---- reading an element of a computed tensor: no program, nothing realized ----------------------------------


def test_sampling_rows_at_tensor_positions_runs_no_program() -> None:
    """The char-level models' ``get_batch``: ``int(i)`` for each ``i`` of a drawn index tensor. The draw is made
    on the host; each element and ``i + n`` is read from its buffer, and the stacked rows, data moved out of a
    computed tensor, are computed on the host too: the step's program reads the batch as one input."""
    data = lazygrad.tensor(np.arange(100) % 7)
    lazygrad.manual_seed(3)
    before = lazygrad.metrics()["executions"]
    ix = lazygrad.randint(len(data) - 8, (6,))
    x = lazygrad.stack([data[i:i + 8] for i in ix])
    y = lazygrad.stack([data[i + 1:i + 9] for i in ix])
    assert x.node.buffer is not None and y.node.buffer is not None and x.node.args == ()
    assert lazygrad.metrics()["executions"] == before
    rows = ix.tolist()
    np.testing.assert_array_equal(x.numpy(), np.stack([np.arange(i, i + 8) % 7 for i in rows]))
    np.testing.assert_array_equal(y.numpy(), np.stack([np.arange(i + 1, i + 9) % 7 for i in rows]))


def test_a_host_read_gives_the_realized_value_and_leaves_pending_work_pending() -> None:
    """Integer arithmetic wraps as it does in a program; a float read is realized (it may round per backend)."""
    big = lazygrad.tensor([2**62, 3, -5], dtype=lazygrad.int64)
    small = lazygrad.tensor([2**30, 7], dtype=lazygrad.int32)
    big.realize(), small.realize()
    other = big * 2  # pending work that a host read must not compute
    before = lazygrad.metrics()["executions"]
    wrapped = (big[0] * 4 + 1).item(), int(small[0] * 4 - 3), bool(big[2] < big[1]), (-small[1]).abs().item()
    assert lazygrad.metrics()["executions"] == before and other.node.buffer is None
    assert wrapped == (1, -3, True, 7)  # 2**64 + 1 and 2**32 - 3 wrap around
    assert [(big[0] * 4 + 1).realize().item(), (small[0] * 4 - 3).realize().item()] == [1, -3]
    floats = lazygrad.tensor([0.1, 0.2]).realize()
    assert (floats[0] * 3).item() == pytest.approx(0.3)
    assert lazygrad.metrics()["executions"] > before


def test_an_element_of_a_computed_integer_row_and_a_number_op_on_it_are_computed_when_built_on_numpy() -> None:
    """``for i in ix: data[i:i + n]``: each ``i`` and ``i + n`` is about to become a Python int, so on numpy they
    take their values at once (one numpy call each, no backend program); floats stay pending, writes through an
    element still reach the row as in torch, and an element of a row numpy writes (``from_numpy``) sees the write."""
    on_numpy = lazygrad.get_backend() == "numpy"
    ix, floats = lazygrad.tensor([5, 6, 7]).realize(), lazygrad.tensor([1.5, 2.5]).realize()
    other = lazygrad.tensor([1.0, 2.0]) * 2  # pending work that nothing here may compute
    before = lazygrad.metrics()["executions"]
    i = ix[1]
    bound, test = i + 32, i < 7
    assert [t.node.buffer is not None for t in (i, bound, test)] == [on_numpy] * 3
    assert (int(bound), bool(test)) == (38, True)
    assert floats[0].node.buffer is None and (floats[0] * 2).node.buffer is None  # floats are read as usual
    assert lazygrad.metrics()["executions"] == before and other.node.buffer is None
    i += 10
    assert ix.tolist() == [5, 16, 7] and i.item() == 16
    ix.add_(100)
    assert i.item() == 116 and [int(j) for j in ix] == [105, 116, 107]
    array = np.array([1, 2, 3])
    element = lazygrad.from_numpy(array)[0]  # a view of memory numpy may write: it reads that memory when read
    array[0] = 42
    assert int(element + 1) == (43 if on_numpy else 2)  # on jax the tensor holds its own copy


def test_a_counter_computed_when_built_is_written_through_shared_memory() -> None:
    """BatchNorm's ``num_batches_tracked.add_(1)`` after ``state_dict()`` aliased it: the 0-d sum is computed when
    built (on numpy), and the write through the shared storage takes that value as it is."""
    count = lazygrad.tensor(0).realize()
    alias = count.detach()
    count.add_(1)
    assert (count.item(), alias.item()) == (1, 1)


def test_a_host_read_keeps_what_it_computed_where_the_backend_can_take_it() -> None:
    """The row a sampler iterates over is computed once, by the first read: on numpy every value is kept, on
    any backend the 0-d ones (the elements read), so later programs take them as inputs."""
    starts = lazygrad.tensor(np.arange(12).reshape(3, 4) * 5).realize()
    row = starts[1]  # pending: a window of a computed tensor
    first = row[2]
    assert int(first) == 30 and first.node.buffer is not None
    assert (row.node.buffer is not None) == (lazygrad.get_backend() == "numpy")
    assert [int(i) for i in row] == [20, 25, 30, 35] and (row + 1).tolist() == [21, 26, 31, 36]
