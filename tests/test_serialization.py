"""save/load: state dicts round-trip exactly, and nothing but data can come out of a file."""

from __future__ import annotations

import io
import json
import pickle
import struct
import tracemalloc
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


# ---- sizes: a file cannot make load allocate more than it declares, or more than max_bytes ----------------


def _npy_header(descr, shape, fortran_order=False):
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": fortran_order, "shape": shape})
    return out.getvalue()


def _archive(path, root, entries, compression=zipfile.ZIP_DEFLATED):
    """Write a save file by hand: ``entries`` maps entry names to raw ``.npy`` bytes, written last-to-first."""
    manifest = json.dumps({"format": "lazygrad", "version": 1, "root": root}).encode()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__lazygrad__.npy", _npy_header("|u1", (len(manifest),)) + manifest)
        for name, payload in entries.items():
            z.writestr(name + ".npy", payload, compress_type=compression)


def _forge_last_entry_size(path, size):
    """Overwrite the uncompressed size the zip directory records for the last entry written."""
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, raw.rindex(b"PK\x01\x02") + 24, size)
    path.write_bytes(bytes(raw))


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _load_refused(path, match, **kwargs):
    """Peak memory of a load that must raise LoadError matching ``match``."""
    def run():
        with pytest.raises(LoadError, match=match):
            torch.load(path, **kwargs)
    return _peak_bytes(run)


_T0 = {"tensor": "t0", "dtype": "float32", "requires_grad": False, "parameter": False}
_ZEROS = bytes(16 << 20)  # deflates to about 16 KB


@pytest.mark.parametrize("max_bytes", [None, 1 << 40])
def test_a_deflate_bomb_declaring_a_huge_shape_is_refused_without_allocating(tmp_path, max_bytes):
    path = tmp_path / "bomb.pt"
    _archive(path, _T0, {"t0": _npy_header("<f4", (1 << 29,)) + _ZEROS})  # 2 GiB declared, 16 MiB stored
    assert path.stat().st_size < 100_000
    assert _load_refused(path, "entry 't0'", max_bytes=max_bytes) < 50 << 20


@pytest.mark.parametrize("max_bytes", [None, 1 << 40])
def test_a_bomb_whose_directory_agrees_with_its_huge_shape_is_refused_without_allocating(tmp_path, max_bytes):
    path = tmp_path / "bomb.pt"
    header = _npy_header("<f4", (1 << 29,))
    _archive(path, _T0, {"t0": header + _ZEROS})
    _forge_last_entry_size(path, len(header) + (2 << 30))
    assert _load_refused(path, "entry 't0' declares .* more than its", max_bytes=max_bytes) < 50 << 20


def test_an_entry_that_decompresses_past_its_declared_size_stops_there(tmp_path):
    path = tmp_path / "bomb.pt"
    header = _npy_header("<f4", (256,))
    _archive(path, _T0, {"t0": header + _ZEROS})
    _forge_last_entry_size(path, len(header) + 1024)
    assert _load_refused(path, "Bad CRC-32") < 50 << 20


def test_an_entry_that_decompresses_short_of_its_declared_size_is_truncated(tmp_path):
    path = tmp_path / "short.pt"
    header = _npy_header("<f4", (512,))
    _archive(path, _T0, {"t0": header + np.arange(256, dtype=np.float32).tobytes()})
    _forge_last_entry_size(path, len(header) + 2048)
    _load_refused(path, "entry 't0' is truncated: 1024 of 2048 bytes", max_bytes=1 << 20)


def test_an_80_gb_declared_shape_is_refused(tmp_path):
    path = tmp_path / "huge.pt"
    _archive(path, _T0, {"t0": _npy_header("<f4", (20 * 10**9,)) + bytes(16)}, zipfile.ZIP_STORED)
    with pytest.raises(LoadError, match=r"entry 't0' declares shape \(20000000000,\) of float32 \(80000000000 "
                                        r"bytes\) but holds 16 bytes"):
        torch.load(path, max_bytes=1 << 40)


