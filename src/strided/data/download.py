"""Find a data set on disk, or fetch it: checksums, atomic writes, safe extraction.

Where a data set called ``name`` is looked for, in order:

1. the ``root`` argument: ``root/<name>``, then the folder itself (and, for the
   MNIST family, torchvision's ``root/<Class>/raw``, so existing downloads are reused);
2. ``$STRIDED_DATA`` (``$STRIDED_DATA/<name>``, then the folder itself);
3. the user cache, ``$XDG_CACHE_HOME/strided/<name>`` or ``~/.cache/strided/<name>``;
4. the Debian system location ``/usr/share/datasets/<name>`` (``apt-get install
   dataset-fashion-mnist`` puts Fashion-MNIST there).

Downloads go to ``root/<name>`` when a root is given, else to the user cache.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO

from ..io.atomic import atomic_open

__all__ = [
    "SYSTEM_DATA_DIR",
    "cache_dir",
    "candidate_dirs",
    "find_dir",
    "resolve_file",
    "file_hash",
    "download_url",
    "extract_archive",
    "not_found_message",
]

PathLike = str | os.PathLike[str]

#: Where Debian's ``dataset-*`` packages install data sets. A module attribute so that
#: tests can point it at an empty folder.
SYSTEM_DATA_DIR = Path("/usr/share/datasets")

_CHUNK = 1 << 20


def cache_dir(name: str | None = None) -> Path:
    """The user cache folder of strided (``$XDG_CACHE_HOME/strided`` or ``~/.cache/strided``).

    Parameters
    ----------
    name : str or None
        Subfolder to return (the cache root when None).
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "strided"
    return path / name if name else path


def candidate_dirs(
    name: str, root: PathLike | None = None, root_subdirs: Sequence[str] = ()
) -> list[Path]:
    """Every folder that may hold data set ``name``, in the order they are searched.

    ``root/<name>`` comes before ``root`` itself: MNIST, Fashion-MNIST and KMNIST use
    the same file names, so a root shared by several data sets must not hand one
    data set's files to another. ``root_subdirs`` are further folders under ``root``.
    """
    dirs: list[Path] = []
    if root is not None:
        root = Path(root).expanduser()
        dirs += [root / name, root] + [root / sub for sub in root_subdirs]
    env = os.environ.get("STRIDED_DATA")
    if env:
        dirs += [Path(env).expanduser() / name, Path(env).expanduser()]
    dirs += [cache_dir(name), Path(SYSTEM_DATA_DIR) / name]
    seen, unique = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique


def resolve_file(folder: Path, filename: str) -> Path | None:
    """``folder/filename``, or its gzipped or gunzipped twin; ``None`` if neither exists."""
    twins = [filename]
    twins.append(filename[:-3] if filename.endswith(".gz") else filename + ".gz")
    for t in twins:
        p = folder / t
        if p.is_file():
            return p
    return None


