"""The rest of torch's linear algebra against torch, numpy and finite differences: LU with partial pivoting
(``lu_factor``, ``lu``, ``lu_solve``, ``lu_unpack``), the ``_ex`` factorizations and their ``info``, ``cond``,
``tensorinv``/``tensorsolve``, ``matrix_exp``, and the ``torch.*`` forms that predate ``torch.linalg``.

LU and the ``_ex`` checks unroll one elimination step per column, and ``matrix_exp`` a fixed number of
squarings, which jax compiles in seconds: the tests whose programs are new structures run on the reference
backend only, and ``test_compositions_agree_on_every_backend`` runs one program of each family everywhere.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close, check_like_torch, check_op, torch_oracle

import lazygrad
from lazygrad import linalg_legacy

if HAS_TORCH:
    import torch

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with torch")
reference_only = pytest.mark.backend_agnostic

RNG = np.random.default_rng(2024)
A = np.array([[0.5, 2.0, -1.0], [3.0, 1.0, 0.25], [-1.5, 0.75, 2.0]])
BATCH = RNG.standard_normal((2, 3, 3))
WIDE = RNG.standard_normal((2, 3, 4))
TALL = RNG.standard_normal((4, 3))
B = RNG.standard_normal((2, 3, 2))
SPD = BATCH @ BATCH.transpose(0, 2, 1) + np.eye(3)
SINGULAR = np.stack([np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]), np.eye(3),
                     np.zeros((3, 3))])
NOT_PD = np.stack([np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), np.eye(3), -np.eye(3)])


def _message(fn, *args, error=RuntimeError):
    """The message of the error ``fn(*args)`` raises (without the line a runtime check names)."""
    with pytest.raises(error) as info:
        fn(*args)
    return str(info.value).split("\n  (from ")[0]


# ---- LU ---------------------------------------------------------------------------------------------------------


@needs_torch
@reference_only
@pytest.mark.parametrize("x", [A, BATCH, WIDE, TALL], ids=["square", "batch", "wide", "tall"])
def test_lu_factor_matches_torch_with_gradients(x):
    check_like_torch(lambda T, a: tuple(T.linalg.lu_factor(a)), x)
    check_like_torch(lambda T, a: tuple(T.linalg.lu(a)), x)


@needs_torch
@reference_only
def test_lu_factor_ex_reports_the_first_zero_pivot_like_torch():
    ours, theirs = lazygrad.linalg.lu_factor_ex(lazygrad.tensor(SINGULAR)), torch.linalg.lu_factor_ex(
        torch.tensor(SINGULAR))
    for mine, reference in zip(ours, theirs):
        assert_close(mine, reference)
    assert ours.info.dtype is lazygrad.int32 and ours.info.tolist() == [3, 0, 1]
    assert type(ours).__name__ == "linalg_lu_factor_ex" and ours._fields == ("LU", "pivots", "info")


@needs_torch
@reference_only
@pytest.mark.parametrize("op", ["lu_factor", "lu_factor_ex"])
def test_zero_pivots_raise_when_checked(op):
    kwargs = {"check_errors": True} if op == "lu_factor_ex" else {}
    ours = _message(lambda: getattr(lazygrad.linalg, op)(lazygrad.tensor(SINGULAR[0]), **kwargs)[0].numpy())
    assert ours == _message(lambda: getattr(torch.linalg, op)(torch.tensor(SINGULAR[0]), **kwargs))
    assert _message(lambda: getattr(lazygrad.linalg, op)(lazygrad.eye(2), pivot=False)) == \
        "linalg.lu_factor: LU without pivoting is not implemented on the CPU"


@needs_torch
@reference_only
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_torch_with_gradients(left, adjoint):
    rhs = B if left else B.transpose(0, 2, 1)
    check_like_torch(lambda T, a, b: T.linalg.lu_solve(*T.linalg.lu_factor(a), b, left=left, adjoint=adjoint),
                     BATCH, rhs)
    check_like_torch(lambda T, a, b: T.linalg.lu_solve(*T.linalg.lu_factor(a), b, left=left, adjoint=adjoint),
                     A, rhs)


LU_ERRORS = {
    "solve shapes": lambda T: T.linalg.lu_solve(*T.linalg.lu_factor(T.tensor(A)), T.ones(2, 2, dtype=T.float64)),
    "solve dtypes": lambda T: T.linalg.lu_solve(*T.linalg.lu_factor(T.tensor(A)), T.ones(3, 2)),
    "solve vector": lambda T: T.linalg.lu_solve(*T.linalg.lu_factor(T.tensor(A)), T.ones(3, dtype=T.float64)),
    "factor vector": lambda T: T.linalg.lu_factor(T.ones(3)),
    "factor integers": lambda T: T.linalg.lu_factor(T.ones(3, 3, dtype=T.int64)),
    "lu vector": lambda T: T.linalg.lu(T.ones(3)),
    "unpack int64": lambda T: T.lu_unpack(T.eye(3), T.ones(3, dtype=T.int64)),
    "ex vector": lambda T: T.linalg.cholesky_ex(T.ones(3)),
    "ex rectangular": lambda T: T.linalg.inv_ex(T.ones(2, 3)),
}


@needs_torch
@reference_only
@pytest.mark.parametrize("call", LU_ERRORS.values(), ids=LU_ERRORS.keys())
def test_errors_raised_when_called_match_torch(call):
    assert _message(call, lazygrad) == _message(call, torch)


@needs_torch
@reference_only
@pytest.mark.parametrize("x", [BATCH, WIDE, TALL], ids=["batch", "wide", "tall"])
def test_lu_unpack_matches_torch(x):
    check_like_torch(lambda T, a: tuple(T.lu_unpack(*T.linalg.lu_factor(a))), x)
    for data, pivots in ((True, False), (False, True)):
        ours = lazygrad.lu_unpack(*lazygrad.linalg.lu_factor(lazygrad.tensor(x)), data, pivots)
        theirs = torch.lu_unpack(*torch.linalg.lu_factor(torch.tensor(x)), data, pivots)
        assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for t in theirs]


@needs_torch
@reference_only
def test_legacy_lu_and_lu_solve(monkeypatch):
    monkeypatch.setattr(linalg_legacy, "_warned", set())
    with pytest.warns(UserWarning, match=r"^torch\.lu is deprecated in favor of torch\.linalg\.lu_factor"):
        LU, pivots, info = lazygrad.lu(lazygrad.tensor(BATCH), get_infos=True)
    reference = torch.lu(torch.tensor(BATCH), get_infos=True)
    for mine, theirs in zip((LU, pivots, info), reference):
        assert_close(mine, theirs)
    assert len(lazygrad.tensor(A).lu()) == 2
    with pytest.warns(UserWarning, match=r"^torch\.lu_solve is deprecated in favor of torch\.linalg\.lu_solve"):
        x = lazygrad.lu_solve(lazygrad.tensor(B), LU, pivots)
    assert_close(x, torch.lu_solve(torch.tensor(B), *reference[:2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns once per process
        lazygrad.tensor(B).lu_solve(LU, pivots)


# ---- the _ex factorizations ------------------------------------------------------------------------------------


@needs_torch
@reference_only
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_matches_torch_with_partial_factors(upper):
    check_like_torch(lambda T, a: tuple(T.linalg.cholesky_ex(a, upper=upper)), SPD)
    ours = lazygrad.linalg.cholesky_ex(lazygrad.tensor(NOT_PD), upper=upper)
    theirs = torch.linalg.cholesky_ex(torch.tensor(NOT_PD), upper=upper)
    assert ours.info.tolist() == theirs.info.tolist() == [2, 0, 1]
    assert_close(ours.L, theirs.L)
    assert type(ours).__name__ == "linalg_cholesky_ex" and ours._fields == ("L", "info")


@needs_torch
@reference_only
def test_inv_ex_and_solve_ex_report_singular_matrices():
    check_like_torch(lambda T, a: tuple(T.linalg.inv_ex(a)), BATCH)
    check_like_torch(lambda T, a, b: tuple(T.linalg.solve_ex(a, b)), BATCH, B)
    check_like_torch(lambda T, a, b: tuple(T.linalg.solve_ex(a, b, left=False)), BATCH, B.transpose(0, 2, 1))
    check_like_torch(lambda T, a, b: tuple(T.linalg.solve_ex(a, b)), BATCH, B[..., 0])
    inverse, info = lazygrad.linalg.inv_ex(lazygrad.tensor(SINGULAR))
    assert info.tolist() == torch.linalg.inv_ex(torch.tensor(SINGULAR)).info.tolist() == [3, 0, 1]
    assert np.isnan(inverse[0].numpy()).all() and np.isnan(inverse[2].numpy()).all()
    assert_close(inverse[1], np.eye(3))
    result, info = lazygrad.linalg.solve_ex(lazygrad.tensor(SINGULAR), lazygrad.ones(3, 3, 1, dtype=lazygrad.float64))
    assert info.tolist() == [3, 0, 1] and result[1].flatten().tolist() == [1.0, 1.0, 1.0]
    assert np.isnan(result[0].numpy()).all()


@needs_torch
@reference_only
@pytest.mark.parametrize("op, args", [("cholesky_ex", (NOT_PD[0],)), ("inv_ex", (SINGULAR[0],)),
                                      ("solve_ex", (SINGULAR[0], np.ones(3)))], ids=["cholesky", "inv", "solve"])
def test_ex_factorizations_raise_when_checked(op, args):
    def call(T):
        return getattr(T.linalg, op)(*map(T.tensor, args), check_errors=True)[0] * 1

    assert _message(lambda: call(lazygrad).numpy(), error=lazygrad.linalg.LinAlgError) == _message(call, torch)
    # without check_errors nothing is raised, and a good matrix passes the check
    getattr(lazygrad.linalg, op)(*map(lazygrad.tensor, args))[0].numpy()
    assert getattr(lazygrad.linalg, op)(lazygrad.tensor(SPD[0]), *map(lazygrad.tensor, args[1:]),
                                        check_errors=True).info.item() == 0


# ---- condition numbers and tensor equations --------------------------------------------------------------------


def _numerical_gradient(fn, x, step=1e-6):
    """Central differences of ``fn(x).sum()`` (fn from numpy arrays to numpy arrays)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        bumped = [x.copy(), x.copy()]
        bumped[0][index] += step
        bumped[1][index] -= step
        grad[index] = (fn(bumped[0]).sum() - fn(bumped[1]).sum()) / (2 * step)
    return grad


