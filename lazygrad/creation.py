"""Tensor factories: from data, constants, ranges and random draws.

Data from the user becomes a buffer at once (it has to be copied somewhere), and so does a random draw
(torch's stream, reproduced on the host: see ``random_stream``); constants and ranges are graph nodes like
any other, so a jax program creates them on the device, fused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import capture, dtypes, ops, realization
from .device import device as device_
from .dtypes import DType
from .ir import apply, leaf
from .random_stream import RandomStream
from .tensor import Tensor, _share_host, _sizes, _torch_type_name, _wrap, attach

_default_device: Any = None  # set_default_device's choice: where factories put tensors when not told


def set_default_device(device: Any) -> None:
    """Make factories place new tensors on ``device`` when they are not given one (None: the backend's own)."""
    global _default_device
    _default_device = None if device is None or str(device) == "cpu" else device


def get_default_device() -> Any:
    return device_(_default_device if _default_device is not None else "cpu")


def _finish(t: Tensor, requires_grad: bool, device: Any = None) -> Tensor:
    if device is None:
        device = _default_device
    if device is not None:
        t = t.to(device)  # a no-op unless another backend or jax device is asked for
    if requires_grad:
        if not t.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad = True
    return t


def from_host(array: np.ndarray, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new leaf that takes ``array``, a fresh array nothing else holds: no copy, and unlike ``from_numpy`` no
    sharing, which would have every op built while the array lives watch for numpy's writes to it."""
    dtype = dtypes.from_numpy(array.dtype)
    return _finish(_wrap(leaf(realization.from_numpy(array), array.shape, dtype)), requires_grad, device)


def _ragged(data: Any) -> str | None:
    """torch's message for nested sequences of unequal lengths: the sizes are those along the first elements, and
    the first sequence (depth first) of another length is named."""
    sizes, probe = [], data
    while isinstance(probe, (list, tuple)):
        sizes.append(len(probe))
        probe = probe[0] if probe else None
    stack = [(data, 0)]
    while stack:
        item, dim = stack.pop()
        if dim == len(sizes) or not isinstance(item, (list, tuple)):
            continue
        if len(item) != sizes[dim]:
            return f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(item)})"
        stack.extend((child, dim + 1) for child in reversed(item))
    return None


def _from_python(data: Any) -> np.ndarray:
    """Nested Python numbers as numpy holds them exactly: floats as doubles, ints as int64 (or wider)."""
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(_ragged(data) or f"expected a rectangular nested sequence of numbers: {error}") from None
    huge_ints = array.dtype == object and all(isinstance(v, int) for v in array.flat)
    if (array.dtype == object and not huge_ints) or array.dtype.kind in "USV":
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    return array