def find_dir(
    name: str,
    filenames: Iterable[str],
    root: PathLike | None = None,
    root_subdirs: Sequence[str] = (),
) -> dict[str, Path] | None:
    """Look for all of ``filenames`` together in one of the candidate folders.

    A name matches with or without a ``.gz`` suffix (Debian ships gzipped IDX files,
    other sources unpack them). Returns ``{filename: path}`` from the first folder
    holding every file, or ``None``.

    Parameters
    ----------
    root : str or PathLike or None
        Folder to look in first (the default places when None).
    root_subdirs : sequence of str
        Subfolders of root that may hold the files as well.
    """
    filenames = list(filenames)
    for folder in candidate_dirs(name, root, root_subdirs):
        found = {f: resolve_file(folder, f) for f in filenames}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def not_found_message(
    cls_name: str,
    name: str,
    filenames: Sequence[str],
    root: PathLike | None,
    hint: str = "",
    root_subdirs: Sequence[str] = (),
) -> str:
    """The message of the ``FileNotFoundError`` raised when a data set is not on disk."""
    looked = "\n".join(f"  - {d}" for d in candidate_dirs(name, root, root_subdirs))
    lines = [
        f"{cls_name}: data set {name!r} not found (files {', '.join(filenames)}). Looked in:",
        looked,
        "To get it: pass download=True (needs internet; saves to root/<name> or the user cache), "
        "or put the files in a folder and pass root=... or set $STRIDED_DATA (files in "
        f"$STRIDED_DATA/{name}).",
    ]
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def file_hash(path: PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks so that large archives fit in memory.

    Parameters
    ----------
    path : str or PathLike
        The file to hash.
    algorithm : str
        Name of a hashlib algorithm ('sha256' by default, 'md5', ...).
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download_url(
    url: str,
    dest: PathLike,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    opener: Callable[[str], AbstractContextManager[IO[bytes]]] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to the file ``dest``, verifying its checksum, atomically.

    The bytes stream into a temporary file in ``dest``'s folder while being hashed; only
    when the md5 / sha256 digests match is it renamed onto ``dest`` with ``os.replace``.
    On a mismatch or any error the temporary file is removed and nothing is left at
    ``dest``, so a later run never mistakes a corrupt download for the data set.

    ``opener(url)`` must return a readable binary file object (a context manager); it
    defaults to ``urllib.request.urlopen``, which also serves ``file://`` URLs.

    Parameters
    ----------
    timeout : float
        Seconds to wait for the server before giving up (default 60).
    """
    dest = Path(dest)
    hashes = {}
    if md5:
        hashes["md5"] = (hashlib.md5(), md5.lower())
    if sha256:
        hashes["sha256"] = (hashlib.sha256(), sha256.lower())
    with atomic_open(dest) as out:
        response = (
            opener(url) if opener is not None else urllib.request.urlopen(url, timeout=timeout)
        )
        with response as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                out.write(chunk)
                for h, _ in hashes.values():
                    h.update(chunk)
        # Raising here, inside the block, discards the temporary file.
        for algorithm, (h, want) in hashes.items():
            got = h.hexdigest()
            if got != want:
                raise ValueError(
                    f"download_url: {algorithm} checksum mismatch for {url}: expected {want}, "
                    f"got {got}; "
                    f"the file was not saved (a corrupt or tampered download)"
                )
    return dest


def _check_member_name(archive: str, name: str) -> str:
    """Normalise an archive member name; refuse one that could land outside the target."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise ValueError(
            f"extract_archive: {archive}: member {name!r} has an absolute path; refused"
        )
    norm = posixpath.normpath(clean)
    if norm == ".." or norm.startswith("../") or ".." in clean.split("/"):
        raise ValueError(
            f"extract_archive: {archive}: member {name!r} climbs out with '..'; refused"
        )
    return norm


def _check_link(archive: str, name: str, target: str, base: str) -> str:
    """A link is allowed only when its target stays inside the extraction folder."""
    if target.startswith("/") or target.replace("\\", "/").startswith("/"):
        raise ValueError(
            f"extract_archive: {archive}: link {name!r} -> {target!r} is absolute; refused"
        )
    resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved == ".." or resolved.startswith("../"):
        raise ValueError(
            f"extract_archive: {archive}: link {name!r} -> {target!r} points outside; refused"
        )
    return resolved


def _check_no_path_through_link(archive: str, names: list[str], links: set[str]) -> None:
    # A member written *through* a link (``link/file``) would follow it on disk even if
    # the link itself looks harmless; no legitimate data archive needs that.
    for n in names:
        parts = n.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                raise ValueError(
                    f"extract_archive: {archive}: member {n!r} is written through a link; refused"
                )


def _safe_tar_members(archive: str, tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tf.getmembers()
    names, links = [], set()
    for m in members:
        norm = _check_member_name(archive, m.name)
        if m.issym():
            _check_link(archive, m.name, m.linkname, posixpath.dirname(norm))
            links.add(norm)
        elif m.islnk():
            _check_link(archive, m.name, m.linkname, "")
            links.add(norm)
        elif not (m.isfile() or m.isdir()):
            raise ValueError(
                f"extract_archive: {archive}: member {m.name!r} is a device or fifo; refused"
            )
        names.append(norm)
    _check_no_path_through_link(archive, names, links)
    return members


def _safe_zip_members(archive: str, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    for info in infos:
        _check_member_name(archive, info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ValueError(
                f"extract_archive: {archive}: member {info.filename!r} is a symlink; refused"
            )
    return infos


def extract_archive(archive: PathLike, dest: PathLike) -> Path:
    """Extract a ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz`` or ``.zip`` to ``dest``.

    Every member is checked *before* anything is written: absolute paths, ``..``
    components, links whose target leaves ``dest``, members written through links, and
    device files are refused with ``ValueError``, so a malicious archive leaves ``dest``
    untouched. Returns ``dest``.
    """
    archive = Path(archive)
    dest = Path(dest)
    label = archive.name
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = _safe_zip_members(label, zf)
            dest.mkdir(parents=True, exist_ok=True)
            zf.extractall(dest, members=infos)
        return dest
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"extract_archive: {archive} is neither a tar nor a zip archive")
    with tarfile.open(archive) as tf:
        members = _safe_tar_members(label, tf)
        dest.mkdir(parents=True, exist_ok=True)
        # The "data" filter (Python >= 3.11.4) repeats our checks and also drops
        # set-uid bits and odd permissions: belt and braces.
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - older Pythons
            tf.extractall(dest, members=members)
    return dest
