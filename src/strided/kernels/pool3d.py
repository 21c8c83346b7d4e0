"""3-D max and average pooling kernels in NumPy, for x (N, C, D, H, W), with PyTorch's
geometry: padding, dilation (max), ceil_mode, count_include_pad and divisor_override.

A window's taps are read as one strided view of the padded input (see conv3d._windows);
max pooling keeps the flat index of each window's maximum in the unpadded (D, H, W) plane,
and its backward adds every output gradient there; average pooling's backward spreads
each gradient, divided by its window's divisor, back over the window's taps.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

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
        return np.pad(x, pads, constant_values=fill) if any(map(any, pads)) else x

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
    win = geo.windows(geo.padded(x, -np.inf))
    cols = win.reshape(N, C, *geo.out, -1)
    tap = cols.argmax(axis=-1)  # first maximum; a NaN counts as the maximum
    y = np.take_along_axis(cols, tap[..., None], axis=-1)[..., 0]
    # tap → position: p·s + t·d − pad per axis, then flattened over the input plane
    taps = np.unravel_index(tap, geo.kernel)
    grids = np.meshgrid(*(np.arange(o) for o in geo.out), indexing="ij")
    coords = [
        g * s + t * d - p
        for g, t, s, d, p in zip(grids, taps, geo.stride, geo.dilation, geo.padding, strict=True)
    ]
    index = np.ravel_multi_index(coords, geo.spatial)
    return np.ascontiguousarray(y), index


def max_pool3d_backward(gy: np.ndarray, index: np.ndarray, spatial: Triple) -> np.ndarray:
    """dx[n, c, index[n, c, p]] += dy[n, c, p]: each gradient to its window's maximum."""
    N, C = gy.shape[:2]
    plane = int(np.prod(spatial))
    rows = np.arange(N * C).reshape(N, C, 1, 1, 1) * plane
    dx = np.bincount((index + rows).ravel(), weights=gy.ravel(), minlength=N * C * plane)
    return dx.astype(gy.dtype, copy=False).reshape((N, C) + tuple(spatial))


def avg_divisor(
    geo: Pool3dGeometry, count_include_pad: bool, divisor_override: int | None, dtype: DTypeLike
) -> np.ndarray:
    """The divisor of each window, (*out): the override, or the window's taps that lie in the
    padded input (count_include_pad) or in the input itself, as PyTorch counts them."""
    if divisor_override is not None:
        return np.full(geo.out, divisor_override, dtype=dtype)
    counts = []
    for n, k, s, p, o in zip(
        geo.spatial, geo.kernel, geo.stride, geo.padding, geo.out, strict=True
    ):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.einsum("i,j,k->ijk", *counts).astype(dtype)


def avg_pool3d_forward(x: np.ndarray, geo: Pool3dGeometry, divisor: np.ndarray) -> np.ndarray:
    """Window means: each window's sum over its divisor (see avg_divisor)."""
    win = geo.windows(geo.padded(x, 0.0))
    return (win.sum(axis=(-3, -2, -1)) / divisor).astype(x.dtype, copy=False)


def avg_pool3d_backward(gy: np.ndarray, geo: Pool3dGeometry, divisor: np.ndarray) -> np.ndarray:
    """Each window's gradient / divisor added back to all of its taps."""
    g = gy / divisor
    N, C = gy.shape[:2]
    dxp = np.zeros(
        (N, C)
        + tuple(n + p + r for n, p, r in zip(geo.spatial, geo.padding, geo.right, strict=True)),
        gy.dtype,
    )
    for t in np.ndindex(*geo.kernel):
        dxp[(slice(None), slice(None)) + geo.tap_slices(t)] += g
    crop = tuple(slice(p, p + n) for p, n in zip(geo.padding, geo.spatial, strict=True))
    return np.ascontiguousarray(dxp[(slice(None), slice(None)) + crop])


__all__ = [
    "Pool3dGeometry",
    "max_pool3d_forward",
    "max_pool3d_backward",
    "avg_divisor",
    "avg_pool3d_forward",
    "avg_pool3d_backward",
]
