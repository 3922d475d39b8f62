"""Recurrent layers: RNN, LSTM, GRU and their cells against torch (same weights), a numpy oracle, and
finite differences; parameter names, init, repr, dropout between layers and torch's error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import GRAD_TOLERANCE, HAS_TORCH, REFERENCE, _central_differences, assert_close
from module_oracle import check_module, outputs

import lazygrad
from lazygrad import nn

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN:UserWarning")
if HAS_TORCH:
    import torch

DTYPES = [np.float32, np.float64]


def rand(*shape: int, seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---- the numpy oracle: torch's equations, one step at a time ------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    return x @ w.T + (0 if b is None else b)


def np_step(mode: str, x: np.ndarray, state: tuple, p: dict[str, np.ndarray]) -> tuple:
    """One step of ``mode`` from the weights ``p`` (keys weight_ih, weight_hh, bias_ih, bias_hh, weight_hr)."""
    gi, gh = _affine(x, p["weight_ih"], p.get("bias_ih")), _affine(state[0], p["weight_hh"], p.get("bias_hh"))
    if mode in ("tanh", "relu"):
        pre = gi + gh
        return (np.tanh(pre) if mode == "tanh" else np.maximum(pre, 0),)
    if mode == "GRU":
        (ir, iz, i_n), (hr, hz, hn) = np.split(gi, 3, -1), np.split(gh, 3, -1)
        r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
        n = np.tanh(i_n + r * hn)
        return ((1 - z) * n + z * state[0],)
    i, f, g, o = np.split(gi + gh, 4, -1)
    c = _sigmoid(f) * state[1] + _sigmoid(i) * np.tanh(g)
    h = _sigmoid(o) * np.tanh(c)
    return (h if "weight_hr" not in p else h @ p["weight_hr"].T, c)


def np_layer(mode: str, module: nn.RNNBase, x: np.ndarray, states: list[np.ndarray]) -> tuple:
    """A time-major, batched multi-layer run of ``module``'s weights; returns (output, *final states)."""
    params = {k: v.numpy() for k, v in module.state_dict().items()}
    directions = 2 if module.bidirectional else 1
    finals: list[tuple] = []
    for layer in range(module.num_layers):
        outs = []
        for d in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            p = {k.removesuffix(suffix): v for k, v in params.items() if k.endswith(suffix)}
            state = tuple(s[layer * directions + d] for s in states)
            hs = []
            for t in (range(len(x))[::-1] if d else range(len(x))):
                state = np_step(mode, x[t], state, p)
                hs.append(state[0])
            outs.append(np.stack(hs[::-1] if d else hs))
            finals.append(state)
        x = np.concatenate(outs, -1)
    return (x, *(np.stack(s) for s in zip(*finals)))


# ---- against torch ---------------------------------------------------------------------------------------

# (constructor, input shape, initial state shapes): small, fixed shapes (each is a program to compile)
LAYERS = {
    "lstm-2-layers-bidirectional-batch-first": (
        lambda m: m.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True), (2, 3, 3), [(4, 2, 4)] * 2),
    "lstm-projected-unbatched": (lambda m: m.LSTM(3, 4, proj_size=2), (5, 3), [(1, 2), (1, 4)]),
    "gru-2-layers-no-bias": (lambda m: m.GRU(3, 4, num_layers=2, bias=False), (4, 2, 3), [(2, 2, 4)]),
    "rnn-relu-bidirectional": (lambda m: m.RNN(3, 4, nonlinearity="relu", bidirectional=True), (4, 2, 3), []),
}


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYERS)
def test_layer_matches_torch(case, dtype):
    make, x_shape, state_shapes = LAYERS[case]
    inputs = [rand(*x_shape, dtype=dtype)] + [rand(*s, seed=i + 1, dtype=dtype) for i, s in enumerate(state_shapes)]

    def call(lib, module, tensors):
        x, *states = tensors
        hx = None if not states else (tuple(states) if len(states) == 2 else states[0])
        return module(x, hx)

    check_module(make, call, *inputs)


