"""The random functional ops draw what torch 2.13 draws on CPU and compute what it computes from the draws.

Each op runs under the same seed in torch and in lazygrad; the values are compared exactly, and so is the next
``rand(3)``, which proves both consumed the same number of random words. Inputs come from ``rand``, which both
draw bit for bit. Where a value passes through a kernel lazygrad cannot round as torch does (torch's vector
``log``/``exp`` in softmax, BLAS matmuls in attention, XLA's fused multiply-add), the values are compared to
float32 rounding and the draws still exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")

Op = Callable[[Any], Any]


def _inputs(T: Any, *shape: int) -> Any:
    """Values in [-2, 2) with a few exact zeros: drawn by ``rand``, so both frameworks hold the same ones."""
    x = T.rand(*shape) * 4 - 2
    return x.masked_fill(x.abs() < 0.3, 0.0)


def _run(T: Any, op: Op, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """``op``'s results (as arrays) and the next ``rand(3)``, under ``seed``."""
    T.manual_seed(seed)
    out = op(T)
    results = out if isinstance(out, tuple) else (out,)
    return [_host(T, r) for r in results if r is not None], T.rand(3).numpy()


def _host(T: Any, t: Any) -> np.ndarray:
    """A host copy; bfloat16, which numpy lacks, widened exactly to float32 once computed (widened in the same
    program, XLA would drop the rounding to bfloat16 along with the pair of conversions)."""
    if t.dtype != T.bfloat16:
        return t.detach().numpy()
    return (t.detach().realize() if T is lazygrad else t.detach()).float().numpy()


def _compare(op: Op, exact: bool = True, seed: int = 0) -> None:
    expected, expected_next = _run(torch, op, seed)
    got, got_next = _run(lazygrad, op, seed)
    np.testing.assert_array_equal(got_next, expected_next)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape
        if exact:
            np.testing.assert_array_equal(g, e)
        else:
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def _F(T: Any) -> Any:
    return T.nn.functional


# Each case: the op, written once against the torch API.
DROPOUT_CASES: dict[str, Op] = {
    "dropout": lambda T: _F(T).dropout(_inputs(T, 3, 7), 0.3),
    "dropout_scale_rounded_in_float32": lambda T: _F(T).dropout(_inputs(T, 3, 7), 0.15),
    "dropout_float64": lambda T: _F(T).dropout(_inputs(T, 3, 7).double(), 0.45),
    "dropout_float16": lambda T: _F(T).dropout(_inputs(T, 3, 7).half(), 0.45),
    "dropout_bfloat16": lambda T: _F(T).dropout(_inputs(T, 3, 7).bfloat16(), 0.3),
    "dropout_p1_draws_nothing": lambda T: _F(T).dropout(_inputs(T, 3, 7), 1.0),
    "dropout_p0_draws_nothing": lambda T: _F(T).dropout(_inputs(T, 3, 7), 0.0),
    "dropout_eval_draws_nothing": lambda T: _F(T).dropout(_inputs(T, 3, 7), 0.5, training=False),
    "dropout_empty": lambda T: _F(T).dropout(T.rand(0, 3), 0.5),
    "dropout_p1_keeps_an_integer_dtype": lambda T: _F(T).dropout(T.arange(6), 1.0),
    "dropout_inplace": lambda T: _F(T).dropout(_inputs(T, 3, 7), 0.4, inplace=True),
    "dropout_module": lambda T: T.nn.Dropout(0.25)(_inputs(T, 4, 5)),
    "dropout_module_inplace": lambda T: T.nn.Dropout(0.25, inplace=True)(_inputs(T, 4, 5)),
    "dropout1d_module_unbatched": lambda T: T.nn.Dropout1d(0.5)(_inputs(T, 5, 3)),
    "dropout2d_module_unbatched": lambda T: T.nn.Dropout2d(0.5)(_inputs(T, 5, 2, 2)),
    "dropout3d_module_unbatched": lambda T: T.nn.Dropout3d(0.5)(_inputs(T, 4, 1, 2, 3)),
    "dropout1d": lambda T: _F(T).dropout1d(_inputs(T, 2, 3, 4), 0.4),
    "dropout1d_unbatched": lambda T: _F(T).dropout1d(_inputs(T, 3, 4), 0.4),
    "dropout1d_unbatched_inplace": lambda T: _F(T).dropout1d(_inputs(T, 3, 4), 0.4, inplace=True),
    "dropout1d_module": lambda T: T.nn.Dropout1d(0.5)(_inputs(T, 2, 5, 3)),
    "dropout2d": lambda T: _F(T).dropout2d(_inputs(T, 2, 3, 4, 2), 0.4),
    "dropout2d_unbatched_3d_as_1d": lambda T: _F(T).dropout2d(_inputs(T, 3, 4, 2), 0.4),
    "dropout2d_module": lambda T: T.nn.Dropout2d(0.5)(_inputs(T, 2, 5, 2, 2)),
    "dropout3d": lambda T: _F(T).dropout3d(_inputs(T, 2, 3, 2, 2, 2), 0.4),
    "dropout3d_unbatched": lambda T: _F(T).dropout3d(_inputs(T, 3, 2, 2, 2), 0.4),
    "dropout3d_module_inplace": lambda T: T.nn.Dropout3d(0.5, inplace=True)(_inputs(T, 2, 4, 1, 2, 3)),
}


