"""Every workload, defined once: its shapes and its data, generated with numpy from a fixed seed.

Each system builds its own tensors from these arrays, so all systems start from the same weights and
inputs. ``quick`` selects small shapes for a smoke run that takes seconds.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

SEED = 0
CLASSES = 10

# An elementwise op is (name, constant); unary ops ignore the constant. Adapters map the four names.
# The chain mixes arithmetic with the transcendentals activations use (tanh, exp) and stays bounded.
# sin/cos are left out on purpose: XLA's CPU sin is about 2x slower than torch's, so a sin-heavy chain
# measures that one kernel rather than fusion (docs/benchmarks.md gives the numbers).
ElementwiseOp = tuple[str, float]
CHAIN_PATTERN: tuple[ElementwiseOp, ...] = (("mul", 1.1), ("add", 0.2), ("tanh", 0.0), ("mul", 1.5), ("exp", 0.0))
DISPATCH_PATTERN: tuple[ElementwiseOp, ...] = (("mul", 0.999), ("add", 0.001))


@dataclass(frozen=True)
class SeedData:
    x: np.ndarray


@dataclass(frozen=True)
class MLPData:
    """A ReLU MLP; ``weights[i]`` is (fan_in, fan_out), so a layer is ``h @ w + b``."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    x: np.ndarray
    onehot: np.ndarray
    lr: float


@dataclass(frozen=True)
class CNNData:
    """Two 3x3 convolutions (stride 2, padding 1, ReLU) and a linear classifier, trained with Adam."""

    conv_weights: tuple[np.ndarray, ...]  # (out_channels, in_channels, 3, 3)
    conv_biases: tuple[np.ndarray, ...]
    fc_weight: np.ndarray  # (flattened features, classes)
    fc_bias: np.ndarray
    x: np.ndarray  # (batch, 1, 28, 28)
    onehot: np.ndarray
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    stride: int = 2
    padding: int = 1


@dataclass(frozen=True)
class ChainData:
    """``ops`` applied in order to ``x``: forward and the gradient of the sum (or, for dispatch, no grad)."""

    x: np.ndarray
    ops: tuple[ElementwiseOp, ...]


@dataclass(frozen=True)
class MatmulData:
    a: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class FirstCallData:
    """One ``mlp_train`` step on fresh parameters, with the compile cache emptied first (cold) or kept (warm)."""

    mlp: MLPData
    cold: bool


Layer = tuple[np.ndarray, np.ndarray]  # an nn.Linear's (weight (out, in), bias (out,)), torch's layout


@dataclass(frozen=True)
class PolyFitData:
    """PyTorch's tutorial loop: fit a cubic to sin(x) with ``Linear(3, 1)`` on (x, x^2, x^3), summed squared
    error and SGD, the loss read every ``read_every`` steps; one call is a whole run of ``steps`` steps."""

    x: np.ndarray
    y: np.ndarray
    layer: Layer
    steps: int
    read_every: int
    lr: float = 1e-6


@dataclass(frozen=True)
class DynamicDepthData:
    """An input layer, a shared middle layer applied ``depths[t]`` times in step t, an output layer (PyTorch's
    dynamic-graph example), summed squared error, SGD with momentum; one call is a run of ``len(depths)`` steps."""

    x: np.ndarray
    y: np.ndarray
    layers: tuple[Layer, Layer, Layer]  # input, middle, output
    depths: tuple[int, ...]  # drawn from random.randint(0, 3) with a fixed seed
    read_every: int
    lr: float = 1e-4
    momentum: float = 0.9


@dataclass(frozen=True)
class MinibatchData:
    """One epoch over ``x`` in minibatches ``x[i * batch:(i + 1) * batch]``: a ReLU MLP, mean squared error, SGD;
    the last batch's loss is read at the end of the epoch."""

    x: np.ndarray
    y: np.ndarray
    layers: tuple[Layer, Layer]
    batch: int
    lr: float = 0.01


