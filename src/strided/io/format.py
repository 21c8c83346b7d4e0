"""The file format: arrays in safetensors, everything else in JSON, never pickle.

One file holds both. A ``.safetensors`` file is an 8-byte header length, a JSON header
(tensor names, dtypes, shapes, offsets, and a ``__metadata__`` dict of strings) and the
raw tensor bytes. strided stores its own JSON document in that metadata dict, together
with a SHA-256 digest of every tensor's bytes, so that:

* any program that reads safetensors can read the weights;
* loading never executes code (no pickle anywhere);
* a truncated or corrupted file is detected and reported with its path, rather than
  loading silently wrong numbers (safetensors itself checks the header and sizes, the
  digest catches flipped bits in the tensor data).

Writes are atomic (``strided.io.atomic``): a reader, or a run killed in the middle of a
save, sees either the old file or the complete new one.

Two levels here, and modules on top of them in ``strided.io.model``:

``save(path, arrays, meta)`` / ``load(path) -> (arrays, meta)``
    a flat ``{name: ndarray}`` dict plus a JSON-able ``meta`` dict.
``save_state(path, tree)`` / ``load_state(path) -> tree``
    any nesting of dicts, lists, tuples, numbers, strings and arrays (an optimiser's
    ``state_dict()``, a whole training checkpoint): the arrays are pulled out into the
    tensor section and the rest becomes JSON with references to them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import host_array
from ..device import on_cpu
from .atomic import atomic_write_bytes

__all__ = [
    "CheckpointError",
    "FORMAT",
    "save",
    "load",
    "save_state",
    "load_state",
    "encode_tree",
    "decode_tree",
    "to_jsonable",
    "host_array",
]

PathLike = str | os.PathLike[str]

FORMAT = "strided/1"
_META_KEY = "strided.meta"
_DIGEST_KEY = "strided.sha256"
_FORMAT_KEY = "strided.format"


class CheckpointError(ValueError):
    """A file that cannot be read back: truncated, corrupted, or not written by strided.

    A ``ValueError``, so code that guards against bad input catches it; the message names
    the file.
    """


# -- JSON helpers -------------------------------------------------------------------------


def to_jsonable(obj: Any) -> Any:
    """NumPy scalars and small arrays as plain Python values (for JSON files people read).

    Parameters
    ----------
    obj : Any
        The value to convert (NumPy scalars and arrays, tuples, paths, ...).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(
            name.encode("utf-8")
            + b"\0"
            + a.dtype.str.encode()
            + b"\0"
            + repr(a.shape).encode()
            + b"\0"
        )
        h.update(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data if a.size else b"")
    return h.hexdigest()


def _is_device_array(value: Any) -> bool:
    return not isinstance(value, (np.ndarray, np.generic)) and not on_cpu(value)


def _as_array(name: str, value: Any, where: str) -> np.ndarray:
    a = host_array(value)
    if a.dtype == object or a.dtype.kind in "OUSV":
        raise TypeError(
            f"{where}: array {name!r} has dtype {a.dtype}; only numeric and bool "
            "arrays can be stored (put strings in meta)"
        )
    # order="C" keeps 0-d arrays 0-d (ascontiguousarray would make them 1-d)
    return np.asarray(a, order="C")


# -- flat level ---------------------------------------------------------------------------


