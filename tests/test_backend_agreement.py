"""Every backend computes what the reference backend computes, on whole random programs with their backward.

The op tests judge each op against its oracle on the reference backend, and on jax over a few fixed shapes
only. This test closes the gap at the level of programs: hypothesis draws a small program (elementwise ops,
reductions, shape ops, matmul, indexing and assignment, discrete ops, dtype casts) while building it on the
reference backend, adds its gradients (first or second order), replays it on every other backend, and
compares every value and gradient, within the tolerance of its dtype. One example is one program, so one
compile on jax.

Kinks and discrete ops (relu, max, floor, comparisons, argmax) read leaves only: leaves hold exact values,
so both backends take the same branch, where a computed value could differ by an ulp and flip it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import REFERENCE, TOLERANCES, smooth
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazygrad
from lazygrad import autograd, backends
from lazygrad.nn import functional as F

pytestmark = pytest.mark.backend_agnostic  # it runs every backend itself
OTHERS = [name for name in backends.available() if name != REFERENCE]

Op = Callable[..., Any]  # op(T, *tensors) -> tensor, written against the torch API
MAX_NUMEL = 64
MAX_NDIM = 4

# ---- the ops a program is drawn from ----------------------------------------------------------------------------

SMOOTH_UNARY: dict[str, Op] = {
    "tanh": lambda T, x: x.tanh(),
    "sigmoid": lambda T, x: x.sigmoid(),
    "sin": lambda T, x: x.sin(),
    "cos": lambda T, x: T.cos(x),
    "exp": lambda T, x: x.tanh().exp(),
    "expm1": lambda T, x: x.tanh().expm1(),
    "log": lambda T, x: (x * x + 0.5).log(),
    "log1p": lambda T, x: (x * x).log1p(),
    "sqrt": lambda T, x: (x * x + 1).sqrt(),
    "rsqrt": lambda T, x: (x * x + 1).rsqrt(),
    "erf": lambda T, x: x.erf(),
    "neg": lambda T, x: -x,
    "affine": lambda T, x: 0.5 * x - 1,
    "pow": lambda T, x: (x * x + 1) ** 0.75,
    "reciprocal": lambda T, x: (x * x + 1).reciprocal(),
    "cast": lambda T, x: x.double() if x.dtype is T.float32 else x.float(),
}

BINARY: dict[str, Op] = {
    "add": lambda T, a, b: a + b,
    "sub": lambda T, a, b: a - b,
    "mul": lambda T, a, b: a * b,
    "div": lambda T, a, b: a / (b * b + 1),
    "atan2": lambda T, a, b: T.atan2(a, b * b + 1),
    "pow": lambda T, a, b: (a * a + 1) ** b.tanh(),
}

# name -> op(T, x, dim, keepdim); the dim is drawn for the tensor at hand
REDUCE: dict[str, Callable[[Any, Any, int, bool], Any]] = {
    "sum": lambda T, x, d, k: x.sum(d, keepdim=k),
    "mean": lambda T, x, d, k: x.mean(d, keepdim=k),
    "prod": lambda T, x, d, k: x.tanh().prod(d, keepdim=k),
    "var": lambda T, x, d, k: x.var(d, unbiased=False, keepdim=k),
    "logsumexp": lambda T, x, d, k: x.logsumexp(d, keepdim=k),
    "softmax": lambda T, x, d, k: x.softmax(d),
    "log_softmax": lambda T, x, d, k: F.log_softmax(x, d),
    "cumsum": lambda T, x, d, k: x.cumsum(d),
    "sum_all": lambda T, x, d, k: x.sum(),
    "mean_all": lambda T, x, d, k: x.mean(),
}

# Discrete or kinked: applied to leaves only. name -> op(T, x, dim)
ON_LEAVES: dict[str, Callable[[Any, Any, int], Any]] = {
    "relu": lambda T, x, d: x.relu(),
    "abs": lambda T, x, d: x.abs(),
    "clamp": lambda T, x, d: x.clamp(-0.5, 0.75),
    "floor": lambda T, x, d: x.floor() + x,
    "round": lambda T, x, d: (x * 2).round() * x,
    "sign": lambda T, x, d: x.sign() * x,
    "remainder": lambda T, x, d: x.remainder(0.75),
    "amax": lambda T, x, d: x.amax(d),
    "amin": lambda T, x, d: x.amin(d, keepdim=True),
    "max_values": lambda T, x, d: x.max(d).values,
    "max_all": lambda T, x, d: x.max(),
    "argmax": lambda T, x, d: x.argmax(d),
    "gather_argmin": lambda T, x, d: x.gather(d, x.argmin(d, keepdim=True)),
    "compare": lambda T, x, d: x > 0.25,
    "where": lambda T, x, d: T.where(x > 0.25, x.sin(), x * 3),
    "integer": lambda T, x, d: (x * 8).floor().long() // 3 + (x * 8).floor().long() % 3,
}


# ---- drawing a program while building it -----------------------------------------------------------------------


class Program:
    """Leaves and steps; each step is ``(op, positions of its operands in the pool)``."""

    def __init__(self, leaves: list[np.ndarray], second_order: bool) -> None:
        self.leaves = leaves
        self.second_order = second_order
        self.steps: list[tuple[Op, tuple[int, ...]]] = []


def _fits(t: Any) -> bool:
    """Small enough to keep in the pool, and not empty: the draws pick positions and sizes inside a tensor
    (reductions over an empty dimension have their own test in test_ops)."""
    return t.ndim <= MAX_NDIM and 0 < t.numel() <= MAX_NUMEL


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _constant(data: st.DataObject, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return data.draw(hnp.arrays(dtype.np, shape, elements=smooth(-1, 1)), label="constant")


def _index_array(data: st.DataObject, shape: tuple[int, ...], size: int, negative: bool = False) -> np.ndarray:
    low = -size if negative else 0
    return data.draw(hnp.arrays(np.int64, shape, elements=st.integers(low, size - 1)), label="index")


KINDS = ["unary", "binary", "reduce", "leaf", "shape", "matmul", "index", "assign"]


def _draw_step(data: st.DataObject, pool: list[Any], n_leaves: int) -> tuple[Op, tuple[int, ...]] | None:
    """One step on the current pool, or None when the drawn op does not apply to the drawn operand."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    floats = [i for i, t in enumerate(pool) if t.dtype.is_floating_point]
    # discrete ops read leaves; the other kinds need a dim to work along, except elementwise ops and reductions
    operands = {"leaf": [i for i in floats[:n_leaves] if pool[i].ndim], "unary": floats, "binary": floats,
                "reduce": floats}.get(kind, [i for i in floats if pool[i].ndim])
    if not operands:
        return None
    i = data.draw(st.sampled_from(operands), label="operand")
    x = pool[i]
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim") if x.ndim else 0
    if kind == "unary":
        name = data.draw(st.sampled_from(sorted(SMOOTH_UNARY)), label="unary")
        return SMOOTH_UNARY[name], (i,)
    if kind == "binary":
        name = data.draw(st.sampled_from(sorted(BINARY)), label="binary")
        partners = [j for j in floats if _broadcasts(x.shape, pool[j].shape)]
        return BINARY[name], (i, data.draw(st.sampled_from(partners), label="partner"))
    if kind == "reduce":
        name = data.draw(st.sampled_from(sorted(REDUCE)), label="reduce")
        keep = data.draw(st.booleans(), label="keepdim")
        if not x.ndim and name not in ("sum_all", "mean_all"):
            return None
        return (lambda T, x: REDUCE[name](T, x, dim, keep)), (i,)
    if kind == "leaf":
        name = data.draw(st.sampled_from(sorted(ON_LEAVES)), label="on_leaves")
        return (lambda T, x: ON_LEAVES[name](T, x, dim)), (i,)
    if kind == "shape":
        return _draw_shape_op(data, pool, i, dim)
    if kind == "matmul":
        return _draw_matmul(data, pool, i)
    if kind == "index":
        return _draw_index(data, x, i, dim)
    return _draw_assign(data, pool, floats, i)