@dataclass(frozen=True)
class CharLMData:
    """A character-level language model as the "build a GPT" tutorials write it: ``get_batch`` stacks the rows
    ``data[i:i + block]`` for each ``i`` of an index tensor, then one causal self-attention block and an MLP,
    cross-entropy and AdamW, the loss read every ``read_every`` steps. The indices are drawn here, so every
    system trains on the same batches; ``weights`` follow the order of the model's ``named_parameters()``."""

    tokens: np.ndarray
    starts: np.ndarray  # (steps, batch) row starts
    weights: tuple[np.ndarray, ...]
    vocab: int
    block: int
    width: int
    heads: int
    read_every: int = 10
    lr: float = 1e-3


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    make: Callable[[bool], Any]  # quick -> the data every system's adapter receives


def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def _he(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def _small(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-0.1, 0.1, n).astype(np.float32)


def _labels(rng: np.random.Generator, batch: int) -> np.ndarray:
    return np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, batch)]


def _linear(rng: np.random.Generator, fan_in: int, fan_out: int) -> Layer:
    """torch's default ``nn.Linear`` initialization: uniform in +-1/sqrt(fan_in)."""
    bound = 1 / math.sqrt(fan_in)
    return (rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
            rng.uniform(-bound, bound, fan_out).astype(np.float32))


def poly_fit_data(quick: bool) -> PolyFitData:
    x = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    return PolyFitData(x, np.sin(x), _linear(_rng(), 3, 1), steps=100 if quick else 1000, read_every=100)


def dynamic_depth_data(quick: bool) -> DynamicDepthData:
    rng = _rng()
    batch, d_in, hidden, d_out = (16, 64, 32, 4) if quick else (64, 1000, 100, 10)
    draw = random.Random(SEED)
    depths = tuple(draw.randint(0, 3) for _ in range(100 if quick else 300))
    layers = (_linear(rng, d_in, hidden), _linear(rng, hidden, hidden), _linear(rng, hidden, d_out))
    x = rng.standard_normal((batch, d_in)).astype(np.float32)
    y = rng.standard_normal((batch, d_out)).astype(np.float32)
    return DynamicDepthData(x, y, layers, depths, read_every=100)


def minibatch_data(quick: bool) -> MinibatchData:
    rng = _rng()
    samples, features, hidden, batch = (256, 32, 64, 64) if quick else (8192, 32, 64, 128)
    x = rng.standard_normal((samples, features)).astype(np.float32)
    y = np.sin(x[:, :1] * 2) + 0.1 * x[:, 1:2]
    return MinibatchData(x, y.astype(np.float32), (_linear(rng, features, hidden), _linear(rng, hidden, 1)), batch)


def char_lm_data(quick: bool) -> CharLMData:
    rng = _rng()
    vocab, block, width, heads, batch, steps = (17, 8, 16, 2, 4, 10) if quick else (65, 32, 64, 4, 16, 20)
    tokens = rng.integers(0, vocab, 4000).astype(np.int64)
    starts = rng.integers(0, len(tokens) - block - 1, (steps, batch))
    norm = (np.ones(width, np.float32), np.zeros(width, np.float32))
    weights = (
        (rng.standard_normal((vocab, width)) * 0.02).astype(np.float32),  # token embedding
        (rng.standard_normal((block, width)) * 0.02).astype(np.float32),  # position embedding
        *norm, *_linear(rng, width, 3 * width), *_linear(rng, width, width),  # attention: qkv, projection
        *norm, *_linear(rng, width, 4 * width), *_linear(rng, 4 * width, width),  # MLP
        *norm, *_linear(rng, width, vocab),  # head
    )
    return CharLMData(tokens, starts, weights, vocab, block, width, heads)


def seed_data(quick: bool) -> SeedData:
    return SeedData(np.arange(4.0, dtype=np.float32))