@needs_torch
@reference_only
@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1])
def test_cond_matches_torch_and_numpy_with_gradients(p):
    x = lazygrad.tensor(BATCH, requires_grad=True)
    result = lazygrad.linalg.cond(x, p)
    reference = torch.linalg.cond(torch.tensor(BATCH, requires_grad=True), p)
    assert_close(result, reference)
    assert_close(result, np.linalg.cond(BATCH, p))
    assert result.grad_fn.name() == type(reference.grad_fn).__name__
    # torch's own backward fails for the norms computed from the inverse (an in-place write to a saved tensor)
    result.sum().backward()
    assert_close(x.grad, _numerical_gradient(lambda a: np.linalg.cond(a, p), BATCH), 1e-6, 1e-8)
    singular = np.stack([SINGULAR[0], np.zeros((3, 3))])
    assert_close(lazygrad.linalg.cond(lazygrad.tensor(singular), p), torch.linalg.cond(torch.tensor(singular), p),
                 rtol=1e-6)


@needs_torch
@reference_only
def test_cond_errors_match_torch():
    for call in (lambda T: T.linalg.cond(T.ones(2, 3), 1), lambda T: T.linalg.cond(T.ones(2, 2), 3)):
        assert _message(call, lazygrad) == _message(call, torch)
    check_like_torch(lambda T, a: T.linalg.cond(a), WIDE)


