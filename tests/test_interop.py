"""DLPack exchange with numpy, jax and torch: values and dtypes arrive intact, and nobody shares a buffer."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import lazygrad as torch
from tests.helpers import HAS_TORCH

HAS_JAX = importlib.util.find_spec("jax") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="exchanges with torch")
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="exchanges with jax")
DTYPES = ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"]


def _sample(name: str) -> np.ndarray:
    return np.array([[0, 1, 2], [3, 4, 5]]).astype(getattr(torch, name).np) if name != "bool" else \
        np.array([[True, False, True], [False, False, True]])


@pytest.mark.parametrize("name", DTYPES)
def test_numpy_reads_a_tensor(name):
    t = torch.tensor(_sample(name))
    got = np.from_dlpack(t)
    assert got.dtype == _sample(name).dtype
    np.testing.assert_array_equal(got, _sample(name))


def test_an_export_is_a_copy_the_consumer_may_write():
    x = torch.tensor([1.0, 2.0, 3.0])
    y = x * 1  # shares nothing with x, but a pending result read through DLPack is computed first
    exported = np.from_dlpack(y)
    exported[0] = 100.0
    assert y.tolist() == [1.0, 2.0, 3.0] and x.tolist() == [1.0, 2.0, 3.0]
    assert np.from_dlpack(y)[0] == 1.0


@pytest.mark.parametrize("name", DTYPES)
def test_a_numpy_array_is_copied_in(name):
    source = _sample(name)
    t = torch.from_dlpack(source)
    assert t.dtype is getattr(torch, name)
    expected = source.tolist()
    source[...] = source[::-1, ::-1]  # the producer writes after the import: the tensor keeps its value
    assert t.tolist() == expected


def test_capsules_round_trip():
    t = torch.arange(6).reshape(2, 3)
    capsule = torch.utils.dlpack.to_dlpack(t)
    assert type(capsule).__name__ == "PyCapsule"
    assert torch.utils.dlpack.from_dlpack(capsule).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert torch.from_dlpack(t) is t


def test_the_protocol_methods():
    t = torch.ones(2)
    assert t.__dlpack_device__() == (1, 0)
    with pytest.raises(BufferError, match=r"Can't export tensors that require gradient, use tensor\.detach\(\)"):
        torch.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="only exported as a copy"):
        t.__dlpack__(copy=False)
    assert np.from_dlpack(torch.ones(2, requires_grad=True).detach()).tolist() == [1.0, 1.0]


@needs_torch
@pytest.mark.parametrize("name", [*DTYPES, "bfloat16"])
def test_torch_and_lazygrad_exchange_tensors(name):
    import torch as T

    if name == "bfloat16" and not HAS_JAX:
        pytest.skip("bfloat16 DLPack goes through jax")
    values = _sample(name).astype(np.float32) if name == "bfloat16" else _sample(name)
    ours = torch.tensor(values).to(getattr(torch, name))
    theirs = T.from_dlpack(ours)
    assert theirs.dtype == getattr(T, name) and theirs.tolist() == ours.tolist()
    theirs.zero_()  # torch may write into what it received: it is its own copy
    assert ours.tolist() == values.tolist()
    back = torch.from_dlpack(T.tensor(values).to(getattr(T, name)))
    assert back.dtype is getattr(torch, name) and back.tolist() == values.tolist()


@needs_jax
@pytest.mark.parametrize("name", ["float32", "int32", "bool", "bfloat16"])
def test_jax_and_lazygrad_exchange_arrays(name):
    import jax.numpy as jnp

    values = np.array([1, 0, 3]).astype(getattr(torch, name).np)
    ours = torch.tensor(values)
    assert np.asarray(jnp.from_dlpack(ours)).tolist() == values.tolist()
    back = torch.from_dlpack(jnp.asarray(values))
    assert back.dtype is getattr(torch, name) and back.tolist() == values.tolist()


def test_the_package_declares_its_type_hints():
    root = pathlib.Path(torch.__file__).parent
    assert (root / "py.typed").is_file()
    pyproject = (root.parent / "pyproject.toml").read_text()
    assert '[tool.setuptools.package-data]\nlazygrad = ["py.typed"]' in pyproject
