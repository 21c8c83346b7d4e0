"""Pooling kernels: max (with the argmax tap), average, adaptive windows, unpooling.

Every window op here is a loop over the kh·kw kernel taps, each tap one strided slice of
the padded channels-first input, so the Python loop runs k·k times, never per pixel:

    max pool   y = max_t xpad[tap t],            arg = the first t reaching the max
    avg pool   y = (Σ_t xpad[tap t]) / divisor
    backward   dxpad[tap t] += dy · [arg == t]   (max: route to the argmax)
               dxpad[tap t] += dy / divisor      (avg: spread evenly over the window)

Max pooling over windows larger than 2×2 is separable — a max over the kw columns of each
row, then over the kh rows — so it loops kh + kw times instead of kh·kw.
"""
from __future__ import annotations

import numpy as np

from .im2col import (Pair, compact, conv_output_size, copy_rows, from_cnhw, tap_slices,
                     to_cnhw)


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
        return compact(gp[:, :, ph:ph + H, pw:pw + W])

    def padded(self, x, fill):
        """x with its padding (and ceil_mode overhang) filled; x itself when there is none.
        Pooling works per channel, so it stays NCHW: no channels-first copy is needed."""
        (H, W), (ph, pw), (eh, ew) = self.hw, self.padding, self.extra
        if not (ph or pw or eh or ew):
            return x
        out = np.full(x.shape[:2] + (H + 2 * ph + eh, W + 2 * pw + ew), fill, dtype=x.dtype)
        copy_rows(out[:, :, ph:ph + H, pw:pw + W], x)
        return out

    def zeros_padded(self, N, C, dtype):
        (H, W), (ph, pw), (eh, ew) = self.hw, self.padding, self.extra
        return np.zeros((N, C, H + 2 * ph + eh, W + 2 * pw + ew), dtype=dtype)

    @property
    def disjoint(self) -> bool:
        """No two windows share an input position (then backward may assign, not add)."""
        return all(s >= d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation,
                                                            self.kernel))


def _axis_taps(geo: PoolGeometry, axis: int) -> list[slice]:
    """Along one axis (0: H, 1: W), the slice of padded positions each kernel tap reads."""
    k, s, d, o = geo.kernel[axis], geo.stride[axis], geo.dilation[axis], geo.out[axis]
    return [slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]


def _running_max(views, with_arg: bool, nan_rule: bool):
    """(max over `views`, index of the first view reaching it — the last NaN under
    `nan_rule`, PyTorch's "take val if val > max or val is NaN" — or None)."""
    y = np.maximum(views[0], views[1]) if len(views) > 1 else views[0].copy()
    if not with_arg:
        for v in views[2:]:
            np.maximum(y, v, out=y)
        return y, None
    if len(views) == 1:
        return y, np.zeros(y.shape, dtype=np.uint8)
    arg = None
    for t, v in enumerate(views[1:], 1):
        upd = v > (views[0] if t == 1 else y)
        if nan_rule:
            upd |= np.isnan(v)
        if arg is None:
            arg = upd.view(np.uint8) if len(views) <= 256 else upd.astype(np.int32)
            continue
        # taps come in increasing order, so "set to t where upd" is a max; this
        # branch-free arithmetic is ~20x faster than copyto(where=) on a random mask
        np.maximum(arg, upd.view(np.uint8) * arg.dtype.type(t), out=arg)
        np.maximum(y, v, out=y)
    return y, arg


def _halving(geo: PoolGeometry) -> bool:
    """The 2×2 / stride 2 window without padding or dilation: its four taps read each
    position of an even-sized input exactly once, so the backward needs no zeroed buffer."""
    return (geo.kernel == (2, 2) and geo.stride == (2, 2) and geo.padding == (0, 0)
            and geo.dilation == (1, 1) and geo.extra == (0, 0))


def _channels_first(a: np.ndarray) -> bool:
    """An NCHW view of a channels-first (C, N, H, W) buffer, as convolutions return: pool
    that buffer as it lies (mixing the two layouts in one ufunc ran 3x slower)."""
    return a is not None and not a.flags.c_contiguous and to_cnhw(a).flags.c_contiguous


def _map_arg(f, arg):
    return tuple(map(f, arg)) if isinstance(arg, tuple) else (None if arg is None else f(arg))


def _separable(geo: PoolGeometry) -> bool:
    """Max over the columns of each row, then over rows: kh + kw passes instead of kh·kw
    (3×3/2: 2.2x faster); for 2×2 the column pass over twice the data loses (measured)."""
    kh, kw = geo.kernel
    return kh * kw > kh + kw


