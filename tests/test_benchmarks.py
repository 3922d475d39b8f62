"""The benchmark harness in quick mode: the table and JSON are well formed and every time is sane."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import HAS_TORCH

from benchmarks import cold_start, donation, environment, harness, memory, programs, report, systems, workloads
from benchmarks.__main__ import main
from benchmarks.systems import Bench, System, Unavailable, Unsupported

WORKLOADS = ["seed", "mlp_train", "compile-warm"]


def _table_rows(markdown: str) -> list[list[str]]:
    lines = markdown.split("\n\n")
    table = next(block for block in lines if block.startswith("| workload | system | median"))
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_quick_run_writes_table_and_json(backend: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    chosen = [f"lazygrad-{backend}", "numpy"]
    out = tmp_path / "results.json"
    assert main(["--quick", "-w", ",".join(WORKLOADS), "-s", ",".join(chosen), "--json", str(out)]) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert {(row[0], row[1]) for row in rows} == {(w, s) for w in WORKLOADS for s in chosen}
    assert all(row[5].endswith("x") and row[6].endswith("x") for row in rows)
    assert all(row[7].endswith("B") or row[7] == "n/a" for row in rows)  # the peak memory column

    document = json.loads(out.read_text())
    assert set(document) == {"environment", "plan", "results", "skipped"}
    assert document["plan"]["quick"] is True
    assert {"date", "cpu", "cores", "device", "python", "systems"} <= set(document["environment"])
    assert set(document["environment"]["systems"]) == set(chosen)
    assert document["skipped"] == []
    for result in document["results"]:
        for key in ("median_s", "min_s", "max_s", "ratio", "paired_ratio", "checksum"):
            assert math.isfinite(result[key]), (key, result)
        assert 0 < result["min_s"] <= result["median_s"] <= result["max_s"]
        assert result["ratio"] >= 1.0
        assert result["notes"] == [], result  # every system computed the same values
        assert all(t > 0 for t in result["times_s"])
        assert result["peak_bytes"] >= 0 if memory.available() else math.isnan(result["peak_bytes"])
    for workload in WORKLOADS:
        fastest = min((r for r in document["results"] if r["workload"] == workload), key=lambda r: r["median_s"])
        assert fastest["ratio"] == fastest["paired_ratio"] == 1.0
    lazy = next(r for r in document["results"] if r["workload"] == "mlp_train" and r["system"] == chosen[0])
    assert lazy["per_call"]["executions"] == 1.0 and lazy["per_call"]["compiles"] == 0.0


TRAINING_LOOPS = ["read_rarely", "dynamic_depth", "minibatch_epoch", "char_lm"]
# Compile counts follow the graphs' structure, the same on every backend, so jax runs the two loops that compile
# least: its value agreement on the other two is test_steps' (dynamic depth) and test_examples' (a char GPT).
LOOPS_ON = {"numpy": TRAINING_LOOPS, "jax": ["read_rarely", "minibatch_epoch"]}
# The first call's compiles, at least and at most.
COMPILES = {
    "read_rarely": (1, 4),  # the first step, the steady step, and the step that also reads the loss (+1 at the end)
    "dynamic_depth": (4, 12),  # at least one program per depth 0..3 (read and steady steps), then cache hits
    "minibatch_epoch": (1, 2),  # the first step, then one program for every batch: starts are inputs
    # get_batch reads each row start on the host (no program); the first steps (no optimizer state yet), the
    # steady step, and the step that also reads the loss
    "char_lm": (1, 8),
}


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """torch's thread pool stalls on these tiny ops when other processes hold the cores (100x slower)."""
    if not HAS_TORCH:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