def _host_data(data: Any, dtype: DType | None) -> np.ndarray:
    """numpy copy of user data in ``dtype``.

    Python numbers go straight to the requested dtype, one rounding as in torch (``0.1`` in float64 is
    Python's double, not a float32 widened); without a dtype floats take the default float and ints int64.
    """
    if isinstance(data, Tensor):
        array = data.detach().numpy()
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        array = _from_python(data)
        if dtype is None and array.dtype.kind == "f":
            dtype = dtypes.default_float()
        elif array.dtype.kind in "uO" and not (dtype is not None and dtype.is_floating_point):
            raise ValueError("Overflow when unpacking long long")  # an int beyond int64's range
        elif dtype is None and array.dtype.kind == "i":
            dtype = dtypes.int64
    if dtype in dtypes.HALF and array.dtype == np.float64:
        array = array.astype(np.float32)  # torch's Half and BFloat16 take a double through float: two roundings
    with np.errstate(over="ignore"):  # a double beyond the dtype's range becomes inf, silently as in torch
        return np.array(array, dtype=None if dtype is None else dtype.np, copy=True)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (nested lists, numbers, numpy arrays, tensors)."""
    array = _host_data(data, None if dtype is None else dtypes.to_dtype(dtype))
    return from_host(array, requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor: a tensor already of that dtype (and on that device) is returned as is."""
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtypes.to_dtype(dtype))
        return out if device is None else out.to(device)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor, sharing memory where it can (a tensor, a numpy array of the dtype asked) unless
    ``copy``; anything else (lists, numbers) is copied into a new tensor."""
    if isinstance(obj, Tensor):
        out = as_tensor(obj, dtype)
        out = out.clone() if copy and out is obj else out
    elif isinstance(obj, np.ndarray) and not copy and (dtype is None or dtypes.to_dtype(dtype).np == obj.dtype):
        out = from_numpy(obj)
    else:
        out = tensor(obj, dtype=dtype)
    out = out if device is None else out.to(device)
    return out.requires_grad_() if requires_grad else out


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor that shares ``ndarray``'s memory, as torch's does (see ``tensor._share_host``)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    t = _wrap(leaf(realization.share_array(ndarray), ndarray.shape, dtypes.from_numpy(ndarray.dtype)))
    _share_host(t, ndarray)
    return t


def _resolve(dtype: Any, default: DType | None = None) -> DType:
    return dtypes.to_dtype(dtype) if dtype is not None else (default or dtypes.default_float())


_NEGATIVE = "Trying to create tensor with negative dimension {}: {}"


def _shape(size: tuple, negative: str = _NEGATIVE) -> tuple[int, ...]:
    """The sizes a factory was given, checked now: a negative size would only fail when computed."""
    shape = _sizes(size)
    for d in shape:
        if d < 0:
            raise RuntimeError(negative.format(d, list(shape)))
    return shape


def full(size: Any, fill_value: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
         pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    default = dtypes.scalar_dtype(fill_value) if not isinstance(fill_value, Tensor) else fill_value.dtype
    dtype = _resolve(dtype, default)
    shape = _shape((size,))
    return _finish(_wrap(ops.broadcast_to(ops.scalar(fill_value, dtype), shape)), requires_grad, device)


def _constant(shape: tuple[int, ...], value: int, dtype: Any, requires_grad: bool, device: Any) -> Tensor:
    return _finish(_wrap(ops.full(shape, value, _resolve(dtype))), requires_grad, device)


def _size_keyword(size: tuple, keywords: dict[str, Any], op: str) -> tuple:
    """``zeros(2, 3)``, ``zeros((2, 3))`` or torch's ``zeros(size=(2, 3))``; other keywords are refused."""
    if keywords:
        unknown = next((k for k in keywords if k != "size"), None)
        if unknown is not None:
            raise TypeError(f"{op}() got an unexpected keyword argument '{unknown}'")
        if size:
            raise TypeError(f"{op}() got multiple values for argument 'size'")
        return (keywords["size"],)
    return size


def zeros(*size: Any, dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
          requires_grad: bool = False, memory_format: Any = None, **keywords: Any) -> Tensor:
    # torch's zeros words a negative size its own way; its other factories share one message
    shape = _shape(_size_keyword(size, keywords, "zeros"), "zeros: Dimension size must be non-negative.")
    return _constant(shape, 0, dtype, requires_grad, device)


def ones(*size: Any, dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
         requires_grad: bool = False, memory_format: Any = None, **keywords: Any) -> Tensor:
    return _constant(_shape(_size_keyword(size, keywords, "ones")), 1, dtype, requires_grad, device)


def empty(*size: Any, dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
          requires_grad: bool = False, memory_format: Any = None, **keywords: Any) -> Tensor:
    """Zeros: lazygrad never hands out uninitialized memory."""
    return _constant(_shape(_size_keyword(size, keywords, "empty")), 0, dtype, requires_grad, device)


def zeros_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


