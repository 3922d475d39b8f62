"""RMSprop, Adagrad, LBFGS, the learning-rate schedulers and the ``nn.utils`` training helpers.

Optimizers take a few steps on a small regression from the same start as torch and must land on
torch's parameters; schedulers must produce torch's rate sequences. Hand-computed values pin the same
behaviour without torch. Optimizer steps and gradient clipping must stay lazy: no program runs until a
value is read.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad
from lazygrad import nn, optim
from lazygrad.optim import lr_scheduler

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
RNG = np.random.default_rng(3)
W0 = RNG.standard_normal((3, 4))
B0 = RNG.standard_normal(3)
X = RNG.standard_normal((8, 4))
Y = RNG.standard_normal((8, 3))


def train(T, make, steps, dtype=np.float64, with_closure=False):
    """``steps`` optimizer steps on a tanh regression; returns the final parameters as arrays."""
    w = T.tensor(W0.astype(dtype), requires_grad=True)
    b = T.tensor(B0.astype(dtype), requires_grad=True)
    x, y = T.tensor(X.astype(dtype)), T.tensor(Y.astype(dtype))
    opt = make(T, [w, b])

    def closure():
        opt.zero_grad()
        loss = ((x @ w.t() + b).tanh() - y).square().mean()
        loss.backward()
        return loss

    for _ in range(steps):
        if with_closure:
            opt.step(closure)
        else:
            closure()
            opt.step()
    return [w.detach().numpy(), b.detach().numpy()]


OPTIMIZERS = {
    "rmsprop": lambda T, p: T.optim.RMSprop(p, lr=0.01),
    "rmsprop_centered_momentum": lambda T, p: T.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1,
                                                              momentum=0.8, centered=True),
    "rmsprop_maximize": lambda T, p: T.optim.RMSprop(p, lr=0.01, momentum=0.5, maximize=True),
    "adagrad": lambda T, p: T.optim.Adagrad(p, lr=0.1),
    "adagrad_all": lambda T, p: T.optim.Adagrad(p, lr=0.1, lr_decay=0.05, weight_decay=0.1,
                                                initial_accumulator_value=0.3, eps=1e-5),
}
CLOSURE_OPTIMIZERS = {
    "lbfgs": lambda T, p: T.optim.LBFGS(p, lr=0.5, max_iter=7, history_size=3),
    "lbfgs_strong_wolfe": lambda T, p: T.optim.LBFGS(p, max_iter=10, line_search_fn="strong_wolfe"),
}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_torch(name, dtype):
    ours = train(lazygrad, OPTIMIZERS[name], 5, dtype)
    theirs = train(torch, OPTIMIZERS[name], 5, dtype)
    for a, b in zip(ours, theirs):
        assert_close(a, b, *((1e-5, 1e-6) if dtype is np.float32 else (1e-5, 1e-12)))


@needs_torch
@pytest.mark.parametrize("name", CLOSURE_OPTIMIZERS)
def test_lbfgs_matches_torch(name):
    ours = train(lazygrad, CLOSURE_OPTIMIZERS[name], 2, with_closure=True)
    theirs = train(torch, CLOSURE_OPTIMIZERS[name], 2, with_closure=True)
    for a, b in zip(ours, theirs):
        assert_close(a, b, 1e-5, 1e-9)


def test_rmsprop_first_step_by_hand():
    """v = (1 - alpha) g^2, so the first step is lr * g / (sqrt(v) + eps) = lr / sqrt(1 - alpha) * sign(g)."""
    p = lazygrad.tensor([1.0, -2.0], dtype=lazygrad.float64, requires_grad=True)
    opt = optim.RMSprop([p], lr=0.01, alpha=0.75, eps=0.0)
    (p * lazygrad.tensor([3.0, -0.5], dtype=lazygrad.float64)).sum().backward()
    opt.step()
    assert_close(p, [1.0 - 0.02, -2.0 + 0.02])


def test_adagrad_steps_by_hand():
    """With an accumulator starting at a, the steps are lr*g/sqrt(a + g^2), then lr*g/sqrt(a + 2g^2)/(1 + decay)."""
    p = lazygrad.tensor([0.0], dtype=lazygrad.float64, requires_grad=True)
    opt = optim.Adagrad([p], lr=0.5, lr_decay=0.25, initial_accumulator_value=1.0, eps=0.0)
    for _ in range(2):
        opt.zero_grad()
        (p * 2.0).sum().backward()
        opt.step()
    assert_close(p, [-0.5 * 2 / math.sqrt(5) - 0.5 / 1.25 * 2 / 3])
    assert opt.state[p]["step"] == 2


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_solves_a_quadratic(line_search_fn):
    """On a convex quadratic, L-BFGS reaches the minimizer A^-1 b within a few iterations."""
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    x = lazygrad.zeros(2, dtype=lazygrad.float64, requires_grad=True)
    opt = optim.LBFGS([x], max_iter=50, line_search_fn=line_search_fn)
    A, B = lazygrad.tensor(a), lazygrad.tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (A @ x)) - B @ x
        loss.backward()
        return loss

    opt.step(closure)
    assert_close(x, np.linalg.solve(a, b), 1e-6, 1e-8)


def test_lbfgs_reads_the_closures_loss_without_a_warning(monkeypatch):
    """torch's step runs under no_grad and only the closure records history: reading the loss (which requires
    grad) to decide the step is no conversion that drops a graph, so it warns nothing."""
    monkeypatch.setattr(sys.modules["lazygrad.tensor"], "_scalar_conversion_warned", False)  # it warns once
    x = lazygrad.ones(2, requires_grad=True)
    opt = optim.LBFGS([x], max_iter=2)
    modes = []

    def closure():
        modes.append(lazygrad.is_grad_enabled())
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = opt.step(closure)
    assert loss.requires_grad and modes == [True, True] and lazygrad.is_grad_enabled()


def test_optimizer_steps_stay_lazy():
    for make in OPTIMIZERS.values():
        w = lazygrad.tensor(W0, requires_grad=True)
        opt = make(lazygrad, [w])
        (w * w).sum().backward()
        lazygrad.reset_metrics()
        with lazygrad.auto_step(False):
            opt.step()
            opt.step()
        assert lazygrad.metrics()["executions"] == 0


OPTIMIZER_ERRORS = [
    (lambda p: optim.RMSprop(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "Invalid alpha value: -0.5"),
    (lambda p: optim.RMSprop(p, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (lambda p: optim.LBFGS([{"params": p[:1]}, {"params": p[1:]}]),
     "LBFGS doesn't support per-parameter options (parameter groups)"),
]


@pytest.mark.parametrize("index", range(len(OPTIMIZER_ERRORS)))
def test_optimizer_errors(index):
    make, message = OPTIMIZER_ERRORS[index]
    with pytest.raises(ValueError) as error:
        make([nn.Parameter(lazygrad.zeros(2)), nn.Parameter(lazygrad.zeros(2))])
    assert str(error.value) == message


def test_lbfgs_rejects_other_line_searches():
    x = lazygrad.ones(2, requires_grad=True)
    opt = optim.LBFGS([x], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


# ---- schedulers ----------------------------------------------------------------------------------------


def rates(T, make_optimizer, make_scheduler, steps=12, metrics=None):
    """Each group's rate and momentum (or beta1) before every scheduler step."""
    groups = [{"params": [T.nn.Parameter(T.zeros(2))]}, {"params": [T.nn.Parameter(T.zeros(2))], "lr": 0.5}]
    opt = make_optimizer(T, groups)
    scheduler = make_scheduler(T, opt)
    out = []
    for i in range(steps):
        out.append([g["lr"] for g in opt.param_groups] +
                   [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups])
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[i])
    return np.array(out)


