"""Every test runs once per installed backend, so the backends cannot drift apart."""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

import lazygrad

BACKENDS = ["numpy"] + (["jax"] if importlib.util.find_spec("jax") else [])

settings.register_profile("ci", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(params=BACKENDS, autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Select the backend for the test; tests that need one backend read this fixture's value."""
    # A backward pass left pending by an earlier test would make this test's first backward a step boundary.
    importlib.import_module("lazygrad.realize")._tracked.backward_pending = False
    previous = lazygrad.get_backend()
    try:
        lazygrad.set_backend(request.param)
    except (ImportError, ValueError) as error:
        pytest.skip(f"backend {request.param} unavailable: {error}")
    yield request.param
    lazygrad.set_backend(previous)