def _with_input(module: Any, x: Any) -> tuple[Any, Any]:
    """The module's output and its input afterwards (changed only by an in-place module)."""
    return module(x), x


# Alpha dropout ends in ``input * noise + b``: XLA fuses that into one fma on the jax backend.
ALPHA_CASES: dict[str, Op] = {
    "alpha_dropout": lambda T: _F(T).alpha_dropout(_inputs(T, 3, 7), 0.3, True),
    "alpha_dropout_float64": lambda T: _F(T).alpha_dropout(_inputs(T, 3, 7).double(), 0.2, True),
    "alpha_dropout_bfloat16": lambda T: _F(T).alpha_dropout(_inputs(T, 3, 7).bfloat16(), 0.2, True),
    "alpha_dropout_default_is_eval": lambda T: _F(T).alpha_dropout(_inputs(T, 3, 7), 0.3),
    "alpha_dropout_p1_is_zero": lambda T: _F(T).alpha_dropout(_inputs(T, 3, 7), 1.0, True),
    "alpha_dropout_inplace": lambda T: _F(T).alpha_dropout(_inputs(T, 3, 7), 0.6, True, inplace=True),
    "alpha_dropout_module": lambda T: T.nn.AlphaDropout(0.3)(_inputs(T, 4, 4)),
    "alpha_dropout_module_ignores_inplace": lambda T: _with_input(
        T.nn.AlphaDropout(0.3, inplace=True), _inputs(T, 4, 4)
    ),
    "feature_alpha_dropout": lambda T: _F(T).feature_alpha_dropout(_inputs(T, 2, 3, 4), 0.3, True),
    "feature_alpha_dropout_module": lambda T: T.nn.FeatureAlphaDropout(0.5)(_inputs(T, 4, 3, 2)),
}

RRELU_CASES: dict[str, Op] = {
    "rrelu": lambda T: _F(T).rrelu(_inputs(T, 5, 6), training=True),
    "rrelu_float64_bounds": lambda T: _F(T).rrelu(_inputs(T, 5, 6).double(), 0.1, 0.9, training=True),
    "rrelu_bfloat16_product_rounded_twice": lambda T: _F(T).rrelu(_inputs(T, 5, 6).bfloat16(), training=True),
    "rrelu_eval": lambda T: _F(T).rrelu(_inputs(T, 5, 6)),
    "rrelu_inplace": lambda T: _F(T).rrelu_(_inputs(T, 5, 6), training=True),
    "rrelu_module": lambda T: T.nn.RReLU(0.2, 0.4)(_inputs(T, 5, 6)),
    "rrelu_nan_draws_nothing": lambda T: _F(T).rrelu(
        T.tensor([1.0, float("nan"), -1.0, 0.0, -0.0, 2.0]), training=True
    ),
}


@needs_torch
@pytest.mark.parametrize("name", DROPOUT_CASES)
def test_dropout_family_matches_torch(name: str) -> None:
    _compare(DROPOUT_CASES[name])


@needs_torch
@pytest.mark.parametrize("name", ALPHA_CASES)
def test_alpha_dropout_family_matches_torch(name: str, backend: str) -> None:
    _compare(ALPHA_CASES[name], exact=backend != "jax")


@needs_torch
@pytest.mark.parametrize("name", RRELU_CASES)
def test_rrelu_matches_torch(name: str) -> None:
    _compare(RRELU_CASES[name])


def _gradient(op: Callable[[Any, Any], Any], shape: tuple[int, ...]) -> Op:
    """The gradient ``op`` passes back to its input, for a fixed upstream gradient."""

    def run(T: Any) -> Any:
        x = _inputs(T, *shape).requires_grad_()
        out = op(T, x)
        out.backward(T.rand(*out.shape, dtype=out.dtype))
        return out, x.grad

    return run