def test_an_array_named_many_times_is_read_once_then_refused(tmp_path):
    path = tmp_path / "ck.pt"
    torch.save({"w": torch.zeros(1 << 20)}, path)  # 4 MiB
    with zipfile.ZipFile(path) as z:
        array = z.read("t0.npy")
    _archive(path, {"list": [_T0] * 100}, {"t0": array}, zipfile.ZIP_STORED)
    assert _load_refused(path, "entry 't0' is named more than once") < 5 * (4 << 20)


def test_max_bytes_bounds_the_total_over_all_entries(tmp_path):
    path = tmp_path / "ck.pt"
    torch.save([torch.ones(256), torch.ones(256)], path)  # two 1 KiB arrays
    with pytest.raises(LoadError, match=r"entry 't1' brings the bytes to load to .* over max_bytes=2000"):
        torch.load(path, max_bytes=2000)
    assert [t.sum().item() for t in torch.load(path, max_bytes=3000)] == [256.0, 256.0]


def test_a_file_object_loads_within_its_own_size(tmp_path):
    buffer = io.BytesIO()
    torch.save({"w": torch.arange(6.0)}, buffer)
    buffer.seek(0)
    assert torch.load(buffer)["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_an_integer_tensor_marked_requires_grad_is_refused(tmp_path):
    path = tmp_path / "ck.pt"
    _archive(path, {**_T0, "dtype": "int64", "requires_grad": True}, {"t0": _npy_header("<i8", (2,)) + bytes(16)})
    with pytest.raises(LoadError, match="entry 't0' is a int64 tensor marked requires_grad: only Tensors of "
                                        "floating point dtype can require gradients"):
        torch.load(path)


@pytest.mark.parametrize(("root", "payload", "match"), [
    ({**_T0, "dtype": "complex64"}, _npy_header("<f4", (2,)) + bytes(8), "entry 't0' has dtype 'complex64'"),
    ({**_T0, "requires_grad": "yes"}, _npy_header("<f4", (2,)) + bytes(8), "entry 't0' has requires_grad 'yes'"),
    ({**_T0, "tensor": ["t0"]}, b"", r"names entry \['t0'\]"),
    ({**_T0, "tensor": "__lazygrad__"}, b"", "entry '__lazygrad__' is named more than once"),
    ({**_T0, "tensor": "t1"}, b"", "entry 't1' is missing"),
    (_T0, _npy_header(">f4", (2,)) + bytes(8), "entry 't0' holds >f4, the manifest says float32"),
    (_T0, _npy_header("<f4", (-2,)), r"entry 't0' declares a negative shape \(-2,\)"),
    (_T0, _npy_header("<f4", (2, 2), fortran_order=True) + bytes(16), "entry 't0' declares a Fortran-ordered"),
    (_T0, _npy_header("<f4", (2,)) + bytes(12), r"entry 't0' declares shape \(2,\) .* but holds 12 bytes"),
    ({**_T0, "dtype": "bool"}, _npy_header("|b1", (2,)) + b"\x01\x02", "entry 't0' holds bool bytes other than"),
])
def test_every_bad_entry_is_refused_by_name(tmp_path, root, payload, match):
    path = tmp_path / "ck.pt"
    _archive(path, root, {"t0": payload})
    with pytest.raises(LoadError, match=match):
        torch.load(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compressions_that_zipfile_cannot_bound_are_refused(tmp_path, compression):
    path = tmp_path / "ck.pt"
    _archive(path, _T0, {"t0": _npy_header("<f4", (2,)) + bytes(8)}, compression)
    with pytest.raises(LoadError, match="entry 't0' is encrypted or uses an unsupported compression"):
        torch.load(path, max_bytes=1 << 30)


def test_a_manifest_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "ck.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__lazygrad__.npy", _npy_header("|u1", (9,)) + b"{not json")
    with pytest.raises(LoadError, match="not a lazygrad save file, or it is damaged"):
        torch.load(path)


# ---- numpy arrays, 16-bit floats and training checkpoints ----------------------------------------------------


@pytest.mark.parametrize("array", [
    np.arange(6, dtype=np.int16).reshape(2, 3), np.array([1.5, -2.0], np.float16), np.array([[True], [False]]),
    np.array([1 + 2j, 3.5j], np.complex64), np.arange(3, dtype=">f4"), np.asarray(7, np.uint32),
    np.array([1.5, -2.25], torch.bfloat16.np), np.zeros((0, 2)),
], ids=["int16", "float16", "bool", "complex64", "big_endian", "zero_dim", "bfloat16", "empty"])
def test_numpy_arrays_round_trip_bit_for_bit(tmp_path, array):
    got = _roundtrip({"a": array}, tmp_path)["a"]
    assert type(got) is np.ndarray and got.dtype == array.dtype and got.shape == array.shape
    assert got.tobytes() == array.tobytes()


def test_numpy_scalars_stay_numpy_scalars(tmp_path):
    got = _roundtrip({"best": np.float64(0.875), "seen": np.int64(12)}, tmp_path)
    assert type(got["best"]) is np.float64 and got["best"] == 0.875
    assert type(got["seen"]) is np.int64 and got["seen"] == 12


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_16_bit_tensors_round_trip_bit_for_bit(tmp_path, name):
    t = torch.tensor([0.1, -65504.0, 1e-7, float("inf")], dtype=getattr(torch, name))
    got = _roundtrip(t, tmp_path)
    assert got.dtype is t.dtype
    np.testing.assert_array_equal(got.numpy().view(np.uint16), t.numpy().view(np.uint16))


def test_a_zero_dim_tensor_keeps_its_shape(tmp_path):
    assert _roundtrip(torch.tensor(2.5), tmp_path).shape == ()


def test_arrays_of_objects_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="cannot store a ndarray"):
        torch.save({"a": np.array([object()])}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="cannot store a ndarray"):
        torch.save(np.array(["text"]), tmp_path / "x.pt")


