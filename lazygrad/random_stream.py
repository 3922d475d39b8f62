"""The draws of torch's CPU generator, reproduced value for value on the host.

torch's CPU ``Generator`` is a 32-bit Mersenne Twister (mt19937) and each of its sampling kernels turns the
twister's words into values in one fixed way: 24 bits of a word for a float32 uniform, two words for a float64
one, Box-Muller over blocks of 16 for ``randn``, a word modulo the range for ``randint``, a Fisher-Yates swap
per word for ``randperm``, and so on. ``RandomStream`` draws the same words (numpy's MT19937 bit generator, set
to the state torch's seeding gives) and applies the same transforms, so a program seeded as a PyTorch program
is, or not seeded at all, draws the numbers PyTorch draws and prints what PyTorch prints.

Draws are made on the host when they are asked for: they depend on nothing in the graph, and a program reads
them as inputs, so every backend computes with the same values.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from . import dtypes
from .dtypes import DType

# The seed torch's default generator (and every new Generator) starts from.
DEFAULT_SEED = 67280421310721
_STATE_WORDS = 624
# torch's get_rng_state() layout: seed, left, seeded, next, 624 state words, three doubles of the cached
# normal (only the second is used), its valid flag, then a float normal cache and its flag.
_HEAD = struct.Struct("<QiiQ")
_TAIL = struct.Struct("<dddi4xf?3x")
STATE_BYTES = _HEAD.size + 8 * _STATE_WORDS + _TAIL.size
# Mantissa digits per float dtype: random_() draws the integers below 2**digits + 1.
_DIGITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}
_TWO_PI = 2.0 * math.pi


def _twister_key(seed: int) -> np.ndarray:
    """mt19937's initial state for a 32-bit seed (the reference seeding, which torch uses)."""
    key = np.empty(_STATE_WORDS, dtype=np.uint32)
    word = seed & 0xFFFFFFFF
    key[0] = word
    for j in range(1, _STATE_WORDS):
        word = (1812433253 * (word ^ (word >> 30)) + j) & 0xFFFFFFFF
        key[j] = word
    return key


