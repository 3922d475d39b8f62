"""Attention: scaled_dot_product_attention against a numpy oracle, finite differences, jax.grad and torch;
MultiheadAttention and the Transformer layers against torch with its weights, a numpy oracle and finite
differences; masks, repr, parameter names, dropout and torch's error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import GRAD_TOLERANCE, HAS_TORCH, REFERENCE, _central_differences, assert_close, check_op
from module_oracle import check_module, outputs

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
# torch's TransformerEncoder notes that its nested-tensor inference path is off (there is none here)
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
if HAS_TORCH:
    import torch

DTYPES = [np.float32, np.float64]


def rand(*shape: int, seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


CAUSAL_3x5 = np.tril(np.ones((3, 5), bool))
MASK_WITH_EMPTY_ROW = np.array([[False] * 5, [True, False, True, False, True], [True] * 5])


# ---- scaled_dot_product_attention ------------------------------------------------------------------------


def sdpa_oracle(m, q, k, v, mask=None, is_causal=False, scale=None, groups=1):
    """softmax(q k^T * scale + mask) v, with zeros for queries whose keys are all masked (m: numpy or jax.numpy)."""
    k, v = m.repeat(k, groups, axis=-3), m.repeat(v, groups, axis=-3)
    scores = q @ m.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        mask = np.tril(np.ones(scores.shape[-2:], bool))
    if mask is not None:
        scores = m.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    peak = scores.max(-1, keepdims=True)
    e = m.exp(scores - m.where(m.isfinite(peak), peak, 0))
    total = e.sum(-1, keepdims=True)
    return e / m.where(total == 0, 1, total) @ v


# (q, k, v shapes, extra inputs, keyword arguments); values have their own width (3), as torch's math path
SDPA_CASES = {
    "plain": ((2, 3, 4), (2, 5, 4), (2, 5, 3), [], {}),
    "bool-mask-with-an-all-masked-row": ((2, 3, 4), (2, 5, 4), (2, 5, 3), [MASK_WITH_EMPTY_ROW], {}),
    "float-mask": ((2, 3, 4), (2, 5, 4), (2, 5, 3), ["float"], {}),
    "causal-scaled": ((2, 3, 4), (2, 5, 4), (2, 5, 3), [], {"is_causal": True, "scale": 0.3}),
    "grouped-query": ((4, 3, 4), (2, 5, 4), (2, 5, 3), [], {"enable_gqa": True}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SDPA_CASES)
def test_scaled_dot_product_attention(case, dtype):
    q, k, v, extra, kwargs = SDPA_CASES[case]
    masks = [rand(3, 5, seed=3, dtype=dtype) if isinstance(m, str) else m for m in extra]
    groups = q[0] // k[0]

    def fn(T, *tensors):
        return T.nn.functional.scaled_dot_product_attention(*tensors, **kwargs)

    def oracle(m, q, k, v, *mask):
        return sdpa_oracle(m, q, k, v, *mask, is_causal=kwargs.get("is_causal", False), scale=kwargs.get("scale"),
                           groups=groups)

    check_op(fn, oracle, rand(*q, dtype=dtype), rand(*k, seed=1, dtype=dtype), rand(*v, seed=2, dtype=dtype),
             *masks)


@pytest.mark.parametrize("mask", ["bool", "float"])
def test_a_mask_and_is_causal_apply_together_where_torch_runs_its_flash_kernel(mask):
    """On 4-D inputs without dropout torch's CPU kernel takes both (its math path refuses them: see ERRORS)."""
    masks = {"bool": np.array([[True, False, True, True]] * 4), "float": rand(4, 4, seed=3)}
    causal = np.tril(np.ones((4, 4), bool))
    both = masks[mask] & causal if mask == "bool" else np.where(causal, masks[mask], -np.inf)

    def fn(T, q, k, v):  # the mask is a constant: one that requires grad sends torch down its math path
        m = T.tensor(masks[mask]) if mask == "bool" else T.tensor(masks[mask], dtype=q.dtype)
        return T.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True)

    check_op(fn, lambda m, q, k, v: sdpa_oracle(m, q, k, v, both), rand(1, 2, 4, 3), rand(1, 2, 4, 3, seed=1),
             rand(1, 2, 4, 3, seed=2))


