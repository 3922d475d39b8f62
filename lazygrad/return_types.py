"""Named tuples for ops with several results (``x.sort()`` gives ``values`` and ``indices``), printed like torch's."""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _return_type(name: str, fields: tuple[str, ...]) -> type:
    """A tuple subclass with named fields whose repr lists one field per line, as ``torch.return_types`` do."""
    base = namedtuple(name, fields)

    def __repr__(self: Any) -> str:
        inner = ",\n".join(f"{field}={value!r}" for field, value in zip(fields, self))
        return f"torch.return_types.{name}(\n{inner})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})


max = _return_type("max", ("values", "indices"))
min = _return_type("min", ("values", "indices"))
sort = _return_type("sort", ("values", "indices"))
topk = _return_type("topk", ("values", "indices"))
kthvalue = _return_type("kthvalue", ("values", "indices"))
median = _return_type("median", ("values", "indices"))
nanmedian = _return_type("nanmedian", ("values", "indices"))
mode = _return_type("mode", ("values", "indices"))
histogram = _return_type("histogram", ("hist", "bin_edges"))
aminmax = _return_type("aminmax", ("min", "max"))
slogdet = _return_type("slogdet", ("sign", "logabsdet"))
frexp = _return_type("frexp", ("mantissa", "exponent"))
linalg_slogdet = _return_type("linalg_slogdet", ("sign", "logabsdet"))
linalg_svd = _return_type("linalg_svd", ("U", "S", "Vh"))
linalg_qr = _return_type("linalg_qr", ("Q", "R"))
linalg_eigh = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_lstsq = _return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
cummax = _return_type("cummax", ("values", "indices"))
cummin = _return_type("cummin", ("values", "indices"))
svd = _return_type("svd", ("U", "S", "V"))
qr = _return_type("qr", ("Q", "R"))
triangular_solve = _return_type("triangular_solve", ("solution", "cloned_coefficient"))
linalg_cholesky_ex = _return_type("linalg_cholesky_ex", ("L", "info"))
linalg_inv_ex = _return_type("linalg_inv_ex", ("inverse", "info"))
linalg_solve_ex = _return_type("linalg_solve_ex", ("result", "info"))
linalg_lu_factor = _return_type("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = _return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
linalg_lu = _return_type("linalg_lu", ("P", "L", "U"))
lu_unpack = _return_type("lu_unpack", ("P", "L", "U"))
_lu_with_info = _return_type("_lu_with_info", ("LU", "pivots", "info"))
