"""`strided.cuda`: is a CUDA GPU usable here, how many, and waiting for them (via CuPy)."""

from __future__ import annotations

from .device import _backends


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA GPU (False, never an error,
    without CuPy, a driver or a GPU)."""
    return _backends["cuda"].is_available()


def device_count() -> int:
    """How many CUDA GPUs CuPy sees (0 without CuPy or a GPU)."""
    return _backends["cuda"].device_count()


def synchronize(device: int | None = None) -> None:
    """Wait until every kernel queued on GPU `device` (0 when None) has finished; timings
    of GPU work are meaningful only after it.

    Parameters
    ----------
    device : int or None
        The GPU's index.
    """
    _backends["cuda"].synchronize(device)