def test_attention_to_no_key_gives_zeros_and_zero_gradient():
    q = lazygrad.tensor(rand(3, 4), requires_grad=True)
    out = F.scaled_dot_product_attention(q, lazygrad.tensor(rand(5, 4, seed=1)), lazygrad.tensor(rand(5, 2, seed=2)),
                                         attn_mask=lazygrad.tensor(MASK_WITH_EMPTY_ROW))
    out.sum().backward()
    assert np.array_equal(out.detach().numpy()[0], [0.0, 0.0])
    assert np.array_equal(q.grad.numpy()[0], np.zeros(4)) and np.isfinite(q.grad.numpy()).all()


# ---- MultiheadAttention ----------------------------------------------------------------------------------

PADDING = np.array([[False, False, True], [False, False, False]])  # (batch 2, keys 3): True = ignore the key
FUTURE = np.triu(np.ones((3, 3), bool), 1)  # True = may not attend


def _mha_cases(dtype):
    x = rand(3, 2, 8, dtype=dtype)
    return {
        "self-attention": (lambda m: m.MultiheadAttention(8, 2), [x], lambda lib, mod, t: mod(t[0], t[0], t[0])),
        "batch-first-bool-masks-per-head-weights": (
            lambda m: m.MultiheadAttention(8, 2, batch_first=True), [rand(2, 3, 8, dtype=dtype), PADDING, FUTURE],
            lambda lib, mod, t: mod(t[0], t[0], t[0], key_padding_mask=t[1], attn_mask=t[2],
                                    average_attn_weights=False)),
        "kdim-vdim-bias-kv-zero-attn-float-mask": (
            lambda m: m.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True, add_zero_attn=True),
            [x, rand(4, 2, 5, seed=1, dtype=dtype), rand(4, 2, 6, seed=2, dtype=dtype),
             rand(3, 4, seed=3, dtype=dtype)],
            lambda lib, mod, t: mod(t[0], t[1], t[2], attn_mask=t[3])),
        "unbatched-cross-attention-no-bias-no-weights": (
            lambda m: m.MultiheadAttention(8, 2, bias=False), [x[:, 0], rand(4, 8, seed=1, dtype=dtype)],
            lambda lib, mod, t: mod(t[0], t[1], t[1], need_weights=False)),
        "causal-hint-without-weights": (
            lambda m: m.MultiheadAttention(8, 2), [x, FUTURE],
            lambda lib, mod, t: mod(t[0], t[0], t[0], attn_mask=t[1], is_causal=True, need_weights=False)),
    }


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(_mha_cases(np.float32)))
def test_multihead_attention_matches_torch(case, dtype):
    make, inputs, call = _mha_cases(dtype)[case]
    check_module(make, call, *inputs)


