"""lazygrad: PyTorch's API over a lazy graph that runs as one compiled program per realization.

``import lazygrad as torch`` and write ordinary PyTorch code. Operations only build a graph;
``backward()`` extends the same graph with gradient nodes; values are computed when something reads
them, by the backend chosen with ``LAZYGRAD_BACKEND`` (``numpy`` by default, or ``jax``).
"""

from __future__ import annotations

import importlib
import math

__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here

from . import (
    accelerator,
    aliases,
    amp,
    arithmetic,
    autograd,
    conversion,
    cpu,
    cuda,
    distributions,
    dtypes,
    foreach_ops,
    func,
    gc_policy,
    index_ops,
    index_writes,
    indexing,
    inplace_ops,
    integer_ops,
    jit,
    legacy_forms,
    linalg,
    linalg_legacy,
    logic_ops,
    matmul_ops,
    nn,
    nn_function_forms,
    norm_limits,
    optim,
    random,
    reductions,
    reshaping,
    return_types,
    runtime_settings,
    signal,
    special,
    special_ops,
    special_series,
    tensor_queries,
    testing,
    utils,
    view_forms,
    windows,
)
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from .combining import (
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    cartesian_prod,
    column_stack,
    combinations,
    diagflat,
    diff,
    dsplit,
    hsplit,
    repeat_interleave,
    take,
    take_along_dim,
    tensor_split,
    unravel_index,
    vsplit,
)
from .compiled import compile
from .creation import (
    Generator,
    arange,
    as_tensor,
    asarray,
    default_generator,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_device,
    get_rng_state,
    initial_seed,
    linspace,
    logspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    seed,
    set_default_device,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from .device import device
from .dtypes import DType as dtype
from .dtypes import can_cast
from .einsum import einsum
from .function_forms import accept_numpy_names as _accept_numpy_names
from .function_forms import torch_function as _torch_function
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .index_writes import index_copy, index_reduce, masked_scatter, put, scatter_reduce
from .integration import cumulative_trapezoid, trapezoid, trapz
from .interop import from_dlpack
from .layouts import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    is_complex,
    layout,
    memory_format,
    preserve_format,
    sparse_coo,
    strided,
)
from .legacy_types import LEGACY_TYPES, typename
from .linalg import cholesky_inverse, cholesky_solve, det, dist, logdet, matrix_power
from .linalg import inv as inverse
from .linalg import vander_of as vander
from .masking import (
    argwhere,
    bincount,
    count_nonzero,
    index_add,
    index_fill,
    masked_fill,
    masked_select,
    nonzero,
    tril,
    tril_indices,
    triu,
    triu_indices,
    where,
)
from .math_ops import _ALIASES as _ARC_ALIASES
from .math_ops import (
    acos,
    acosh,
    addcdiv,
    addcmul,
    aminmax,
    asin,
    asinh,
    atan,
    atanh,
    clamp_max,
    clamp_min,
    cosh,
    cumprod,
    exp2,
    hypot,
    isclose,
    lerp,
    log2,
    log10,
    logical_xor,
    sinh,
    std_mean,
    tan,
    var_mean,
)
from .matmul_ops import dot, matmul
from .metrics import metrics, metrics_report, reset_metrics
from .per_example import vmap
from .primitives import FLOAT_UNARY_METHODS
from .printing import set_printoptions
from .products import (
    addbmm,
    addmm,
    addmv,
    addmv_,
    addr,
    baddbmm,
    chain_matmul,
    cross,
    inner,
    kron,
    outer,
    tensordot,
    vdot,
)
from .products import outer as ger
from .random_ops import bernoulli, binomial, multinomial, normal, poisson, randperm
from .realization import PendingGraphWarning, auto_step, clear_cache, set_backend, step
from .realization import backend as _current_backend
from .realization import realize as _realize_all
from .realization import use_backend as backend
from .reshaping import atleast_1d, atleast_2d, atleast_3d, cat, dstack, hstack, stack, vstack
from .reshaping import vstack as row_stack
from .scans import cummax, cummin, logcumsumexp
from .serialization import load, save
from .shape_ops import diag, diag_embed, diagonal, meshgrid, roll, trace
from .sorting import (
    argsort,
    bucketize,
    histogram,
    kthvalue,
    median,
    mode,
    msort,
    nanmedian,
    searchsorted,
    sort,
    topk,
    unique,
)
from .statistics import cdist, corrcoef, cov, histc, nanquantile, quantile, unique_consecutive
from .tensor import Size, Tensor
from .type_info import finfo, iinfo

