"""The XLA backend: a whole program becomes one jitted jax function, so XLA fuses it end to end.

``LOWERINGS`` holds one rule per primitive: a function of jax arrays and the instruction's static
parameters, mirroring the numpy backend's ``IMPLS``. Compiling a program strings the rules together in
one Python function and compiles it ahead of time with ``jax.jit``, so the trace and the XLA compile
happen on a cache miss, are counted there, and never happen behind the cache's back on the step path.

jax uses 32-bit types unless told otherwise, which would silently turn int64 and float64 tensors into
32-bit ones. Loading this module therefore turns on jax's 64-bit mode for
the process; every rule passes its dtype explicitly, so a float32 program still traces to float32
throughout, and a trace-time check holds each value to the shape and dtype the IR inferred.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any


def _round_every_16_bit_result() -> None:
    """XLA may keep a bfloat16 or float16 intermediate in float32 when a later op widens it (``(a / b).float()``),
    which skips a rounding that torch and the numpy backend do. Turning that off before jax creates its CPU
    client makes each 16-bit result rounded to its dtype; a process whose jax already runs keeps its setting."""
    flag = "--xla_allow_excess_precision"
    flags = os.environ.get("XLA_FLAGS", "")
    if flag not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {flag}=false".strip()


_round_every_16_bit_result()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


def _persistent_cache_folder() -> str | None:
    """Where compiled programs are kept between runs: ``$LAZYGRAD_CACHE_DIR/jax``, by default under
    ``$XDG_CACHE_HOME/lazygrad`` or ``~/.cache/lazygrad``; None when ``LAZYGRAD_PERSISTENT_CACHE=0``."""
    if os.environ.get("LAZYGRAD_PERSISTENT_CACHE", "1").strip().lower() in ("0", "false", "off", "no"):
        return None
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.environ.get("LAZYGRAD_CACHE_DIR") or os.path.join(home_cache, "lazygrad"), "jax")


def _persist_compiled_programs() -> None:
    """Let a second run of a script load its XLA executables from disk instead of compiling them again.

    jax's persistent compilation cache keys an entry by the lowered program, the compile options and the
    jax/XLA versions, so a stale entry is never used. jax keeps only programs that took a second or more
    to compile; lazygrad's take 0.05-1 s each and a script compiles several, so every one is kept. A cache
    folder the user configured for jax already (``JAX_COMPILATION_CACHE_DIR``) is left as it is.
    """
    folder = _persistent_cache_folder()
    if folder is None or jax.config.jax_compilation_cache_dir is not None:
        return
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


_persist_compiled_programs()

import jax.numpy as jnp  # noqa: E402  (64-bit mode must be on before jax.numpy picks its defaults)
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from jax._src.array import ArrayImpl  # noqa: E402  (jax.Array's concrete class, named without creating a device)
from jax.experimental import multihost_utils  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec, SingleDeviceSharding  # noqa: E402
from lazygrad.backends.numpy_backend import interpreter  # noqa: E402

from lazygrad.checks import CheckFailed  # noqa: E402
from lazygrad.fma import fma64_parts, two_sum  # noqa: E402
from lazygrad.metrics import add_time, bump  # noqa: E402
from lazygrad.primitives import check_covers  # noqa: E402
from lazygrad.primitives.elementwise import kernel_exponent  # noqa: E402
from lazygrad.program import Program  # noqa: E402

# HIGHEST keeps float32 products in float32 on every platform (TPUs and GPUs may use bf16/tf32 passes).
_HIGHEST = lax.Precision.HIGHEST


def _integral_identity(fn: Callable) -> Callable:
    """floor/ceil/round of an integer is the integer itself (XLA's ops accept floats only)."""
    return lambda x: x if not jnp.issubdtype(x.dtype, jnp.inexact) else fn(x)


def _broadcasting(fn: Callable) -> Callable:
    """lax's binary ops want equal shapes; the IR's binary ops broadcast like numpy's."""
    return lambda a, b: fn(*jnp.broadcast_arrays(a, b))


# torch accumulates 16-bit floats in float32 (sums, products, matmuls, convolutions) and rounds the result once.
_ACCUMULATE = {jnp.dtype(jnp.float16): jnp.float32, jnp.dtype(jnp.bfloat16): jnp.float32}


def _reduce(fn: Callable) -> Callable:
    # The explicit dtype stops jax from widening int32 and bool sums to int64, as numpy's default would.
    return lambda x, axes: fn(x, axes, dtype=_ACCUMULATE.get(x.dtype, x.dtype)).astype(x.dtype)


def _pad(x: jax.Array, low: tuple, high: tuple, interior: tuple) -> jax.Array:
    return lax.pad(x, jnp.zeros((), x.dtype), list(zip(low, high, interior)))


def _dot_general(lhs: jax.Array, rhs: jax.Array, lhs_contract: tuple, rhs_contract: tuple,
                 lhs_batch: tuple, rhs_batch: tuple) -> jax.Array:
    return lax.dot_general(lhs, rhs, ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)), precision=_HIGHEST,
                           preferred_element_type=_ACCUMULATE.get(lhs.dtype, lhs.dtype)).astype(lhs.dtype)