def _draw_shape_op(data: st.DataObject, pool: list[Any], i: int, dim: int) -> tuple[Op, tuple[int, ...]] | None:
    x = pool[i]
    shape, nd = tuple(x.shape), x.ndim
    name = data.draw(st.sampled_from(["reshape", "permute", "transpose", "unsqueeze", "squeeze", "flip", "slice",
                                      "expand", "cat", "stack", "pad", "repeat"]), label="shape_op")
    if name == "reshape":
        target = list(data.draw(st.permutations([*shape, 1])))
        target[data.draw(st.integers(0, len(target) - 1))] = -1
        return (lambda T, x: x.reshape(target)), (i,)
    if name == "unsqueeze":
        at = data.draw(st.integers(-nd - 1, nd))
        return (lambda T, x: x.unsqueeze(at)), (i,)
    if name == "squeeze":
        return (lambda T, x: x.squeeze()), (i,)
    if name == "pad":
        if not nd:
            return None
        left, right = data.draw(st.integers(0, 2)), data.draw(st.integers(-1 if shape[-1] > 1 else 0, 2))
        return (lambda T, x: F.pad(x, (left, right), value=0.5)), (i,)
    if name == "repeat":
        reps = data.draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd + 1))
        return ((lambda T, x: x.repeat(*reps)) if reps else None), (i,)
    if name == "expand":
        target = [2, *(2 if side == 1 else side for side in shape)]
        return (lambda T, x: x.expand(*target)), (i,)
    if not nd:
        return None
    if name == "permute":
        perm = data.draw(st.permutations(range(nd)))
        return (lambda T, x: x.permute(*perm)), (i,)
    if name == "transpose":
        other = data.draw(st.integers(-nd, nd - 1))
        return (lambda T, x: x.transpose(dim, other)), (i,)
    if name == "flip":
        return (lambda T, x: x.flip(dim)), (i,)
    if name == "slice":
        size = shape[dim]
        start, step = data.draw(st.integers(-size, size - 1)), data.draw(st.integers(1, 2))
        index = (slice(None),) * (dim % nd) + (slice(start, None, step),)
        return (lambda T, x: x[index]), (i,)
    same = [j for j, t in enumerate(pool) if t.ndim == nd and all(a == b for k, (a, b) in enumerate(zip(t.shape, shape))
                                                                    if k != dim % nd)]
    j = data.draw(st.sampled_from(same), label="partner")
    if name == "cat":
        return (lambda T, x, y: T.cat([x, y], dim)), (i, j)
    equal = [k for k in same if tuple(pool[k].shape) == shape]
    k = data.draw(st.sampled_from(equal), label="partner")
    return (lambda T, x, y: T.stack([x, y], dim)), (i, k)


