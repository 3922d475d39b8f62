"""``nn.utils.prune`` against torch, on the pruning tutorial's LeNet: each method's mask after the same seed,
iterative pruning through a ``PruningContainer``, global pruning, ties in top-k broken as torch's CPU kernel
breaks them, ``remove``, state dict keys, printed hooks, gradients that reach unpruned weights only, a custom
method, and torch's errors for bad amounts."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close
from hypothesis import given
from hypothesis import strategies as st

import lazygrad
from lazygrad.nn.utils import prune
from lazygrad.nn.utils.topk_ties import torch_topk_positions

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
if HAS_TORCH:
    import torch
    import torch.nn.utils.prune


def lenet(lib):
    """The tutorial's LeNet, built from ``lib`` (lazygrad or torch) after seeding it."""
    nn, F = lib.nn, lib.nn.functional

    class LeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    lib.manual_seed(0)
    return LeNet()


def pruned(lib, steps):
    """A seeded LeNet after ``steps(prune_module, model)``, with the global generator seeded again before."""
    model = lenet(lib)
    lib.manual_seed(1)
    steps(lib.nn.utils.prune, model)
    return model


def masks(model) -> dict[str, np.ndarray]:
    return {name: buffer.detach().numpy() for name, buffer in model.named_buffers()}


def assert_masks_like_torch(steps) -> None:
    ours, theirs = masks(pruned(lazygrad, steps)), masks(pruned(torch, steps))
    assert list(ours) == list(theirs)
    for name in theirs:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def raised(fn) -> tuple[str, str]:
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


METHODS = {
    "random_unstructured": lambda p, m: p.random_unstructured(m.conv1, "weight", amount=0.3),
    "l1_unstructured": lambda p, m: p.l1_unstructured(m.fc1, "weight", amount=0.4),
    "l1_unstructured_count": lambda p, m: p.l1_unstructured(m.conv1, "bias", amount=3),
    "random_structured": lambda p, m: p.random_structured(m.conv2, "weight", amount=0.5, dim=0),
    "ln_structured": lambda p, m: p.ln_structured(m.conv1, "weight", amount=0.5, n=2, dim=0),
    "ln_structured_l1_columns": lambda p, m: p.ln_structured(m.fc2, "weight", amount=7, n=1, dim=-1),
    "ln_structured_inf": lambda p, m: p.ln_structured(m.conv2, "weight", amount=0.25, n=float("inf"), dim=1),
    "identity": lambda p, m: p.identity(m.fc3, "bias"),
    "custom_from_mask": lambda p, m: p.custom_from_mask(m.fc3, "bias", m.fc3.bias > 0),
    "amount_zero": lambda p, m: p.random_unstructured(m.fc3, "weight", amount=0.0),
}


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("method", METHODS)
def test_each_method_masks_like_torch(method) -> None:
    assert_masks_like_torch(METHODS[method])


@needs_torch
def test_iterative_pruning_combines_masks_like_torch() -> None:
    """Structured after unstructured after structured: each prunes only what the earlier ones left."""

    def steps(p, m):
        p.random_unstructured(m.conv1, "weight", amount=0.3)
        p.ln_structured(m.conv1, "weight", amount=0.5, n=2, dim=0)
        p.random_structured(m.conv1, "weight", amount=1, dim=0)
        p.l1_unstructured(m.conv1, "weight", amount=0.25)

    assert_masks_like_torch(steps)
    model = pruned(lazygrad, steps)
    (hook,) = model.conv1._forward_pre_hooks.values()
    assert isinstance(hook, prune.PruningContainer)
    assert [type(method).__name__ for method in hook] == ["RandomUnstructured", "LnStructured", "RandomStructured",
                                                           "L1Unstructured"]
    assert_close(model.conv1.weight, (model.conv1.weight_orig * model.conv1.weight_mask).detach().numpy())


GLOBAL = ("conv1", "conv2", "fc1", "fc2", "fc3")


def globally_pruned(p, m):
    p.l1_unstructured(m.fc3, "weight", amount=0.5)  # already pruned units are left out of the global choice
    p.global_unstructured([(getattr(m, name), "weight") for name in GLOBAL], pruning_method=p.L1Unstructured,
                          amount=0.2)


