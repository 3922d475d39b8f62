"""``lazygrad.save`` / ``lazygrad.load``: state dicts on disk in a format that cannot run code when read.

torch pickles, so loading a file from a stranger can execute anything. Here a file is a numpy ``.npz``
archive: every tensor and numpy array is a plain ``.npy`` array entry, and the structure around them (nested
dicts, lists, tuples, numbers, strings) is a JSON manifest stored as one more entry. Loading only ever builds
those types, so a malicious file can at worst be refused. Arrays are numbers only: the manifest names each
entry's dtype, one of bool, integers, floats and complex (bfloat16 is stored as its 16-bit patterns, which
``.npy`` can describe), and an entry whose header says anything else is refused before a byte is read.

A file can also lie about sizes, so ``load`` bounds its memory before it allocates. Each entry's ``.npy``
header declares a dtype and shape; their byte count must equal the size the zip directory records for
the entry, that size must fit in the bytes the entry occupies (stored entries hold exactly their size,
deflated ones at most 1032 times it, other compressions are refused), and the sizes of all entries read
must stay within ``max_bytes``, by default the file's own size: ``save`` stores arrays uncompressed, so
its files always fit, while a small compressed file cannot expand into a large load. An entry is
decompressed in fixed chunks straight into its array, never past its declared size, and read at most
once: ``save`` writes every tensor to its own entry, so a manifest naming an entry twice is refused
rather than allowed to multiply memory. Every problem raises :class:`LoadError` naming the file and the
entry.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict
from typing import IO, Any, BinaryIO

import numpy as np

from . import dtypes
from .creation import from_host
from .nn.parameter import Parameter
from .tensor import Tensor

FORMAT = "lazygrad"
VERSION = 1
_MANIFEST = "__lazygrad__"

File = str | os.PathLike | BinaryIO


class LoadError(RuntimeError):
    """The file is not a lazygrad save file, or it is damaged."""


def save(obj: Any, f: File) -> None:
    """Write ``obj`` (tensors inside dicts, lists, tuples, numbers, strings, None) to a path or binary file."""
    arrays: dict[str, np.ndarray] = {}
    root = _encode(obj, arrays)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root}).encode()
    arrays[_MANIFEST] = np.frombuffer(manifest, dtype=np.uint8)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as out:  # a path is written as given: np.savez would append ".npz"
            np.savez(out, **arrays)
    else:
        np.savez(f, **arrays)


def load(f: File, map_location: Any = None, *, weights_only: bool = True, max_bytes: int | None = None) -> Any:
    """Read what :func:`save` wrote; a foreign, truncated, tampered or oversized file raises :class:`LoadError`.

    ``max_bytes`` caps the bytes the load may decompress, over all entries (default: the file's size,
    which every file written by ``save`` fits). ``map_location`` and ``weights_only`` are accepted for
    torch compatibility: tensors always load on the current backend, and nothing but data can ever be loaded.
    """
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    try:
        source = f if isinstance(f, (str, os.PathLike)) or f.seekable() else io.BytesIO(f.read())
        size = os.path.getsize(source) if isinstance(source, (str, os.PathLike)) else _stream_size(source)
        with zipfile.ZipFile(source) as zipped:
            archive = _Archive(zipped, size, size if max_bytes is None else max_bytes)
            if _MANIFEST + ".npy" not in zipped.namelist():
                raise LoadError("not a lazygrad save file (no manifest)")
            header = json.loads(archive.array(_MANIFEST, np.dtype(np.uint8)).tobytes().decode())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise LoadError("not a lazygrad save file")
            if header.get("version") != VERSION:
                raise LoadError(f"saved by format version {header.get('version')}, this lazygrad reads "
                                f"version {VERSION}")
            return _decode(header.get("root"), archive)
    except LoadError as error:
        raise LoadError(f"{name}: {error}") from None
    except (OSError, EOFError, ValueError, KeyError, TypeError, RecursionError, zipfile.BadZipFile) as error:
        raise LoadError(f"{name}: not a lazygrad save file, or it is damaged ({type(error).__name__}: {error})") \
            from None


def _stream_size(stream: IO[bytes]) -> int:
    here = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return size


# ---- the arrays: sizes checked before anything is allocated ----------------------------------------------

# How many bytes one stored byte can stand for. zlib's deflate bound is 1032:1; zipfile decompresses bzip2
# and lzma without an output limit, so those (and encryption) are refused.
_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_CHUNK = 1 << 22  # bytes decompressed per read: all the memory a load needs beyond the arrays themselves


class _Archive:
    """The entries of an open save file, each read at most once and all within a byte budget."""

    def __init__(self, zipped: zipfile.ZipFile, file_size: int, max_bytes: int) -> None:
        self.zipped, self.file_size, self.max_bytes = zipped, file_size, max_bytes
        self.used = 0
        self.seen: set[str] = set()

    def array(self, key: str, dtype: np.dtype) -> np.ndarray:
        """Entry ``key`` as a C-ordered array of ``dtype``, after checking every size it declares."""
        if key in self.seen:
            raise LoadError(f"entry {key!r} is named more than once in the manifest")
        self.seen.add(key)
        try:
            info = self.zipped.getinfo(key + ".npy")
        except KeyError:
            raise LoadError(f"entry {key!r} is missing") from None
        self._reserve(key, info)
        with self.zipped.open(info) as stream:
            shape, fortran_order, stored = _read_npy_header(key, stream)
            if stored != dtype:
                raise LoadError(f"entry {key!r} holds {stored}, the manifest says {_name(dtype)}")
            if fortran_order:  # save writes C order; the backends expect it
                raise LoadError(f"entry {key!r} declares a Fortran-ordered shape {shape}")
            if any(d < 0 for d in shape):
                raise LoadError(f"entry {key!r} declares a negative shape {shape}")
            nbytes = math.prod(shape) * dtype.itemsize
            if stream.tell() + nbytes != info.file_size:
                raise LoadError(f"entry {key!r} declares shape {shape} of {_name(dtype)} ({nbytes} bytes) but holds "
                                f"{info.file_size - stream.tell()} bytes of data")
            data = _read_exactly(key, stream, nbytes)
        if dtype == np.bool_ and data.max(initial=0) > 1:
            raise LoadError(f"entry {key!r} holds bool bytes other than 0 and 1")
        return data.view(dtype).reshape(shape)

    def _reserve(self, key: str, info: zipfile.ZipInfo) -> None:
        expansion = _EXPANSION.get(info.compress_type)
        if expansion is None or info.flag_bits & 0x1:
            raise LoadError(f"entry {key!r} is encrypted or uses an unsupported compression ({info.compress_type}):"
                            " only stored and deflated entries are read")
        if info.compress_size > self.file_size or info.file_size > info.compress_size * expansion:
            raise LoadError(f"entry {key!r} declares {info.file_size} bytes, more than its {info.compress_size} "
                            "bytes in the file can hold")
        self.used += info.file_size
        if self.used > self.max_bytes:
            raise LoadError(f"entry {key!r} brings the bytes to load to {self.used}, over max_bytes="
                            f"{self.max_bytes}; pass a larger max_bytes to load(), if the file is trusted")


def _name(dtype: np.dtype) -> str:
    """A dtype as the manifest names tensors' dtypes (``float32``), in messages."""
    try:
        return dtypes.from_numpy(dtype).name
    except TypeError:
        return str(dtype)