def _draw_matmul(data: st.DataObject, pool: list[Any], i: int) -> tuple[Op, tuple[int, ...]] | None:
    x = pool[i]
    if not x.ndim:
        return None
    if data.draw(st.booleans(), label="gram"):  # both operands computed: x @ x^T (a dot product for vectors)
        return (lambda T, x: x @ x.transpose(-1, -2) if x.ndim > 1 else x @ x), (i,)
    w = _constant(data, (x.shape[-1], data.draw(st.integers(1, 3))), x.dtype)
    return (lambda T, x: x @ T.tensor(w)), (i,)


def _draw_index(data: st.DataObject, x: Any, i: int, dim: int) -> tuple[Op, tuple[int, ...]] | None:
    if not x.ndim:
        return None
    shape, size = tuple(x.shape), x.shape[dim]
    name = data.draw(st.sampled_from(["basic", "index_select", "advanced", "gather", "scatter_add"]), label="index")
    if name == "basic":
        index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True).filter(
            lambda ix: all(not isinstance(s, slice) or s.step is None or s.step > 0
                           for s in (ix if isinstance(ix, tuple) else (ix,)))))
        return (lambda T, x: x[index]), (i,)
    if name == "index_select":
        idx = _index_array(data, (data.draw(st.integers(1, 3)),), size)
        return (lambda T, x: x.index_select(dim, T.tensor(idx))), (i,)
    if name == "advanced":
        idx = _index_array(data, (data.draw(st.integers(1, 3)),), shape[0], negative=True)
        return (lambda T, x: x[T.tensor(idx)]), (i,)
    idx = _index_array(data, tuple(max(1, s - 1) for s in shape), size)
    if name == "gather":
        return (lambda T, x: x.gather(dim, T.tensor(idx))), (i,)
    src = _constant(data, idx.shape, x.dtype)
    return (lambda T, x: x.scatter_add(dim, T.tensor(idx), T.tensor(src) * x.sum())), (i,)


def _draw_assign(data: st.DataObject, pool: list[Any], floats: list[int], i: int) -> tuple[Op, tuple[int, ...]] | None:
    """``y = x * 1; y[index] = v``: the written part takes v's gradient, the rest x's."""
    x = pool[i]
    if not x.ndim:
        return None
    index = data.draw(hnp.basic_indices(tuple(x.shape), allow_ellipsis=True).filter(
        lambda ix: all(not isinstance(s, slice) or s.step is None or s.step > 0
                       for s in (ix if isinstance(ix, tuple) else (ix,)))))
    view = np.empty(tuple(x.shape))[index].shape
    values = [j for j in floats if _broadcasts(view, tuple(pool[j].shape))
              and np.broadcast_shapes(view, tuple(pool[j].shape)) == view]
    if not values:  # nothing in the pool fits the selection: write a number
        return (lambda T, x: _assigned(x, index, 0.5)), (i,)
    j = data.draw(st.sampled_from(values), label="value")
    return (lambda T, x, v: _assigned(x, index, v)), (i, j)


