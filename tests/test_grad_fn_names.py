"""``grad_fn`` records as torch builds them: names and the ``next_functions`` chain down to AccumulateGrad.

Programs walk ``loss.grad_fn.next_functions[0][0]...`` (the 60-minute blitz prints MseLoss -> Addmm ->
AccumulateGrad). Where torch fuses a user-level op into one autograd node, lazygrad's record carries that
node's name and the same edges: ``AccumulateGrad`` for leaves and ``None`` for operands that get no
gradient (targets, Python numbers, optional inputs left out).

Known differences, not tested: torch's 3-D class-index cross entropy views to 4-D first (an extra
``ViewBackward0``); ``max_pool1d`` records no unsqueeze/``MaxPool2DWithIndicesBackward0`` pair; composite
functions whose torch chains follow torch's own decomposition (``cosine_similarity``, ``normalize``,
``scaled_dot_product_attention``, label smoothing and soft targets in ``cross_entropy``) differ inside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch


def chain(fn: Any, depth: int = 0) -> Any:
    """A record as (name, [its next functions]), None for a (None, 0) edge, four levels deep."""
    if fn is None:
        return None
    name = fn.name().replace("torch::autograd::", "")
    if depth == 4:
        return name
    return name, [chain(f, depth + 1) for f, _ in fn.next_functions]


def _cases() -> dict[str, Callable[[Any], Any]]:
    def x(t: Any, *shape: int) -> Any:
        return t.ones(*(shape or (3, 4)), requires_grad=True)

    def data(t: Any, *shape: int) -> Any:
        return t.ones(*(shape or (3, 4)))

    return {
        "linear": lambda t: t.nn.Linear(4, 2)(data(t)),
        "linear without bias": lambda t: t.nn.Linear(4, 2, bias=False)(data(t)),
        "linear of an input that requires grad": lambda t: t.nn.Linear(4, 2)(x(t)),
        "linear of a 3-D input": lambda t: t.nn.Linear(4, 2)(x(t, 2, 3, 4)),
        "linear of a 3-D input without bias": lambda t: t.nn.Linear(4, 2, bias=False)(data(t, 2, 3, 4)),
        "linear of a vector": lambda t: t.nn.Linear(4, 2)(x(t, 4)),
        "linear of a vector without bias": lambda t: t.nn.Linear(4, 2, bias=False)(data(t, 4)),
        "MSELoss over a linear layer": lambda t: t.nn.MSELoss()(t.nn.Linear(4, 2)(data(t)), data(t, 3, 2)),
        "mse_loss sum": lambda t: t.nn.functional.mse_loss(x(t), data(t), reduction="sum"),
        "mse_loss none": lambda t: t.nn.functional.mse_loss(x(t), x(t)),
        "l1_loss": lambda t: t.nn.functional.l1_loss(x(t), data(t)),
        "cross_entropy": lambda t: t.nn.functional.cross_entropy(x(t), t.tensor([0, 1, 3])),
        "cross_entropy with weight": lambda t: t.nn.functional.cross_entropy(x(t), t.tensor([0, 1, 3]),
                                                                             weight=data(t, 4)),
        "cross_entropy none": lambda t: t.nn.functional.cross_entropy(x(t), t.tensor([0, 1, 3]), reduction="none"),
        "cross_entropy of images": lambda t: t.nn.functional.cross_entropy(
            x(t, 2, 3, 2, 2), t.zeros(2, 2, 2, dtype=t.int64)),
        "nll_loss": lambda t: t.nn.functional.nll_loss(x(t), t.tensor([0, 1, 3])),
        "binary_cross_entropy_with_logits": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
            x(t), data(t) / 2),
        "binary_cross_entropy_with_logits with weights": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
            x(t), data(t) / 2, weight=data(t), pos_weight=data(t, 4)),
        "binary_cross_entropy": lambda t: t.nn.functional.binary_cross_entropy(x(t).sigmoid(), data(t) / 2),
        "smooth_l1_loss": lambda t: t.nn.functional.smooth_l1_loss(x(t), data(t)),
        "huber_loss": lambda t: t.nn.functional.huber_loss(x(t), data(t)),
        "kl_div": lambda t: t.nn.functional.kl_div(x(t), data(t) / 4, reduction="batchmean"),
        "tensor times a number": lambda t: x(t) * 2,
        "number times a tensor": lambda t: 2 * x(t),
        "tensor plus a tensor without grad": lambda t: x(t) + data(t),
        "tensor minus, over a number": lambda t: (x(t) - 2) / 3,
        "relu": lambda t: t.nn.ReLU()(x(t)),
        "gelu": lambda t: t.nn.GELU()(x(t)),
        "gelu tanh": lambda t: t.nn.GELU(approximate="tanh")(x(t)),
        "silu": lambda t: t.nn.SiLU()(x(t)),
        "leaky_relu": lambda t: t.nn.LeakyReLU()(x(t)),
        "logsigmoid": lambda t: t.nn.LogSigmoid()(x(t)),
        "tanh": lambda t: t.nn.Tanh()(x(t)),
        "sigmoid": lambda t: t.nn.Sigmoid()(x(t)),
        "elu": lambda t: t.nn.ELU()(x(t)),
        "selu": lambda t: t.nn.SELU()(x(t)),
        "mish": lambda t: t.nn.Mish()(x(t)),
        "softplus": lambda t: t.nn.Softplus()(x(t)),
        "hardtanh": lambda t: t.nn.Hardtanh()(x(t)),
        "softmax": lambda t: t.nn.Softmax(1)(x(t)),
        "log_softmax": lambda t: t.nn.LogSoftmax(1)(x(t)),
        "layer_norm": lambda t: t.nn.LayerNorm(4)(x(t)),
        "layer_norm without affine": lambda t: t.nn.functional.layer_norm(x(t), (4,)),
        "batch_norm": lambda t: t.nn.BatchNorm1d(4)(x(t)),
        "batch_norm in eval": lambda t: t.nn.BatchNorm1d(4).eval()(x(t)),
        "batch_norm 2-D": lambda t: t.nn.BatchNorm2d(2)(x(t, 2, 2, 3, 3)),
        "group_norm": lambda t: t.nn.GroupNorm(2, 4)(x(t)),
        "dropout": lambda t: t.nn.Dropout()(x(t)),
        "embedding": lambda t: t.nn.Embedding(5, 3)(t.tensor([0, 1, 1])),
        "conv2d": lambda t: t.nn.Conv2d(1, 2, 3)(data(t, 1, 1, 5, 5)),
        "conv2d without bias": lambda t: t.nn.Conv2d(1, 2, 3, bias=False)(data(t, 1, 1, 5, 5)),
        "conv1d": lambda t: t.nn.Conv1d(1, 2, 3)(x(t, 1, 1, 5)),
        "max_pool2d": lambda t: t.nn.functional.max_pool2d(x(t, 1, 1, 4, 4), 2),
        "avg_pool2d": lambda t: t.nn.functional.avg_pool2d(x(t, 1, 1, 4, 4), 2),
        "flatten": lambda t: t.nn.Flatten()(x(t, 2, 2, 2)),
        "pad": lambda t: t.nn.functional.pad(x(t), (1, 1)),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_records_chain_like_torchs(name: str) -> None:
    build = CASES[name]
    assert chain(build(lazygrad).grad_fn) == chain(build(torch).grad_fn)


def test_the_blitz_walk_reads_mse_addmm_accumulate() -> None:
    net = lazygrad.nn.Linear(4, 2)
    loss = lazygrad.nn.MSELoss()(net(lazygrad.ones(3, 4)), lazygrad.zeros(3, 2))
    walk = [loss.grad_fn, loss.grad_fn.next_functions[0][0], loss.grad_fn.next_functions[0][0].next_functions[0][0]]
    assert [type(f).__name__ for f in walk] == ["MseLossBackward0", "AddmmBackward0", "AccumulateGrad"]
    assert walk[2].variable is net.bias


_VALUES = [[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.75, 3.0], [-2.0, 1.0, 0.5, -0.5]]
_GRADIENTS = {
    "linear": lambda t, v: t.nn.functional.linear(v, t.tensor(_VALUES[:2]), t.tensor([0.5, -0.5])),
    "linear 3-D": lambda t, v: t.nn.functional.linear(v.reshape(3, 2, 2), t.tensor([[1.0, -2.0]])),
    "mse_loss": lambda t, v: t.nn.functional.mse_loss(v, t.ones(3, 4)),
    "cross_entropy": lambda t, v: t.nn.functional.cross_entropy(v, t.tensor([0, 1, 3])),
    "nll_loss": lambda t, v: t.nn.functional.nll_loss(v, t.tensor([0, 1, 3])),
    "bce_with_logits": lambda t, v: t.nn.functional.binary_cross_entropy_with_logits(v, t.ones(3, 4) / 2),
    "layer_norm": lambda t, v: t.nn.functional.layer_norm(v, (4,)),
    "batch_norm": lambda t, v: t.nn.functional.batch_norm(v, None, None, training=True),
    "gelu": lambda t, v: t.nn.functional.gelu(v),
    "silu": lambda t, v: t.nn.functional.silu(v),
    "leaky_relu": lambda t, v: t.nn.functional.leaky_relu(v),
    "logsigmoid": lambda t, v: t.nn.functional.logsigmoid(v),
    "numbers": lambda t, v: (v - 2) * 3 / 4 + 1,
}


@pytest.mark.parametrize("name", list(_GRADIENTS))
def test_renamed_records_keep_torchs_gradients(name: str) -> None:
    """The fused names change no gradient: the leaf gets torch's gradient through each renamed record."""
    grads = []
    for lib in (lazygrad, torch):
        leaf = lib.tensor(_VALUES, requires_grad=True)
        (_GRADIENTS[name](lib, leaf) ** 2).sum().backward()
        grads.append([g for row in leaf.grad.tolist() for g in row])
    assert grads[0] == pytest.approx(grads[1], rel=1e-5, abs=1e-6)


RNN_CONFIGS = [("LSTM", {}), ("LSTM", {"num_layers": 2}), ("LSTM", {"batch_first": True}),
               ("LSTM", {"bidirectional": True}), ("LSTM", {"proj_size": 2}), ("GRU", {}),
               ("GRU", {"batch_first": True}), ("RNN", {"batch_first": True, "bidirectional": True}),
               ("RNN", {"nonlinearity": "relu"})]


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(("kind", "options"), RNN_CONFIGS)
@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_recurrent_outputs_carry_torchs_record_names(kind: str, options: dict) -> None:
    """A float32 LSTM prints its output as torch's fused oneDNN layer; batch-first GRU and RNN outputs as an in-place
    transpose; and the names change nothing about the gradients."""
    names, grads = [], []
    for T in (torch, lazygrad):
        T.manual_seed(0)
        layer = getattr(T.nn, kind)(3, 4, **options)
        output, _ = layer(T.ones(5, 2, 3))
        names.append(output.grad_fn.name())
        output.sum().backward()
        grads.append(layer.weight_ih_l0.grad.numpy())
    assert names[1] == names[0]
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)
