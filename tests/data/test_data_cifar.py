"""CIFAR batch files: real format, restricted unpickling, the CIFAR10/CIFAR100 data sets."""

import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from strided.data import CIFAR10, CIFAR100, load_cifar_batch, safe_unpickle
from strided.data import download as dl


def dump(path, obj, protocol=2):
    # Protocol 2 is what the official (Python 2 cPickle) files use.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def write_cifar10(folder, per_batch=4, seed=0, protocol=2):
    rng = np.random.default_rng(seed)
    base = folder / "cifar-10-batches-py"
    datas, labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        lab = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        dump(
            base / name,
            {
                b"batch_label": name.encode(),
                b"labels": lab,
                b"data": data,
                b"filenames": [b"img%d.png" % i for i in range(per_batch)],
            },
            protocol,
        )
        datas.append(data)
        labels.append(lab)
    names = [
        b"airplane",
        b"automobile",
        b"bird",
        b"cat",
        b"deer",
        b"dog",
        b"frog",
        b"horse",
        b"ship",
        b"truck",
    ]
    dump(
        base / "batches.meta",
        {b"num_cases_per_batch": per_batch, b"label_names": names, b"num_vis": 3072},
        protocol,
    )
    return datas, labels


def write_cifar100(folder, n=6, seed=0):
    rng = np.random.default_rng(seed)
    base = folder / "cifar-100-python"
    out = {}
    for name in ("train", "test"):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        fine = [int(v) for v in rng.integers(0, 100, size=n)]
        coarse = [f // 5 for f in fine]
        dump(
            base / name,
            {
                b"filenames": [b"x"] * n,
                b"batch_label": b"b",
                b"fine_labels": fine,
                b"coarse_labels": coarse,
                b"data": data,
            },
        )
        out[name] = (data, fine, coarse)
    dump(
        base / "meta",
        {
            b"fine_label_names": [b"c%d" % i for i in range(100)],
            b"coarse_label_names": [b"s%d" % i for i in range(20)],
        },
    )
    return out


class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = pickle.dumps({b"data": Evil(), b"labels": [1]}, protocol=2)
    with pytest.raises(
        pickle.UnpicklingError, match=r"global (posix|nt|os)\.system is not allowed"
    ):
        safe_unpickle(payload)
    (tmp_path / "data_batch_1").write_bytes(payload)
    with pytest.raises(ValueError, match=r"data_batch_1 was refused: .*(posix|nt|os)\.system"):
        load_cifar_batch(tmp_path / "data_batch_1")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("obj", [eval, print, io.BytesIO, np.ma.MaskedArray, np.recarray])
def test_other_globals_are_refused(obj):
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        safe_unpickle(pickle.dumps(obj, protocol=2))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_object_arrays_are_refused(protocol):
    with pytest.raises(pickle.UnpicklingError):
        safe_unpickle(pickle.dumps(np.array([1, "a"], dtype=object), protocol=protocol))


@pytest.mark.parametrize("protocol", [0, 2, 3, 4, 5])
def test_plain_arrays_and_containers_load(protocol):
    obj = {
        b"data": np.arange(12, dtype=np.uint8).reshape(3, 4),
        "x": [1, 2.5, (b"a", None)],
        "f": np.asfortranarray(np.ones((2, 3), np.float32)),
    }
    back = safe_unpickle(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(back[b"data"], obj[b"data"])
    assert back[b"data"].dtype == np.uint8 and back["x"] == [1, 2.5, (b"a", None)]
    np.testing.assert_array_equal(back["f"], obj["f"])


def test_python2_style_strings_come_back_as_bytes():
    # An old-style SHORT_BINSTRING, as Python 2's cPickle wrote str in the official files.
    payload = b"\x80\x02}q\x00U\x06labelsq\x01]q\x02(K\x01K\x02es."
    assert safe_unpickle(payload) == {b"labels": [1, 2]}


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar10_layout(isolated, protocol):
    datas, labels = write_cifar10(isolated / "r", protocol=protocol)
    train = CIFAR10(root=isolated / "r")
    test = CIFAR10(root=isolated / "r", train=False)
    assert len(train) == 20 and len(test) == 4
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == np.uint8
    assert train.data.shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(train.targets, np.concatenate(labels[:5]))
    assert train.targets.dtype == np.int64
    assert train.classes[0] == "airplane" and train.classes[9] == "truck"
    # Row layout: 1024 red (rows top to bottom), 1024 green, 1024 blue.
    row = datas[1][2]  # third image of the second batch = sample 6
    assert train.data[6, 0, 0, 0] == row[0] and train.data[6, 0, 1, 0] == row[1]
    assert train.data[6, 1, 0, 0] == row[32] and train.data[6, 0, 0, 1] == row[1024]
    assert train.data[6, 31, 31, 2] == row[3071]
    np.testing.assert_array_equal(test.images.reshape(4, -1), datas[5])
    x, y = test[3]
    assert x.shape == (3, 32, 32) and y == labels[5][3]


def test_cifar100_fine_and_coarse(isolated):
    written = write_cifar100(isolated / "r")
    fine = CIFAR100(root=isolated / "r")
    coarse = CIFAR100(root=isolated / "r", train=False, label_mode="coarse")
    np.testing.assert_array_equal(fine.targets, written["train"][1])
    np.testing.assert_array_equal(coarse.targets, written["test"][2])
    assert len(fine.classes) == 100 and coarse.classes[:2] == ["s0", "s1"]
    np.testing.assert_array_equal(fine.images.reshape(6, -1), written["train"][0])
    with pytest.raises(ValueError, match="CIFAR100: label_mode"):
        CIFAR100(root=isolated / "r", label_mode="medium")


def test_bad_batch_contents(isolated):
    base = isolated / "r" / "cifar-10-batches-py"
    write_cifar10(isolated / "r")
    dump(base / "test_batch", {b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]})
    with pytest.raises(ValueError, match="2 images but 1 'labels'"):
        CIFAR10(root=isolated / "r", train=False)
    dump(base / "test_batch", {b"data": np.zeros((2, 1024), np.uint8), b"labels": [1, 2]})
    with pytest.raises(ValueError, match=r"\(N, 3072\) uint8, got \(2, 1024\)"):
        CIFAR10(root=isolated / "r", train=False)
    dump(base / "test_batch", {b"labels": [1, 2]})
    with pytest.raises(ValueError, match="no 'data' entry"):
        CIFAR10(root=isolated / "r", train=False)


def test_cifar_not_found_message(isolated):
    with pytest.raises(FileNotFoundError, match=r"CIFAR10: data set 'cifar-10' not found") as err:
        CIFAR10(root=isolated / "r")
    assert str(isolated / "r" / "cifar-10") in str(err.value)


def test_cifar_download_checks_md5_and_extracts(isolated, monkeypatch):
    src = isolated / "src"
    datas, _ = write_cifar10(src)
    archive = isolated / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(CIFAR10, "url", archive.as_uri())
    monkeypatch.setattr(CIFAR10, "md5", "0" * 32)
    with pytest.raises(ValueError, match="md5 checksum mismatch"):
        CIFAR10(download=True)
    assert [p for p in (isolated / "cache").rglob("*") if not p.is_dir()] == []
    monkeypatch.setattr(CIFAR10, "md5", dl.file_hash(archive, "md5"))
    ds = CIFAR10(download=True, train=False)
    assert ds.source == isolated / "cache" / "strided" / "cifar-10" / "cifar-10-batches-py"
    np.testing.assert_array_equal(ds.images.reshape(4, -1), datas[5])