def np_mha(module: nn.MultiheadAttention, x: np.ndarray, padding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Self-attention of sequence-first ``x`` (L, N, E) from the module's weights; (output, head-averaged weights)."""
    p = {k: v.numpy() for k, v in module.state_dict().items()}
    heads, (length, batch, embed) = module.num_heads, x.shape
    qkv = x @ p["in_proj_weight"].T + p["in_proj_bias"]
    q, k, v = (a.reshape(length, batch, heads, -1).transpose(1, 2, 0, 3) for a in np.split(qkv, 3, -1))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(embed // heads) + np.where(padding, -np.inf, 0)[:, None, None]
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    out = (weights @ v).transpose(2, 0, 1, 3).reshape(length, batch, embed)
    return out @ p["out_proj.weight"].T + p["out_proj.bias"], weights.mean(1)


def test_multihead_attention_matches_numpy_oracle():
    mha = nn.MultiheadAttention(8, 2)
    with lazygrad.no_grad():
        mha.in_proj_bias.copy_(lazygrad.tensor(rand(24, seed=5, dtype=np.float32)))  # torch's init zeroes it
    x = rand(3, 2, 8, dtype=np.float32)
    out, weights = mha(*[lazygrad.tensor(x)] * 3, key_padding_mask=lazygrad.tensor(PADDING))
    want_out, want_weights = np_mha(mha, x, PADDING)
    assert_close(out, want_out)
    assert_close(weights, want_weights)


def test_multihead_attention_parameters_and_init():
    mha = nn.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True)
    assert {n: tuple(p.shape) for n, p in mha.named_parameters()} == {
        "q_proj_weight": (8, 8), "k_proj_weight": (8, 5), "v_proj_weight": (8, 6), "in_proj_bias": (24,),
        "bias_k": (1, 1, 8), "bias_v": (1, 1, 8), "out_proj.weight": (8, 8), "out_proj.bias": (8,)}
    assert not mha.in_proj_bias.detach().numpy().any() and not mha.out_proj.bias.detach().numpy().any()
    bound = math.sqrt(6 / (8 + 5))  # xavier-uniform of k_proj_weight
    assert 0 < np.abs(mha.k_proj_weight.detach().numpy()).max() <= bound


# ---- Transformer layers ----------------------------------------------------------------------------------


def _transformer_cases(dtype):
    x, memory = rand(3, 2, 8, dtype=dtype), rand(4, 2, 8, seed=1, dtype=dtype)
    memory_padding = np.array([[False, False, False, True], [False, True, False, False]])
    return {
        "encoder-layer-gelu-padding": (
            lambda m: m.TransformerEncoderLayer(8, 2, 16, 0.0, activation="gelu"), [x, PADDING],
            lambda lib, mod, t: mod(t[0], src_key_padding_mask=t[1])),
        "encoder-layer-norm-first-batch-first-causal": (
            lambda m: m.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True, norm_first=True), [x],
            lambda lib, mod, t: mod(t[0], src_mask=lib.nn.Transformer.generate_square_subsequent_mask(
                2, dtype=t[0].dtype), is_causal=True)),
        "decoder-layer-masks": (
            lambda m: m.TransformerDecoderLayer(8, 2, 16, 0.0), [x, memory, FUTURE, memory_padding],
            lambda lib, mod, t: mod(t[0], t[1], tgt_mask=t[2], memory_key_padding_mask=t[3])),
        "decoder-layer-norm-first-module-activation": (
            lambda m: m.TransformerDecoderLayer(8, 2, 16, 0.0, activation=m.GELU(), norm_first=True, bias=False),
            [x, memory], lambda lib, mod, t: mod(t[0], t[1])),
        "encoder-stack-with-norm": (
            lambda m: m.TransformerEncoder(m.TransformerEncoderLayer(8, 2, 16, 0.0), 2, norm=m.LayerNorm(8)), [x],
            lambda lib, mod, t: mod(t[0])),
        "transformer": (
            lambda m: m.Transformer(8, 2, 1, 1, 16, 0.0), [memory, x],
            lambda lib, mod, t: mod(t[0], t[1], tgt_mask=mod.generate_square_subsequent_mask(3, dtype=t[0].dtype))),
    }


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(_transformer_cases(np.float32)))
def test_transformer_layer_matches_torch(case, dtype):
    make, inputs, call = _transformer_cases(dtype)[case]
    check_module(make, call, *inputs)


@pytest.mark.parametrize("case", ["encoder-layer-gelu-padding", "decoder-layer-masks"])
def test_transformer_input_gradients_match_finite_differences(case):
    make, inputs, call = _transformer_cases(np.float64)[case]
    module = make(nn).double()
    lazygrad.realize(*module.parameters())  # see test_rnn: a cast of lazy float32 weights must be stored first
    floats = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]

    def fn(lib, *tensors):
        return outputs(call(lazygrad, module, list(tensors)))

    leaves = [lazygrad.tensor(x, requires_grad=i in floats) for i, x in enumerate(inputs)]
    out = fn(lazygrad, *leaves)
    cts = [rand(*o.shape, seed=7) for o in out]
    sum((o * lazygrad.tensor(ct)).sum() for o, ct in zip(out, cts)).backward()
    module.to(REFERENCE)  # the differences run on the reference backend, so its weights go there
    for i, want in zip(floats, _central_differences(fn, inputs, floats, cts)):
        assert_close(leaves[i].grad, want, *GRAD_TOLERANCE)


def test_transformer_is_its_decoder_over_its_encoder():
    model = nn.Transformer(8, 2, 2, 1, 16, 0.0)
    src = lazygrad.tensor(rand(4, 2, 8, dtype=np.float32))
    tgt = lazygrad.tensor(rand(3, 2, 8, seed=1, dtype=np.float32))
    mask = model.generate_square_subsequent_mask(3)
    memory = src
    for layer in model.encoder.layers:
        memory = layer(memory)
    out = model.decoder.layers[0](tgt, model.encoder.norm(memory), tgt_mask=mask)
    assert_close(model(src, tgt, tgt_mask=mask), model.decoder.norm(out))


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    inf = -math.inf
    assert mask.dtype is lazygrad.float32
    assert mask.tolist() == [[0.0, inf, inf], [0.0, 0.0, inf], [0.0, 0.0, 0.0]]
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=lazygrad.float64).dtype is lazygrad.float64


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 2)
    assert encoder.layers[0].linear1.weight is not encoder.layers[1].linear1.weight
    assert len(list(encoder.parameters())) == 2 * len(list(layer.parameters()))