def _assigned(x: Any, index: Any, value: Any) -> Any:
    y = x * 1
    y[index] = value
    return y


def _draw_program(data: st.DataObject) -> Program:
    """Draw a program's leaves, then its steps against the leaves' tensors on the reference backend."""
    first = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), label="leaf shape")
    more = data.draw(st.lists(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), max_size=2),
                     label="more leaf shapes")
    shapes = [first, *more]
    dtypes = [data.draw(st.sampled_from([np.float32, np.float64]), label="dtype") for _ in shapes]
    leaves = [data.draw(hnp.arrays(d, s, elements=smooth(-2, 2)), label="leaf") for s, d in zip(shapes, dtypes)]
    program = Program(leaves, data.draw(st.booleans(), label="second order"))
    with lazygrad.backend(REFERENCE), lazygrad.no_grad():
        _draw_steps(data, program)
    return program


def _draw_steps(data: st.DataObject, program: Program) -> None:
    """The graph built here only gives the shapes to draw against; it is dropped, never computed."""
    pool = [lazygrad.tensor(a) for a in program.leaves]
    wanted = data.draw(st.sampled_from(range(10, 2, -1)), label="steps")  # long: more ops per compile
    for _ in range(3 * wanted):
        step = _draw_step(data, pool, len(program.leaves))
        if step is None or step[0] is None:
            continue
        op, args = step
        out = op(lazygrad, *[pool[k] for k in args])
        if _fits(out):
            pool.append(out)
            program.steps.append(step)
            if len(program.steps) == wanted:
                return


# ---- running it -------------------------------------------------------------------------------------------------


def _run(program: Program, backend: str) -> list[np.ndarray | None]:
    """Every intermediate value and the leaves' gradients of a fixed weighted sum of them, all in one program."""
    with lazygrad.backend(backend):
        leaves = [lazygrad.tensor(a, requires_grad=True) for a in program.leaves]
        pool = list(leaves)
        for op, args in program.steps:
            pool.append(op(lazygrad, *[pool[k] for k in args]))
        outs = pool[len(leaves):]
        rng = np.random.default_rng(0)
        terms = [(o * lazygrad.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype)).sum()
                 for o in outs if o.requires_grad]
        grads: list[Any] = []
        if terms:
            loss = sum(terms[1:], terms[0])
            grads = list(autograd.grad(loss, leaves, create_graph=program.second_order, allow_unused=True))
            curvature = [(g * g).sum() for g in grads if g is not None and g.requires_grad]
            if curvature:
                grads += autograd.grad(sum(curvature[1:], curvature[0]), leaves, allow_unused=True)
        results = [*outs, *grads]
        lazygrad.realize(*[r for r in results if r is not None])
        return [None if r is None else r.detach().numpy() for r in results]


def _assert_agree(got: np.ndarray | None, want: np.ndarray | None, precision: str, what: str) -> None:
    assert (got is None) == (want is None), f"{what}: {got} vs {want}"
    if want is None:
        return
    assert (got.dtype, got.shape) == (want.dtype, want.shape), f"{what}: {got.dtype}{got.shape} {want.dtype}"
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    rtol, atol = TOLERANCES[precision]
    # sums reorder and transcendental functions differ in their last bits: scale the floor by the values' size
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0, where=np.isfinite(want))))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, equal_nan=True, err_msg=what)


def _precision(program: Program, results: list[np.ndarray | None]) -> str:
    """The least precise float dtype anywhere in the program: a float32 value carries its error into float64."""
    floats = [a.dtype for a in program.leaves] + [r.dtype for r in results if r is not None and r.dtype.kind == "f"]
    return min(floats, key=lambda d: d.itemsize).name


# Twice the profile's examples: beyond a few fixed examples per op test, this is where jax meets most ops.
@pytest.mark.skipif(not OTHERS, reason="only the reference backend is installed")
@settings(max_examples=2 * settings.default.max_examples)
@given(data=st.data())
def test_random_programs_and_their_gradients_agree_on_every_backend(data: st.DataObject) -> None:
    program = _draw_program(data)
    want = _run(program, REFERENCE)
    precision = _precision(program, want)
    for backend in OTHERS:
        got = _run(program, backend)
        for position, (g, w) in enumerate(itertools.zip_longest(got, want)):
            _assert_agree(g, w, precision, f"{backend}, result {position} of {len(want)}")
