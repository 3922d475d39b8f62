"""Random sampling beyond rand/randn: multinomial, randperm, normal, bernoulli and the in-place fills.

Every draw is a transform of the seeded ``random`` primitive (uniform or normal), taking the next seed of
the given or default ``Generator``, so ``manual_seed`` makes a program's draws reproducible on each
backend (numpy and jax use different bit streams, with the same distributions). Nothing here realizes:
permutations and draws without replacement order random keys with ``argsort``.

Like torch, the sampled values carry no gradient: a draw whose parameters require grad records torch's
``Normal``/``Bernoulli`` op with a zero gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes, ops
from .creation import Generator, _sizes, default_generator, rand, randn
from .ir import Node, apply, broadcast_shapes
from .sorting import order
from .tensor import Tensor, _record, _torch_type_name, _wrap


def _uniform(shape: tuple[int, ...], dtype: Any, generator: Generator | None) -> Node:
    return rand(shape, dtype=dtype, generator=generator).node


def _open_uniform(shape: tuple[int, ...], dtype: Any, generator: Generator | None) -> Node:
    """Uniform draws on (0, 1]: safe to take the logarithm of."""
    return apply("sub", (ops.const(1, dtypes.to_dtype(dtype)), _uniform(shape, dtype, generator)))


def _constant_gradient(node: Node) -> Node:
    """``node``'s value with a zero gradient (torch gives a draw's parameters zeros, not no gradient)."""
    return ops.select(ops.const(True, dtypes.bool_), apply("stop_gradient", (node,)), node)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Category indices drawn with probabilities proportional to the rows of ``input`` (1-D or 2-D).

    With replacement: inverse-CDF sampling, each uniform draw counted against the normalized cumulative sums.
    Without: the Gumbel-top-k trick, the ``num_samples`` largest ``log(p) - log(E)`` with ``E`` exponential.
    Invalid probabilities (negative, non-finite, all zero) are reported when ``input`` already holds values;
    pending ones are not read, so as not to realize them.
    """
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_torch_type_name(input.dtype)}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = input.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if input.node.buffer is not None:
        _check_probabilities(input.detach()._value())
    rows = input.node.shape[:-1]
    p = ops.cast(input.detach().node, dtypes.float64)
    if replacement:
        cdf = apply("cumsum", (p,), (len(rows),))
        total = ops.slice_(cdf, (0,) * len(rows) + (categories - 1,), cdf.shape, (1,) * (len(rows) + 1))
        cdf = ops.div(cdf, total)  # the last entry is exactly 1
        u = _open_uniform((*rows, num_samples), dtypes.float64, generator)
        below = apply("lt", (ops.reshape(cdf, (*rows, 1, categories)), ops.reshape(u, (*rows, num_samples, 1))))
        return _wrap(ops.reduce("reduce_sum", ops.cast(below, dtypes.int64), (len(rows) + 1,)))
    exponential = apply("neg", (apply("log", (_open_uniform(p.shape, dtypes.float64, generator),)),))
    keys = apply("sub", (apply("log", (p,)), apply("log", (exponential,))))
    ranked = order(keys, len(rows), descending=True)
    stops = (*rows, num_samples)
    return _wrap(ops.slice_(ranked, (0,) * len(stops), stops, (1,) * len(stops)))