CELLS = {
    "rnn-cell-tanh": lambda m: m.RNNCell(3, 4),
    "rnn-cell-relu-no-bias": lambda m: m.RNNCell(3, 4, bias=False, nonlinearity="relu"),
    "lstm-cell": lambda m: m.LSTMCell(3, 4),
    "gru-cell": lambda m: m.GRUCell(3, 4),
}


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CELLS)
def test_cell_matches_torch(case, dtype):
    def call(lib, module, tensors):
        x, h, c = tensors
        return module(x, (h, c)) if isinstance(module, lib.nn.LSTMCell) else module(x, h)

    check_module(CELLS[case], call, rand(2, 3, dtype=dtype), rand(2, 4, seed=1, dtype=dtype),
                 rand(2, 4, seed=2, dtype=dtype))


@needs_torch
def test_unbatched_cell_without_state_matches_torch():
    check_module(lambda m: m.LSTMCell(3, 4), lambda lib, module, t: module(t[0]), rand(3))


@needs_torch
def test_two_layer_dropout_of_one_matches_torch_in_training():
    # p=1 zeroes the first layer's output: deterministic, so torch's training mode can be compared
    check_module(lambda m: m.GRU(3, 4, num_layers=2, dropout=1.0), lambda lib, module, t: module(t[0]), rand(3, 1, 3))


REPRS = [
    "LSTM(10, 20, num_layers=2, batch_first=True)",
    "LSTM(3, 4, proj_size=2, bidirectional=True, bias=False)",
    "GRU(3, 4, num_layers=3, dropout=0.5, bidirectional=True)",
    "RNN(3, 4, 2, 'relu', False)",
    "RNNCell(3, 4, nonlinearity='relu', bias=False)",
    "LSTMCell(3, 4)",
    "GRUCell(3, 4, bias=False)",
]


@needs_torch
@pytest.mark.parametrize("expr", REPRS)
def test_repr_and_parameters_match_torch(expr):
    ours, theirs = eval(expr, vars(nn)), eval(expr, vars(torch.nn))
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ---- without torch ---------------------------------------------------------------------------------------


def test_lstm_parameter_names_and_shapes():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {n: tuple(p.shape) for n, p in lstm.named_parameters()}
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert shapes["weight_ih_l1_reverse"] == (16, 4)  # input: both directions' projected outputs
    assert shapes["weight_hh_l1_reverse"] == (16, 2)
    assert shapes["weight_hr_l1_reverse"] == (2, 4)
    assert len(shapes) == 20 and len(lstm.all_weights) == 4


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    gru = nn.GRU(3, 16)
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in gru.parameters()])
    assert np.abs(values).max() <= bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)  # the spread of U(-b, b)


@pytest.mark.parametrize("make, mode", [
    (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True), "LSTM"),
    (lambda: nn.LSTM(3, 4, proj_size=2), "LSTM"),
    (lambda: nn.GRU(3, 4, bias=False), "GRU"),
    (lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu"), "relu"),
    (lambda: nn.RNN(3, 4, bidirectional=True), "tanh"),
])
def test_layer_matches_numpy_oracle(make, mode):
    module = make()
    x = rand(4, 2, 3, dtype=np.float32)
    out = module(lazygrad.tensor(x))
    h0 = [np.zeros(tuple(s.shape), np.float32) for s in outputs(out[1])]
    for got, want in zip(outputs(out), np_layer(mode, module, x, h0)):
        assert_close(got, want)


