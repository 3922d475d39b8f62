"""Turning a :class:`~benchmarks.harness.Report` into a markdown table, a JSON document and a bar chart."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

from .harness import Report, Result
from .memory import format_bytes

PLOT_HINT = "--plot needs matplotlib: pip install matplotlib (or pip install -e '.[bench]')"


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _header(report: Report) -> list[str]:
    env, plan = report.environment, report.plan
    versions = ", ".join(f"{name} {info['version']}" for name, info in env["systems"].items())
    mode = "quick smoke run (not for comparison)" if plan.quick else "full run"
    busy = max([*env.get("load_average", [])[:1], *env.get("load_average_end", [])[:1], 0.0])
    warning = [f"Warning: the machine was busy (load average up to {busy} on {env['cores']} cores); "
               "frameworks with thread pools suffer most, so ratios are unreliable."] if busy > env["cores"] else []
    return [
        "## Benchmarks",
        "",
        f"{env['cpu']}, {env['cores']} cores, {env['device']}; {env['date']}; Python {env['python']}, "
        f"numpy {env['numpy']}; {mode}: {plan.samples} samples ({plan.first_call_samples} for first calls), "
        f"{plan.warmup} warm-up calls.",
        f"Systems: {versions or 'none available'}.",
        *([f"Settings: {', '.join(f'{k}={v}' for k, v in env['environment'].items())}."] if env["environment"] else []),
        *warning,
    ]


def _results_table(results: list[Result]) -> list[str]:
    lines = ["| workload | system | median | min | max | vs fastest | paired | peak memory |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.workload} | {r.system} | {format_seconds(r.median)} | {format_seconds(r.min)} | "
                     f"{format_seconds(r.max)} | {r.ratio:.2f}x | {r.paired_ratio:.2f}x | "
                     f"{format_bytes(r.peak_bytes)} |")
    return lines


def _counters_table(results: list[Result]) -> list[str]:
    counted = [r for r in results if r.per_call]
    if not counted:
        return []
    names = sorted({name for r in counted for name in r.per_call})
    lines = ["", "Framework counters per timed call:", "",
             "| workload | system | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for r in counted:
        cells = " | ".join(f"{r.per_call.get(name, 0):.3g}" for name in names)
        lines.append(f"| {r.workload} | {r.system} | {cells} |")
    return lines


FIRST_CALL_COUNTERS = ("compiles", "compile_time")


def _first_call_table(results: list[Result]) -> list[str]:
    """Compiles happen in the untimed first call; this is where a workload's compile count shows."""
    counted = [r for r in results if any(name in r.first_call for name in FIRST_CALL_COUNTERS)]
    if not counted:
        return []
    lines = ["", "First (untimed) call:", "", "| workload | system | compiles | compile time |", "|---|---|---:|---:|"]
    lines += [f"| {r.workload} | {r.system} | {r.first_call.get('compiles', 0):.3g} | "
              f"{format_seconds(r.first_call.get('compile_time', 0.0))} |" for r in counted]
    return lines


def markdown(report: Report) -> str:
    lines = [*_header(report), "", *_results_table(report.results), *_counters_table(report.results),
             *_first_call_table(report.results)]
    if report.skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- {s.system}: {s.reason}" if s.workload == "*" else f"- {s.workload} on {s.system}: {s.reason}"
                  for s in report.skipped]
    notes = [f"- {r.workload} on {r.system}: {note}" for r in report.results for note in r.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    results = [{
        "workload": r.workload, "system": r.system, "median_s": r.median, "min_s": r.min, "max_s": r.max,
        "ratio": r.ratio, "paired_ratio": r.paired_ratio, "samples": len(r.times),
        "calls_per_sample": r.calls_per_sample, "times_s": r.times,
        "checksum": r.checksum, "peak_bytes": r.peak_bytes, "per_call": r.per_call, "first_call": r.first_call,
        "notes": r.notes,
    } for r in report.results]
    return {
        "environment": report.environment,
        "plan": dataclasses.asdict(report.plan),
        "results": results,
        "skipped": [dataclasses.asdict(s) for s in report.skipped],
    }


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps(to_json(report), indent=2) + "\n")


def plotting_unavailable() -> str | None:
    """Why ``--plot`` cannot work here, or None; checked before a long run rather than after it."""
    return None if importlib.util.find_spec("matplotlib") else PLOT_HINT


def write_plot(report: Report, path: Path) -> None:
    """Grouped bars of each system's time relative to the fastest, per workload, on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(r.workload for r in report.results))
    systems = list(dict.fromkeys(r.system for r in report.results))
    ratio = {(r.workload, r.system): r.ratio for r in report.results}
    width = 0.8 / max(len(systems), 1)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.4 * len(workloads)), 4.5))
    for index, system in enumerate(systems):
        xs = [w + (index - (len(systems) - 1) / 2) * width for w in range(len(workloads))]
        ys = [ratio.get((workload, system), math.nan) for workload in workloads]
        axes.bar(xs, ys, width, label=system)
    axes.set_yscale("log")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(range(len(workloads)), workloads, rotation=20, ha="right")
    axes.set_ylabel("time / fastest system (lower is better)")
    axes.set_title(f"{report.environment['cpu']}, {report.environment['cores']} cores")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
