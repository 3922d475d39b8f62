"""Every public function and method takes the arguments torch's takes: names, order, defaults, ``out=``.

torch's builtins have no ``inspect.signature``; their exact Python signatures, overloads included, are in
the type stubs torch ships (``torch/_C/_VariableFunctions.pyi`` for ``torch.*``, ``torch/_C/__init__.pyi``
for ``TensorBase``), read here with ``ast``. torch's Python-level functions (``torch.split``, everything in
``nn.functional``) are compared through ``inspect.signature``. Each torch overload must be callable on the
lazygrad function the same way: its positional parameters at the same positions under the same names, its
keyword-only ones by name, and nothing required that torch leaves optional.
"""

from __future__ import annotations

import ast
import inspect
import os
from collections.abc import Callable
from typing import Any

import pytest
from helpers import HAS_TORCH

import lazygrad
import lazygrad.nn.functional as F

pytestmark = [pytest.mark.skipif(not HAS_TORCH, reason="compares with torch"), pytest.mark.backend_agnostic]
if HAS_TORCH:
    import torch
    import torch.nn.functional as TF

Param = tuple[str, bool, bool]  # (name, keyword-only, has a default)

# Intentional differences, by function and torch parameter. Each says why lazygrad does not take it.
NOT_TAKEN: dict[str, set[str]] = {
    # Named tensors (``dim`` given as dimension names) do not exist in lazygrad.
    "*": {"names", "dimname", "generator_state"},
    # Memory layouts and pinned host memory have one value in lazygrad; quantized/sparse layouts none.
    "**": {"layout", "pin_memory"},
    # torch.save/load's pickle options: lazygrad writes its own format (see lazygrad.serialization).
    "save": {"pickle_module", "pickle_protocol", "_use_new_zipfile_serialization", "_disable_byteorder_record"},
    "load": {"pickle_module", "mmap"},
    # out_dtype: a low-precision product accumulated into a wider type, a GPU kernel option.
    "mm": {"out_dtype"},
    "bmm": {"out_dtype"},
    "matmul": {"out_dtype"},
    "addmm": {"out_dtype"},
    "baddbmm": {"out_dtype"},
    # Integer index tensors can never require grad.
    "tril_indices": {"requires_grad"},
    "triu_indices": {"requires_grad"},
    # expand's ``implicit`` is an internal flag of torch's tracer.
    "expand": {"implicit"},
}
# The method forms' ``out=``: in the stubs, but torch's parser refuses it (``x.add(y, out=z)`` is a TypeError).
NOT_TAKEN_BY_METHODS = {"out"}