def save(path: PathLike, arrays: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``arrays`` (name → ndarray or Tensor) and ``meta`` (a JSON-able dict) to one
    ``.safetensors`` file at ``path``, atomically. Returns the path."""
    from safetensors.numpy import save as st_save

    if not isinstance(arrays, Mapping):
        raise TypeError(
            f"save({str(path)!r}): arrays must be a dict of name -> array, "
            f"got {type(arrays).__name__}"
        )
    tensors = {}
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"save({str(path)!r}): array names must be strings, got {name!r}")
        tensors[name] = _as_array(name, value, f"save({str(path)!r})")
    try:
        meta_text = json.dumps(dict(meta or {}), allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save({str(path)!r}): meta is not JSON-serialisable: {exc}") from None
    header = {_FORMAT_KEY: FORMAT, _META_KEY: meta_text, _DIGEST_KEY: _digest(tensors)}
    return atomic_write_bytes(path, st_save(tensors, metadata=header))


def load(path: PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by ``save``: ``(arrays, meta)``.

    Raises ``FileNotFoundError`` if there is no file, and ``CheckpointError`` (a
    ``ValueError``) naming the path if it is truncated, corrupted, or not a strided file.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no such file: {path}")
    if path.is_dir():
        raise CheckpointError(f"load: {path} is a folder, not a checkpoint file")
    raw = path.read_bytes()
    if len(raw) < 8:
        raise CheckpointError(
            f"load: {path} is truncated or not a safetensors file ({len(raw)} bytes)"
        )
    header_len = int.from_bytes(raw[:8], "little")
    if header_len > len(raw) - 8:
        raise CheckpointError(
            f"load: {path} is truncated or not a safetensors file (header "
            f"claims {header_len} bytes, file has {len(raw) - 8} after it)"
        )
    try:
        header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
        metadata = header.get("__metadata__") or {}
    except (UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"load: {path} has a corrupted header ({exc})") from None
    try:
        arrays = st_load(raw)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise CheckpointError(f"load: {path} is truncated or corrupted ({exc})") from None
    if metadata.get(_FORMAT_KEY) != FORMAT:
        raise CheckpointError(
            f"load: {path} is a safetensors file but not one written by "
            f"strided.io.save (format {metadata.get(_FORMAT_KEY)!r}); read "
            "plain weight files with strided.io.read_state_dict"
        )
    if _digest(arrays) != metadata.get(_DIGEST_KEY):
        raise CheckpointError(
            f"load: {path} is corrupted: the tensor data does not match the "
            "checksum written with it"
        )
    try:
        meta = json.loads(metadata.get(_META_KEY, "{}"))
    except ValueError as exc:
        raise CheckpointError(f"load: {path} has corrupted metadata ({exc})") from None
    return arrays, meta


# -- nested level -------------------------------------------------------------------------


def encode_tree(obj: Any, path: str, arrays: dict, where: str) -> Any:
    """Replace the arrays in ``obj`` by ``{"__array__": key}`` and collect them in ``arrays``.

    Parameters
    ----------
    path : str
        Key prefix of this node's arrays in the flat array table.
    where : str
        Name of the caller (e.g. 'save_state'), used in error messages.
    """
    if (
        isinstance(obj, np.ndarray)
        or type(obj).__name__ in ("Tensor", "Parameter")
        or _is_device_array(obj)
    ):
        key = path or "."
        arrays[key] = _as_array(key, obj, where)
        return {"__array__": key}
    if isinstance(obj, np.generic):
        # dtype kept, so a float32 counter comes back float32
        return {"__scalar__": obj.dtype.str, "value": obj.item()}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Mapping):
        keys = list(obj)
        if all(isinstance(k, str) and not k.startswith("__") for k in keys):
            return {
                k: encode_tree(obj[k], f"{path}.{k}" if path else k, arrays, where) for k in keys
            }
        # non-string keys (an optimiser's parameter indices) keep their type
        items = []
        for k in keys:
            if not (k is None or isinstance(k, (bool, int, float, str))):
                raise TypeError(
                    f"{where}: dict key {k!r} at {path or '<root>'} is not a number or string"
                )
            items.append([k, encode_tree(obj[k], f"{path}.{k}" if path else str(k), arrays, where)])
        return {"__items__": items}
    if isinstance(obj, tuple):
        return {
            "__tuple__": [encode_tree(v, f"{path}.{i}", arrays, where) for i, v in enumerate(obj)]
        }
    if isinstance(obj, list):
        return [encode_tree(v, f"{path}.{i}", arrays, where) for i, v in enumerate(obj)]
    raise TypeError(
        f"{where}: cannot store {type(obj).__name__} at {path or '<root>'} "
        "(only dicts, lists, tuples, numbers, strings, None and arrays)"
    )


def decode_tree(obj: Any, arrays: Mapping[str, np.ndarray], where: str) -> Any:
    """The inverse of ``encode_tree``: the nest, with the arrays put back from ``arrays``.

    Parameters
    ----------
    obj : Any
        The JSON structure written by encode_tree.
    where : str
        Name of the caller (e.g. 'load_state'), used in error messages.
    """
    if isinstance(obj, list):
        return [decode_tree(v, arrays, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__array__" in obj:
        key = obj["__array__"]
        if key not in arrays:
            raise CheckpointError(
                f"{where}: the metadata refers to an array {key!r} that the file does not hold"
            )
        return arrays[key]
    if "__scalar__" in obj:
        return np.dtype(obj["__scalar__"]).type(obj["value"])
    if "__tuple__" in obj:
        return tuple(decode_tree(v, arrays, where) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {k: decode_tree(v, arrays, where) for k, v in obj["__items__"]}
    return {k: decode_tree(v, arrays, where) for k, v in obj.items()}


def save_state(path: PathLike, tree: Any) -> Path:
    """Write a nest of dicts/lists/tuples/numbers/strings/arrays to ``path``, atomically.

    The arrays go to the safetensors section under their dotted path
    (``"optimizer.state.0.exp_avg"``), the rest to JSON; ``load_state`` rebuilds the same
    nest, with tuples, integer dict keys and NumPy scalar dtypes preserved.

    Parameters
    ----------
    tree : nested dict/list/tuple
        The state: containers of arrays, tensors, numbers, strings and None.
    """
    arrays: dict[str, np.ndarray] = {}
    skeleton = encode_tree(tree, "", arrays, f"save_state({str(path)!r})")
    return save(path, arrays, {"tree": skeleton})


def load_state(path: PathLike) -> Any:
    """Read what ``save_state`` wrote (errors as ``load``).

    Parameters
    ----------
    path : str or PathLike
        A file written by save_state.
    """
    arrays, meta = load(path)
    if "tree" not in meta:
        raise CheckpointError(
            f"load_state: {path} was written by save(), not save_state() (use load())"
        )
    return decode_tree(meta["tree"], arrays, f"load_state({str(path)!r})")
