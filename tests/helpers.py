"""The oracles of the test suite: ``check_op`` and the hypothesis strategies the tests share.

An op under test is written once as ``fn(T, *tensors)`` against the torch API, so the same function runs
on lazygrad and, when it is installed, on torch. Its oracle is written once as ``oracle(m, *arrays)``
against the numpy API, so the same function gives the values (``m = numpy``) and, through ``jax.grad``,
the gradients (``m = jax.numpy``). ``check_op`` runs all of them and compares, in one line per case:

* values, shapes and NaN positions against the numpy oracle;
* the result dtype against torch (or against ``dtype=`` when the test pins one);
* for float inputs, gradients against central differences in float64, ``jax.grad`` of the oracle and
  torch's autograd, plus the ``grad_fn`` name against torch's.

``check_like_torch`` is its counterpart for rules only torch can judge (a tie, a gradient torch defines as
zero): torch alone is the oracle of values, gradients and ``grad_fn`` names. ``torch_oracle`` turns an op
into a values oracle for ``check_op`` when numpy has no short equivalent.

Oracles run on the reference backend; on a compiling backend (jax) the shape strategies draw from a few
fixed shapes, so every op compiles a handful of programs however many examples hypothesis draws.

Torch and jax are optional: each comparison that needs one is skipped without it, never the test.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazygrad

REFERENCE = "numpy"  # the backend every oracle runs on, and the only one backend-agnostic tests run on
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None

if HAS_TORCH:
    import torch
if HAS_JAX:
    import jax
    import jax.numpy as jnp

# Per result dtype: (rtol, atol). float32 leaves room for a backend's own exp/tanh and summation order.
TOLERANCES = {"float16": (1e-2, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-9, 1e-12)}
GRAD_TOLERANCE = (1e-5, 1e-7)  # float64 gradients against central differences (error ~ eps**2)
FD_STEP = 1e-6

Fn = Callable[..., Any]


# ---- comparing values -------------------------------------------------------------------------------------


def as_numpy(value: Any) -> np.ndarray:
    """Host copy of a lazygrad tensor, torch tensor, jax array or number."""
    if isinstance(value, lazygrad.Tensor):
        return value.detach().numpy()
    if HAS_TORCH and isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def assert_close(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None) -> None:
    """Same shape, same values (within the tolerance of ``actual``'s dtype), NaN where the other has NaN."""
    got, want = as_numpy(actual), as_numpy(expected)
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}"
    if got.dtype.kind in "biu" and want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    default_rtol, default_atol = TOLERANCES.get(got.dtype.name, (0.0, 0.0))
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), equal_nan=True,
                               rtol=default_rtol if rtol is None else rtol, atol=default_atol if atol is None else atol)


def flat(result: Any) -> list[Any]:
    """An op's outputs as a list: ops like ``split`` or ``max(dim)`` return several."""
    return list(result) if isinstance(result, (tuple, list)) else [result]


def assigned(m: Any, x: Any, index: Any, value: Any) -> Any:
    """The oracle for ``x[index] = value``: a copy written in place under numpy, ``.at[].set`` under jax."""
    if m is np:
        out = x.copy()
        out[index] = value
        return out
    return x.at[index].set(value)


def _is_float(array: Any) -> bool:
    return isinstance(array, np.ndarray) and array.dtype.kind == "f"


# ---- the one helper --------------------------------------------------------------------------------------------

# jax compiles every new primitive/shape pair it meets eagerly (~0.1 s each), so each oracle is compared
# with jax.grad on its first few examples only; finite differences and torch check every example.
JAX_CHECKS_PER_ORACLE = 3
_jax_checks: dict[Any, int] = {}