class RandomStream:
    """One generator's position in torch's stream: the twister's state and the cached second normal."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._bits = np.random.MT19937()
        self._set_twister(_twister_key(self.seed), _STATE_WORDS)
        self._next_normal: float | None = None  # Box-Muller gives two normals; torch keeps the second

    def _set_twister(self, key: np.ndarray, position: int) -> None:
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": position}}

    # ---- words -------------------------------------------------------------------------------------------

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` 32-bit words, as uint64."""
        return self._bits.random_raw(n).astype(np.uint64)

    def words64(self, n: int) -> np.ndarray:
        """The next ``n`` 64-bit numbers, each made of two words (the first one high), as torch's random64."""
        pairs = self.words(2 * n).reshape(n, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    def _unit(self, n: int, dtype: DType) -> np.ndarray:
        """``n`` uniforms on [0, 1) in the precision torch computes them in: 53 bits of a 64-bit number for
        float64, else 24 bits of a word as a float (float16 and bfloat16 round such a draw)."""
        digits = 53 if dtype is dtypes.float64 else 24
        raw = self.words64(n) if digits == 53 else self.words(n)
        mask = np.uint64((1 << digits) - 1)
        return (raw & mask).astype(np.float64 if digits == 53 else np.float32) * (2.0 ** -digits)

    def _unit64(self, n: int) -> np.ndarray:
        return self._unit(n, dtypes.float64)

    # ---- distributions -----------------------------------------------------------------------------------

    def uniform(self, shape: tuple[int, ...], dtype: DType, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """``rand`` and ``uniform_``: ``u * (high - low) + low`` in the dtype's working precision."""
        unit = self._unit(math.prod(shape), dtype)
        if (low, high) != (0.0, 1.0):
            work = unit.dtype.type
            unit = _fused_multiply_add(unit, work(high) - work(low), work(low))
        return unit.astype(dtype.np).reshape(shape)

    def normal(self, shape: tuple[int, ...], dtype: DType, mean: float = 0.0, std: float = 1.0,
               contiguous: bool = True) -> np.ndarray:
        """``randn`` and ``normal_``: Box-Muller over blocks of 16 uniforms for 16 values or more written
        contiguously, else one double-precision pair per two values (the second kept for the next draw)."""
        n = math.prod(shape)
        if n >= 16 and contiguous:
            values = self._normal_blocks(n, dtype, mean, std)
        else:
            values = np.array([self._one_normal() * std + mean for _ in range(n)], dtype=np.float64)
        return values.astype(dtype.np).reshape(shape)

    def _normal_blocks(self, n: int, dtype: DType, mean: float, std: float) -> np.ndarray:
        """torch's normal_fill: n uniforms, each block of 16 turned into 16 normals; when 16 does not divide n,
        the last 16 positions are drawn again from fresh uniforms and transformed as one more block."""
        unit = self._unit(n, dtype).astype(np.float64)
        whole = n - n % 16
        out = np.empty(n, dtype=np.float64)
        out[:whole] = _box_muller(unit[:whole].reshape(-1, 16)).ravel()
        if whole < n:
            out[n - 16:] = _box_muller(self._unit(16, dtype).astype(np.float64).reshape(1, 16)).ravel()
        if dtype is dtypes.float64:
            return out * std + mean
        work = np.float32  # the vectorized float kernel rounds each normal, then scales it with one fma
        return _fused_multiply_add(out.astype(work), work(std), work(mean))

    def _one_normal(self) -> float:
        cached, self._next_normal = self._next_normal, None
        if cached is not None:
            return cached
        u1, u2 = self._unit64(2)
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = _TWO_PI * u1
        self._next_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    def integers(self, shape: tuple[int, ...], low: int, high: int) -> np.ndarray:
        """``randint`` and ``random_(from, to)``: a word (two, for a range of 2**32 or more) modulo the range."""
        span = high - low
        n = math.prod(shape)
        raw = self.words64(n) if span >= 2**32 else self.words(n)
        return ((raw % np.uint64(span)).astype(np.int64) + low).reshape(shape)

    def full_range(self, shape: tuple[int, ...], dtype: DType) -> np.ndarray:
        """``random_()`` without bounds: every integer the dtype holds exactly, from 0."""
        n = math.prod(shape)
        wide = dtype.name in ("int64", "float64")
        raw = self.words64(n) if wide else self.words(n)
        if dtype is dtypes.bool_:
            return (raw & np.uint64(1)).astype(bool).reshape(shape)
        bound = (1 << _DIGITS[dtype.name]) + 1 if dtype.is_floating_point else int(np.iinfo(dtype.np).max) + 1
        return (raw % np.uint64(bound)).astype(dtype.np).reshape(shape)

    def permutation(self, n: int) -> np.ndarray:
        """``randperm``: Fisher-Yates, swapping position i with i + word % (n - i)."""
        order = np.arange(n, dtype=np.int64)
        if n < 2:
            return order
        offsets = (self.words(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        items = order.tolist()
        for i, z in enumerate(offsets):
            j = i + z
            items[i], items[j] = items[j], items[i]
        return np.array(items, dtype=np.int64)

    def bernoulli(self, shape: tuple[int, ...], p: float) -> np.ndarray:
        """``bernoulli_(p)`` (and dropout's mask): a double-precision uniform below ``p``, per value."""
        return (self._unit64(math.prod(shape)) < p).reshape(shape)

    def bernoulli_like(self, p: np.ndarray) -> np.ndarray:
        """``bernoulli(p)`` for a tensor of probabilities: one uniform of ``p``'s precision per value."""
        work = dtypes.float64 if p.dtype == np.float64 else dtypes.float32
        unit = self._unit(p.size, work)
        return (unit < p.astype(unit.dtype).ravel()).reshape(p.shape)

    def exponential(self, shape: tuple[int, ...], rate: float = 1.0) -> np.ndarray:
        """``exponential_``: ``-1 / rate * log1p(-u)`` for a double-precision uniform ``u``."""
        return (-1.0 / rate) * np.log1p(-self._unit64(math.prod(shape))).reshape(shape)

    def cauchy(self, shape: tuple[int, ...], median: float, sigma: float) -> np.ndarray:
        """``cauchy_``: ``median + sigma * tan(pi * (u - 0.5))`` for a double-precision uniform ``u``."""
        return median + sigma * np.tan(math.pi * (self._unit64(math.prod(shape)) - 0.5)).reshape(shape)

    def log_normal(self, shape: tuple[int, ...], mean: float, std: float) -> np.ndarray:
        """``log_normal_``: ``exp`` of one double-precision normal per value (the pairwise path, cache and all)."""
        return np.exp(np.array([self._one_normal() * std + mean for _ in range(math.prod(shape))])).reshape(shape)

    def geometric(self, shape: tuple[int, ...], p: float) -> np.ndarray:
        """``geometric_``: ``ceil(log(u) / log1p(-p))`` for a double-precision uniform ``u``."""
        return np.ceil(np.log(self._unit64(math.prod(shape))) / math.log1p(-p)).reshape(shape)

    # ---- state -------------------------------------------------------------------------------------------

    def state_bytes(self) -> bytes:
        """The position in torch's ``get_rng_state()`` layout (5056 bytes), so states move between the two."""
        state = self._bits.state["state"]
        position = int(state["pos"])
        if position == _STATE_WORDS and np.array_equal(state["key"], _twister_key(self.seed)):
            position = 0  # freshly seeded: torch has not twisted its state yet either
        head = _HEAD.pack(self.seed, _STATE_WORDS + 1 - position if position else 1, 1, position)
        cached = self._next_normal
        tail = _TAIL.pack(0.0, cached or 0.0, 0.0, cached is not None, 0.0, False)
        return head + np.asarray(state["key"], dtype=np.uint64).tobytes() + tail

    def load_state_bytes(self, data: bytes) -> None:
        if len(data) != STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_BYTES} but found the input RNG "
                               f"state size to be {len(data)}")
        seed, left, _, position = _HEAD.unpack_from(data)
        key = np.frombuffer(data, dtype=np.uint64, count=_STATE_WORDS, offset=_HEAD.size).astype(np.uint32)
        _, cached, _, valid, _, _ = _TAIL.unpack_from(data, _HEAD.size + 8 * _STATE_WORDS)
        self.seed = seed
        self._set_twister(key, _STATE_WORDS if left == 1 else int(position))
        self._next_normal = cached if valid else None


def _fused_multiply_add(x: np.ndarray, scale: np.floating, shift: np.floating) -> np.ndarray:
    """``x * scale + shift`` rounded once, as torch's kernels compute it with a fused multiply-add: exact for
    float32 (the product fits a double), and plain double arithmetic for float64."""
    if x.dtype == np.float64:
        return x * scale + shift
    return (x.astype(np.float64) * np.float64(scale) + np.float64(shift)).astype(x.dtype)


def _box_muller(block: np.ndarray) -> np.ndarray:
    """torch's normal_fill_16 on rows of 16 uniforms: the first 8 give the radii, the last 8 the angles."""
    radius = np.sqrt(-2.0 * np.log(1.0 - block[:, :8]))
    theta = _TWO_PI * block[:, 8:]
    return np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
