"""``torch.optim.swa_utils`` against torch: averaged weights (running mean, EMA by one-tensor and list
functions, buffers included or copied), the recomputed batch norm statistics and SWALR's rates; an update
reads nothing, so averaging every step stays inside the step's program."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
if HAS_TORCH:
    import torch

X = np.random.default_rng(2).standard_normal((4, 1, 5, 5)).astype(np.float32)

AVERAGING = {
    "swa": lambda su: {},
    "ema_multi": lambda su: {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9)},
    "ema_one": lambda su: {"avg_fn": su.get_ema_avg_fn(0.8)},
    "swa_multi": lambda su: {"multi_avg_fn": su.get_swa_multi_avg_fn()},
    "swa_buffers": lambda su: {"use_buffers": True},
    "ema_multi_buffers": lambda su: {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9), "use_buffers": True},
}


def _train_and_average(lib, averaging):
    """Three SGD steps of a small conv net, averaged after each; then update_bn over two batches."""
    lib.manual_seed(0)
    nn, su = lib.nn, lib.optim.swa_utils
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(27, 2))
    averaged = su.AveragedModel(model, **averaging(su))
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    schedule = su.SWALR(opt, swa_lr=0.02, anneal_epochs=2, anneal_strategy="linear")
    x, rates = lib.tensor(X), []
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        averaged.update_parameters(model)
        schedule.step()
        rates.append(schedule.get_last_lr()[0])
    states = [dict(averaged.state_dict())]
    su.update_bn([(x[:2],), (x[2:],)], averaged)
    states.append(dict(averaged.state_dict()))
    return states, rates, averaged(x)


@pytest.mark.parametrize("name", list(AVERAGING))
def test_averaged_model_matches_torch(name: str) -> None:
    (ours, our_rates, our_out) = _train_and_average(lazygrad, AVERAGING[name])
    (theirs, their_rates, their_out) = _train_and_average(torch, AVERAGING[name])
    assert our_rates == pytest.approx(their_rates)
    for got, want in zip(ours, theirs):
        assert list(got) == list(want)
        for key in want:
            assert_close(got[key], want[key].detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_close(our_out, their_out.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_update_reads_nothing() -> None:
    model = lazygrad.nn.Linear(2, 2)
    averaged = lazygrad.optim.swa_utils.AveragedModel(model)
    lazygrad.step()
    before = lazygrad.metrics()["executions"]
    for _ in range(3):
        with lazygrad.no_grad():
            model.weight.add_(1.0)
        averaged.update_parameters(model)
    assert lazygrad.metrics()["executions"] == before
    assert_close(averaged.module.weight, (model.weight - 1.0).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert int(averaged.n_averaged) == 3


def test_checks_match_torch() -> None:
    for lib in (torch, lazygrad):
        su = lib.optim.swa_utils
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\]"):
            su.get_ema_multi_avg_fn(1.5)
        opt = lib.optim.SGD(lib.nn.Linear(1, 1).parameters(), lr=0.1)
        with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got exp"):
            su.SWALR(opt, 0.1, anneal_strategy="exp")
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn should be provided"):
            su.AveragedModel(lib.nn.Linear(1, 1), avg_fn=su.get_swa_avg_fn(), multi_avg_fn=su.get_swa_multi_avg_fn())
