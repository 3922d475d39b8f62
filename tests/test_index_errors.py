"""Laziness never changes a result: a bad index, divisor or size raises torch's error, on every backend.

Values that are known when an op is called are checked there. Values that are still pending pass through a
check node and raise the same error when they are computed, naming the op and the line that called it; the
other tensors of that realization are still computed, and the bad one raises again each time it is read.
"""

from __future__ import annotations

import importlib

import pytest
from helpers import HAS_TORCH

import lazygrad

if HAS_TORCH:
    import torch

realization = importlib.import_module("lazygrad.realization")

OUT_OF_RANGE = "index out of range in self"

# name -> (fn(T) building the op on a pending index or divisor, on one line; the op's name in the error;
#          torch's exception and message)
PENDING = {
    "gather": (lambda T: T.arange(6.0).reshape(2, 3).gather(1, T.tensor([[5]]) + 0), "gather",
               RuntimeError, "index 5 is out of bounds for dimension 1 with size 3"),
    "gather_negative": (lambda T: T.arange(6.0).reshape(2, 3).gather(1, T.tensor([[-1]]) + 0), "gather",
                        RuntimeError, "index -1 is out of bounds for dimension 1 with size 3"),
    "indexing": (lambda T: T.arange(3.0)[T.tensor([0]) - 5], "indexing",
                 IndexError, "index -5 is out of bounds for dimension 0 with size 3"),
    "indexing_second_tensor": (lambda T: T.zeros(2, 3)[T.tensor([1]), T.tensor([0, 9]) + 0], "indexing",
                               IndexError, "index 9 is out of bounds for dimension 1 with size 3"),
    "indexing_after_a_slice": (lambda T: T.zeros(2, 3)[:, T.tensor([3]) + 0], "indexing",
                               IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    "index_put": (lambda T: (x := T.zeros(3)).__setitem__(T.tensor([4]) + 0, 1.0) or x, "index_put_",
                  IndexError, "index 4 is out of bounds for dimension 0 with size 3"),
    "index_select": (lambda T: T.index_select(T.zeros(3, 2), 0, T.tensor([5]) + 0), "index_select",
                     IndexError, OUT_OF_RANGE),
    "embedding": (lambda T: T.nn.functional.embedding(T.tensor([3]) + 0, T.zeros(3, 2)), "embedding",
                  IndexError, OUT_OF_RANGE),
    "scatter_add": (lambda T: T.zeros(3).scatter_add(0, T.tensor([5]) + 0, T.ones(1)), "scatter_add",
                    RuntimeError, "index 5 is out of bounds for dimension 0 with size 3"),
    "cross_entropy": (lambda T: T.nn.functional.cross_entropy(T.zeros(2, 3), T.tensor([0, 5]) + 0), "cross_entropy",
                      IndexError, "Target 5 is out of bounds."),
    "nll_loss": (lambda T: T.nn.functional.nll_loss(T.zeros(2, 3), T.tensor([-1, 0]) + 0), "nll_loss",
                 IndexError, "Target -1 is out of bounds."),
    "floor_divide": (lambda T: T.tensor([5, 4]) // (T.tensor([1, 0]) + 0), "floor_divide",
                     RuntimeError, "ZeroDivisionError"),
    "remainder": (lambda T: T.tensor([5]) % (T.tensor([0]) + 0), "remainder", RuntimeError, "ZeroDivisionError"),
    "fmod": (lambda T: T.tensor([5]).fmod(T.tensor([0]) + 0), "fmod", RuntimeError, "ZeroDivisionError"),
    "div_trunc": (lambda T: T.tensor([5]).div(T.tensor([0]) + 0, rounding_mode="trunc"), "div",
                  RuntimeError, "ZeroDivisionError"),
    "div_floor": (lambda T: T.tensor([5]).div(T.tensor([0]) + 0, rounding_mode="floor"), "floor_divide",
                  RuntimeError, "ZeroDivisionError"),
    "rfloordiv": (lambda T: 7 // (T.tensor([0]) * 2), "floor_divide", RuntimeError, "ZeroDivisionError"),
}

# name -> (fn(T) whose bad value is known when it is called; torch's exception and message)
KNOWN = {
    "gather": (lambda T: T.zeros(2, 3).gather(1, T.tensor([[5]])),
               RuntimeError, "index 5 is out of bounds for dimension 1 with size 3"),
    "indexing": (lambda T: T.arange(3.0)[T.tensor([-5])], IndexError,
                 "index -5 is out of bounds for dimension 0 with size 3"),
    "indexing_int32": (lambda T: T.arange(3.0)[T.tensor([3], dtype=T.int32)], IndexError,
                       "index 3 is out of bounds for dimension 0 with size 3"),
    "index_select_negative": (lambda T: T.index_select(T.zeros(3), 0, T.tensor([-1])), IndexError, OUT_OF_RANGE),
    "embedding": (lambda T: T.nn.functional.embedding(T.tensor([3]), T.zeros(3, 2)), IndexError, OUT_OF_RANGE),
    "scatter_add": (lambda T: T.zeros(3).scatter_add(0, T.tensor([-1]), T.ones(1)),
                    RuntimeError, "index -1 is out of bounds for dimension 0 with size 3"),
    "cross_entropy": (lambda T: T.nn.functional.cross_entropy(T.zeros(2, 3), T.tensor([0, 5])),
                      IndexError, "Target 5 is out of bounds."),
    "floor_divide_by_zero": (lambda T: T.tensor([5]) // 0, RuntimeError, "ZeroDivisionError"),
    "remainder_by_a_zero_tensor": (lambda T: T.tensor([5, 3]) % T.tensor([2, 0]), RuntimeError, "ZeroDivisionError"),
    "fmod_by_zero": (lambda T: T.tensor([5]).fmod(0), RuntimeError, "ZeroDivisionError"),
    "div_trunc_by_zero": (lambda T: T.tensor([5]).div(0, rounding_mode="trunc"), RuntimeError, "ZeroDivisionError"),
    "rfloordiv": (lambda T: 7 // T.tensor([0]), RuntimeError, "ZeroDivisionError"),
    "full": (lambda T: T.full((-2,), 1.0), RuntimeError, "Trying to create tensor with negative dimension -2: [-2]"),
    "randn": (lambda T: T.randn(-2), RuntimeError, "Trying to create tensor with negative dimension -2: [-2]"),
    "rand": (lambda T: T.rand(2, -3), RuntimeError, "Trying to create tensor with negative dimension -3: [2, -3]"),
    "randint": (lambda T: T.randint(3, (-2,)), RuntimeError,
                "Trying to create tensor with negative dimension -2: [-2]"),
    "ones": (lambda T: T.ones(-2, -3), RuntimeError, "Trying to create tensor with negative dimension -2: [-2, -3]"),
    "empty": (lambda T: T.empty(-2), RuntimeError, "Trying to create tensor with negative dimension -2: [-2]"),
    "zeros": (lambda T: T.zeros(2, -3), RuntimeError, "zeros: Dimension size must be non-negative."),
    "new_zeros": (lambda T: T.zeros(3).new_zeros(-2), RuntimeError,
                  "Trying to create tensor with negative dimension -2: [-2]"),
    "eye": (lambda T: T.eye(2, -1), RuntimeError, "m must be greater or equal to 0, got -1"),
    "amax": (lambda T: T.zeros(2, 0).amax(1), IndexError, "amax(): Expected reduction dim 1 to have non-zero size."),
    "amin_negative_dim": (lambda T: T.zeros(2, 0).amin(-1), IndexError,
                          "amin(): Expected reduction dim -1 to have non-zero size."),
    "amax_of_nothing": (lambda T: T.zeros(2, 0).amax(), RuntimeError,
                        "amax(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction "
                        "dim with the 'dim' argument."),
    "max": (lambda T: T.zeros(2, 0).max(-1), IndexError, "max(): Expected reduction dim 1 to have non-zero size."),
    "min": (lambda T: T.zeros(0, 2).min(0), IndexError, "min(): Expected reduction dim 0 to have non-zero size."),
    "argmax": (lambda T: T.zeros(2, 0).argmax(1), IndexError,
               "argmax(): Expected reduction dim 1 to have non-zero size."),
    "argmin_of_nothing": (lambda T: T.zeros(0).argmin(), IndexError,
                          "argmin(): Expected reduction dim to be specified for input.numel() == 0."),
}


def raised(fn, *args):
    """The exception ``fn(*args)`` raises (the test fails if it raises none)."""
    with pytest.raises(Exception) as info:  # the callers check the exact type
        fn(*args)
    return info.value


@pytest.mark.parametrize("name", PENDING)
def test_a_pending_bad_value_raises_torchs_error_naming_the_op_and_line_when_read(name):
    fn, op, kind, message = PENDING[name]
    bad = fn(lazygrad)  # nothing is known yet: building succeeds
    error = raised(bad.tolist)
    assert type(error) is kind
    first, _, note = str(error).partition("\n")
    assert first == message
    assert f"from {op} at {fn.__code__.co_filename}:{fn.__code__.co_firstlineno}" in note


@pytest.mark.parametrize("name", KNOWN)
def test_a_known_bad_value_raises_torchs_error_at_the_op(name):
    fn, kind, message = KNOWN[name]
    executions = lazygrad.metrics()["executions"]
    error = raised(fn, lazygrad)
    assert type(error) is kind and str(error) == message
    assert lazygrad.metrics()["executions"] == executions


@pytest.mark.skipif(not HAS_TORCH, reason="compares the recorded messages with torch's own")
@pytest.mark.parametrize("name", [*(f"pending-{n}" for n in PENDING), *(f"known-{n}" for n in KNOWN)])
def test_recorded_messages_are_torchs(name, backend):
    if backend != "numpy":
        pytest.skip("torch runs the same once")
    group, _, key = name.partition("-")
    fn, *_, kind, message = (PENDING if group == "pending" else KNOWN)[key]
    error = raised(fn, torch)
    assert type(error) is kind and str(error) == message


def test_an_unrelated_read_gets_its_value_and_the_bad_tensor_raises_on_every_read():
    table = lazygrad.arange(6.0).reshape(2, 3)
    index = lazygrad.tensor([[0, 4]]) + 0
    bad = table.gather(1, index)
    after_bad = bad.sum() * 2
    good = table * 10
    assert good[1, 2].item() == 50.0  # one realization: everything pending, the bad tensors set aside
    assert index.tolist() == [[0, 4]]  # the index itself is fine, and was computed with the others
    for _ in range(2):
        with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 1 with size 3"):
            bad.tolist()
    with pytest.raises(RuntimeError, match="index 4 is out of bounds"):
        after_bad.item()


def test_a_failed_check_does_not_block_a_read_of_a_target_beside_it():
    a = lazygrad.arange(4.0)
    bad = a[lazygrad.tensor([9]) + 0]
    good = a[lazygrad.tensor([3]) + 0]
    lazygrad.realize(good)  # a target whose own check passes
    assert good.tolist() == [3.0]
    with pytest.raises(IndexError, match="index 9 is out of bounds"):
        bad.item()


def test_two_failing_checks_in_one_program_each_raise_their_own_error():
    a = lazygrad.arange(4.0)
    first = a[lazygrad.tensor([7]) + 0]
    second = a.gather(0, lazygrad.tensor([5]) + 0)
    fine = a * 2
    assert fine.tolist() == [0.0, 2.0, 4.0, 6.0]
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 4"):
        second.item()
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 4"):
        first.item()


def test_equal_checks_stay_apart_so_the_failed_one_is_the_one_reported():
    a = lazygrad.arange(4.0)
    index = lazygrad.tensor([1]) + 0
    first, second = a[index], a[index]  # two equal checks, which merging would fold into one
    bad = a.gather(0, lazygrad.tensor([5]) + 0)
    lazygrad.realize()
    assert first.node.buffer is not None and second.node.buffer is not None and bad.node.buffer is None
    assert first.tolist() == second.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 4"):
        bad.item()


def test_a_bad_tensor_left_behind_costs_later_steps_nothing():
    a = lazygrad.arange(4.0)
    bad = a[lazygrad.tensor([9]) + 0]
    with pytest.raises(IndexError):
        bad.item()
    lazygrad.reset_metrics()
    assert (a * 3).sum().item() == 18.0
    assert lazygrad.metrics()["executions"] == 1
    assert bad.node.buffer is None


def test_valid_pending_indices_give_numpys_values():
    table = lazygrad.arange(12.0).reshape(4, 3)
    rows = lazygrad.tensor([3, -1, 0]) + 0
    assert table[rows].tolist() == [[9.0, 10.0, 11.0], [9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]
    assert table.gather(1, lazygrad.tensor([[2], [0], [1], [2]]) * 1).tolist() == [[2.0], [3.0], [7.0], [11.0]]
    assert (lazygrad.tensor([7, -7]) // (lazygrad.tensor([2, 2]) + 0)).tolist() == [3, -4]


def test_new_index_values_and_new_lines_reuse_one_compiled_program():
    table = lazygrad.arange(12.0).reshape(4, 3)
    lazygrad.realize(table)

    def read(i: int) -> float:
        return table[lazygrad.tensor([i]) + 0].sum().item()

    assert read(0) == 3.0
    compiles = lazygrad.metrics()["compiles"]
    assert [read(i) for i in (1, 2, 3, -1)] == [12.0, 21.0, 30.0, 30.0]
    from_another_line = table[lazygrad.tensor([2]) + 0].sum()
    assert from_another_line.item() == 21.0
    assert lazygrad.metrics()["compiles"] == compiles


@pytest.mark.parametrize(("stage", "failure"), [("compile", RuntimeError), ("run", KeyboardInterrupt)])
def test_a_failed_realization_keeps_every_pending_tensor_pending_and_tracked(monkeypatch, stage, failure):
    x = lazygrad.arange(3.0) * 2
    y = x + 1
    compile_or_fetch = realization._executable
    failed = []

    def fail_once():
        if not failed:
            failed.append(True)
            raise failure("injected")

    def failing_once(program):
        if stage == "compile":
            fail_once()
        executable = compile_or_fetch(program)

        def run(buffers):
            fail_once()
            return executable(buffers)

        return run

    monkeypatch.setattr(realization, "_executable", failing_once)
    with pytest.raises(failure, match="injected"):
        y.tolist()
    assert x.node.buffer is None and y.node.buffer is None
    tracked = [r() for r in realization._tracked.pending]
    assert any(t is x for t in tracked) and any(t is y for t in tracked)
    assert y.tolist() == [1.0, 3.0, 5.0]  # the retry computes the same values ...
    assert x.node.buffer is not None  # ... and x with them, as it is still tracked
    assert x.tolist() == [0.0, 2.0, 4.0]
