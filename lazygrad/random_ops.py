"""Random sampling beyond rand/randn: multinomial, randperm, normal, bernoulli and the in-place fills.

Each draw takes torch's words from the given or default ``Generator`` and transforms them as torch's CPU
kernel does (``random_stream``), so seeded programs draw what PyTorch draws. A draw that depends on another
tensor's values (bernoulli of probabilities, multinomial) draws only what does not (the uniforms, the
exponentials) and compares lazily, so it reads nothing.

Like torch, the sampled values carry no gradient: a draw whose parameters require grad records torch's
``Normal``/``Bernoulli`` op with a zero gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes, ops
from .creation import Generator, _resolve, _shape, _sizes, drawn
from .ir import Node, apply, broadcast_shapes
from .sorting import order
from .tensor import Tensor, _record, _torch_type_name, _wrap


def _draw(make: Any, generator: Generator | None) -> Node:
    return drawn(make, generator).node


def _uniforms_like(shape: tuple[int, ...], chance: Node, generator: Generator | None) -> Node:
    """Uniforms to compare with probabilities ``chance``: doubles for float64 ones, else floats (torch's
    bernoulli draws in the probabilities' precision)."""
    work = dtypes.float64 if chance.dtype is dtypes.float64 else dtypes.float32
    return _draw(lambda stream: stream.uniform(shape, work), generator)


def _constant_gradient(node: Node) -> Node:
    """``node``'s value with a zero gradient (torch gives a draw's parameters zeros, not no gradient)."""
    return ops.select(ops.const(True, dtypes.bool_), apply("stop_gradient", (node,)), node)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Category indices drawn with probabilities proportional to the rows of ``input`` (1-D or 2-D).

    As torch: one draw, or draws without replacement, take the largest ``p / E`` for ``E`` exponential
    (``E`` drawn in ``input``'s dtype); draws with replacement count the normalized cumulative sums below a
    double-precision uniform each. Invalid probabilities (negative, non-finite, all zero) are reported when
    ``input`` already holds values; pending ones are not read, so as not to realize them.
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
    rows, shape, dtype = input.node.shape[:-1], input.node.shape, input.dtype
    p = input.detach().node
    if num_samples == 1 or not replacement:
        exponential = _draw(lambda stream: stream.exponential(shape).astype(dtype.np), generator)
        keys = ops.div(p, exponential)
        if num_samples == 1:
            return _wrap(keys).argmax(-1, keepdim=True)
        ranked = order(keys, len(rows), descending=True)
        stops = (*rows, num_samples)
        return _wrap(ops.slice_(ranked, (0,) * len(stops), stops, (1,) * len(stops)))
    cdf = apply("cumsum", (p,), (len(rows),))
    total = ops.slice_(cdf, (0,) * len(rows) + (categories - 1,), cdf.shape, (1,) * (len(rows) + 1))
    cdf = ops.cast(ops.div(cdf, total), dtypes.float64)  # the last entry is exactly 1
    u = _draw(lambda stream: stream.uniform((*rows, num_samples), dtypes.float64), generator)
    below = apply("lt", (ops.reshape(cdf, (*rows, 1, categories)), ops.reshape(u, (*rows, num_samples, 1))))
    return _wrap(ops.reduce("reduce_sum", ops.cast(below, dtypes.int64), (len(rows) + 1,)))


def _check_probabilities(values: np.ndarray) -> None:
    if not np.isfinite(values).all() or (values < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (values.sum(axis=-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``, shuffled as torch shuffles it."""
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dtype = _resolve(dtype, dtypes.int64)
    out = drawn(lambda stream: stream.permutation(n).astype(dtype.np), generator, device=device)
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
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        shape, work = _shape(_sizes((size,))), _resolve(dtype)
        return drawn(lambda stream: stream.normal(shape, work, mean, std), generator, requires_grad, device)
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    dtype = tensors[0].dtype if len(tensors) == 1 else dtypes.promote_types(mean.dtype, std.dtype)
    shape = broadcast_shapes(*(t.node.shape for t in tensors))
    node = _draw(lambda stream: stream.normal(shape, dtype), generator)

    def parameter(value: Any) -> Node:
        return _constant_gradient(ops.cast(value.node, dtype)) if isinstance(value, Tensor) else \
            ops.scalar(value, dtype)

    node = ops.add(ops.mul(node, parameter(std)), parameter(mean))
    name = {(True, False): "NormalBackward1", (False, True): "NormalBackward2", (True, True): "NormalBackward3"}
    return _record(name[isinstance(mean, Tensor), isinstance(std, Tensor)], node, *tensors)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for '{_torch_type_name(input.dtype)}'")
    shape, dtype = input.node.shape, input.dtype
    if p is not None:
        return drawn(lambda stream: stream.bernoulli(shape, p).astype(dtype.np), generator)
    chance = _constant_gradient(input.node)
    hit = apply("lt", (_uniforms_like(shape, chance, generator), ops.cast(chance, _compare_dtype(chance))))
    return _record("BernoulliBackward0", ops.cast(hit, dtype), input)


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson draws with rates ``input``, in its dtype (the rates are read: torch's sampler branches on them)."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for '{_torch_type_name(input.dtype)}'")
    rate = input.detach().numpy()
    if (rate < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    draw = _draw(lambda stream: stream.poisson(rate), generator)
    return _record("PoissonBackward0", _zero_gradient_to(draw, input), input)


def binomial(count: Tensor, prob: Tensor, generator: Generator | None = None) -> Tensor:
    """Binomial draws of ``count`` trials with success probability ``prob`` (both read, as torch's sampler
    branches on them), in ``count``'s dtype; not differentiable (torch has no derivative for it either)."""
    if not count.dtype.is_floating_point:
        raise NotImplementedError(f"\"binomial_cpu\" not implemented for '{_torch_type_name(count.dtype)}'")
    trials, chance = count.detach().numpy(), prob.detach().to(count.dtype).expand(count.shape).numpy()
    return drawn(lambda stream: stream.binomial(trials, chance), generator)


def _zero_gradient_to(draw: Node, input: Tensor) -> Node:
    """The draw's value, recorded as a function of ``input`` whose gradient is zero (as torch's)."""
    return ops.select(ops.const(True, dtypes.bool_), draw, ops.cast(input.node, draw.dtype))


def _compare_dtype(chance: Node) -> dtypes.DType:
    return dtypes.float64 if chance.dtype is dtypes.float64 else dtypes.float32


# ---- in-place fills ---------------------------------------------------------------------------------------


def _fill(self: Tensor, node: Node) -> Tensor:
    """Make ``node`` (a draw) this tensor's value, writing through to its base if it is a view."""
    self._check_inplace()
    return self._assign(_wrap(ops.cast(node, self.dtype)), cast=True)


def _fill_drawn(self: Tensor, make: Any, generator: Generator | None) -> Tensor:
    return _fill(self, _draw_for(self, make, generator))


def _draw_for(self: Tensor, make: Any, generator: Generator | None) -> Node:
    """``make(stream, shape)`` for the values of ``self``, drawn in the order of its memory as torch fills it
    (a transposed view takes its values in its base's order)."""
    order = memory_order(self.shape, self.stride())
    shape = tuple(self.shape[axis] for axis in order)
    back = np.argsort(order)
    return _draw(lambda stream: make(stream, shape).transpose(back), generator)


def memory_order(sizes: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of a tensor's memory, outermost first: the order torch fills a tensor in (an in-place draw on a
    transposed view), and lays ``empty_like`` out in. Axes are ordered by stride (a zero stride keeps its place;
    of equal strides the larger size is outer)."""
    order = list(range(len(sizes) - 1, -1, -1))  # innermost first, as for a contiguous tensor

    def outer(a: int, b: int) -> int:  # 1 when axis a lies outside axis b in memory, -1 inside, 0 undecided
        if strides[a] == 0 or strides[b] == 0:
            return 0
        if strides[a] != strides[b]:
            return 1 if strides[a] > strides[b] else -1
        return 1 if sizes[a] > sizes[b] else 0

    for i in range(1, len(order)):  # a stable insertion sort: undecided pairs keep their places
        moving = i
        for j in range(i - 1, -1, -1):
            decision = outer(order[j], order[moving])
            if decision < 0:
                break
            if decision > 0:
                order[j], order[moving] = order[moving], order[j]
                moving = j
    return tuple(reversed(order))


def _float_draw(self: Tensor, op: str) -> None:
    if not self.dtype.is_floating_point:
        raise NotImplementedError(f"\"{op}\" not implemented for '{_torch_type_name(self.dtype)}'")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _float_draw(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    dtype, contiguous = self.dtype, self.is_contiguous()
    return _fill_drawn(self, lambda stream, shape: stream.normal(shape, dtype, mean, std, contiguous), generator)


def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _float_draw(self, "uniform_kernel_cpu")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_:g} > to={to:g}")
    dtype = self.dtype
    return _fill_drawn(self, lambda stream, shape: stream.uniform(shape, dtype, from_, to), generator)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Exponential draws with rate ``lambd``."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_torch_type_name(self.dtype)}")
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    return _fill_drawn(self, lambda stream, shape: stream.exponential(shape, lambd), generator)


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _float_draw(self, "cauchy_cpu")
    if sigma <= 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    return _fill_drawn(self, lambda stream, shape: stream.cauchy(shape, median, sigma), generator)


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Generator | None = None) -> Tensor:
    _float_draw(self, "log_normal_cpu")
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    return _fill_drawn(self, lambda stream, shape: stream.log_normal(shape, mean, std), generator)


def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    return _fill_drawn(self, lambda stream, shape: stream.geometric(shape, p), generator)


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    if not isinstance(p, Tensor):
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        return _fill_drawn(self, lambda stream, shape: stream.bernoulli(shape, p), generator)
    chance = ops.broadcast_to(p.detach().node, self.node.shape)
    work = _compare_dtype(chance)
    uniforms = _draw_for(self, lambda stream, shape: stream.uniform(shape, work), generator)
    return _fill(self, apply("lt", (uniforms, ops.cast(chance, work))))


def random_(self: Tensor, from_: int | None = None, to: int | None = None, *,
            generator: Generator | None = None) -> Tensor:
    """Integers drawn uniformly from ``[from, to)``; ``random_(to)`` draws from ``[0, to)``, ``random_()`` from 0
    to the largest integer the dtype holds exactly."""
    dtype = self.dtype
    if from_ is None and to is None:
        return _fill_drawn(self, lambda stream, shape: stream.full_range(shape, dtype), generator)
    low, high = (0, from_) if to is None else (from_ or 0, to)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _fill_drawn(self, lambda stream, shape: stream.integers(shape, low, high), generator)


for _name, _fn in {"normal_": normal_, "uniform_": uniform_, "exponential_": exponential_, "cauchy_": cauchy_,
                   "log_normal_": log_normal_, "geometric_": geometric_, "bernoulli_": bernoulli_,
                   "random_": random_, "bernoulli": bernoulli, "multinomial": multinomial}.items():
    setattr(Tensor, _name, _fn)
