"""A computation that raises when its program runs fails only the tensors that need it.

Realization computes every live pending tensor in one program, so a singular matrix's pending inverse would
otherwise fail every later read. Here unrelated tensors stay readable, pending work, gradients and parameters
keep their values, and the tensors that need the failed result raise torch's error each time they are read.
The numpy backend raises torch's ``LinAlgError``; jax returns inf or NaN, as jax does (docs/backends.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH

import lazygrad
from lazygrad import nn

if HAS_TORCH:
    import torch

SINGULAR = "linalg.inv: The diagonal element 1 is zero, the inversion could not be completed because the input " \
           "matrix is singular."


def raises_on(backend: str) -> bool:
    """Whether ``backend`` raises for a singular matrix (numpy) or returns inf/NaN (jax)."""
    return backend == "numpy"


def assert_fails(t: lazygrad.Tensor, backend: str, message: str = SINGULAR) -> None:
    """``t`` needs a failed inverse: reading it raises torch's error on numpy, gives non-finite values on jax."""
    if raises_on(backend):
        with pytest.raises(lazygrad.linalg.LinAlgError) as caught:
            t.tolist()
        assert str(caught.value) == message
    else:
        assert not np.isfinite(t.numpy()).all()


def singular_inverse(a: lazygrad.Tensor) -> lazygrad.Tensor:
    """The pending inverse of a zero matrix that is computed from ``a`` (so it joins ``a``'s programs)."""
    return lazygrad.linalg.inv(lazygrad.zeros(2, 2) * a[0])


def test_a_failing_inverse_leaves_every_other_read_alone(backend):
    a = lazygrad.arange(5.0)
    inv = singular_inverse(a)
    z = a + 1
    assert z.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert z.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert (a * 3).tolist() == [0.0, 3.0, 6.0, 9.0, 12.0]
    for _ in range(3):  # the same error at every read
        assert_fails(inv, backend)
    assert_fails(inv + 1, backend)
    assert (a - 1).tolist() == [-1.0, 0.0, 1.0, 2.0, 3.0]


def test_pending_tensors_built_before_the_failure_keep_their_values(backend):
    a = lazygrad.arange(4.0)
    doubled, inv, squared = a * 2, singular_inverse(a), a * a
    assert (a + 1).tolist() == [1.0, 2.0, 3.0, 4.0]
    assert doubled.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert squared.tolist() == [0.0, 1.0, 4.0, 9.0]
    assert_fails(inv, backend)


def test_a_failed_tensor_is_left_out_of_later_programs(backend):
    a = lazygrad.arange(3.0)
    inv = singular_inverse(a)
    later = inv * 2  # built from the failing result before anything is read
    assert (a + 1).tolist() == [1.0, 2.0, 3.0]
    lazygrad.reset_metrics()
    assert (a * 3).tolist() == [0.0, 3.0, 6.0]
    assert lazygrad.metrics()["executions"] == 1  # one program, without the failed inverse and its users
    assert (a + 1).sum().item() == 6.0
    assert lazygrad.metrics()["executions"] == 2
    assert_fails(later, backend)
    assert_fails(inv, backend)


def test_a_failed_read_raises_without_computing_anything_else_again(backend):
    if not raises_on(backend):
        pytest.skip("jax computes the singular inverse as inf/NaN")
    a = lazygrad.arange(3.0)
    inv = singular_inverse(a)
    z = a + 1
    assert_fails(inv, backend)
    lazygrad.reset_metrics()
    assert_fails(inv, backend)
    assert lazygrad.metrics()["executions"] == 0  # the failing program runs alone and counts no execution
    assert z.tolist() == [1.0, 2.0, 3.0]


def _train(steps: int, with_bad_tensor: bool) -> tuple[list[np.ndarray], list[lazygrad.Tensor]]:
    """A small regression trained with SGD; optionally a singular inverse is built, unused, at every step."""
    lazygrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = lazygrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = lazygrad.linspace(-1, 1, 24).reshape(8, 3)
    y = x.sum(1, keepdim=True).sin()
    bad = []
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        if with_bad_tensor:
            bad.append(singular_inverse(loss.detach().reshape(1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    values = [p.detach().numpy() for p in model.parameters()] + [p.grad.numpy() for p in model.parameters()]
    return values, bad


def test_an_unused_failing_tensor_changes_no_training_value(backend):
    clean, _ = _train(3, with_bad_tensor=False)
    trained, bad = _train(3, with_bad_tensor=True)
    assert len(trained) == len(clean) == 8
    for expected, got in zip(clean, trained):
        np.testing.assert_array_equal(got, expected)
    for t in bad:  # kept alive through every step boundary, and still failing
        assert_fails(t, backend)


@pytest.mark.backend_agnostic
def test_the_linalg_error_is_a_runtime_error_as_in_torch():
    assert issubclass(lazygrad.linalg.LinAlgError, RuntimeError)
    if HAS_TORCH:
        assert issubclass(torch.linalg.LinAlgError, RuntimeError)


def _failures(T):
    """Singular and non-positive-definite inputs, by name, each a function running the op in ``T``."""
    return {
        "inv": lambda: T.linalg.inv(T.zeros(2, 2)),
        "inverse of a rank-1 matrix": lambda: T.inverse(T.tensor([[1.0, 2], [2, 4]])),
        "inv of a batch": lambda: T.linalg.inv(T.stack([T.eye(3), T.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 0]])])),
        "matrix_power": lambda: T.linalg.matrix_power(T.zeros(2, 2), -1),
        "solve": lambda: T.linalg.solve(T.zeros(2, 2), T.ones(2)),
        "solve of a batch": lambda: T.linalg.solve(T.stack([T.eye(2), T.zeros(2, 2)]), T.ones(2, 2, 1)),
        "cholesky": lambda: T.linalg.cholesky(-T.eye(3)),
        "cholesky, third minor": lambda: T.linalg.cholesky(T.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, -1]])),
        "cholesky of a batch": lambda: T.linalg.cholesky(T.stack([T.eye(2), -T.eye(2)])),
    }


CASES = list(_failures(None))


@pytest.mark.skipif(not HAS_TORCH, reason="torch is the oracle")
@pytest.mark.parametrize("case", CASES)
def test_linalg_failures_raise_torchs_error_and_message(backend, case):
    with pytest.raises(torch.linalg.LinAlgError) as expected:
        _failures(torch)[case]()
    result = _failures(lazygrad)[case]()
    keep = lazygrad.ones(2) * 2
    if raises_on(backend):
        for _ in range(2):
            with pytest.raises(lazygrad.linalg.LinAlgError) as caught:
                result.tolist()
            assert str(caught.value) == str(expected.value)
    else:
        assert not np.isfinite(result.numpy()).all()
    assert keep.tolist() == [2.0, 2.0]
