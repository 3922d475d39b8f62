"""tinygrad, an optional peer that is also lazy: it needs a working device (on CPU, a C compiler).

Training steps use ``TinyJit``, as tinygrad's own training examples do: after two calls it replays
the captured kernels. There is no in-process compile cache to empty, so the first-call workloads are
not implemented here.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import numpy as np
from tinygrad import Device, Tensor, TinyJit

from ..workloads import ChainData, CNNData, MatmulData, MLPData, SeedData
from .base import Bench, System, Unavailable

# tinygrad's Tensor has torch's method names, so the torch-style chain and loss serve it unchanged.
from .torch_style import _apply, _cross_entropy, _mlp_loss


def _to_host(value: Any) -> np.ndarray:
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def _bench(step: Callable[[], Any]) -> Bench:
    return Bench(step, to_host=_to_host)


def seed(data: SeedData) -> Bench:
    def step() -> list[float]:
        x = Tensor(data.x)
        (2 * x.dot(x)).backward()
        return x.grad.tolist()

    return _bench(step)


def mlp_train(data: MLPData) -> Bench:
    weights = [Tensor(w).realize() for w in data.weights]
    biases = [Tensor(b).realize() for b in data.biases]
    x, onehot = Tensor(data.x).realize(), Tensor(data.onehot).realize()
    params = weights + biases

    @TinyJit
    def train() -> Tensor:
        loss = _mlp_loss(weights, biases, x, onehot)
        loss.backward()
        for p in params:
            p.assign(p.detach() - data.lr * p.grad)
            p.grad = None
        return loss.realize(*params)

    return _bench(lambda: train().item())


def cnn_train(data: CNNData) -> Bench:
    conv_weights = [Tensor(w).realize() for w in data.conv_weights]
    conv_biases = [Tensor(b).realize() for b in data.conv_biases]
    fc_weight, fc_bias = Tensor(data.fc_weight).realize(), Tensor(data.fc_bias).realize()
    x, onehot = Tensor(data.x).realize(), Tensor(data.onehot).realize()
    params = [*conv_weights, *conv_biases, fc_weight, fc_bias]
    moments = [(Tensor.zeros(*p.shape).contiguous().realize(), Tensor.zeros(*p.shape).contiguous().realize())
               for p in params]
    (beta1, beta2), t = data.betas, [0]

    @TinyJit
    def train(step_number: Tensor) -> Tensor:
        h = x
        for w, b in zip(conv_weights, conv_biases):
            h = h.conv2d(w, b, stride=data.stride, padding=data.padding).relu()
        loss = _cross_entropy(h.flatten(1) @ fc_weight + fc_bias, onehot)
        loss.backward()
        for p, (m, v) in zip(params, moments):
            g = p.grad
            m.assign(beta1 * m + (1 - beta1) * g)
            v.assign(beta2 * v + (1 - beta2) * g * g)
            update = (m / (1 - beta1 ** step_number)) / ((v / (1 - beta2 ** step_number)).sqrt() + data.eps)
            p.assign(p.detach() - data.lr * update)
            p.grad = None
        return loss.realize(*params, *(s for pair in moments for s in pair))

    def step() -> float:
        t[0] += 1
        return train(Tensor([float(t[0])]).realize()).item()

    return _bench(step)


def elementwise_chain(data: ChainData) -> Bench:
    x = Tensor(data.x).realize()

    def step() -> Tensor:
        loss = _apply(x, data.ops).sum()
        loss.backward()
        grad, x.grad = x.grad, None
        loss.realize(grad)
        return grad

    return _bench(step)


def matmul(data: MatmulData) -> Bench:
    a, b = Tensor(data.a).realize(), Tensor(data.b).realize()
    return _bench(lambda: (a @ b).realize())


def dispatch(data: ChainData) -> Bench:
    x = Tensor(data.x).realize()
    return _bench(lambda: _apply(x, data.ops).tolist())


def make() -> System:
    try:
        (Tensor([1.0]) + 1).tolist()
    except Exception as error:  # tinygrad raises many kinds when no device can compile
        raise Unavailable(f"tinygrad cannot run here ({type(error).__name__}: {error}); on CPU it needs clang") \
            from None
    builders = {"seed": seed, "mlp_train": mlp_train, "cnn_train": cnn_train, "elementwise_chain": elementwise_chain,
                "matmul": matmul, "dispatch": dispatch}
    return System("tinygrad", importlib.metadata.version("tinygrad"), builders, {"device": Device.DEFAULT})
