"""lazygrad.optim: update rules and schedules vs torch, state dicts, and the one-program-per-step property."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lazygrad
from lazygrad import nn, optim
from lazygrad.nn import functional as F
from lazygrad.optim import lr_scheduler

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
STEPS = 20


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 4)).astype(np.float32), rng.integers(0, 3, 16)


def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 16), lib.nn.Tanh(), lib.nn.Linear(16, 3))


def lazy_mlp() -> nn.Module:
    model = mlp(lazygrad)
    lazygrad.realize(*model.parameters())
    return model


def step(model, opt, x, y) -> lazygrad.Tensor:
    """One training step, ending with the read that runs it."""
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()
    return loss


# ---- training parity with torch -----------------------------------------------------------------------

OPTIMIZERS = {
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
    "sgd_nesterov_decay": ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_decay": ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    "adamw_amsgrad": ("AdamW", {"lr": 0.02, "weight_decay": 0.05, "amsgrad": True}),
}


@needs_torch
@pytest.mark.backend_agnostic  # update rules are graph building; jax runs optimizer steps in the laziness tests below
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_losses_match_torch_every_step(name):
    cls, kwargs = OPTIMIZERS[name]
    torch.manual_seed(0)
    theirs = mlp(torch)
    ours = mlp(lazygrad)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    their_opt = getattr(torch.optim, cls)(theirs.parameters(), **kwargs)
    our_opt = getattr(optim, cls)(ours.parameters(), **kwargs)
    x, y = data()
    their_losses, our_losses = [], []
    for _ in range(STEPS):
        their_loss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        their_opt.zero_grad()
        their_loss.backward()
        their_opt.step()
        their_losses.append(their_loss.item())
        our_losses.append(step(ours, our_opt, lazygrad.tensor(x), lazygrad.tensor(y)).item())
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)


@needs_torch
@pytest.mark.backend_agnostic
def test_mse_training_with_scheduler_matches_torch():
    torch.manual_seed(1)
    theirs, ours = mlp(torch), mlp(lazygrad)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    their_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    our_opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    their_sched = torch.optim.lr_scheduler.StepLR(their_opt, 5, 0.5)
    our_sched = lr_scheduler.StepLR(our_opt, 5, 0.5)
    x = np.random.default_rng(2).standard_normal((16, 4)).astype(np.float32)
    target = np.random.default_rng(3).standard_normal((16, 3)).astype(np.float32)
    for _ in range(12):
        their_loss = torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(target))
        their_opt.zero_grad()
        their_loss.backward()
        their_opt.step()
        their_sched.step()
        our_loss = F.mse_loss(ours(lazygrad.tensor(x)), lazygrad.tensor(target))
        our_opt.zero_grad()
        our_loss.backward()
        our_opt.step()
        our_sched.step()
        assert our_loss.item() == pytest.approx(their_loss.item(), rel=1e-4)


# ---- laziness: one program per step, no recompiles ----------------------------------------------------


@pytest.mark.parametrize("name", ["sgd_momentum", "adamw_amsgrad"])
def test_training_step_is_one_backend_execution(name):
    cls, kwargs = OPTIMIZERS[name]
    model = lazy_mlp()
    opt = getattr(optim, cls)(model.parameters(), **kwargs)
    x, y = (lazygrad.tensor(a) for a in data())
    for _ in range(3):
        before = lazygrad.metrics()["executions"]
        step(model, opt, x, y)
        assert lazygrad.metrics()["executions"] == before + 1


def test_optimizer_step_ends_the_step_as_one_program():
    model = lazy_mlp()
    opt = optim.Adam(model.parameters())
    x, y = (lazygrad.tensor(a) for a in data())
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    before = lazygrad.metrics()["executions"]
    opt.step()
    assert lazygrad.metrics()["executions"] == before + 1  # forward, backward and update together
    assert all(p.node.buffer is not None for p in model.parameters())
    loss.item()
    assert lazygrad.metrics()["executions"] == before + 1


def test_optimizer_step_without_automatic_steps_computes_nothing():
    model = lazy_mlp()
    opt = optim.Adam(model.parameters())
    x, y = (lazygrad.tensor(a) for a in data())
    F.cross_entropy(model(x), y).backward()
    before = lazygrad.metrics()["executions"]
    with lazygrad.auto_step(False):
        opt.step()
    assert lazygrad.metrics()["executions"] == before
    assert all(p.node.buffer is None for p in model.parameters())


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_thirty_steps_with_step_lr_compile_at_most_two_programs(name):
    cls, kwargs = OPTIMIZERS[name]
    model = lazy_mlp()
    opt = getattr(optim, cls)(model.parameters(), **kwargs)
    sched = lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)
    x, y = (lazygrad.tensor(a) for a in data())
    before = lazygrad.metrics()["compiles"]
    for _ in range(30):
        step(model, opt, x, y)
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(kwargs["lr"] * 0.5**4)
    assert lazygrad.metrics()["compiles"] - before <= 2


def test_cosine_schedule_does_not_recompile():
    model = lazy_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    x, y = (lazygrad.tensor(a) for a in data())
    step(model, opt, x, y)
    before = lazygrad.metrics()["compiles"]
    for _ in range(8):
        sched.step()
        step(model, opt, x, y)
    assert lazygrad.metrics()["compiles"] == before


# ---- individual update rules ------------------------------------------------------------------------------


def quadratic_step(opt_cls, **kwargs) -> list[float]:
    """One step on loss = sum(p**2) from p = [1, -2]: the gradient is 2p."""
    p = nn.Parameter(lazygrad.tensor([1.0, -2.0]))
    opt = opt_cls([p], **kwargs)
    (p * p).sum().backward()
    opt.step()
    return p.tolist()


def test_plain_sgd_step():
    assert quadratic_step(optim.SGD, lr=0.25) == pytest.approx([0.5, -1.0])


def test_maximize_climbs_the_gradient():
    assert quadratic_step(optim.SGD, lr=0.25, maximize=True) == pytest.approx([1.5, -3.0])


def test_dampening_scales_the_gradient_added_to_momentum():
    p = nn.Parameter(lazygrad.ones(1))
    opt = optim.SGD([p], lr=1.0, momentum=0.5, dampening=0.25)
    for _ in range(2):
        p.sum().backward()
        opt.step()
        opt.zero_grad()
    # buffer: 1, then 0.5 * 1 + 0.75 * 1; the parameter moves by both.
    assert p.item() == pytest.approx(1 - 1 - 1.25)


def test_first_adam_step_moves_each_weight_by_lr():
    assert quadratic_step(optim.Adam, lr=0.1) == pytest.approx([0.9, -1.9], rel=1e-5)


def test_adamw_decays_weights_before_the_adam_step():
    assert quadratic_step(optim.AdamW, lr=0.1, weight_decay=0.5) == pytest.approx([0.95 - 0.1, -1.9 + 0.1], rel=1e-5)


def test_parameters_without_gradients_are_left_alone():
    used, unused = nn.Parameter(lazygrad.ones(1)), nn.Parameter(lazygrad.ones(1))
    opt = optim.SGD([used, unused], lr=1.0, momentum=0.9)
    (used * 3).sum().backward()
    opt.step()
    assert (used.item(), unused.item(), len(opt.state)) == (-2.0, 1.0, 1)


def test_param_groups_use_their_own_learning_rate():
    a, b = nn.Parameter(lazygrad.ones(1)), nn.Parameter(lazygrad.ones(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a + b).sum().backward()
    opt.step()
    assert (a.item(), b.item()) == pytest.approx((0.9, 0.5))


def test_adam_step_count_is_a_host_integer():
    p = nn.Parameter(lazygrad.ones(2))
    opt = optim.Adam([p])
    for _ in range(3):
        p.sum().backward()
        opt.step()
    assert opt.state[p]["step"] == 3


@needs_torch
def test_adam_uses_a_step_count_written_into_its_state():
    """The count is known on the host while only Adam writes it; a count set from outside is read instead."""
    results = []
    for lib in (lazygrad, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0]))
        opt = lib.optim.Adam([p], lr=0.1)
        for k in range(4):
            (p * p).sum().backward()
            opt.step()
            opt.zero_grad()
            if k == 1:
                opt.state[p]["step"].fill_(100.0)
        results.append((p.detach().numpy(), opt.state[p]["step"].item()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] == 102.0


def test_step_with_closure_returns_its_loss():
    p = nn.Parameter(lazygrad.ones(1))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 1.0 and p.item() == pytest.approx(0.8)


def test_optimizer_zero_grad_sets_none_by_default():
    p = nn.Parameter(lazygrad.ones(1))
    opt = optim.SGD([p], lr=0.1)
    p.sum().backward()
    opt.zero_grad()
    assert p.grad is None


def test_optimizer_zero_grad_can_zero_in_place():
    p = nn.Parameter(lazygrad.ones(1))
    opt = optim.SGD([p], lr=0.1)
    p.sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0]


# ---- validation ---------------------------------------------------------------------------------------------


def test_nesterov_needs_momentum():
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([nn.Parameter(lazygrad.ones(1))], lr=0.1, nesterov=True)


def test_invalid_beta_is_rejected():
    with pytest.raises(ValueError, match=r"Invalid beta parameter at index 1: 1\.0"):
        optim.Adam([nn.Parameter(lazygrad.ones(1))], betas=(0.9, 1.0))


def test_empty_parameter_list_is_rejected():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)


def test_parameter_in_two_groups_is_rejected():
    p = nn.Parameter(lazygrad.ones(1))
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_non_leaf_tensor_is_rejected():
    p = nn.Parameter(lazygrad.ones(1))
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)


# ---- state dicts ----------------------------------------------------------------------------------------


@needs_torch
def test_state_dict_layout_matches_torch():
    ours = optim.SGD(mlp(lazygrad).parameters(), lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD(mlp(torch).parameters(), lr=0.1, momentum=0.9)
    our_groups, their_groups = ours.state_dict()["param_groups"], theirs.state_dict()["param_groups"]
    assert our_groups[0]["params"] == their_groups[0]["params"]
    assert {k: v for k, v in our_groups[0].items() if k in their_groups[0]} == \
        {k: v for k, v in their_groups[0].items() if k in our_groups[0]}


def test_state_dict_round_trip_continues_identically():
    x, y = (lazygrad.tensor(a) for a in data())
    model = lazy_mlp()
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        step(model, opt, x, y)
    clone = mlp(lazygrad)
    clone.load_state_dict(model.state_dict())
    clone_opt = optim.Adam(clone.parameters(), lr=0.5)
    clone_opt.load_state_dict(opt.state_dict())
    losses = [step(model, opt, x, y).item() for _ in range(3)]
    assert [step(clone, clone_opt, x, y).item() for _ in range(3)] == losses
    assert clone_opt.param_groups[0]["lr"] == 0.01


def test_loaded_state_is_a_copy():
    p = nn.Parameter(lazygrad.ones(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.sum().backward()
    opt.step()
    saved = opt.state_dict()
    other = optim.SGD([p], lr=0.1, momentum=0.9)
    other.load_state_dict(saved)
    p.sum().backward()
    other.step()
    assert saved["state"][0]["momentum_buffer"].tolist() == [1.0, 1.0]


def test_load_state_dict_rejects_a_different_group_count():
    p, q = nn.Parameter(lazygrad.ones(1)), nn.Parameter(lazygrad.ones(1))
    saved = optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([p, q], lr=0.1).load_state_dict(saved)


@needs_torch
def test_optimizer_repr_lists_group_settings():
    p = nn.Parameter(lazygrad.ones(1))
    assert repr(optim.SGD([p], lr=0.1)).splitlines()[:3] == ["SGD (", "Parameter Group 0", "    dampening: 0"]


# ---- schedulers vs torch -----------------------------------------------------------------------------------

SCHEDULES = {
    "step": ("StepLR", {"step_size": 3, "gamma": 0.3}),
    "cosine": ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
    "lambda": ("LambdaLR", {"lr_lambda": lambda epoch: 0.9**epoch + 0.1 * (epoch % 2)}),
}


@needs_torch
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    cls, kwargs = SCHEDULES[name]
    our_opt = optim.SGD([nn.Parameter(lazygrad.ones(1))], lr=0.5)
    their_opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5)
    ours = getattr(lr_scheduler, cls)(our_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, cls)(their_opt, **kwargs)
    our_lrs, their_lrs = [], []
    for _ in range(13):
        their_opt.step()
        ours.step()
        theirs.step()
        our_lrs.append(ours.get_last_lr()[0])
        their_lrs.append(theirs.get_last_lr()[0])
    np.testing.assert_allclose(our_lrs, their_lrs, rtol=1e-12)


def test_scheduler_state_dict_round_trip():
    opt = optim.SGD([nn.Parameter(lazygrad.ones(1))], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        sched.step()
    fresh_opt = optim.SGD([nn.Parameter(lazygrad.ones(1))], lr=1.0)
    fresh = lr_scheduler.StepLR(fresh_opt, step_size=2)
    fresh.load_state_dict(sched.state_dict())
    assert fresh.last_epoch == 3 and math.isclose(fresh.get_last_lr()[0], 0.1)
