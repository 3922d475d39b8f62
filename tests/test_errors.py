"""Bad input fails on the line that caused it, with torch's message, and loses nothing already built.

Shape and dtype rules run when a node is built, so an error surfaces at the op, before anything is computed;
the tensors built before it stay pending and still realize to the right values.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import HAS_TORCH
from hypothesis import assume, given
from hypothesis import strategies as st

import lazygrad
from lazygrad import backends

if HAS_TORCH:
    import torch

pytestmark = pytest.mark.backend_agnostic  # shape and dtype rules run while the graph is built, before any backend

# name -> (fn(T) that must fail, exception type, torch's message)
CASES = {
    "add": (lambda T: T.ones(2, 3) + T.ones(4, 5), RuntimeError,
            "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1"),
    "mul": (lambda T: T.ones(2, 3) * T.ones(2), RuntimeError,
            "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1"),
    "where": (lambda T: T.where(T.ones(2) > 0, T.ones(2, 3), T.ones(4, 5)), RuntimeError,
              "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1"),
    "add_": (lambda T: T.ones(3).add_(T.ones(2, 3)), RuntimeError,
             "output with shape [3] doesn't match the broadcast shape [2, 3]"),
    "matmul": (lambda T: T.ones(2, 3) @ T.ones(4, 5), RuntimeError,
               "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    "setitem_window": (lambda T: T.ones(3).__setitem__(slice(0, 2), T.ones(3)), RuntimeError,
                       "The expanded size of the tensor (2) must match the existing size (3) at non-singleton "
                       "dimension 0.  Target sizes: [2].  Tensor sizes: [3]"),
    "setitem_more_axes": (lambda T: T.zeros(3).__setitem__(slice(0, 2), T.ones(2, 2)), RuntimeError,
                          "expand(torch.FloatTensor{[2, 2]}, size=[2]): the number of sizes provided (1) must be "
                          "greater or equal to the number of dimensions in the tensor (2)"),
    "copy_": (lambda T: T.ones(3).copy_(T.ones(2)), RuntimeError,
              "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0"),
    "tensor_ragged": (lambda T: T.tensor([[1, 2], [3]]), ValueError, "expected sequence of length 2 at dim 1 (got 1)"),
    "max_pool_too_small": (lambda T: T.nn.functional.max_pool2d(T.ones(1, 1, 2, 2), 3), RuntimeError,
                           "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small"),
    "embedding_float_indices": (lambda T: T.nn.Embedding(5, 2)(T.tensor([1.0])), RuntimeError,
                                "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                                "Long, Int; but got torch.FloatTensor instead (while checking arguments for "
                                "embedding)"),
    "chunk_zero": (lambda T: T.ones(4).chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    "cat_nothing": (lambda T: T.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    "batch_norm_channels": (lambda T: T.nn.BatchNorm1d(4)(T.ones(2, 3)), RuntimeError,
                            "running_mean should contain 3 elements not 4"),
    "flatten_dims": (lambda T: T.ones(2, 3).flatten(1, 0), RuntimeError,
                     "flatten() has invalid args: start_dim cannot come after end_dim"),
    "cross_entropy_float_classes": (lambda T: T.nn.functional.cross_entropy(T.ones(3, 4), T.tensor([0.0, 1.0, 2.0])),
                                    RuntimeError, "expected target dtype to be Long or Byte, but got Float"),
    "cross_entropy_integer_probabilities": (
        lambda T: T.nn.functional.cross_entropy(T.ones(3, 4), T.zeros(3, 4, dtype=T.long)), RuntimeError,
        "Expected floating point type for target with class probabilities, got Long"),
    "nll_loss_bool_target": (lambda T: T.nn.functional.nll_loss(T.ones(3, 4), T.tensor([True, False, True])),
                             RuntimeError, "expected target dtype to be Long or Byte, but got Bool"),
    "binary_cross_entropy_input": (lambda T: T.nn.functional.binary_cross_entropy(T.tensor([1.5]), T.ones(1)),
                                   RuntimeError, "all elements of input should be between 0 and 1"),
    "binary_cross_entropy_target": (
        lambda T: T.nn.functional.binary_cross_entropy(T.tensor([0.5, 0.5]), T.tensor([1.0, float("nan")])),
        RuntimeError, "all elements of target should be between 0 and 1"),
    "matmul_folded": (lambda T: T.ones(3, 2, 3) @ T.ones(4, 5), RuntimeError,
                      "mat1 and mat2 shapes cannot be multiplied (6x3 and 4x5)"),
    "matmul_vector": (lambda T: T.ones(2, 3) @ T.ones(4), RuntimeError,
                      "size mismatch, got input (2), mat (2x3), vec (4)"),
    "matmul_batched": (lambda T: T.ones(2, 2, 3) @ T.ones(2, 4, 5), RuntimeError,
                       "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4]."),
    "matmul_batch_broadcast": (lambda T: T.ones(2, 2, 3) @ T.ones(3, 3, 5), RuntimeError,
                               "The size of tensor a (2) must match the size of tensor b (3) at non-singleton "
                               "dimension 0"),
    "matmul_dtype": (lambda T: T.ones(2, 3) @ T.ones(3, 2, dtype=T.float64), RuntimeError,
                     "expected m1 and m2 to have the same dtype, but got: float != double"),
    "dot": (lambda T: T.ones(3).dot(T.ones(4)), RuntimeError,
            "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got "
            "3 and 4 elements respectively"),
    "cat": (lambda T: T.cat([T.ones(2, 3), T.ones(4, 5)]), RuntimeError,
            "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 5 for tensor number 1 in "
            "the list."),
    "cat_ndim": (lambda T: T.cat([T.ones(2, 3), T.ones(2)]), RuntimeError,
                 "Tensors must have same number of dimensions: got 2 and 1"),
    "cat_dim": (lambda T: T.cat([T.ones(2, 3), T.ones(2, 3)], dim=2), IndexError,
                "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    "stack": (lambda T: T.stack([T.ones(2, 3), T.ones(3, 2)]), RuntimeError,
              "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at entry 1"),
    "reshape": (lambda T: T.ones(2, 3).reshape(4, 2), RuntimeError, "shape '[4, 2]' is invalid for input of size 6"),
    "view": (lambda T: T.ones(2, 3).view(5), RuntimeError, "shape '[5]' is invalid for input of size 6"),
    "view_inferred": (lambda T: T.ones(2, 3).view(-1, 4), RuntimeError,
                      "shape '[-1, 4]' is invalid for input of size 6"),
    "view_two_inferred": (lambda T: T.ones(2, 3).view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    "expand": (lambda T: T.ones(2, 3).expand(2, 4), RuntimeError,
               "The expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 1.  "
               "Target sizes: [2, 4].  Tensor sizes: [2, 3]"),
    "expand_fewer": (lambda T: T.ones(2, 3, dtype=T.float64).expand(3), RuntimeError,
                     "expand(torch.DoubleTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must be greater "
                     "or equal to the number of dimensions in the tensor (2)"),
    "sum_dim": (lambda T: T.ones(2, 3).sum(5), IndexError,
                "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    "softmax_dim": (lambda T: T.ones(2, 3).softmax(-3), IndexError,
                    "Dimension out of range (expected to be in range of [-2, 1], but got -3)"),
    "unsqueeze_dim": (lambda T: T.ones(2, 3).unsqueeze(4), IndexError,
                      "Dimension out of range (expected to be in range of [-3, 2], but got 4)"),
    "transpose_dim": (lambda T: T.ones(2, 3).transpose(0, 2), IndexError,
                      "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    "index": (lambda T: T.ones(2, 3)[0, 7], IndexError, "index 7 is out of bounds for dimension 1 with size 3"),
    "permute": (lambda T: T.ones(2, 3).permute(0, 0), RuntimeError, "permute(): duplicate dims are not allowed."),
    "mean_int": (lambda T: T.ones(2, dtype=T.int64).mean(), RuntimeError,
                 "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
                 "Got: Long"),
    "backward_non_scalar": (lambda T: (T.ones(2, requires_grad=True) * 2).backward(), RuntimeError,
                            "grad can be implicitly created only for scalar outputs"),
    "backward_without_grad": (lambda T: T.ones(2).sum().backward(), RuntimeError,
                              "element 0 of tensors does not require grad and does not have a grad_fn"),
    "item": (lambda T: T.ones(2, 3).item(), RuntimeError, "a Tensor with 6 elements cannot be converted to Scalar"),
    "bool": (lambda T: bool(T.ones(2)), RuntimeError, "Boolean value of Tensor with more than one value is ambiguous"),
    "numpy_requires_grad": (lambda T: T.ones(2, requires_grad=True).numpy(), RuntimeError,
                            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."),
}


class Pending:
    """Work built before an error: a value and a gradient that must still come out right after it."""

    def __init__(self):
        self.executions = lazygrad.metrics()["executions"]
        self.x = lazygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
        self.y = (self.x * self.x).sum()
        self.y.backward()
        self.z = self.x.detach() * 10

    def check(self):
        assert lazygrad.metrics()["executions"] == self.executions, "the failing op computed something"
        assert self.y.item() == 14.0
        assert self.x.grad.tolist() == [2.0, 4.0, 6.0]
        assert self.z.tolist() == [10.0, 20.0, 30.0]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_raises_at_the_op_with_torchs_message_and_loses_nothing(name):
    fn, kind, message = CASES[name]
    pending = Pending()
    with pytest.raises(kind) as raised:
        fn(lazygrad)
    assert str(raised.value).strip("'\"") == message
    if name not in ("item", "bool", "numpy_requires_grad"):  # these read a value, so they may realize
        pending.check()
    else:
        assert pending.y.item() == 14.0 and pending.x.grad.tolist() == [2.0, 4.0, 6.0]


@pytest.mark.skipif(not HAS_TORCH, reason="compares the recorded messages with torch's own")
@pytest.mark.parametrize("name", CASES)
def test_recorded_messages_are_torchs(name):
    fn, kind, message = CASES[name]
    with pytest.raises(kind) as raised:
        fn(torch)
    assert str(raised.value).strip("'\"") == message


def test_an_op_that_fails_adds_nothing_to_the_next_program():
    a = lazygrad.ones(2, 3) * 3
    with pytest.raises(RuntimeError):
        a @ a
    before = lazygrad.metrics()
    assert (a @ a.t()).tolist() == [[27.0, 27.0], [27.0, 27.0]]
    assert lazygrad.metrics()["executions"] - before["executions"] == 1


# ---- properties over shapes: the message names the shapes, as torch's does ------------------------------------

SIDES = st.integers(1, 4)


@given(a=st.lists(SIDES, min_size=1, max_size=3), b=st.lists(SIDES, min_size=1, max_size=3))
def test_any_non_broadcastable_pair_raises_torchs_broadcast_message(a, b):
    try:
        np.broadcast_shapes(tuple(a), tuple(b))
        assume(False)
    except ValueError:
        pass
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(\d\) must match the size of tensor b \(\d\) at "
                                           r"non-singleton dimension \d") as raised:
        lazygrad.ones(*a) + lazygrad.ones(*b)
    if HAS_TORCH:
        with pytest.raises(RuntimeError) as expected:
            torch.ones(*a) + torch.ones(*b)
        assert str(raised.value) == str(expected.value)


@given(shape=st.lists(SIDES, min_size=1, max_size=3), target=st.lists(SIDES, min_size=1, max_size=3))
def test_reshape_to_a_different_size_names_both(shape, target):
    numel = math.prod(shape)
    assume(numel != math.prod(target))
    message = f"shape '{list(target)}' is invalid for input of size {numel}"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        lazygrad.ones(*shape).reshape(*target)
    if HAS_TORCH:
        with pytest.raises(RuntimeError, match=re.escape(message)):
            torch.ones(*shape).reshape(*target)


@given(ndim=st.integers(0, 4), dim=st.integers(-8, 8), op=st.sampled_from(["sum", "softmax", "unsqueeze", "cumsum"]))
def test_a_dim_out_of_range_raises_torchs_index_error(ndim, dim, op):
    rank = ndim + 1 if op == "unsqueeze" else ndim
    low, high = (-rank, rank - 1) if rank else (-1, 0)
    assume(not low <= dim <= high)
    message = f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
    for T in [lazygrad, torch] if HAS_TORCH else [lazygrad]:
        with pytest.raises(IndexError, match=re.escape(message)):
            getattr(T.ones([2] * ndim), op)(dim)


@given(rows=SIDES, inner=SIDES, other=SIDES, cols=SIDES)
def test_matmul_of_mismatched_matrices_names_both_shapes(rows, inner, other, cols):
    assume(inner != other)
    message = f"mat1 and mat2 shapes cannot be multiplied ({rows}x{inner} and {other}x{cols})"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        lazygrad.ones(rows, inner) @ lazygrad.ones(other, cols)
    if HAS_TORCH:
        with pytest.raises(RuntimeError, match=re.escape(message)):
            torch.ones(rows, inner) @ torch.ones(other, cols)


# ---- backends -------------------------------------------------------------------------------------------------


def test_an_unknown_backend_name_raises_value_error_listing_the_available_ones():
    with pytest.raises(ValueError, match="nope") as raised:
        backends.get("nope")
    for name in backends.available():
        assert name in str(raised.value)
    assert "numpy" in str(raised.value) and "jax" in str(raised.value)


def test_selecting_an_unknown_backend_keeps_the_current_one_and_pending_work(backend):
    pending = Pending()
    with pytest.raises(ValueError, match=r"available backends: .*numpy"):
        lazygrad.set_backend("nope")
    assert lazygrad.get_backend() == backend
    pending.check()


def test_an_unknown_backend_in_the_environment_fails_at_import(backend):
    if backend != "numpy":
        pytest.skip("the subprocess picks its backend from the environment, not from this fixture")
    env = dict(os.environ, LAZYGRAD_BACKEND="nope")
    result = subprocess.run([sys.executable, "-c", "import lazygrad"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError") and "'nope'" in last and "numpy" in last and "jax" in last


POOLING_RANK_CASES = {
    "max_pool1d": (lambda F, x: F.max_pool1d(x, 2), (2, 2, 2, 2)),
    "max_pool2d": (lambda F, x: F.max_pool2d(x, 2), (4,)),
    "max_pool2d_module": (lambda F, x: F.max_pool2d(x, 2), (2, 3)),
    "avg_pool1d": (lambda F, x: F.avg_pool1d(x, 2), (2, 2, 2, 2)),
    "avg_pool2d": (lambda F, x: F.avg_pool2d(x, 2), (2, 2, 2, 2, 2)),
    "max_pool3d": (lambda F, x: F.max_pool3d(x, 2), (2, 2)),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", sorted(POOLING_RANK_CASES))
def test_pooling_refuses_a_wrong_rank_in_torchs_words(case: str) -> None:
    call, shape = POOLING_RANK_CASES[case]
    with pytest.raises(RuntimeError) as ours:
        call(lazygrad.nn.functional, lazygrad.ones(*shape))
    if HAS_TORCH:
        import torch

        with pytest.raises(RuntimeError) as theirs:
            call(torch.nn.functional, torch.ones(*shape))
        assert str(ours.value) == str(theirs.value)
    assert "D" in str(ours.value) or "dimensions" in str(ours.value)


def test_binary_cross_entropy_checks_pending_probabilities_when_they_are_computed() -> None:
    bce, target = lazygrad.nn.functional.binary_cross_entropy, lazygrad.tensor([1.0, 0.0])
    loss = bce(lazygrad.tensor([0.2, 0.4]) * 3, target)  # 0.6 and 1.2, not known when the op is built
    fine = bce(lazygrad.tensor([0.2, 0.4]) * 2, target)
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        loss.item()
    assert fine.item() == pytest.approx(-(math.log(0.4) + math.log(0.2)) / 2)