def _read_npy_header(key: str, stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version not in _NPY_HEADERS:
        raise LoadError(f"entry {key!r} has an unsupported .npy version {version}")
    return _NPY_HEADERS[version](stream)


def _read_exactly(key: str, stream: IO[bytes], nbytes: int) -> np.ndarray:
    """Decompress ``nbytes`` into a new buffer chunk by chunk, so no byte past the declared size is produced."""
    data = np.empty(nbytes, np.uint8)
    view = memoryview(data)
    done = 0
    while done < nbytes:
        got = stream.readinto(view[done:done + _CHUNK])
        if not got:
            raise LoadError(f"entry {key!r} is truncated: {done} of {nbytes} bytes")
        done += got
    return data


# ---- the manifest: one tagged JSON object per Python value ----------------------------------------------


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        arrays[key] = _stored(obj.detach().numpy())
        return {"tensor": key, "dtype": obj.dtype.name, "requires_grad": obj.requires_grad,
                "parameter": isinstance(obj, Parameter)}
    if isinstance(obj, (np.ndarray, np.generic)) and _array_dtype_name(obj.dtype) is not None:
        key = f"t{len(arrays)}"
        arrays[key] = _stored(np.asarray(obj))
        return {"ndarray": key, "dtype": _array_dtype_name(obj.dtype), "scalar": isinstance(obj, np.generic)}
    for kind, types in _CONTAINERS:
        if type(obj) in types:
            if kind in ("dict", "odict"):
                return {kind: [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
            return {kind: [_encode(v, arrays) for v in obj]}
    if obj is None or type(obj) in (bool, int, float, str):
        return {"value": obj}
    raise TypeError(f"lazygrad.save cannot store a {type(obj).__name__}: only tensors, dicts, lists, tuples, "
                    "numbers, strings and None")


_CONTAINERS = (("odict", (OrderedDict,)), ("dict", (dict,)), ("list", (list,)), ("tuple", (tuple,)))


_DTYPES = {d.name: d for d in dtypes.ALL}
# How an array of each dtype sits in its .npy entry: as itself, except bfloat16 (numpy's .npy header cannot
# name it), whose 16-bit patterns are stored as uint16.
_BFLOAT16_BITS = np.dtype("<u2")


def _array_dtype_name(dtype: np.dtype) -> str | None:
    """The manifest's name for a numpy array's dtype (``"<f4"``, ``"bfloat16"``), or None for one never stored."""
    if dtype == dtypes.bfloat16.np:
        return dtypes.bfloat16.name
    return dtype.str if dtype.kind in "biufc" and not dtype.hasobject else None


def _stored(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, order="C")  # not np.ascontiguousarray, which turns a 0-d array into shape (1,)
    return array.view(_BFLOAT16_BITS) if array.dtype == dtypes.bfloat16.np else array


def _storage(dtype: np.dtype) -> np.dtype:
    return _BFLOAT16_BITS if dtype == dtypes.bfloat16.np else dtype


def _manifest_dtype(name: Any, key: str) -> np.dtype:
    """The numpy dtype a manifest names for a numpy array entry; anything but plain numbers is refused."""
    if name == dtypes.bfloat16.name:
        return dtypes.bfloat16.np
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except TypeError:
        dtype = None
    if dtype is None or _array_dtype_name(dtype) != name:
        raise LoadError(f"entry {key!r} has dtype {name!r}, not a numpy dtype of booleans or numbers")
    return dtype


def _decode(entry: Any, archive: _Archive) -> Any:
    if not isinstance(entry, dict) or len(entry) < 1:
        raise ValueError(f"malformed manifest entry {entry!r}")
    if "tensor" in entry:
        return _decode_tensor(entry, archive)
    if "ndarray" in entry:
        key, scalar = entry["ndarray"], entry.get("scalar", False)
        if not isinstance(key, str) or type(scalar) is not bool:
            raise LoadError(f"an array entry names {key!r} with scalar {scalar!r}: malformed")
        dtype = _manifest_dtype(entry.get("dtype"), key)
        array = archive.array(key, _storage(dtype)).view(dtype)
        return array[()] if scalar else array
    if "value" in entry:
        value = entry["value"]
        if value is not None and type(value) not in (bool, int, float, str):
            raise ValueError(f"malformed value {value!r}")
        return value
    (kind, items), = entry.items()
    if not isinstance(items, list):
        raise ValueError(f"malformed {kind} entry")
    if kind in ("dict", "odict"):
        pairs = [(_decode(k, archive), _decode(v, archive)) for k, v in items]
        return OrderedDict(pairs) if kind == "odict" else dict(pairs)
    if kind == "list":
        return [_decode(v, archive) for v in items]
    if kind == "tuple":
        return tuple(_decode(v, archive) for v in items)
    raise ValueError(f"unknown manifest entry kind {kind!r}")


def _decode_tensor(entry: dict[str, Any], archive: _Archive) -> Tensor:
    key, dtype = entry["tensor"], _DTYPES.get(str(entry.get("dtype")))
    requires_grad, parameter = entry.get("requires_grad", False), entry.get("parameter", False)
    if not isinstance(key, str):
        raise LoadError(f"a tensor names entry {key!r}: entry names are strings")
    if dtype is None:
        raise LoadError(f"entry {key!r} has dtype {entry.get('dtype')!r}, not one of " + ", ".join(_DTYPES))
    if type(requires_grad) is not bool or type(parameter) is not bool:
        raise LoadError(f"entry {key!r} has requires_grad {requires_grad!r} and parameter {parameter!r}, "
                        "not true or false")
    if requires_grad and not dtype.is_floating_point:
        raise LoadError(f"entry {key!r} is a {dtype.name} tensor marked requires_grad: only Tensors of floating "
                        "point dtype can require gradients")
    out = from_host(archive.array(key, _storage(dtype.np)).view(dtype.np))
    if parameter:
        return Parameter(out, requires_grad=requires_grad)
    return out.requires_grad_(requires_grad)