@needs_torch
@reference_only
def test_tensorinv_and_tensorsolve_match_numpy_and_torch():
    x, y = RNG.standard_normal((4, 6, 8, 3)), RNG.standard_normal((6, 2, 3))
    cases = [(lambda T, a: T.linalg.tensorinv(a, ind=2), lambda a: np.linalg.tensorinv(a, ind=2), x),
             (lambda T, a: T.linalg.tensorsolve(a, T.tensor(y[0])), lambda a: np.linalg.tensorsolve(a, y[0]),
              y.reshape(2, 3, 6)),
             (lambda T, a: T.linalg.tensorsolve(a, T.tensor(y[0]), dims=(0,)),
              lambda a: np.linalg.tensorsolve(a, y[0], (0,)), y)]
    for fn, oracle, a in cases:
        ours, theirs = lazygrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        result = fn(lazygrad, ours)
        assert_close(result, oracle(a))
        result.sum().backward()
        fn(torch, theirs).sum().backward()
        assert_close(ours.grad, theirs.grad)


@needs_torch
@reference_only
def test_tensorinv_and_tensorsolve_errors_match_torch():
    calls = [lambda T: T.linalg.tensorinv(T.ones(4, 5), ind=1), lambda T: T.linalg.tensorinv(T.ones(4, 4), ind=0),
             lambda T: T.linalg.tensorsolve(T.ones(2, 3, 5), T.ones(2, 3))]
    for call in calls:
        assert _message(call, lazygrad) == _message(call, torch)


