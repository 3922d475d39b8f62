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
from .fma import fma as _fma

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
        """``rand`` and ``uniform_``: ``u * (high - low) + low`` in the dtype's working precision; a value that
        rounds up to ``high`` in the dtype becomes ``low``, so the range stays half-open, as torch keeps it."""
        unit = self._unit(math.prod(shape), dtype)
        if (low, high) != (0.0, 1.0):
            work = unit.dtype.type
            unit = _fma(unit, work(high) - work(low), work(low))  # torch's kernel fuses it
        values = unit.astype(dtype.np)
        top, bottom = np.asarray([high, low], dtype=np.float64).astype(dtype.np)
        return np.where(values >= top, bottom, values).reshape(shape)

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
        """torch's normal_fill: uniforms, each block of 16 turned into 16 normals; when 16 does not divide n,
        the last 16 positions are drawn again from fresh uniforms and transformed as one more block. float32
        and float64 first draw a uniform for every value, float16 and bfloat16 only for the whole blocks."""
        whole = n - n % 16
        unit = self._unit(n if dtype in (dtypes.float32, dtypes.float64) else whole, dtype)
        blocks = [unit[:whole].reshape(-1, 16)]
        if whole < n:
            blocks.append(self._unit(16, dtype).reshape(1, 16))
        if dtype is dtypes.float64:
            normals = [_box_muller(block) for block in blocks]
        else:
            normals = [_box_muller_float32(block.astype(np.float32)) for block in blocks]
        out = np.empty(n, dtype=normals[0].dtype)
        out[:whole] = normals[0].ravel()
        if whole < n:
            out[n - 16:] = normals[1].ravel()
        if dtype is dtypes.float64:
            return out * std + mean
        return _fma(out, np.float32(std), np.float32(mean))

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
        """``randint`` and ``random_(from, to)``: a word (two, for a range of 2**28 or more) modulo the range."""
        span = high - low
        n = math.prod(shape)
        raw = self.words64(n) if span >= 2**28 else self.words(n)
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

    def gamma(self, alpha: np.ndarray) -> np.ndarray:
        """``_standard_gamma``: one Marsaglia-Tsang draw per value, in order, from double-precision uniforms and
        normals, with float32 concentrations' own float steps; at least the dtype's smallest normal number."""
        single = alpha.dtype == np.float32
        values = [self._one_gamma(float(a), single) for a in alpha.ravel()]
        out = np.array(values, dtype=np.float64).astype(alpha.dtype)
        return np.maximum(out, np.finfo(alpha.dtype).tiny).reshape(alpha.shape)

    def dirichlet(self, alpha: np.ndarray) -> np.ndarray:
        """``_sample_dirichlet``: double-precision gamma draws normalized along the last axis, kept inside (0, 1)."""
        draws = np.array([self._one_gamma(float(a), False) for a in alpha.ravel()], dtype=np.float64)
        draws = np.maximum(draws, np.finfo(np.float64).tiny).reshape(alpha.shape)
        share = (draws / draws.sum(-1, keepdims=True)).astype(alpha.dtype)
        return np.clip(share, np.finfo(alpha.dtype).tiny, np.nextafter(alpha.dtype.type(1), alpha.dtype.type(0)))

    def _one_gamma(self, alpha: float, single: bool) -> float:
        """Marsaglia and Tsang's rejection sampler as torch's CPU kernel runs it (a concentration below 1 is
        raised by 1 and the draw scaled by ``u ** (1 / alpha)``)."""
        scale = 1.0
        if alpha < 1.0:
            if alpha == 0.0:
                return 0.0
            exponent = float(_F(1.0) / _F(alpha)) if single else 1.0 / alpha
            scale = (1.0 - self._one_uniform()) ** exponent
            alpha = float(_F(alpha) + _F(1.0)) if single else alpha + 1.0
        d = float(_F(alpha) - _THIRD) if single else alpha - float(_THIRD)
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = self._one_normal()
            y = 1.0 + c * x
            if y <= 0:
                continue
            v = y * y * y
            u = 1.0 - self._one_uniform()
            xx = x * x
            if u < 1.0 - _SQUEEZE * xx * xx or math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
                return scale * d * v

    def poisson(self, rate: np.ndarray) -> np.ndarray:
        """``torch.poisson``: per value, Hoermann's transformed rejection for a rate of 10 or more, else the
        product of uniforms until it falls below ``exp(-rate)``; in the rate's dtype."""
        return np.array([self._one_poisson(float(r)) for r in rate.ravel()], dtype=rate.dtype).reshape(rate.shape)

    def _one_poisson(self, rate: float) -> int:
        if rate >= 10:
            return self._poisson_rejection(rate)
        if rate == 0:
            return 0
        threshold, count, product = math.exp(-rate), 0, 1.0
        while True:
            product *= self._one_uniform()
            if product <= threshold:
                return count
            count += 1

    def _poisson_rejection(self, rate: float) -> int:
        log_rate = math.log(rate)
        b = 0.931 + 2.53 * math.sqrt(rate)
        a = -0.059 + 0.02483 * b
        log_inverse_alpha = math.log(1.1239 + 1.1328 / (b - 3.4))
        v_r = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = self._one_uniform() - 0.5
            v = self._one_uniform()
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + rate + 0.43)
            if us >= 0.07 and v <= v_r:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if math.log(v) + log_inverse_alpha - math.log(a / (us * us) + b) <= \
                    -rate + k * log_rate - math.lgamma(k + 1.0):
                return k

    def binomial(self, count: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """``torch.binomial``: per value, BTRS (Hoermann's transformed rejection) when the smaller of ``count * p``
        and ``count * (1 - p)`` is 10 or more, else counting geometric jumps; in the dtype's own arithmetic where
        torch's kernel computes in it."""
        work = count.dtype.type
        pairs = zip(count.ravel().tolist(), prob.ravel().tolist())
        return np.array([self._one_binomial(work(n), work(p)) for n, p in pairs], dtype=count.dtype).reshape(
            count.shape)

    def _one_binomial(self, n: np.floating, p: np.floating) -> np.floating:
        work = type(n)
        if n <= 0 or p <= 0:
            return work(0)
        if p >= 1:
            return n
        if p <= 0.5:
            return self._btrs(n, p) if n * p >= 10 else self._binomial_inversion(n, p)
        q = work(1) - p
        return n - (self._btrs(n, q) if n * q >= 10 else self._binomial_inversion(n, q))

    def _binomial_inversion(self, n: np.floating, p: np.floating) -> np.floating:
        work, jumps, successes = type(n), 0.0, type(n)(0)
        log_q = math.log1p(-float(p))
        while True:
            jumps += math.ceil(math.log(self._one_uniform()) / log_q)
            if jumps > n:
                return successes
            successes = successes + work(1)

    def _btrs(self, n: np.floating, p: np.floating) -> np.floating:
        work, one = type(n), type(n)(1)
        spread = float(np.sqrt(n * p * (one - p)))
        b = 1.15 + 2.53 * spread
        a = -0.0873 + 0.0248 * b + 0.01 * float(p)
        c = float(n * p) + 0.5
        v_r = 0.92 - 4.2 / b
        r = float(p / (one - p))
        alpha = (2.83 + 5.1 / b) * spread
        m = math.floor(float((n + one) * p))
        nf = float(n)
        while True:
            u = self._one_uniform() - 0.5
            v = self._one_uniform()
            us = 0.5 - abs(u)
            k = work(math.floor((2 * a / us + b) * u + c))
            if k < 0 or k > n:
                continue
            if us >= 0.07 and v <= v_r:
                return k
            kf, rest = float(k), float(n - k + one)
            bound = ((m + 0.5) * math.log((m + 1) / (r * (nf - m + 1))) + (nf + 1) * math.log((nf - m + 1) / rest)
                     + (kf + 0.5) * math.log(r * rest / float(k + one)) + _stirling_tail(m) + _stirling_tail(nf - m)
                     - _stirling_tail(kf) - _stirling_tail(float(n - k)))
            if math.log(v * alpha / (a / (us * us) + b)) <= bound:
                return k

    def _one_uniform(self) -> float:
        return float(self._unit64(1)[0])

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


def _box_muller(block: np.ndarray) -> np.ndarray:
    """torch's normal_fill_16 on rows of 16 uniforms: the first 8 give the radii, the last 8 the angles."""
    radius = np.sqrt(-2.0 * np.log(1.0 - block[:, :8]))
    theta = _TWO_PI * block[:, 8:]
    return np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def _box_muller_float32(block: np.ndarray) -> np.ndarray:
    """``_box_muller`` as torch's vectorized float kernel computes it, bit for bit: float32 throughout, with the
    Cephes polynomials for log, sin and cos that kernel uses, rounded where its compiled code rounds (each
    multiply-add it fuses is one ``_fma``)."""
    radius = np.sqrt(np.float32(-2.0) * _log_float32(np.float32(1.0) - block[:, :8]))
    sine, cosine = _sincos_float32(np.float32(_TWO_PI) * block[:, 8:])
    return np.concatenate([radius * cosine, radius * sine], axis=1)


_F = np.float32
# Cephes' single-precision coefficients: log's polynomial on [sqrt(1/2) - 1, sqrt(2) - 1], then sin's and cos's
# on [-pi/4, pi/4], and pi/4 split in three parts for an exact range reduction.
# log(k!) minus its Stirling approximation for k = 0 .. 9 (beyond, a series), as torch's binomial sampler uses it.
_STIRLING_TAILS = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                   0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                   0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k: float) -> float:
    if k <= 9:
        return _STIRLING_TAILS[int(k)]
    square = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / square) / square) / (k + 1)