def max_pool2d_forward(x: np.ndarray, geo: PoolGeometry, with_arg: bool):
    """(y, arg): y the window maxima (N, C, Ho, Wo); arg which tap of its window each
    maximum came from (the first one on ties; NaN propagates and wins, as in PyTorch), or
    None. arg is the tap index t = i·kw + j, or for separable windows the pair (row tap i,
    column tap j of every row).

    Separable: c[h, wo] = max_j xpad[h, wo·sw + j·dw], then y = max_i c[ho·sh + i·dh, wo].
    Scanning columns first keeps PyTorch's tie rule: the first maximum in row-major order
    is the first row reaching the max, and in it the first column.
    """
    if _channels_first(x):
        y, arg = max_pool2d_forward(to_cnhw(x), geo, with_arg)
        return from_cnhw(y), _map_arg(from_cnhw, arg)
    xp = geo.padded(x, -np.inf)
    rows, cols = _axis_taps(geo, 0), _axis_taps(geo, 1)
    xp = xp[:, :, :rows[-1].stop]  # rows no window reads
    nan_rule = False
    while True:
        if _separable(geo):
            c, ctap = _running_max([xp[:, :, :, ws] for ws in cols], with_arg, nan_rule)
            y, rtap = _running_max([c[:, :, hs] for hs in rows], with_arg, nan_rule)
            arg = (rtap, ctap)
        else:
            y, arg = _running_max([xp[:, :, hs, ws] for _, (hs, ws) in geo.taps()], with_arg,
                                  nan_rule)
        # NaN propagates through the max, so a NaN-free y means no window held one
        if not with_arg or nan_rule or not np.isnan(y).any():
            return y, (arg if with_arg else None)
        nan_rule = True


def _select(values: np.ndarray, mask: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = values where mask, else +0 — exact for ±inf and NaN (a multiply by the mask
    would turn inf·0 into NaN; np.where ran 16x slower on random masks): the float's bits
    ANDed with all-ones or all-zeros."""
    bits = np.dtype(f"u{values.itemsize}")
    np.bitwise_and(values.view(bits), np.negative(mask.view(np.uint8), dtype=bits),
                   out=out.view(bits))
    return out


def _route(dy: np.ndarray, tap: np.ndarray, regions: list, disjoint: bool,
           out: np.ndarray) -> None:
    """out[region of tap t] (+)= dy where tap == t: the adjoint of one running max."""
    tmp = None if disjoint else np.empty_like(dy)
    for t, region in enumerate(regions):
        if disjoint:  # each position is in one window: write, no read-modify-write
            np.multiply(dy, tap == t, out=out[region])
        else:
            out[region] += _select(dy, tap == t, out=tmp)


def max_pool2d_backward(dy: np.ndarray, arg, geo: PoolGeometry) -> np.ndarray:
    """dx: each output gradient added to the input position of its window's maximum —
    max-unpooling by tap index (the adjoint of the forward's gather); for separable
    windows in the forward's two steps: rows first (dy → dc), then columns (dc → dx)."""
    if _channels_first(arg[0] if isinstance(arg, tuple) else arg):
        return from_cnhw(max_pool2d_backward(to_cnhw(dy), _map_arg(to_cnhw, arg), geo))
    N, C = dy.shape[:2]
    if _halving(geo) and geo.hw == (2 * geo.out[0], 2 * geo.out[1]):
        gp = np.empty((N, C) + geo.hw, dtype=dy.dtype)  # the four taps write every position
    else:
        gp = geo.zeros_padded(N, C, dy.dtype)
    if not _separable(geo):
        _route(dy, arg, [(..., hs, ws) for _, (hs, ws) in geo.taps()], geo.disjoint, gp)
        return geo.crop(gp)
    rtap, ctap = arg
    (sh, sw), (dh, dw), (kh, kw) = geo.stride, geo.dilation, geo.kernel
    dc = np.zeros(ctap.shape, dtype=dy.dtype)
    _route(dy, rtap, [(..., hs, slice(None)) for hs in _axis_taps(geo, 0)],
           sh >= dh * (kh - 1) + 1, dc)
    _route(dc, ctap, [(..., slice(0, dc.shape[2]), ws) for ws in _axis_taps(geo, 1)],
           sw >= dw * (kw - 1) + 1, gp)
    return geo.crop(gp)


def tap_to_flat_index(arg, geo: PoolGeometry) -> np.ndarray:
    """PyTorch's indices: the argmax as h·W + w in the unpadded input plane."""
    kh, kw = geo.kernel
    (Ho, Wo), (sh, sw), (ph, pw), (dh, dw) = geo.out, geo.stride, geo.padding, geo.dilation
    if _separable(geo):
        rtap, ctap = arg
        # the column tap chosen in the row each maximum came from
        rtap = rtap.astype(np.intp)
        ctap = np.take_along_axis(ctap, np.arange(Ho)[:, None] * sh + rtap * dh, axis=2)
        arg = rtap * kw + ctap
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