# torch overloads lazygrad does not offer, as "name(first params...)": deprecated or internal forms.
SKIPPED_OVERLOADS = {
    # Deprecated argument orders (scalars first), warned against by torch.
    "add(input, alpha, other)", "sub(input, alpha, other)",
    "subtract(input, other, alpha)", "subtract(other, alpha)", "subtract_(other, alpha)",
    "addmm(beta, input, alpha, mat1, mat2)", "addmm(beta, input, mat1, mat2)",
    "baddbmm(beta, input, alpha, batch1, batch2)", "baddbmm(beta, input, batch1, batch2)",
    "addcdiv(input, value, tensor1, tensor2)", "addcmul(input, value, tensor1, tensor2)",
    "addcdiv(value, tensor1, tensor2)", "addcmul(value, tensor1, tensor2)",
    "addcdiv_(value, tensor1, tensor2)", "addcmul_(value, tensor1, tensor2)",
    # One name cannot be both: lazygrad's first parameter is ``low``/``start`` (with a default), and
    # ``randint(10, (3,))`` and ``arange(5)`` are recognized by their arguments; ``high=``/``end=`` keywords work.
    "arange(end)",
    "randint(high, size)", "randint_like(input, high)",
    "random_(to)",
    # torch picks these overloads by argument type; lazygrad does too, under the other overload's names
    # (``x.max(y)`` works, ``x.max(other=y)`` does not; ``x.var(False)`` works).
    "max(input, other)", "min(input, other)", "max(other)", "min(other)",
    "isin(element, test_elements)", "isin(elements, test_element)", "result_type(scalar, tensor)",
    "result_type(scalar1, scalar2)",
    "std(input, unbiased)", "var(input, unbiased)", "std_mean(input, unbiased)", "var_mean(input, unbiased)",
    "std(unbiased)", "var(unbiased)",
    # scatter's number overload names its positional ``value``, the tensor one ``src``: lazygrad names it ``src``
    # and takes ``value=`` as a keyword too, so every call torch accepts works.
    "scatter(dim, index, value)", "scatter_(dim, index, value)", "scatter(input, dim, index, value)",
    # The stubs are wrong here (torch itself refuses these calls): new_tensor takes data only positionally,
    # requires_grad_'s keyword is requires_grad, linspace needs steps.
    "new_tensor(data, dtype, device, requires_grad, pin_memory)",
    "requires_grad_(mode)",
    # copy_(other=): an undocumented alias of copy_(src=) that torch's parser also takes.
    "copy_(other, non_blocking)",
    # norm's out and dtype are positional in torch.norm's Python signature; lazygrad takes them by keyword.
    "norm(input, p, dim, keepdim, out, dtype)",
    # Deprecated argument orders (scalars first) of the other add-products.
    "addmv(beta, input, alpha, mat, vec)", "addmv(beta, input, mat, vec)",
    "addmv_(beta, input, alpha, mat, vec)", "addmv_(beta, input, mat, vec)",
    "addbmm(beta, input, alpha, batch1, batch2)", "addbmm(beta, input, batch1, batch2)",
    "addr(beta, input, alpha, vec1, vec2)", "addr(beta, input, vec1, vec2)",
    # torch names the split points by their type (a count, a list, a tensor); lazygrad's one parameter, named
    # for the count, takes all three, so every positional call works.
    "tensor_split(input, tensor_indices_or_sections, dim)", "tensor_split(input, indices, dim)",
    "tensor_split(tensor_indices_or_sections, dim)", "tensor_split(indices, dim)",
    "hsplit(input, indices)", "vsplit(input, indices)", "dsplit(input, indices)",
    "hsplit(indices)", "vsplit(indices)", "dsplit(indices)",
    # repeat_interleave(repeats) alone is recognized by its argument count, under the name ``input``.
    "repeat_interleave(repeats)",
    # view(dtype) reinterprets bits, which lazygrad does not do (Tensor.view refuses a dtype; so does view_copy).
    "view_copy(input, dtype)",
}


# Parameters one of torch's stub overloads marks optional although torch requires them.
OPTIONAL_IN_STUBS_ONLY = {"linspace.steps", "logspace.steps"}


def _stub_overloads(path: str, cls: str | None) -> dict[str, list[list[Param]]]:
    """Every overload of every function in a torch type stub (or of one class's methods)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    body = tree.body
    if cls is not None:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    found: dict[str, list[list[Param]]] = {}
    for node in body:
        if not isinstance(node, ast.FunctionDef):
            continue
        args = node.args
        positional = args.posonlyargs + args.args
        defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
        params = [(a.arg, False, d) for a, d in zip(positional, defaults)]
        if args.vararg is not None:
            params.append(("*" + args.vararg.arg, False, True))
        params += [(a.arg, True, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
        if cls is not None:
            params = params[1:]  # self
        found.setdefault(node.name, []).append(params)
    return found


def _signature_overloads(fn: Callable, method: bool) -> list[list[Param]]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    params = []
    for p in list(sig.parameters.values())[1 if method else 0:]:
        if p.kind is p.VAR_KEYWORD:
            continue
        name = "*" + p.name if p.kind is p.VAR_POSITIONAL else p.name
        params.append((name, p.kind is p.KEYWORD_ONLY, p.default is not p.empty or p.kind is p.VAR_POSITIONAL))
    return [params]


def _mismatches(name: str, ours: Callable, overload: list[Param], method: bool) -> list[str]:
    """Why a call that torch's ``overload`` accepts would fail on ``ours`` (empty if it would not)."""
    sig = inspect.signature(ours)
    params = list(sig.parameters.values())[1 if method else 0:]
    by_name = {p.name: p for p in params}
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
    variadic = next((i for i, p in enumerate(params) if p.kind is p.VAR_POSITIONAL), None)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    skipped = NOT_TAKEN.get(name, set()) | NOT_TAKEN["*"] | NOT_TAKEN["**"]
    if method:
        skipped |= NOT_TAKEN_BY_METHODS
    problems = []
    index = 0
    for pname, keyword_only, has_default in overload:
        if pname.startswith("*"):  # torch's *size: ours must take sizes the same way
            if variadic is None:
                problems.append(f"takes no {pname}")
            continue
        if pname in skipped:
            index += not keyword_only
            continue
        mine = by_name.get(pname)
        if not keyword_only:
            at = positional[index] if index < len(positional) else None
            if at is None and variadic is not None and index >= variadic:
                pass  # torch's sizes given one by one land in our *size
            elif at is None or at.name != pname:
                problems.append(f"positional {index}: torch {pname!r}, ours {at.name if at else None!r}")
            index += 1
        elif mine is None and not any_keyword:
            problems.append(f"no keyword {pname!r}")
        elif mine is not None and mine.kind is mine.POSITIONAL_ONLY:
            problems.append(f"{pname!r} is positional-only")
        if has_default and mine is not None and mine.default is mine.empty and mine.kind not in (
                mine.VAR_POSITIONAL, mine.VAR_KEYWORD) and f"{name}.{pname}" not in OPTIONAL_IN_STUBS_ONLY:
            problems.append(f"{pname!r} is optional in torch, required here")
    torch_names = {p[0] for p in overload}
    if any(p[0].startswith("*") for p in overload):
        return problems  # torch's sizes or dims given one by one: ours names the first of them
    for p in params:
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and \
                p.name not in torch_names:
            problems.append(f"ours requires {p.name!r}, which torch does not take")
    return problems


