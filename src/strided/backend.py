"""The array module, the default floating dtype, and the random generators.

Everything above this module asks it for `xp` (NumPy today) and for randomness, so that a
later CuPy backend or a change of default precision happens in one place.

Random streams per device: a `Generator` is a host (NumPy) stream, and for each other
device it is used on (dropout's masks on a GPU), a stream of that device's own, made the
first time that device asks for one and seeded from the host stream then. The same seed
therefore gives the same run on each device; the CPU's and a GPU's numbers differ (as
PyTorch's CPU and CUDA generators do), so a run on a GPU does not repeat one on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .device import CPU, Device

xp = np

_default_dtype: np.dtype = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The floating dtype new tensors get when none is asked for (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the floating dtype of new tensors; only float32 and float64 are accepted."""
    global _default_dtype
    new = np.dtype(dtype)
    if new not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: expected float32 or float64, got {new}")
    _default_dtype = new


def is_floating(dtype: DTypeLike) -> bool:
    """True for the floating dtypes, the only ones that may carry gradients.

    Parameters
    ----------
    dtype : dtype
        The NumPy dtype to test.
    """
    return np.issubdtype(np.dtype(dtype), np.floating)


class Generator:
    """A seeded source of randomness (a thin wrapper over `numpy.random.Generator`).

    Pass one to any random function (`randn`, initialisers, dropout, shuffling) to make a
    run repeatable; `get_state`/`set_state` round-trip through JSON-friendly dicts so that
    checkpoints can restore the exact stream.

    On a device other than the CPU, `on(device)` is a stream of that device's array module
    (a CuPy generator on a GPU), seeded from this host stream the first time the device
    asks for one, so drawing there copies nothing from the host.

    Parameters
    ----------
    seed : int or None
        Initial seed; drawn from the operating system when None.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._device_rngs: dict[Device, Any] = {}  # made again from the new host stream
        return self

    def on(self, where: Device) -> Any:
        """The random stream of device `where`: the host stream itself for the CPU, else
        that device's generator (`random.default_rng` of its array module), seeded once
        from the host stream when first asked for.

        Parameters
        ----------
        where : Device
            The device the numbers are drawn on.
        """
        if where.type == "cpu":
            return self.rng
        stream = self._device_rngs.get(where)
        if stream is None:
            seed = int(self.rng.integers(2**63))
            backend = where.backend
            with backend.selected(where.index):
                stream = backend.module().random.default_rng(seed)
            self._device_rngs[where] = stream
        return stream

    def get_state(self) -> dict[str, Any]:
        """The host stream's state (a JSON-friendly dict). Device streams are not part of
        it: they are derived from the host stream, and `set_state` makes them again from
        the restored one when next used, so restoring a state repeats what follows — on
        a device, not necessarily what an uninterrupted run would have drawn there."""
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        """Restore the host stream (see `get_state`); device streams start afresh from it.

        Parameters
        ----------
        state : dict
            What `get_state` returned.
        """
        self.rng.bit_generator.state = state
        self._device_rngs = {}


_default_generator = Generator(None)


def default_generator() -> Generator:
    """The generator used when a function is given none."""
    return _default_generator


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator, as `torch.manual_seed` does; returns it.

    Parameters
    ----------
    seed : int
        Seed of the global random stream.
    """
    return _default_generator.manual_seed(seed)


def rng_of(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind `generator`, or behind the default one."""
    return (generator or _default_generator).rng


def rng_on(generator: Generator | None, where: Device = CPU) -> Any:
    """The random stream of `generator` (or of the default one) on device `where`: its
    NumPy generator on the CPU, a generator of the device's array module elsewhere
    (see `Generator.on`).

    Parameters
    ----------
    generator : Generator or None
        The generator; the default one when None.
    where : Device
        The device the numbers are drawn on.
    """
    return (generator or _default_generator).on(where)


def find_generators(
    obj: Any, prefix: str = "", _seen: set | None = None, _depth: int = 0
) -> Iterator[tuple[str, Any]]:
    """``(path, generator)`` for every ``strided.Generator`` or ``numpy.random.Generator``
    reachable from ``obj`` through attributes, lists, tuples and dicts (not through
    arrays), each once."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 6 or obj is None:
        return
    if isinstance(obj, (Generator, np.random.Generator)):
        seen.add(id(obj))
        yield prefix, obj
        return
    if (
        isinstance(obj, (np.ndarray, str, bytes, int, float, bool, type))
        or callable(obj)
        and not hasattr(obj, "__dict__")
    ):
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        if len(obj) > 64:  # long lists hold data, not transforms
            return
        items = [(str(i), v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__"):
        items = [(k, v) for k, v in vars(obj).items()]
    else:
        return
    for name, value in items:
        path = f"{prefix}.{name}" if prefix else name
        yield from find_generators(value, path, seen, _depth + 1)


def generator_state(gen: Any) -> dict:
    """The state of a `Generator` or `numpy.random.Generator`, a JSON-friendly dict."""
    return gen.get_state() if isinstance(gen, Generator) else gen.bit_generator.state


def set_generator_state(gen: Any, state: dict) -> None:
    """Put back what `generator_state` returned."""
    if isinstance(gen, Generator):
        gen.set_state(state)
    else:
        gen.bit_generator.state = state
