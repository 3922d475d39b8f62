"""torch.linalg: norms, inverse, solve, determinants and factorizations against numpy, jax.grad and torch.

Symmetric-input factorizations (Cholesky, eigh) are differentiated through a symmetric construction of
their input, since they read one triangle only; eigenvectors through their squares, which do not depend
on each vector's free sign.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, check_op

import lazygrad

A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.5], [0.25, -1.0, 2.5]])
BATCH = np.stack([A, A.T[::-1] + np.eye(3)])
RECT = np.array([[1.5, -0.5, 2.0], [0.25, 1.0, -1.25]])
B = np.array([[1.0, -2.0], [0.5, 0.0], [-1.5, 2.5]])


def _raises(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value).startswith(message), str(info.value)


# ---- norms ----------------------------------------------------------------------------------------------------


def _vector_norm(m, x, p, axis=None):
    magnitude = m.abs(x)
    if p == math.inf:
        return m.max(magnitude, axis=axis)
    if p == -math.inf:
        return m.min(magnitude, axis=axis)
    if p == 0:
        return m.sum((x != 0).astype(x.dtype), axis=axis)
    return m.sum(magnitude**p, axis=axis) ** (1 / p)


@pytest.mark.parametrize("ord", [2, 1, 3, math.inf, -math.inf, 0])
def test_vector_norm_orders(ord):
    check_op(lambda T, x: T.linalg.vector_norm(x, ord), lambda m, x: _vector_norm(m, x, ord), RECT)
    check_op(lambda T, x: T.linalg.vector_norm(x, ord, dim=1, keepdim=True),
             lambda m, x: _vector_norm(m, x, ord, axis=1)[:, None], RECT)


def test_vector_norm_of_zero_has_zero_gradient():
    x = lazygrad.zeros(3, dtype=lazygrad.float64, requires_grad=True)
    lazygrad.linalg.vector_norm(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
def test_matrix_norm_orders(ord):
    check_op(lambda T, x: T.linalg.matrix_norm(x, ord), lambda m, x: m.linalg.norm(x, ord, axis=(-2, -1)), BATCH)


def test_norm_picks_vector_or_matrix_norms_like_torch():
    check_op(lambda T, x: T.linalg.norm(x), lambda m, x: m.sqrt(m.sum(x * x)), BATCH)
    check_op(lambda T, x: T.linalg.norm(x, dim=1), lambda m, x: m.sqrt(m.sum(x * x, axis=1)), RECT)
    check_op(lambda T, x: T.linalg.norm(x, 1), lambda m, x: m.linalg.norm(x, 1), RECT)
    check_op(lambda T, x: T.linalg.norm(x, math.inf, dim=(0, 1), keepdim=True),
             lambda m, x: m.linalg.norm(x, math.inf, keepdims=True), RECT)


def test_norm_errors_match_torch():
    x = lazygrad.tensor(BATCH)
    _raises(lambda: lazygrad.linalg.norm(x, 2), RuntimeError,
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D.")
    _raises(lambda: lazygrad.linalg.matrix_norm(x, 3), RuntimeError, "linalg.matrix_norm: Order 3 not supported.")
    _raises(lambda: lazygrad.linalg.matrix_norm(lazygrad.ones(3)), RuntimeError,
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    _raises(lambda: lazygrad.linalg.vector_norm(lazygrad.tensor([1, 2])), RuntimeError,
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long")


# ---- inverse, solve, determinants -------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [A, BATCH], ids=["matrix", "batch"])
def test_inverse_and_determinants_with_gradients(x):
    check_op(lambda T, a: T.linalg.inv(a), lambda m, a: m.linalg.inv(a), x)
    check_op(lambda T, a: T.linalg.det(a), lambda m, a: m.linalg.det(a), x)
    check_op(lambda T, a: T.linalg.slogdet(a), lambda m, a: tuple(m.linalg.slogdet(a)), x)


def test_tensor_methods_and_torch_functions():
    check_op(lambda T, a: a.inverse(), lambda m, a: m.linalg.inv(a), A)
    check_op(lambda T, a: T.det(a), lambda m, a: m.linalg.det(a), A)
    check_op(lambda T, a: T.logdet(a), lambda m, a: m.linalg.slogdet(a)[1], A)
    negative = np.diag([1.0, -2.0, 3.0])
    assert math.isnan(lazygrad.logdet(lazygrad.tensor(negative)).item())
    result = lazygrad.slogdet(lazygrad.eye(2))
    assert repr(result) == "torch.return_types.slogdet(\nsign=tensor(1.),\nlogabsdet=tensor(0.))"
    assert type(lazygrad.linalg.slogdet(lazygrad.eye(2))).__name__ == "linalg_slogdet"


def test_solve_matrices_vectors_and_right_sides():
    check_op(lambda T, a, b: T.linalg.solve(a, b), lambda m, a, b: m.linalg.solve(a, b), A, B)
    check_op(lambda T, a, b: T.linalg.solve(a, b), lambda m, a, b: m.linalg.solve(a, b[:, None])[:, 0], A,
             B[:, 0].copy())
    check_op(lambda T, a, b: T.linalg.solve(a, b), lambda m, a, b: m.linalg.solve(a, m.broadcast_to(b, (2, 3, 2))),
             BATCH, B)
    check_op(lambda T, a, b: T.linalg.solve(a, b, left=False), lambda m, a, b: b @ m.linalg.inv(a), A, B.T.copy())


def test_solve_and_inverse_errors_match_torch():
    a = lazygrad.tensor(A)
    _raises(lambda: lazygrad.linalg.solve(a, lazygrad.ones(2, dtype=lazygrad.float64)), RuntimeError,
            "linalg.solve: Incompatible shapes of A and B for the equation AX = B (3x3 and 2x1)")
    _raises(lambda: lazygrad.linalg.solve(a, lazygrad.ones(3, 2)), RuntimeError,
            "linalg.solve: Expected A and B to have the same dtype, but found A of type Double and B of type Float "
            "instead")
    _raises(lambda: lazygrad.linalg.inv(lazygrad.tensor(RECT)), RuntimeError,
            "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices")
    _raises(lambda: lazygrad.linalg.inv(lazygrad.ones(3)), RuntimeError,
            "linalg.inv: The input tensor A must have at least 2 dimensions.")
    _raises(lambda: lazygrad.linalg.det(lazygrad.eye(2, dtype=lazygrad.int64)), RuntimeError,
            "linalg.det: Expected a floating point or complex tensor as input. Got Long")


# ---- factorizations ---------------------------------------------------------------------------------------------


def _spd(T, a):
    return a @ a.mT + T.eye(a.shape[-1], dtype=a.dtype)


def _np_spd(m, a):
    return a @ m.swapaxes(a, -1, -2) + m.eye(a.shape[-1])


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_with_gradients(upper):
    def oracle(m, a):
        lower = m.linalg.cholesky(_np_spd(m, a))
        return m.swapaxes(lower, -1, -2) if upper else lower

    check_op(lambda T, a: T.linalg.cholesky(_spd(T, a), upper=upper), oracle, BATCH)


@pytest.mark.parametrize("upper", [False, True])
def test_solves_and_inverse_from_a_cholesky_factor(upper):
    """torch.cholesky_solve and cholesky_inverse: the solve and inverse of the matrix the factor factors, with
    gradients towards the right side and, through the factor, the matrix."""
    def factor(T, a):
        return T.linalg.cholesky(_spd(T, a), upper=upper)

    check_op(lambda T, a, b: T.cholesky_solve(b, factor(T, a), upper=upper),
             lambda m, a, b: m.linalg.solve(_np_spd(m, a), b), A, B)
    check_op(lambda T, a: factor(T, a).cholesky_inverse(upper), lambda m, a: m.linalg.inv(_np_spd(m, a)), BATCH)
    _raises(lambda: lazygrad.cholesky_solve(lazygrad.ones(3), lazygrad.eye(3)), RuntimeError,
            "b should have at least 2 dimensions, but has 1 dimensions instead")


@pytest.mark.parametrize(("upper", "left", "unitriangular"), [(False, True, False), (True, False, True)])
def test_solve_triangular_reads_one_triangle(upper, left, unitriangular):
    def triangle(m, a):
        part = m.triu(a, int(unitriangular)) if upper else m.tril(a, -int(unitriangular))
        return part + m.eye(3) if unitriangular else part

    check_op(lambda T, a, b: T.linalg.solve_triangular(a, b, upper=upper, left=left, unitriangular=unitriangular),
             lambda m, a, b: m.linalg.solve(triangle(m, a), b) if left else b @ m.linalg.inv(triangle(m, a)),
             A, B if left else B.T.copy())
    _raises(lambda: lazygrad.linalg.solve_triangular(lazygrad.eye(3), lazygrad.ones(3), upper=upper), RuntimeError,
            "linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")


def test_eigh_values_and_vectors_with_gradients():
    def symmetric(m, a):
        return a + m.swapaxes(a, -1, -2)

    check_op(lambda T, a: T.linalg.eigh(a + a.mT).eigenvalues, lambda m, a: m.linalg.eigh(symmetric(m, a))[0], BATCH)
    check_op(lambda T, a: T.linalg.eigh(a + a.mT).eigenvectors ** 2,
             lambda m, a: m.linalg.eigh(symmetric(m, a))[1] ** 2, A)
    check_op(lambda T, a: T.linalg.eigvalsh(a + a.mT, UPLO="U"), lambda m, a: m.linalg.eigvalsh(symmetric(m, a)), A)


def test_eigh_reads_only_the_named_triangle():
    lower_only = np.tril(A + A.T)
    w = lazygrad.linalg.eigh(lazygrad.tensor(lower_only)).eigenvalues
    assert_close(w, np.linalg.eigvalsh(A + A.T))


@pytest.mark.parametrize("x", [RECT, BATCH], ids=["wide", "batch"])
def test_singular_values_with_gradients(x):
    check_op(lambda T, a: T.linalg.svdvals(a), lambda m, a: m.linalg.svd(a, compute_uv=False), x)
    check_op(lambda T, a: T.linalg.svd(a, full_matrices=False).S, lambda m, a: m.linalg.svd(a, compute_uv=False), x)


@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_factors_reconstruct_the_input(full_matrices):
    u, s, vh = lazygrad.linalg.svd(lazygrad.tensor(RECT.T.copy()), full_matrices=full_matrices)
    assert (tuple(u.shape), tuple(s.shape), tuple(vh.shape)) == (((3, 3) if full_matrices else (3, 2)), (2,), (2, 2))
    k = s.shape[0]
    assert_close(u.numpy()[:, :k] * s.numpy() @ vh.numpy()[:k], RECT.T)
    assert_close(u.numpy().T @ u.numpy(), np.eye(u.shape[1]))


@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_factors(mode):
    q, r = lazygrad.linalg.qr(lazygrad.tensor(RECT.T.copy()), mode=mode)
    assert_close(np.abs(r.numpy()), np.abs(np.linalg.qr(RECT.T, mode="complete" if mode == "complete" else "reduced")
                                          [1]))
    assert_close(np.tril(r.numpy(), -1), np.zeros_like(r.numpy()))
    if mode == "r":
        assert q.shape == (0,)
    else:
        assert_close(q.numpy() @ r.numpy(), RECT.T)


def test_gradients_that_are_not_implemented_say_so():
    a = lazygrad.tensor(RECT, requires_grad=True)
    with pytest.raises(NotImplementedError, match="qr"):
        lazygrad.linalg.qr(a).R.sum().backward()


def test_factorization_results_print_like_torch():
    text = repr(lazygrad.linalg.svd(lazygrad.eye(2)))
    assert text.startswith("torch.return_types.linalg_svd(\nU=tensor([[1., 0.],")
    assert type(lazygrad.linalg.eigh(lazygrad.eye(2))).__name__ == "linalg_eigh"
    _raises(lambda: lazygrad.linalg.cholesky(lazygrad.tensor(RECT)), RuntimeError,
            "linalg.cholesky: A must be batches of square matrices, but they are 2 by 3 matrices")


TALL = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0], [0.5, -1.0]])
RHS = np.array([[1.0, 0.0], [2.0, 1.0], [2.0, -1.0], [0.0, 3.0]])


def test_lstsq_and_pinv_solve_least_squares_as_numpy():
    """The solution, rank and pseudo-inverse of a tall full-rank system against numpy.linalg, and the solution's
    gradient (through the SVD) against central differences of numpy's."""
    A = lazygrad.tensor(TALL, requires_grad=True)
    B = lazygrad.tensor(RHS)
    result = lazygrad.linalg.lstsq(A, B)
    assert_close(result.solution, np.linalg.lstsq(TALL, RHS, rcond=None)[0], 1e-10, 1e-12)
    assert result.rank.item() == 2 and result.residuals.shape == (0,) and result.singular_values.shape == (0,)
    assert_close(lazygrad.linalg.pinv(A), np.linalg.pinv(TALL), 1e-10, 1e-12)
    result.solution.sum().backward()
    numerical = np.zeros_like(TALL)
    for index in np.ndindex(TALL.shape):
        for sign in (1, -1):
            bumped = TALL.copy()
            bumped[index] += sign * 1e-6
            numerical[index] += sign * np.linalg.lstsq(bumped, RHS, rcond=None)[0].sum() / 2e-6
    assert_close(A.grad, numerical, 1e-6, 1e-8)
    vector = lazygrad.linalg.lstsq(lazygrad.tensor(TALL), lazygrad.tensor(RHS[:, 0])).solution
    assert_close(vector, np.linalg.lstsq(TALL, RHS[:, 0], rcond=None)[0], 1e-10, 1e-12)


