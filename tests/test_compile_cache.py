"""The program cache is bounded by what it costs: entries per backend, and the process's memory maps."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import lazygrad as torch

realize_module = importlib.import_module("lazygrad.realization")


def test_an_invalid_cache_size_is_a_clear_error_at_import(backend: str) -> None:
    if backend != "numpy":
        pytest.skip("starts a fresh interpreter: once is enough")
    env = {**os.environ, "LAZYGRAD_CACHE_SIZE": "abc"}
    run = subprocess.run([sys.executable, "-c", "import lazygrad"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "ValueError: LAZYGRAD_CACHE_SIZE must be a positive integer, got 'abc'" in run.stderr


def test_the_cache_size_setting_reads_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYGRAD_CACHE_SIZE", "7")
    assert realize_module._cache_size_setting() == 7
    monkeypatch.setenv("LAZYGRAD_CACHE_SIZE", "0")
    with pytest.raises(ValueError, match="got '0'"):
        realize_module._cache_size_setting()


def test_jax_keeps_fewer_programs_than_the_interpreter() -> None:
    defaults = realize_module._DEFAULT_CACHE_SIZE
    assert defaults["jax"] <= 128 < defaults["numpy"]


def test_the_backend_default_bounds_the_cache(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realize_module, "CACHE_SIZE", None)
    monkeypatch.setitem(realize_module._DEFAULT_CACHE_SIZE, backend, 3)
    torch.clear_cache()
    for n in range(1, 7):
        (torch.ones(n) * 2).tolist()
        assert len(realize_module._cache) <= 3


def test_many_compiles_keep_the_memory_maps_bounded(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each compiled XLA program holds memory maps; past Linux's limit the process would abort.

    Compiling thousands of programs takes minutes, so the limit is lowered instead: to 120 maps above
    today's count, which some 20 tiny programs fill. Compiling three times that many must stay under it.
    """
    if backend != "jax":
        pytest.skip("only compiled XLA programs hold memory maps")
    if realize_module.MAP_LIMIT is None:
        pytest.skip("no memory-map limit on this system")
    monkeypatch.setattr(realize_module, "CACHE_SIZE", 10_000)  # so only the map guard evicts
    torch.clear_cache()
    baseline = realize_module.map_count()
    monkeypatch.setattr(realize_module, "MAP_LIMIT", baseline + 120)
    torch.reset_metrics()
    peak = 0
    for n in range(1, 61):
        assert (torch.ones(n) * 2).sum().item() == 2 * n
        peak = max(peak, realize_module.map_count())
    assert torch.metrics()["compiles"] == 60
    assert len(realize_module._cache) < 60  # evicted
    assert peak <= baseline + 120 + 60  # the limit plus the last program's own maps, with room for jax's
    torch.clear_cache()
    assert realize_module.map_count() <= baseline + 60  # dropped executables really unmapped their code


# (a, b) shapes covering every layout a product's gradient takes: vector, matrix, batched and broadcast batches.
_PRODUCTS = [((5,), (5,)), ((4, 5), (5,)), ((5,), (5, 3)), ((4, 5), (5, 3)), ((2, 4, 5), (2, 5, 3)),
             ((4, 5), (2, 5, 3)), ((3, 1, 4, 5), (2, 5, 6))]


@pytest.mark.parametrize(("shape_a", "shape_b"), _PRODUCTS, ids=str)
def test_a_cached_program_repeats_its_first_run_bit_for_bit(shape_a: tuple, shape_b: tuple) -> None:
    """The numpy backend interprets a program once, then runs code generated for its shapes (products and
    sums specialized to them): both must give the same bits, forward and backward."""
    rng = np.random.default_rng(0)
    a_data, b_data = rng.standard_normal(shape_a).astype(np.float32), rng.standard_normal(shape_b).astype(np.float32)
    runs = []
    for _ in range(3):
        a, b = torch.tensor(a_data, requires_grad=True), torch.tensor(b_data, requires_grad=True)
        y = (a @ b).relu()
        (y * y).sum(dim=0).sum().backward()
        runs.append([y.detach().numpy(), a.grad.numpy(), b.grad.numpy()])
    for later in runs[1:]:
        for first, again in zip(runs[0], later):
            assert first.tobytes() == again.tobytes()
    np.testing.assert_allclose(runs[0][0], np.maximum(np.matmul(a_data, b_data), 0), rtol=1e-5, atol=1e-5)
