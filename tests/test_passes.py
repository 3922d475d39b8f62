"""The graph passes run before a backend compiles a program: they may drop work, never change a bit."""

from __future__ import annotations

import numpy as np

import lazygrad
from lazygrad import dtypes, ir, ops
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
