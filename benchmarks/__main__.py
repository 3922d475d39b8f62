"""``python -m benchmarks``: choose workloads and systems, run them, print the table, write files.

The harness modules are imported after the arguments are parsed, so ``--threads`` can cap the thread
pools before numpy, torch or jax load.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from . import threads


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()] if text else []


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("-w", "--workloads", help="comma-separated names, default all (see --list); "
                        "'compile' selects both compile workloads")
    parser.add_argument("-s", "--systems", help="comma-separated names, default all installed (see --list)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes and few samples: a smoke run of seconds")
    parser.add_argument("--samples", type=int, help="timed samples per system (overrides the plan)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the full results as JSON")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="also draw a bar chart (needs matplotlib)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="cap BLAS, torch and XLA thread pools at N (steadier ratios on a busy machine)")
    parser.add_argument("--cold-start", action="store_true",
                        help="instead of timing steps, run the first step of each chosen workload (default mlp_train) "
                        "twice in fresh processes sharing a new persistent compile cache (lazygrad-jax)")
    parser.add_argument("--data-parallel", action="store_true",
                        help="instead, time a data-parallel MLP step on 1, 2, 4 and 8 simulated CPU devices "
                        "(lazygrad-jax; a correctness and overhead check: real speedups need real devices)")
    parser.add_argument("--donation", action="store_true",
                        help="instead, measure the peak memory of a step over 4 x 4096^2 float32 weights with and "
                        "without buffer donation (lazygrad-jax compiled and jax.jit), each in a fresh process")
    parser.add_argument("--programs", nargs="?", const="", metavar="NAMES",
                        help="instead, time the third-party programs of tests/programs whole, start to exit, on "
                        "torch and each lazygrad backend (default all, or comma-separated names; --quick: three; "
                        "-s picks among torch, lazygrad-numpy, lazygrad-jax and lazygrad-jax-again, its second run)")
    parser.add_argument("--list", action="store_true", help="list workloads and systems, then exit")
    return parser


def _listing() -> str:
    from . import systems, workloads

    lines = ["workloads:"] + [f"  {w.name:<18} {w.summary}" for w in workloads.WORKLOADS.values()]
    lines.append("systems:")
    for name in systems.SYSTEMS:
        try:
            system = systems.load(name)
            lines.append(f"  {name:<18} {system.version}")
        except systems.Unavailable as error:
            lines.append(f"  {name:<18} unavailable: {error}")
    return "\n".join(lines)


def _run_programs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import programs

    available = programs.available_systems()
    try:
        chosen_programs = programs.select(_names(args.programs), args.quick)
    except ValueError as error:
        parser.error(str(error))
    chosen_systems = _names(args.systems) or available
    if missing := sorted(set(chosen_systems) - set(available)):
        parser.error(f"--programs runs on {', '.join(available)}; not {', '.join(missing)}")
    runs, imports = programs.measure(chosen_programs, chosen_systems,
                                     lambda text: print(text, file=sys.stderr, flush=True))
    print(programs.markdown(runs, imports))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.threads:
        threads.limit(args.threads)
    if not args.cold_start:
        # Timings are of one process: executables loaded from an earlier run's disk cache would make the
        # compile-cold workload warm. --cold-start measures that cache, in child processes of its own.
        os.environ.setdefault("LAZYGRAD_PERSISTENT_CACHE", "0")
    from . import harness, report, systems, workloads

    if args.list:
        print(_listing())
        return 0
    if args.programs is not None:
        return _run_programs(args, parser)
    try:
        chosen_workloads = workloads.select(_names(args.workloads))
        chosen_systems = systems.select(_names(args.systems))
    except ValueError as error:
        parser.error(str(error))
    if args.plot and (problem := report.plotting_unavailable()):
        parser.error(problem)
    if args.cold_start:
        from . import cold_start

        chosen = workloads.select(_names(args.workloads) or ["mlp_train"])
        print(cold_start.markdown(cold_start.measure([w for w in chosen if not w.name.startswith("compile-")],
                                                     args.quick)))
        return 0
    if args.data_parallel:
        from . import data_parallel

        print(data_parallel.markdown(data_parallel.measure(quick=args.quick)))
        return 0
    if args.donation:
        from . import donation

        print(donation.markdown(donation.measure(quick=args.quick), quick=args.quick))
        return 0
    plan = harness.Plan.quick_run() if args.quick else harness.Plan.full()
    if args.samples:
        plan = dataclasses.replace(plan, samples=args.samples,
                                   first_call_samples=min(args.samples, plan.first_call_samples))
    result = harness.run(chosen_workloads, chosen_systems, plan, lambda text: print(text, file=sys.stderr, flush=True))
    print(report.markdown(result))
    if args.json:
        report.write_json(result, args.json)
    if args.plot:
        report.write_plot(result, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