empty_like = zeros_like


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def arange(start: float = 0, end: float | None = None, step: float = 1, *, dtype: Any = None, layout: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    is_float = any(isinstance(v, float) for v in values)
    dtype = _resolve(dtype, dtypes.default_float() if is_float else dtypes.int64)
    count = math.ceil((end - start) / step)
    # torch forms start + i * step with a fused multiply-add in double; extended precision rounds the same
    # way, so float ranges match it element for element (-1 + 5 * 0.2 is 5.55e-17, not 0).
    work = np.longdouble if is_float or dtype.is_floating_point else np.int64
    array = (work(start) + np.arange(count, dtype=work) * work(step)).astype(np.float64).astype(dtype.np)
    return from_host(array, requires_grad, device)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    dtype = _resolve(dtype)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    # Work in the output precision and fill from both ends toward the middle, as torch does, so the values
    # match it bit for bit and the last element is exactly ``end``.
    work = dtype.np if dtype.is_floating_point else np.float64
    start, end = work.type(start), work.type(end)
    index = np.arange(steps, dtype=work)
    step = (end - start) / work.type(steps - 1) if steps > 1 else work.type(0)
    values = np.where(index < steps // 2, start + index * step, end - (steps - 1 - index) * step) if steps > 1 \
        else np.full(steps, start, work)
    return from_host(values.astype(dtype.np), requires_grad, device)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``base`` raised to ``steps`` evenly spaced exponents from ``start`` to ``end`` (torch.logspace)."""
    dtype = _resolve(dtype)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    # Exponents spaced from both ends like linspace's values, and powers taken in the output precision.
    work = dtype.np if dtype.is_floating_point else np.float64
    start, end, base = work.type(start), work.type(end), work.type(base)
    index = np.arange(steps, dtype=work)
    step = (end - start) / work.type(steps - 1) if steps > 1 else work.type(0)
    exponents = np.where(index < steps // 2, start + index * step, end - (steps - 1 - index) * step)
    return from_host(np.power(base, exponents).astype(dtype.np), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype: Any = None, layout: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    dtype = _resolve(dtype)
    m = n if m is None else m
    for name, size in (("n", n), ("m", m)):
        if size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    node = ops.cast(apply("eq", (ops.iota((n, m), 0), ops.iota((n, m), 1))), dtype)
    return _finish(_wrap(node), requires_grad, device)


# ---- random draws ---------------------------------------------------------------------------------------


class Generator:
    """A position in torch's CPU random stream (``random_stream``): seeded as torch's, it draws what torch draws.

    One stream serves every device (``device`` is kept for torch's signature), so a seeded generator gives the
    same draws wherever the result lives.
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device_(device)
        self._stream = RandomStream()

    def manual_seed(self, seed: Any) -> Generator:
        seed = int(seed)
        if not -2**63 <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self._stream.reseed(seed)
        return self

    def initial_seed(self) -> int:
        return self._stream.seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) & (2**64 - 1))
        return self.initial_seed()

    def get_state(self) -> Tensor:
        """The stream's position as a uint8 tensor, in torch's layout (a state moves between the two)."""
        return tensor(np.frombuffer(self._stream.state_bytes(), dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> Generator:
        """Return the stream to a position ``get_state`` gave."""
        if not isinstance(new_state, Tensor) or new_state.dtype is not dtypes.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        self._stream.load_state_bytes(new_state.numpy().tobytes())
        return self


default_generator = Generator()


def manual_seed(seed: Any) -> Generator:
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def get_rng_state() -> Tensor:
    """The default generator's state, for ``set_rng_state``."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Return the default generator to a state ``get_rng_state`` gave: the same draws follow."""
    default_generator.set_state(new_state)


def drawn(make: Callable[[RandomStream], np.ndarray], generator: Generator | None = None,
          requires_grad: bool = False, device: Any = None) -> Tensor:
    """A leaf holding ``make``'s draw from ``generator`` (the default one when None).

    The draw is made now, on the host, as torch makes it. Inside ``lazygrad.compile`` the trace keeps ``make``,
    so each replay draws anew, in the same order as an uncompiled call.
    """
    generator = generator or default_generator
    t = from_host(make(generator._stream))
    capture.note_draw(t.node.buffer, generator, make)
    return _finish(t, requires_grad, device)


def _draw(size: tuple, distribution: str, dtype: Any, requires_grad: bool, generator: Generator | None,
          device: Any) -> Tensor:
    shape = _shape(size)
    dtype = _resolve(dtype)
    if not dtype.is_floating_point:
        kernel = "normal_kernel_cpu" if distribution == "normal" else "check_uniform_bounds"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_torch_type_name(dtype)}'")
    draw = getattr(RandomStream, distribution)
    return drawn(lambda stream: draw(stream, shape, dtype), generator, requires_grad, device)


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None, layout: Any = None,
          device: Any = None, pin_memory: bool = False, requires_grad: bool = False, **keywords: Any) -> Tensor:
    """Standard normal draws (lazy: computed inside the program that needs them)."""
    return _draw(_size_keyword(size, keywords, "randn"), "normal", dtype, requires_grad, generator, device)


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None, layout: Any = None,
         device: Any = None, pin_memory: bool = False, requires_grad: bool = False, **keywords: Any) -> Tensor:
    """Uniform draws on [0, 1)."""
    return _draw(_size_keyword(size, keywords, "rand"), "uniform", dtype, requires_grad, generator, device)