@needs_torch
@pytest.mark.backend_agnostic
def test_global_unstructured_sparsity_like_torch() -> None:
    ours, theirs = pruned(lazygrad, globally_pruned), pruned(torch, globally_pruned)
    counts = [[int((getattr(model, name).weight == 0).sum()) for name in GLOBAL] for model in (ours, theirs)]
    assert counts[0] == counts[1]
    assert sum(counts[0]) == 420 + round(0.2 * (54 + 864 + 48000 + 10080 + 840 - 420))
    assert_masks_like_torch(globally_pruned)


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("amount", [3, 0.3])  # 64 * k <= n (torch takes a partial sort) and not (nth_element)
@pytest.mark.parametrize("levels", [1, 3])
def test_l1_ties_prune_torchs_units(amount, levels) -> None:
    """Scores with few distinct values tie at the boundary; torch's CPU topk decides which of them go."""
    scores = np.random.default_rng(levels).integers(0, levels, (84, 120)).astype(np.float32)

    def steps(p, m):
        lib = torch if p is torch.nn.utils.prune else lazygrad
        p.l1_unstructured(m.fc2, "weight", amount=amount, importance_scores=lib.tensor(scores))

    assert_masks_like_torch(steps)


@needs_torch
@pytest.mark.backend_agnostic
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, -1.0, float("nan")]), min_size=1, max_size=300), st.data())
def test_topk_positions_are_torch_cpu_topks(values, data) -> None:
    array = np.array(values, np.float32)
    k = data.draw(st.integers(0, len(values)))
    largest = data.draw(st.booleans())
    want = sorted(torch.topk(torch.from_numpy(array), k, largest=largest).indices.tolist())
    assert torch_topk_positions(array, k, largest).tolist() == want


@pytest.mark.backend_agnostic
def test_remove_makes_pruning_permanent() -> None:
    model = lenet(lazygrad)
    orig = model.conv1.weight
    prune.l1_unstructured(model.conv1, "weight", amount=0.5)
    pruned_values = model.conv1.weight.detach().numpy()
    prune.remove(model.conv1, "weight")
    assert [name for name, _ in model.conv1.named_parameters()] == ["bias", "weight"]
    assert list(model.conv1.named_buffers()) == []
    assert model.conv1.weight is orig
    np.testing.assert_array_equal(orig.detach().numpy(), pruned_values)
    assert (pruned_values == 0).sum() == 27
    assert not prune.is_pruned(model)


@pytest.mark.backend_agnostic
def test_is_pruned_sees_submodules() -> None:
    model = lenet(lazygrad)
    assert not prune.is_pruned(model)
    prune.identity(model.fc2, "bias")
    assert prune.is_pruned(model)


@needs_torch
@pytest.mark.backend_agnostic
def test_state_dict_and_names_like_torch() -> None:
    def steps(p, m):
        p.random_unstructured(m.conv1, "weight", amount=0.3)
        p.l1_unstructured(m.conv1, "bias", amount=3)

    ours, theirs = pruned(lazygrad, steps), pruned(torch, steps)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict())[:4] == ["conv1.weight_orig", "conv1.bias_orig", "conv1.weight_mask",
                                           "conv1.bias_mask"]
    assert [n for n, _ in ours.conv1.named_parameters()] == [n for n, _ in theirs.conv1.named_parameters()]
    assert ours.conv1.weight.grad_fn.name() == theirs.conv1.weight.grad_fn.name() == "MulBackward0"


def printed_hooks(module) -> str:
    """The printed hook table with object addresses and hook ids (global counters) blanked."""
    text = re.sub(r"0x[0-9a-f]+", "ADDRESS", repr(module._forward_pre_hooks))
    return re.sub(r"\(\d+, <", "(ID, <", text)


@needs_torch
@pytest.mark.backend_agnostic
def test_hook_table_prints_like_torch() -> None:
    def steps(p, m):
        p.random_unstructured(m.conv1, "weight", amount=0.3)
        p.l1_unstructured(m.conv1, "bias", amount=3)

    ours, theirs = pruned(lazygrad, steps), pruned(torch, steps)
    assert printed_hooks(ours.conv1) == printed_hooks(theirs.conv1)
    assert printed_hooks(ours.conv1).startswith("OrderedDict([(ID, <torch.nn.utils.prune.RandomUnstructured object")


MLP_INPUT = np.random.default_rng(3).standard_normal((4, 400)).astype(np.float32)


def trained_mlp(lib):
    """The LeNet's fully connected layers pruned, then one SGD step: gradients, updated weights, next weights."""
    model = lenet(lib)
    lib.manual_seed(1)
    lib.nn.utils.prune.l1_unstructured(model.fc1, "weight", amount=0.5)
    lib.nn.utils.prune.ln_structured(model.fc2, "weight", amount=0.5, n=2, dim=0)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    F = lib.nn.functional
    x = lib.tensor(MLP_INPUT)
    model.fc3(F.relu(model.fc2(F.relu(model.fc1(x))))).pow(2).mean().backward()
    grads = [model.fc1.weight_orig.grad.numpy().copy(), model.fc2.weight_orig.grad.numpy().copy()]
    optimizer.step()
    model.fc1(x)  # the pre-hook recomputes the pruned weight from the updated original
    return grads, [model.fc1.weight.detach().numpy(), model.fc1.weight_mask.numpy(), model.fc2.weight_mask.numpy()]


