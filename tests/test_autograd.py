"""Autograd behaves like torch's: leaves and ``.grad``, accumulation, grad modes, ``grad_fn`` records,
in-place rules, ``retain_graph``; gradients are checked against finite differences, jax and torch.
"""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_op, smooth_arrays
from hypothesis import given
from hypothesis import strategies as st

import lazygrad
from lazygrad.nn.functional_base import _as_op

if HAS_TORCH:
    import torch

# autograd rewrites the graph; test_backend_agreement.py runs its programs on every backend
pytestmark = pytest.mark.backend_agnostic

FREED = "Trying to backward through the graph a second time"
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
NOT_SCALAR = "grad can be implicitly created only for scalar outputs"
NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"

VECTOR = smooth_arrays((3,))
MATRIX = smooth_arrays((2, 3))
SMALL = smooth_arrays((3,), low=-1, high=1)  # keeps exp's values small enough for finite differences


def leaf(values=(1.0, 2.0, 3.0)):
    return lazygrad.tensor(list(values), requires_grad=True)


def modules():
    """The libraries a torch-semantics test runs on: lazygrad, and torch itself when it is installed."""
    return [lazygrad, torch] if HAS_TORCH else [lazygrad]


# ---- leaves, requires_grad and .grad ---------------------------------------------------------------------------


def test_a_created_tensor_is_a_leaf_that_does_not_require_grad():
    x = lazygrad.tensor([1.0, 2.0])
    assert x.is_leaf and not x.requires_grad and x.grad_fn is None and x.grad is None


def test_requires_grad_argument_and_requires_grad_underscore_make_a_leaf_that_requires_grad():
    a = lazygrad.ones(2, requires_grad=True)
    b = lazygrad.tensor([1.0, 2.0])
    assert b.requires_grad_() is b
    for t in (a, b):
        assert t.requires_grad and t.is_leaf and t.grad_fn is None
    assert not b.requires_grad_(False).requires_grad


def test_an_op_on_a_tensor_requiring_grad_is_a_non_leaf_with_a_grad_fn():
    y = leaf() * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        lazygrad.tensor([1, 2]).requires_grad_()


def test_requires_grad_of_a_non_leaf_cannot_be_switched_off():
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        (leaf() * 2).requires_grad_(False)


def test_grad_is_none_until_backward_then_holds_a_plain_tensor():
    x = leaf()
    y = (x * x).sum()
    assert x.grad is None
    y.backward()
    assert x.grad is not None and not x.grad.requires_grad and x.grad.is_leaf
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_a_non_leaf_has_no_grad_unless_it_retains_it():
    x = leaf()
    kept, dropped = x * 1, x * 1
    kept.retain_grad()
    (kept * kept + dropped).sum().backward()
    assert dropped.grad is None
    assert kept.retains_grad and kept.grad.tolist() == [2.0, 4.0, 6.0]


def test_gradients_accumulate_across_two_backwards_of_fresh_graphs():
    x = leaf()
    (x * x).sum().backward()
    (3 * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0, 9.0]


def test_grad_zero_resets_accumulation():
    x = leaf()
    (x * x).sum().backward()
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    (x * 4).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0, 4.0]


def test_setting_grad_to_none_starts_accumulation_afresh():
    x = leaf()
    (x * x).sum().backward()
    x.grad = None
    x.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_backward_of_a_leaf_itself_accumulates_the_seed():
    x = leaf()
    x.backward(lazygrad.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [1.0, 2.0, 3.0]


@given(x=VECTOR, v=VECTOR)
def test_backward_with_gradient_is_a_vector_jacobian_product(x, v):
    t = lazygrad.tensor(x, requires_grad=True)
    (t * t.exp()).backward(lazygrad.tensor(v))
    assert_close(t.grad, v * (1 + x) * np.exp(x))


def test_backward_of_a_non_scalar_without_gradient_raises_torchs_error():
    for T in modules():
        x = T.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=NOT_SCALAR):
            (x * 2).backward()


def test_backward_of_a_tensor_that_does_not_require_grad_raises_torchs_error():
    for T in modules():
        with pytest.raises(RuntimeError, match=NO_GRAD_FN):
            T.tensor([1.0, 2.0]).sum().backward()


