"""The workloads written once against PyTorch's API, run by both torch and lazygrad.

lazygrad is meant to be used as ``import lazygrad as torch``, so the same code serves both: a
:class:`TorchLike` names the module, how to force pending results (nothing for eager torch, a
realize for lazygrad) and the hooks the first-call workloads need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..workloads import (
    ChainData,
    CharLMData,
    CNNData,
    DynamicDepthData,
    ElementwiseOp,
    FirstCallData,
    Layer,
    MatmulData,
    MinibatchData,
    MLPData,
    PolyFitData,
    SeedData,
)
from .base import Bench, Builder, Unsupported


def _no_op() -> None:
    return None


@dataclass(frozen=True)
class TorchLike:
    """A module with torch's API and the few things that differ between eager and lazy execution."""

    lib: ModuleType
    force: Callable[..., None]  # make the given tensors computed
    select: Callable[[], None] = _no_op  # make this system current (lazygrad: its backend)
    clear_compiled: Callable[[], None] = _no_op  # empty every compile cache (cold first call)
    close: Callable[[], None] = _no_op
    counters: Callable[[], dict[str, float]] | None = None
    compiled: bool = False  # run the step's tensor work through ``lib.compile`` (the ``compiled`` variants)

    def compile(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self.lib.compile(fn) if self.compiled else fn

    def bench(self, step: Callable[[], Any], prepare: Callable[[], None] | None = None,
              first_call: bool = False) -> Bench:
        return Bench(step, prepare or self.select, first_call, self.close, self.counters)


ELEMENTWISE: dict[str, Callable[[Any, float], Any]] = {
    "mul": lambda t, c: t * c,
    "add": lambda t, c: t + c,
    "tanh": lambda t, _: t.tanh(),
    "exp": lambda t, _: t.exp(),
}


def _apply(t: Any, ops: Sequence[ElementwiseOp]) -> Any:
    for name, constant in ops:
        t = ELEMENTWISE[name](t, constant)
    return t


def _cross_entropy(logits: Any, onehot: Any) -> Any:
    return -(logits.log_softmax(1) * onehot).sum() / logits.shape[0]


def seed(sys: TorchLike, data: SeedData) -> Bench:
    lib = sys.lib

    def gradient(x: Any) -> Any:
        y = 2 * lib.dot(x, x)
        y.backward()
        return x.grad

    work = sys.compile(gradient)

    def step() -> list[float]:
        return work(lib.tensor(data.x, requires_grad=True)).tolist()

    sys.select()
    return sys.bench(step)


def _mlp_loss(weights: Sequence[Any], biases: Sequence[Any], x: Any, onehot: Any) -> Any:
    """The ReLU MLP's cross-entropy; any library with torch's tensor methods can run it."""
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w + b
        if i < len(weights) - 1:
            h = h.relu()
    return _cross_entropy(h, onehot)


def _mlp_step(sys: TorchLike, data: MLPData) -> Callable[[], float]:
    lib = sys.lib
    weights = [lib.tensor(w, requires_grad=True) for w in data.weights]
    biases = [lib.tensor(b, requires_grad=True) for b in data.biases]
    x, onehot = lib.tensor(data.x), lib.tensor(data.onehot)
    params = weights + biases

    def update() -> Any:
        loss = _mlp_loss(weights, biases, x, onehot)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-data.lr)
                p.grad = None
        return loss

    work = sys.compile(update)
    return lambda: work().item()


def mlp_train(sys: TorchLike, data: MLPData) -> Bench:
    sys.select()
    return sys.bench(_mlp_step(sys, data))


def first_call(sys: TorchLike, data: FirstCallData) -> Bench:
    current: list[Callable[[], float]] = []

    def prepare() -> None:
        sys.select()
        if data.cold:
            sys.clear_compiled()
        current[:] = [_mlp_step(sys, data.mlp)]

    return sys.bench(lambda: current[0](), prepare, first_call=True)


def _conv2d(lib: ModuleType) -> Callable[..., Any]:
    try:
        return importlib.import_module(f"{lib.__name__}.nn.functional").conv2d
    except (ImportError, AttributeError):
        raise Unsupported("conv not supported yet") from None


