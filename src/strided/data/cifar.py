"""Read the CIFAR-10 / CIFAR-100 "python version" batch files — safely.

The official files are Python pickles of a dict: ``b'data'`` is an ``(N, 3072)``
``uint8`` array (1024 red, 1024 green, 1024 blue values per image, rows top to
bottom), labels are ``b'labels'`` (CIFAR-10) or ``b'fine_labels'`` /
``b'coarse_labels'`` (CIFAR-100), and a meta file names the classes.

A pickle is a program: ``pickle.load`` on a file from the internet runs whatever
callable the file names (``os.system`` included). So we never call it plainly. Our
unpickler resolves only the handful of globals a NumPy array pickle needs, each
replaced by a wrapper that checks its arguments (no object dtype, no other class),
and refuses every other global with ``pickle.UnpicklingError``. Builtin containers,
numbers and strings need no globals at all.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import numpy as np

__all__ = ["load_cifar_batch", "load_cifar_meta", "safe_unpickle", "cifar_images"]

PathLike = str | os.PathLike[str]


def _check_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.hasobject:
        raise pickle.UnpicklingError("safe_unpickle: arrays of Python objects are refused")
    return dtype


def _safe_dtype(spec: Any, align: bool = False, copy: bool = False) -> np.dtype:
    if not isinstance(spec, str):
        raise pickle.UnpicklingError(
            f"safe_unpickle: numpy.dtype({spec!r}) refused; only dtype strings"
        )
    return _check_dtype(np.dtype(spec, align=bool(align), copy=bool(copy)))


def _safe_reconstruct(cls: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    # NumPy's pickles call _reconstruct(ndarray, (0,), b'b') and then __setstate__;
    # only plain ndarray may be built, never a subclass with its own setstate.
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(
            f"safe_unpickle: _reconstruct of {cls!r} refused; only numpy.ndarray"
        )
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    # Protocol-5 pickles of arrays (NumPy >= 1.16) go through numpy._core.numeric._frombuffer.
    if not isinstance(buf, (bytes, bytearray, memoryview, pickle.PickleBuffer)):
        raise pickle.UnpicklingError("safe_unpickle: _frombuffer needs a bytes buffer")
    dtype = _check_dtype(np.dtype(dtype))
    arr = np.frombuffer(memoryview(buf), dtype=dtype)
    return arr.reshape(tuple(int(s) for s in shape), order="F" if order == "F" else "C")


def _safe_codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    # Python 3 writes ``bytes`` in protocol 0-2 pickles as _codecs.encode(str, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            "safe_unpickle: _codecs.encode allowed only as (str, 'latin1')"
        )
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _safe_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _safe_frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _safe_codecs_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"safe_unpickle: global {module}.{name} is not allowed in a data file "
                f"(only NumPy arrays and builtin containers are)"
            ) from None


def safe_unpickle(data: bytes) -> Any:
    """Unpickle ``data`` allowing only builtin containers/scalars and plain NumPy arrays.

    Any other global (``os.system``, ``builtins.eval``, a class) raises
    ``pickle.UnpicklingError`` before it is called. Python 2 strings come back as
    ``bytes`` (``encoding='bytes'``), as in the official CIFAR files.
    """
    return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def _load_dict(path: PathLike) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        obj = safe_unpickle(raw)
    except pickle.UnpicklingError as exc:
        if str(exc).startswith("safe_unpickle"):  # a global we do not allow: refused, not run
            raise ValueError(
                f"load_cifar_batch: {path} was refused: {exc} — it is not a "
                f"CIFAR batch, and may be malicious; nothing in it was "
                f"executed"
            ) from None
        raise ValueError(
            f"load_cifar_batch: {path} is not a readable CIFAR batch (damaged or truncated: {exc})"
        ) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise ValueError(
            f"load_cifar_batch: {path} is not a readable CIFAR batch (damaged or "
            f"truncated: {type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"load_cifar_batch: {path} holds a {type(obj).__name__}, expected a dict")
    # Keys are bytes in the official (Python 2) files and str in re-pickled ones.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def load_cifar_batch(path: PathLike, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR batch file: ``(data (N, 3072) uint8, labels (N,) int64)``.

    ``label_key`` is ``'labels'`` for CIFAR-10, ``'fine_labels'`` or
    ``'coarse_labels'`` for CIFAR-100.

    Parameters
    ----------
    path : str or PathLike
        A CIFAR batch file of the python version (data_batch_1, test_batch, train, ...).
    """
    d = _load_dict(path)
    for key in ("data", label_key):
        if key not in d:
            raise ValueError(f"load_cifar_batch: {path} has no {key!r} entry (keys: {sorted(d)})")
    data = np.asarray(d["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"load_cifar_batch: {path}: 'data' must be (N, 3072) uint8, got {data.shape} "
            f"{data.dtype}"
        )
    labels = np.asarray(d[label_key])
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"load_cifar_batch: {path}: {label_key!r} must be a list of integers")
    if len(labels) != len(data):
        raise ValueError(
            f"load_cifar_batch: {path}: {len(data)} images but {len(labels)} {label_key!r}"
        )
    return data, labels.astype(np.int64)


def load_cifar_meta(path: PathLike, key: str) -> list[str]:
    """Class names from ``batches.meta`` (``key='label_names'``) or CIFAR-100's ``meta``
    (``'fine_label_names'`` / ``'coarse_label_names'``).

    Parameters
    ----------
    path : str or PathLike
        The CIFAR meta file (batches.meta or meta).
    """
    d = _load_dict(path)
    if key not in d:
        raise ValueError(f"load_cifar_meta: {path} has no {key!r} entry (keys: {sorted(d)})")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in d[key]]


def cifar_images(data: np.ndarray) -> np.ndarray:
    """``(N, 3072)`` rows → ``(N, 3, 32, 32)`` NCHW images, without a copy.

    The rows are already channel-major (all red, then green, then blue), so NCHW is
    a reshape; HWC would need a transpose.
    """
    return np.ascontiguousarray(data).reshape(-1, 3, 32, 32)
