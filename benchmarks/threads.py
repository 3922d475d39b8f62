"""Capping the thread pools of numpy's BLAS, torch and XLA, for runs on a shared or busy machine.

Thread pools read these settings once, when their library loads, so :func:`limit` must run before
numpy, torch or jax is imported; ``python -m benchmarks --threads N`` does that first thing.
"""

from __future__ import annotations

import os
import sys

POOLED = ("numpy", "torch", "jax")


def limit(threads: int) -> None:
    loaded = [name for name in POOLED if name in sys.modules]
    if loaded:
        raise RuntimeError(f"--threads must be applied before {', '.join(loaded)} is imported")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