def _conv(lhs: jax.Array, rhs: jax.Array, strides: tuple, padding: tuple, lhs_dilation: tuple,
          rhs_dilation: tuple, groups: int) -> jax.Array:
    # lax's default dimension numbers are the IR's layout: (N, C, *spatial) and (O, C/groups, *kernel).
    out = lax.conv_general_dilated(lhs, rhs, strides, padding, lhs_dilation, rhs_dilation, feature_group_count=groups,
                                   precision=_HIGHEST, preferred_element_type=_ACCUMULATE.get(lhs.dtype, lhs.dtype))
    return out.astype(lhs.dtype)


def _scatter_add(updates: jax.Array, indices: jax.Array, axis: int, size: int) -> jax.Array:
    shape = (*updates.shape[:axis], size, *updates.shape[axis + indices.ndim:])
    return jnp.zeros(shape, updates.dtype).at[(slice(None),) * axis + (indices,)].add(updates)


# The checks met while tracing a program, in program order: (all passed, the first failing value) each.
# The traced function returns them as two extra outputs, which the executable inspects after the call.
_traced_checks: list[tuple[jax.Array, jax.Array]] = []


def _check(x: jax.Array, ok: jax.Array, check: Any) -> jax.Array:
    first_bad = jnp.argmin(ok.ravel())  # the first False; 0 if all pass
    _traced_checks.append((jnp.all(ok), x.ravel()[first_bad].astype(jnp.int64)))
    return x


def _logistic(x: jax.Array) -> jax.Array:
    # lax.logistic is torch's 1 / (1 + exp(-x)); 16-bit floats run in float32 and round once, as torch does.
    return lax.logistic(x.astype(jnp.float32)).astype(x.dtype) if x.dtype in _ACCUMULATE else lax.logistic(x)


def _sign(x: jax.Array) -> jax.Array:
    # torch's sign is (x > 0) - (x < 0): 0 for NaN (jnp.sign gives NaN) and +0 for -0.
    if x.dtype == jnp.bool_:
        return x
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return jnp.sign(x)
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


# torch's own kernels for these float exponents (see the numpy backend). The front end makes such an exponent a
# constant, so the kernel is chosen when the program is traced (``_lowering``) and XLA fuses it like any other op;
# an exponent that arrives at run time (a gradient's ``y - 1``) is matched then, and only the chosen kernel runs.
def _bfloat16_steps(x: jax.Array) -> jax.Array:
    """``x`` (float32) rounded to bfloat16's precision: XLA keeps float32 between bfloat16 operations unless told."""
    return lax.reduce_precision(x, exponent_bits=8, mantissa_bits=7)


_POWERS = {0.5: jnp.sqrt, 2.0: jnp.square, 3.0: lambda x: x * x * x, -0.5: lambda x: 1 / jnp.sqrt(x),
           -1.0: lambda x: 1 / x, -2.0: lambda x: 1 / (x * x)}
# 16-bit floats run in float32 and round once, but bfloat16's products round after each multiplication
# (the numpy backend's _ROUNDED_EACH_STEP)
_BFLOAT16_POWERS = {3.0: lambda x: _bfloat16_steps(x * x) * x, -2.0: lambda x: 1 / _bfloat16_steps(x * x)}


def _power_kernel(exponent: float, dtype: np.dtype) -> Callable[[jax.Array, Any], jax.Array]:
    if dtype.itemsize != 2:
        return lambda x, _: _POWERS[exponent](x)
    kernel = (_BFLOAT16_POWERS if dtype == jnp.bfloat16 else {}).get(exponent, _POWERS[exponent])
    return lambda x, _: kernel(x.astype(jnp.float32)).astype(dtype)


