"""Plain numpy with forward and backward written by hand: the bar for lazygrad's numpy backend.

No framework at all, so its time is the arithmetic plus numpy's own per-call cost. Intermediates a
backward pass needs are kept explicitly; convolutions use im2col so the work lands in BLAS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..workloads import ChainData, CNNData, ElementwiseOp, FirstCallData, MatmulData, MLPData, SeedData
from .base import Bench, System

Forward = Callable[[np.ndarray, float], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray, float], "np.ndarray | np.float32"]

# name -> (forward, d output / d input from (input, output, constant) or None for the identity)
ELEMENTWISE: dict[str, tuple[Forward, Derivative | None]] = {
    "mul": (lambda t, c: t * np.float32(c), lambda t, out, c: np.float32(c)),
    "add": (lambda t, c: t + np.float32(c), None),
    "tanh": (lambda t, _: np.tanh(t), lambda t, out, _: 1 - out * out),
    "exp": (lambda t, _: np.exp(t), lambda t, out, _: out),
}


def _apply(t: np.ndarray, ops: Sequence[ElementwiseOp]) -> np.ndarray:
    for name, constant in ops:
        t = ELEMENTWISE[name][0](t, constant)
    return t


def _softmax_cross_entropy(logits: np.ndarray, onehot: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean loss and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    batch = logits.shape[0]
    loss = -((shifted - np.log(total)) * onehot).sum() / batch
    return float(loss), (exp / total * onehot.sum(axis=1, keepdims=True) - onehot) / np.float32(batch)


def seed(data: SeedData) -> Bench:
    def step() -> list[float]:
        x = data.x.copy()
        return (4 * x).tolist()  # d/dx of 2 x.x

    return Bench(step)


def _mlp_step(data: MLPData) -> Callable[[], float]:
    weights = [w.copy() for w in data.weights]
    biases = [b.copy() for b in data.biases]
    lr = np.float32(data.lr)

    def step() -> float:
        activations = [data.x]
        for i, (w, b) in enumerate(zip(weights, biases)):
            z = activations[-1] @ w + b
            activations.append(np.maximum(z, 0) if i < len(weights) - 1 else z)
        loss, grad = _softmax_cross_entropy(activations.pop(), data.onehot)
        for i in reversed(range(len(weights))):
            inputs = activations[i]
            grad_w, grad_b = inputs.T @ grad, grad.sum(axis=0)
            if i:
                grad = (grad @ weights[i].T) * (inputs > 0)
            weights[i] -= lr * grad_w
            biases[i] -= lr * grad_b
        return loss

    return step


def mlp_train(data: MLPData) -> Bench:
    return Bench(_mlp_step(data))


def first_call(data: FirstCallData) -> Bench:
    current: list[Callable[[], float]] = []

    def prepare() -> None:
        current[:] = [_mlp_step(data.mlp)]

    return Bench(lambda: current[0](), prepare, first_call=True)


def _im2col(x: np.ndarray, k: int, stride: int, padding: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C*k*k, Ho*Wo): every receptive field as a column."""
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, w = padded.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    cols = np.empty((n, c, k, k, ho, wo), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = padded[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
    return cols.reshape(n, c * k * k, ho * wo)


def _col2im(cols: np.ndarray, shape: tuple[int, ...], k: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of :func:`_im2col`: scatter-add columns back onto the input."""
    n, c, h, w = shape
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    cols = cols.reshape(n, c, k, k, ho, wo)
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            padded[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += cols[:, :, i, j]
    return padded[:, :, padding:padding + h, padding:padding + w]


def cnn_train(data: CNNData) -> Bench:
    conv_weights = [w.copy() for w in data.conv_weights]
    conv_biases = [b.copy() for b in data.conv_biases]
    fc_weight, fc_bias = data.fc_weight.copy(), data.fc_bias.copy()
    params = [*conv_weights, *conv_biases, fc_weight, fc_bias]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    (beta1, beta2), t = data.betas, [0]
    k, stride, padding = data.conv_weights[0].shape[-1], data.stride, data.padding

    def step() -> float:
        inputs, cols, h = [], [], data.x
        for w, b in zip(conv_weights, conv_biases):
            n, _, height, _ = h.shape
            inputs.append(h)
            cols.append(_im2col(h, k, stride, padding))
            out = w.reshape(w.shape[0], -1) @ cols[-1] + b[:, None]
            size = (height + 2 * padding - k) // stride + 1
            h = np.maximum(out, 0).reshape(n, w.shape[0], size, size)
        flat = h.reshape(h.shape[0], -1)
        loss, grad = _softmax_cross_entropy(flat @ fc_weight + fc_bias, data.onehot)
        grads_w, grads_b = [np.empty(0)] * len(conv_weights), [np.empty(0)] * len(conv_weights)
        grad_fc_w, grad_fc_b = flat.T @ grad, grad.sum(axis=0)
        grad = ((grad @ fc_weight.T) * (flat > 0)).reshape(h.shape[0], h.shape[1], -1)
        for i in reversed(range(len(conv_weights))):
            w = conv_weights[i]
            grads_w[i] = np.einsum("nol,nkl->ok", grad, cols[i]).reshape(w.shape)
            grads_b[i] = grad.sum(axis=(0, 2))
            if i:
                grad_in = _col2im(w.reshape(w.shape[0], -1).T @ grad, inputs[i].shape, k, stride, padding)
                grad = (grad_in * (inputs[i] > 0)).reshape(grad_in.shape[0], grad_in.shape[1], -1)
        t[0] += 1
        correction1, correction2 = 1 - beta1 ** t[0], 1 - beta2 ** t[0]
        for p, g, (m, v) in zip(params, [*grads_w, *grads_b, grad_fc_w, grad_fc_b], moments):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= np.float32(data.lr) * (m / correction1) / (np.sqrt(v / correction2) + np.float32(data.eps))
        return loss

    return Bench(step)


def elementwise_chain(data: ChainData) -> Bench:
    def step() -> np.ndarray:
        values = [data.x]
        for name, constant in data.ops:
            values.append(ELEMENTWISE[name][0](values[-1], constant))
        values[-1].sum()  # the loss; its gradient with respect to the last value is all ones
        grad = np.ones_like(data.x)
        for i in reversed(range(len(data.ops))):
            name, constant = data.ops[i]
            derivative = ELEMENTWISE[name][1]
            if derivative is not None:
                grad = grad * derivative(values[i], values[i + 1], constant)
        return grad

    return Bench(step)


def matmul(data: MatmulData) -> Bench:
    return Bench(lambda: data.a @ data.b)


def dispatch(data: ChainData) -> Bench:
    return Bench(lambda: _apply(data.x, data.ops).tolist())


def make() -> System:
    builders = {"seed": seed, "mlp_train": mlp_train, "cnn_train": cnn_train, "elementwise_chain": elementwise_chain,
                "matmul": matmul, "dispatch": dispatch, "compile-cold": first_call, "compile-warm": first_call}
    return System("numpy", np.__version__, builders, {})