def test_dropout_is_active_in_training_only():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = lazygrad.tensor(rand(3, 2, 8, dtype=np.float32))
    trained = layer(x).detach().numpy()
    layer.eval()
    evaluated = layer(x).detach().numpy()
    assert np.array_equal(evaluated, layer(x).detach().numpy())
    assert not np.allclose(trained, evaluated)


REPRS = [
    "MultiheadAttention(8, 2, kdim=5, vdim=6, bias=False)",
    "TransformerEncoderLayer(8, 2, 16, activation=GELU())",
    "TransformerDecoderLayer(8, 2, 16, norm_first=True, bias=False)",
    "TransformerEncoder(TransformerEncoderLayer(8, 2, 16), 2)",
    "Transformer(8, 2, 1, 2, 16)",
]


@needs_torch
@pytest.mark.parametrize("expr", REPRS)
def test_repr_and_parameters_match_torch(expr):
    ours, theirs = eval(expr, vars(nn)), eval(expr, vars(torch.nn))
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


# ---- errors: torch's messages ----------------------------------------------------------------------------


def _call_sdpa_with_mask_and_causal(lib):
    q = lib.zeros(2, 3, 4)
    return lib.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=lib.ones(3, 3).bool(), is_causal=True)


ERRORS = [
    (_call_sdpa_with_mask_and_causal, RuntimeError,
     "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"),
    (lambda lib: lib.nn.MultiheadAttention(8, 3), AssertionError, "embed_dim must be divisible by num_heads"),
    (lambda lib: lib.nn.MultiheadAttention(0, 2), ValueError,
     "embed_dim and num_heads must be greater than 0, got embed_dim=0 and num_heads=2 instead"),
    (lambda lib: lib.nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError,
     "activation should be relu/gelu, not tanh"),
    (lambda lib: lib.nn.MultiheadAttention(4, 2)(*[lib.zeros(3, 1, 4)] * 3, is_causal=True), RuntimeError,
     "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
     "`generate_square_subsequent_mask` to create this mask."),
    (lambda lib: lib.nn.MultiheadAttention(4, 2)(*[lib.zeros(3, 1, 4)] * 3, key_padding_mask=lib.zeros(1, 3).long()),
     AssertionError, "only bool and floating types of key_padding_mask are supported"),
    (lambda lib: lib.nn.MultiheadAttention(4, 2)(*[lib.zeros(3, 1, 4)] * 3, attn_mask=lib.zeros(3, 4)), RuntimeError,
     "The shape of the 2D attn_mask is {size}([3, 4]), but should be (3, 3)."),
    (lambda lib: lib.nn.Transformer(4, 2, 1, 1, 8)(lib.zeros(3, 1, 4), lib.zeros(3, 2, 4)), RuntimeError,
     "the batch number of src and tgt must be equal"),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_errors_have_torch_messages(call, error, message):
    with pytest.raises(error) as info:
        call(lazygrad)
    assert str(info.value) == message.format(size="torch.Size")
    if HAS_TORCH:
        with pytest.raises(error) as theirs:
            call(torch)
        assert str(theirs.value) == message.format(size="torch.Size")


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("options", [{}, {"batch_first": True}, {"batch_first": True, "norm_first": True},
                                     {"batch_first": True, "activation": "gelu"}, {"batch_first": True, "nhead": 1}])
def test_encoder_warns_as_torch_does_when_its_fast_path_is_ruled_out(options: dict) -> None:
    """torch's encoder warns (at the user's line) why its nested-tensor path is off, and sets its flag alike."""
    import warnings

    import torch

    results = []
    for T in (torch, lazygrad):
        layer = T.nn.TransformerEncoderLayer(**{"d_model": 8, "nhead": 2, "dim_feedforward": 16, **options})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encoder = T.nn.TransformerEncoder(layer, 2)
        results.append(([(str(w.message), w.filename) for w in caught], encoder.use_nested_tensor))
    assert results[1] == results[0]
