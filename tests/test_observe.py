"""Compile behaviour a user can see: explanations in their own terms, times, sync points, a persistent cache.

With ``LAZYGRAD_DEBUG=1`` each compile names the input tensor that changed (by the line that created it)
or the first op that differs (by the line that built it). ``metrics()`` times compiles and executions;
``metrics_report()`` lists the lines that forced each realization. On jax, compiled programs persist on
disk, so a second run of a script skips XLA compilation.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lazygrad
from lazygrad import nn

HERE = os.path.relpath(__file__)


def _line_of(marker: str) -> int:
    """The line of this file that carries ``marker`` in a comment, so tests survive edits above them."""
    lines = inspect.getsource(sys.modules[__name__]).splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.rstrip().endswith(f"# {marker}"))


@pytest.fixture
def debug_log(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    monkeypatch.setenv("LAZYGRAD_DEBUG", "1")
    caplog.set_level(logging.DEBUG, logger="lazygrad")
    lazygrad.step()  # LAZYGRAD_DEBUG is read at every realization: tensors built from here on are named
    lazygrad.clear_cache()
    yield caplog
    monkeypatch.delenv("LAZYGRAD_DEBUG")
    lazygrad.step()


def _compiles(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "compiling a program" in r.getMessage()]


# ---- LAZYGRAD_DEBUG explanations ------------------------------------------------------------------------


def test_a_changed_batch_size_names_the_input_tensors_creation_line_and_dimension(debug_log) -> None:
    weight = lazygrad.tensor(np.ones((784, 10), np.float32))
    for rows in (128, 64):
        batch = lazygrad.tensor(np.ones((rows, 784), np.float32))  # batch created
        (batch @ weight).sum().item()
    explained = _compiles(debug_log)[-1]
    assert f"input 0, the tensor created at {HERE}:{_line_of('batch created')}, changed dimension 0 128 -> 64 " \
           "(shape (128, 784) -> (64, 784))" in explained
    assert "differs in" not in explained


def test_a_changed_dtype_is_named(debug_log) -> None:
    for dtype in (np.float32, np.float64):
        values = lazygrad.tensor(np.ones(3, dtype))  # values created
        (values * 2).sum().item()
    assert f"created at {HERE}:{_line_of('values created')}, changed dtype float32 -> float64" in \
        _compiles(debug_log)[-1]


def test_a_different_op_is_named_by_the_line_that_built_it(debug_log) -> None:
    a, b = lazygrad.tensor([1.0, 2.0]), lazygrad.tensor([3.0, 4.0])
    (a * b).tolist()
    (a + b).tolist()  # the add
    assert f"instruction 0 is add (built at {HERE}:{_line_of('the add')}), where the nearest cached program has mul" \
        in _compiles(debug_log)[-1]


def test_a_python_int_shape_is_named_as_a_static_parameter(debug_log) -> None:
    data = lazygrad.tensor(np.arange(12.0, dtype=np.float32))
    for rows in (3, 4):
        data.reshape(rows, -1).sum(0).tolist()  # the reshape
    explained = _compiles(debug_log)[-1]
    assert f"(reshape, built at {HERE}:{_line_of('the reshape')}) changed static parameters ((3, 4),) -> ((4, 3),)" \
        in explained


def test_an_intermediate_of_a_composite_op_takes_the_line_of_the_op(debug_log) -> None:
    x = lazygrad.tensor(np.ones((4, 3), np.float32))
    x.sum().item()
    x.log_softmax(1).sum().item()  # composite
    assert f"built at {HERE}:{_line_of('composite')}" in _compiles(debug_log)[-1]


# ---- metrics: times ------------------------------------------------------------------------------------------


def test_metrics_time_compiles_and_executions_and_the_times_grow() -> None:
    lazygrad.reset_metrics()
    zero = lazygrad.metrics()
    assert zero["compile_time"] == zero["execution_time"] == 0.0 and zero["compiles"] == 0
    lazygrad.clear_cache()
    x = lazygrad.tensor(np.ones((8, 8), np.float32))
    (x @ x).sum().item()
    first = lazygrad.metrics()
    assert first["compiles"] == 1 and first["compile_time"] > 0 and first["execution_time"] > 0
    (x @ x).sum().item()  # a cache hit: only execution time grows
    second = lazygrad.metrics()
    assert second["compile_time"] == first["compile_time"]
    assert second["execution_time"] > first["execution_time"]
    assert second["wall_time"] >= first["wall_time"] >= first["compile_time"] + first["execution_time"]


# ---- metrics_report: sync points -----------------------------------------------------------------------------


def test_metrics_report_lists_the_line_of_each_sync_point_with_its_count() -> None:
    lazygrad.reset_metrics()
    model = nn.Linear(3, 1)
    opt = lazygrad.optim.SGD(model.parameters(), lr=0.1)
    x = lazygrad.tensor(np.ones((4, 3), np.float32))
    for _ in range(3):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()  # step boundary
        loss.item()  # already computed
    print(model(x))  # read by printing
    report = lazygrad.metrics_report()
    rows = [row.split() for row in report.splitlines()]
    assert ["3", "optimizer.step()", f"{HERE}:{_line_of('step boundary')}"] in rows
    assert ["1", "value", "read", f"{HERE}:{_line_of('read by printing')}"] in rows
    assert not any(row[-1] == f"{HERE}:{_line_of('already computed')}" for row in rows)  # nothing left to compute
    assert ["executions", str(lazygrad.metrics()["executions"])] == rows[4][:2]


def test_item_in_a_loop_is_one_sync_point_counted_per_call() -> None:
    lazygrad.reset_metrics()
    w = lazygrad.tensor(np.ones(3, np.float32), requires_grad=True)
    for step in range(4):
        (w * float(step)).sum().item()  # read here
    rows = [row.split() for row in lazygrad.metrics_report().splitlines()]
    assert ["4", "value", "read", f"{HERE}:{_line_of('read here')}"] in rows
    lazygrad.reset_metrics()
    assert "  none" in lazygrad.metrics_report() and lazygrad.metrics()["execution_time"] == 0.0


# ---- the persistent compile cache (jax) --------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, time
    import jax
    hits = []
    jax.monitoring.register_event_listener(
        lambda event, **_: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
    import numpy as np
    import lazygrad as torch
    torch.set_backend("jax")
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.tensor(np.ones((4, 8), np.float32))
    for _ in range(2):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    loss.item()
    m = torch.metrics()
    print(json.dumps({"compiles": m["compiles"], "compile_time": m["compile_time"], "hits": len(hits)}))
""")


