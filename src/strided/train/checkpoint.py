"""Training checkpoints: everything a run needs to continue exactly.

A checkpoint is one ``.safetensors`` file written by ``strided.io.save_state``: the
arrays (model parameters and buffers, optimiser moments, early stopping's best
parameters, the legacy NumPy RNG key) in the tensor section, everything else as JSON:

    {"format": "strided-checkpoint/1", "epoch": completed epochs, "global_step": ...,
     "stop_training": ..., "model": {...}, "optimizer": {...}, "scheduler": {...} | None,
     "history": {...}, "callbacks": {...}, "rng": {...}, "config": {...}}

Exact resumption needs every source of randomness at the moment the checkpoint was
taken (an epoch boundary):

* the default ``strided`` generator (initialisation, dropout without its own generator);
* NumPy's legacy global generator (``np.random.*``), in case user code draws from it;
* every ``Generator`` / ``numpy.random.Generator`` held by a module (a dropout layer's
  ``generator``);
* for each data loader: its epoch counter, its own generator when it has no ``seed``
  (with a ``seed`` the order of epoch ``e`` is a function of ``(seed, e)``), and the
  generators of its transforms and its data set's transforms (augmentation).

The generators are found by walking those objects, so a new random transform needs no
registration. Restoring sets each generator found now from the state saved under the
same path, and complains about generators that were not saved.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import Generator, default_generator, find_generators
from ..backend import generator_state as _get
from ..backend import set_generator_state as _set
from ..io import CheckpointError, load_state, save_state

__all__ = [
    "FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "rng_state",
    "set_rng_state",
    "find_generators",
]

FORMAT = "strided-checkpoint/1"


def _module_generators(model: Any) -> Iterator[tuple[str, Any]]:
    seen: set = set()
    for name, m in model.named_modules():
        for attr, value in vars(m).items():
            if isinstance(value, (Generator, np.random.Generator)) and id(value) not in seen:
                seen.add(id(value))
                yield (f"{name}.{attr}" if name else attr), value


def _loader_generators(loader: Any) -> Iterator[tuple[str, Any]]:
    if hasattr(loader, "generators"):  # a DataLoader knows its own
        yield from loader.generators()
        return
    seen: set = set()
    yield from find_generators(getattr(loader, "transform", None), "transform", seen)
    yield from find_generators(getattr(loader, "dataset", None), "dataset", seen)


def _loader_states(loader: Any) -> dict:
    """The loader's generator states where its consumer stands (mid-epoch: after the last
    batch taken, not after those prefetched beyond it)."""
    if hasattr(loader, "generator_states"):
        return loader.generator_states()
    return {p: _get(g) for p, g in _loader_generators(loader)}


def rng_state(
    model: Any = None, loaders: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
) -> dict:
    """The state of every generator of a run (see the module docstring).

    Parameters
    ----------
    model : Module or None
        Model whose dropout/random layers' generators are captured.
    loaders : dict of str to DataLoader or None
        Loaders whose shuffling generators are captured, by name.
    extra : dict of str to Generator or None
        Further named generators to capture.
    """
    state: dict = {
        "strided": default_generator().get_state(),
        # user code may still draw from NumPy's legacy global generator: resume it too
        "numpy_global": np.random.get_state(legacy=False),  # noqa: NPY002
        "modules": {p: _get(g) for p, g in _module_generators(model)} if model is not None else {},
        "loaders": {},
        "extra": {k: _get(g) for k, g in (extra or {}).items()},
    }
    for name, loader in (loaders or {}).items():
        if loader is None:
            continue
        state["loaders"][name] = {
            "epoch": int(getattr(loader, "epoch", 0)),
            "seed": getattr(loader, "seed", None),
            "generators": _loader_states(loader),
        }
    return state


def set_rng_state(
    state: dict,
    model: Any = None,
    loaders: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Put back what ``rng_state`` returned into the generators of this run.

    Parameters
    ----------
    state : dict
        A state returned by rng_state.
    model : Module or None
        Model whose random layers' generators are restored.
    loaders : dict of str to DataLoader or None
        Loaders whose shuffling generators are restored, by name.
    extra : dict of str to Generator or None
        Further named generators to restore.
    """
    missing: list[str] = []
    default_generator().set_state(state["strided"])
    np.random.set_state(state["numpy_global"])  # noqa: NPY002 - see rng_state

    def restore(saved: dict, found: Iterator[tuple[str, Any]], where: str) -> None:
        for path, gen in found:
            if path in saved:
                _set(gen, saved[path])
            else:
                missing.append(f"{where}{path}")

    if model is not None:
        restore(state.get("modules", {}), _module_generators(model), "model.")
    for name, loader in (loaders or {}).items():
        if loader is None:
            continue
        saved = state.get("loaders", {}).get(name)
        if saved is None:
            missing.append(f"{name} loader")
            continue
        if saved.get("seed") != getattr(loader, "seed", None):
            # with another seed every epoch's order differs: not the same run
            missing.append(
                f"{name} loader order (seed {getattr(loader, 'seed', None)}, "
                f"saved with {saved.get('seed')})"
            )
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(int(saved.get("epoch", 0)))
        restore(saved.get("generators", {}), _loader_generators(loader), f"{name} loader.")
    restore(state.get("extra", {}), iter((extra or {}).items()), "")
    if missing:
        warnings.warn(
            "resuming: the saved random state does not cover "
            + ", ".join(missing)
            + "; the resumed run will not repeat the original "
            "exactly",
            RuntimeWarning,
            stacklevel=3,
        )


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write a checkpoint dict (``Trainer.state_dict()``) atomically.

    Parameters
    ----------
    path : str or PathLike
        File to write (atomically).
    state : dict
        The training state: nested dicts/lists of arrays, numbers and strings.
    """
    return save_state(path, dict(state, format=FORMAT))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by ``save_checkpoint``; ``CheckpointError`` (naming the
    path) if the file is damaged or is not a training checkpoint."""
    tree = load_state(path)
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise CheckpointError(f"load_checkpoint: {path} is not a strided training checkpoint")
    for key in ("model", "optimizer", "epoch"):
        if key not in tree:
            raise CheckpointError(f"load_checkpoint: {path} lacks its {key!r} entry")
    return tree