# The op families that attach Tensor methods when imported (and export nothing else here).
_TENSOR_FAMILIES = (arithmetic, conversion, index_ops, index_writes, indexing, matmul_ops, reductions, reshaping)

float32 = float = dtypes.float32
float64 = double = dtypes.float64
float16 = half = dtypes.float16
bfloat16 = dtypes.bfloat16
int64 = long = dtypes.int64
int32 = int = dtypes.int32
int16 = short = dtypes.int16
int8 = dtypes.int8
uint8 = dtypes.uint8
bool = dtypes.bool_


def realize(*tensors: Tensor) -> None:
    """Compute the given tensors now (and every other pending tensor) in one backend program."""
    _realize_all(tensors, "lazygrad.realize()")


def get_backend() -> str:
    """The name of the backend that runs programs."""
    return _current_backend().name


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def get_default_dtype() -> dtype:
    return dtypes.default_float()


def set_default_dtype(d: dtype) -> None:
    """The dtype Python floats and float factories take from now on (float32 unless changed)."""
    dtypes.set_default_float(dtypes.to_dtype(d))


def promote_types(type1: dtype, type2: dtype) -> dtype:
    return dtypes.promote_types(type1, type2)


def split(tensor: Tensor, split_size_or_sections: int | list[int], dim: int = 0) -> tuple[Tensor, ...]:
    return tensor.split(split_size_or_sections, dim)


# Functions that torch also offers as methods: torch.exp(x) is x.exp(), torch.sum(x, 0) is x.sum(0). The float
# unary math declared with a method in ``lazygrad.primitives`` (exp, sin, ...) is one of them by its declaration.
_METHODS = [
    *FLOAT_UNARY_METHODS, "abs", "add", "sub", "mul", "div", "pow", "neg", "relu", "sign", "floor", "ceil", "round",
    "trunc", "reciprocal", "square", "clamp", "nansum",
    "clip", "maximum", "minimum", "remainder", "fmod", "floor_divide", "atan2", "sum", "mean", "prod", "max", "min",
    "amax", "amin", "argmax", "argmin", "all", "any", "norm", "var", "std", "logsumexp", "softmax", "log_softmax",
    "cumsum", "reshape", "flatten", "unflatten", "unsqueeze", "squeeze", "permute", "transpose",
    "swapaxes", "t",
    "expand", "broadcast_to", "repeat", "flip", "chunk", "unbind", "narrow", "select", "clone", "detach",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "equal", "allclose", "logical_not",
    "logical_and", "logical_or", "mm", "bmm", "mv", "gather", "scatter_add", "index_select", "scatter", "index_put",
    "index_put_",
]
for _name in _METHODS:
    globals()[_name] = getattr(Tensor, _name)
del _name
globals().update(_ARC_ALIASES)  # arcsin, arccos, ...: numpy's names for asin, acos, ...
slogdet = Tensor.slogdet  # torch.slogdet's result type differs from torch.linalg.slogdet's