def test_backward_with_a_gradient_of_the_wrong_shape_raises_torchs_error():
    for T in modules():
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of"):
            (x * 2).backward(T.tensor([1.0, 2.0]))


def test_realizing_before_backward_keeps_the_graph_differentiable():
    x = leaf()
    y = (x * x).sum()
    assert y.item() == 14.0
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


# ---- detach and .data -----------------------------------------------------------------------------------------


def test_detach_shares_values_without_history():
    x = leaf()
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    with lazygrad.no_grad():
        x.mul_(2)
    assert d.tolist() == [2.0, 4.0, 6.0]
    d.add_(1)  # shared storage: the leaf sees it, and stays a leaf requiring grad
    assert x.detach().tolist() == [3.0, 5.0, 7.0] and x.is_leaf and x.requires_grad


def test_detach_stops_the_gradient():
    x = leaf()
    (x * x.detach()).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]


def test_detach_stops_the_gradient_inside_an_op_recorded_as_one():
    """An op composed of several primitives and recorded under one name differentiates its own nodes: a
    ``detach()`` among them must still stop the gradient (the straight-through trick)."""
    x = leaf()
    inner = x * 3
    out = _as_op("MulBackward0", x.detach() * x + (inner.detach() - inner), x)
    out.sum().backward()
    assert x.grad.tolist() == [1.0 - 3.0, 2.0 - 3.0, 3.0 - 3.0]


