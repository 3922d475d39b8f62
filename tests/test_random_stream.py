"""Random draws are torch's: every sampling function draws, from the same seed, the values PyTorch draws.

The first tests pin values torch 2.13 gives (so they run without torch); the property tests compare each
draw with torch's for random seeds, sizes and parameters, and then compare one more draw, which proves the
generator moved exactly as far. Draws are made on the host, so only the lazy parts of a draw (bernoulli of
probabilities, multinomial) run on every backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH
from hypothesis import given, settings
from hypothesis import strategies as st

import lazygrad

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
agnostic = pytest.mark.backend_agnostic
SEEDS = st.integers(0, 2**64 - 1)
SIZES = st.integers(1, 40)  # both sides of the 16 values where randn switches algorithms


def f32(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float32)


@agnostic
def test_seeded_draws_are_the_values_torch_draws() -> None:
    lazygrad.manual_seed(0)
    np.testing.assert_array_equal(lazygrad.rand(3).numpy(), f32([0.49625658988952637, 0.7682217955589294,
                                                                0.08847743272781372]))
    np.testing.assert_array_equal(lazygrad.randn(3).numpy(), f32([0.3643381893634796, 0.13439632952213287,
                                                                 0.16421625018119812]))
    np.testing.assert_array_equal(lazygrad.randn(20).numpy()[[0, 7, 15, 19]],
                                  f32([-0.20410172641277313, -0.4926769733428955, -0.28966769576072693,
                                       -1.4688938856124878]))
    assert lazygrad.randint(0, 10, (6,)).tolist() == [5, 2, 1, 0, 9, 3]
    assert lazygrad.randperm(8).tolist() == [1, 4, 0, 6, 3, 7, 5, 2]
    # A new generator starts from torch's default seed, as the default generator does before any manual_seed.
    generator = lazygrad.Generator()
    assert generator.initial_seed() == 67280421310721
    np.testing.assert_array_equal(lazygrad.rand(2, generator=generator).numpy(),
                                  f32([0.267295241355896, 0.8725283145904541]))
    assert lazygrad.empty(5).bernoulli_(0.5).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(lazygrad.empty(3).exponential_().numpy(),
                                  f32([2.495027542114258, 0.8487248420715332, 0.6555227637290955]))


@agnostic
def test_a_saved_state_replays_the_same_draws_including_the_kept_normal() -> None:
    lazygrad.manual_seed(5)
    lazygrad.randn(3)  # two pairs drawn: the fourth normal is kept for the next small draw
    state = lazygrad.get_rng_state()
    assert state.dtype is lazygrad.uint8 and state.shape == (5056,)
    first = lazygrad.randn(3).numpy(), lazygrad.rand(17).numpy()
    lazygrad.set_rng_state(state)
    np.testing.assert_array_equal(lazygrad.randn(3).numpy(), first[0])
    np.testing.assert_array_equal(lazygrad.rand(17).numpy(), first[1])
    with pytest.raises(RuntimeError, match="size 5056"):
        lazygrad.set_rng_state(lazygrad.zeros(10, dtype=lazygrad.uint8))
    with pytest.raises(TypeError, match="ByteTensor"):
        lazygrad.set_rng_state(lazygrad.zeros(5056))


def test_draws_never_run_a_program_and_agree_across_backends() -> None:
    """A draw is made on the host: nothing executes, and every backend sees the numbers numpy's run sees."""
    lazygrad.manual_seed(1)
    before = lazygrad.metrics()["executions"]
    draws = [lazygrad.randn(4, 5), lazygrad.rand(7), lazygrad.randint(-3, 3, (9,)), lazygrad.randperm(6)]
    assert lazygrad.metrics()["executions"] == before
    lazygrad.manual_seed(1)
    np.testing.assert_array_equal(draws[0].numpy(), lazygrad.randn(4, 5).numpy())


