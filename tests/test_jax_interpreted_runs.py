"""``LAZYGRAD_JAX_INTERPRETED_RUNS``: on jax, a program's first runs can be interpreted by the numpy backend, and
XLA compiles it when it runs again.

Scripts build many programs that run once (setting up, printing, evaluating, generating text with a longer
context every token), and XLA takes 0.1-10 s to compile each; a training step still compiles once, from its
second step on. By default every program is compiled before its first run, so one program always gives the
same bits.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import lazygrad

jax_backend = pytest.importorskip("lazygrad.backends.jax_backend")

pytestmark = pytest.mark.backend_agnostic  # picks its backends itself


@pytest.fixture
def interpreted_first(monkeypatch: pytest.MonkeyPatch):
    """The jax backend with one interpreted run per program, and a cold program cache."""
    monkeypatch.setattr(jax_backend, "INTERPRETED_RUNS", 1)
    lazygrad.clear_cache()
    before = lazygrad.get_backend()
    lazygrad.set_backend("jax")
    yield
    lazygrad.set_backend(before)
    lazygrad.clear_cache()


def _program(x: lazygrad.Tensor, w: lazygrad.Tensor) -> lazygrad.Tensor:
    return ((x @ w).tanh() * 3.0 + x[:, :4].exp() / 7.0).sum(0)


def _inputs(backend: str) -> tuple[lazygrad.Tensor, lazygrad.Tensor]:
    lazygrad.set_backend(backend)
    rng = np.random.default_rng(0)
    return (lazygrad.tensor(rng.standard_normal((16, 8)).astype(np.float32)),
            lazygrad.tensor(rng.standard_normal((8, 4)).astype(np.float32)))


def test_a_first_run_gives_the_numpy_backends_bits_and_a_second_compiles(interpreted_first):
    reference = _program(*_inputs("numpy")).numpy()
    x, w = _inputs("jax")
    before = lazygrad.metrics()["compile_time"]
    first = _program(x, w)
    np.testing.assert_array_equal(first.numpy(), reference)
    assert isinstance(first.node.buffer, jax_backend.ArrayImpl)  # a device buffer, as a compiled run gives
    interpreted_cost = lazygrad.metrics()["compile_time"] - before
    second = _program(x, w).numpy()
    compiled_cost = lazygrad.metrics()["compile_time"] - before - interpreted_cost
    assert compiled_cost > 5 * interpreted_cost  # XLA compiled the program only now
    np.testing.assert_allclose(second, reference, rtol=1e-5)


def test_a_training_loop_compiles_each_step_structure_once(interpreted_first):
    model = lazygrad.nn.Linear(8, 1)
    opt = lazygrad.optim.SGD(model.parameters(), lr=0.1)
    x, y = lazygrad.randn(32, 8), lazygrad.randn(32, 1)
    spent = []
    for _ in range(5):
        before = lazygrad.metrics()["compile_time"]
        loss = lazygrad.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        spent.append(lazygrad.metrics()["compile_time"] - before)
    # steps 1 and 2 have their own programs (the first builds the grads), interpreted; step 3 compiles the
    # steady step's program; later steps reuse it
    assert spent[2] > 5 * max(spent[:2])
    assert spent[3] == spent[4] == 0


def test_a_failed_check_raises_the_same_error_interpreted_and_compiled(interpreted_first):
    def bad() -> lazygrad.Tensor:
        return lazygrad.arange(3.0)[lazygrad.tensor([0]) - 5]

    for _ in range(2):  # the first read runs interpreted, the second compiled
        with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 0 with size 3"):
            bad().tolist()


def test_by_default_a_program_compiles_before_its_first_run():
    assert jax_backend._interpreted_runs() == 0 or "LAZYGRAD_JAX_INTERPRETED_RUNS" in os.environ
    lazygrad.clear_cache()
    before = lazygrad.get_backend()
    lazygrad.set_backend("jax")
    try:
        x, w = _inputs("jax")
        start = lazygrad.metrics()["compile_time"]
        value = _program(x, w).numpy()
        spent = lazygrad.metrics()["compile_time"] - start
        reference = _program(*_inputs("numpy")).numpy()
        np.testing.assert_allclose(value, reference, rtol=1e-5)
        assert spent > 0.01  # XLA compiled before the first run
    finally:
        lazygrad.set_backend(before)
        lazygrad.clear_cache()


def test_the_setting_must_be_a_count(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAZYGRAD_JAX_INTERPRETED_RUNS", "2")
    assert jax_backend._interpreted_runs() == 2
    monkeypatch.setenv("LAZYGRAD_JAX_INTERPRETED_RUNS", "sometimes")
    with pytest.raises(ValueError, match="LAZYGRAD_JAX_INTERPRETED_RUNS must be a count of runs"):
        jax_backend._interpreted_runs()
