"""``torch.autograd``'s namespace: the grad-mode switches under ``autograd`` and ``autograd.grad_mode``, the
threading and view-replay flags, and ``gradgradcheck``'s verdicts against torch's."""

from __future__ import annotations

import pytest
from helpers import HAS_TORCH

import lazygrad

pytestmark = pytest.mark.backend_agnostic  # names, flags and verdicts: nothing here depends on the backend

LIBRARIES = [lazygrad] + ([pytest.importorskip("torch")] if HAS_TORCH else [])


@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode"])
def test_grad_mode_switches_are_the_same_objects_in_every_namespace(name: str) -> None:
    assert getattr(lazygrad.autograd, name) is getattr(lazygrad, name)
    assert getattr(lazygrad.autograd.grad_mode, name) is getattr(lazygrad, name)


def test_autograd_no_grad_switches_recording_off() -> None:
    x = lazygrad.ones(2, requires_grad=True)
    with lazygrad.autograd.no_grad():
        y = x * 2
    with lazygrad.autograd.grad_mode.no_grad(), lazygrad.autograd.enable_grad():
        z = x * 2
    assert (y.requires_grad, z.requires_grad) == (False, True)


@pytest.mark.parametrize("lib", LIBRARIES, ids=lambda lib: lib.__name__)
def test_multithreading_flag_behaves_as_torchs(lib) -> None:
    autograd = lib.autograd
    seen = [autograd.is_multithreading_enabled()]
    with autograd.set_multithreading_enabled(False):
        seen.append(autograd.is_multithreading_enabled())
    seen.append(autograd.is_multithreading_enabled())
    autograd.set_multithreading_enabled(False)  # as a call it takes effect at once
    seen.append(autograd.is_multithreading_enabled())
    autograd.set_multithreading_enabled(True)
    seen.append(autograd.is_multithreading_enabled())
    assert seen == [True, False, True, False, True]
    assert autograd.is_view_replay_enabled() is False
    assert autograd.grad_mode.set_multithreading_enabled is autograd.set_multithreading_enabled


def _functions(lib):
    """Custom Functions for x**3: right, right first derivative but a wrong second one, wrong first one."""

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    class DetachedBackward(Cube):  # its backward hides x from the second derivative
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x.detach() ** 2

    class WrongSlope(Cube):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x**2

    return {"right": Cube, "second derivative lost": DetachedBackward, "wrong slope": WrongSlope}


def _verdicts(lib) -> dict[str, tuple[bool, bool]]:
    lib.manual_seed(0)
    x = lib.tensor([0.5, -1.2, 2.0], dtype=lib.float64, requires_grad=True)
    return {name: (lib.autograd.gradcheck(f.apply, (x,), raise_exception=False),
                   lib.autograd.gradgradcheck(f.apply, (x,), raise_exception=False))
            for name, f in _functions(lib).items()}


def test_gradgradcheck_verdicts_on_custom_functions() -> None:
    expected = {"right": (True, True), "second derivative lost": (True, False), "wrong slope": (False, True)}
    assert _verdicts(lazygrad) == expected
    if HAS_TORCH:
        assert _verdicts(pytest.importorskip("torch")) == expected


def test_gradgradcheck_raises_gradcheck_error_on_a_mismatch() -> None:
    x = lazygrad.tensor([0.5, -1.2], dtype=lazygrad.float64, requires_grad=True)
    mismatch = "Jacobian mismatch for output 0 with respect to input 0"
    with pytest.raises(lazygrad.autograd.GradcheckError, match=mismatch):
        lazygrad.autograd.gradgradcheck(_functions(lazygrad)["second derivative lost"].apply, (x,))


def test_gradgradcheck_passes_built_in_ops_with_several_inputs_and_given_grad_outputs() -> None:
    a = lazygrad.tensor([[0.3, 0.1], [0.2, -0.5]], dtype=lazygrad.float64, requires_grad=True)
    b = lazygrad.tensor([[1.0, -0.4], [0.7, 0.2]], dtype=lazygrad.float64, requires_grad=True)
    assert lazygrad.autograd.gradgradcheck(lambda a, b: (a @ b).tanh(), (a, b))
    assert lazygrad.autograd.gradgradcheck(lambda a: a.sin() * a, a, lazygrad.ones(2, 2, dtype=lazygrad.float64))
