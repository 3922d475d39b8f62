"""``torch.add(input=x, other=y, out=z)``: the ``torch.*`` forms of Tensor methods, torch's ``out=``, and
numpy's names for the arguments (``x.sum(axis=0, keepdims=True)``).

A method's first parameter is ``self``; torch's function calls it ``input`` and many functions take a
keyword-only ``out`` tensor to write the result into. ``torch_function`` adapts a callable to both
without touching the method, and its positional path adds one plain Python call.
"""

from __future__ import annotations

import functools
import inspect
import types
import warnings
from collections.abc import Callable
from typing import Any

from . import dtypes
from .grad_mode import is_grad_enabled
from .tensor import Tensor, _torch_type_name

# torch's argument parser takes numpy's names for four parameters in every op it parses; the few Tensor
# methods and functions that torch writes in Python refuse them, as the names do not reach a parser there.
NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input", "x1": "input", "x2": "other"}
WRITTEN_IN_PYTHON = frozenset({"norm", "split", "unflatten", "unique"})


def _numpy_aliases(names: Any, op: str) -> dict[str, str]:
    """The numpy names that ``op``, with parameters ``names``, takes for them: numpy's name -> torch's."""
    if op in WRITTEN_IN_PYTHON:
        return {}
    return {alias: name for alias, name in NUMPY_NAMES.items() if name in names and alias not in names}


def _torch_names(kwargs: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    """``kwargs`` under torch's names; a parameter given under both names is left for the call to refuse."""
    for alias, name in aliases.items():  # a few aliases at most: cheaper than intersecting the key sets
        if alias in kwargs and name not in kwargs:
            kwargs[name] = kwargs.pop(alias)
    return kwargs


def accept_numpy_names(cls: type) -> None:
    """Let every public method of ``cls`` take numpy's names for its parameters, as torch's do."""
    for name in dir(cls):
        method = inspect.getattr_static(cls, name)
        if name.startswith("_") or not isinstance(method, types.FunctionType):
            continue
        aliases = _numpy_aliases(inspect.signature(method).parameters, name)
        if aliases:
            setattr(cls, name, _renaming(method, aliases))


def _renaming(method: Callable, aliases: dict[str, str]) -> Callable:
    def renaming(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **_torch_names(kwargs, aliases)) if kwargs else method(*args)

    return functools.wraps(method)(renaming)


def write_out(out: Any, result: Any, op: str, inputs: tuple = ()) -> Any:
    """Write ``result`` (a tensor or a tuple of them) into ``out`` as torch does, and return ``out``."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}(): argument 'out' must be tuple of {len(result)} Tensors")
        for o, r in zip(out, result):
            write_out(o, r, op, inputs)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if is_grad_enabled() and (out.requires_grad or any(isinstance(t, Tensor) and t.requires_grad
                                                        for t in (*inputs, result))):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, but "
                           "one of the arguments requires grad.")
    if not isinstance(result, Tensor):
        result = out.new_tensor(result)
    if dtypes.category(result.dtype) > dtypes.category(out.dtype):
        raise RuntimeError(f"result type {_torch_type_name(result.dtype)} can't be cast to the desired output type "
                           f"{_torch_type_name(out.dtype)}")
    if out.shape != result.shape:
        if out.numel():
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                          f"which does not match the required output shape {list(result.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                          "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                          "elements with t.resize_(0).", UserWarning, stacklevel=3)
        out.data = result.to(out.dtype)
    else:
        out._set_node(result.to(out.dtype).node)
    return out


def torch_function(fn: Callable, name: str, out: bool) -> Callable:
    """``fn`` as ``torch.<name>``: its first parameter also answers to ``input=``, and with ``out`` it takes
    torch's keyword-only ``out=``. Returns ``fn`` itself when it already fits."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    # A method's ``self``, or linalg's ``A``: torch's function calls the tensor ``input``.
    renamed = bool(params) and params[0].name in ("self", "A")
    aliases = _numpy_aliases({"input" if renamed else params[0].name, *signature.parameters}, name) if params else {}
    if not renamed and not out and not aliases:
        return fn

    if out:
        def function(*args: Any, out: Any = None, **kwargs: Any) -> Any:
            if kwargs:
                kwargs = _torch_names(kwargs, aliases)
                if renamed and "input" in kwargs:
                    args = (kwargs.pop("input"), *args)
            result = fn(*args, **kwargs)
            return result if out is None else write_out(out, result, name, args)
    else:
        def function(*args: Any, **kwargs: Any) -> Any:
            if kwargs:
                kwargs = _torch_names(kwargs, aliases)
                if renamed and "input" in kwargs:
                    args = (kwargs.pop("input"), *args)
            return fn(*args, **kwargs)

    functools.update_wrapper(function, fn)
    function.__name__ = function.__qualname__ = name
    if renamed:
        params[0] = params[0].replace(name="input")
    if out:
        at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
        params.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
    del function.__wrapped__  # the signature below, not fn's, is the function's
    function.__signature__ = signature.replace(parameters=params)
    return function