def cnn_train(sys: TorchLike, data: CNNData) -> Bench:
    lib = sys.lib
    conv2d = _conv2d(lib)
    sys.select()
    conv_weights = [lib.tensor(w, requires_grad=True) for w in data.conv_weights]
    conv_biases = [lib.tensor(b, requires_grad=True) for b in data.conv_biases]
    fc_weight, fc_bias = lib.tensor(data.fc_weight, requires_grad=True), lib.tensor(data.fc_bias, requires_grad=True)
    x, onehot = lib.tensor(data.x), lib.tensor(data.onehot)
    params = [*conv_weights, *conv_biases, fc_weight, fc_bias]
    moments = [(lib.zeros_like(p), lib.zeros_like(p)) for p in params]
    (beta1, beta2), t = data.betas, [0]

    def update(step_count: float) -> Any:
        h = x
        for w, b in zip(conv_weights, conv_biases):
            h = conv2d(h, w, b, stride=data.stride, padding=data.padding).relu()
        loss = _cross_entropy(h.flatten(1) @ fc_weight + fc_bias, onehot)
        loss.backward()
        with lib.no_grad():
            for p, (m, v) in zip(params, moments):
                g = p.grad
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).add_(g * g, alpha=1 - beta2)
                update = (m / (1 - beta1**step_count)) / ((v / (1 - beta2**step_count)).sqrt() + data.eps)
                p.add_(update, alpha=-data.lr)
                p.grad = None
        return loss

    work = sys.compile(update)

    def step() -> float:
        t[0] += 1  # the step count is an argument, so each call's bias corrections enter as inputs
        return work(float(t[0])).item()

    return sys.bench(step)


def elementwise_chain(sys: TorchLike, data: ChainData) -> Bench:
    sys.select()
    x = sys.lib.tensor(data.x, requires_grad=True)

    def step() -> Any:
        loss = _apply(x, data.ops).sum()
        loss.backward()
        grad, x.grad = x.grad, None
        sys.force(loss, grad)
        return grad

    return sys.bench(step)


def matmul(sys: TorchLike, data: MatmulData) -> Bench:
    sys.select()
    a, b = sys.lib.tensor(data.a), sys.lib.tensor(data.b)

    def step() -> Any:
        c = a @ b
        sys.force(c)
        return c

    return sys.bench(step)


def dispatch(sys: TorchLike, data: ChainData) -> Bench:
    sys.select()
    x = sys.lib.tensor(data.x)
    return sys.bench(lambda: _apply(x, data.ops).tolist())


# ---- whole training loops written with nn modules and optimizers, as a user writes them ----


def _linear(sys: TorchLike, layer: Layer) -> Any:
    """An ``nn.Linear`` holding the workload's weights, so every system starts from the same ones."""
    lib = sys.lib
    weight, bias = layer
    module = lib.nn.Linear(weight.shape[1], weight.shape[0])
    with lib.no_grad():
        module.weight.copy_(lib.tensor(weight))
        module.bias.copy_(lib.tensor(bias))
    return module


def _training_loop(sys: TorchLike, forward: Callable[..., Any], optimizer: Any, batch: Callable[[int], tuple],
                   steps: int, read_every: int, params: Sequence[Any], read_early: bool = True) -> Bench:
    """``steps`` steps of ``forward(*batch(t))`` then backward and an optimizer step, the loss read every
    ``read_every`` steps. Uncompiled, as the tutorials write it: the loss is read before the update (unless not
    ``read_early``). Compiled (``lazygrad.compile``), the step is one function whose returned loss is read after it."""

    def update(loss: Any) -> Any:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    work = sys.compile(lambda *args: update(forward(*args)))

    def run() -> list[float]:
        read = []
        for t in range(steps):
            due = t % read_every == read_every - 1
            if sys.compiled:
                loss = work(*batch(t))
            else:
                loss = forward(*batch(t))
                if due and read_early:
                    read.append(loss.item())
                update(loss)
            if due and (sys.compiled or not read_early):
                read.append(loss.item())
        sys.force(*params)
        return read

    return sys.bench(run)


def read_rarely(sys: TorchLike, data: PolyFitData) -> Bench:
    lib, nn = sys.lib, sys.lib.nn
    sys.select()
    x, y = lib.tensor(data.x), lib.tensor(data.y)
    xx = x.unsqueeze(-1).pow(lib.tensor([1.0, 2.0, 3.0]))
    model = nn.Sequential(_linear(sys, data.layer), nn.Flatten(0, 1))
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = lib.optim.SGD(model.parameters(), lr=data.lr)
    return _training_loop(sys, lambda: loss_fn(model(xx), y), optimizer, lambda t: (), data.steps, data.read_every,
                          list(model.parameters()))


