"""``vmap``: a function mapped over a dimension of its inputs, by calling it once per example.

torch batches each primitive of the function (functorch's batching rules). Here the function runs once per
example, on that example's slice of each mapped input, and the results are stacked. The graph is lazy, so the
calls still become one program when a value is read; it holds one copy of the function's graph per example.
Every op and Python control flow then work under ``vmap`` with torch's values, at the price of a graph that
grows with the batch: right for per-example gradients and model ensembles, costly over thousands of examples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import ops
from .creation import default_generator, zeros
from .ir import apply
from .tensor import Tensor, _record

_CONTAINERS = (tuple, list, dict)


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``func`` mapped over dimension ``in_dims`` of its positional inputs, its outputs stacked along ``out_dims``.

    ``in_dims`` is an int or None for every input, or one entry per input (nested like the input: a dict's
    entries can differ); None leaves an input whole for every example. ``randomness`` is torch's: ``"error"``
    refuses random draws inside ``func``, ``"same"`` gives every example the same draws, ``"different"`` draws
    anew for each. ``chunk_size`` is accepted for torch's signature: examples always run one at a time.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and (type(chunk_size) is not int or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        where = f"vmap({name}, in_dims={in_dims!r}, ...)(<inputs>)"
        if type(in_dims) is not int and not isinstance(in_dims, tuple):
            raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                             f"structure of inputs, got: {type(in_dims)}.")
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
                             f"{len(dims)} entries but there are {len(args)} positional inputs.")
        sizes: list[int] = []
        takes = [_example_taker(arg, dim, where, sizes) for arg, dim in zip(args, dims)]
        if not sizes:
            raise ValueError(f"{where}: at least one input must be a Tensor mapped over a dimension (in_dims other "
                             "than None)")
        if len(set(sizes)) > 1:
            raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        examples = range(sizes[0]) if sizes[0] else [None]  # no example: one call on zeros gives the outputs' form
        results = _call_each(func, takes, kwargs, examples, randomness)
        return _stacked(results, out_dims, name, empty=not sizes[0])

    return mapped


def _example_taker(value: Any, dim: Any, where: str, sizes: list[int]) -> Callable[[int | None], Any]:
    """A function from an example's position to its part of ``value`` (None: a zero example of the right form).
    ``dim`` is an int or None for every tensor within ``value``, or a structure like ``value``'s."""
    if isinstance(dim, _CONTAINERS):
        if type(value) is not type(dim) or len(value) != len(dim) or (type(dim) is dict and value.keys() != dim.keys()):
            raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`.")
        return _container_taker(value, dim.values() if type(dim) is dict else dim, where, sizes)
    if isinstance(value, _CONTAINERS):
        return _container_taker(value, [dim] * len(value), where, sizes)
    if dim is None:
        return lambda i: value
    if not isinstance(value, Tensor):
        raise ValueError(f"{where}: Got in_dim={dim} for an input but the input is of type {type(value)}. We cannot "
                         "vmap over non-Tensor arguments, please use None as the respective in_dim")
    n = value.dim()
    if not -n <= dim < n:
        raise ValueError(f"{where}: Got in_dim={dim} for some input, but that input is a Tensor of dimensionality {n} "
                         f"so expected in_dim to satisfy -{n} <= in_dim < {n}.")
    axis = dim % n
    sizes.append(value.shape[axis])
    example = value.shape[:axis] + value.shape[axis + 1:]
    return lambda i: zeros(example, dtype=value.dtype) if i is None else value.select(axis, i)


def _container_taker(value: Any, dims: Any, where: str, sizes: list[int]) -> Callable[[int | None], Any]:
    parts = [_example_taker(v, d, where, sizes) for v, d in zip(value.values() if type(value) is dict else value, dims)]
    if type(value) is dict:
        return lambda i: dict(zip(value, (take(i) for take in parts)))
    return lambda i: type(value)(take(i) for take in parts)


_RANDOM_IN_ERROR_MODE = ("vmap: called random operation while in randomness error mode. Please either use the 'same' "
                         "or 'different' randomness flags on vmap or perform the randomness operation out of vmap")


def _call_each(func: Callable, takes: list[Callable], kwargs: dict, examples: Any, randomness: str) -> list[Any]:
    """``func`` on each example. The default generator's state before the calls decides ``randomness``: "same"
    starts every call from it, "error" refuses a call that moved it (and puts it back)."""
    stream = default_generator._stream
    start = stream.state_bytes() if randomness != "different" else b""
    results = []
    for i in examples:
        if randomness == "same":
            stream.load_state_bytes(start)
        results.append(func(*(take(i) for take in takes), **kwargs))
        if randomness == "error" and stream.state_bytes() != start:
            stream.load_state_bytes(start)
            raise RuntimeError(_RANDOM_IN_ERROR_MODE)
    return results


def _stacked(results: list[Any], out_dims: Any, name: str, empty: bool) -> Any:
    """The examples' outputs stacked along ``out_dims`` (an int or None for every output, or one per output)."""
    first = results[0]
    if isinstance(first, _CONTAINERS):
        keys = list(first) if type(first) is dict else range(len(first))
        if isinstance(out_dims, _CONTAINERS):
            dims = [out_dims[k] for k in keys] if type(out_dims) is dict else list(out_dims)
        else:
            dims = [out_dims] * len(keys)
        parts = [_stacked([r[k] for r in results], d, name, empty) for k, d in zip(keys, dims)]
        return dict(zip(keys, parts)) if type(first) is dict else type(first)(parts)
    if isinstance(out_dims, _CONTAINERS) and len(out_dims) == 1:
        out_dims = out_dims[0]
    if out_dims is None:
        return first
    if not isinstance(first, Tensor):
        raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(first)}. Did you mean "
                         "to set out_dims= to None for output?")
    rank = first.dim() + 1  # the stacked output's
    if type(out_dims) is not int or not -rank <= out_dims < rank:
        raise ValueError(f"vmap({name}, ...): out_dims={out_dims} is out of range for an output of dimensionality "
                         f"{first.dim()}")
    axis = out_dims % rank
    shape = (*first.shape[:axis], 1, *first.shape[axis:])
    parts = tuple(ops.reshape(r.node, shape) for r in results)
    node = parts[0] if len(parts) == 1 else apply("concat", parts, (axis,))
    if empty:
        node = ops.slice_(node, (0,) * len(shape), (*shape[:axis], 0, *shape[axis + 1:]), (1,) * len(shape))
    # torch's result comes from the function's last op, batched: its record is named so
    return _record(first.grad_fn.name() if first.grad_fn is not None else "StackBackward0", node, *results)
