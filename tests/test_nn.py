"""lazygrad.nn: Parameter identity, Module bookkeeping, layers, functional ops, losses and init, vs torch."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from helpers import check_like_torch

import lazygrad
from lazygrad import nn
from lazygrad.nn import functional as F
from lazygrad.nn import init

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
RNG_SEED = 1234


def rand(*shape: int, seed: int = RNG_SEED) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    a = actual.detach().numpy() if isinstance(actual, lazygrad.Tensor) else np.asarray(actual)
    e = expected.detach().numpy() if torch is not None and isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def assert_matches_torch(fn, *arrays: np.ndarray, grads: list[bool] | None = None, rtol: float = 1e-5,
                         atol: float = 1e-6) -> None:
    """``fn(F, *tensors)`` gives the same value and input gradients with lazygrad and torch."""
    check_like_torch(lambda T, *t: fn(T.nn.functional, *t), *arrays, grads=grads, grad_fn=False, rtol=rtol, atol=atol)


# ---- Parameter --------------------------------------------------------------------------------------------


def test_parameter_is_a_leaf_that_requires_grad():
    p = nn.Parameter(lazygrad.ones(2))
    assert isinstance(p, lazygrad.Tensor) and p.is_leaf and p.requires_grad


def test_parameter_repr_has_torch_prefix():
    assert repr(nn.Parameter(lazygrad.ones(2))) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"


def test_parameter_without_grad_prints_plain_tensor():
    assert repr(nn.Parameter(lazygrad.ones(2), requires_grad=False)) == "Parameter containing:\ntensor([1., 1.])"


def test_parameter_gets_its_own_node():
    data = lazygrad.ones(2)
    assert nn.Parameter(data).node is not data.node


def test_parameter_shares_storage_with_its_source():
    data = lazygrad.zeros(2)
    p = nn.Parameter(data)
    with lazygrad.no_grad():
        p.add_(1.0)
    assert data.tolist() == [1.0, 1.0]


def test_operations_on_parameters_return_plain_tensors():
    assert type(nn.Parameter(lazygrad.ones(2)) * 2) is lazygrad.Tensor


def test_integer_parameter_requiring_grad_is_rejected():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(lazygrad.tensor([1, 2]))


def test_deepcopy_of_parameter_is_independent():
    p = nn.Parameter(lazygrad.zeros(2))
    q = copy.deepcopy(p)
    with lazygrad.no_grad():
        q.add_(1.0)
    assert (type(q), p.tolist(), q.tolist()) == (nn.Parameter, [0.0, 0.0], [1.0, 1.0])


def test_gradient_accumulates_on_parameter():
    p = nn.Parameter(lazygrad.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]


# ---- Module bookkeeping -----------------------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.scale = nn.Parameter(lazygrad.ones(3))
        self.register_buffer("count", lazygrad.tensor(0))
        self.register_buffer("scratch", lazygrad.zeros(3), persistent=False)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


def test_named_parameters_list_own_parameters_before_children():
    assert [n for n, _ in Block().named_parameters()] == ["scale", "fc.weight", "fc.bias"]


def test_named_buffers_include_non_persistent_ones():
    assert [n for n, _ in Block().named_buffers()] == ["count", "scratch"]


def test_state_dict_skips_non_persistent_buffers():
    assert list(Block().state_dict()) == ["scale", "count", "fc.weight", "fc.bias"]


def test_children_and_modules():
    block = Block()
    assert [type(m).__name__ for m in block.children()] == ["Linear", "ReLU"]
    assert [n for n, _ in block.named_modules()] == ["", "fc", "act"]


def test_shared_parameter_is_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, lin)
    assert len(list(model.parameters())) == 2


def test_assigning_plain_tensor_to_parameter_slot_raises():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'torch\.FloatTensor' as parameter 'weight'"):
        lin.weight = lazygrad.zeros(2, 2)


def test_assigning_none_to_parameter_slot_drops_it():
    lin = nn.Linear(2, 2)
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_missing_attribute_error_names_the_module():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = nn.Linear(1, 1).nope


def test_delattr_unregisters_a_submodule():
    block = Block()
    del block.act
    assert [n for n, _ in block.named_children()] == ["fc"]


def test_train_and_eval_propagate_to_children():
    model = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.Dropout()))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none_by_default():
    lin = nn.Linear(2, 1)
    lin(lazygrad.ones(1, 2)).sum().backward()
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_zero_grad_without_set_to_none_zeroes_in_place():
    lin = nn.Linear(2, 1)
    lin(lazygrad.ones(1, 2)).sum().backward()
    grad = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad and grad.tolist() == [[0.0, 0.0]]


def test_apply_visits_children_before_parent():
    seen = []
    nn.Sequential(nn.Linear(1, 1), nn.ReLU()).apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]


def test_forward_hook_sees_inputs_and_can_replace_output():
    lin = nn.Linear(2, 2)
    calls = []

    def hook(module, inputs, output):
        calls.append((module, len(inputs)))
        return output * 0

    handle = lin.register_forward_hook(hook)
    assert lin(lazygrad.ones(1, 2)).tolist() == [[0.0, 0.0]]
    assert calls == [(lin, 1)]
    handle.remove()
    lin(lazygrad.ones(1, 2))
    assert len(calls) == 1


def test_module_without_forward_raises_torch_message():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(1)


def test_to_double_converts_floats_and_keeps_parameter_identity():
    bn = nn.BatchNorm1d(2)
    weight = bn.weight
    bn.to(lazygrad.float64)
    assert bn.weight is weight and weight.dtype is lazygrad.float64
    assert bn.running_mean.dtype is lazygrad.float64 and bn.num_batches_tracked.dtype is lazygrad.int64


def test_building_a_model_runs_nothing():
    before = lazygrad.metrics()["executions"]
    nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.BatchNorm1d(8))
    assert lazygrad.metrics()["executions"] == before


# ---- containers -------------------------------------------------------------------------------------------


def test_sequential_indexing_and_slicing():
    model = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    assert isinstance(model[-1], nn.Linear) and len(model[1:]) == 2 and isinstance(model[1:], nn.Sequential)


def test_sequential_runs_modules_in_order():
    model = nn.Sequential(nn.Identity(), nn.ReLU())
    assert model(lazygrad.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


def test_module_list_registers_appended_modules():
    layers = nn.ModuleList([nn.Linear(1, 1)])
    layers.append(nn.Linear(1, 1))
    assert len(layers) == 2 and len(list(layers.parameters())) == 4


def test_module_dict_keeps_insertion_order():
    layers = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(layers.keys()) == ["b", "a"] and isinstance(layers["a"], nn.Tanh)


def test_parameter_list_registers_its_tensors_as_parameters():
    holder = nn.Module()
    holder.ws = nn.ParameterList([nn.Parameter(lazygrad.zeros(2)), lazygrad.ones(3)])
    holder.ws.append(lazygrad.zeros(1))
    assert [name for name, _ in holder.named_parameters()] == ["ws.0", "ws.1", "ws.2"]
    assert isinstance(holder.ws[-2], nn.Parameter) and holder.ws[1].requires_grad
    assert [p.shape for p in holder.ws[1:]] == [(3,), (1,)]


def test_parameter_dict_sorts_a_plain_dict_and_keeps_insertion_order_after():
    params = nn.ParameterDict({"w": lazygrad.zeros(2, 2), "b": nn.Parameter(lazygrad.ones(2))})
    params["a"] = lazygrad.zeros(3)
    assert list(params) == ["b", "w", "a"] and isinstance(params["a"], nn.Parameter)
    assert params.pop("w").shape == (2, 2) and list(params.keys()) == ["b", "a"] and len(params) == 2


@needs_torch
@pytest.mark.parametrize("sizes", [[(2,)], [(2,), (3, 4)]])
def test_parameter_containers_print_like_torch(sizes):
    def build(lib):
        tensors = [lib.zeros(*size) for size in sizes]
        return (lib.nn.ParameterList(tensors), lib.nn.ParameterDict({f"p{i}": t for i, t in enumerate(tensors)}),
                lib.nn.ParameterList())

    assert [repr(c) for c in build(lazygrad)] == [repr(c) for c in build(torch)]


# ---- repr -------------------------------------------------------------------------------------------------

REPRS = [
    "Sequential(Linear(2, 3), ReLU())",
    "Linear(4, 5, bias=False)",
    "Sequential(GELU(), GELU(approximate='tanh'), SiLU(), LeakyReLU(0.2), Tanh(), Sigmoid())",
    "Sequential(Softmax(dim=1), LogSoftmax(), Flatten(), Identity(), Dropout(0.25))",
    "Sequential(LayerNorm(4), LayerNorm([2, 3], elementwise_affine=False), BatchNorm1d(3, momentum=None))",
    "Sequential(CrossEntropyLoss(), MSELoss(), L1Loss(), NLLLoss(), BCEWithLogitsLoss())",
    "ModuleList([Linear(1, 1), Linear(1, 1), ReLU(), Linear(1, 1)])",
    "ModuleDict({'enc': Sequential(Linear(1, 2), ReLU()), 'head': Linear(2, 1)})",
    "Sequential(ModuleList(), Sequential(), ReLU(inplace=True))",
]


@needs_torch
@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(expr):
    assert repr(eval(expr, vars(nn))) == repr(eval(expr, vars(torch.nn)))


# ---- state dict -------------------------------------------------------------------------------------------


def test_state_dict_round_trip_reproduces_outputs():
    source, target = Block(), Block()
    target.load_state_dict(source.state_dict())
    x = lazygrad.tensor(rand(3, 2))
    close(target(x), source(x).detach())


def test_state_dict_entries_follow_in_place_updates():
    lin = nn.Linear(1, 1)
    state = lin.state_dict()
    with lazygrad.no_grad():
        lin.weight.fill_(3.0)
    assert state["weight"].tolist() == [[3.0]]


def test_state_dict_entries_do_not_require_grad():
    assert not any(v.requires_grad for v in nn.Linear(1, 1).state_dict().values())


def test_load_state_dict_accepts_numpy_arrays():
    lin = nn.Linear(2, 1)
    lin.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([0.5])})
    assert lin(lazygrad.ones(1, 2)).tolist() == [[3.5]]


def test_load_state_dict_returns_all_keys_matched():
    assert repr(nn.Linear(1, 1).load_state_dict(nn.Linear(1, 1).state_dict())) == "<All keys matched successfully>"


def test_load_state_dict_non_strict_reports_keys():
    result = nn.Linear(1, 1).load_state_dict({"weight": np.ones((1, 1)), "extra": np.ones(1)}, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (["bias"], ["extra"])


def _torch_error(module_expr: str, state: dict) -> str:
    with pytest.raises(RuntimeError) as info:
        eval(module_expr, vars(torch.nn)).load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return str(info.value)


@needs_torch
@pytest.mark.parametrize("state", [
    {"weight": np.zeros((3, 2), np.float32)},
    {"weight": np.zeros((3, 3), np.float32), "bias": np.zeros(3, np.float32), "foo": np.zeros(1, np.float32)},
    {"0.weight": np.zeros((3, 2), np.float32), "0.bias": np.zeros(3, np.float32), "1.weight": np.zeros(1)},
], ids=["missing", "unexpected-and-size", "nested"])
def test_load_state_dict_errors_match_torch(state):
    expr = "Sequential(Linear(2, 3))" if "0.weight" in state else "Linear(2, 3)"
    with pytest.raises(RuntimeError) as info:
        eval(expr, vars(nn)).load_state_dict(state)
    assert str(info.value) == _torch_error(expr, state)


def test_load_state_dict_rejects_non_arrays():
    with pytest.raises(RuntimeError, match='While copying the parameter named "bias"'):
        nn.Linear(1, 1).load_state_dict({"weight": np.ones((1, 1)), "bias": "nope"})


# ---- init -------------------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                                  ("leaky_relu", 0.2), ("selu",)])
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(lazygrad.zeros(3))


def test_linear_default_init_stays_within_torch_bounds():
    lin = nn.Linear(400, 50)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


@pytest.mark.parametrize(("fn", "expected_std"), [
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2.0 * math.sqrt(2.0 / 600)),
    (lambda t: init.xavier_normal_(t), math.sqrt(2.0 / 600)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2.0 / 200)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2.0 / 400)),
    (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
], ids=["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "normal"])
def test_random_init_has_torch_spread(fn, expected_std):
    t = lazygrad.empty(400, 200)
    assert fn(t) is t
    assert t.numpy().std() == pytest.approx(expected_std, rel=0.05)


def test_constant_inits_fill_in_place():
    t = lazygrad.empty(2)
    assert init.constant_(t, 0.5).tolist() == [0.5, 0.5]
    assert init.ones_(t).tolist() == [1.0, 1.0] and init.zeros_(t).tolist() == [0.0, 0.0]


def test_init_of_parameter_records_no_history():
    p = nn.Parameter(lazygrad.zeros(3, 3))
    init.kaiming_uniform_(p)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_init_stays_lazy():
    p = nn.Parameter(lazygrad.zeros(3, 3))
    before = lazygrad.metrics()["executions"]
    init.xavier_normal_(p)
    assert lazygrad.metrics()["executions"] == before


# ---- functional ops vs torch ------------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": lambda f, x: f.relu(x),
    "gelu": lambda f, x: f.gelu(x),
    "gelu_tanh": lambda f, x: f.gelu(x, approximate="tanh"),
    "silu": lambda f, x: f.silu(x),
    "leaky_relu": lambda f, x: f.leaky_relu(x, 0.1),
    "logsigmoid": lambda f, x: f.logsigmoid(x),
    "softmax": lambda f, x: f.softmax(x, dim=1),
    "log_softmax": lambda f, x: f.log_softmax(x, dim=0),
    "sigmoid": lambda f, x: f.sigmoid(x),
    "tanh": lambda f, x: f.tanh(x),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name):
    assert_matches_torch(ACTIVATIONS[name], rand(4, 5) * 3)


@needs_torch
def test_logsigmoid_is_stable_for_large_inputs():
    assert_matches_torch(lambda f, x: f.logsigmoid(x), np.array([-200.0, -30.0, 0.0, 30.0, 200.0], np.float32))


@needs_torch
def test_linear_on_batched_input_matches_torch():
    assert_matches_torch(lambda f, x, w, b: f.linear(x, w, b), rand(2, 3, 4), rand(5, 4, seed=1), rand(5, seed=2))


@needs_torch
def test_layer_norm_matches_torch():
    assert_matches_torch(lambda f, x, w, b: f.layer_norm(x, (3, 4), w, b), rand(2, 3, 4), rand(3, 4, seed=1),
                         rand(3, 4, seed=2), rtol=1e-4, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("pad", [(1, 2), (1, -1, 2, 0), (0, 0, -1, 3)])
def test_constant_pad_matches_torch(pad):
    assert_matches_torch(lambda f, x: f.pad(x, pad, value=1.5), rand(3, 4))


@needs_torch
def test_one_hot_matches_torch():
    target = np.array([2, 0, 1, 2])
    assert F.one_hot(lazygrad.tensor(target)).tolist() == torch.nn.functional.one_hot(torch.tensor(target)).tolist()


def test_one_hot_rejects_float_input():
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(lazygrad.ones(3))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(lazygrad.ones(1), approximate="fast")


def test_softmax_without_dim_warns_and_uses_torch_default():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(lazygrad.zeros(2, 4))
    close(out, np.full((2, 4), 0.25, np.float32))


# ---- dropout ----------------------------------------------------------------------------------------------


def test_dropout_in_eval_mode_is_identity():
    drop = nn.Dropout(0.5).eval()
    x = lazygrad.ones(4)
    assert drop(x) is x


def test_dropout_zeroes_a_fraction_and_rescales_survivors():
    out = nn.Dropout(0.25)(lazygrad.ones(20000)).numpy()
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.75], rtol=1e-6)
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.02)


def test_dropout_gradient_uses_the_same_mask():
    x = lazygrad.ones(1000, requires_grad=True)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    close(x.grad, out.detach())


def test_dropout_steps_reuse_one_program():
    drop = nn.Dropout(0.5)
    x = lazygrad.ones(64).realize()
    drop(x).numpy()
    before = lazygrad.metrics()["compiles"]
    draws = [drop(x).numpy() for _ in range(3)]
    assert lazygrad.metrics()["compiles"] == before
    assert not np.array_equal(draws[0], draws[1])


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1\.5"):
        nn.Dropout(1.5)


# ---- batch norm -------------------------------------------------------------------------------------------


def _batch_norm_pair(**kwargs):
    ours, theirs = nn.BatchNorm1d(3, **kwargs), torch.nn.BatchNorm1d(3, **kwargs)
    if kwargs.get("affine", True):
        ours.load_state_dict({"weight": rand(3, seed=5), "bias": rand(3, seed=6)}, strict=False)
        theirs.load_state_dict({"weight": torch.tensor(rand(3, seed=5)), "bias": torch.tensor(rand(3, seed=6))},
                               strict=False)
    return ours, theirs


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False}], ids=["ema", "cumulative", "plain"])
def test_batch_norm_training_matches_torch_outputs_and_running_stats(kwargs):
    ours, theirs = _batch_norm_pair(**kwargs)
    for seed in (1, 2):
        x = rand(6, 3, seed=seed)
        close(ours(lazygrad.tensor(x)), theirs(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        close(getattr(ours, name), getattr(theirs, name), rtol=1e-5, atol=1e-6)


@needs_torch
def test_batch_norm_eval_uses_running_stats_like_torch():
    ours, theirs = _batch_norm_pair()
    x = rand(4, 3, 5)
    ours(lazygrad.tensor(x))
    theirs(torch.tensor(x))
    ours.eval()
    theirs.eval()
    close(ours(lazygrad.tensor(x)), theirs(torch.tensor(x)), rtol=1e-4, atol=1e-5)


@needs_torch
def test_batch_norm_gradients_match_torch():
    def fn(f, x, w, b):
        return f.batch_norm(x, None, None, w, b, training=True)

    assert_matches_torch(fn, rand(5, 3, 2), rand(3, seed=1), rand(3, seed=2), rtol=1e-4, atol=1e-5)


@needs_torch
def test_batch_norm_2d_matches_torch_in_training_and_eval():
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    x = rand(4, 3, 2, 5)
    close(ours(lazygrad.tensor(x)), theirs(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    close(ours.running_var, theirs.running_var, rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    close(ours(lazygrad.tensor(x)), theirs(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        ours(lazygrad.ones(2, 3))


def test_batch_norm_running_stats_update_lazily():
    bn = nn.BatchNorm1d(2)
    x = lazygrad.tensor(rand(4, 2)).realize()
    before = lazygrad.metrics()["executions"]
    bn(x)
    assert lazygrad.metrics()["executions"] == before
    assert bn.running_mean.node.buffer is None and int(bn.num_batches_tracked) == 1


def test_batch_norm_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(lazygrad.ones(1, 3))


def test_batch_norm_rejects_4d_input():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(lazygrad.ones(2, 3, 2, 2))


# ---- losses -----------------------------------------------------------------------------------------------

LABELS = np.array([0, 2, 1, 2, 4, 3])
LABELS_IGNORED = np.array([0, -100, 1, 2, -100, 3])
CLASS_WEIGHTS = np.array([0.5, 1.0, 2.0, 1.5, 0.25], np.float32)

CROSS_ENTROPY = {
    "mean": (lambda f, x, y: f.cross_entropy(x, y), LABELS),
    "sum": (lambda f, x, y: f.cross_entropy(x, y, reduction="sum"), LABELS),
    "none": (lambda f, x, y: f.cross_entropy(x, y, reduction="none"), LABELS),
    "ignore_index": (lambda f, x, y: f.cross_entropy(x, y), LABELS_IGNORED),
    "ignore_index_in_range": (lambda f, x, y: f.cross_entropy(x, y, ignore_index=2), LABELS),
    "weight": (lambda f, x, y, w: f.cross_entropy(x, y, weight=w), LABELS),
    "smoothing": (lambda f, x, y: f.cross_entropy(x, y, label_smoothing=0.2), LABELS_IGNORED),
    "weight_smoothing": (lambda f, x, y, w: f.cross_entropy(x, y, weight=w, label_smoothing=0.1), LABELS_IGNORED),
    "smoothing_none": (lambda f, x, y: f.cross_entropy(x, y, reduction="none", label_smoothing=0.3), LABELS_IGNORED),
    "nll": (lambda f, x, y: f.nll_loss(f.log_softmax(x, 1), y), LABELS_IGNORED),
    "nll_weight_sum": (lambda f, x, y, w: f.nll_loss(x, y, weight=w, reduction="sum"), LABELS),
}


@needs_torch
@pytest.mark.parametrize("case", sorted(CROSS_ENTROPY))
def test_class_index_loss_matches_torch(case):
    fn, labels = CROSS_ENTROPY[case]
    arrays = [rand(6, 5) * 2, labels] + ([CLASS_WEIGHTS] if fn.__code__.co_argcount == 4 else [])
    assert_matches_torch(fn, *arrays, grads=[True, False, False], rtol=1e-5, atol=1e-6)


@needs_torch
def test_cross_entropy_on_spatial_input_matches_torch():
    labels = np.array([[0, 1, 2, 1], [2, 2, 0, -100]])
    assert_matches_torch(lambda f, x, y: f.cross_entropy(x, y), rand(2, 3, 4), labels, grads=[True, False])


@needs_torch
def test_cross_entropy_on_unbatched_input_matches_torch():
    assert_matches_torch(lambda f, x, y: f.cross_entropy(x, y), rand(5), np.array(3), grads=[True, False])


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_with_probability_targets_matches_torch(smoothing):
    target = np.random.default_rng(3).dirichlet(np.ones(5), size=6).astype(np.float32)

    def fn(f, x, t, w):
        return f.cross_entropy(x, t, weight=w, label_smoothing=smoothing)

    assert_matches_torch(fn, rand(6, 5), target, CLASS_WEIGHTS, grads=[True, True, False])


def test_all_ignored_targets_give_nan_mean_like_torch():
    loss = F.cross_entropy(lazygrad.zeros(2, 3), lazygrad.tensor([-100, -100]))
    assert math.isnan(loss.item())


def test_cross_entropy_batch_mismatch_message():
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)\."):
        F.cross_entropy(lazygrad.zeros(3, 4), lazygrad.tensor([0, 1]))


@needs_torch
def test_cross_entropy_module_matches_functional_torch():
    x, y = rand(6, 5), LABELS_IGNORED
    ours = nn.CrossEntropyLoss(weight=lazygrad.tensor(CLASS_WEIGHTS), label_smoothing=0.1)(
        lazygrad.tensor(x), lazygrad.tensor(y))
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(CLASS_WEIGHTS), label_smoothing=0.1)(
        torch.tensor(x), torch.tensor(y))
    close(ours, theirs)


REGRESSION = {
    "mse": lambda f, x, y: f.mse_loss(x, y),
    "mse_sum": lambda f, x, y: f.mse_loss(x, y, reduction="sum"),
    "l1": lambda f, x, y: f.l1_loss(x, y),
    "l1_none": lambda f, x, y: f.l1_loss(x, y, reduction="none"),
    "bce_logits": lambda f, x, y: f.binary_cross_entropy_with_logits(x, y),
    "bce_logits_weighted": lambda f, x, y: f.binary_cross_entropy_with_logits(
        x, y, weight=y.detach() + 0.5, reduction="sum", pos_weight=x.detach().abs() + 1),
    "bce": lambda f, x, y: f.binary_cross_entropy(x.sigmoid(), y),
}


@needs_torch
@pytest.mark.parametrize("case", sorted(REGRESSION))
def test_regression_loss_matches_torch(case):
    target = np.random.default_rng(4).uniform(size=(4, 3)).astype(np.float32)
    # log(1 - sigmoid(x)) amplifies float32 rounding of sigmoid near 1, hence 1e-4.
    assert_matches_torch(REGRESSION[case], rand(4, 3) * 3, target, rtol=1e-4, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "BCEWithLogitsLoss"])
def test_regression_loss_module_matches_torch(name):
    x, y = rand(4, 3), np.random.default_rng(4).uniform(size=(4, 3)).astype(np.float32)
    close(getattr(nn, name)()(lazygrad.tensor(x), lazygrad.tensor(y)), getattr(torch.nn, name)()(
        torch.tensor(x), torch.tensor(y)))


def test_bce_with_logits_gradient_at_zero_is_torch_value():
    x = lazygrad.zeros(1, requires_grad=True)
    F.binary_cross_entropy_with_logits(x, lazygrad.ones(1)).backward()
    assert x.grad.tolist() == [-0.5]


def test_mse_loss_warns_on_broadcasting_target():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(lazygrad.zeros(3, 1), lazygrad.zeros(3))


def test_invalid_reduction_raises():
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.l1_loss(lazygrad.zeros(2), lazygrad.zeros(2), reduction="foo")


def test_loss_weight_is_a_buffer():
    loss = nn.CrossEntropyLoss(weight=lazygrad.ones(3))
    assert list(loss.state_dict()) == ["weight"]


def test_a_buffer_assigned_to_an_attribute_is_registered():
    """``self.b = nn.Buffer(t)`` registers ``b`` as ``register_buffer`` does; ``persistent=False`` keeps it out of
    the state dict. The buffer is the tensor detached, sharing its memory."""

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Buffer(lazygrad.ones(2))
            self.cache = nn.Buffer(lazygrad.zeros(1), persistent=False)

    model = Model()
    assert isinstance(model.scale, nn.Buffer) and isinstance(model.scale, lazygrad.Tensor)
    assert list(model.state_dict()) == ["scale"] and [n for n, _ in model.named_buffers()] == ["scale", "cache"]
    source = lazygrad.ones(3, requires_grad=True)
    kept = nn.Buffer(source)
    assert kept.requires_grad and kept.is_leaf and kept.grad_fn is None
    with lazygrad.no_grad():
        source.mul_(2)
    assert kept.tolist() == [2.0, 2.0, 2.0]
    model.double()
    assert model.scale.dtype == lazygrad.float64


def test_data_parallel_without_accelerators_runs_the_module():
    inner = nn.Linear(2, 3)
    wrapped = nn.DataParallel(inner)
    x = lazygrad.ones(4, 2)
    assert wrapped.module is inner and wrapped.device_ids == []
    assert lazygrad.equal(wrapped(x), inner(x))
    assert list(wrapped.state_dict()) == ["module.weight", "module.bias"]
    assert repr(wrapped) == "DataParallel(\n  (module): Linear(in_features=2, out_features=3, bias=True)\n)"
