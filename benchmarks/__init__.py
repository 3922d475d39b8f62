"""Benchmarks comparing lazygrad's backends with torch, handwritten JAX and handwritten numpy.

``python -m benchmarks`` runs every workload on every installed system and prints a markdown table;
see ``docs/benchmarks.md`` for the workloads, the method and how to read the results.
"""
