"""``lazygrad.save`` / ``lazygrad.load``: state dicts on disk in a format that cannot run code when read.

torch pickles, so loading a file from a stranger can execute anything. Here a file is a numpy ``.npz``
archive: every tensor is a plain array entry, read with ``allow_pickle=False``, and the structure around
them (nested dicts, lists, tuples, numbers, strings) is a JSON manifest stored as one more entry. Loading
only ever builds those types, so a malicious file can at worst be refused.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from . import dtypes
from .creation import tensor as _tensor
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


def load(f: File, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what :func:`save` wrote; a foreign, truncated or tampered file raises :class:`LoadError`.

    ``map_location`` and ``weights_only`` are accepted for torch compatibility: tensors always load on the
    current backend, and nothing but data can ever be loaded.
    """
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    try:
        source = f if isinstance(f, (str, os.PathLike)) else io.BytesIO(f.read())
        with np.load(source, allow_pickle=False) as archive:
            if _MANIFEST not in archive.files:
                raise LoadError(f"{name}: not a lazygrad save file (no manifest)")
            header = json.loads(archive[_MANIFEST].tobytes().decode())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise LoadError(f"{name}: not a lazygrad save file")
            if header.get("version") != VERSION:
                raise LoadError(f"{name}: saved by format version {header.get('version')}, this lazygrad reads "
                                f"version {VERSION}")
            return _decode(header.get("root"), archive)
    except LoadError:
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError, RecursionError, zipfile.BadZipFile) as error:
        raise LoadError(f"{name}: not a lazygrad save file, or it is damaged ({type(error).__name__}: {error})") \
            from None


# ---- the manifest: one tagged JSON object per Python value ----------------------------------------------


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        arrays[key] = np.ascontiguousarray(obj.detach().numpy())
        from .nn.parameter import Parameter

        return {"tensor": key, "dtype": obj.dtype.name, "requires_grad": obj.requires_grad,
                "parameter": isinstance(obj, Parameter)}
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


def _decode(entry: Any, archive: Any) -> Any:
    if not isinstance(entry, dict) or len(entry) < 1:
        raise ValueError(f"malformed manifest entry {entry!r}")
    if "tensor" in entry:
        return _decode_tensor(entry, archive)
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


def _decode_tensor(entry: dict[str, Any], archive: Any) -> Tensor:
    array = archive[entry["tensor"]]
    dtype = dtypes.to_dtype(entry["dtype"])
    if array.dtype != dtype.np:
        raise ValueError(f"entry {entry['tensor']} holds {array.dtype}, the manifest says {dtype.name}")
    out = _tensor(array, dtype=dtype)
    if entry.get("parameter"):
        from .nn.parameter import Parameter

        return Parameter(out, requires_grad=bool(entry.get("requires_grad")))
    return out.requires_grad_(bool(entry.get("requires_grad")))