def _run_child(cache: Path) -> dict:
    env = {**os.environ, "LAZYGRAD_CACHE_DIR": str(cache), "LAZYGRAD_PERSISTENT_CACHE": "1",
           "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_run_loads_compiled_programs_from_the_persistent_cache(backend: str, tmp_path: Path) -> None:
    if backend != "jax":
        pytest.skip("the persistent cache is jax's")
    first = _run_child(tmp_path)
    assert first["hits"] == 0 and first["compiles"] >= 1
    assert list((tmp_path / "jax").iterdir())  # entries written into LAZYGRAD_CACHE_DIR/jax
    second = _run_child(tmp_path)
    assert second["compiles"] == first["compiles"]  # lazygrad's own cache starts empty in every process
    assert second["hits"] == second["compiles"]  # but XLA compiles nothing (its time is the harness's to report)


def test_the_persistent_cache_folder_follows_the_environment(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend != "jax":
        pytest.skip("the persistent cache is jax's")
    from lazygrad.backends import jax_backend

    monkeypatch.setenv("LAZYGRAD_PERSISTENT_CACHE", "1")
    monkeypatch.delenv("LAZYGRAD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert jax_backend._persistent_cache_folder() == os.path.join("/somewhere", "lazygrad", "jax")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert jax_backend._persistent_cache_folder() == os.path.join(os.path.expanduser("~"), ".cache", "lazygrad",
                                                                  "jax")
    monkeypatch.setenv("LAZYGRAD_CACHE_DIR", "/elsewhere")
    assert jax_backend._persistent_cache_folder() == os.path.join("/elsewhere", "jax")
    monkeypatch.setenv("LAZYGRAD_PERSISTENT_CACHE", "0")
    assert jax_backend._persistent_cache_folder() is None
