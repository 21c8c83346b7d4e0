"""3-D max and average pooling kernels in NumPy, for x (N, C, D, H, W), with PyTorch's
geometry: padding, dilation (max), ceil_mode, count_include_pad and divisor_override.

On the CPU a window's taps are read as one strided view of the padded input (see
conv3d._windows); on a device, one tap at a time over all windows (a slice of the padded
input each), the running maximum keeping NumPy's argmax rule. Max pooling keeps the flat
index of each window's maximum in the unpadded (D, H, W) plane, and its backward adds
every output gradient there; average pooling's backward spreads each gradient, divided
by its window's divisor, back over the window's taps.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from ..device import array_module
from .conv3d import _windows

Triple = tuple


class Pool3dGeometry:
    """Sizes of a 3-D pooling: output size per axis (ceil_mode as PyTorch: the last window
    must start inside the input or its left padding) and the padding that holds every
    window, extra zeros / −∞ past the right padding included."""

    def __init__(
        self,
        spatial: Triple,
        kernel: Triple,
        stride: Triple,
        padding: Triple,
        dilation: Triple,
        ceil_mode: bool,
    ):
        self.spatial, self.kernel, self.stride = spatial, kernel, stride
        self.padding, self.dilation = padding, dilation
        out = []
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation, strict=True):
            o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
            if ceil_mode and (o - 1) * s >= n + p:
                o -= 1
            out.append(o)
        self.out = tuple(out)
        # right edge: the padding, plus what ceil_mode's last window runs past it
        self.right = tuple(
            max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
            for n, k, s, p, d, o in zip(
                spatial, kernel, stride, padding, dilation, self.out, strict=True
            )
        )

    def padded(self, x: np.ndarray, fill: float) -> np.ndarray:
        pads = ((0, 0), (0, 0)) + tuple(zip(self.padding, self.right, strict=True))
        xp = array_module(x)
        return xp.pad(x, pads, constant_values=fill) if any(map(any, pads)) else x

    def taps(self, xpad: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """(t, the view of tap t of every window) for the taps t = 0, 1, ... in row-major
        order of the kernel."""
        lead = (slice(None), slice(None))
        for t, offset in enumerate(np.ndindex(*self.kernel)):
            yield t, xpad[lead + self.tap_slices(offset)]

    def windows(self, xp: np.ndarray) -> np.ndarray:
        """(N, C, *out, *kernel) view of the padded input's windows."""
        return _windows(xp, self.kernel, self.stride, self.dilation, self.out)

    def tap_slices(self, t: Triple) -> tuple:
        """Where tap t of every window lies in the padded input."""
        return tuple(
            slice(i * d, i * d + (o - 1) * s + 1, s)
            for i, d, o, s in zip(t, self.dilation, self.out, self.stride, strict=True)
        )


def max_pool3d_forward(x: np.ndarray, geo: Pool3dGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima and the flat index (z·H·W + y·W + x) of each in its input plane."""
    N, C = x.shape[:2]
    xp = array_module(x)
    if xp is np:
        win = geo.windows(geo.padded(x, -np.inf))
        cols = win.reshape(N, C, *geo.out, -1)
        tap = cols.argmax(axis=-1)  # first maximum; a NaN counts as the maximum
        y = np.take_along_axis(cols, tap[..., None], axis=-1)[..., 0]
    else:
        y, tap = _running_max(geo, geo.padded(x, -np.inf))
    # tap → position: p·s + t·d − pad per axis, then flattened over the input plane
    taps = xp.unravel_index(tap, geo.kernel)
    grids = xp.meshgrid(*(xp.arange(o) for o in geo.out), indexing="ij")
    coords = [
        g * s + t * d - p
        for g, t, s, d, p in zip(grids, taps, geo.stride, geo.dilation, geo.padding, strict=True)
    ]
    index = xp.ravel_multi_index(coords, geo.spatial)
    return xp.ascontiguousarray(y), index


def _running_max(geo: Pool3dGeometry, xpad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window maxima, the tap of each) one tap at a time: a tap takes over where it is
    larger, or NaN where the maximum so far is not (np.argmax's rule: the first maximum,
    the first NaN)."""
    xp = array_module(xpad)
    y = tap = None
    for t, v in geo.taps(xpad):
        if y is None:
            y, tap = v.copy(), xp.zeros(v.shape, np.int64)
            continue
        takes = (v > y) | (xp.isnan(v) & ~xp.isnan(y))
        y = xp.where(takes, v, y)
        tap = xp.where(takes, t, tap)
    assert y is not None and tap is not None  # a kernel has at least one tap
    return y, tap


def max_pool3d_backward(gy: np.ndarray, index: np.ndarray, spatial: Triple) -> np.ndarray:
    """dx[n, c, index[n, c, p]] += dy[n, c, p]: each gradient to its window's maximum."""
    N, C = gy.shape[:2]
    xp = array_module(gy)
    plane = int(np.prod(spatial))
    rows = xp.arange(N * C).reshape(N, C, 1, 1, 1) * plane
    dx = xp.bincount((index + rows).ravel(), weights=gy.ravel(), minlength=N * C * plane)
    return dx.astype(gy.dtype, copy=False).reshape((N, C) + tuple(spatial))


def avg_divisor(
    geo: Pool3dGeometry,
    count_include_pad: bool,
    divisor_override: int | None,
    dtype: DTypeLike,
    xp: ModuleType = np,
) -> np.ndarray:
    """The divisor of each window, (*out): the override, or the window's taps that lie in the
    padded input (count_include_pad) or in the input itself, as PyTorch counts them; made
    by the array module `xp` (where it is used)."""
    if divisor_override is not None:
        return xp.full(geo.out, divisor_override, dtype=dtype)
    counts = []
    for n, k, s, p, o in zip(
        geo.spatial, geo.kernel, geo.stride, geo.padding, geo.out, strict=True
    ):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        counts.append(end - start)
    return xp.einsum("i,j,k->ijk", *counts).astype(dtype)


def avg_pool3d_forward(x: np.ndarray, geo: Pool3dGeometry, divisor: np.ndarray) -> np.ndarray:
    """Window means: each window's sum over its divisor (see avg_divisor)."""
    if type(x) is np.ndarray:
        total = geo.windows(geo.padded(x, 0.0)).sum(axis=(-3, -2, -1))
    else:
        total = sum(v for _, v in geo.taps(geo.padded(x, 0.0)))
    return (total / divisor).astype(x.dtype, copy=False)


def avg_pool3d_backward(gy: np.ndarray, geo: Pool3dGeometry, divisor: np.ndarray) -> np.ndarray:
    """Each window's gradient / divisor added back to all of its taps."""
    g = gy / divisor
    N, C = gy.shape[:2]
    xp = array_module(gy)
    dxp = xp.zeros(
        (N, C)
        + tuple(n + p + r for n, p, r in zip(geo.spatial, geo.padding, geo.right, strict=True)),
        gy.dtype,
    )
    for _, tap in geo.taps(dxp):
        tap += g
    crop = tuple(slice(p, p + n) for p, n in zip(geo.padding, geo.spatial, strict=True))
    return xp.ascontiguousarray(dxp[(slice(None), slice(None)) + crop])


__all__ = [
    "Pool3dGeometry",
    "max_pool3d_forward",
    "max_pool3d_backward",
    "avg_divisor",
    "avg_pool3d_forward",
    "avg_pool3d_backward",
]
