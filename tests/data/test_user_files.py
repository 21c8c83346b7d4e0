"""Reading a user's files: ImageFolder, .npy arrays and pictures, and the clear one-line
errors for files that are damaged, empty, malicious or built to exhaust memory."""

from __future__ import annotations

import gzip
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from strided.data import ImageFolder, load_cifar_batch, read_idx, read_image, read_npy, write_idx

Image = pytest.importorskip("PIL.Image")


def _png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def make_folder(root: Path, per_class: int = 5, size=(6, 8), rgb=True, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for c, name in enumerate(["zebra", "ant", "cat"]):
        for i in range(per_class):
            shape = size + ((3,) if rgb else ())
            a = np.clip(rng.normal(60 * c + 40, 20, shape), 0, 255).astype(np.uint8)
            ext = ".png" if i % 2 == 0 else ".jpg"
            _png(root / name / f"{i}{ext}", a)
    (root / "empty").mkdir()  # a folder without images is not a class
    (root / "ant" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_reads_classes_sorted_and_images_nchw(tmp_path):
    ds = ImageFolder(make_folder(tmp_path / "pets"))
    assert ds.classes == ["ant", "cat", "zebra"]
    assert ds.class_to_idx == {"ant": 0, "cat": 1, "zebra": 2}
    assert ds.images.shape == (15, 3, 6, 8) and ds.images.dtype == np.uint8
    assert np.bincount(ds.targets).tolist() == [5, 5, 5]
    x, y = ds[0]
    assert x.shape == (3, 6, 8) and y == 0
    # zebra's pixels were drawn around 40, cat's around 160: the labels follow the folders
    assert ds.images[ds.targets == 2].mean() < ds.images[ds.targets == 1].mean()


def test_image_folder_resizes_to_the_common_size_and_converts_grey(tmp_path):
    root = make_folder(tmp_path / "pets", rgb=False)
    _png(root / "cat" / "big.png", np.zeros((12, 16), np.uint8))
    ds = ImageFolder(root)
    assert ds.images.shape == (16, 1, 6, 8)  # grey kept grey, the odd one resized
    assert ImageFolder(root, size=4, channels=3).images.shape == (16, 3, 4, 4)


def test_image_folder_split_is_stratified_and_reproducible(tmp_path):
    ds = ImageFolder(make_folder(tmp_path / "pets"))
    train, test = ds.split(0.2, seed=3)
    assert len(train) + len(test) == 15
    assert np.bincount(test.arrays[1]).tolist() == [1, 1, 1]
    again = ds.split(0.2, seed=3)[1]
    np.testing.assert_array_equal(test.arrays[0], again.arrays[0])
    mean, std = ImageFolder.channel_stats(train.arrays[0])
    x = train.arrays[0] / 255.0
    assert mean == pytest.approx(x.mean(axis=(0, 2, 3)).tolist())
    assert std == pytest.approx(x.std(axis=(0, 2, 3)).tolist())


def test_image_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "nothing" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no class sub-folders with images"):
        ImageFolder(tmp_path / "nothing")


def test_read_npy_round_trip_and_refusals(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(read_npy(tmp_path / "a.npy"), a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a))
    np.testing.assert_array_equal(read_npy(tmp_path / "f.npy"), a)

    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npy: the file is empty"):
        read_npy(tmp_path / "empty.npy")
    (tmp_path / "junk.npy").write_bytes(b"this is not numpy at all" * 4)
    with pytest.raises(ValueError, match="junk.npy: not a .npy array"):
        read_npy(tmp_path / "junk.npy")
    # a valid header promising 10^15 float64s, with no data behind it
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000000), }"
    header += " " * (118 - len(header)) + "\n"
    (tmp_path / "huge.npy").write_bytes(
        b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + header.encode()
    )
    with pytest.raises(ValueError, match=r"huge.npy: the header promises .* truncated"):
        read_npy(tmp_path / "huge.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="obj.npy: holds Python objects"):
        read_npy(tmp_path / "obj.npy")
    full = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(full[:-10])
    with pytest.raises(ValueError, match="cut.npy: .* truncated"):
        read_npy(tmp_path / "cut.npy")


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width × height pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )
    return path


def test_read_image_refuses_bombs_and_garbage(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(
        ValueError,
        match=r"bomb.png: the image is too large .* "
        r"decompression bomb",
    ):
        read_image(bomb)
    bomb = _png_header_only(tmp_path / "bomb2.png", 10_000, 10_000)  # under Pillow's 2x
    with pytest.raises(
        ValueError,
        match=r"bomb2.png: the image is 10000×10000 .* "
        r"decompression bomb",
    ):
        read_image(bomb)
    (tmp_path / "junk.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="junk.png: not a readable image"):
        read_image(tmp_path / "junk.png")
    a = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    np.testing.assert_array_equal(read_image(_png(tmp_path / "ok.png", a)), a.transpose(2, 0, 1))


def test_truncated_gzip_idx_is_one_clear_error(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte.gz", np.zeros((50, 28, 28), np.uint8))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"x-idx3-ubyte.gz is a damaged or truncated gzip"):
        read_idx(path)
    assert gzip.decompress(raw)  # the whole file was fine


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_malicious_cifar_pickle_is_refused_cleanly(tmp_path, capsys):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(
        ValueError,
        match=r"data_batch_1 was refused: .*builtins.print.* "
        r"nothing in it was executed",
    ):
        load_cifar_batch(path)
    assert "pwned" not in capsys.readouterr().out
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)})[:-20])
    with pytest.raises(ValueError, match="not a readable CIFAR batch"):
        load_cifar_batch(path)