def check_op(fn: Fn, oracle: Fn, *inputs: Any, dtype: Any = None, grad: bool | None = None,
             jax_oracle: bool = True, rtol: float | None = None, atol: float | None = None) -> Any:
    """Check ``fn(lazygrad, *tensors)`` against ``oracle(numpy, *arrays)``, torch and (for floats) gradients.

    ``inputs`` are numpy arrays (turned into tensors of the same dtype) or anything else (passed as is).
    ``dtype`` pins the expected result dtype; otherwise torch's is expected when torch is installed.
    ``grad`` defaults to "every output is floating point and some input is"; ``jax_oracle=False`` skips
    ``jax.grad`` for oracles jax cannot trace. Returns the lazygrad result for further assertions.
    """
    result = fn(lazygrad, *[_tensor(x) for x in inputs])
    outs = flat(result)
    if grad is None:
        grad = any(_is_float(x) for x in inputs) and all(o.dtype.is_floating_point for o in outs)
    # The gradient graph is built before anything is read, so values and gradients run as one program.
    gradients = _Gradients(fn, inputs) if grad else None
    with np.errstate(all="ignore"):
        wants = flat(oracle(np, *inputs))
    assert len(outs) == len(wants), f"{len(outs)} outputs, oracle has {len(wants)}"
    for out, want in zip(outs, wants):
        assert_close(out, want, rtol, atol)
    if dtype is not None:
        for out in outs:
            assert out.dtype is lazygrad.dtypes.to_dtype(dtype), f"dtype {out.dtype}, expected {dtype}"
    elif HAS_TORCH:
        for out, reference in zip(outs, flat(fn(torch, *[_torch_tensor(x) for x in inputs]))):
            assert out.dtype.name == str(reference.dtype).removeprefix("torch."), \
                f"dtype {out.dtype}, torch gives {reference.dtype}"
    if gradients is not None:
        _check_gradients(fn, oracle, gradients, jax_oracle)
    return result


def check_like_torch(fn: Fn, *inputs: Any, grads: Sequence[bool] | None = None, grad_fn: bool = True,
                     rtol: float | None = None, atol: float | None = None) -> None:
    """Check ``fn(lazygrad, *tensors)`` against ``fn(torch, *tensors)``: values, input gradients, grad_fn names.

    For rules that only torch can judge: a tie, a gradient torch defines as zero, a composite layer. Inputs keep
    their dtypes; float inputs get gradients unless ``grads`` (one flag per input) says otherwise.
    """
    wanted = [_is_float(x) and (grads is None or grads[i]) for i, x in enumerate(inputs)]
    (ours, our_leaves), (theirs, their_leaves) = (_run_backward(T, fn, inputs, wanted) for T in (lazygrad, torch))
    assert len(ours) == len(theirs), f"{len(ours)} outputs, torch has {len(theirs)}"
    for out, reference in zip(ours, theirs):
        assert_close(out, reference, rtol, atol)
        if grad_fn:
            have = None if out.grad_fn is None else out.grad_fn.name()
            want = None if reference.grad_fn is None else type(reference.grad_fn).__name__
            assert have == want, f"grad_fn {have}, torch has {want}"
    for i, (leaf, reference) in enumerate(zip(our_leaves, their_leaves)):
        if wanted[i]:
            assert (leaf.grad is None) == (reference.grad is None), f"grad of input {i}: {leaf.grad} vs torch's"
            if leaf.grad is not None:
                assert_close(leaf.grad, reference.grad, rtol, atol)


def _run_backward(T: Any, fn: Fn, inputs: Sequence[Any], wanted: list[bool]) -> tuple[list[Any], list[Any]]:
    """``fn``'s outputs on library ``T``, after backward of every float output with a fixed random cotangent."""
    leaves = [T.tensor(x, requires_grad=w) if isinstance(x, np.ndarray) else x for x, w in zip(inputs, wanted)]
    outs = flat(fn(T, *leaves))
    rng = np.random.default_rng(7)
    for out in outs:
        if out.requires_grad:
            ct = rng.standard_normal(tuple(out.shape)).astype(str(out.dtype).rpartition(".")[2])
            out.backward(T.tensor(ct), retain_graph=True)
    return outs, leaves


def torch_oracle(fn: Fn) -> Fn:
    """A values oracle for ``check_op`` that runs the op itself on torch (with ``jax_oracle=False``): for ops
    whose numpy equivalent would be a second implementation longer than the op."""
    def oracle(m: Any, *arrays: Any) -> list[np.ndarray]:
        return [out.detach().numpy() for out in flat(fn(torch, *[_torch_tensor(a) for a in arrays]))]

    return oracle


def _tensor(x: Any, requires_grad: bool = False) -> Any:
    return lazygrad.tensor(x, requires_grad=requires_grad) if isinstance(x, np.ndarray) else x