def _power(x: jax.Array, y: jax.Array) -> jax.Array:
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return _integer_power(x, y)
    if x.dtype.itemsize == 2:  # in float32, rounded once, as torch and numpy compute 16-bit powers
        return jnp.power(x.astype(jnp.float32), y.astype(jnp.float32)).astype(x.dtype)
    return jnp.power(x, y)


def _lowering(program: Program, ins: Any) -> Callable[..., Any]:
    """The lowering of ``ins``; a float power by a number exponent with its own torch kernel gets that kernel."""
    exponent = kernel_exponent(program, ins)
    return LOWERINGS[ins.op] if exponent is None else _power_kernel(exponent, ins.dtype.np)


def _integer_power(x: jax.Array, y: jax.Array) -> jax.Array:
    """Integer powers wrap around as torch's do (square and multiply over every bit of the exponent, where
    jnp.power's own loop gets large exponents wrong); a negative exponent gives 0, except for the bases 1 and -1."""
    x, y = jnp.broadcast_arrays(x, y)

    def step(_: int, state: tuple) -> tuple:
        out, base, rest = state
        return jnp.where(rest & 1, out * base, out), base * base, rest >> 1

    start = (jnp.ones_like(x), x, jnp.maximum(y, 0))
    out = lax.fori_loop(0, jnp.iinfo(y.dtype).bits - 1, step, start)[0]
    inverse = jnp.where(x == 1, 1, jnp.where(x == -1, jnp.where((y & 1).astype(bool), -1, 1), 0)).astype(x.dtype)
    return jnp.where(y < 0, inverse, out)


def _extremum(wins: Callable) -> Callable:
    """torch's maximum/minimum: ``a`` where it wins or is NaN, else ``b`` (so a tie of zeros gives ``b``, where
    XLA's max gives +0.0 either way)."""
    def extremum(a: jax.Array, b: jax.Array) -> jax.Array:
        if not jnp.issubdtype(a.dtype, jnp.floating):
            return jnp.maximum(a, b) if wins is jnp.greater else jnp.minimum(a, b)
        return jnp.where(wins(a, b) | jnp.isnan(a), a, b)
    return extremum


def _argsort(x: jax.Array, axis: int, descending: bool) -> jax.Array:
    return jnp.argsort(x, axis=axis, stable=True, descending=descending).astype(jnp.int64)


_SVD_PARTS = {"U": 0, "S": 1, "Vh": 2}


def _eigh(x: jax.Array, part: str, lower: bool) -> jax.Array:
    # Only the named triangle is read, as in torch (jax would otherwise average x with its transpose).
    values, vectors = jnp.linalg.eigh(x, UPLO="L" if lower else "U", symmetrize_input=False)
    return vectors if part == "vectors" else values


def _fma(a: jax.Array, b: jax.Array, c: jax.Array) -> jax.Array:
    """``a * b + c`` rounded once, bit for bit as the numpy backend's ``lazygrad.fma`` (XLA has no fused
    multiply-add operation). A float32 product is exact in a double; the double sum is rounded to odd (its last
    bit set when inexact), so rounding it to float32 is the single rounding of the true value."""
    if a.dtype == jnp.float64:
        return _fma64(a, b, c)
    total, error = two_sum(a.astype(jnp.float64) * b.astype(jnp.float64), c.astype(jnp.float64))
    bits = lax.bitcast_convert_type(total, jnp.int64)
    inexact_even = (error != 0) & ((bits & 1) == 0) & jnp.isfinite(total)
    # one step of the bit pattern away from zero or toward it, whichever side the true value lies on
    bits = jnp.where(inexact_even, bits + jnp.where((error > 0) == (total > 0), 1, -1), bits)
    return lax.bitcast_convert_type(bits, jnp.float64).astype(jnp.float32)


def _fma64(a: jax.Array, b: jax.Array, c: jax.Array) -> jax.Array:
    """Double ``a * b + c`` from the exact errors of its product and sum, as ``lazygrad.fma`` adds them up."""
    total, error = fma64_parts(a, b, c)
    exact = total + error
    return jnp.where(jnp.isfinite(exact) & (error != 0), exact, total)  # adding a +0 error would turn -0 into +0