# ---- matrix_exp -------------------------------------------------------------------------------------------------


def _expm_taylor(m, a, squarings=6, terms=30):
    """exp(a) by a long Taylor series of a / 2**squarings, squared back: exact in float64 for small norms."""
    x = a / 2.0**squarings
    eye = m.eye(a.shape[-1])
    total, term = eye, eye
    for k in range(1, terms):
        term = term @ x / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


@reference_only
@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matrix_exp_of_symmetric_matrices_matches_the_eigen_decomposition(scale, dtype):
    x = (SPD - 4 * np.eye(3)) * scale / 4
    values, vectors = np.linalg.eigh(x)
    want = vectors @ (np.exp(values)[..., None] * vectors.transpose(0, 2, 1))
    got = lazygrad.linalg.matrix_exp(lazygrad.tensor(x.astype(dtype)))
    assert got.dtype is lazygrad.dtypes.to_dtype(dtype)
    assert_close(got, want.astype(dtype), rtol=1e-12 if dtype == np.float64 else 2e-5, atol=0)


@reference_only
@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_matrix_exp_matches_a_taylor_series_with_gradients(scale):
    check_op(lambda T, a: a.matrix_exp(), _expm_taylor, A * scale, rtol=1e-12, atol=1e-14, jax_oracle=False)
    assert_close(lazygrad.matrix_exp(lazygrad.tensor(BATCH * scale)), _expm_taylor(np, BATCH * scale), 1e-12, 1e-14)


@needs_torch
@reference_only
def test_matrix_exp_matches_torch():
    for x in (BATCH * 40, A.astype(np.float32), np.zeros((0, 2, 2)), np.ones((1, 1))):
        check_like_torch(lambda T, a: T.linalg.matrix_exp(a), x, rtol=1e-10 if x.dtype == np.float64 else 1e-5)
    for call in (lambda T: T.linalg.matrix_exp(T.ones(3)), lambda T: T.linalg.matrix_exp(T.ones(2, 3)),
                 lambda T: T.linalg.matrix_exp(T.ones(2, 2, dtype=T.int64))):
        assert _message(call, lazygrad) == _message(call, torch)


# ---- the torch.* forms -------------------------------------------------------------------------------------------


@needs_torch
@reference_only
@pytest.mark.parametrize("some", [True, False])
def test_svd_returns_V_and_reconstructs(some):
    U, S, V = lazygrad.svd(lazygrad.tensor(WIDE), some=some)
    reference = torch.svd(torch.tensor(WIDE), some=some)
    assert [tuple(t.shape) for t in (U, S, V)] == [tuple(t.shape) for t in reference]
    k = S.shape[-1]
    assert_close(U[..., :k] * S.unsqueeze(-2) @ V[..., :k].mT, WIDE)
    assert_close(S, reference.S)
    check_like_torch(lambda T, a: tuple(T.svd(a, compute_uv=False)), WIDE)
    assert [t.grad_fn for t in torch.svd(torch.tensor(A, requires_grad=True))][2].name() == \
        lazygrad.tensor(A, requires_grad=True).svd().V.grad_fn.name()
    assert type(reference).__name__ == type(lazygrad.svd(lazygrad.tensor(A))).__name__ == "svd"


@needs_torch
@reference_only
@pytest.mark.parametrize("x", [A, TALL, WIDE], ids=["square", "tall", "batch-wide"])
@pytest.mark.parametrize("full_matrices", [False, True])
def test_svd_vectors_have_torchs_gradients(x, full_matrices):
    """Through the squares of the vectors that A determines (each up to its sign): the first min(m, n) of each."""
    k = min(x.shape[-2:])

    def squares(T, a):
        U, S, Vh = T.linalg.svd(a, full_matrices=full_matrices)
        return U[..., :k] * U[..., :k], S, Vh[..., :k, :] * Vh[..., :k, :]

    check_like_torch(squares, x, grad_fn=False)


@needs_torch
@reference_only
def test_legacy_svd_and_pinverse_have_torchs_gradients():
    check_like_torch(lambda T, a: tuple(t * t for t in T.svd(a)), TALL, grad_fn=False)
    check_like_torch(lambda T, a: a.pinverse(), WIDE)
    check_like_torch(lambda T, a, b: T.linalg.lstsq(a, b).solution, TALL, TALL[:, :2])