def test_a_compiled_step_draws_what_the_uncompiled_step_draws() -> None:
    """Each replay draws again, in the traced order, so the generator moves as it does without compile."""

    def step(x: lazygrad.Tensor) -> lazygrad.Tensor:
        return x * lazygrad.rand(3) + lazygrad.randn(3)

    x = lazygrad.ones(3)
    lazygrad.manual_seed(2)
    plain = [step(x).numpy() for _ in range(4)] + [lazygrad.rand(2).numpy()]
    compiled = lazygrad.compile(step)
    lazygrad.manual_seed(2)
    replayed = [compiled(x).numpy() for _ in range(4)] + [lazygrad.rand(2).numpy()]
    assert lazygrad.metrics()["replays"] > 0
    for got, want in zip(replayed, plain):
        np.testing.assert_array_equal(got, want)


# ---- against torch -------------------------------------------------------------------------------------


def same_draws(make: object, seed: int, exact: bool = True) -> None:
    """``make(T)`` on torch and on lazygrad from ``seed``, then one more draw: equal values, equal positions."""
    results = []
    for T in (torch, lazygrad):
        T.manual_seed(seed)
        value = make(T)
        results.append((np.asarray(value.tolist() if hasattr(value, "tolist") else value), T.rand(2).tolist()))
    (want, want_next), (got, got_next) = results
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want) if exact else np.testing.assert_allclose(got, want, rtol=1e-13)
    assert got_next == want_next


@needs_torch
@agnostic
@settings(max_examples=40, deadline=None)
@given(SEEDS, SIZES, st.sampled_from(["float32", "float64"]))
def test_rand_and_randn_match_torch(seed: int, n: int, dtype: str) -> None:
    same_draws(lambda T: T.rand(n, dtype=getattr(T, dtype)), seed)
    same_draws(lambda T: T.randn(n, dtype=getattr(T, dtype)), seed, exact=dtype == "float32")
    # Small draws keep the second normal of a pair for the next one; other draws in between leave it there.
    same_draws(lambda T: (T.randn(1), T.rand(3), T.randn(2))[2], seed)


@needs_torch
@agnostic
@settings(max_examples=40, deadline=None)
@given(SEEDS, SIZES, st.floats(-3, 3), st.floats(0.01, 4), st.booleans())
def test_in_place_fills_match_torch(seed: int, n: int, low: float, width: float, strided: bool) -> None:
    def fill(T: object, method: str, *args: float) -> object:
        base = T.zeros(n, 2)
        target = base[:, 0] if strided else base.view(-1)  # a strided view takes torch's per-value path
        getattr(target, method)(*args)
        return base

    same_draws(lambda T: fill(T, "uniform_", low, low + width), seed)
    same_draws(lambda T: fill(T, "normal_", low, width), seed)
    for method, args in (("exponential_", (width,)), ("cauchy_", (low, width)), ("log_normal_", (low / 3, width)),
                         ("geometric_", (min(width / 5, 0.9),)), ("bernoulli_", (width / 4,))):
        same_draws(lambda T, method=method, args=args: fill(T, method, *args), seed)


@needs_torch
@agnostic
@settings(max_examples=40, deadline=None)
@given(SEEDS, SIZES, st.integers(-2**40, 2**40), st.sampled_from([1, 7, 2**31, 2**33]))
def test_integer_draws_match_torch(seed: int, n: int, low: int, span: int) -> None:
    same_draws(lambda T: T.randint(low, low + span, (n,)), seed)
    same_draws(lambda T: T.randperm(n), seed)
    for dtype in ("int64", "int32", "uint8", "float32", "float64", "bool"):
        same_draws(lambda T, dtype=dtype: T.empty(n, dtype=getattr(T, dtype)).random_(), seed)
    same_draws(lambda T: T.zeros(n).random_(3, 11), seed)