__all__ = [
    "DType", "Generator", "PendingGraphWarning", "auto_step", "step", "amp", "autocast", "bfloat16", "cpu",
    "from_dlpack", "get_autocast_dtype", "is_autocast_available", "is_autocast_enabled",
    "Size", "Tensor", "accelerator", "arange", "autograd", "cuda", "distributions", "finfo", "iinfo",
    "set_default_dtype", "testing", "utils", "as_tensor", "backend", "bool", "cat", "clear_cache",
    "default_generator", "device", "dot", "double", "dtype", "dtypes", "einsum", "empty", "empty_like",
    "enable_grad", "eye", "logspace",
    "float", "float16", "float32",
    "float64", "from_numpy", "full", "func", "full_like", "get_backend", "get_default_dtype", "half", "inference_mode",
    "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
    "initial_seed", "int", "int8", "int16", "int32", "int64", "is_grad_enabled", "is_inference",
    "is_inference_mode_enabled", "is_tensor", "linspace", "long",
    "manual_seed", "matmul", "metrics", "nn", "no_grad", "numel", "ones", "ones_like", "optim", "promote_types",
    "rand", "rand_like", "randint", "randn", "randn_like", "realize", "reset_metrics", "load", "save", "set_backend",
    "atleast_1d", "atleast_2d", "atleast_3d", "dstack", "hstack", "vstack", "row_stack",
    "set_grad_enabled", "set_printoptions", "short", "stack", "tensor", "uint8", "where", "zeros", "zeros_like",
    *_METHODS,
]
DType = dtype
# The ops of the op-family modules (each attaches its Tensor methods itself).
__all__ += [
    "acos", "acosh", "addcdiv", "addcmul", "addmm", "aminmax", "argsort", "argwhere", "asin", "asinh", "atan",
    "atanh", "baddbmm",
    "bernoulli", "bucketize", "cholesky_inverse", "cholesky_solve", "clamp_max", "clamp_min", "cosh", "count_nonzero",
    "cross", "cumprod", "det", "diag",
    "diag_embed", "diagonal", "dist", "exp2", "hypot", "index_add", "index_fill", "inverse", "isclose", "kthvalue",
    "lerp", "linalg", "log10", "log2", "logdet", "logical_xor", "masked_fill", "median", "meshgrid", "mode", "msort",
    "multinomial", "nanmedian", "signal", "special",
    "bincount", "masked_select", "trace", "nonzero", "normal", "outer", "randperm", "return_types", "roll",
    "poisson", "binomial",
    "searchsorted", "sinh", "slogdet", "sort", "histogram",
    "std_mean", "tan", "topk", "tril", "tril_indices", "triu", "triu_indices", "unique", "var_mean", *_ARC_ALIASES,
]
__all__ += ["metrics_report"]
__all__ += [  # composite ops: rearranging, scans, products
    "block_diag", "broadcast_shapes", "broadcast_tensors", "cartesian_prod", "column_stack", "combinations",
    "diagflat", "diff", "dsplit", "hsplit", "repeat_interleave", "take", "take_along_dim", "tensor_split",
    "unravel_index", "vsplit", "matrix_power", "addbmm", "addmv", "addr", "chain_matmul", "inner", "kron",
    "tensordot", "vdot", "ger", "cummax", "cummin", "logcumsumexp", "index_copy",
    "masked_scatter", "scatter_reduce", "index_reduce", "put", "cdist", "corrcoef", "cov", "histc", "nanquantile",
    "quantile", "unique_consecutive", "addmv_", "random", "randint_like", "seed", "get_rng_state", "set_rng_state",
]
__all__ += [
    "channels_last", "channels_last_3d", "contiguous_format", "get_default_device", "is_complex", "layout",
    "memory_format", "preserve_format", "set_default_device", "sparse_coo", "strided", "split",
]

