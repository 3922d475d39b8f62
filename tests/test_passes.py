"""The graph passes run before a backend compiles a program: they may drop work, never change a bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazygrad
from lazygrad import dtypes, ir, ops
from lazygrad.dtypes import from_numpy
from lazygrad.passes import drop_unit_products, optimize
from lazygrad.program import linearize

# Values where a careless rewrite would show: signed zero, infinities, NaN (no subnormal: XLA flushes those).
EDGES = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, 1e-30, -2.5, 3.0], dtype=np.float32)


def _ops(program) -> list[str]:
    return [ins.op for ins in program.instrs]


def test_product_with_a_broadcast_one_is_dropped():
    x = ir.leaf(EDGES, EDGES.shape, dtypes.float32)
    y = ops.add(x, x)
    program, _ = linearize([ops.mul(ops.full(EDGES.shape, 1, dtypes.float32), y)])
    assert _ops(optimize(program)) == ["add"]


def test_product_that_broadcasts_its_other_operand_is_kept():
    x = ir.leaf(EDGES[:1], (1,), dtypes.float32)
    y = ops.neg(x)
    program, _ = linearize([ops.mul(ops.full(EDGES.shape, 1, dtypes.float32), y)])
    assert "mul" in _ops(drop_unit_products(program))


def test_product_with_another_constant_is_kept():
    x = ir.leaf(EDGES, EDGES.shape, dtypes.float32)
    program, _ = linearize([ops.mul(ops.neg(x), ops.full(EDGES.shape, 2, dtypes.float32))])
    assert "mul" in _ops(drop_unit_products(program))


def test_product_of_an_input_with_one_is_kept():
    """An output may not become an input buffer of the caller's (a backend may hand it over to XLA)."""
    x = ir.leaf(EDGES, EDGES.shape, dtypes.float32)
    program, _ = linearize([ops.mul(x, ops.full(EDGES.shape, 1, dtypes.float32))])
    assert "mul" in _ops(drop_unit_products(program))


def test_gradient_through_a_sum_has_the_bits_of_numpy(backend):
    """``(x * y).sum()``'s gradient is the seed 1 times ``y``: the same bits, NaN and -0 included."""
    x = lazygrad.tensor(EDGES, requires_grad=True)
    y = lazygrad.tensor(EDGES[::-1].copy())
    (x * (y + 0.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().view(np.uint32), (EDGES[::-1] + np.float32(0)).view(np.uint32))


def test_numpy_code_writes_into_a_dying_ufunc_result_only():
    """``out=`` reuses an intermediate that only ufuncs read; a value an output or a view shares keeps its array."""
    from backends import numpy_backend

    x = ir.leaf(EDGES, EDGES.shape, dtypes.float32)
    a = ops.add(x, x)  # read by a ufunc only, then dead: its array can take the product
    b = ops.mul(a, x)
    c = ops.neg(b)  # b is also reshaped (a view of it lives on as an output): never written into
    program, buffers = linearize([ops.add(c, x), ops.reshape(b, (2, 4))])
    assert numpy_backend._reuse_plan(program) == [None, 0, None, 2, None]  # c is only added to: it takes the sum
    run = numpy_backend.NumpyBackend().compile(program)
    expected_b = (EDGES + EDGES) * EDGES
    for _ in range(3):  # the first run is interpreted, later ones run the generated code
        total, view = run(buffers)
        np.testing.assert_array_equal(total.view(np.uint32), (-expected_b + EDGES).view(np.uint32))
        np.testing.assert_array_equal(view.view(np.uint32), expected_b.reshape(2, 4).view(np.uint32))


@pytest.mark.backend_agnostic
@settings(max_examples=60, deadline=None)
@given(size=st.sampled_from([0, 1, 511, 512, 700, 20000]), dtype=st.sampled_from(["float16", "float32", "float64",
                                                                                     "int8", "int64", "bool"]),
       seed=st.integers(0, 2**16), scalar_true=st.booleans(), repeated=st.sampled_from([None, "mask", "all"]))
def test_numpy_select_has_the_bits_of_np_where(size, dtype, seed, scalar_true, repeated):
    """The select kernel (np.where on small arrays, a branch-free bit choice on larger ones) gives np.where's
    bits for every dtype, NaNs and signed zeros included, with a broadcast 0-d branch as ReLU has, and with a
    mask repeated over a leading axis (a causal mask over every head), or everything repeated."""
    from backends import numpy_backend

    rng = np.random.default_rng(seed)
    pool = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -2.0], dtype=np.float64)
    raw = rng.choice(pool, size=(2, size))
    with np.errstate(invalid="ignore"):  # NaN and infinities cast to integers: whatever bits, the same on both sides
        on_true, on_false = raw.astype(dtype) if dtype != "bool" else raw > 0
    if scalar_true:  # ReLU's zero (a kernel of its own), or another number
        on_true = on_true[:1].reshape(()) if size and seed % 2 else np.zeros((), on_false.dtype)
    pred = rng.random(size) < 0.5
    if repeated is not None:
        pred = np.broadcast_to(pred, (3, size))
        if repeated == "mask":
            on_false = np.stack([on_false, on_false[::-1], -on_false if dtype != "bool" else ~on_false])
    expected = np.where(pred, on_true, on_false)
    # the kernel a generated program calls when the shapes allow, and the general one
    specialized = numpy_backend.SPECIALIZED["select"]([pred.shape, on_true.shape, on_false.shape],
                                                      from_numpy(on_false.dtype))
    for select in filter(None, (specialized, numpy_backend._select)):
        chosen = select(pred, on_true, on_false)
        assert chosen.flags.writeable
        assert chosen.dtype == expected.dtype and chosen.shape == expected.shape
        np.testing.assert_array_equal(chosen.view(np.uint8), expected.view(np.uint8))