# The float constants of torch's gamma sampler (1.0f / 3.0f and 0.0331f), as the float32 values it uses.
_THIRD = _F(1.0) / _F(3.0)
_SQUEEZE = float(_F(0.0331))
_LOG_TERMS = tuple(map(_F, (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                           -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1)))
_SIN_TERMS = tuple(map(_F, (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)))
_COS_TERMS = tuple(map(_F, (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)))
_PI_4_PARTS = tuple(map(_F, (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8)))


def _log_float32(x: np.ndarray) -> np.ndarray:
    """Natural log of positive normal floats: exponent and mantissa in [sqrt(1/2), sqrt(2)), then a polynomial."""
    bits = x.view(np.uint32)
    exponent = ((bits >> 23).astype(np.int32) - 126).astype(np.float32)
    mantissa = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(np.float32)  # in [0.5, 1)
    small = mantissa < _F(0.707106781186547524)
    exponent = exponent - small.astype(np.float32)
    m = (mantissa - _F(1)) + np.where(small, mantissa, _F(0))
    z = m * m
    y = np.full_like(m, _LOG_TERMS[0])
    for term in _LOG_TERMS[1:]:
        y = _fma(y, m, term)
    y = _fma(y * m, z, exponent * _F(-2.12194440e-4))
    y = _fma(z, _F(-0.5), y)
    return _fma(exponent, _F(0.693359375), m + y)


def _sincos_float32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos of non-negative floats: reduce by multiples of pi/4, then the polynomial for the octant."""
    octant = (x * _F(1.27323954473516)).astype(np.int32)
    octant = (octant + 1) & ~1
    y = octant.astype(np.float32)
    for part in _PI_4_PARTS:
        x = _fma(y, part, x)
    z = x * x
    cosine = np.full_like(x, _COS_TERMS[0])
    for term in _COS_TERMS[1:]:
        cosine = _fma(cosine, z, term)
    cosine = _fma(cosine * z, z, -(z * _F(0.5))) + _F(1)
    sine = np.full_like(x, _SIN_TERMS[0])
    for term in _SIN_TERMS[1:]:
        sine = _fma(sine, z, term)
    sine = _fma(sine * z, x, x)
    swap = (octant & 2) != 0
    sin, cos = np.where(swap, cosine, sine), np.where(swap, sine, cosine)
    return np.where((octant & 4) != 0, -sin, sin), np.where((((octant - 2) & 4) == 0), -cos, cos)
