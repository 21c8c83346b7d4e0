"""Activation kernels: ReLU forward (with the mask its backward needs) and backward, fused
into one pass each over flat runs (NumPy's reference takes two: a compare and a max).

    y = max(x, 0),   m = [x > 0],   dx = dy · m   (0 at the kink, as PyTorch)
"""

from __future__ import annotations

import numpy as np

from .compiled import compiled, jit
from .flat import CHUNK, chunks, flat, flat_like, prange


@jit()
def _relu_run(x, y, m, lo, hi):
    # slices first: indices from 0 cannot be negative, so the loop vectorises (7x faster)
    x, y, m = x[lo:hi], y[lo:hi], m[lo:hi]
    for i in range(x.size):
        v = x[i]
        m[i] = v > 0
        y[i] = v if not v <= 0 else 0  # NaN stays NaN, as np.maximum(x, 0) and torch


@jit(parallel=True)
def _relu_par(x, y, m, n_chunks):
    n = x.size
    for c in prange(n_chunks):
        _relu_run(x, y, m, c * CHUNK, min(n, (c + 1) * CHUNK))


@jit()
def _mask_run(g, m, out, lo, hi):
    g, m, out = g[lo:hi], m[lo:hi], out[lo:hi]
    for i in range(g.size):
        out[i] = g[i] if m[i] else 0


@jit(parallel=True)
def _mask_par(g, m, out, n_chunks):
    n = g.size
    for c in prange(n_chunks):
        _mask_run(g, m, out, c * CHUNK, min(n, (c + 1) * CHUNK))


def relu_forward(x: np.ndarray, with_mask: bool):
    """(max(x, 0), the mask [x > 0] or None). NaN stays NaN (np.maximum's rule)."""
    fx = flat(x) if compiled(x) else None
    if fx is None:
        return np.maximum(x, 0), (x > 0 if with_mask else None)
    y, m = np.empty_like(x), np.empty_like(x, dtype=np.bool_)  # both in x's layout
    fy, fm = flat(y), flat(m)
    k = chunks(fx.size)
    if k:
        _relu_par(fx, fy, fm, k)
    else:
        _relu_run(fx, fy, fm, 0, fx.size)
    return y, (m if with_mask else None)


def relu_backward(g: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """dx = g where mask else 0."""
    fm = flat(mask) if compiled(mask, g) else None
    fg = None if fm is None else flat_like(g, mask)
    if fg is None:
        return g * mask
    out = np.empty_like(mask, dtype=g.dtype)
    fo = flat(out)
    k = chunks(fg.size)
    if k:
        _mask_par(fg, fm, fo, k)
    else:
        _mask_run(fg, fm, fo, 0, fg.size)
    return out
