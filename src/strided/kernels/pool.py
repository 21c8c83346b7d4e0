"""Pooling kernels: max (with the argmax tap), average, adaptive windows, unpooling.

Every window op here is a loop over the kh·kw kernel taps, each tap one strided slice of
the padded channels-first input, so the Python loop runs k·k times, never per pixel:

    max pool   y = max_t xpad[tap t],            arg = the first t reaching the max
    avg pool   y = (Σ_t xpad[tap t]) / divisor
    backward   dxpad[tap t] += dy · [arg == t]   (max: route to the argmax)
               dxpad[tap t] += dy / divisor      (avg: spread evenly over the window)
"""
from __future__ import annotations

import numpy as np

from .im2col import Pair, conv_output_size, tap_slices


class PoolGeometry:
    """Output size and padding of a pooling window over an (H, W) input."""

    def __init__(self, hw: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                 ceil_mode: bool):
        self.hw, self.kernel, self.stride, self.padding, self.dilation = (
            tuple(hw), kernel, stride, padding, dilation)
        self.out = tuple(conv_output_size(n, k, s, p, p, d, ceil_mode)
                         for n, k, s, p, d in zip(hw, kernel, stride, padding, dilation))
        self.pads = tuple((p, p) for p in padding)
        # ceil_mode: the last window may run past the padding; pad that much more at the end
        self.extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
                           for o, n, k, s, p, d in zip(self.out, hw, kernel, stride, padding,
                                                       dilation))

    def taps(self):
        kh, kw = self.kernel
        for t in range(kh * kw):
            yield t, tap_slices(t // kw, t % kw, self.out, self.stride, self.dilation)

    def crop(self, gp):
        (ph, pw), (H, W) = self.padding, self.hw
        return gp[:, :, ph:ph + H, pw:pw + W]

    def padded(self, x, fill):
        """x with its padding (and ceil_mode overhang) filled; x itself when there is none.
        Pooling works per channel, so it stays NCHW: no channels-first copy is needed."""
        (H, W), (ph, pw), (eh, ew) = self.hw, self.padding, self.extra
        if not (ph or pw or eh or ew):
            return x
        out = np.full(x.shape[:2] + (H + 2 * ph + eh, W + 2 * pw + ew), fill, dtype=x.dtype)
        out[:, :, ph:ph + H, pw:pw + W] = x
        return out

    def zeros_padded(self, N, C, dtype):
        (H, W), (ph, pw), (eh, ew) = self.hw, self.padding, self.extra
        return np.zeros((N, C, H + 2 * ph + eh, W + 2 * pw + ew), dtype=dtype)

    @property
    def disjoint(self) -> bool:
        """No two windows share an input position (then backward may assign, not add)."""
        return all(s >= d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation,
                                                            self.kernel))


def max_pool2d_forward(x: np.ndarray, geo: PoolGeometry, with_arg: bool):
    """(y, arg): y the window maxima (N, C, Ho, Wo); arg the tap index of each maximum
    (the first one on ties; NaN propagates and wins, as in PyTorch), or None."""
    xp = geo.padded(x, -np.inf)
    y = arg = None
    nan_rule = False
    while True:
        for t, (hs, ws) in geo.taps():
            v = xp[:, :, hs, ws]
            if t == 0:
                y = v.copy()
                if with_arg:
                    taps = geo.kernel[0] * geo.kernel[1]
                    arg = np.zeros(y.shape, dtype=np.uint8 if taps <= 256 else np.int32)
                continue
            if with_arg:
                upd = v > y
                if nan_rule:  # PyTorch's rule: take val if val > max or val is NaN
                    upd |= np.isnan(v)
                # taps come in increasing order, so "set to t where upd" is a max; this
                # branch-free arithmetic is ~20x faster than copyto(where=) on a random mask
                np.maximum(arg, upd.view(np.uint8) * arg.dtype.type(t), out=arg)
            np.maximum(y, v, out=y)
        # NaN propagates through the max, so a NaN-free y means no window held one
        if not with_arg or nan_rule or not np.isnan(y).any():
            return y, arg
        nan_rule = True