@pytest.mark.backend_agnostic
@settings(max_examples=30, deadline=None)
@given(shape=st.sampled_from([(5, 1), (7, 3), (64, 32), (2, 3, 300), (0, 4), (4, 0)]), seed=st.integers(0, 2**16),
       low=st.booleans())
def test_numpy_max_and_min_over_short_rows_equal_numpys(shape, seed, low):
    """Short last-axis rows are reduced as slabs; the values (NaNs and infinities too) are np.max's / np.min's."""
    from backends import numpy_backend

    rng = np.random.default_rng(seed)
    x = rng.choice(np.array([np.nan, np.inf, -np.inf, 1.5, -2.0, 3.0], dtype=np.float32), size=shape)
    x[..., ::3] = rng.standard_normal(x[..., ::3].shape)
    axis = len(shape) - 1
    reduce, reference = (np.maximum, np.max) if low else (np.minimum, np.min)
    got = numpy_backend._extremum(reduce, x, (axis,), low)
    if x.size:
        np.testing.assert_array_equal(got, reference(x, axis=axis))
    else:
        assert got.shape == shape[:-1]


@pytest.mark.backend_agnostic
@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 300), size=st.integers(1, 40), width=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_numpy_row_scatter_add_sums_what_np_add_at_sums(rows, size, width, seed):
    """An embedding's gradient (rows added by index, the runs of each index summed at once) is np.add.at's sum."""
    from backends import numpy_backend

    rng = np.random.default_rng(seed)
    indices = rng.integers(0, size, rows)
    updates = rng.standard_normal((rows, width)).astype(np.float32)
    expected = np.zeros((size, width), np.float32)
    np.add.at(expected, indices, updates)
    np.testing.assert_allclose(numpy_backend._scatter_add(updates, indices, 0, size), expected, rtol=1e-5, atol=1e-5)


def _relu_program(outer: str, inner: str):
    x = ir.leaf(EDGES, EDGES.shape, dtypes.float32)
    h = ops.add(x, x)
    zero = ops.const(0, dtypes.float32)
    value = ops.select(ir.apply(inner, (h, zero)), zero, h)
    return linearize([ops.select(ir.apply(outer, (h, zero)), ir.apply("stop_gradient", (value,)), h)])


@pytest.mark.parametrize(("outer", "inner"), [("le", "lt"), ("ne", "lt"), ("ge", "eq"), ("lt", "lt"), ("ge", "gt")])
def test_a_select_repeating_an_inner_one_under_a_weaker_test_is_dropped(backend, outer, inner):
    """ReLU's forward pass is one select once its gradient's outer select is dropped; the bits stay the same."""
    program, buffers = _relu_program(outer, inner)
    optimized = optimize(program)
    assert _ops(optimized).count("select") == 1
    expected = lazygrad.realization.backend().compile(program)(buffers)[0]
    np.testing.assert_array_equal(np.asarray(lazygrad.realization.backend().compile(optimized)(buffers)[0]).view(
        np.uint32), np.asarray(expected).view(np.uint32))


@pytest.mark.parametrize(("outer", "inner"), [("lt", "le"), ("gt", "lt"), ("le", "ne")])
def test_a_select_under_a_stronger_test_is_kept(outer, inner):
    """``select(x < 0, select(x <= 0, 0, x), x)`` differs at 0: its outer select is needed."""
    program, _ = _relu_program(outer, inner)
    assert _ops(optimize(program)).count("select") == 2


def test_relu_value_and_gradient_keep_torchs_zeros_and_nans(backend):
    """After the pass ReLU still keeps -0 and NaN, and its gradient is 0 at both zeros and passes at NaN."""
    x = lazygrad.tensor(EDGES, requires_grad=True)
    y = (x * 1.0).relu()
    y.backward(lazygrad.ones(len(EDGES)))
    expected = np.where(EDGES < 0, np.float32(0), EDGES)
    np.testing.assert_array_equal(y.detach().numpy().view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(x.grad.numpy(), np.where((EDGES > 0) | np.isnan(EDGES), 1.0, 0.0))