LOWERINGS: dict[str, Callable[..., Any]] = {
    "neg": jnp.negative, "exp": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt, "rsqrt": lax.rsqrt,
    "sin": jnp.sin, "cos": jnp.cos, "tanh": jnp.tanh, "logistic": _logistic, "log1p": jnp.log1p,
    "expm1": jnp.expm1, "erf": lax.erf, "abs": jnp.abs, "sign": _sign,
    "floor": _integral_identity(jnp.floor), "ceil": _integral_identity(jnp.ceil),
    "round": _integral_identity(jnp.round),  # jnp.round rounds half to even, like numpy and torch
    "logical_not": jnp.logical_not,
    "add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply,
    "div": _broadcasting(lax.div),  # true division for floats; integers truncate toward zero (C's rule)
    "rem": _broadcasting(lax.rem),  # C fmod: the result takes the sign of the dividend
    "pow": _power, "max": _extremum(jnp.greater), "min": _extremum(jnp.less), "atan2": jnp.arctan2, "hypot": jnp.hypot,
    "eq": jnp.equal, "ne": jnp.not_equal, "lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater,
    "ge": jnp.greater_equal, "and": jnp.bitwise_and, "or": jnp.bitwise_or, "xor": jnp.bitwise_xor,
    "select": jnp.where, "fma": _fma,
    "reduce_sum": _reduce(jnp.sum), "reduce_prod": _reduce(jnp.prod),
    # lax's reductions: over nothing they give the identity (-inf for a max), where jnp's raise.
    "reduce_max": lambda x, axes: lax.reduce_max(x, axes), "reduce_min": lambda x, axes: lax.reduce_min(x, axes),
    "argmax": lambda x, axis: jnp.argmax(x, axis=axis).astype(jnp.int64),
    "argmin": lambda x, axis: jnp.argmin(x, axis=axis).astype(jnp.int64),
    "cumsum": _reduce(jnp.cumsum), "stop_gradient": lax.stop_gradient,
    "broadcast": jnp.broadcast_to, "reshape": jnp.reshape, "permute": jnp.transpose, "slice": lax.slice,
    "dynamic_slice": lambda x, *rest: lax.dynamic_slice(x, rest[:-1], rest[-1]),
    "dynamic_update_slice": lambda x, update, *starts: lax.dynamic_update_slice(x, update, starts),
    "pad": _pad, "rev": lax.rev, "concat": lambda *args: lax.concatenate(args[:-1], args[-1]),
    "dot_general": _dot_general, "conv": _conv,
    # Indices are in range (checked at the op, or by a check node while pending); "clip" keeps XLA from filling.
    "gather": lambda x, indices, axis: jnp.take(x, indices, axis=axis, mode="clip"), "scatter_add": _scatter_add,
    "check": _check,
    "cast": lambda x, dtype: lax.convert_element_type(x, dtype.np),  # to bool this is x != 0, as in numpy
    "const": lambda value, dtype: jnp.asarray(value, dtype=dtype.np),
    "iota": lambda shape, axis, dtype: lax.broadcasted_iota(dtype.np, shape, axis),
    "argsort": _argsort, "cumprod": _reduce(jnp.cumprod),
    "inv": jnp.linalg.inv, "cholesky": jnp.linalg.cholesky, "solve": jnp.linalg.solve, "det": jnp.linalg.det,
    "slogdet": lambda x, part: jnp.linalg.slogdet(x)[part == "logabsdet"],
    "svd": lambda x, part, full_matrices: jnp.linalg.svd(x, full_matrices=full_matrices)[_SVD_PARTS[part]],
    "qr": lambda x, part, mode: jnp.linalg.qr(x, mode=mode)[part == "R"], "eigh": _eigh,
}

check_covers(LOWERINGS, "the jax backend's LOWERINGS")


# Python numbers are packed only up to this many per program: XLA compiles a long chain of ops over slices of
# one packed array several times slower (seconds for a few hundred), so a program with more passes them one by
# one, paying a few microseconds each per call instead.
_MAX_PACKED = 64

# Where each program input comes from in a call: a position among the arguments passed directly, and
# per dtype the positions of the Python numbers packed into one host array (one transfer, not hundreds).
Packs = list[tuple[np.dtype, list[int]]]


