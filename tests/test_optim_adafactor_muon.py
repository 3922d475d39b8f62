"""Adafactor and Muon against torch: signatures, argument errors, parameters and state after every step, state
dicts in torch's layout, and a step that stays one program (no value read back)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad
from lazygrad import optim
from lazygrad.optim.muon import orthogonalized

if HAS_TORCH:
    import torch
    from torch.optim._muon import _zeropower_via_newtonschulz

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
RNG = np.random.default_rng(7)
X = RNG.standard_normal((8, 4)).astype(np.float32)
Y = RNG.standard_normal((8, 3)).astype(np.float32)
STEPS = 4
F32 = (1e-5, 1e-6)  # float32: torch's norms and ours sum in different orders
# Muon's update is bfloat16: a gradient one float32 unit off (torch's tanh against ours) can round an element of
# it to the neighbouring bfloat16, a step of lr * 2**-8 or so; the same gradients give torch's bits (below)
BF16_STEP = (1e-5, 2e-4)


def mlp(T, bias: bool):
    """A tall (8x4) and a wide (3x8) weight, so Muon orthogonalizes both orientations."""
    T.manual_seed(0)
    return T.nn.Sequential(T.nn.Linear(4, 8, bias=bias), T.nn.Tanh(), T.nn.Linear(8, 3, bias=bias))


def fit(T, model, opt, steps: int) -> list[list[np.ndarray]]:
    """``steps`` steps of a tanh regression; the parameters after each."""
    x, y = T.tensor(X), T.tensor(Y)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        T.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        history.append([p.detach().numpy().copy() for p in model.parameters()])
    return history


def train(T, make, bias: bool):
    """``STEPS`` steps from torch's initial weights: the parameters after each, and the optimizer."""
    model = mlp(T, bias)
    if T is lazygrad:
        model.load_state_dict({k: v.numpy() for k, v in mlp(torch, bias).state_dict().items()})
    opt = make(T, model)
    return fit(T, model, opt, STEPS), opt


def groups(model, first: dict, second: dict) -> list[dict]:
    weights, biases = [p for p in model.parameters() if p.ndim == 2], [p for p in model.parameters() if p.ndim == 1]
    return [{"params": weights, **first}, {"params": biases, **second}]


ADAFACTOR = {
    "defaults": lambda T, m: T.optim.Adafactor(m.parameters()),
    "all_options": lambda T, m: T.optim.Adafactor(m.parameters(), lr=0.05, beta2_decay=-0.5, eps=(1e-6, 1e-2),
                                                  d=1.5, weight_decay=0.1, maximize=True),
    "tensor_lr": lambda T, m: T.optim.Adafactor(m.parameters(), lr=T.tensor([0.03])),
    "groups": lambda T, m: T.optim.Adafactor(groups(m, {"lr": 0.02}, {"weight_decay": 0.2}), lr=0.05),
}
MUON = {
    "defaults": lambda T, m: T.optim.Muon(m.parameters()),
    "plain_momentum": lambda T, m: T.optim.Muon(m.parameters(), lr=0.05, momentum=0.9, nesterov=False,
                                                adjust_lr_fn="match_rms_adamw", ns_steps=3),
    "tensor_lr": lambda T, m: T.optim.Muon(m.parameters(), lr=T.tensor(0.02)),
    "groups": lambda T, m: T.optim.Muon([{"params": [m[0].weight], "adjust_lr_fn": "original"},
                                         {"params": [m[2].weight], "lr": 0.01}], lr=0.02),
}
CASES = [("Adafactor", name, make, True) for name, make in ADAFACTOR.items()] + \
        [("Muon", name, make, False) for name, make in MUON.items()]