# The torch.* functions whose torch signature ends in a keyword-only ``out=`` tensor to write the result into.
_TAKES_OUT = {
    "abs", "acos", "acosh", "add", "addcdiv", "addcmul", "addmm",
    "all", "amax", "amin", "aminmax", "any", "arange", "arccos", "arccosh",
    "arcsin", "arcsinh", "arctan", "arctanh", "argmax", "argmin", "argsort", "asin", "asinh", "atan", "atan2", "atanh",
    "baddbmm", "bernoulli", "bmm", "bucketize", "cat", "ceil",
    "cholesky_inverse", "cholesky_solve", "clamp", "clamp_max", "clamp_min", "clip", "cos",
    "cosh", "cross", "cumprod", "cumsum", "diag", "div", "dot", "dstack", "empty", "eq", "erf", "exp", "exp2", "expm1",
    "eye", "floor", "floor_divide", "fmod", "full", "gather", "ge", "gt", "histogram", "hstack", "hypot", "index_add",
    "index_select", "inverse", "kthvalue", "le", "lerp", "linspace", "log", "log10", "log1p", "log2", "log_softmax",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logspace", "logsumexp", "lt", "masked_select",
    "matmul", "max", "maximum", "mean", "median", "min", "minimum", "mm", "mode", "msort", "mul", "multinomial", "mv",
    "nansum", "ne", "neg", "nonzero", "normal", "ones", "outer", "pow", "prod", "rand", "randint", "randn", "randperm",
    "reciprocal", "remainder", "round", "row_stack", "rsqrt", "scatter", "scatter_add", "searchsorted", "sigmoid",
    "sign", "sin", "sinh", "slogdet", "softmax", "sort", "sqrt", "square", "stack", "std", "sub", "sum", "tan", "tanh",
    "topk", "tril", "triu", "trunc", "var", "vstack", "where", "zeros",
}
# torch's second names for existing ops (torch.multiply, torch.concat, ...), the numpy-style shape functions, and
# in-place forms and conversions with a torch.* function (torch.nan_to_num, ...), and the nn kernels' torch.*
# forms (torch.conv2d, torch.dropout, ...).
for _family in (aliases, inplace_ops, integer_ops, legacy_forms, linalg_legacy, logic_ops, nn_function_forms,
                norm_limits, special_ops, special_series, tensor_queries, view_forms, windows):
    globals().update(_family.FUNCTIONS)
    __all__ += list(_family.FUNCTIONS)
    _TAKES_OUT |= _family.TAKES_OUT
del _family
globals().update(foreach_ops.FUNCTIONS)  # torch._foreach_add_, ...: private, so not in __all__
globals().update(LEGACY_TYPES)  # torch.FloatTensor, torch.LongTensor, ...
__all__ += list(LEGACY_TYPES)
_TAKES_OUT |= {  # composite ops
    "column_stack", "diff", "take", "take_along_dim", "matrix_power", "addbmm", "addmv", "addr", "inner", "kron",
    "vdot", "ger", "cummax", "cummin", "logcumsumexp", "index_copy", "scatter_reduce", "index_reduce", "histc",
    "nanquantile", "quantile", "nanmedian",
}
# Give every exported function torch's ``input=`` first parameter and, where torch has it, ``out=``.
for _name in __all__:
    _fn = globals().get(_name)
    if _fn is not None and type(_fn) is type(numel) and not _name.startswith("_"):
        globals()[_name] = _torch_function(_fn, _name, _name in _TAKES_OUT)
del _name, _fn
_accept_numpy_names(Tensor)  # after the functions above took the methods: each renames its own arguments
__all__ += ["compile", "vmap", "asarray", "can_cast", "typename", "jit", "trapezoid", "cumulative_trapezoid", "trapz",
            "vander"]
# process-wide settings, taking torch's own argument names (not ``input=``)
globals().update({name: getattr(runtime_settings, name) for name in runtime_settings.__all__})
__all__ += runtime_settings.__all__

# torch's constants: Python floats (and None for indexing), as in torch.
pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None
__all__ += ["pi", "e", "inf", "nan", "newaxis"]

gc_policy.apply()


def __getattr__(name: str) -> object:
    # lazygrad.distributed loads jax, which a program on the numpy backend never needs: imported on first use.
    if name == "distributed":
        return importlib.import_module(".distributed", __name__)
    raise AttributeError(f"module 'lazygrad' has no attribute {name!r}")