def test_training_loops_agree_with_torch_and_report_their_compiles(backend: str, capsys: pytest.CaptureFixture) -> None:
    chosen = [f"lazygrad-{backend}"] + (["torch"] if HAS_TORCH else [])
    loops = LOOPS_ON[backend]
    assert main(["--quick", "--samples", "1", "-w", ",".join(loops), "-s", ",".join(chosen)]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert {(row[0], row[1]) for row in rows} == {(w, s) for w in loops for s in chosen}
    assert "Notes:" not in out and "Skipped:" not in out  # every system computed the same losses
    first_calls = out.split("First (untimed) call:")[1]
    compiles = {line.split("|")[1].strip(): float(line.split("|")[3]) for line in first_calls.splitlines()
                if line.startswith("| ") and "lazygrad" in line}
    assert set(compiles) == set(loops)
    for loop in loops:
        low, high = COMPILES[loop]
        assert low <= compiles[loop] <= high, loop


@pytest.mark.backend_agnostic  # the replay path is the same on every backend; jax would add compiles only
@pytest.mark.usefixtures("one_torch_thread")
def test_compiled_training_loops_agree_and_replay_one_program_per_step(capsys: pytest.CaptureFixture) -> None:
    loops = ["read_rarely", "dynamic_depth", "minibatch_epoch"]
    chosen = ["lazygrad-numpy", "lazygrad-numpy-compiled"] + (["torch"] if HAS_TORCH else [])
    assert main(["--quick", "--samples", "1", "-w", ",".join(loops), "-s", ",".join(chosen)]) == 0
    out = capsys.readouterr().out
    assert {(row[0], row[1]) for row in _table_rows(out)} == {(w, s) for w in loops for s in chosen}
    assert "Notes:" not in out and "Skipped:" not in out  # the compiled steps computed the same losses
    counters = out.split("Framework counters per timed call:")[1].split("\n\n")[1]
    header, _, *lines = counters.splitlines()
    names = [cell.strip() for cell in header.strip("|").split("|")]
    for line in lines:
        row = dict(zip(names, (cell.strip() for cell in line.strip("|").split("|"))))
        if row["system"] == "lazygrad-numpy-compiled":  # every step a replay: one program, no node built for it
            steps = {"read_rarely": 100, "dynamic_depth": 100, "minibatch_epoch": 4}[row["workload"]]
            assert float(row["executions"]) == steps and float(row["compiles"]) == 0, row


def test_cold_start_second_run_compiles_from_the_persistent_cache(backend: str) -> None:
    if backend != "jax":
        pytest.skip("the persistent compile cache is the jax backend's")
    first, second = cold_start.measure([workloads.WORKLOADS["seed"]], quick=True)
    assert first.compiles == second.compiles >= 1  # that the second loads them is test_observe's; times are reported
    assert "second run (cache filled)" in cold_start.markdown([first, second])


def test_peak_memory_sees_what_a_call_allocates_and_frees() -> None:
    if not memory.available():
        pytest.skip("the peak resident set can be reset on Linux only")
    size = 32 * 2**20

    def allocate() -> None:
        np.ones(size, np.uint8)  # every page written, then freed before the call returns

    assert min(memory.peak_beyond(allocate) for _ in range(3)) >= 0.95 * size  # the kernel counts pages in batches
    assert min(memory.peak_beyond(lambda: None) for _ in range(3)) < size / 8
    assert memory.format_bytes(size) == "32 MiB" and memory.format_bytes(math.nan) == "n/a"


def test_donation_lowers_a_compiled_step_peak_to_jax_jit_level(backend: str) -> None:
    if backend != "jax" or not memory.available():
        pytest.skip("buffer donation is a jax feature; the peak needs Linux")
    variants = ["lazygrad-jax compiled, zero_grad last", "lazygrad-jax compiled, zero_grad last, no donation",
                "jax.jit, donate_argnums"]
    donated, kept, jitted = donation.measure(variants, quick=True)
    weights = donation.LAYERS * 1024 * 1024 * 4
    assert donated.held_bytes == kept.held_bytes >= weights  # weights, a batch and a scalar or two
    assert jitted.held_bytes == pytest.approx(donated.held_bytes, abs=64)
    # Without donation the new weights need room of their own; with it they take the old ones' place. Either
    # step may also place one layer-sized temporary in pages the allocator kept from the step before, so each
    # side is bounded by half the weights rather than by the exact layer count.
    assert kept.peak_bytes >= weights / 2 >= donated.peak_bytes
    assert donated.final_loss == kept.final_loss == pytest.approx(jitted.final_loss, rel=1e-4)
    assert "| jax.jit, donate_argnums |" in donation.markdown([donated, kept, jitted], quick=True)


def _fake_system(builders: dict) -> System:
    return System("fake", "0", builders, {})


def test_unsupported_and_failing_workloads_are_skipped_with_a_reason() -> None:
    def unsupported(data: object) -> Bench:
        raise Unsupported("conv not supported yet")

    def broken(data: object) -> Bench:
        return Bench(lambda: 1 / 0)

    plan = harness.Plan.quick_run()
    for builder, reason in ((unsupported, "conv not supported yet"), (broken, "failed: ZeroDivisionError")):
        results, skipped = harness.measure(workloads.WORKLOADS["seed"], [_fake_system({"seed": builder})], plan,
                                           lambda _: None)
        assert results == []
        assert [s.workload for s in skipped] == ["seed"] and skipped[0].reason.startswith(reason)
    results, skipped = harness.measure(workloads.WORKLOADS["seed"], [_fake_system({})], plan, lambda _: None)
    assert results == [] and skipped[0].reason == "not implemented for this system"


def test_unavailable_system_is_a_note_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(name: str) -> System:
        raise Unavailable("frobnicator is not installed")

    monkeypatch.setattr(harness, "load", load)
    result = harness.run([workloads.WORKLOADS["seed"]], ["tinygrad"], harness.Plan.quick_run())
    assert result.results == []
    assert "- tinygrad: frobnicator is not installed" in report.markdown(result)


def test_results_that_disagree_are_flagged() -> None:
    values = {"a": 1.0, "b": 1.0, "c": 2.0}
    fakes = [System(name, "0", {"seed": lambda data, v=v: Bench(lambda: v)}, {}) for name, v in values.items()]
    results, _ = harness.measure(workloads.WORKLOADS["seed"], fakes, harness.Plan.quick_run(), lambda _: None)
    assert [bool(r.notes) for r in results] == [False, False, True]


def test_selection_and_errors(capsys: pytest.CaptureFixture) -> None:
    assert [w.name for w in workloads.select(["compile"])] == ["compile-cold", "compile-warm"]
    assert systems.select(["numpy", "lazygrad-numpy"]) == ["lazygrad-numpy", "numpy"]
    with pytest.raises(SystemExit):
        main(["-s", "no-such-system"])
    assert "unknown system" in capsys.readouterr().err


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    fakes = [System(name, "0", {"seed": lambda data: Bench(lambda: 1.0)}, {}) for name in ("a", "b")]
    plan = harness.Plan.quick_run()
    results, _ = harness.measure(workloads.WORKLOADS["seed"], fakes, plan, lambda _: None)
    path = tmp_path / "plot.png"
    report.write_plot(harness.Report(environment.describe(fakes), plan, results, []), path)
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.backend_agnostic  # the child processes choose their own backend
def test_whole_programs_are_timed_in_fresh_processes_and_failures_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fits.py").write_text("import torch\nprint(torch.ones(3).sum().item())\n")
    (tmp_path / "breaks.py").write_text("import torch\ntorch.ones(2) @ torch.ones(3)\n")
    monkeypatch.setattr(programs, "PROGRAMS", tmp_path)
    runs, imports = programs.measure(programs.select([], quick=False), ["lazygrad-numpy"], progress=lambda _: None)
    by_name = {run.program: run for run in runs}
    assert by_name["fits"].seconds > 0 and by_name["breaks"].seconds is None
    assert by_name["breaks"].error.startswith("RuntimeError")  # the last line of its traceback
    assert imports["lazygrad-numpy"] > 0
    with pytest.raises(ValueError, match="unknown programs nope"):
        programs.select(["nope"], quick=False)


@pytest.mark.backend_agnostic
def test_the_programs_table_gives_ratios_to_torch_and_their_geometric_mean() -> None:
    runs = [programs.ProgramRun("a", "torch", 2.0), programs.ProgramRun("a", "lazygrad-numpy", 1.0),
            programs.ProgramRun("b", "torch", 1.0), programs.ProgramRun("b", "lazygrad-numpy", 2.0),
            programs.ProgramRun("c", "torch", 1.0), programs.ProgramRun("c", "lazygrad-numpy", None, "boom")]
    table = programs.markdown(runs, {"torch": 1.5, "lazygrad-numpy": 0.5})
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.strip("|").split("|")]
            for line in table.splitlines() if line.startswith("| ")}
    assert rows["a"][3] == "0.50" and rows["b"][3] == "2.00" and rows["c"][2:] == ["failed", "n/a"]
    assert rows["**geometric mean**"][3] == "1.00"  # sqrt(0.5 * 2); the failed program is left out
    assert "c failed on lazygrad-numpy: boom" in table
