"""Padding of the trailing axes, and its adjoint.

Modes, for an axis of length n and an output index j ∈ [−lo, n + hi) read from source index
    constant   x[j] if 0 ≤ j < n else value     (negative widths crop)
    reflect    j ↦ |j|, then i ↦ 2(n − 1) − i past the end   (edge not repeated)
    replicate  j ↦ clip(j, 0, n − 1)
    circular   j ↦ j mod n
The adjoint of each gather adds every output gradient back to the source index it read.
Arrays of any array module (NumPy, CuPy); index arrays are made where the data lives.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..device import array_module

MODES = ("constant", "reflect", "replicate", "circular")


def source_index(n: int, lo: int, hi: int, mode: str, xp: ModuleType = np) -> np.ndarray:
    """Source index of each output position along one axis (not for 'constant'), an
    array of module `xp` (made there, so a device gathers with no copy from the host).

    Negative widths crop, as in PyTorch: reflect and replicate pad the whole axis and then
    crop; circular crops first and wraps around what is left.
    """
    if mode == "circular":
        start, m = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        return start + xp.arange(-max(lo, 0), m + max(hi, 0)) % m
    j = xp.arange(-lo, n + hi)
    if mode == "reflect":
        j = xp.abs(j)
        return xp.where(j >= n, 2 * (n - 1) - j, j)
    return xp.clip(j, 0, n - 1)  # replicate


def _slices(n: int, lo: int, hi: int) -> tuple[slice, slice]:
    """(source, destination) slices copying x into the padded (or cropped) axis."""
    src = slice(max(-lo, 0), n - max(-hi, 0))
    dst = slice(max(lo, 0), max(lo, 0) + (src.stop - src.start))
    return src, dst


def pad_forward(x: np.ndarray, pads: tuple, mode: str, value: float = 0.0) -> np.ndarray:
    """`pads` is ((lo, hi), ...) for the last len(pads) axes, in axis order."""
    first, xp = x.ndim - len(pads), array_module(x)
    if mode == "constant":
        shape = x.shape[:first] + tuple(
            n + lo + hi for n, (lo, hi) in zip(x.shape[first:], pads, strict=True)
        )
        out = xp.full(shape, value, dtype=x.dtype)
        sl = [_slices(n, lo, hi) for n, (lo, hi) in zip(x.shape[first:], pads, strict=True)]
        lead = (slice(None),) * first
        out[lead + tuple(d for _, d in sl)] = x[lead + tuple(s for s, _ in sl)]
        return out
    for k, (lo, hi) in enumerate(pads):
        if lo or hi:
            x = xp.take(x, source_index(x.shape[first + k], lo, hi, mode, xp), axis=first + k)
    return x


def pad_backward(g: np.ndarray, pads: tuple, mode: str, in_shape: tuple) -> np.ndarray:
    """The adjoint of `pad_forward`: gradient of the padded array back to `in_shape`."""
    first, xp = g.ndim - len(pads), array_module(g)
    if mode == "constant":
        gx = xp.zeros(in_shape, dtype=g.dtype)
        sl = [_slices(n, lo, hi) for n, (lo, hi) in zip(in_shape[first:], pads, strict=True)]
        lead = (slice(None),) * first
        gx[lead + tuple(s for s, _ in sl)] = g[lead + tuple(d for _, d in sl)]
        return gx
    for k in reversed(range(len(pads))):
        lo, hi = pads[k]
        if not (lo or hi):
            continue
        axis = first + k
        n = in_shape[axis]
        src = source_index(n, lo, hi, mode)  # on the host: its entries index the loop below
        g = xp.moveaxis(g, axis, 0)
        if lo < 0 or hi < 0 or mode == "circular" and len(src) and n == 0:
            gx = xp.zeros((n,) + g.shape[1:], dtype=g.dtype)
            # cropping: the interior is no longer at offset lo
            xp.add.at(gx, source_index(n, lo, hi, mode, xp), g)
            g = xp.moveaxis(gx, 0, axis)
            continue
        gx = g[lo : lo + n].copy()  # the interior maps to itself
        for p in list(range(lo)) + list(range(lo + n, lo + n + hi)):
            gx[int(src[p])] += g[p]  # the border: a few rows, each added where it came from
        g = xp.moveaxis(gx, 0, axis)
    return g
