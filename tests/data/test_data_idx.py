"""IDX files and the MNIST-family data sets built on them."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from strided.data import KMNIST, MNIST, FashionMNIST, read_idx, write_idx
from strided.data import download as dl

FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_mnist(folder, n_train=7, n_test=3, gz=True, h=28, w=28, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    ext = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(Path(folder) / f"{prefix}-images-idx3-ubyte{ext}", images)
        write_idx(Path(folder) / f"{prefix}-labels-idx1-ubyte{ext}", labels)
        out[prefix] = (images, labels)
    return out


def test_magic_numbers_and_layout(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "img", images)
    raw = (tmp_path / "img").read_bytes()
    assert raw[:4] == bytes.fromhex("00000803")
    assert raw[4:16] == bytes.fromhex("00000002 00000003 00000004")
    assert raw[16:] == images.tobytes()
    write_idx(tmp_path / "lab", np.array([7, 1, 3], dtype=np.uint8))
    raw = (tmp_path / "lab").read_bytes()
    assert raw[:8] == bytes.fromhex("00000801 00000003")
    assert raw[8:] == bytes([7, 1, 3])


def test_read_hand_written_big_endian_file(tmp_path):
    # int32 (type 0x0C) 2x2, big-endian on disk, written by hand rather than by write_idx.
    payload = (
        bytes.fromhex("00000C02 00000002 00000002") + np.array([1, -2, 300, 70000], ">i4").tobytes()
    )
    (tmp_path / "x").write_bytes(payload)
    arr = read_idx(tmp_path / "x")
    assert arr.dtype == np.int32 and arr.dtype.isnative
    np.testing.assert_array_equal(arr, [[1, -2], [300, 70000]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    arr = (np.random.default_rng(1).standard_normal((3, 5, 2)) * 50).astype(dtype)
    write_idx(tmp_path / name, arr)
    assert ((tmp_path / name).read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = read_idx(tmp_path / name)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    back[0, 0, 0] = 1  # writable


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8)
    write_idx(tmp_path / "plain-name", arr, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), arr)
    with open(tmp_path / "plain-name", "rb") as f:  # a file object works too
        np.testing.assert_array_equal(read_idx(f), arr)


def test_truncated_and_overlong_files_are_refused(tmp_path):
    write_idx(tmp_path / "x", np.zeros((4, 3, 3), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match=r"declares shape \(4, 3, 3\).*35 bytes"):
        read_idx(tmp_path / "short")
    (tmp_path / "long").write_bytes(gzip.compress(raw + b"\0"))
    with pytest.raises(ValueError, match="37 bytes"):
        read_idx(tmp_path / "long")


@pytest.mark.parametrize("header", ["01000801", "00000701", "000008"])
def test_bad_magic_is_refused(tmp_path, header):
    (tmp_path / "x").write_bytes(bytes.fromhex(header))
    with pytest.raises(ValueError, match="read_idx"):
        read_idx(tmp_path / "x")


def test_write_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="write_idx: dtype uint16"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_root(isolated, gz):
    written = write_mnist(isolated / "r", gz=gz)
    train = MNIST(root=isolated / "r")
    test = MNIST(root=isolated / "r", train=False)
    assert len(train) == 7 and len(test) == 3
    np.testing.assert_array_equal(train.data, written["train"][0])
    np.testing.assert_array_equal(test.targets, written["t10k"][1])
    assert train.images.shape == (7, 1, 28, 28) and train.images.dtype == np.uint8
    assert train.targets.dtype == np.int64
    assert train.classes == [str(i) for i in range(10)]
    x, y = train[2]
    assert x.shape == (1, 28, 28) and y == written["train"][1][2]
    xb, yb = train[np.array([4, 0])]
    np.testing.assert_array_equal(xb[:, 0], written["train"][0][[4, 0]])
    np.testing.assert_array_equal(yb, written["train"][1][[4, 0]])


def test_search_order_root_then_env_then_cache_then_system(isolated, monkeypatch):
    write_mnist(isolated / "system" / "kmnist", n_train=2, seed=1)
    assert len(KMNIST()) == 2
    write_mnist(isolated / "cache" / "strided" / "kmnist", n_train=3, seed=2)
    assert len(KMNIST()) == 3
    write_mnist(isolated / "env" / "kmnist", n_train=4, seed=3)
    monkeypatch.setenv("STRIDED_DATA", str(isolated / "env"))
    assert len(KMNIST()) == 4
    write_mnist(isolated / "root" / "kmnist", n_train=5, seed=4)
    ds = KMNIST(root=isolated / "root")
    assert len(ds) == 5 and ds.source == isolated / "root" / "kmnist"
    assert ds.classes[:3] == ["o", "ki", "su"]


def test_shared_root_keeps_data_sets_apart(isolated):
    # MNIST and Fashion-MNIST share file names: each must read its own subfolder.
    mnist = write_mnist(isolated / "r" / "mnist", n_train=2, seed=1)
    fashion = write_mnist(isolated / "r" / "fashion-mnist", n_train=3, seed=2)
    np.testing.assert_array_equal(MNIST(root=isolated / "r").data, mnist["train"][0])
    np.testing.assert_array_equal(FashionMNIST(root=isolated / "r").data, fashion["train"][0])


def test_torchvision_layout_is_reused(isolated):
    written = write_mnist(isolated / "r" / "FashionMNIST" / "raw", gz=False)
    ds = FashionMNIST(root=isolated / "r", train=False)
    np.testing.assert_array_equal(ds.targets, written["t10k"][1])
    assert ds.source == isolated / "r" / "FashionMNIST" / "raw"


def test_not_found_names_places_and_remedies(isolated, monkeypatch):
    monkeypatch.setenv("STRIDED_DATA", str(isolated / "env"))
    with pytest.raises(FileNotFoundError) as err:
        FashionMNIST(root=isolated / "nowhere")
    msg = str(err.value)
    assert msg.startswith("FashionMNIST:")
    for place in [
        isolated / "nowhere",
        isolated / "nowhere" / "FashionMNIST" / "raw",
        isolated / "env" / "fashion-mnist",
        isolated / "cache" / "strided" / "fashion-mnist",
        isolated / "system" / "fashion-mnist",
    ]:
        assert str(place) in msg
    assert (
        "apt-get install dataset-fashion-mnist" in msg
        and "download=True" in msg
        and "STRIDED_DATA" in msg
    )


def test_incomplete_folder_is_skipped(isolated):
    # Only the training images in root: the complete set in the cache must win.
    write_mnist(isolated / "cache" / "strided" / "mnist", n_train=6)
    (isolated / "r").mkdir()
    write_idx(isolated / "r" / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    assert len(MNIST(root=isolated / "r")) == 6


def test_mismatched_counts_and_bad_labels(isolated):
    write_mnist(isolated / "r")
    write_idx(isolated / "r" / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"MNIST: 7 images .* labels of shape \(5,\)"):
        MNIST(root=isolated / "r")
    write_idx(isolated / "r" / "train-labels-idx1-ubyte.gz", np.full(7, 12, np.uint8))
    with pytest.raises(ValueError, match=r"labels .* range over \[12, 12\]"):
        MNIST(root=isolated / "r")


def test_download_from_file_mirror(isolated, monkeypatch):
    mirror = isolated / "mirror"
    written = write_mnist(mirror)
    resources = {
        key: (fname, dl.file_hash(mirror / fname, "md5"))
        for key, (fname, _) in MNIST.resources.items()
    }
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "mirrors", ["file:///nonexistent-mirror/", mirror.as_uri() + "/"])
    with pytest.raises(FileNotFoundError):
        MNIST(root=isolated / "r")  # download=False never fetches
    ds = MNIST(root=isolated / "r", download=True)
    np.testing.assert_array_equal(ds.data, written["train"][0])
    assert sorted(p.name for p in (isolated / "r" / "mnist").iterdir()) == sorted(
        f for f, _ in resources.values()
    )


def test_download_with_wrong_checksum_keeps_nothing(isolated, monkeypatch):
    mirror = isolated / "mirror"
    write_mnist(mirror)
    monkeypatch.setattr(MNIST, "mirrors", [mirror.as_uri() + "/"])  # real md5s: none match
    with pytest.raises(OSError, match="checksum mismatch"):
        MNIST(download=True)
    cache = isolated / "cache" / "strided" / "mnist"
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.skipif(
    not (FASHION / "train-labels-idx1-ubyte.gz").exists()
    and not (FASHION / "train-labels-idx1-ubyte").exists(),
    reason="Debian dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.delenv("STRIDED_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    train, test = FashionMNIST(), FashionMNIST(train=False)
    assert train.source == FASHION
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    # Balanced: 6000 / 1000 of each class.
    np.testing.assert_array_equal(np.bincount(train.targets), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.targets), [1000] * 10)
    assert train.data.max() == 255 and train.data.min() == 0
    assert train.classes[9] == "Ankle boot"
    assert abs(float(train.data.mean()) / 255 - 0.286) < 0.001  # the published mean