def test_matrix_rank_and_pinv_drop_tiny_singular_values():
    ones = lazygrad.ones(3, 3, dtype=lazygrad.float64)
    assert lazygrad.linalg.matrix_rank(ones).item() == 1
    assert lazygrad.linalg.matrix_rank(ones, atol=10.0).item() == 0
    assert_close(lazygrad.linalg.pinv(ones), np.linalg.pinv(np.ones((3, 3))), 1e-10, 1e-12)


def test_vecdot_vander_and_diagonal():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    assert_close(lazygrad.linalg.vecdot(lazygrad.tensor(x), lazygrad.tensor(x[::-1].copy())), (x * x[::-1]).sum(-1))
    assert_close(lazygrad.linalg.vander(lazygrad.tensor(x[0]), N=4), np.vander(x[0], 4, increasing=True))
    assert_close(lazygrad.vander(lazygrad.tensor(x[1])), np.vander(x[1]))
    assert_close(lazygrad.vander(lazygrad.tensor(x[1]), N=2, increasing=True), np.vander(x[1], 2, increasing=True))
    assert_close(lazygrad.linalg.diagonal(lazygrad.tensor(x), offset=1), np.diagonal(x, 1))
    with pytest.raises(RuntimeError, match="x must be a one-dimensional tensor"):
        lazygrad.vander(lazygrad.tensor(x))