def _check(name: str, ours: Callable, overloads: list[list[Param]], method: bool) -> list[str]:
    failures = []
    results = []
    for overload in overloads:
        if any(p[0] == "*args" for p in overload):
            continue  # a Python-level dispatcher (torch.unique, F.max_pool2d): its signature says nothing
        if not method:  # a function's stub names a Python number first operand ``self``; its keyword is ``input``
            overload = [("input" if p[0] == "self" else p[0], *p[1:]) for p in overload]
        key = f"{name}({', '.join(p[0] for p in overload if not p[1])})"
        if key in SKIPPED_OVERLOADS:
            continue
        results.append((key, _mismatches(name, ours, overload, method)))
    for key, problems in results:
        if problems:
            failures.append(f"{key}: {'; '.join(problems)}")
    return failures


def _torch_dir() -> str:
    return os.path.dirname(torch.__file__)


def _functions() -> list[tuple[str, Any, Any]]:
    stubs = _stub_overloads(os.path.join(_torch_dir(), "_C", "_VariableFunctions.pyi"), None)
    found = []
    for name in sorted(set(lazygrad.__all__)):
        ours = getattr(lazygrad, name, None)
        theirs = getattr(torch, name, None)
        if not callable(ours) or isinstance(ours, type) or theirs is None or isinstance(theirs, type):
            continue
        overloads = stubs.get(name) or _signature_overloads(theirs, False)
        if overloads:
            found.append((name, ours, overloads))
    return found


def _methods() -> list[tuple[str, Any, Any]]:
    stubs = _stub_overloads(os.path.join(_torch_dir(), "_C", "__init__.pyi"), "TensorBase")
    found = []
    for name in sorted(dir(lazygrad.Tensor)):
        if name.startswith("_"):
            continue
        ours = inspect.getattr_static(lazygrad.Tensor, name)
        theirs = getattr(torch.Tensor, name, None)
        if not inspect.isfunction(ours) or theirs is None:
            continue
        overloads = stubs.get(name) or _signature_overloads(theirs, True)
        if overloads:
            found.append((name, ours, overloads))
    return found


def _functional() -> list[tuple[str, Any, Any]]:
    found = []
    for name in sorted(dir(F)):
        ours, theirs = getattr(F, name), getattr(TF, name, None)
        if name.startswith("_") or not inspect.isfunction(ours) or theirs is None or not callable(theirs):
            continue
        overloads = _signature_overloads(theirs, False)
        if overloads:
            found.append((name, ours, overloads))
    return found


def test_functions_take_torchs_arguments() -> None:
    failures = [f for name, ours, overloads in _functions() for f in _check(name, ours, overloads, False)]
    assert failures == [], "\n".join(failures)


def test_tensor_methods_take_torchs_arguments() -> None:
    failures = [f for name, ours, overloads in _methods() for f in _check(name, ours, overloads, True)]
    assert failures == [], "\n".join(failures)


def test_functional_takes_torchs_arguments() -> None:
    failures = [f for name, ours, overloads in _functional() for f in _check(name, ours, overloads, False)]
    assert failures == [], "\n".join(failures)


# ---- calls real programs make, run on both libraries ------------------------------------------------------