GRADIENT_CASES: dict[str, Op] = {
    "dropout": _gradient(lambda T, x: _F(T).dropout(x, 0.3), (3, 5)),
    "dropout2d": _gradient(lambda T, x: _F(T).dropout2d(x, 0.3), (2, 3, 2, 2)),
    "rrelu": _gradient(lambda T, x: _F(T).rrelu(x, training=True), (3, 5)),
}


@needs_torch
@pytest.mark.parametrize("name", GRADIENT_CASES)
def test_gradients_through_the_noise_match_torch(name: str) -> None:
    _compare(GRADIENT_CASES[name])


def _laid_out(view: Callable[[Any], Any]) -> Op:
    """Dropout and alpha dropout of a view of a (2, 3, 4, 5) input."""

    def run(T: Any) -> Any:
        x = view(_inputs(T, 2, 3, 4, 5))
        return _F(T).dropout(x, 0.3), _F(T).alpha_dropout(x, 0.3, True)

    return run


# torch's noise is ``empty_like(input)``: laid out as the input is, and filled in its memory's order.
LAYOUT_CASES: dict[str, Op] = {
    "permuted": _laid_out(lambda x: x.permute(2, 0, 3, 1)),
    "transposed_slice": _laid_out(lambda x: x[:, ::2].transpose(1, 3)),
    "strided_slice": _laid_out(lambda x: x[:, ::2, 1:, ::3]),
    "expanded": _laid_out(lambda x: x[:, :1].expand(2, 3, 4, 5)),
    "size_one_axis_moved": _laid_out(lambda x: x[:, :1].transpose(0, 1)),
}


@needs_torch
@pytest.mark.parametrize("name", LAYOUT_CASES)
def test_dropout_noise_follows_the_input_layout(name: str, backend: str) -> None:
    _compare(LAYOUT_CASES[name], exact=backend != "jax")  # alpha dropout fuses into an fma on jax


@needs_torch
@pytest.mark.parametrize("view", ["permute", "transpose"])
def test_dropout_of_a_view_is_exact(view: str) -> None:
    def op(T: Any) -> Any:
        x = _inputs(T, 2, 3, 4)
        return _F(T).dropout(x.permute(2, 0, 1) if view == "permute" else x.transpose(0, 2), 0.4)

    _compare(op)


@needs_torch
@pytest.mark.parametrize("name", ["dropout", "alpha_dropout"])
def test_dropout_of_integers_draws_then_refuses(name: str) -> None:
    def op(T: Any) -> Any:
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            getattr(_F(T), name)(T.arange(6), 0.5, True)

    _compare(op)


@needs_torch
def test_inplace_dropout_writes_its_input() -> None:
    def op(T: Any) -> Any:
        x = _inputs(T, 3, 7)
        out = _F(T).dropout(x, 0.4, inplace=True)
        return out, x

    _compare(op)


GUMBEL_CASES: dict[str, Op] = {
    "soft": lambda T: _F(T).gumbel_softmax(_inputs(T, 4, 6)),
    "soft_tau_dim0": lambda T: _F(T).gumbel_softmax(_inputs(T, 4, 6), tau=2.0, dim=0),
    "soft_float64": lambda T: _F(T).gumbel_softmax(_inputs(T, 4, 6).double(), tau=0.5),
}


@needs_torch
@pytest.mark.parametrize("name", GUMBEL_CASES)
def test_gumbel_softmax_draws_torch_noise(name: str) -> None:
    _compare(GUMBEL_CASES[name], exact=False)


@needs_torch
def test_hard_gumbel_softmax_picks_torch_categories() -> None:
    def op(T: Any) -> Any:
        return _F(T).gumbel_softmax(_inputs(T, 6, 5), tau=0.5, hard=True).argmax(-1)

    _compare(op)


def _attention_weights(T: Any, dropout_p: float) -> Any:
    """SDPA whose value is the identity, so its output is the dropped-out attention weights themselves."""
    q, k = _inputs(T, 2, 3, 4, 5), _inputs(T, 2, 3, 4, 5)
    return _F(T).scaled_dot_product_attention(q, k, T.eye(4).expand(2, 3, 4, 4), dropout_p=dropout_p)


@needs_torch
def test_sdpa_dropout_zeroes_what_torch_zeroes() -> None:
    def op(T: Any) -> Any:
        return _attention_weights(T, 0.4) == 0

    _compare(op)


