"""The code's structure as a specification: modules import one way only, and every primitive table is complete."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import lazygrad
from lazygrad.autodiff import VJP
from lazygrad.ir import PRIMITIVES
from lazygrad.primitives import FLOAT_UNARY_METHODS, check_covers

pytestmark = pytest.mark.backend_agnostic  # about the source and the import-time tables, not about any backend

ROOT = Path(lazygrad.__file__).parent
# ``backends/`` is installed as ``lazygrad.backends`` (see pyproject.toml).
PACKAGES = {"lazygrad": ROOT, "lazygrad.backends": ROOT.parent / "backends"}
# Imports that stay inside functions because the module is an optional dependency, loaded only when used.
OPTIONAL = ("jax", "tensorboard")


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            found.setdefault(name, path)
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, resolved against the importing module ``name``."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if _is_package(name) else name.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imported(name: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The lazygrad modules an import statement loads (a submodule loads its packages first, unless they are the
    importing module's own packages, which are already loading)."""
    if isinstance(node, ast.Import):
        targets = {alias.name for alias in node.names}
    else:
        module = _absolute(name, node)
        targets = {module} | {f"{module}.{alias.name}" for alias in node.names}
    loaded = set()
    for target in targets:
        parts = target.split(".")
        # the root package is always initialized first, so importing it is never an edge
        loaded |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
    parts = name.split(".")
    own_packages = {".".join(parts[:i]) for i in range(1, len(parts))}
    return (loaded & set(MODULES)) - own_packages


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _top_level_imports(name: str) -> set[str]:
    """What ``name`` imports when it is imported: module-level statements, not function bodies."""
    edges: set[str] = set()
    pending = list(ast.parse(MODULES[name].read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            edges |= _imported(name, node)
        elif isinstance(node, (ast.If, ast.Try, ast.With)) and not _type_checking(node):
            pending.extend(ast.iter_child_nodes(node))
        elif isinstance(node, ast.ClassDef):
            pending.extend(node.body)
    return edges - {name}


def import_graph() -> dict[str, set[str]]:
    return {name: _top_level_imports(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_lazygrad_import_inside_a_function():
    inside = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for statement in ast.walk(node):
                    if isinstance(statement, (ast.Import, ast.ImportFrom)):
                        modules = {a.name for a in statement.names} if isinstance(statement, ast.Import) else \
                            {"." * statement.level + (statement.module or "")}
                        if not all(m.split(".")[0] in OPTIONAL for m in modules):
                            inside.append(f"{name}.{node.name}: {ast.unparse(statement)}")
    assert inside == []


def test_the_import_graph_sees_relative_and_package_imports():
    graph = import_graph()
    assert "lazygrad.ir" in graph["lazygrad.ops"]
    assert "lazygrad.tensor" in graph["lazygrad.autograd.engine"]
    assert {"lazygrad.nn", "lazygrad.nn.parameter"} <= graph["lazygrad.serialization"]
    assert "lazygrad.primitives" in graph["lazygrad.backends.numpy_backend"]


def test_every_primitive_but_the_sources_has_a_vjp_rule():
    sources = {name for name, p in PRIMITIVES.items() if p.kind == "source"}
    assert sources == {"const", "iota"}
    assert set(VJP) == set(PRIMITIVES) - sources


def test_the_numpy_backend_implements_every_primitive():
    from lazygrad.backends.numpy_backend import IMPLS

    assert set(IMPLS) == set(PRIMITIVES)


def test_the_jax_backend_lowers_every_primitive():
    pytest.importorskip("jax")
    from lazygrad.backends.jax_backend import LOWERINGS

    assert set(LOWERINGS) == set(PRIMITIVES)


def test_a_table_missing_a_primitive_is_refused_by_name():
    with pytest.raises(RuntimeError, match=r"a test table out of step with the primitive table: missing \['erf'\]"):
        check_covers(set(PRIMITIVES) - {"erf"}, "a test table")
    with pytest.raises(RuntimeError, match=r"unknown \['erfc'\]"):
        check_covers(set(PRIMITIVES) | {"erfc"}, "a test table")


def test_a_primitive_is_declared_once():
    from lazygrad.primitives import declare

    with pytest.raises(ValueError, match="primitive 'exp' is declared twice"):
        declare("exp", "elementwise", PRIMITIVES["exp"].rule, VJP["exp"])


@pytest.mark.parametrize("method", sorted(FLOAT_UNARY_METHODS))
def test_a_declared_float_unary_method_is_a_tensor_method_and_a_function(method):
    op, grad_fn = FLOAT_UNARY_METHODS[method]
    x = lazygrad.tensor([0.25, 0.5], requires_grad=True)
    y = getattr(x, method)()
    assert y.grad_fn.name() == grad_fn
    assert y.node.op == op
    assert getattr(lazygrad, method)(x).node.op == op
    assert getattr(lazygrad.Tensor, method).__qualname__ == f"Tensor.{method}"


def test_op_families_attach_their_methods_to_tensor():
    for family, method in (("arithmetic", "add"), ("reductions", "sum"), ("reshaping", "reshape"),
                           ("matmul_ops", "matmul"), ("conversion", "to"), ("indexing", "__getitem__"),
                           ("index_ops", "gather")):
        module = importlib.import_module(f"lazygrad.{family}")
        assert getattr(lazygrad.Tensor, method).__module__ == module.__name__


def test_pyproject_lists_every_package():
    """A wheel holds the packages pyproject.toml lists (an editable install sees every folder): a subpackage left
    out would be missing from a user's install only."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on

    listed = set(tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"lazygrad." + ".".join(p.parent.relative_to(ROOT).parts) if p.parent != ROOT else "lazygrad"
               for p in ROOT.rglob("__init__.py")} | {"lazygrad.backends"}
    assert listed == folders