def test_data_is_a_view_without_grad_and_updates_the_tensor_in_place():
    x = leaf()
    assert not x.data.requires_grad
    x.data.mul_(2)  # allowed although x is a leaf requiring grad: .data is outside autograd
    assert x.detach().tolist() == [2.0, 4.0, 6.0] and x.is_leaf and x.requires_grad
    x.data = lazygrad.tensor([0.0, 1.0, 2.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 4.0]


# ---- grad modes -----------------------------------------------------------------------------------------------


def test_no_grad_block_records_no_history_and_restores_the_mode():
    x = leaf()
    with lazygrad.no_grad():
        assert not lazygrad.is_grad_enabled()
        y = x * 2
    assert lazygrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_enable_grad_inside_no_grad_records_history():
    x = leaf()
    with lazygrad.no_grad(), lazygrad.enable_grad():
        y = x * 2
    assert y.requires_grad and y.grad_fn is not None


def test_grad_modes_work_as_decorators():
    x = leaf()

    @lazygrad.no_grad()
    def frozen(t):
        return t * 2

    @lazygrad.enable_grad()
    def tracked(t):
        return t * 2

    @lazygrad.set_grad_enabled(False)
    def switched_off(t):
        return t * 2

    assert not frozen(x).requires_grad
    assert not switched_off(x).requires_grad
    with lazygrad.no_grad():
        assert tracked(x).requires_grad
        assert not lazygrad.is_grad_enabled()
    assert lazygrad.is_grad_enabled()


def test_set_grad_enabled_as_a_call_and_as_a_block():
    x = leaf()
    try:
        lazygrad.set_grad_enabled(False)
        assert not lazygrad.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        lazygrad.set_grad_enabled(True)
    with lazygrad.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lazygrad.is_grad_enabled() and (x * 2).requires_grad


def inference_tensor_kinds(T):
    """Which tensors torch calls inference tensors: made inside ``inference_mode``, or views of one."""
    x = T.ones(4)
    with T.inference_mode():
        inside = T.is_inference_mode_enabled()
        made, view_of_normal, alias_of_normal = x * 2, x[1:], x.detach()
        factory, nested_off = T.zeros(2), None
        with T.inference_mode(False):
            nested_off = (T.is_inference_mode_enabled(), T.is_grad_enabled(), (x * 3).is_inference())
    return (inside, T.is_inference_mode_enabled(), made.is_inference(), T.is_inference(made),
            made[:2].is_inference(), made.view(2, 2).detach().is_inference(), (made + 1).is_inference(),
            view_of_normal.is_inference(), alias_of_normal.is_inference(), factory.is_inference(), nested_off,
            x.is_inference())


def test_inference_mode_makes_inference_tensors_as_torch_does():
    got = inference_tensor_kinds(lazygrad)
    assert got == (True, False, True, True, True, True, False, False, False, True, (False, True, False), False)
    if HAS_TORCH:
        assert got == inference_tensor_kinds(torch)


def test_grad_mode_is_restored_when_the_block_raises():
    with pytest.raises(ValueError), lazygrad.no_grad():
        raise ValueError
    assert lazygrad.is_grad_enabled()


def test_grad_mode_is_thread_local():
    """A no_grad block held open by another thread does not switch off history in this one."""
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        seen["start"] = lazygrad.is_grad_enabled()  # a new thread starts with grad enabled
        with lazygrad.no_grad():
            seen["inside"] = lazygrad.is_grad_enabled()
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(10)
        assert lazygrad.is_grad_enabled() and (leaf() * 2).requires_grad
    finally:
        release.set()
        thread.join()
    assert seen == {"start": True, "inside": False}


def test_a_new_thread_starts_with_grad_enabled_even_under_no_grad():
    seen = []
    with lazygrad.no_grad():
        thread = threading.Thread(target=lambda: seen.append(lazygrad.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


# ---- grad_fn records ------------------------------------------------------------------------------------------

# op on x (a vector) and w (a matrix) -> the grad_fn name torch gives
GRAD_FN_NAMES = {
    "mul": (lambda T, x, w: x * 2, "MulBackward0"),
    "add": (lambda T, x, w: x + x, "AddBackward0"),
    "sub": (lambda T, x, w: x - 1, "SubBackward0"),
    "rsub": (lambda T, x, w: 1 - x, "RsubBackward1"),
    "div": (lambda T, x, w: x / 2, "DivBackward0"),
    "neg": (lambda T, x, w: -x, "NegBackward0"),
    "sum": (lambda T, x, w: x.sum(), "SumBackward0"),
    "sum_dim": (lambda T, x, w: w.sum(0), "SumBackward1"),
    "mean": (lambda T, x, w: x.mean(), "MeanBackward0"),
    "mean_dim": (lambda T, x, w: w.mean(1), "MeanBackward1"),
    "dot": (lambda T, x, w: x.dot(x), "DotBackward0"),
    "matmul_vv": (lambda T, x, w: x @ x, "DotBackward0"),
    "mm": (lambda T, x, w: w @ w.t(), "MmBackward0"),
    "mv": (lambda T, x, w: w @ x, "MvBackward0"),
    "pow_scalar": (lambda T, x, w: x**2, "PowBackward0"),
    "pow_tensor": (lambda T, x, w: x**x, "PowBackward1"),
    "rpow": (lambda T, x, w: 2**x, "PowBackward2"),
    "exp": (lambda T, x, w: x.exp(), "ExpBackward0"),
    "log": (lambda T, x, w: x.log(), "LogBackward0"),
    "tanh": (lambda T, x, w: x.tanh(), "TanhBackward0"),
    "sigmoid": (lambda T, x, w: x.sigmoid(), "SigmoidBackward0"),
    "relu": (lambda T, x, w: x.relu(), "ReluBackward0"),
    "view": (lambda T, x, w: w.view(6), "ViewBackward0"),
    "reshape": (lambda T, x, w: w.reshape(3, 2), "ViewBackward0"),
    "t": (lambda T, x, w: w.t(), "TBackward0"),
    "transpose": (lambda T, x, w: w.transpose(0, 1), "TransposeBackward0"),
    "unsqueeze": (lambda T, x, w: x.unsqueeze(0), "UnsqueezeBackward0"),
    "select": (lambda T, x, w: x[0], "SelectBackward0"),
    "slice": (lambda T, x, w: x[1:], "SliceBackward0"),
    "slice_past_the_end": (lambda T, x, w: w[1, :5], "SelectBackward0"),  # no slice: it keeps the whole axis
    "slices_past_the_end": (lambda T, x, w: w[:, 0:3], "AliasBackward0"),
    "slice_from_minus_size": (lambda T, x, w: w[:, -3:], "SliceBackward0"),  # judged as written, not normalized
    "cat": (lambda T, x, w: T.cat([x, x]), "CatBackward0"),
    "stack": (lambda T, x, w: T.stack([x, x]), "StackBackward0"),
    "max": (lambda T, x, w: x.max(), "MaxBackward1"),
    "clone": (lambda T, x, w: x.clone(), "CloneBackward0"),
    "expand": (lambda T, x, w: x.expand(2, 3), "ExpandBackward0"),
    "clamp": (lambda T, x, w: x.clamp(0, 1), "ClampBackward1"),
}


@pytest.mark.parametrize("name", GRAD_FN_NAMES)
def test_grad_fn_is_named_like_torch(name):
    fn, expected = GRAD_FN_NAMES[name]
    x, w = leaf(), lazygrad.ones(2, 3, requires_grad=True)
    assert fn(lazygrad, x, w).grad_fn.name() == expected
    assert type(fn(lazygrad, x, w).grad_fn).__name__ == expected
    if HAS_TORCH:  # the recorded names are torch's own
        tx, tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True), torch.ones(2, 3, requires_grad=True)
        assert type(fn(torch, tx, tw).grad_fn).__name__ == expected


SCALAR_WARNING = r"^Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior\."


def test_float_of_a_tensor_that_requires_grad_warns_once_like_torch(monkeypatch):
    monkeypatch.setattr(sys.modules["lazygrad.tensor"], "_scalar_conversion_warned", False)
    x = lazygrad.tensor(1.5, requires_grad=True) * 2
    with lazygrad.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(x) == 3.0 and x.item() == 3.0 and int(x) == 3 and f"{x:.1f}" == "3.0"
    with pytest.warns(UserWarning, match=SCALAR_WARNING):
        assert "%.2f" % x == "3.00"  # noqa: UP031 (what the warning is about)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(x) == 3.0  # torch warns once per process


def test_next_functions_lead_to_the_inputs_records_and_to_the_leaves():
    x, w = leaf(), leaf((4.0, 5.0, 6.0))
    y = (x * w).sum()
    ((mul, index),) = y.grad_fn.next_functions
    assert index == 0 and mul is not None and mul.name() == "MulBackward0"
    accumulators = [fn for fn, _ in mul.next_functions]
    assert [type(a).__name__ for a in accumulators] == ["AccumulateGrad", "AccumulateGrad"]
    assert accumulators[0].variable is x and accumulators[1].variable is w


def test_next_functions_has_none_for_an_input_without_grad():
    x = leaf()
    entries = (x * lazygrad.ones(3)).grad_fn.next_functions
    assert [(type(fn).__name__, i) for fn, i in entries] == [("AccumulateGrad", 0), ("NoneType", 0)]


def test_next_functions_has_none_for_a_python_number_operand():
    entries = (leaf() * 2).grad_fn.next_functions
    assert [type(fn).__name__ for fn, _ in entries] == ["AccumulateGrad", "NoneType"]


# ---- in-place operations --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["add_", "mul_", "sub_", "zero_", "setitem", "iadd"])
def test_in_place_on_a_leaf_requiring_grad_raises_torchs_error(op):
    for T in modules():
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=LEAF_INPLACE):
            if op == "setitem":
                x[0] = 5.0
            elif op == "iadd":
                x += 1
            elif op == "zero_":
                x.zero_()
            else:
                getattr(x, op)(2.0)


def test_in_place_on_a_leaf_is_allowed_under_no_grad_and_keeps_it_a_leaf():
    x = leaf()
    with lazygrad.no_grad():
        x -= 0.5
        x[0] = 10.0
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert x.detach().tolist() == [10.0, 1.5, 2.5]
    (x * x).sum().backward()
    assert x.grad.tolist() == [20.0, 3.0, 5.0]


def _chain_in_place(T, x, y):
    z = x * 2
    z.add_(y)
    z.mul_(0.5)
    z -= x * x
    return z.exp_()


def _set_a_row(T, x, w):
    z = w * 1
    z[0] = x * 2
    return z.sin()


def _set_an_element(T, x, y):
    z = x * y
    z[1] = 7.0
    return z * z


# name -> (fn, oracle, input strategies); each one is a sequence torch itself differentiates
IN_PLACE = {
    "chain": (_chain_in_place, lambda m, x, y: m.exp((2 * x + y) * 0.5 - x * x), (SMALL, SMALL)),
    "setitem_row": (_set_a_row, lambda m, x, w: m.sin(m.stack([x * 2, w[1]])), (VECTOR, MATRIX)),
    "setitem_element": (_set_an_element,
                        lambda m, x, y: m.concatenate([x[:1] * y[:1], m.full(1, 7.0), x[2:] * y[2:]]) ** 2,
                        (VECTOR, VECTOR)),
    "clamp_": (lambda T, x, y: (x * y).clamp_(-1.0, 1.0), lambda m, x, y: m.clip(x * y, -1.0, 1.0), (VECTOR, VECTOR)),
    "div_pow": (lambda T, x, y: (x + 4).div_(y * y + 1).pow_(2), lambda m, x, y: ((x + 4) / (y * y + 1)) ** 2,
                (VECTOR, VECTOR)),
}


@pytest.mark.parametrize("name", IN_PLACE)
@given(data=st.data())
def test_in_place_on_non_leaves_gives_torchs_values_and_gradients(name, data):
    fn, oracle, strategies = IN_PLACE[name]
    check_op(fn, oracle, *[data.draw(s) for s in strategies])


def test_in_place_result_takes_the_grad_fn_of_the_last_op():
    z = leaf() * 2
    z.add_(1)
    assert z.grad_fn.name() == "AddBackward0"
    z[0] = 3.0
    assert z.grad_fn.name() == "CopySlices"


def test_an_in_place_change_after_use_does_not_corrupt_an_earlier_gradient():
    """torch refuses this backward (a saved value was modified); lazygrad differentiates the recorded values."""
    x = leaf()
    z = x * 1
    y = (z * z).sum()
    z.mul_(3)
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_in_place_on_a_view_changes_its_base_and_its_gradient():
    for T in modules():
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        z = x * 1
        z[1:].mul_(3)
        z[0].zero_()
        row = z[1:]
        row[0] = 5.0  # setitem on a view writes through too
        assert z.detach().tolist() == [0.0, 5.0, 9.0]
        z.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 3.0]


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises_torchs_error():
    for T in modules():
        w = T.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            w[0].zero_()
        assert w.detach().tolist() == [1.0, 1.0, 1.0]
        with T.no_grad():
            w[1:].mul_(2)
        assert w.detach().tolist() == [1.0, 2.0, 2.0]