def plain(value):
    """A torch state value as lazygrad loads it (arrays), nested containers kept."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value.numpy() if isinstance(value, torch.Tensor) else value


# ---- signatures and argument errors -------------------------------------------------------------------------


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_signature_is_torchs(name):
    ours = inspect.signature(getattr(optim, name)).parameters.values()
    theirs = inspect.signature(getattr(torch.optim, name)).parameters.values()
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


BAD_ARGUMENTS = [
    ("Adafactor", {"lr": -1.0}), ("Adafactor", {"beta2_decay": 0.5}), ("Adafactor", {"eps": (-1.0, 1e-3)}),
    ("Adafactor", {"eps": (None, -1.0)}), ("Adafactor", {"d": 0.5}), ("Adafactor", {"weight_decay": -0.1}),
    ("Muon", {"lr": -1.0}), ("Muon", {"momentum": -0.5}), ("Muon", {"weight_decay": -0.1}),
    ("Muon", {"adjust_lr_fn": "sqrt"}),
]


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize(("name", "kwargs"), BAD_ARGUMENTS, ids=[f"{n}-{next(iter(k))}" for n, k in BAD_ARGUMENTS])
def test_bad_arguments_raise_torchs_error(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([lazygrad.zeros(2, 2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_learning_rate_tensor_of_several_elements_is_refused(name):
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(optim, name)([lazygrad.zeros(2, 2, requires_grad=True)], lr=lazygrad.tensor([0.1, 0.2]))


@needs_torch
@pytest.mark.backend_agnostic
def test_muon_refuses_parameters_that_are_not_matrices_as_torch_does():
    with pytest.raises(ValueError) as theirs:
        torch.optim.Muon([torch.zeros(2, 2, requires_grad=True), torch.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError) as ours:
        optim.Muon([lazygrad.zeros(2, 2, requires_grad=True), lazygrad.zeros(3, requires_grad=True)])
    assert str(ours.value) == str(theirs.value)
    assert "torch.Size([3])" in str(ours.value)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("kwargs", [{"ns_steps": 100}, {"ns_coefficients": (1.0, 2.0)}])
def test_muon_step_refuses_what_torchs_refuses(kwargs):
    messages = []
    for T in (torch, lazygrad):
        w = T.ones(3, 2, requires_grad=True)
        opt = T.optim.Muon([w], **kwargs)
        w.grad = T.ones(3, 2)
        with pytest.raises(ValueError) as error:
            opt.step()
        messages.append(str(error.value))
    assert messages[0] == messages[1]


# ---- the updates against torch ------------------------------------------------------------------------------


@needs_torch
@pytest.mark.backend_agnostic  # update rules are graph building; the jax backend runs steps in the tests below
@pytest.mark.parametrize(("cls", "name", "make", "bias"), CASES, ids=[f"{c}-{n}" for c, n, _, _ in CASES])
def test_parameters_and_state_match_torch_after_every_step(cls, name, make, bias):
    ours, our_opt = train(lazygrad, make, bias)
    theirs, their_opt = train(torch, make, bias)
    for step, (our_params, their_params) in enumerate(zip(ours, theirs)):
        for a, b in zip(our_params, their_params):
            assert_close(a, b, *(F32 if cls == "Adafactor" else BF16_STEP)), f"step {step + 1}"
    our_state, their_state = our_opt.state_dict()["state"], their_opt.state_dict()["state"]
    assert our_state.keys() == their_state.keys()
    for index, values in their_state.items():
        assert list(our_state[index]) == list(values)
        for key, value in values.items():
            assert our_state[index][key].dtype == lazygrad.float32
            assert_close(our_state[index][key], value, 1e-5, 1e-7)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", MUON)
def test_muon_steps_from_the_same_gradients_are_torchs_bit_for_bit(name):
    weights = [RNG.standard_normal((8, 4)).astype(np.float32), RNG.standard_normal((3, 8)).astype(np.float32)]
    grads = [[RNG.standard_normal(w.shape).astype(np.float32) for w in weights] for _ in range(STEPS)]
    results = []
    for T in (torch, lazygrad):
        model = mlp(T, False)
        model.load_state_dict({"0.weight": weights[0], "2.weight": weights[1]} if T is lazygrad else
                              {"0.weight": torch.tensor(weights[0]), "2.weight": torch.tensor(weights[1])})
        opt = MUON[name](T, model)
        history = []
        for step_grads in grads:
            for p, g in zip(model.parameters(), step_grads):
                p.grad = T.tensor(g)
            opt.step()
            history += [p.detach().numpy().copy() for p in model.parameters()]
        results.append(history + [s["momentum_buffer"].numpy() for s in opt.state.values()])
    for theirs, ours in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


@needs_torch
@pytest.mark.backend_agnostic
def test_adafactor_factors_every_tensor_of_two_or_more_dimensions():
    """A 3-D parameter keeps a row and a column factor per leading index; a vector and a scalar a full variance."""
    shapes = [(2, 3, 4), (5,), ()]
    grads = [[RNG.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    start = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    results = []
    for T in (torch, lazygrad):
        params = [T.tensor(a.copy(), requires_grad=True) for a in start]
        opt = T.optim.Adafactor(params, lr=0.05, weight_decay=0.1)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = T.tensor(g)
            opt.step()
        results.append((params, opt.state_dict()["state"]))
    (theirs, their_state), (ours, our_state) = results
    for a, b in zip(ours, theirs):
        assert_close(a, b, *F32)
    assert tuple(our_state[0]["row_var"].shape) == (2, 3, 1) and tuple(our_state[0]["col_var"].shape) == (2, 1, 4)
    for index, values in their_state.items():
        assert list(our_state[index]) == list(values)
        for key, value in values.items():
            assert_close(our_state[index][key], value, 1e-5, 1e-7)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("shape", [(8, 4), (4, 8), (5, 5)])
def test_newton_schulz_is_torchs_bit_for_bit(shape):
    grad = RNG.standard_normal(shape).astype(np.float32)
    theirs = _zeropower_via_newtonschulz(torch.tensor(grad), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    ours = orthogonalized(lazygrad.tensor(grad), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    assert ours.dtype == lazygrad.bfloat16
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())


def test_newton_schulz_brings_singular_values_near_one():
    """The quintic leaves them in about (0.5, 1.5) rather than at one; the gradient's spread far wider."""
    grad = RNG.standard_normal((8, 4)).astype(np.float32) * np.array([10.0, 3.0, 1.0, 0.5], np.float32)
    assert np.ptp(np.linalg.svd(grad, compute_uv=False)) > 5
    singular = np.linalg.svd(orthogonalized(lazygrad.tensor(grad), (3.4445, -4.7750, 2.0315), 5, 1e-7)
                             .float().numpy(), compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_norm_rounds_once_as_torch(dtype):
    """torch squares and sums 16-bit floats in float32; Muon's first division depends on it."""
    x = RNG.standard_normal((40, 7)).astype(np.float32)
    theirs = torch.tensor(x).to(getattr(torch, dtype))
    ours = lazygrad.tensor(x).to(getattr(lazygrad, dtype))
    for dim in (None, 1):
        assert_close(ours.norm(dim=dim).float(), theirs.norm(dim=dim).float(), 0.0, 0.0)


# ---- state dicts ----------------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("cls", ["Adafactor", "Muon"])
def test_torchs_state_dict_loads_and_training_continues_like_torch(cls):
    make, bias = (ADAFACTOR["groups"], True) if cls == "Adafactor" else (MUON["groups"], False)
    their_model = mlp(torch, bias)
    their_opt = make(torch, their_model)
    model = mlp(lazygrad, bias)
    opt = make(lazygrad, model)
    fit(torch, their_model, their_opt, 2)
    model.load_state_dict({k: v.numpy() for k, v in their_model.state_dict().items()})
    opt.load_state_dict(plain(their_opt.state_dict()))
    assert opt.state_dict()["param_groups"] == their_opt.state_dict()["param_groups"]
    for ours, theirs in zip(fit(lazygrad, model, opt, 2), fit(torch, their_model, their_opt, 2)):
        for a, b in zip(ours, theirs):
            assert_close(a, b, *(F32 if cls == "Adafactor" else BF16_STEP))
    for index, values in their_opt.state_dict()["state"].items():
        for key, value in values.items():
            assert_close(opt.state_dict()["state"][index][key], value, 1e-5, 1e-7)


@pytest.mark.backend_agnostic
def test_state_dict_round_trip_continues_identically():
    runs = []
    for reload in (False, True):
        model = mlp(lazygrad, True)
        opt = optim.Adafactor(model.parameters(), lr=0.05, weight_decay=0.1)
        fit(lazygrad, model, opt, 2)
        if reload:
            saved = opt.state_dict()
            opt = optim.Adafactor(model.parameters(), lr=0.5)
            opt.load_state_dict(saved)
            assert opt.param_groups[0]["lr"] == 0.05
        runs.append(fit(lazygrad, model, opt, 2))
    for a, b in zip(*runs):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q)


