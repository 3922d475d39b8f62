"""Every primitive, declared once: its family, shape/dtype rule and VJP rule side by side.

Each module declares one family of primitives with ``rules.declare``, which fills ``ir.PRIMITIVES``
(read by ``ir.apply``) and ``autodiff.VJP`` (read by ``autodiff.vjp``). Importing this package is what
makes those tables complete, so every module that reads them imports it; the checks below, and the ones
each backend runs on its own table, fail at import naming any primitive a table misses.
"""

from __future__ import annotations

from ..autodiff import VJP
from ..ir import PRIMITIVES
from . import contractions, elementwise, linalg, reductions, sources, structural
from .rules import FLOAT_UNARY_METHODS, check_covers, declare

# Every primitive but the sources (constants, iota: nothing flows back into them) has a rule.
check_covers(VJP, "the VJP table", {name for name, p in PRIMITIVES.items() if p.kind != "source"})

__all__ = ["FLOAT_UNARY_METHODS", "PRIMITIVES", "VJP", "check_covers", "contractions", "declare", "elementwise",
           "linalg", "reductions", "sources", "structural"]
