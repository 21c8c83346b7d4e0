"""strided.io: safetensors + JSON files, atomic writes, clear errors on damaged files."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from strided import io
from strided.io import CheckpointError, atomic_open


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "w": rng.normal(size=(3, 4)).astype(np.float32),
        "b64": rng.normal(size=5),
        "half": np.arange(6, dtype=np.float16).reshape(2, 3),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), np.float32),
        "mask": np.array([True, False, True]),
        "pixels": np.arange(10, dtype=np.uint8),
        "idx": np.array([-1, 7], dtype=np.int64),
        "noncontig": np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],
    }


def test_save_load_round_trip_keeps_dtype_shape_values(tmp_path):
    arrays = _arrays()
    meta = {"epoch": 3, "name": "lenet5", "lrs": [0.1, 0.01], "nested": {"a": None}}
    path = io.save(tmp_path / "f.safetensors", arrays, meta)
    assert path.exists()
    back, meta_back = io.load(path)
    assert meta_back == meta
    assert set(back) == set(arrays)
    for k, a in arrays.items():
        assert back[k].dtype == a.dtype, k
        assert back[k].shape == a.shape, k
        np.testing.assert_array_equal(back[k], a)


def test_file_is_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file

    io.save(tmp_path / "f.safetensors", {"x": np.ones(3, np.float32)}, {"k": 1})
    np.testing.assert_array_equal(load_file(tmp_path / "f.safetensors")["x"], np.ones(3))


def test_save_state_preserves_structure(tmp_path):
    tree = {
        "state": {
            0: {"exp_avg": np.ones((2, 2), np.float32), "step": np.int64(4)},
            1: {"exp_avg": np.zeros(3, np.float32), "step": 4},
        },
        "groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1]}],
        "inf": math.inf,
        "nan": float("nan"),
        "none": None,
        "flag": True,
        "f32": np.float32(0.1),
        "text": "x",
        "rng": np.random.default_rng(1).bit_generator.state,
        "legacy": np.random.RandomState(0).get_state(legacy=False),
    }
    io.save_state(tmp_path / "s.safetensors", tree)
    back = io.load_state(tmp_path / "s.safetensors")
    assert set(back["state"]) == {0, 1}  # integer keys stay integers
    assert back["groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert type(back["state"][0]["step"]) is np.int64 and back["state"][0]["step"] == 4
    assert type(back["f32"]) is np.float32 and back["f32"] == np.float32(0.1)
    np.testing.assert_array_equal(back["state"][0]["exp_avg"], tree["state"][0]["exp_avg"])
    assert back["inf"] == math.inf and math.isnan(back["nan"])
    assert back["none"] is None and back["flag"] is True and back["text"] == "x"
    # a generator state survives exactly: the restored stream continues identically
    g = np.random.default_rng()
    g.bit_generator.state = back["rng"]
    assert g.random() == np.random.default_rng(1).random()
    # the legacy global generator is what this round trip is about
    np.random.set_state(back["legacy"])  # noqa: NPY002
    assert np.random.rand() == np.random.RandomState(0).rand()  # noqa: NPY002


def test_save_state_rejects_objects_with_their_path(tmp_path):
    with pytest.raises(TypeError, match=r"a\.b"):
        io.save_state(tmp_path / "s.safetensors", {"a": {"b": object()}})
    assert not list(tmp_path.iterdir())


def test_save_model_load_model_round_trip(tmp_path):
    import strided
    from strided.nn import BatchNorm1d, Linear, Sequential

    strided.manual_seed(0)
    m = Sequential(Linear(4, 3), BatchNorm1d(3))
    m[1].running_mean.data[:] = [1.0, 2.0, 3.0]
    io.save_model(tmp_path / "m.safetensors", m, {"note": "hi"})
    strided.manual_seed(1)
    m2 = Sequential(Linear(4, 3), BatchNorm1d(3))
    meta = io.load_model(tmp_path / "m.safetensors", m2)
    assert meta == {"note": "hi"}
    for (k, a), (k2, b) in zip(m.state_dict().items(), m2.state_dict().items(), strict=True):
        assert k == k2
        np.testing.assert_array_equal(a, b)


def test_load_model_wrong_architecture_names_file(tmp_path):
    from strided.nn import Linear

    io.save_model(tmp_path / "m.safetensors", Linear(4, 3))
    with pytest.raises(ValueError, match=r"m\.safetensors.*Linear"):
        io.load_model(tmp_path / "m.safetensors", Linear(5, 3))


@pytest.mark.parametrize("keep", [0, 5, 8, 20, -40, -1])
def test_truncated_file_is_a_clear_error(tmp_path, keep):
    path = tmp_path / "ckpt.safetensors"
    io.save(path, _arrays(), {"epoch": 1})
    raw = path.read_bytes()
    path.write_bytes(raw[:keep] if keep >= 0 else raw[: len(raw) + keep])
    with pytest.raises(CheckpointError, match="ckpt.safetensors") as info:
        io.load(path)
    assert isinstance(info.value, ValueError)
    assert "truncated" in str(info.value) or "corrupted" in str(info.value)


def test_flipped_bit_in_tensor_data_is_detected(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    io.save(path, {"w": np.zeros(1000, np.float32)}, {})
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"ckpt\.safetensors is corrupted"):
        io.load(path)


def test_corrupted_header_and_metadata(tmp_path):
    path = tmp_path / "c.safetensors"
    io.save(path, {"w": np.ones(4, np.float32)}, {"a": 1})
    raw = bytearray(path.read_bytes())
    raw[10] = ord("#")  # inside the JSON header
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="c.safetensors"):
        io.load(path)
    path.write_bytes(b"not a checkpoint at all, just text")
    with pytest.raises(CheckpointError, match="c.safetensors"):
        io.load(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones(2, np.float32)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not one written by strided"):
        io.load(tmp_path / "plain.safetensors")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        io.load(tmp_path / "nothere.safetensors")


def test_write_is_atomic_old_file_survives_a_failed_write(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    io.save(path, {"w": np.ones(3, np.float32)}, {"v": 1})
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        io.save(path, {"w": np.zeros(3, np.float32)}, {"v": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]  # no temp left
    assert io.load(path)[1] == {"v": 1}


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="names must be strings"):
        io.save(tmp_path / "a.safetensors", {1: np.ones(2)})
    with pytest.raises(TypeError, match="JSON"):
        io.save(tmp_path / "a.safetensors", {}, {"x": object()})
    with pytest.raises(TypeError, match="dtype"):
        io.save(tmp_path / "a.safetensors", {"s": np.array(["a", "b"])})


def test_atomic_open_keeps_old_file_on_error(tmp_path):
    (tmp_path / "f").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / "f") as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert (tmp_path / "f").read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]
    with atomic_open(tmp_path / "f") as f:
        f.write(b"new")
    assert (tmp_path / "f").read_bytes() == b"new" and os.listdir(tmp_path) == ["f"]


def test_downloads_and_model_files_share_the_fsyncing_writer(tmp_path, monkeypatch):
    from strided.data import download as dl
    from strided.io import atomic as A

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    dl.download_url(src.as_uri(), tmp_path / "dest.bin")
    assert (tmp_path / "dest.bin").read_bytes() == b"payload"
    assert len(synced) >= 1  # the file (and, where possible, its folder)
    assert dl.atomic_open is A.atomic_open and io.atomic_write_bytes is A.atomic_write_bytes