def dynamic_depth(sys: TorchLike, data: DynamicDepthData) -> Bench:
    lib, nn = sys.lib, sys.lib.nn
    sys.select()

    class DynamicNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input_linear, self.middle_linear, self.output_linear = (_linear(sys, layer) for layer in data.layers)

        def forward(self, x: Any, depth: int) -> Any:
            h = self.input_linear(x).relu()
            for _ in range(depth):
                h = self.middle_linear(h).relu()
            return self.output_linear(h)

    model = DynamicNet()
    x, y = lib.tensor(data.x), lib.tensor(data.y)
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = lib.optim.SGD(model.parameters(), lr=data.lr, momentum=data.momentum)
    return _training_loop(sys, lambda depth: loss_fn(model(x, depth), y), optimizer, lambda t: (data.depths[t],),
                          len(data.depths), data.read_every, list(model.parameters()))


def minibatch_epoch(sys: TorchLike, data: MinibatchData) -> Bench:
    lib, nn = sys.lib, sys.lib.nn
    sys.select()
    first, second = (_linear(sys, layer) for layer in data.layers)
    model = nn.Sequential(first, nn.ReLU(), second)
    x, y = lib.tensor(data.x), lib.tensor(data.y)
    loss_fn = nn.MSELoss()
    optimizer = lib.optim.SGD(model.parameters(), lr=data.lr)
    batches, size = len(data.x) // data.batch, data.batch

    def batch(i: int) -> tuple[Any, Any]:
        return x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]

    # the last batch's loss is read after its update: the epoch's one read
    return _training_loop(sys, lambda xb, yb: loss_fn(model(xb), yb), optimizer, batch, batches, batches,
                          list(model.parameters()), read_early=False)


def _char_lm_model(lib: ModuleType, data: CharLMData) -> Any:
    nn, F = lib.nn, lib.nn.functional
    width, heads, block = data.width, data.heads, data.block

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.qkv, self.proj = nn.LayerNorm(width), nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.ln2 = nn.LayerNorm(width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.ReLU(), nn.Linear(4 * width, width))
            self.register_buffer("tril", lib.tril(lib.ones(block, block)))

        def forward(self, x: Any) -> Any:
            B, T, C = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, heads, C // heads).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (C // heads) ** -0.5
            att = F.softmax(att.masked_fill(self.tril[:T, :T] == 0, float("-inf")), dim=-1)
            x = x + self.proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp(self.ln2(x))

    class CharLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens, self.positions = nn.Embedding(data.vocab, width), nn.Embedding(block, width)
            self.block, self.ln, self.head = Block(), nn.LayerNorm(width), nn.Linear(width, data.vocab)

        def forward(self, idx: Any, targets: Any) -> Any:
            B, T = idx.shape
            x = self.block(self.tokens(idx) + self.positions(lib.arange(T)))
            logits = self.head(self.ln(x))
            return F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))

    model = CharLM()
    with lib.no_grad():
        for p, w in zip(model.parameters(), data.weights, strict=True):
            p.copy_(lib.tensor(w))
    return model


def char_lm(sys: TorchLike, data: CharLMData) -> Bench:
    lib = sys.lib
    sys.select()
    model = _char_lm_model(lib, data)
    optimizer = lib.optim.AdamW(model.parameters(), lr=data.lr)
    tokens, starts = lib.tensor(data.tokens), lib.tensor(data.starts)
    block = data.block

    def get_batch(ix: Any) -> tuple[Any, Any]:
        x = lib.stack([tokens[i:i + block] for i in ix])
        y = lib.stack([tokens[i + 1:i + block + 1] for i in ix])
        return x, y

    def run() -> list[float]:
        read = []
        for t, ix in enumerate(starts):
            xb, yb = get_batch(ix)
            loss = model(xb, yb)
            if t % data.read_every == data.read_every - 1:
                read.append(loss.item())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        sys.force(*model.parameters())
        return read

    return sys.bench(run)


def builders(sys: TorchLike) -> dict[str, Builder]:
    """Every workload bound to ``sys``: the adapter table shared by torch and lazygrad."""
    table: dict[str, Callable[[TorchLike, Any], Bench]] = {
        "seed": seed, "mlp_train": mlp_train, "cnn_train": cnn_train, "elementwise_chain": elementwise_chain,
        "matmul": matmul, "dispatch": dispatch, "read_rarely": read_rarely, "dynamic_depth": dynamic_depth,
        "minibatch_epoch": minibatch_epoch, "char_lm": char_lm, "compile-cold": first_call, "compile-warm": first_call,
    }
    if sys.compiled:  # the workloads with a compiled variant
        table = {name: table[name] for name in ("seed", "mlp_train", "cnn_train", "read_rarely", "dynamic_depth",
                                                "minibatch_epoch")}
    return {name: (lambda data, fn=fn: fn(sys, data)) for name, fn in table.items()}
