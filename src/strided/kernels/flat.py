"""Elementwise kernels run over flat runs: the 1-D view of an array in memory order, and
the size from which a run is split over threads.

A compiled elementwise kernel sees its arrays as 1-D runs, so one kernel serves every shape
and every layout that is one block of memory in some axis order (C order, or the
channels-first (C, N, H, W) buffers a convolution returns seen as NCHW). NumPy arrays
only, as the compiled kernels: their dispatch (`compiled(*arrays)`) sends device arrays to
the array-module code before anything here is asked.
"""

from __future__ import annotations

import numpy as np

from .compiled import numba

# the parallel loop of compiled kernels (a plain range where Numba is missing: those
# kernels are then never called)
prange = numba.prange if numba is not None else range

# Below this many elements (4 MB of float32) a loop runs on one thread: waking the pool
# costs more than it saves, and on a loaded machine far more — a 0.6M-element ReLU took
# 0.2 ms on one thread and 6-13 ms on two when other processes held the cores. Runs of
# CHUNK elements are what each thread takes at a time.
PARALLEL_MIN = 1 << 20
CHUNK = 1 << 14


def flat(a: np.ndarray) -> np.ndarray | None:
    """a as a 1-D view in memory order, or None when a is not one block of memory."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous or _dense(a):
        v = a.ravel(order="K")
        return v if np.may_share_memory(v, a) else None
    return None


def _dense(a: np.ndarray) -> bool:
    """Strides that are a permutation of some C-ordered shape's (no gaps, no overlap)."""
    order = sorted(range(a.ndim), key=lambda i: a.strides[i])
    step = a.itemsize
    for i in order:
        if a.shape[i] == 1:
            continue
        if a.strides[i] != step:
            return False
        step *= a.shape[i]
    return True


def flat_like(a: np.ndarray, like: np.ndarray) -> np.ndarray | None:
    """a's 1-D view in the memory order of `like` (an array of a's shape already viewed by
    `flat`), or None when a is laid out differently."""
    if a.shape != like.shape or _steps(a) != _steps(like):
        return None
    return flat(a)


def _steps(a: np.ndarray) -> tuple:
    """Strides in elements, ignoring axes of length 1 (their stride means nothing)."""
    return tuple(s // a.itemsize if n > 1 else 0 for s, n in zip(a.strides, a.shape, strict=True))


def chunks(n: int) -> int:
    """How many CHUNK-sized runs a loop over n elements splits into; 0 (run it on one
    thread) below PARALLEL_MIN."""
    return 0 if n < PARALLEL_MIN else (n + CHUNK - 1) // CHUNK
