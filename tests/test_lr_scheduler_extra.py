"""ConstantLR, MultiplicativeLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR and ChainedScheduler against
torch: the same rate (and momentum) sequences for two parameter groups, closed forms for ``step(epoch)``, state
dicts that resume, and torch's errors."""

from __future__ import annotations

import warnings

import pytest
from helpers import HAS_TORCH, assert_close
from test_optim_more import adam, rates, sgd

import lazygrad
from lazygrad import nn, optim
from lazygrad.optim import lr_scheduler

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
pytestmark = pytest.mark.backend_agnostic  # host arithmetic on Python numbers only


def _lr(T):
    return T.optim.lr_scheduler


SCHEDULERS = {
    "constant": (sgd, lambda T, o: _lr(T).ConstantLR(o, 0.25, total_iters=4)),
    "multiplicative": (sgd, lambda T, o: _lr(T).MultiplicativeLR(o, lambda epoch: 0.9 + 0.01 * epoch)),
    "multiplicative_per_group": (sgd, lambda T, o: _lr(T).MultiplicativeLR(o, [lambda e: 0.5, lambda e: 1.1])),
    "polynomial": (sgd, lambda T, o: _lr(T).PolynomialLR(o, total_iters=8, power=2.0)),
    "polynomial_linear": (sgd, lambda T, o: _lr(T).PolynomialLR(o)),
    "warm_restarts": (sgd, lambda T, o: _lr(T).CosineAnnealingWarmRestarts(o, 3, eta_min=0.01)),
    "warm_restarts_mult": (sgd, lambda T, o: _lr(T).CosineAnnealingWarmRestarts(o, 2, T_mult=2)),
    "cyclic": (sgd, lambda T, o: _lr(T).CyclicLR(o, 0.01, [0.1, 0.5], step_size_up=3, step_size_down=2)),
    "cyclic_triangular2_adam": (adam, lambda T, o: _lr(T).CyclicLR(o, [0.01, 0.02], 0.1, 2, mode="triangular2")),
    "cyclic_exp_range": (sgd, lambda T, o: _lr(T).CyclicLR(o, 0.01, 0.1, 2, mode="exp_range", gamma=0.9,
                                                           cycle_momentum=False)),
    "cyclic_scale_fn": (sgd, lambda T, o: _lr(T).CyclicLR(o, 0.01, 0.1, 3, scale_fn=lambda x: 0.8**x,
                                                          scale_mode="iterations")),
    "chained": (sgd, lambda T, o: _lr(T).ChainedScheduler([_lr(T).ConstantLR(o, 0.5, total_iters=3),
                                                           _lr(T).ExponentialLR(o, 0.9)])),
    "chained_cyclic": (sgd, lambda T, o: _lr(T).ChainedScheduler([_lr(T).CyclicLR(o, 0.01, 0.1, 2),
                                                                  _lr(T).MultiplicativeLR(o, lambda e: 0.95)])),
}


@needs_torch
@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)`")
@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_matches_torch(name):
    make_optimizer, make_scheduler = SCHEDULERS[name]
    assert_close(rates(lazygrad, make_optimizer, make_scheduler, 20),
                 rates(torch, make_optimizer, make_scheduler, 20), 1e-15, 0.0)


def _last_lrs(T, name, epochs):
    opt = T.optim.SGD([T.nn.Parameter(T.zeros(1))], lr=0.5)
    scheduler = SCHEDULERS[name][1](T, opt)
    out = []
    for epoch in epochs:
        scheduler.step(epoch)
        out.append(scheduler.get_last_lr()[0])
    return out


@needs_torch
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["constant", "polynomial", "warm_restarts", "warm_restarts_mult"])
def test_stepping_to_an_epoch_matches_torch(name):
    epochs = [0, 1, 2.5, 7, 3, 12.25, 4, 30]
    assert _last_lrs(lazygrad, name, epochs) == pytest.approx(_last_lrs(torch, name, epochs), rel=1e-13)


@pytest.mark.parametrize("name", ["cyclic_scale_fn", "chained_cyclic", "warm_restarts_mult"])
def test_state_dict_resumes_the_schedule(name):
    def schedule():
        opt = optim.SGD([nn.Parameter(lazygrad.zeros(1))], lr=0.1, momentum=0.9)
        return opt, SCHEDULERS[name][1](lazygrad, opt)

    opt, scheduler = schedule()
    for _ in range(5):
        scheduler.step()
    fresh_opt, fresh = schedule()
    fresh_opt.load_state_dict(opt.state_dict())
    fresh.load_state_dict(scheduler.state_dict())
    for _ in range(5):
        scheduler.step()
        fresh.step()
        assert fresh.get_last_lr() == scheduler.get_last_lr()


def test_polynomial_values_by_hand():
    opt = optim.SGD([nn.Parameter(lazygrad.zeros(1))], lr=1.0)
    scheduler = lr_scheduler.PolynomialLR(opt, total_iters=4, power=2.0)
    seen = [scheduler.get_last_lr()[0]]
    for _ in range(5):
        scheduler.step()
        seen.append(scheduler.get_last_lr()[0])
    assert seen == pytest.approx([1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0])


ERRORS = [
    (lambda o: lr_scheduler.ConstantLR(o, factor=2.0), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 0), ValueError, "Expected positive integer T_0, but got 0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 2, T_mult=0), ValueError,
     "Expected integer T_mult >= 1, but got 0"),
    (lambda o: lr_scheduler.CyclicLR(o, 0.1, 1.0, mode="sine"), ValueError, "mode is invalid and scale_fn is None"),
    (lambda o: lr_scheduler.CyclicLR(optim.Adagrad(o.param_groups[0]["params"]), 0.1, 1.0), ValueError,
     "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"),
    (lambda o: lr_scheduler.MultiplicativeLR(o, 0.5), TypeError, "lr_lambda should be a function, but got float"),
    (lambda o: lr_scheduler.ChainedScheduler([]), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_match_torch(index):
    make, kind, message = ERRORS[index]
    with pytest.raises(kind) as error:
        make(optim.SGD([nn.Parameter(lazygrad.zeros(1))], lr=0.1, momentum=0.9))
    assert str(error.value) == message


def schedule_order_warnings(T, order: str) -> list[str]:
    """The warnings of three epochs of a scheduler and its optimizer stepped in ``order``."""
    p = T.zeros(1, requires_grad=True)
    opt = T.optim.SGD([p], lr=1.0)
    scheduler = T.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    if order == "overridden":
        opt.step = lambda *args: None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            calls = [scheduler.step, opt.step] if order == "scheduler first" else [opt.step, scheduler.step]
            for call in calls:
                call()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("order", ["scheduler first", "optimizer first", "overridden"])
def test_a_scheduler_stepped_before_its_optimizer_warns_once_as_torch_does(order):
    got = schedule_order_warnings(lazygrad, order)
    assert len(got) == (0 if order == "optimizer first" else 1)
    if HAS_TORCH:
        assert got == schedule_order_warnings(torch, order)