def _torch_tensor(x: Any, requires_grad: bool = False) -> Any:
    return torch.tensor(x, requires_grad=requires_grad) if isinstance(x, np.ndarray) else x


class _Gradients:
    """The float64 inputs, the cotangents and the (still lazy) gradients of one gradient check."""

    def __init__(self, fn: Fn, inputs: Sequence[Any]) -> None:
        self.x64 = [x.astype(np.float64) if _is_float(x) else x for x in inputs]
        self.wrt = [i for i, x in enumerate(self.x64) if _is_float(x)]
        self.leaves = [_tensor(x, requires_grad=i in self.wrt) for i, x in enumerate(self.x64)]
        self.outs = flat(fn(lazygrad, *self.leaves))
        rng = np.random.default_rng(len(self.outs))
        self.cts = [rng.standard_normal(o.shape) for o in self.outs]
        for out, ct in zip(self.outs, self.cts):
            if out.requires_grad:
                out.backward(lazygrad.tensor(ct), retain_graph=True)


def _check_gradients(fn: Fn, oracle: Fn, g: _Gradients, jax_oracle: bool) -> None:
    """Gradients of ``sum(out * ct)`` for a fixed random cotangent ``ct``, all in float64."""
    got = [np.zeros_like(g.x64[i]) if g.leaves[i].grad is None else g.leaves[i].grad.numpy() for i in g.wrt]
    for value, i in zip(got, g.wrt):
        assert value.dtype == np.float64 and value.shape == g.x64[i].shape, \
            f"grad of input {i}: {value.dtype}{value.shape}"
    for value, numeric in zip(got, _central_differences(fn, g.x64, g.wrt, g.cts)):
        assert_close(value, numeric, *GRAD_TOLERANCE)
    # jax.grad judges the VJP rules, which no backend touches: the reference backend is enough.
    key = getattr(oracle, "__code__", oracle)
    if HAS_JAX and jax_oracle and lazygrad.get_backend() == "numpy" and \
            _jax_checks.get(key, 0) < JAX_CHECKS_PER_ORACLE:
        _jax_checks[key] = _jax_checks.get(key, 0) + 1
        for value, reference in zip(got, _jax_gradients(oracle, g.x64, g.wrt, g.cts)):
            assert_close(value, reference, *GRAD_TOLERANCE)
    if HAS_TORCH:
        _compare_with_torch(fn, g.x64, g.wrt, g.cts, g.outs, got)


def _central_differences(fn: Fn, x64: list[Any], wrt: list[int], cts: list[np.ndarray]) -> list[np.ndarray]:
    """Numerical gradients, computed on the reference backend: an oracle never runs on the backend it judges."""
    def value(args: list[Any]) -> float:
        outs = flat(fn(lazygrad, *[_tensor(a) for a in args]))
        return sum(float(np.sum(o.numpy() * ct)) for o, ct in zip(outs, cts) if o.dtype.is_floating_point)

    grads = []
    with lazygrad.no_grad(), lazygrad.backend(REFERENCE):
        for i in wrt:
            grad = np.zeros_like(x64[i])
            for index in np.ndindex(x64[i].shape):
                args = list(x64)
                total = 0.0
                for sign in (1, -1):
                    bumped = x64[i].copy()
                    bumped[index] += sign * FD_STEP
                    args[i] = bumped
                    total += sign * value(args)
                grad[index] = total / (2 * FD_STEP)
            grads.append(grad)
    return grads


def _jax_gradients(oracle: Fn, x64: list[Any], wrt: list[int], cts: list[np.ndarray]) -> list[np.ndarray]:
    def scalar(*diff: Any) -> Any:
        args = list(x64)
        for i, d in zip(wrt, diff):
            args[i] = d
        outs = flat(oracle(jnp, *args))
        return sum(jnp.sum(o * ct) for o, ct in zip(outs, cts) if jnp.issubdtype(o.dtype, jnp.floating))

    # One jitted program: op by op, jax would compile every primitive of the oracle at each new shape.
    with jax.enable_x64(True):
        grads = jax.jit(jax.grad(scalar, argnums=tuple(range(len(wrt)))))(*[jnp.asarray(x64[i]) for i in wrt])
        return [np.asarray(g) for g in grads]