def _layout(program: Program) -> tuple[list[int], Packs]:
    if len(program.host_scalars) > _MAX_PACKED:
        return list(range(len(program.inputs))), []
    host = set(program.host_scalars)
    direct = [k for k in range(len(program.inputs)) if k not in host]
    by_dtype: dict[np.dtype, list[int]] = {}
    for k in program.host_scalars:
        by_dtype.setdefault(program.inputs[k][1].np, []).append(k)
    return direct, list(by_dtype.items())


def _trace(program: Program, direct: list[int], packs: Packs) -> Callable[..., list[jax.Array]]:
    """The program as one Python function of jax arrays: what ``jax.jit`` traces once.

    A program with checks returns two more arrays after its outputs: whether each check passed, and
    each check's first failing value.
    """
    steps = [(_lowering(program, ins), ins) for ins in program.instrs]
    outputs = program.outputs
    layouts = program.layouts

    def run(*arguments: jax.Array) -> list[jax.Array]:
        inputs: list[Any] = [None] * len(program.inputs)
        for k, value in zip(direct, arguments):
            inputs[k] = value
        for pack, (_, positions) in zip(arguments[len(direct):], packs):
            for i, k in enumerate(positions):
                inputs[k] = pack[i]
        values: list[jax.Array] = []
        _traced_checks.clear()
        for fn, ins in steps:
            out = fn(*[values[a] if a >= 0 else inputs[-a - 1] for a in ins.args], *ins.params)
            # Checked while tracing only: a rule that drifts from the IR's shape or dtype fails here, by name.
            if out.shape != ins.shape or out.dtype != ins.dtype.np:
                raise AssertionError(f"the jax rule for {ins.op} gave {out.dtype}{list(out.shape)} where the IR "
                                     f"says {ins.dtype.np}{list(ins.shape)}")
            values.append(out)
        results = [values[o] if o >= 0 else inputs[-o - 1] for o in outputs]
        if layouts:  # outputs whose placement the user set keep it, whatever XLA would have chosen
            results = [r if s is None else lax.with_sharding_constraint(r, s) for r, s in zip(results, layouts)]
        if _traced_checks:
            passed, first_bad = zip(*_traced_checks)
            _traced_checks.clear()
            results += [jnp.stack(passed), jnp.stack(first_bad)]
        return results

    return run


def _find_device(spec: str) -> jax.Device:
    """``"gpu"``, ``"gpu:1"``, ``"cpu:0"``, ``"1"``: a platform and/or an index among its devices."""
    platform, _, index = spec.partition(":")
    if platform.isdigit():  # a bare index into the default platform's devices
        platform, index = "", platform
    try:
        found = jax.devices(platform or None)
    except RuntimeError as error:
        raise ValueError(f"no jax {platform} device on this machine ({error})") from None
    position = int(index) if index else 0
    if not 0 <= position < len(found):
        raise ValueError(f"jax device {spec!r} does not exist; this machine has {len(found)} {platform} device(s)")
    return found[position]


def _spans_devices(buffer: Any) -> bool:
    return isinstance(buffer, jax.Array) and len(buffer.sharding.device_set) > 1


def _interpreted_runs() -> int:
    """``LAZYGRAD_JAX_INTERPRETED_RUNS``: how many runs a new program spends in the numpy interpreter before XLA
    compiles it (default 0: every program is compiled before its first run)."""
    setting = os.environ.get("LAZYGRAD_JAX_INTERPRETED_RUNS", "0").strip()
    if not setting.isdigit():
        raise ValueError(f"LAZYGRAD_JAX_INTERPRETED_RUNS must be a count of runs (0, 1, ...), not {setting!r}")
    return int(setting)


# XLA takes 0.1-10 s to compile a program on a CPU, and a script builds many programs that run once: setting up,
# printing, an evaluation, text generation with a longer context every token. Interpreting a program's first
# runs on the host (the numpy backend) and compiling only a program that runs again saves most of a short
# script's time, but a program then gives numpy's bits before it is compiled and XLA's after, so two runs of
# one program can differ in their last bits. That is why it is a choice, not the default.
INTERPRETED_RUNS = _interpreted_runs()