_CALLS = [
    ("matmul(input=, other=)", lambda t, a, b: t.matmul(input=a, other=b)),
    ("add(input=, other=, alpha=)", lambda t, a, b: t.add(input=a, other=b, alpha=2)),
    ("sum(input=, dim=)", lambda t, a, b: t.sum(input=a, dim=1)),
    ("det(input=)", lambda t, a, b: t.det(input=a)),
    ("randint(high, size)", lambda t, a, b: t.randint(5, (3,)).shape),
    ("randint(low, high, size)", lambda t, a, b: t.randint(2, 5, (3,)).dtype),
    ("randint(high=, size=)", lambda t, a, b: t.randint(high=5, size=(2,)).shape),
    ("zeros(size=)", lambda t, a, b: t.zeros(size=(2, 3)).shape),
    ("randn(size=)", lambda t, a, b: t.randn(size=(2,)).shape),
    ("arange(end=)", lambda t, a, b: t.arange(end=4).tolist()),
    ("new_ones(dtype=)", lambda t, a, b: a.new_ones(3, dtype=t.int64).dtype),
    ("new_zeros(size=, requires_grad=)", lambda t, a, b: a.new_zeros(size=(2,), requires_grad=True).requires_grad),
    ("new_full(dtype=)", lambda t, a, b: a.new_full((2,), 7, dtype=t.int32).tolist()),
    ("new_empty(device=)", lambda t, a, b: a.new_empty((2,), device="cpu").shape),
    ("clone(memory_format=)", lambda t, a, b: a.clone(memory_format=t.contiguous_format).shape),
    ("contiguous(memory_format=)", lambda t, a, b: a.contiguous(memory_format=t.contiguous_format).shape),
    ("zeros_like(memory_format=)", lambda t, a, b: t.zeros_like(a, memory_format=t.preserve_format).shape),
    ("is_complex", lambda t, a, b: (t.is_complex(a), a.is_complex(), a.is_sparse)),
    ("roll(shifts=, dims=)", lambda t, a, b: t.roll(a, shifts=1, dims=0).tolist()),
    ("softmax(dtype=)", lambda t, a, b: t.softmax(a, 1, dtype=t.float64).dtype),
    ("cumsum(dtype=)", lambda t, a, b: a.cumsum(0, dtype=t.float64).dtype),
    ("round(decimals=)", lambda t, a, b: (a / 3).round(decimals=2).tolist()),
    ("squeeze(0, 1)", lambda t, a, b: a.reshape(1, 1, 4).squeeze(0, 1).shape),
    ("flip(0, 1)", lambda t, a, b: a.flip(0, 1).tolist()),
    ("swapaxes(axis0=, axis1=)", lambda t, a, b: a.swapaxes(axis0=0, axis1=1).tolist()),
    ("split(tensor=, split_size_or_sections=)", lambda t, a, b: len(t.split(tensor=a, split_size_or_sections=1))),
    ("div_(rounding_mode=)", lambda t, a, b: a.clone().div_(3, rounding_mode="floor").tolist()),
    ("add_(alpha=)", lambda t, a, b: a.clone().add_(b, alpha=3).tolist()),
    ("to(copy=)", lambda t, a, b: a.to(t.float32, copy=True) is a),
    ("numpy(force=)", lambda t, a, b: a.requires_grad_().numpy(force=True).shape),
    # numpy's spellings, which torch's argument parser takes for dim and keepdim.
    ("sum(1, keepdims=)", lambda t, a, b: a.sum(1, keepdims=True).tolist()),
    ("torch.sum(axis=, keepdims=)", lambda t, a, b: t.sum(a, axis=0, keepdims=True).tolist()),
    ("mean(axis=)", lambda t, a, b: a.mean(axis=1).tolist()),
    ("max(axis=, keepdims=)", lambda t, a, b: [v.tolist() for v in a.max(axis=1, keepdims=True)]),
    ("argmax(axis=)", lambda t, a, b: a.argmax(axis=0).tolist()),
    ("softmax(axis=)", lambda t, a, b: t.softmax(a, axis=0).tolist()),
    ("cat(axis=)", lambda t, a, b: t.cat([a, b], axis=1).tolist()),
    ("stack(axis=)", lambda t, a, b: t.stack([a, b], axis=1).tolist()),
    ("std(axis=, keepdims=)", lambda t, a, b: a.std(axis=0, keepdims=True).tolist()),
    ("topk(axis=)", lambda t, a, b: a.topk(1, axis=0).values.tolist()),
    ("size(axis=)", lambda t, a, b: a.size(axis=1)),
    ("searchsorted(input=)", lambda t, a, b: t.searchsorted(t.tensor([1.0, 3.0]), input=t.tensor([2.0])).tolist()),
    # numpy's names, which torch's argument parser takes for dim, keepdim, input and other
    ("sum(axis=, keepdims=)", lambda t, a, b: a.sum(axis=1, keepdims=True).tolist()),
    ("torch.mean(x=, axis=)", lambda t, a, b: t.mean(x=a, axis=0).tolist()),
    ("max(axis=).values", lambda t, a, b: a.max(axis=1).values.tolist()),
    ("cumsum(axis=)", lambda t, a, b: a.cumsum(axis=0).tolist()),
    ("neg(a=)", lambda t, a, b: t.neg(a=a).tolist()),
    ("mul(x2=)", lambda t, a, b: a.mul(x2=b).tolist()),
    ("maximum(x1=, x2=)", lambda t, a, b: t.maximum(x1=a, x2=b).tolist()),
]