def sgd(T, groups):
    return T.optim.SGD(groups, lr=0.1, momentum=0.9)


def adam(T, groups):
    return T.optim.Adam(groups, lr=0.1)


SCHEDULERS = {
    "multistep": (sgd, lambda T, o: T.optim.lr_scheduler.MultiStepLR(o, [2, 5, 5, 9], 0.5)),
    "exponential": (sgd, lambda T, o: T.optim.lr_scheduler.ExponentialLR(o, 0.8)),
    "linear": (sgd, lambda T, o: T.optim.lr_scheduler.LinearLR(o, 0.2, 0.9, 6)),
    "sequential": (sgd, lambda T, o: T.optim.lr_scheduler.SequentialLR(
        o, [T.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=3), T.optim.lr_scheduler.ExponentialLR(o, 0.9),
            T.optim.lr_scheduler.StepLR(o, 2, 0.5)], [4, 8])),
    "sequential_cosine": (sgd, lambda T, o: T.optim.lr_scheduler.SequentialLR(
        o, [T.optim.lr_scheduler.ExponentialLR(o, 0.9), T.optim.lr_scheduler.CosineAnnealingLR(o, 5, 0.01)], [3])),
    "onecycle_cos": (sgd, lambda T, o: T.optim.lr_scheduler.OneCycleLR(o, [1.0, 2.0], total_steps=12)),
    "onecycle_linear_three_phase_adam": (adam, lambda T, o: T.optim.lr_scheduler.OneCycleLR(
        o, 1.0, epochs=3, steps_per_epoch=4, anneal_strategy="linear", three_phase=True, pct_start=0.25)),
    "onecycle_no_momentum": (sgd, lambda T, o: T.optim.lr_scheduler.OneCycleLR(
        o, 1.0, total_steps=13, cycle_momentum=False, div_factor=10, final_div_factor=100)),
    "lambda": (sgd, lambda T, o: T.optim.lr_scheduler.LambdaLR(o, lambda epoch: 0.9**epoch + 0.1)),
}
PLATEAU_METRICS = [5, 4, 4, 4.0, 4, 3, 3.9999, 3.9999, 3.9999, 3.9999, 3.9999, 3.9999]
PLATEAUS = {
    "patience": {"patience": 1},
    "cooldown_min_lr": {"patience": 0, "cooldown": 2, "factor": 0.5, "min_lr": [0.01, 0.2]},
    "max_abs": {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs"},
}


# torch warns that these rate sequences are read without optimizer steps in between.
@needs_torch
@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)`")
@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_matches_torch(name):
    make_optimizer, make_scheduler = SCHEDULERS[name]
    assert_close(rates(lazygrad, make_optimizer, make_scheduler), rates(torch, make_optimizer, make_scheduler),
                 1e-15, 0.0)


@needs_torch
@pytest.mark.parametrize("name", PLATEAUS)
def test_reduce_on_plateau_matches_torch(name):
    def make(T, o):
        return T.optim.lr_scheduler.ReduceLROnPlateau(o, **PLATEAUS[name])

    ours = rates(lazygrad, sgd, make, metrics=PLATEAU_METRICS)
    assert_close(ours, rates(torch, sgd, make, metrics=PLATEAU_METRICS), 1e-15, 0.0)


def test_scheduler_values_by_hand():
    def first_group(make, steps=7, make_optimizer=sgd):
        return rates(lazygrad, make_optimizer, make, steps)[:, 0].tolist()

    assert first_group(lambda T, o: lr_scheduler.MultiStepLR(o, [2, 4, 4], 0.5)) == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.0125, 0.0125, 0.0125])
    assert first_group(lambda T, o: lr_scheduler.ExponentialLR(o, 0.5), 4) == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert first_group(lambda T, o: lr_scheduler.LinearLR(o, 0.5, 1.0, 2), 4) == pytest.approx(
        [0.05, 0.075, 0.1, 0.1])
    cycle = first_group(lambda T, o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=10, pct_start=0.2), 10)
    assert cycle[0] == pytest.approx(0.04) and max(cycle) == pytest.approx(1.0) and cycle[1] == pytest.approx(1.0)
    assert cycle[-1] == pytest.approx(0.04 / 1e4)


def test_one_cycle_cycles_adam_beta1():
    opt = optim.Adam([nn.Parameter(lazygrad.zeros(1))], betas=(0.9, 0.99))
    scheduler = lr_scheduler.OneCycleLR(opt, 1.0, total_steps=10, pct_start=0.5)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    for _ in range(4):
        scheduler.step()
    assert opt.param_groups[0]["betas"] == pytest.approx((0.85, 0.99))


def test_reduce_on_plateau_by_hand():
    opt = optim.SGD([nn.Parameter(lazygrad.zeros(1))], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    seen = []
    for metric in [3.0, 3.0, 3.0, 2.0, 2.0, 2.0]:
        scheduler.step(lazygrad.tensor(metric))
        seen.append(opt.param_groups[0]["lr"])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert scheduler.get_last_lr() == [0.25]


SCHEDULER_ERRORS = [
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError,
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ExponentialLR(o, 0.9)], [3]), ValueError,
     "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone "
     "points, but got number of schedulers 1 and the number of milestones to be equal to 1"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0), ValueError,
     "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=5, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0."),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="middle"), ValueError, "mode middle is unknown!"),
]


@pytest.mark.parametrize("index", range(len(SCHEDULER_ERRORS)))
def test_scheduler_errors(index):
    make, kind, message = SCHEDULER_ERRORS[index]
    with pytest.raises(kind) as error:
        make(optim.SGD([nn.Parameter(lazygrad.zeros(1))], lr=0.1, momentum=0.9))
    assert str(error.value) == message


def test_one_cycle_refuses_to_step_past_the_end():
    scheduler = lr_scheduler.OneCycleLR(optim.SGD([nn.Parameter(lazygrad.zeros(1))], lr=0.1, momentum=0.9), 1.0,
                                        total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match=r"Tried to step 3 times\. The specified number of total steps is 2"):
        scheduler.step()


# ---- nn.utils ------------------------------------------------------------------------------------------

GRADS = [RNG.standard_normal((3, 4)), RNG.standard_normal(5)]


def with_grads(T, dtype=np.float64):
    params = []
    for g in GRADS:
        p = T.nn.Parameter(T.zeros(*g.shape, dtype=getattr(T, np.dtype(dtype).name)))
        p.grad = T.tensor(g.astype(dtype))
        params.append(p)
    return params


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = with_grads(lazygrad), with_grads(torch)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, lazygrad.Tensor)
    assert_close(total, expected)
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad)


def test_clip_grad_norm_by_hand_and_lazily():
    params = with_grads(lazygrad)
    lazygrad.realize(*[p.grad for p in params])
    lazygrad.reset_metrics()
    total = nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
    assert lazygrad.metrics()["executions"] == 0
    norm = math.sqrt(sum(float((g**2).sum()) for g in GRADS))
    assert total.item() == pytest.approx(norm)
    assert_close(nn.utils.get_total_norm([p.grad for p in params]), 1.0 / (norm + 1e-6) * norm)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_error_if_nonfinite():
    p = nn.Parameter(lazygrad.zeros(2))
    p.grad = lazygrad.tensor([math.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"The total norm of order 2\.0 for gradients from `parameters` is "
                                           r"non-finite, so it cannot be clipped\."):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = with_grads(lazygrad)
    assert nn.utils.clip_grad_value_(params, 0.5) is None
    for p, g in zip(params, GRADS):
        assert_close(p.grad, np.clip(g, -0.5, 0.5))


def test_parameters_to_vector_and_back():
    params = with_grads(lazygrad)
    vector = nn.utils.parameters_to_vector(params)
    assert vector.shape == (17,)
    nn.utils.vector_to_parameters(lazygrad.arange(17, dtype=lazygrad.float64), params)
    assert params[0].tolist() == np.arange(12.0).reshape(3, 4).tolist()
    assert params[1].tolist() == list(np.arange(12.0, 17.0))
    assert params[0].is_leaf and params[0].requires_grad
    with pytest.raises(TypeError, match=r"expected torch\.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], params)


def test_lbfgs_resumes_from_a_state_dict():
    """Two steps in one optimizer equal one step, a save and load, and one more step in another."""
    def run(resume):
        x = lazygrad.tensor([1.0, -1.0], dtype=lazygrad.float64, requires_grad=True)
        opt = optim.LBFGS([x], max_iter=3)

        def closure():
            opt.zero_grad()
            loss = ((x - lazygrad.tensor([0.5, 2.0], dtype=lazygrad.float64)) ** 4).sum()
            loss.backward()
            return loss

        opt.step(closure)
        if resume:
            saved = opt.state_dict()
            opt = optim.LBFGS([x], max_iter=3)
            opt.load_state_dict(saved)
        opt.step(closure)
        return x.tolist()

    assert run(True) == pytest.approx(run(False), rel=1e-12)


def test_scheduler_state_dicts_have_torchs_keys():
    def keys(T):
        made = {}
        for name, make in {"step": lambda o: T.optim.lr_scheduler.StepLR(o, 3),
                           "one_cycle": lambda o: T.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10)}.items():
            optimizer = T.optim.SGD([T.nn.Parameter(T.ones(1))], lr=0.1, momentum=0.9)
            made[name] = list(make(optimizer).state_dict())
        return made

    ours = keys(lazygrad)
    assert ours["step"] == ["step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_is_initial",
                            "_get_lr_called_within_step", "_last_lr"]
    assert "_schedule_phases" in ours["one_cycle"]
    if HAS_TORCH:
        import torch

        assert ours == keys(torch)


@pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS"])
def test_parameter_groups_list_torchs_entries_in_torchs_order(name):
    import torch

    def entries(T):
        return list(getattr(T.optim, name)([T.nn.Parameter(T.ones(1))], lr=0.1).param_groups[0])

    assert entries(lazygrad) == entries(torch)