@pytest.mark.parametrize("cell, mode", [(nn.RNNCell, "tanh"), (nn.LSTMCell, "LSTM"), (nn.GRUCell, "GRU")])
def test_cell_step_matches_numpy_oracle(cell, mode):
    module = cell(3, 4)
    p = {k: v.numpy() for k, v in module.state_dict().items()}
    x, h, c = rand(2, 3, dtype=np.float32), rand(2, 4, seed=1, dtype=np.float32), rand(2, 4, seed=2, dtype=np.float32)
    state = (lazygrad.tensor(h), lazygrad.tensor(c))
    got = module(lazygrad.tensor(x), state if mode == "LSTM" else state[0])
    for g, want in zip(outputs(got), np_step(mode, x, (h, c), p)):
        assert_close(g, want)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_input_and_state_gradients_match_finite_differences(name):
    module = getattr(nn, name)(2, 3).double()
    # The weights are float32 draws cast to float64 lazily. Realize them now: under jax the program that
    # first computes them may use them rounded differently (~1e-9) from the values it stores, which is
    # invisible in float32 but not to finite differences taken across programs.
    lazygrad.realize(*module.parameters())
    inputs = [rand(3, 1, 2)] + [rand(1, 1, 3, seed=i + 1) for i in range(2 if name == "LSTM" else 1)]

    def fn(lib, x, *states):
        return outputs(module(x, tuple(states) if name == "LSTM" else states[0]))

    leaves = [lazygrad.tensor(a, requires_grad=True) for a in inputs]
    outs = fn(lazygrad, *leaves)
    cts = [rand(*o.shape, seed=10 + i) for i, o in enumerate(outs)]
    sum((o * lazygrad.tensor(ct)).sum() for o, ct in zip(outs, cts)).backward()
    module.to(REFERENCE)  # the differences run on the reference backend, so its weights go there
    numeric = _central_differences(fn, inputs, list(range(len(inputs))), cts)
    for leaf, want in zip(leaves, numeric):
        assert_close(leaf.grad, want, *GRAD_TOLERANCE)


def test_dropout_applies_between_layers_in_training_only():
    rnn = nn.GRU(3, 4, num_layers=2, dropout=1.0)
    x = lazygrad.tensor(rand(3, 1, 3, dtype=np.float32))
    top = nn.GRU(4, 4)
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in rnn.state_dict().items() if "_l1" in k})
    trained = rnn(x)[0]
    assert_close(trained, top(lazygrad.zeros(3, 1, 4))[0])  # the second layer saw zeros
    rnn.eval()
    assert not np.allclose(rnn(x)[0].detach().numpy(), trained.detach().numpy())


def weight_dropped_lstm(T, weights):
    """AWD-LSTM's weight drop: the parameter is removed, and a scaled copy of a raw weight (a plain tensor, with
    its history) is set as the attribute before the call. Returns the output and the raw weight's gradient."""
    lstm = T.nn.LSTM(3, 4)
    lstm.load_state_dict({k: T.tensor(v) for k, v in weights.items()})
    raw = T.nn.Parameter(lstm.weight_hh_l0.detach().clone())
    del lstm._parameters["weight_hh_l0"]
    lstm.weight_hh_l0 = raw * 0.5
    out, _ = lstm(T.tensor(rand(5, 2, 3, dtype=np.float32)))
    (out * out).sum().backward()
    return out, raw.grad


@needs_torch
def test_a_weight_replaced_by_a_plain_tensor_is_the_one_used():
    weights = {k: v.numpy() for k, v in nn.LSTM(3, 4).state_dict().items()}
    ours = weight_dropped_lstm(lazygrad, weights)
    for got, want in zip(ours, weight_dropped_lstm(torch, weights)):
        assert_close(got, want)
    assert float(ours[1].abs().sum()) > 0


@pytest.mark.backend_agnostic
def test_flat_weights_are_listed_in_torchs_order():
    """Weight-dropping wrappers written for torch find the weights by ``_flat_weights_names``."""
    lstm = nn.LSTM(2, 4, num_layers=2, bidirectional=True, proj_size=3)
    assert [w is getattr(lstm, n) for w, n in zip(lstm._flat_weights, lstm._flat_weights_names)] == [True] * 20
    if HAS_TORCH:
        ours = lstm._flat_weights_names
        assert ours == torch.nn.LSTM(2, 4, num_layers=2, bidirectional=True, proj_size=3)._flat_weights_names


