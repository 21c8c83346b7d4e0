"""Pooling kernels: max (with the argmax tap), average, adaptive windows, unpooling.

Two strategies compute each of them: `reference` (NumPy, a loop over the kernel taps, each
tap one slice — the code that reads like the notes and the oracle of the tests) and
`direct` (compiled: every window read where it lies, one image plane per thread).
`plan(x, geo)` picks one per geometry, from these measurements (ms, float32, direct /
reference, 2 threads on a loaded 2-core machine):

    windows that tile the input (2×2/2)   128×6@28: max fwd 0.96 / 0.45, bwd 0.37 / 0.33,
                                          avg fwd 0.54 / 0.24, bwd 0.40 / 0.45  → reference
    3×3/2 pad 1                           32×64@56: max fwd 62 / 66, bwd 12 / 82,
                                          avg fwd 42 / 109, bwd 20 / 122        → direct
    3×3/1 pad 1 (separable in the ref.)   32×64@32: max fwd 48 / 18, bwd 9 / 44,
                                          avg fwd 40 / 15, bwd 20 / 44          → direct

Tiling windows are read in place by the reference, one strided view per tap, where the
direct kernel pays a loop setup per output row and tap. A max pool's backward follows the
strategy of its forward (the argmax it saved).

Arrays on a device (CuPy) always take the reference, written against their array module:
there every tap is a slice of the padded input, one elementwise kernel per tap.
"""

from __future__ import annotations

import numpy as np

from ..compiled import compiled
from ..im2col import from_cnhw, is_channels_first, to_cnhw
from . import direct, reference
from .reference import PoolArgmax, PoolGeometry, adaptive_avg_matrix, avg_divisor

__all__ = [
    "PoolGeometry",
    "PoolArgmax",
    "DirectArgmax",
    "plan",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "tap_to_flat_index",
    "avg_divisor",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "adaptive_avg_matrix",
    "adaptive_max_pool2d_forward",
    "unpool_scatter",
    "unpool_gather",
]


def plan(x: np.ndarray, geo: PoolGeometry | None = None, *others: np.ndarray) -> str:
    """'direct' (compiled) or 'reference' (the array module's code) for pooling the array x
    over the windows of `geo` (None: adaptive windows and unpooling, always direct when
    compiled); `others` are the op's other arrays (unpooling's indices): a device array
    among them means the reference too."""
    if not compiled(x, *others) or x.dtype not in (np.float32, np.float64):
        return "reference"
    return "reference" if geo is not None and reference.tiles(geo) else "direct"


class Planes:
    """An (N, C, H, W) array as P = N·C contiguous (H, W) planes — in channels-first order
    when it lies channels-first, as a convolution's output does — and the way back."""

    def __init__(self, x: np.ndarray):
        self.channels_first = is_channels_first(x)
        src = to_cnhw(x) if self.channels_first else np.ascontiguousarray(x)
        self.lead = src.shape[:2]
        self.data: np.ndarray = src.reshape((-1,) + src.shape[2:])

    def like(self, a: np.ndarray) -> np.ndarray:
        """Another (N, C, h, w) array in these planes' order, contiguous."""
        src = to_cnhw(a) if self.channels_first else a
        return np.ascontiguousarray(src).reshape((-1,) + a.shape[2:])

    def back(self, planes: np.ndarray) -> np.ndarray:
        """(P, h, w) planes as the (N, C, h, w) array."""
        a = planes.reshape(self.lead + planes.shape[1:])
        return from_cnhw(a) if self.channels_first else a


class DirectArgmax:
    """The direct strategy's argmax: the tap t = i·kw + j of each window's maximum, as
    (P, Ho, Wo) int32 planes in the order of `planes`."""

    def __init__(self, tap: np.ndarray, planes: Planes):
        self.tap, self.planes = tap, planes


def _geometry(geo: PoolGeometry):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = geo.kernel, geo.stride, geo.padding, geo.dilation
    return kh, kw, sh, sw, ph, pw, dh, dw


def max_pool2d_forward(x: np.ndarray, geo: PoolGeometry, with_arg: bool):
    """(y, arg): y the window maxima (N, C, Ho, Wo); arg says which tap of its window each
    maximum came from (the first one on ties; NaN propagates and wins, as in PyTorch), or
    None."""
    if plan(x, geo) == "reference":
        return reference.max_pool2d_forward(x, geo, with_arg)
    planes = Planes(x)
    P, (Ho, Wo) = planes.data.shape[0], geo.out
    y = np.empty((P, Ho, Wo), dtype=x.dtype)
    tap = np.empty((P, Ho, Wo), dtype=np.int32)
    direct.max_forward(planes.data, y, tap, *_geometry(geo))
    return planes.back(y), (DirectArgmax(tap, planes) if with_arg else None)