@needs_torch
def test_sdpa_dropout_values_match_torch() -> None:
    def op(T: Any) -> Any:
        q, k, v = (_inputs(T, 2, 3, 4, 5) for _ in range(3))
        return _F(T).scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True)

    _compare(op, exact=False)


def _attention_module(need_weights: bool) -> Op:
    def run(T: Any) -> Any:
        attention = T.nn.MultiheadAttention(8, 2, dropout=0.3)
        x = _inputs(T, 3, 2, 8)
        return attention(x, x, x, need_weights=need_weights)

    return run


@needs_torch
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_dropout_matches_torch(need_weights: bool) -> None:
    _compare(_attention_module(need_weights), exact=False)


@needs_torch
def test_transformer_encoder_layer_dropout_matches_torch() -> None:
    def op(T: Any) -> Any:
        layer = T.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.2)
        return layer(_inputs(T, 3, 2, 8))

    _compare(op, exact=False)


# ---- without torch: values torch 2.13 gives ------------------------------------------------------------------


def test_dropout_values_are_torchs() -> None:
    lazygrad.manual_seed(0)
    out = lazygrad.nn.functional.dropout(lazygrad.ones(2, 4), 0.15)
    kept = np.float32(1.1764705181121826)  # 1 / float32(0.85), rounded to float32: not float32(1 / 0.85)
    np.testing.assert_array_equal(out.numpy(), [[0, kept, kept, 0], [kept, kept, kept, kept]])
    np.testing.assert_array_equal(lazygrad.rand(2).numpy(), np.float32([0.6976675987243652, 0.800011396408081]))


def test_alpha_dropout_values_are_torchs() -> None:
    lazygrad.manual_seed(0)
    out = lazygrad.nn.functional.alpha_dropout(lazygrad.ones(2, 3), 0.3, True)
    dropped, kept = np.float32(-1.059548258781433), np.float32(1.315044641494751)
    np.testing.assert_array_equal(out.numpy(), [[dropped, dropped, kept], [dropped, kept, dropped]])


def test_gumbel_softmax_values_are_torchs() -> None:
    lazygrad.manual_seed(0)
    logits = lazygrad.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
    soft = lazygrad.nn.functional.gumbel_softmax(logits)
    hard = lazygrad.nn.functional.gumbel_softmax(logits, hard=True)
    expected = [
        [0.01964656636118889, 0.1522790491580963, 0.8280743956565857],
        [0.19737733900547028, 0.4831247329711914, 0.3194979429244995],
    ]
    np.testing.assert_allclose(soft.detach().numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(hard.detach().numpy(), [[0, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(lazygrad.rand(2).numpy(), np.float32([0.41940832138061523, 0.5529070496559143]))


def test_rrelu_draws_for_float32_float64_and_bfloat16_only() -> None:
    x = lazygrad.ones(3, dtype=lazygrad.float16)
    with pytest.raises(NotImplementedError, match="\"rrelu_with_noise_out_cpu\" not implemented for 'Half'"):
        lazygrad.nn.functional.rrelu(x, training=True)


def test_feature_dropout_needs_two_dimensions_only_when_it_draws() -> None:
    x = lazygrad.rand(3)
    assert lazygrad.nn.functional.feature_alpha_dropout(x, 0.5, False) is x
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions in the input"):
        lazygrad.nn.functional.feature_alpha_dropout(x, 0.5, True)


# ---- compiled training steps redraw the noise --------------------------------------------------------------


def _dropout_training(compiled: bool) -> list[np.ndarray]:
    lazygrad.manual_seed(1)
    model = lazygrad.nn.Sequential(lazygrad.nn.Linear(4, 6), lazygrad.nn.Dropout(0.4), lazygrad.nn.Linear(6, 1))
    opt = lazygrad.optim.SGD(model.parameters(), lr=0.1)
    x = lazygrad.rand(5, 4)

    def step(x: lazygrad.Tensor) -> lazygrad.Tensor:
        opt.zero_grad()
        loss = model(x).square().mean()
        loss.backward()
        opt.step()
        return loss

    run = lazygrad.compile(step) if compiled else step
    losses = [run(x).detach().numpy() for _ in range(3)]
    return [*losses, *(p.detach().numpy() for p in model.parameters()), lazygrad.rand(3).numpy()]


def test_compiled_dropout_training_step_is_bit_identical() -> None:
    eager, compiled = _dropout_training(False), _dropout_training(True)
    assert not np.array_equal(eager[0], eager[1])  # fresh noise every step
    for e, c in zip(eager, compiled, strict=True):
        np.testing.assert_array_equal(c, e)