def test_flatten_parameters_is_a_no_op():
    lstm = nn.LSTM(2, 3)
    before = {k: v.numpy() for k, v in lstm.state_dict().items()}
    lstm.flatten_parameters()
    assert all(np.array_equal(before[k], v.numpy()) for k, v in lstm.state_dict().items())


# ---- errors: torch's messages ----------------------------------------------------------------------------

ERRORS = [
    ("LSTM(3, 4)", [(2, 2, 2, 3)], ValueError, "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    ("RNN(3, 4)", [(2,)], ValueError, "RNN: Expected input to be 2D or 3D, got 1D tensor instead"),
    ("GRU(3, 4)", [(5, 2, 3), (2, 4)], RuntimeError,
     "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
    ("LSTM(3, 4)", [(5, 3), (1, 1, 4), (1, 4)], RuntimeError,
     "For unbatched 2-D input, hx and cx should also be 2-D but got (3-D, 2-D) tensors"),
    ("LSTM(3, 4)", [(5, 2, 2)], RuntimeError, "input.size(-1) must be equal to input_size. Expected 3, got 2"),
    ("GRU(3, 4, 2)", [(5, 2, 3), (1, 2, 4)], RuntimeError, "Expected hidden size (2, 2, 4), got [1, 2, 4]"),
    ("LSTM(3, 4)", [(5, 2, 3), (1, 2, 4), (1, 3, 4)], RuntimeError,
     "Expected hidden[1] size (1, 2, 4), got [1, 3, 4]"),
    ("LSTMCell(3, 4)", [(2, 2, 3)], ValueError, "LSTMCell: Expected input to be 1D or 2D, got 3D instead"),
    ("GRUCell(3, 4)", [(2, 5)], RuntimeError, "input has inconsistent input_size: got 5 expected 3"),
    ("RNNCell(3, 4)", [(2, 3), (3, 4)], RuntimeError, "Input batch size 2 doesn't match hidden0 batch size 3"),
    # h alone where (h, c) is expected: indexed as the pair, never taken as two rows of h
    ("LSTMCell(3, 4)", [(2, 3), (2, 4)], TypeError,
     "lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not Tensor"),
    ("LSTMCell(3, 4)", [(3,), (1, 4)], IndexError, "index 1 is out of bounds for dimension 0 with size 1"),
    ("LSTM(3, 4)", [(5, 2, 3), (1, 2, 4)], IndexError, "index 1 is out of bounds for dimension 0 with size 1"),
]


@pytest.mark.parametrize("expr, shapes, error, message", ERRORS)
def test_forward_errors_have_torch_messages(expr, shapes, error, message):
    module = eval(expr, vars(nn))
    x, *states = [lazygrad.zeros(*s) for s in shapes]
    hx = None if not states else (tuple(states) if len(states) == 2 else states[0])
    with pytest.raises(error) as info:
        module(x, hx)
    assert str(info.value) == message
    if HAS_TORCH:
        x, *states = [torch.zeros(*s) for s in shapes]
        hx = None if not states else (tuple(states) if len(states) == 2 else states[0])
        with pytest.raises(error) as theirs:
            eval(expr, vars(torch.nn))(x, hx)
        assert str(theirs.value) == message


@pytest.mark.parametrize("expr, error, message", [
    ("GRU(3, 4, proj_size=2)", ValueError, "proj_size argument is only supported for LSTM, not RNN or GRU"),
    ("RNN(3, 4, nonlinearity='gelu')", ValueError, "Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'."),
    ("LSTM(3, 4, proj_size=4)", ValueError, "proj_size has to be smaller than hidden_size"),
    ("LSTM(3, 0)", ValueError, "hidden_size must be greater than zero"),
    ("LSTM(3, 4, dropout=2)", ValueError,
     "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"),
])
def test_constructor_errors_have_torch_messages(expr, error, message):
    with pytest.raises(error) as info:
        eval(expr, vars(nn))
    assert str(info.value) == message
    if HAS_TORCH:
        with pytest.raises(error) as theirs:
            eval(expr, vars(torch.nn))
        assert str(theirs.value) == message


def test_dropout_on_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)