@pytest.mark.parametrize(("dtype", "header"), [("|O", "|O"), ("<V2", "<V2"), ("float32", "<f4"), ("<U3", "<U3"),
                                               ("<f8", "<f4"), (["<f4"], "<f4")])
def test_an_array_entry_naming_anything_but_numbers_is_refused(tmp_path, dtype, header):
    path = tmp_path / "ck.pt"
    _archive(path, {"ndarray": "t0", "dtype": dtype, "scalar": False}, {"t0": _npy_header(header, (2,)) + bytes(8)})
    with pytest.raises(LoadError, match="entry 't0'"):
        torch.load(path)


def test_an_optimizer_state_dict_round_trips(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    state = opt.state_dict()
    got = _roundtrip(state, tmp_path)
    assert got["param_groups"] == state["param_groups"]  # ints, floats, bools, the betas tuple
    assert got["state"].keys() == state["state"].keys() and got["state"][0]["step"] == state["state"][0]["step"]
    for key in ("exp_avg", "exp_avg_sq"):
        assert torch.equal(got["state"][1][key], state["state"][1][key])


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
    lambda params: torch.optim.Adam(params, lr=0.01),
], ids=["sgd_momentum", "adam"])
def test_training_resumed_from_a_checkpoint_repeats_the_uninterrupted_losses(tmp_path, make_optimizer, backend):
    x, y = torch.randn(16, 4, generator=torch.Generator().manual_seed(1)), torch.randn(16, 2)

    def fresh():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        return model, make_optimizer(model.parameters())

    def train(model, opt, steps):
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    model, opt = fresh()
    uninterrupted = train(model, opt, 6)

    model, opt = fresh()
    first = train(model, opt, 3)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "ck.pt")
    del model, opt
    checkpoint = torch.load(tmp_path / "ck.pt", weights_only=True)
    model, opt = fresh()
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])
    assert checkpoint["epoch"] == 3
    resumed = first + train(model, opt, 3)
    if backend == "numpy":
        assert resumed == uninterrupted
    else:  # XLA fuses the resumed run's programs its own way, which may move a rounding by one float32 ulp
        assert resumed == pytest.approx(uninterrupted, rel=1e-6)


@pytest.mark.parametrize("weights_only", [True, False])
def test_weights_only_is_accepted_either_way(tmp_path, weights_only):
    torch.save({"w": torch.ones(2)}, tmp_path / "ck.pt")
    assert torch.load(tmp_path / "ck.pt", weights_only=weights_only)["w"].tolist() == [1.0, 1.0]