@needs_torch
@settings(max_examples=15, deadline=None)
@given(SEEDS, st.integers(1, 3), st.integers(2, 12), st.integers(1, 6), st.sampled_from(["float32", "float64"]))
def test_draws_from_probabilities_match_torch(seed: int, rows: int, categories: int, samples: int,
                                              dtype: str) -> None:
    probabilities = np.random.default_rng(seed % 2**32).random((rows, categories)) + 0.01

    def weights(T: object) -> object:
        return T.tensor(probabilities, dtype=getattr(T, dtype))

    same_draws(lambda T: T.multinomial(weights(T), 1), seed)
    same_draws(lambda T: T.multinomial(weights(T), min(samples, categories)), seed)
    same_draws(lambda T: T.multinomial(weights(T), samples, replacement=True), seed)
    same_draws(lambda T: T.multinomial(weights(T)[0], samples, replacement=True), seed)
    same_draws(lambda T: T.bernoulli(weights(T) / 1.02), seed)
    same_draws(lambda T: T.zeros(rows, categories).bernoulli_(weights(T) / 1.02), seed)


@needs_torch
@agnostic
@settings(max_examples=20, deadline=None)
@given(SEEDS)
def test_rng_states_move_between_torch_and_lazygrad(seed: int) -> None:
    torch.manual_seed(seed)
    torch.randn(1)
    state = torch.get_rng_state()
    lazygrad.set_rng_state(lazygrad.tensor(state.numpy()))
    np.testing.assert_array_equal(lazygrad.get_rng_state().numpy(), state.numpy())
    np.testing.assert_array_equal(lazygrad.randn(5).numpy(), torch.randn(5).numpy())
    lazygrad.manual_seed(seed)
    torch.manual_seed(seed)
    np.testing.assert_array_equal(lazygrad.get_rng_state().numpy(), torch.get_rng_state().numpy())


@needs_torch
@agnostic
def test_data_loading_shuffles_as_torch_does() -> None:
    def shuffles(T: object) -> list:
        from importlib import import_module

        data = import_module(f"{T.__name__}.utils.data")
        dataset = data.TensorDataset(T.arange(10))
        epochs = [[batch[0].tolist() for batch in data.DataLoader(dataset, batch_size=4, shuffle=True)]
                  for _ in range(2)]
        split = [list(part.indices) for part in data.random_split(range(10), [0.3, 0.7])]
        weighted = list(data.WeightedRandomSampler([0.1, 0.5, 0.4], 8))
        drawn = list(data.RandomSampler(range(5), replacement=True, num_samples=40))
        return [epochs, split, weighted, list(data.SubsetRandomSampler([5, 6, 7, 8])), drawn, T.rand(2).tolist()]

    torch.manual_seed(0)
    want = shuffles(torch)
    lazygrad.manual_seed(0)
    assert shuffles(lazygrad) == want


@needs_torch
@agnostic
@settings(max_examples=25, deadline=None)
@given(SEEDS, st.integers(1, 40), st.sampled_from(["float16", "bfloat16", "float64"]))
def test_other_float_dtypes_match_torch(seed: int, n: int, dtype: str) -> None:
    """float16 and bfloat16 normals draw whole blocks of 16; float64 fills round their multiply-add once."""
    same_draws(lambda T: T.empty(n, dtype=getattr(T, dtype)).normal_(0.5, 2.0).float(), seed)
    same_draws(lambda T: T.empty(n, dtype=getattr(T, dtype)).uniform_(-0.577, 0.577).float(), seed)


@needs_torch
@agnostic
@settings(max_examples=15, deadline=None)
@given(SEEDS, st.integers(1, 20), st.integers(1, 6))
def test_fills_of_transposed_views_land_in_memory_order(seed: int, rows: int, cols: int) -> None:
    """torch fills a view in the order of its memory: ``b.t().uniform_()`` writes ``b``'s draws row by row."""
    for method, args in (("uniform_", ()), ("normal_", ()), ("random_", (0, 100)), ("exponential_", ())):
        def fill(T: object, method: str = method, args: tuple = args) -> object:
            base = T.zeros(rows, cols)
            getattr(base.t(), method)(*args)
            return base

        same_draws(fill, seed)
    same_draws(lambda T: T.zeros(rows, cols).t().bernoulli_(T.full((cols, rows), 0.5)), seed)
