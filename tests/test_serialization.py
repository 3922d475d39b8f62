"""save/load: state dicts round-trip exactly, and nothing but data can come out of a file."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazygrad as torch
from lazygrad.serialization import LoadError

pytestmark = pytest.mark.backend_agnostic  # files hold host arrays, whichever backend made them


def _roundtrip(obj, tmp_path):
    path = tmp_path / "state.pt"
    torch.save(obj, path)
    return torch.load(path)


@given(array=hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.bool_]),
                        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
def test_tensors_of_every_dtype_and_shape_round_trip_bit_for_bit(array):
    buffer = io.BytesIO()
    torch.save({"t": torch.tensor(array)}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)["t"]
    assert loaded.dtype is torch.tensor(array).dtype
    np.testing.assert_array_equal(loaded.numpy(), array)


def test_nested_structures_keep_their_types(tmp_path):
    obj = {"a": [1, 2.5, "x", None, True], "b": (torch.ones(2), {3: "int key"}), "c": OrderedDict(z=1, y=2)}
    got = _roundtrip(obj, tmp_path)
    assert got["a"] == [1, 2.5, "x", None, True]
    assert isinstance(got["b"], tuple) and got["b"][1] == {3: "int key"}
    assert isinstance(got["c"], OrderedDict) and list(got["c"]) == ["z", "y"]
    assert got["b"][0].tolist() == [1.0, 1.0]


def test_a_model_and_its_optimizer_resume_exactly(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.randn(16, 4), torch.randn(16, 2)

    def step(m, o):
        o.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        o.step()
        return loss.item()

    for _ in range(3):
        step(model, opt)
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ck.pt")
    expected = [step(model, opt) for _ in range(3)]

    state = torch.load(tmp_path / "ck.pt")
    clone = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    clone.load_state_dict(state["model"])
    clone_opt = torch.optim.Adam(clone.parameters(), lr=0.01)
    clone_opt.load_state_dict(state["opt"])
    assert [step(clone, clone_opt) for _ in range(3)] == pytest.approx(expected, rel=1e-6)


def test_parameters_and_requires_grad_survive(tmp_path):
    param = torch.nn.Parameter(torch.ones(3))
    got = _roundtrip([param, torch.zeros(2, requires_grad=True), torch.zeros(1)], tmp_path)
    assert isinstance(got[0], torch.nn.Parameter) and got[0].requires_grad
    assert got[1].requires_grad and got[1].is_leaf
    assert not got[2].requires_grad


def test_objects_that_are_not_data_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="cannot store a function"):
        torch.save({"f": lambda: 0}, tmp_path / "x.pt")


def test_a_pickle_file_is_refused_without_being_run(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle code ran')",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(LoadError, match="not a lazygrad save file"):
        torch.load(path)


def test_an_npz_holding_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        np.savez(f, __lazygrad__=np.frombuffer(b"{}", np.uint8), t0=np.array([object()], dtype=object))
    with pytest.raises(LoadError):
        torch.load(path)


@pytest.mark.parametrize("cut", [0, 10, 100, -10])
def test_a_truncated_file_is_refused(tmp_path, cut):
    path = tmp_path / "ck.pt"
    torch.save({"w": torch.ones(64)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(LoadError):
        torch.load(path)


@pytest.mark.parametrize("root", [{"tensor": "t9", "dtype": "float32"}, {"eval": "print(1)"}, {"value": [1]},
                                  {"tensor": "t0", "dtype": "int64"}, "not a dict"])
def test_a_tampered_manifest_is_refused(tmp_path, root):
    path = tmp_path / "ck.pt"
    manifest = json.dumps({"format": "lazygrad", "version": 1, "root": root}).encode()
    with open(path, "wb") as f:
        np.savez(f, __lazygrad__=np.frombuffer(manifest, np.uint8), t0=np.ones(2, np.float32))
    with pytest.raises(LoadError):
        torch.load(path)


def test_a_foreign_zip_or_npz_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(LoadError, match="no manifest"):
        torch.load(path)
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(LoadError):
        torch.load(tmp_path / "z.zip")