def max_pool2d_backward(dy: np.ndarray, arg: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    """dx: each output gradient added to the input position of its window's maximum —
    max-unpooling by tap index (the adjoint of the forward's gather)."""
    N, C = dy.shape[:2]
    gp = geo.zeros_padded(N, C, dy.dtype)
    zero = dy.dtype.type(0)
    for t, (hs, ws) in geo.taps():
        if geo.disjoint:  # each input cell is in one window: write, no read-modify-write
            np.multiply(dy, arg == t, out=gp[:, :, hs, ws])
        else:
            gp[:, :, hs, ws] += np.where(arg == t, dy, zero)
    return geo.crop(gp)


def tap_to_flat_index(arg: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    """PyTorch's indices: the argmax as h·W + w in the unpadded input plane."""
    kh, kw = geo.kernel
    (Ho, Wo), (sh, sw), (ph, pw), (dh, dw) = geo.out, geo.stride, geo.padding, geo.dilation
    h = (np.arange(Ho) * sh - ph)[:, None] + (arg // kw) * dh
    w = (np.arange(Wo) * sw - pw)[None, :] + (arg % kw) * dw
    return (h * geo.hw[1] + w).astype(np.int64)


def avg_divisor(geo: PoolGeometry, count_include_pad: bool, divisor_override, dtype):
    """The (Ho, Wo) window sizes an average divides by.

    count_include_pad: the window clipped to the padded input, (min(s·o − p + k, n + p) −
    (s·o − p)); otherwise clipped to the input itself. PyTorch's rule, per axis, multiplied.
    """
    if divisor_override:
        return np.asarray(divisor_override, dtype=dtype)
    counts = []
    for n, o, k, s, p in zip(geo.hw, geo.out, geo.kernel, geo.stride, geo.padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.outer(counts[0], counts[1]).astype(dtype)


def avg_pool2d_forward(x: np.ndarray, geo: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    xp = geo.padded(x, 0)
    y = None
    for t, (hs, ws) in geo.taps():
        if y is None:
            y = xp[:, :, hs, ws].copy()
        else:
            y += xp[:, :, hs, ws]
    y /= divisor
    return y


def avg_pool2d_backward(dy: np.ndarray, geo: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    N, C = dy.shape[:2]
    gp = geo.zeros_padded(N, C, dy.dtype)
    share = dy / divisor
    for t, (hs, ws) in geo.taps():
        gp[:, :, hs, ws] += share
    return geo.crop(gp)


def adaptive_windows(n: int, out: int) -> list[tuple[int, int]]:
    """Window i covers [⌊i·n/out⌋, ⌈(i+1)·n/out⌉)."""
    return [((i * n) // out, -(-((i + 1) * n) // out)) for i in range(out)]


def adaptive_avg_matrix(n: int, out: int, dtype) -> np.ndarray:
    """(out, n) matrix averaging each adaptive window, so y = A_h · x · A_wᵀ."""
    a = np.zeros((out, n), dtype=dtype)
    for i, (s, e) in enumerate(adaptive_windows(n, out)):
        a[i, s:e] = 1.0 / (e - s)
    return a


def adaptive_max_pool2d_forward(x: np.ndarray, out: Pair):
    """(y, flat indices h·W + w) for adaptive windows; one reduction per output cell."""
    N, C, H, W = x.shape
    Ho, Wo = out
    y = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    idx = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for i, (hs, he) in enumerate(adaptive_windows(H, Ho)):
        for j, (ws, we) in enumerate(adaptive_windows(W, Wo)):
            win = x[:, :, hs:he, ws:we].reshape(N, C, -1)
            a = np.argmax(win, axis=2)  # first maximum; NaN counts as the maximum
            y[:, :, i, j] = np.take_along_axis(win, a[..., None], axis=2)[..., 0]
            idx[:, :, i, j] = (hs + a // (we - ws)) * W + ws + a % (we - ws)
    return y, idx


def unpool_scatter(values: np.ndarray, indices: np.ndarray, hw: Pair,
                   accumulate: bool) -> np.ndarray:
    """out[n, c].flat[indices[n, c, ...]] = values[n, c, ...] (added up if `accumulate`)."""
    N, C = values.shape[:2]
    HW = hw[0] * hw[1]
    flat = (indices.reshape(N * C, -1) + (np.arange(N * C) * HW)[:, None]).ravel()
    v = values.reshape(-1)
    if accumulate:
        out = np.bincount(flat, weights=v, minlength=N * C * HW).astype(values.dtype,
                                                                         copy=False)
    else:
        out = np.zeros(N * C * HW, dtype=values.dtype)
        out[flat] = v
    return out.reshape(N, C, *hw)


def unpool_gather(g: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The adjoint of `unpool_scatter`: g[n, c].flat[indices[n, c, ...]]."""
    N, C = g.shape[:2]
    return np.take_along_axis(g.reshape(N, C, -1), indices.reshape(N, C, -1),
                              axis=2).reshape(indices.shape)
