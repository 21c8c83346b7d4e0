"""The one atomic writer: a file is at every moment either the old one or the complete new
one, also across a power cut (temp file in the same folder, fsync, ``os.replace``, fsync of
the folder). Model files, checkpoints, JSON/CSV logs, downloads and IDX files all go
through it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text"]

PathLike = str | os.PathLike[str]


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; some platforms cannot open folders, where the
    rename is still atomic."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _umask() -> int:
    """The process's umask (reading it means setting it; it is put straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(dest: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``dest`` for binary writing; flush it to disk and
    rename it onto ``dest`` only if the ``with`` block finishes without an exception,
    else delete it.

    Readers therefore see the old file or the complete new one, never half of one, and a
    failed write (or a check raised inside the block) leaves nothing behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        # mkstemp makes 0600 files; a saved file gets the permissions the user's umask
        # gives any new file, as open() would
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(dest.parent)


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see ``atomic_open``); returns the path."""
    with atomic_open(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: PathLike, text: str) -> Path:
    """``atomic_write_bytes`` for UTF-8 text (JSON, CSV).

    Parameters
    ----------
    path : str or PathLike
        File to (re)place.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))