@needs_torch
def test_gradients_reach_unpruned_weights_only_like_torch() -> None:
    (ours, our_state), (theirs, their_state) = trained_mlp(lazygrad), trained_mlp(torch)
    for got, want in zip(ours, theirs):
        assert_close(got, want, rtol=1e-4, atol=1e-6)
    weight, fc1_mask, fc2_mask = our_state
    assert not ours[0][fc1_mask == 0].any() and not ours[1][fc2_mask == 0].any()
    assert ours[0][fc1_mask == 1].any()
    assert not weight[fc1_mask == 0].any()
    assert_close(weight, their_state[0], rtol=1e-4, atol=1e-6)


class FooBarPruningMethod(prune.BasePruningMethod):
    """The tutorial's custom method: prune every other entry."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        mask = default_mask.clone()
        mask.view(-1)[::2] = 0
        return mask


@pytest.mark.backend_agnostic
def test_custom_method_like_tutorial() -> None:
    model = lenet(lazygrad)
    FooBarPruningMethod.apply(model.fc3, "bias")
    np.testing.assert_array_equal(model.fc3.bias_mask.numpy(), np.tile([0.0, 1.0], 5))
    (hook,) = model.fc3._forward_pre_hooks.values()
    assert repr(hook).startswith(f"<{__name__}.FooBarPruningMethod object at 0x")
    # a second pruning chooses among the entries left: every other one of them
    FooBarPruningMethod.apply(model.fc3, "bias")
    np.testing.assert_array_equal(model.fc3.bias_mask.numpy(), [0, 0, 0, 1, 0, 0, 0, 1, 0, 0])


@needs_torch
@pytest.mark.backend_agnostic
def test_prune_a_tensor_outside_a_module_like_torch() -> None:
    values = np.random.default_rng(4).standard_normal((5, 6)).astype(np.float32)
    mask = (np.arange(30) % 3 != 0).reshape(5, 6).astype(np.float32)
    for make in (lambda p: p.L1Unstructured(amount=7), lambda p: p.LnStructured(amount=2, n=1, dim=0)):
        got = make(prune).prune(lazygrad.tensor(values), default_mask=lazygrad.tensor(mask))
        want = make(torch.nn.utils.prune).prune(torch.tensor(values), default_mask=torch.tensor(mask))
        np.testing.assert_array_equal(got.numpy(), want.numpy())

ERRORS = {
    "negative count": lambda p, m: p.random_unstructured(m.fc3, "weight", amount=-1),
    "fraction above one": lambda p, m: p.l1_unstructured(m.fc3, "weight", amount=1.5),
    "not a number": lambda p, m: p.l1_unstructured(m.fc3, "weight", amount="0.3"),
    "more than the units": lambda p, m: p.l1_unstructured(m.fc3, "bias", amount=11),
    "more than the channels": lambda p, m: p.random_structured(m.fc3, "weight", amount=11, dim=0),
    "structured on a vector": lambda p, m: p.ln_structured(m.fc3, "bias", amount=1, n=2, dim=0),
    "dim out of range": lambda p, m: p.random_structured(m.fc3, "weight", amount=1, dim=2),
    "scores of another shape": lambda p, m: p.l1_unstructured(m.fc3, "bias", 1, importance_scores=m.fc2.bias),
    "structured global pruning": lambda p, m: p.global_unstructured([(m.fc3, "weight")], p.RandomStructured,
                                                                     amount=1),
    "removing unpruned": lambda p, m: p.remove(m.fc3, "weight"),
}


@needs_torch
@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", ERRORS)
def test_errors_like_torch(case) -> None:
    ours, theirs = lenet(lazygrad), lenet(torch)
    assert raised(lambda: ERRORS[case](prune, ours)) == raised(lambda: ERRORS[case](torch.nn.utils.prune, theirs))
    # a failed pruning gives the parameter back (last, in torch's order too) and keeps no mask
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.named_buffers()) == []


@pytest.mark.backend_agnostic
def test_random_structured_mask_stays_lazy() -> None:
    model = lenet(lazygrad)
    lazygrad.reset_metrics()
    prune.random_structured(model.conv2, "weight", amount=0.5, dim=0)
    prune.custom_from_mask(model.fc3, "bias", lazygrad.ones(10))
    assert lazygrad.metrics()["executions"] == 0
    assert int((model.conv2.weight_mask.sum(dim=(1, 2, 3)) == 0).sum()) == 8
