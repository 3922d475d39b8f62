"""Every test runs once per installed backend, so the backends cannot drift apart.

A test whose outcome cannot depend on the backend (printing, errors raised while a graph is built, API and
signature checks, serialization, autograd bookkeeping), or that picks its backends itself, is marked
``backend_agnostic`` (per test, or per module with ``pytestmark``) and runs once, on the reference backend.
Unmarked tests run on every backend: a new op test is checked on jax without anyone having to ask.

On a compiling backend (jax) every new program structure costs a compile, so there a property test runs only
its first ``COMPILED_EXAMPLES`` examples, over the fixed shapes of ``helpers.shapes``; the reference backend
runs the profile's full count, and test_backend_agreement.py compares the backends on random programs.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

# Compiled programs are not kept on disk during tests: the suite compiles thousands of throwaway programs,
# and a run must neither depend on nor fill the user's cache (tests of the cache give their own folder).
# Set before anything imports lazygrad, which loads the jax backend at import under LAZYGRAD_BACKEND=jax.
os.environ.setdefault("LAZYGRAD_PERSISTENT_CACHE", "0")
# Parallel workers (pytest -n) share the cores: a BLAS or OpenMP pool per worker would oversubscribe them, and
# spinning pools descheduled mid-matmul make small products 10-100x slower. Read when numpy and torch load.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(pool, "1")

import pytest
from helpers import REFERENCE
from hypothesis import HealthCheck, settings

import lazygrad

BACKENDS = [REFERENCE] + (["jax"] if importlib.util.find_spec("jax") else [])
if "jax" in BACKENDS:
    # Loaded before any oracle runs a jax op: its XLA flags apply only to a jax client created after it.
    importlib.import_module("lazygrad.backends.jax_backend")
COMPILED_EXAMPLES = 5

settings.register_profile("ci", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the autouse ``backend`` fixture: every backend, or the reference one for agnostic tests."""
    if "backend" in metafunc.fixturenames:
        once = metafunc.definition.get_closest_marker("backend_agnostic") is not None
        metafunc.parametrize("backend", [REFERENCE] if once else BACKENDS, indirect=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Cap a property test's examples on a compiling backend, unless the test chose its own ``@settings``."""
    test = getattr(item, "obj", None)
    # @given reads the settings to run with from this attribute when called (hypothesis's own pytest plugin
    # swaps it the same way); the other flag marks a test decorated with @settings of its own
    chosen = getattr(test, "_hypothesis_internal_use_settings", None)
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("backend", REFERENCE) if callspec else REFERENCE
    if chosen is None or backend == REFERENCE or getattr(test, "_hypothesis_internal_settings_applied", False):
        yield
        return
    test._hypothesis_internal_use_settings = settings(chosen, max_examples=min(chosen.max_examples,
                                                                                 COMPILED_EXAMPLES))
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = chosen


# The special-value comparisons check each op in float64 on the reference backend only: on jax every case is
# another compile, and float32 already takes each op through jax's lowering.
REFERENCE_ONLY_FLOAT64 = {"test_activation_special_values.py", "test_math_special_values.py",
                          "test_reduction_special_values.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def repeated(item: pytest.Item) -> bool:
        params = getattr(getattr(item, "callspec", None), "params", {})
        return (item.path.name in REFERENCE_ONLY_FLOAT64 and params.get("backend") == "jax"
                and str(getattr(params.get("dtype"), "__name__", params.get("dtype"))) == "float64")

    dropped = [item for item in items if repeated(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not repeated(item)]


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Select the backend for the test; tests that need one backend read this fixture's value."""
    # A backward pass left pending by an earlier test would make this test's first backward a step boundary.
    importlib.import_module("lazygrad.realization")._tracked.backward_pending = False
    previous = lazygrad.get_backend()
    try:
        lazygrad.set_backend(request.param)
    except (ImportError, ValueError) as error:
        pytest.skip(f"backend {request.param} unavailable: {error}")
    yield request.param
    lazygrad.set_backend(previous)