@pytest.mark.parametrize("case", _CALLS, ids=[c[0] for c in _CALLS])
def test_calls_give_what_torch_gives(case: tuple[str, Callable]) -> None:
    def run(lib: Any) -> Any:
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        b = lib.tensor([[5.0, 6.0], [7.0, 8.0]])
        value = case[1](lib, a, b)
        return value.tolist() if isinstance(value, lib.Tensor) else value

    def plain(value: Any) -> Any:
        return str(value).replace("lazygrad.", "torch.") if not isinstance(value, (list, bool, int)) else value

    assert plain(run(lazygrad)) == plain(run(torch))


@pytest.mark.parametrize("call", [
    lambda t, a: a.norm(dim=1, keepdims=True),  # the methods and functions torch writes in Python
    lambda t, a: t.split(a, 1, axis=1),
    lambda t, a: a.unflatten(axis=1, sizes=(2, 1)),
    lambda t, a: a.sum(dim=0, axis=1),  # one parameter under both names
], ids=["norm", "split", "unflatten", "both names"])
def test_numpy_names_are_refused_where_torch_refuses_them(call: Callable) -> None:
    for lib in (lazygrad, torch):
        with pytest.raises(TypeError, match="got an unexpected keyword argument"):
            call(lib, lib.ones(2, 2))


def test_out_writes_into_the_given_tensor() -> None:
    a, b = lazygrad.tensor([1.0, 2.0]), lazygrad.tensor([3.0, 4.0])
    out = lazygrad.empty(2)
    assert lazygrad.add(a, b, out=out) is out
    assert out.tolist() == [4.0, 6.0]
    assert lazygrad.matmul(a, b, out=lazygrad.empty(())).item() == 11.0
    values, indices = lazygrad.empty(0), lazygrad.empty(0, dtype=lazygrad.int64)
    lazygrad.max(lazygrad.tensor([[1.0, 3.0], [4.0, 2.0]]), 1, out=(values, indices))
    assert (values.tolist(), indices.tolist()) == ([3.0, 4.0], [1, 0])


def test_out_refuses_what_torch_refuses() -> None:
    a = lazygrad.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    for lib, x in ((lazygrad, a), (torch, b)):
        with pytest.raises(RuntimeError, match=r"^add\(\): functions with out=\.\.\. arguments don't support "
                                               r"automatic differentiation, but one of the arguments requires grad\.$"):
            lib.add(x, x, out=lib.empty(3))
        with pytest.raises(RuntimeError, match=r"^result type Float can't be cast to the desired output type Long$"):
            lib.add(x.detach(), x.detach(), out=lib.empty(3, dtype=lib.int64))


def test_out_of_another_shape_is_resized_with_torchs_warning() -> None:
    for lib in (lazygrad, torch):
        out = lib.empty(2)
        with pytest.warns(UserWarning, match=r"^An output with one or more elements was resized since it had shape "
                                             r"\[2\], which does not match the required output shape \[3\]"):
            lib.add(lib.ones(3), lib.ones(3), out=out)
        assert out.tolist() == [2.0, 2.0, 2.0]


def test_set_default_device_places_new_tensors() -> None:
    try:
        lazygrad.set_default_device("cpu")
        assert lazygrad.zeros(2).device.type == "cpu"
        assert lazygrad.get_default_device().type == torch.get_default_device().type == "cpu"
    finally:
        lazygrad.set_default_device(None)
    lazygrad.cuda.manual_seed_all(0)  # exists, as programs call it unconditionally