class _Executable:
    """One program compiled for the backend's device, and for any other device or mesh its inputs turn up on.

    The step path calls the compiled executable directly; only a call whose inputs sit on another device
    (after ``.to("jax:1")``) or are sharded differently takes the slow path, which compiles once more for
    that placement of the inputs and makes it the fast path, so a sharded training step pays it once.

    On a CPU device, a program that neither donates its inputs nor lays out its outputs runs its first
    ``INTERPRETED_RUNS`` runs through the numpy interpreter instead, and is compiled when it runs again.
    """

    __slots__ = ("_by_device", "_checked", "_device", "_direct", "_donate", "_fast", "_interpreted_left",
                 "_jitted", "_packs", "_program")

    def __init__(self, program: Program, device: jax.Device, donate: Sequence[int] = ()) -> None:
        self._program = program
        self._device = device
        self._checked = any(ins.op == "check" for ins in program.instrs)
        self._direct, self._packs = _layout(program)
        # Program inputs whose buffers the caller gives up (lazygrad.compile): XLA may write outputs into them.
        self._donate = tuple(i for i, k in enumerate(self._direct) if k in set(donate))
        self._jitted = _trace(program, self._direct, self._packs)
        self._by_device: dict[Any, Any] = {}
        interpretable = device.platform == "cpu" and not donate and not any(program.layouts)
        self._interpreted_left = INTERPRETED_RUNS if interpretable else 0
        # A program with requested layouts spans a mesh: it is compiled on its first call, for its inputs.
        compile_now = not any(program.layouts) and not self._interpreted_left
        self._fast = self._compiled_for(device) if compile_now else None

    def _compiled_for(self, device: jax.Device) -> Any:
        compiled = self._by_device.get(device)
        if compiled is None:
            sharding = SingleDeviceSharding(device)
            inputs = self._program.inputs
            shapes = [jax.ShapeDtypeStruct(inputs[k][0], inputs[k][1].np, sharding=sharding) for k in self._direct]
            shapes += [jax.ShapeDtypeStruct((len(positions),), dtype, sharding=sharding)
                       for dtype, positions in self._packs]
            jitted = jax.jit(self._jitted, in_shardings=sharding, out_shardings=sharding,
                             donate_argnums=self._donate)
            compiled = self._by_device[device] = jitted.lower(*shapes).compile()
            if len(self._by_device) > 1:
                bump("compiles")  # the first is counted by the cache that asked for this program
        return compiled

    def __call__(self, buffers: Sequence[Any]) -> list[Any]:
        if self._interpreted_left:
            if self._on_own_device(buffers):
                self._interpreted_left -= 1
                return self._interpret(buffers)
            self._interpreted_left = 0
        if self._fast is None and not any(self._program.layouts):
            start = time.perf_counter()
            self._fast = self._compiled_for(self._device)
            add_time("compile_time", time.perf_counter() - start)
        outputs = self._call(buffers)
        if not self._checked:
            return outputs
        # A few bools to the host; the values only when a check failed.
        passed = np.asarray(outputs[-2])
        if not passed.all():
            ordinal = int(np.argmin(passed))
            raise CheckFailed(ordinal, int(np.asarray(outputs[-1])[ordinal]))
        return outputs[:-2]

    def _call(self, buffers: Sequence[Any]) -> list[Any]:
        arguments = [buffers[k] for k in self._direct]
        arguments += [np.array([buffers[k] for k in positions], dtype) for dtype, positions in self._packs]
        if self._fast is not None:
            try:
                return self._fast(*arguments)
            except ValueError as error:
                if "sharding" not in str(error):
                    raise
        if any(self._program.layouts) or any(map(_spans_devices, arguments)):
            return self._call_sharded(arguments)
        places = {d for b in buffers if isinstance(b, jax.Array) for d in b.devices()}
        if len(places) != 1:
            names = sorted(f"jax:{d.platform}:{jax.devices(d.platform).index(d)}" for d in places)
            raise RuntimeError(f"a program mixes tensors on different jax devices ({', '.join(names)}); "
                               "move them to one device with .to()")
        return self._compiled_for(places.pop())(*arguments)

    def _on_own_device(self, buffers: Sequence[Any]) -> bool:
        return all(not isinstance(b, jax.Array) or b.sharding.device_set == {self._device} for b in buffers)

    def _interpret(self, buffers: Sequence[Any]) -> list[Any]:
        """One run on the host: the inputs are read in place (a CPU device's buffers are host memory), the
        outputs are moved to the device. A failing check raises as the compiled program's would."""
        host = [np.asarray(b) if isinstance(b, jax.Array) else b for b in buffers]
        return jax.device_put(interpreter(self._program)(host), self._device)

    def _call_sharded(self, arguments: list[Any]) -> list[Any]:
        """Run over a device mesh: sharded inputs keep their sharding, the others are replicated on the mesh,
        and XLA's SPMD partitioner splits the program and inserts the collectives."""
        spread = [a.sharding for a in arguments if _spans_devices(a)] + [s for s in self._program.layouts if s]
        meshes = {s.mesh for s in spread}
        if len(meshes) != 1:
            raise RuntimeError(f"a program mixes tensors distributed over different device meshes ({len(meshes)})")
        replicated = NamedSharding(meshes.pop(), PartitionSpec())
        shardings = tuple(a.sharding if _spans_devices(a) else replicated for a in arguments)
        compiled = self._by_device.get(shardings)
        if compiled is None:
            start = time.perf_counter()
            structs = [jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s) for a, s in zip(arguments, shardings)]
            compiled = self._by_device[shardings] = jax.jit(self._jitted, donate_argnums=self._donate).lower(
                *structs).compile()
            add_time("compile_time", time.perf_counter() - start)
            if len(self._by_device) > 1:
                bump("compiles")
        self._fast = compiled
        return compiled(*[a if _spans_devices(a) else _replicate(a, s) for a, s in zip(arguments, shardings)])


