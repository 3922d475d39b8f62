"""``torch.add(input=x, other=y, out=z)``: the ``torch.*`` forms of Tensor methods, and torch's ``out=``.

A method's first parameter is ``self``; torch's function calls it ``input`` and many functions take a
keyword-only ``out`` tensor to write the result into. ``torch_function`` adapts a callable to both
without touching the method, and its positional path adds one plain Python call. ``numpy_names`` gives
a function or method numpy's ``axis=``/``keepdims=`` spellings, which torch's argument parser accepts
for ``dim``/``keepdim`` everywhere.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from . import dtypes
from .grad_mode import is_grad_enabled
from .tensor import Tensor, _torch_type_name


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


# numpy's spelling of each torch parameter name that torch's argument parser also takes.
_NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim"}


def numpy_names(fn: Callable) -> Callable:
    """``fn`` also taking ``axis=`` for its ``dim`` and ``keepdims=`` for its ``keepdim`` (``x.sum(1, keepdims=True)``
    is common in code written with numpy habits). Returns ``fn`` itself when it has neither parameter."""
    if getattr(fn, "_numpy_names", False):
        return fn
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return fn
    aliases = {alias: name for alias, name in _NUMPY_NAMES.items() if name in params}
    if not aliases:
        return fn

    @functools.wraps(fn)
    def spelled(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not aliases.keys().isdisjoint(kwargs):
            kwargs = {aliases.get(key, key): value for key, value in kwargs.items()}
        return fn(*args, **kwargs)

    spelled._numpy_names = True
    return spelled


def torch_function(fn: Callable, name: str, out: bool) -> Callable:
    """``fn`` as ``torch.<name>``: its first parameter also answers to ``input=``, and with ``out`` it takes
    torch's keyword-only ``out=``. Returns ``fn`` itself when it already fits."""
    fn = numpy_names(fn)
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    # A method's ``self``, or linalg's ``A``: torch's function calls the tensor ``input``.
    renamed = bool(params) and params[0].name in ("self", "A")
    if not renamed and not out:
        return fn

    if out:
        def function(*args: Any, out: Any = None, **kwargs: Any) -> Any:
            if renamed and "input" in kwargs:
                args = (kwargs.pop("input"), *args)
            result = fn(*args, **kwargs)
            return result if out is None else write_out(out, result, name, args)
    else:
        def function(*args: Any, **kwargs: Any) -> Any:
            if "input" in kwargs:
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