# ---- one program per step -------------------------------------------------------------------------------------

LAZY = {
    "Adafactor": (lambda T, m: T.optim.Adafactor(m.parameters(), weight_decay=0.1), True),
    "Adafactor_tensor_lr": (lambda T, m: T.optim.Adafactor(m.parameters(), lr=T.tensor(0.02)), True),
    "Muon": (lambda T, m: T.optim.Muon(m.parameters(), lr=0.02), False),
}


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_training_step_is_one_backend_execution(name):
    make, bias = LAZY[name]
    model = mlp(lazygrad, bias)
    lazygrad.realize(*model.parameters())
    opt = make(lazygrad, model)
    x, y = lazygrad.tensor(X), lazygrad.tensor(Y)
    for _ in range(2):  # the first step creates the state, the second updates it
        before = lazygrad.metrics()["executions"]
        loss = lazygrad.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()  # forward, backward and update: one program
        loss.item()
        assert lazygrad.metrics()["executions"] == before + 1
        assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.backend_agnostic  # counts programs, which no backend changes
@pytest.mark.parametrize("name", LAZY)
def test_steps_read_nothing_back(name):
    make, bias = LAZY[name]
    model = mlp(lazygrad, bias)
    lazygrad.realize(*model.parameters())
    opt = make(lazygrad, model)
    lazygrad.nn.functional.mse_loss(model(lazygrad.tensor(X)), lazygrad.tensor(Y)).backward()
    lazygrad.reset_metrics()
    with lazygrad.auto_step(False):
        for _ in range(3):
            opt.step()
    assert lazygrad.metrics()["executions"] == 0


@pytest.mark.backend_agnostic  # a replay runs the traced program, which any backend runs alike
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_compiled_step_matches_the_eager_step(name):
    make, bias = LAZY[name]

    def run(compiled: bool) -> list[np.ndarray]:
        model = mlp(lazygrad, bias)
        opt = make(lazygrad, model)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        x, y = lazygrad.tensor(X), lazygrad.tensor(Y)

        def step() -> lazygrad.Tensor:
            opt.zero_grad()
            loss = lazygrad.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        call = lazygrad.compile(step, fullgraph=True) if compiled else step
        for _ in range(4):
            call().item()
            sched.step()
        return [p.detach().numpy() for p in model.parameters()]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_printed_like_torch(name):
    ours = getattr(optim, name)([lazygrad.zeros(2, 2, requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)])
    assert repr(ours) == repr(theirs)
