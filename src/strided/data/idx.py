"""Read and write the IDX format of MNIST, Fashion-MNIST and Kuzushiji-MNIST.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension, then
the values in C order, big-endian. The magic number is ``0x0000TTDD``: two zero
bytes, a type code ``TT`` and the number of dimensions ``DD``. So MNIST images
(``uint8``, 3-D) start with ``0x00000803`` and labels (``uint8``, 1-D) with
``0x00000801``. Files are often gzipped; we recognise gzip by its own magic bytes,
not by the file name, because mirrors and distributions do not agree on names.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..io.atomic import atomic_open

__all__ = ["read_idx", "write_idx", "IDX_DTYPES"]

PathLike = str | os.PathLike[str]

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# Keyed by kind+size ("u1", "f4"): the byte order of the caller's array does not matter.
_CODES = {dt.str[1:]: code for code, dt in IDX_DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(source: PathLike | BinaryIO) -> bytes:
    if hasattr(source, "read"):
        raw = source.read()
    else:
        with open(source, "rb") as f:
            raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:  # a cut-short or damaged download
            name = getattr(source, "name", source)
            raise ValueError(
                f"read_idx: {name!s} is a damaged or truncated gzip file "
                f"({exc}); delete it and download it again"
            ) from None
    return raw


def read_idx(source: PathLike | BinaryIO) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a native-endian NumPy array.

    ``source`` is a path or a binary file object. The array has the shape the
    header declares and the dtype its type code names (``uint8`` for MNIST).

    Raises ``ValueError`` when the header is malformed or the payload is shorter or
    longer than the header promises — a truncated download must not pass silently.
    """
    name = getattr(source, "name", source)
    raw = _read_bytes(source)
    if len(raw) < 4:
        raise ValueError(f"read_idx: {name!s} is {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in IDX_DTYPES:
        raise ValueError(
            f"read_idx: {name!s} has magic number 0x{raw[:4].hex()}, expected 0x0000TTDD "
            f"with type code TT in {sorted(hex(c) for c in IDX_DTYPES)}"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"read_idx: {name!s} declares {ndim} dimensions but the header is cut short"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header_len
    if got != expected:
        raise ValueError(
            f"read_idx: {name!s} declares shape {shape} of {dtype.newbyteorder('=')} "
            f"({expected} bytes) but holds {got} bytes of data"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    # frombuffer gives a read-only view of an immutable bytes object; a native-endian
    # copy is writable and what every caller downstream expects.
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file at ``path``; gzip it when ``compress`` is true.

    ``compress=None`` means: gzip when the name ends in ``.gz``. The write is atomic
    (temporary file in the same folder, then ``os.replace``), so a reader never sees a
    half-written file. Returns the path.
    """
    path = Path(path)
    array = np.asarray(array)
    key = array.dtype.str[1:]
    if key not in _CODES:
        raise TypeError(
            f"write_idx: dtype {array.dtype} has no IDX type code; "
            f"use one of uint8, int8, int16, int32, float32, float64"
        )
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX allows at most 255 dimensions, got {array.ndim}")
    code = _CODES[key]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        # mtime=0 keeps the bytes reproducible, so checksums of written files are stable.
        payload = gzip.compress(payload, mtime=0)
    with atomic_open(path) as f:
        f.write(payload)
    return path