def _check_probabilities(values: np.ndarray) -> None:
    if not np.isfinite(values).all() or (values < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (values.sum(axis=-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``: the order of ``n`` uniform float64 keys."""
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    keys = _uniform((n,), dtypes.float64, generator)
    out = _wrap(ops.cast(order(keys, 0), dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64))
    return out.requires_grad_() if requires_grad else out


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None,
           dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
           requires_grad: bool = False) -> Tensor:
    """Normal draws with the given means and standard deviations (tensors broadcast; numbers need ``size``)."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError(f"normal() received an invalid combination of arguments - got ({type(mean).__name__}, "
                            f"{type(std).__name__}), but expected one of: (Tensor mean, Tensor std), (Tensor mean, "
                            f"float std), (float mean, Tensor std), (float mean, float std, tuple of ints size)")
        draw = randn(_sizes((size,)), dtype=dtype, generator=generator, device=device)
        out = draw * std + mean if (std, mean) != (1.0, 0.0) else draw
        return out.requires_grad_() if requires_grad else out
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    dtype = tensors[0].dtype if len(tensors) == 1 else dtypes.promote_types(mean.dtype, std.dtype)
    shape = broadcast_shapes(*(t.node.shape for t in tensors))
    node = apply("random", (ops.scalar(_seed(generator), dtypes.int64),), (shape, dtype, "normal"))

    def parameter(value: Any) -> Node:
        return _constant_gradient(ops.cast(value.node, dtype)) if isinstance(value, Tensor) else \
            ops.scalar(value, dtype)

    node = ops.add(ops.mul(node, parameter(std)), parameter(mean))
    name = {(True, False): "NormalBackward1", (False, True): "NormalBackward2", (True, True): "NormalBackward3"}
    return _record(name[isinstance(mean, Tensor), isinstance(std, Tensor)], node, *tensors)


def _seed(generator: Generator | None) -> int:
    return (generator or default_generator).next_seed()


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for '{_torch_type_name(input.dtype)}'")
    if p is not None:
        return _draw_bernoulli(input.node.shape, input.dtype, ops.scalar(p, input.dtype), generator)
    chance = _constant_gradient(input.node)
    return _record("BernoulliBackward0", _draw_bernoulli(input.node.shape, input.dtype, chance, generator).node, input)


def _draw_bernoulli(shape: tuple[int, ...], dtype: Any, chance: Node, generator: Generator | None) -> Tensor:
    work = dtype if dtype.is_floating_point else dtypes.float32
    hit = apply("lt", (_uniform(shape, work, generator), ops.broadcast_to(ops.cast(chance, work), shape)))
    return _wrap(ops.cast(hit, dtype))


# ---- in-place fills ---------------------------------------------------------------------------------------


def _fill(self: Tensor, node: Node) -> Tensor:
    """Make ``node`` (a draw) this tensor's value, writing through to its base if it is a view."""
    self._check_inplace()
    return self._assign(_wrap(ops.cast(node, self.dtype)), cast=True)


def _float_draw(self: Tensor, op: str) -> None:
    if not self.dtype.is_floating_point:
        raise NotImplementedError(f"\"{op}\" not implemented for '{_torch_type_name(self.dtype)}'")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _float_draw(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    draw = randn(self.node.shape, dtype=self.dtype, generator=generator)
    return _fill(self, (draw * std + mean).node)


def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _float_draw(self, "uniform_kernel_cpu")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_:g} > to={to:g}")
    draw = rand(self.node.shape, dtype=self.dtype, generator=generator)
    return _fill(self, (draw * (to - from_) + from_).node)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Exponential draws with rate ``lambd``: ``-log(U) / lambd`` for ``U`` uniform on (0, 1]."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_torch_type_name(self.dtype)}")
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    logs = apply("log", (_open_uniform(self.node.shape, self.dtype, generator),))
    return _fill(self, ops.div(apply("neg", (logs,)), ops.scalar(lambd, self.dtype)))


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    chance = ops.cast(p.node, dtypes.float32 if not p.dtype.is_floating_point else p.dtype) \
        if isinstance(p, Tensor) else ops.scalar(p, self.dtype if self.dtype.is_floating_point else dtypes.float32)
    return _fill(self, _draw_bernoulli(self.node.shape, chance.dtype, chance, generator).node)


# The default range of random_() without bounds: every integer the dtype holds exactly, from 0.
_RANDOM_BOUND = {"float16": 2**11 + 1, "bfloat16": 2**8 + 1, "float32": 2**24 + 1, "float64": 2**53 + 1, "bool": 2,
                 "uint8": 2**8, "int8": 2**7, "int16": 2**15, "int32": 2**31, "int64": 2**63}


def random_(self: Tensor, from_: int | None = None, to: int | None = None, *,
            generator: Generator | None = None) -> Tensor:
    """Integers drawn uniformly from ``[from, to)``; ``random_(to)`` draws from ``[0, to)``, ``random_()`` from 0
    to the largest integer the dtype holds exactly."""
    if to is None:
        low, high = (0, from_) if from_ is not None else (0, _RANDOM_BOUND[self.dtype.name])
    else:
        low, high = from_ or 0, to
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    u = _uniform(self.node.shape, dtypes.float64, generator)
    span = high - low
    # floor(u * span) < span for u < 1, except where rounding reaches span itself: clamp that back.
    steps = apply("floor", (ops.mul(u, ops.const(float(span), dtypes.float64)),))
    steps = apply("min", (steps, ops.const(float(span - 1) if span <= 2**53 else math.nextafter(span, 0),
                                           dtypes.float64)))
    return _fill(self, ops.add(ops.cast(steps, dtypes.int64), ops.scalar(low, dtypes.int64)))


for _name, _fn in {"normal_": normal_, "uniform_": uniform_, "exponential_": exponential_,
                   "bernoulli_": bernoulli_, "random_": random_, "bernoulli": bernoulli,
                   "multinomial": multinomial}.items():
    setattr(Tensor, _name, _fn)
