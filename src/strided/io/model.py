"""Modules in files: a model's ``state_dict()`` in the safetensors + JSON format of
``strided.io.format``, and the weights of a training checkpoint read the same way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .format import CheckpointError, PathLike, decode_tree, load, save

__all__ = ["save_model", "load_model", "read_model_file"]


def save_model(path: PathLike, model: Any, meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``model.state_dict()`` (parameters and persistent buffers) and ``meta``.

    Parameters
    ----------
    path : str or PathLike
        File to write (atomically).
    """
    if not hasattr(model, "state_dict"):
        raise TypeError(f"save_model: expected a Module, got {type(model).__name__}")
    return save(path, model.state_dict(), meta)


def load_model(path: PathLike, model: Any, strict: bool = True) -> dict:
    """Load the arrays of ``path`` into ``model`` (``load_state_dict``); returns the meta.

    Reads files written by ``save_model`` and the ``"model"`` part of a training
    checkpoint (``strided.train.save_checkpoint``).

    Parameters
    ----------
    strict : bool
        Require the file's keys to match the model's exactly (default True).
    """
    if not hasattr(model, "load_state_dict"):
        raise TypeError(f"load_model: expected a Module, got {type(model).__name__}")
    state, meta = read_model_file(path)
    try:
        model.load_state_dict(state, strict=strict)
    except ValueError as exc:
        raise ValueError(f"load_model: {path} does not fit {type(model).__name__}: {exc}") from None
    return meta


def read_model_file(path: PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """``(state, meta)``: the model weights (name → array) in a file written by
    ``save_model`` or in a training checkpoint (``strided.train.save_checkpoint``), and
    the rest of what the file records (for a checkpoint: everything but the weights).

    Parameters
    ----------
    path : str or PathLike
        A file written by save_model.
    """
    arrays, meta = load(path)
    if "tree" not in meta:
        return arrays, meta
    tree = decode_tree(meta["tree"], arrays, f"read_model_file({str(path)!r})")
    if not isinstance(tree, dict) or not isinstance(tree.get("model"), dict):
        raise CheckpointError(f"read_model_file: {path} holds no model weights")
    return tree["model"], {k: v for k, v in tree.items() if k != "model"}
