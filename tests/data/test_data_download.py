"""Find-or-fetch: search locations, checksummed atomic downloads, safe extraction."""

import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from strided.data import download as dl


def test_candidate_order(isolated, monkeypatch):
    monkeypatch.setenv("STRIDED_DATA", str(isolated / "env"))
    dirs = dl.candidate_dirs("mnist", isolated / "root")
    assert dirs == [
        isolated / "root" / "mnist",
        isolated / "root",
        isolated / "env" / "mnist",
        isolated / "env",
        isolated / "cache" / "strided" / "mnist",
        isolated / "system" / "mnist",
    ]


def test_cache_dir_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dl.cache_dir("x") == tmp_path / ".cache" / "strided" / "x"


def test_find_dir_accepts_gz_twins_and_needs_all_files(isolated):
    a = isolated / "system" / "ds"
    a.mkdir(parents=True)
    (a / "one.gz").write_bytes(b"1")
    assert dl.find_dir("ds", ["one", "two.gz"]) is None
    (a / "two").write_bytes(b"2")
    assert dl.find_dir("ds", ["one", "two.gz"]) == {"one": a / "one.gz", "two.gz": a / "two"}


def test_file_hash(tmp_path):
    (tmp_path / "f").write_bytes(b"abc" * 1000)
    assert dl.file_hash(tmp_path / "f") == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert dl.file_hash(tmp_path / "f", "md5") == hashlib.md5(b"abc" * 1000).hexdigest()


def test_download_file_url_with_checksums(tmp_path):
    payload = os.urandom(3 << 20)  # several chunks
    (tmp_path / "src.bin").write_bytes(payload)
    out = dl.download_url(
        (tmp_path / "src.bin").as_uri(),
        tmp_path / "d" / "out.bin",
        md5=hashlib.md5(payload).hexdigest(),
        sha256=hashlib.sha256(payload).hexdigest().upper(),
    )
    assert out.read_bytes() == payload
    assert os.listdir(tmp_path / "d") == ["out.bin"]


@pytest.mark.parametrize("which", ["md5", "sha256"])
def test_checksum_mismatch_leaves_nothing(tmp_path, which):
    (tmp_path / "src.bin").write_bytes(b"tampered")
    good = {
        "md5": hashlib.md5(b"original").hexdigest(),
        "sha256": hashlib.sha256(b"original").hexdigest(),
    }
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match=f"download_url: {which} checksum mismatch"):
        dl.download_url(
            (tmp_path / "src.bin").as_uri(), tmp_path / "d" / "out.bin", **{which: good[which]}
        )
    assert os.listdir(tmp_path / "d") == []


def test_mismatch_does_not_clobber_existing_file(tmp_path):
    (tmp_path / "out.bin").write_bytes(b"keep me")
    with pytest.raises(ValueError):
        dl.download_url(
            "http://example.invalid/x",
            tmp_path / "out.bin",
            md5="0" * 32,
            opener=lambda url: io.BytesIO(b"other"),
        )
    assert (tmp_path / "out.bin").read_bytes() == b"keep me"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_interrupted_download_leaves_nothing(tmp_path):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("peer went away")
            return super().read(4)

    with pytest.raises(ConnectionResetError):
        dl.download_url(
            "http://example.invalid/x", tmp_path / "out.bin", opener=lambda url: Broken(b"12345678")
        )
    assert os.listdir(tmp_path) == []


def test_opener_receives_url(tmp_path):
    seen = []

    def opener(url):
        seen.append(url)
        return io.BytesIO(b"hello")

    dl.download_url(
        "https://mirror.example/a.gz",
        tmp_path / "a.gz",
        sha256=hashlib.sha256(b"hello").hexdigest(),
        opener=opener,
    )
    assert seen == ["https://mirror.example/a.gz"] and (tmp_path / "a.gz").read_bytes() == b"hello"


def _tar(path, members):
    """members: (name, kind, data_or_target)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, kind, arg in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(arg)
                tf.addfile(info, io.BytesIO(arg))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, arg
                tf.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, arg
                tf.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tf.addfile(info)
    return path


def test_extract_good_tar(tmp_path):
    arc = _tar(
        tmp_path / "a.tar.gz",
        [
            ("top", "dir", None),
            ("top/x.bin", "file", b"xx"),
            ("top/link", "sym", "x.bin"),
            ("top/hard", "hard", "top/x.bin"),
        ],
    )
    dl.extract_archive(arc, tmp_path / "out")
    assert (tmp_path / "out" / "top" / "x.bin").read_bytes() == b"xx"
    assert (tmp_path / "out" / "top" / "link").read_bytes() == b"xx"
    assert (tmp_path / "out" / "top" / "hard").read_bytes() == b"xx"


@pytest.mark.parametrize(
    "members, why",
    [
        ([("ok", "file", b"1"), ("../evil", "file", b"!")], "climbs out"),
        ([("a/../../evil", "file", b"!")], "climbs out"),
        ([("/tmp/evil", "file", b"!")], "absolute"),
        ([("ok", "file", b"1"), ("link", "sym", "/etc/passwd")], "absolute"),
        ([("d/link", "sym", "../../outside")], "points outside"),
        ([("hard", "hard", "../outside")], "points outside"),
        ([("link", "sym", "."), ("link/x", "file", b"!")], "through a link"),
        ([("pipe", "fifo", None)], "device or fifo"),
    ],
)
def test_malicious_tar_refused_before_writing(tmp_path, members, why):
    arc = _tar(tmp_path / "evil.tar.gz", members)
    with pytest.raises(ValueError, match=f"extract_archive: evil.tar.gz: .*{why}"):
        dl.extract_archive(arc, tmp_path / "out" / "target")
    assert not (tmp_path / "out").exists()  # nothing written, not even the good members
    assert not (tmp_path / "evil").exists()


def test_zip_extract_and_refusals(tmp_path):
    with zipfile.ZipFile(tmp_path / "good.zip", "w") as zf:
        zf.writestr("d/a.txt", "A")
    dl.extract_archive(tmp_path / "good.zip", tmp_path / "out")
    assert (tmp_path / "out" / "d" / "a.txt").read_text() == "A"

    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("fine.txt", "ok")
        zf.writestr("../evil", "!")
    with pytest.raises(ValueError, match="climbs out"):
        dl.extract_archive(tmp_path / "evil.zip", tmp_path / "out2")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "evil").exists()

    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="symlink"):
        dl.extract_archive(tmp_path / "link.zip", tmp_path / "out3")


def test_not_an_archive(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="neither a tar nor a zip"):
        dl.extract_archive(tmp_path / "x.tar.gz", tmp_path / "out")