def mlp_data(quick: bool) -> MLPData:
    rng = _rng()
    dims, batch = ((784, 64, 64, CLASSES), 16) if quick else ((784, 512, 512, CLASSES), 128)
    weights = tuple(_he(rng, (i, o), i) for i, o in itertools.pairwise(dims))
    biases = tuple(_small(rng, o) for o in dims[1:])
    x = rng.standard_normal((batch, dims[0])).astype(np.float32)
    return MLPData(weights, biases, x, _labels(rng, batch), lr=0.01)


def cnn_data(quick: bool) -> CNNData:
    rng = _rng()
    batch, channels = (8, (1, 4, 8)) if quick else (64, (1, 8, 16))
    conv_weights = tuple(_he(rng, (o, i, 3, 3), i * 9) for i, o in itertools.pairwise(channels))
    conv_biases = tuple(_small(rng, o) for o in channels[1:])
    features = channels[-1] * 7 * 7  # 28 -> 14 -> 7 with stride 2, padding 1
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    return CNNData(conv_weights, conv_biases, _he(rng, (features, CLASSES), features), _small(rng, CLASSES), x,
                   _labels(rng, batch))


def chain_data(quick: bool) -> ChainData:
    size = 10_000 if quick else 1_000_000
    x = _rng().uniform(-1.0, 1.0, size).astype(np.float32)
    return ChainData(x, CHAIN_PATTERN * 4)  # 20 ops


def matmul_data(quick: bool) -> MatmulData:
    n = 128 if quick else 1024
    rng = _rng()
    return MatmulData(rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal((n, n)).astype(np.float32))


def dispatch_data(quick: bool) -> ChainData:
    ops = 100 if quick else 1000
    return ChainData(_rng().uniform(0.0, 1.0, 16).astype(np.float32), DISPATCH_PATTERN * (ops // 2))


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("seed", "y = 2 x.x for x = arange(4.), backward, read x.grad: pure framework overhead", seed_data),
    Workload("mlp_train", "784-512-512-10 ReLU MLP, softmax cross-entropy, batch 128, one SGD step, loss.item()",
             mlp_data),
    Workload("cnn_train", "two stride-2 3x3 convs + linear on 1x28x28, batch 64, one Adam step, loss.item()",
             cnn_data),
    Workload("elementwise_chain", "20 chained elementwise ops on 1e6 float32, forward + gradient of the sum",
             chain_data),
    Workload("matmul", "1024x1024 float32 matmul, forward only: the compute limit", matmul_data),
    Workload("dispatch", "1000 tiny elementwise ops on 16 floats, then read: per-op overhead", dispatch_data),
    Workload("read_rarely", "cubic fit to sin(x), Linear(3,1) + SGD, loss read every 100 steps; a call is a "
             "1000-step run", poly_fit_data),
    Workload("dynamic_depth", "shared middle layer applied randint(0, 3) times per step, SGD with momentum, read "
             "every 100 steps; a call is a 300-step run", dynamic_depth_data),
    Workload("minibatch_epoch", "an epoch of X[i*bs:(i+1)*bs] minibatches (8192 rows, batch 128) through a "
             "32-64-1 MLP with SGD, loss read at the end", minibatch_data),
    Workload("char_lm", "the GPT tutorials' get_batch (a row per element of an index tensor) and a causal "
             "self-attention block + MLP with AdamW, loss read every 10 steps; a call is a 20-step run",
             char_lm_data),
    Workload("compile-cold", "first mlp_train step with an empty compile cache",
             lambda q: FirstCallData(mlp_data(q), True)),
    Workload("compile-warm", "first mlp_train step on fresh parameters, program already cached",
             lambda q: FirstCallData(mlp_data(q), False)),
)}


def select(names: list[str] | None) -> list[Workload]:
    """Workloads by name, in table order; a group name such as ``compile`` selects ``compile-cold`` and ``-warm``."""
    if not names:
        return list(WORKLOADS.values())
    unknown = [n for n in names if not any(w == n or w.startswith(n + "-") for w in WORKLOADS)]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    return [w for key, w in WORKLOADS.items() if any(key == n or key.startswith(n + "-") for n in names)]