def _compare_with_torch(fn: Fn, x64: list[Any], wrt: list[int], cts: list[np.ndarray], outs: list[Any],
                        got: list[np.ndarray]) -> None:
    leaves = [_torch_tensor(x, requires_grad=i in wrt) for i, x in enumerate(x64)]
    references = flat(fn(torch, *leaves))
    for out, reference, ct in zip(outs, references, cts):
        want = None if reference.grad_fn is None else type(reference.grad_fn).__name__
        have = None if out.grad_fn is None else out.grad_fn.name()
        assert have == want, f"grad_fn {have}, torch has {want}"
        if reference.requires_grad:
            reference.backward(torch.from_numpy(ct), retain_graph=True)
    for g, i in zip(got, wrt):
        want = leaves[i].grad
        assert_close(g, np.zeros_like(g) if want is None else want, *GRAD_TOLERANCE)


# ---- strategies -------------------------------------------------------------------------------------------------

FLOATS = (np.float32, np.float64)
INTS = (np.int32, np.int64)


# On jax every new shape is a new program to compile (~0.1-0.5 s each): there the strategies below draw from
# these few, so an op's programs repeat and compile once. The reference backend explores freely; the
# program-level test in test_backend_agreement.py compares the two backends on programs of random shapes.
FIXED_SHAPES = ((), (3,), (2, 3), (2, 1, 3))
FIXED_PAIRS = (((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1), (1, 3)), ((3,), (2, 1, 3)))


@st.composite
def _per_backend(draw: Any, explore: st.SearchStrategy, fixed: Sequence[Any]) -> Any:
    """``explore`` on the reference backend, one of ``fixed`` on a compiling one (decided when drawn)."""
    if lazygrad.get_backend() == REFERENCE or not fixed:
        return draw(explore)
    return draw(st.sampled_from(fixed))


def _fitted(shape: tuple[int, ...], min_dims: int, max_side: int) -> tuple[int, ...]:
    """``shape`` with its sides cut to ``max_side`` and leading dims of 2 added up to ``min_dims``."""
    sides = tuple(min(side, max_side) for side in shape)
    return (min(2, max_side),) * (min_dims - len(sides)) + sides


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    """Small shapes without zero sides; on jax, ``FIXED_SHAPES`` fitted to the bounds."""
    fixed = sorted({_fitted(s, min_dims, max_side) for s in FIXED_SHAPES if len(s) <= max_dims})
    return _per_backend(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side), fixed)


def elements(dtype: Any, low: float = -3, high: float = 3) -> st.SearchStrategy:
    """Values for ``dtype`` in [low, high]: floats without subnormals, integers, or booleans."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        return st.integers(int(np.ceil(low)), int(np.floor(high)))
    return st.floats(low, high, width=8 * min(dtype.itemsize, 8), allow_subnormal=False)


def smooth(low: float = -3, high: float = 3) -> st.SearchStrategy[float]:
    """Odd multiples of 1/16: never 0, an integer or a half-integer, so no kink (abs, floor, round, relu)
    lies within a finite-difference step, and exactly representable in every float dtype."""
    return st.integers(int(np.ceil(low * 8 - 0.5)), int(np.floor(high * 8 - 0.5))).map(lambda k: (2 * k + 1) / 16)


def arrays(dtype: Any, shape: Any, values: st.SearchStrategy | None = None,
           unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    """numpy arrays of ``dtype`` and ``shape`` (a tuple or a strategy); ``unique`` rules out ties."""
    return hnp.arrays(np.dtype(dtype), shape, elements=values if values is not None else elements(dtype),
                      unique=unique)


def smooth_arrays(shape: Any, dtype: Any = np.float64, low: float = -3, high: float = 3,
                  unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Float arrays made for gradient checks: no kinks nearby and, with ``unique``, no ties."""
    return arrays(dtype, shape, smooth(low, high), unique=unique)


def broadcast_pair(max_dims: int = 3, max_side: int = 3) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Two shapes that broadcast together (torch's rules are numpy's); on jax, ``FIXED_PAIRS`` fitted."""
    fixed = [tuple(_fitted(s, 0, max_side) for s in pair) for pair in FIXED_PAIRS
             if all(len(s) <= max_dims for s in pair)]
    explore = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims, min_side=1,
                                                max_side=max_side).map(lambda s: s.input_shapes)
    return _per_backend(explore, fixed)