# ---- retain_graph ---------------------------------------------------------------------------------------------


def test_second_backward_through_saved_values_raises_torchs_error():
    for T in modules():
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match=FREED):
            y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf()
    y = (x * x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, 2 * (1 + np.array([1.0, 2.0, 3.0])) * np.exp([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match=FREED):
        y.backward()


def test_a_shared_subgraph_with_retain_graph_serves_two_outputs():
    x = leaf()
    h = x * x
    h.sum().backward(retain_graph=True)
    (h * 2).sum().backward()
    assert x.grad.tolist() == [6.0, 12.0, 18.0]


@pytest.mark.xfail(strict=True, reason="every record is freed after backward; torch keeps those that saved nothing")
def test_second_backward_through_ops_that_save_nothing_is_allowed():
    x = leaf()
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


# ---- gradients of composite programs --------------------------------------------------------------------------


def _mlp(T, x, w):
    hidden = (w @ x).tanh()
    return (hidden * hidden).mean() + (x.sigmoid() * w[1]).sum()


@given(x=VECTOR, w=MATRIX)
def test_gradients_of_a_small_network_match_finite_differences_jax_and_torch(x, w):
    oracle = lambda m, x, w: m.mean(m.tanh(w @ x) ** 2) + m.sum(1 / (1 + m.exp(-x)) * w[1])  # noqa: E731
    check_op(_mlp, oracle, x, w)


@given(x=VECTOR)
def test_a_tensor_used_many_times_sums_its_gradients(x):
    check_op(lambda T, x: x * x + x.exp() * x - x / (x * x + 1), lambda m, x: x * x + m.exp(x) * x - x / (x * x + 1), x)


def test_a_transposed_weights_gradient_is_a_product_in_the_weights_layout():
    """``x @ w.t()``: w's cotangent is built as ``g^T @ x`` (torch's formula), not as a transposed ``x^T @ g``."""
    lazygrad.manual_seed(0)
    layer = lazygrad.nn.Linear(3, 2)
    x = lazygrad.randn(4, 3)
    (layer(x) * lazygrad.tensor([1.0, -2.0])).sum().backward()
    grad = layer.weight.grad
    assert grad.node.op == "dot_general" and grad.node.shape == (2, 3)
    expected = np.array([[1.0] * 4, [-2.0] * 4], dtype=np.float32) @ x.numpy()
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-6)