def test_svd_vector_gradients_match_finite_differences():
    # the gauge-invariant U diag(S) Vh and |U|, |Vh| (their signs are each vector's free choice)
    check_op(lambda T, a: tuple(T.linalg.svd(a, full_matrices=False)[i].abs() for i in (0, 2)),
             lambda m, a: tuple(m.abs(m.linalg.svd(a, full_matrices=False)[i]) for i in (0, 2)), TALL,
             jax_oracle=False)


@needs_torch
@reference_only
@pytest.mark.parametrize("some", [True, False])
def test_qr_some(some, monkeypatch):
    monkeypatch.setattr(linalg_legacy, "_warned", set())
    with pytest.warns(UserWarning, match=r"^torch\.qr is deprecated in favor of torch\.linalg\.qr"):
        Q, R = lazygrad.qr(lazygrad.tensor(TALL), some=some)
    reference = torch.qr(torch.tensor(TALL), some=some)
    assert_close(Q, reference.Q)
    assert_close(R, reference.R)
    assert type(lazygrad.tensor(A).qr()).__name__ == "qr"


@needs_torch
@reference_only
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_legacy_matches_torch_and_warns_once(upper, monkeypatch):
    monkeypatch.setattr(linalg_legacy, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lazygrad.tensor(SPD).cholesky(upper=upper)
        lazygrad.cholesky(lazygrad.tensor(SPD))
    assert len(caught) == 1 and caught[0].filename == __file__  # once per process, at the user's line
    assert str(caught[0].message).startswith("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will "
                                             "be removed in a future PyTorch release.\nL = torch.cholesky(A)\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_like_torch(lambda T, a: T.cholesky(a @ a.mT + T.eye(3, dtype=a.dtype), upper), BATCH)


@needs_torch
@reference_only
@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_triangular_solve_matches_torch_with_gradients(upper, transpose, unitriangular):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_like_torch(lambda T, b, a: tuple(T.triangular_solve(b, a, upper, transpose, unitriangular)), B,
                         A + 3 * np.eye(3))
        check_like_torch(lambda T, b, a: tuple(b.triangular_solve(a, upper=upper)), B[0], BATCH + 3 * np.eye(3))


@needs_torch
@reference_only
def test_pinverse_matches_torch():
    check_op(lambda T, a: T.pinverse(a), torch_oracle(lambda T, a: T.pinverse(a)), WIDE, grad=False,
             jax_oracle=False)
    check_op(lambda T, a: a.pinverse(rcond=0.5), torch_oracle(lambda T, a: a.pinverse(rcond=0.5)), WIDE, grad=False,
             jax_oracle=False)
    assert lazygrad.tensor(A, requires_grad=True).pinverse().grad_fn.name() == "LinalgPinvBackward0"


@needs_torch
@reference_only
def test_conjugate_transposes_of_real_tensors():
    for fn in (lambda T, a: a.mH, lambda T, a: a.adjoint(), lambda T, a: T.adjoint(a), lambda T, a: a[0].H,
               lambda T, a: a.mT):
        check_like_torch(fn, BATCH)
    assert lazygrad.tensor(2.0).H.item() == 2.0
    calls = [lambda T: T.ones(3).H, lambda T: T.ones(2, 2, 2).H, lambda T: T.ones(3).mH, lambda T: T.ones(3).adjoint(),
             lambda T: T.adjoint(T.ones(3))]
    for call in calls:
        assert _message(call, lazygrad) == _message(call, torch)


@reference_only
def test_results_print_as_torch_return_types():
    names = {lazygrad.svd: "svd", lazygrad.linalg.lu: "linalg_lu", lazygrad.linalg.lu_factor: "linalg_lu_factor",
             lazygrad.linalg.inv_ex: "linalg_inv_ex"}
    for fn, name in names.items():
        assert repr(fn(lazygrad.tensor(A))).startswith(f"torch.return_types.{name}(\n")


# ---- every backend ----------------------------------------------------------------------------------------------


def test_compositions_agree_on_every_backend():
    """One program on each backend: LU with its solve and an info, and matrix_exp. Their gradients are the rules of
    the ops they are composed of, which no backend touches."""
    x = lazygrad.tensor(np.concatenate([BATCH, SINGULAR[:1]]))
    LU, pivots, info = lazygrad.linalg.lu_factor_ex(x)
    solution = lazygrad.linalg.lu_solve(LU[:2], pivots[:2], lazygrad.tensor(B))
    exp = lazygrad.linalg.matrix_exp(x[:2] * 3)
    assert_close(solution, np.linalg.solve(BATCH, B))
    assert info.tolist() == [0, 0, 3]
    assert_close(exp, _expm_taylor(np, BATCH * 3), 1e-12, 0)