def _replicate(value: Any, sharding: NamedSharding) -> jax.Array:
    """``value`` laid out over the mesh (a copy on every device for a replicated sharding); through the host
    when the mesh spans processes."""
    if isinstance(value, jax.Array) and not sharding.is_fully_addressable:
        value = np.asarray(value)
    return jax.device_put(value, sharding)


class JaxBackend:
    """Runs each program as one XLA executable; buffers are ``jax.Array``s and stay on their device.

    The default device is the one ``LAZYGRAD_DEVICE`` names (``"gpu"``, ``"cpu:1"``, ...), else jax's first.
    Programs are compiled for it with inputs and outputs pinned there, so a program over constants alone
    still runs there; a program over buffers moved to another device runs on that device instead.
    """

    name = "jax"
    donates = True  # compile(program, donate=...) hands over input buffers, as jax.jit(donate_argnums=...) does
    buffer_type = ArrayImpl

    def __init__(self) -> None:
        self._device: jax.Device | None = None

    @property
    def device(self) -> jax.Device:
        # Found on first use, not at import: jax.distributed.initialize (init_process_group) must come before
        # anything creates jax's devices. This process's first device: in a multi-process job jax.devices()
        # lists every process's devices.
        if self._device is None:
            spec = os.environ.get("LAZYGRAD_DEVICE")
            self._device = _find_device(spec) if spec else jax.local_devices()[0]
        return self._device

    def compile(self, program: Program, donate: Sequence[int] = ()) -> Callable[[Sequence[Any]], list[Any]]:
        return _Executable(program, self.device, donate)

    def from_numpy(self, array: np.ndarray, device: jax.Device | None = None) -> jax.Array:
        return jax.device_put(array, device or self.device)

    def to_numpy(self, buffer: Any) -> np.ndarray:
        # A writable host copy: jax buffers are immutable and numpy callers expect to own the result. A tensor
        # distributed over several processes is gathered from all of them (every process must read it).
        if not buffer.is_fully_addressable:
            return np.array(multihost_utils.process_allgather(buffer, tiled=True))
        return np.array(buffer)

    # ---- several devices: used by lazygrad.device ----
    def devices(self, platform: str | None = None) -> list[jax.Device]:
        """jax's devices on ``platform`` (its default platform if None); empty if the machine has none."""
        try:
            return jax.devices(platform)
        except RuntimeError:
            return []

    def device_of(self, buffer: jax.Array) -> jax.Device:
        return next(iter(buffer.devices()))

    def move(self, buffer: jax.Array, device: jax.Device | NamedSharding | None) -> jax.Array:
        """``buffer`` on ``device``, or laid out over a mesh by a sharding (a distributed tensor's new value)."""
        if isinstance(device, NamedSharding):
            return _replicate(buffer, device)
        return jax.device_put(buffer, device or self.device)
