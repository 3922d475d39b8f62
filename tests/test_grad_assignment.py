"""Assignments torch refuses fail at the assignment, with torch's messages, not later inside backward()."""

from __future__ import annotations

import pytest
from helpers import HAS_TORCH

import lazygrad as torch

_DTYPE_MESSAGE = ("attempting to assign a gradient with dtype 'double' to a tensor with grad_dtype 'Float'. The "
                  "gradient must match the tensor's grad_dtype")


def test_a_number_is_not_a_grad() -> None:
    a = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match=r"^assigned grad expected to be a Tensor or None but got grad of type float$"):
        a.grad = 0.0
    assert a.grad is None


def test_a_grad_of_another_size_is_refused() -> None:
    a = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^attempting to assign a gradient of size '\[3\]' to a tensor of size "
                                           r"'\[2, 3\]'\. Please ensure that the gradient and the tensor are the same "
                                           r"size$"):
        a.grad = torch.zeros(3)


def test_a_grad_of_another_dtype_is_refused() -> None:
    a = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"^{_DTYPE_MESSAGE}"):
        a.grad = torch.zeros(2, 3, dtype=torch.float64)


def test_a_tensor_is_not_its_own_grad() -> None:
    a = torch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^can't assign Variable as its own grad$"):
        a.grad = a


def test_a_matching_grad_is_kept_and_accumulated_into() -> None:
    a = torch.ones(2, requires_grad=True)
    a.grad = torch.full((2,), 10.0)
    (a * 3).sum().backward()
    assert a.grad.tolist() == [13.0, 13.0]
    a.grad = None
    assert a.grad is None
    del a.grad
    assert a.grad is None


def test_an_integer_tensor_cannot_require_grad() -> None:
    x = torch.zeros(2, dtype=torch.int64)
    with pytest.raises(RuntimeError, match=r"^only Tensors of floating point and complex dtype can require gradients$"):
        x.requires_grad = True
    with pytest.raises(RuntimeError, match=r"^only Tensors of floating point dtype can require gradients$"):
        x.requires_grad_()
    x.requires_grad = False
    assert not x.requires_grad


def test_requires_grad_takes_a_bool_on_a_leaf_only() -> None:
    a = torch.zeros(2)
    with pytest.raises(RuntimeError, match=r"^requires_grad must be a bool$"):
        a.requires_grad = 1
    a.requires_grad = True
    b = a * 2
    with pytest.raises(RuntimeError, match=r"^you can only change requires_grad flags of leaf variables\.$"):
        b.requires_grad = False
    (b.sum()).backward()
    assert a.grad.tolist() == [2.0, 2.0]


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
def test_the_messages_are_torchs() -> None:
    import torch as real

    a = real.zeros(2, 3, requires_grad=True)
    for value, expected in ((0.0, TypeError), (real.zeros(3), RuntimeError)):
        with pytest.raises(expected) as theirs:
            a.grad = value
        mine = torch.zeros(2, 3, requires_grad=True)
        with pytest.raises(expected) as ours:
            mine.grad = value if isinstance(value, float) else torch.zeros(3)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError) as theirs:
        a.grad = real.zeros(2, 3, dtype=real.float64)
    assert str(theirs.value).startswith(_DTYPE_MESSAGE)