def max_pool2d_backward(dy: np.ndarray, arg, geo: PoolGeometry) -> np.ndarray:
    """dx: each output gradient added to the input position of its window's maximum."""
    if not isinstance(arg, DirectArgmax):
        return reference.max_pool2d_backward(dy, arg, geo)
    planes = arg.planes
    dx = np.empty(planes.data.shape, dtype=dy.dtype)
    kh, kw, sh, sw, ph, pw, dh, dw = _geometry(geo)
    direct.max_backward(planes.like(dy), arg.tap, dx, kw, sh, sw, ph, pw, dh, dw)
    return planes.back(dx)


def tap_to_flat_index(arg, geo: PoolGeometry) -> np.ndarray:
    """PyTorch's indices: the argmax as h·W + w in the unpadded input plane, (N, C, Ho, Wo)."""
    if not isinstance(arg, DirectArgmax):
        return reference.tap_to_flat_index(arg, geo)
    kh, kw, sh, sw, ph, pw, dh, dw = _geometry(geo)
    (Ho, Wo), t = geo.out, arg.tap.astype(np.int64)
    h = (np.arange(Ho) * sh - ph)[:, None] + (t // kw) * dh
    w = (np.arange(Wo) * sw - pw)[None, :] + (t % kw) * dw
    return np.ascontiguousarray(arg.planes.back(h * geo.hw[1] + w))


def avg_pool2d_forward(x: np.ndarray, geo: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """The mean of each window, the sum divided by `divisor` ((Ho, Wo) or a scalar)."""
    if plan(x, geo) == "reference":
        return reference.avg_pool2d_forward(x, geo, divisor)
    planes = Planes(x)
    y = np.empty((planes.data.shape[0],) + geo.out, dtype=x.dtype)
    kh, kw, sh, sw, ph, pw, _, _ = _geometry(geo)
    direct.avg_forward(planes.data, y, _divisor(divisor, geo, x.dtype), kh, kw, sh, sw, ph, pw)
    return planes.back(y)


def avg_pool2d_backward(dy: np.ndarray, geo: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """dx: each output gradient spread evenly over its window."""
    if plan(dy, geo) == "reference":
        return reference.avg_pool2d_backward(dy, geo, divisor)
    planes = Planes(dy)
    dx = np.empty((planes.data.shape[0],) + geo.hw, dtype=dy.dtype)
    kh, kw, sh, sw, ph, pw, _, _ = _geometry(geo)
    direct.avg_backward(planes.data, dx, _divisor(divisor, geo, dy.dtype), kh, kw, sh, sw, ph, pw)
    return planes.back(dx)


def _divisor(divisor, geo: PoolGeometry, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(divisor, dtype=dtype), geo.out))


def adaptive_max_pool2d_forward(x: np.ndarray, out):
    """(y, flat indices h·W + w) for adaptive windows."""
    if plan(x) == "reference":
        return reference.adaptive_max_pool2d_forward(x, out)
    planes = Planes(x)
    P = planes.data.shape[0]
    y = np.empty((P,) + tuple(out), dtype=x.dtype)
    idx = np.empty((P,) + tuple(out), dtype=np.int64)
    direct.adaptive_max_forward(planes.data, y, idx)
    return planes.back(y), np.ascontiguousarray(planes.back(idx))


def unpool_scatter(values: np.ndarray, indices: np.ndarray, hw, accumulate: bool) -> np.ndarray:
    """out[n, c].flat[indices[n, c, ...]] = values[n, c, ...] (added up if `accumulate`)."""
    if plan(values, None, indices) == "reference":
        return reference.unpool_scatter(values, indices, hw, accumulate)
    N, C = values.shape[:2]
    out = np.empty((N * C, hw[0] * hw[1]), dtype=values.dtype)
    direct.unpool_scatter(
        np.ascontiguousarray(values).reshape(N * C, -1),
        np.ascontiguousarray(indices, dtype=np.int64).reshape(N * C, -1),
        out,
        bool(accumulate),
    )
    return out.reshape(N, C, *hw)


def unpool_gather(g: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The adjoint of `unpool_scatter`: g[n, c].flat[indices[n, c, ...]]."""
    if plan(g, None, indices) == "reference":
        return reference.unpool_gather(g, indices)
    N, C = g.shape[:2]
    out = np.empty((N * C, indices[0, 0].size if indices.size else 0), dtype=g.dtype)
    direct.unpool_gather(
        np.ascontiguousarray(g).reshape(N * C, -1),
        np.ascontiguousarray(indices, dtype=np.int64).reshape(N * C, -1),
        out,
    )
    return out.reshape(indices.shape)
