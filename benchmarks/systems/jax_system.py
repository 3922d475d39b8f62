"""Handwritten JAX: each training step is one ``jax.jit`` of ``value_and_grad`` plus the update.

This is the bar lazygrad-jax aims for: the same math traced once by hand. ``dispatch`` runs op by op
(eager jax), because a jitted loop would measure a cache lookup rather than per-op overhead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..workloads import ChainData, CNNData, ElementwiseOp, FirstCallData, MatmulData, MLPData, SeedData
from .base import Bench, System

ELEMENTWISE = {
    "mul": lambda t, c: t * c,
    "add": lambda t, c: t + c,
    "tanh": lambda t, _: jnp.tanh(t),
    "exp": lambda t, _: jnp.exp(t),
}


def _apply(t: Any, ops: Sequence[ElementwiseOp]) -> Any:
    for name, constant in ops:
        t = ELEMENTWISE[name](t, constant)
    return t


def _cross_entropy(logits: jax.Array, onehot: jax.Array) -> jax.Array:
    return -(jax.nn.log_softmax(logits, axis=1) * onehot).sum() / logits.shape[0]


def _mlp_loss(params: tuple, x: jax.Array, onehot: jax.Array) -> jax.Array:
    weights, biases = params
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w + b
        if i < len(weights) - 1:
            h = jax.nn.relu(h)
    return _cross_entropy(h, onehot)


@jax.jit
def _sgd_step(params: tuple, x: jax.Array, onehot: jax.Array, lr: float) -> tuple[jax.Array, tuple]:
    loss, grads = jax.value_and_grad(_mlp_loss)(params, x, onehot)
    return loss, jax.tree.map(lambda p, g: p - lr * g, params, grads)


def _cnn_loss(params: tuple, x: jax.Array, onehot: jax.Array, stride: int, padding: int) -> jax.Array:
    conv_weights, conv_biases, fc_weight, fc_bias = params
    h = x
    for w, b in zip(conv_weights, conv_biases):
        h = lax.conv_general_dilated(h, w, (stride, stride), [(padding, padding)] * 2,
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        h = jax.nn.relu(h + b[None, :, None, None])
    return _cross_entropy(h.reshape(h.shape[0], -1) @ fc_weight + fc_bias, onehot)


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def _adam_step(params: tuple, m: tuple, v: tuple, t: jax.Array, x: jax.Array, onehot: jax.Array, lr: float,
               beta1: float, beta2: float, eps: float, stride: int, padding: int) -> tuple:
    loss, grads = jax.value_and_grad(_cnn_loss)(params, x, onehot, stride, padding)
    m = jax.tree.map(lambda m, g: beta1 * m + (1 - beta1) * g, m, grads)
    v = jax.tree.map(lambda v, g: beta2 * v + (1 - beta2) * g * g, v, grads)
    params = jax.tree.map(lambda p, m, v: p - lr * (m / (1 - beta1 ** t)) / (jnp.sqrt(v / (1 - beta2 ** t)) + eps),
                          params, m, v)
    return loss, params, m, v


def _chain_loss(x: jax.Array, ops: tuple[ElementwiseOp, ...]) -> jax.Array:
    return _apply(x, ops).sum()


_chain_grad = jax.jit(jax.value_and_grad(_chain_loss), static_argnums=1)
_seed_grad = jax.jit(jax.grad(lambda x: 2 * jnp.dot(x, x)))
_matmul = jax.jit(jnp.matmul)


def seed(data: SeedData) -> Bench:
    return Bench(lambda: np.asarray(_seed_grad(data.x)).tolist())


def _mlp_step(data: MLPData) -> Any:
    state = [jax.device_put((data.weights, data.biases))]
    x, onehot = jax.device_put(data.x), jax.device_put(data.onehot)

    def step() -> float:
        loss, state[0] = _sgd_step(state[0], x, onehot, data.lr)
        return float(loss)

    return step


def mlp_train(data: MLPData) -> Bench:
    return Bench(_mlp_step(data))


def first_call(data: FirstCallData) -> Bench:
    current: list[Any] = []

    def prepare() -> None:
        if data.cold:
            jax.clear_caches()
        current[:] = [_mlp_step(data.mlp)]

    return Bench(lambda: current[0](), prepare, first_call=True)


def cnn_train(data: CNNData) -> Bench:
    params = jax.device_put((data.conv_weights, data.conv_biases, data.fc_weight, data.fc_bias))
    state = [params, jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params)]
    x, onehot = jax.device_put(data.x), jax.device_put(data.onehot)
    t = [0]

    def step() -> float:
        t[0] += 1
        loss, params, m, v = _adam_step(*state, jnp.float32(t[0]), x, onehot, data.lr, *data.betas, data.eps,
                                        stride=data.stride, padding=data.padding)
        state[:] = [params, m, v]
        return float(loss)

    return Bench(step)


def elementwise_chain(data: ChainData) -> Bench:
    x = jax.device_put(data.x)

    def step() -> jax.Array:
        loss, grad = _chain_grad(x, data.ops)
        jax.block_until_ready((loss, grad))
        return grad

    return Bench(step)


def matmul(data: MatmulData) -> Bench:
    a, b = jax.device_put(data.a), jax.device_put(data.b)
    return Bench(lambda: _matmul(a, b).block_until_ready())


def dispatch(data: ChainData) -> Bench:
    x = jax.device_put(data.x)
    return Bench(lambda: np.asarray(_apply(x, data.ops)).tolist())


def make() -> System:
    builders = {"seed": seed, "mlp_train": mlp_train, "cnn_train": cnn_train, "elementwise_chain": elementwise_chain,
                "matmul": matmul, "dispatch": dispatch, "compile-cold": first_call, "compile-warm": first_call}
    return System("jax", jax.__version__, builders, {"device": str(jax.devices()[0])})