def randn_like(input: Tensor, *, generator: Generator | None = None, dtype: Any = None, layout: Any = None,
               device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def rand_like(input: Tensor, *, generator: Generator | None = None, dtype: Any = None, layout: Any = None,
              device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randint(low: int = 0, high: Any = None, size: Any = None, *, generator: Generator | None = None,
            dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None and isinstance(high, (tuple, list)):  # the two-argument form: randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    shape, dtype = _shape(_sizes((size,))), _resolve(dtype, dtypes.int64)
    return drawn(lambda stream: stream.integers(shape, low, high).astype(dtype.np), generator, requires_grad,
                 device)


def randint_like(input: Tensor, low: int = 0, high: Any = None, *, generator: Generator | None = None,
                 dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                 requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Integers from [low, high) in ``input``'s shape and dtype: ``randint_like(x, high)`` or ``(x, low, high)``."""
    if high is None:
        low, high = 0, low
    if isinstance(high, Tensor):
        high = high.item()
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   device=device or input.device, requires_grad=requires_grad)


def _as_tensor(value: Any, dtype: DType) -> Tensor:
    return tensor(value, dtype=dtype)


class ConstructorMethods:
    """``torch.Tensor(data)`` and ``torch.Tensor(2, 3)``: the legacy constructor is a factory (attached below)."""

    def __init__(self, *args: Any) -> None:
        # torch.Tensor(data) / torch.Tensor(2, 3): float32, like the legacy torch constructor.
        source = tensor(args[0], dtype=dtypes.float32) if len(args) == 1 and not isinstance(args[0], int) \
            else zeros(*args)
        self.node = source.node
        self.grad_fn = None
        self._requires_grad = False
        self._grad = None
        self._retains_grad = False
        self._view = None


attach(ConstructorMethods)


# ---- Tensor.new_*: factories that default to the tensor's dtype and device -------------------------------


def _new_tensor(self: Tensor, data: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_factory(make: Any) -> Any:
    def new(self: Tensor, *size: Any, dtype: Any = None, layout: Any = None, device: Any = None,
            pin_memory: bool = False, requires_grad: bool = False, **keywords: Any) -> Tensor:
        size = _size_keyword(size, keywords, make.__name__)
        return make(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    return new


def _new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, layout: Any = None,
              device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


# new_zeros is empty (zeros), whose negative-size message is the one torch's new_zeros gives, unlike zeros'
for _name, _method in {"new_tensor": _new_tensor, "new_zeros": _new_factory(empty), "new_ones": _new_factory(ones),
                       "new_empty": _new_factory(empty), "new_full": _new_full}.items():
    setattr(Tensor, _name, _method)
del _name, _method
