"""The NumPy reference of the pooling kernels: max (with the argmax tap), average, adaptive
windows, unpooling.

Every window op here is a loop over the kh·kw kernel taps, each tap one slice of the
padded input, so the Python loop runs k·k times, never per pixel:

    max pool   y = max_t xpad[tap t],            arg = the first t reaching the max
    avg pool   y = (Σ_t xpad[tap t]) / divisor
    backward   dxpad[tap t] += dy · [arg == t]   (max: route to the argmax)
               dxpad[tap t] += dy / divisor      (avg: spread evenly over the window)

Max pooling reads its taps as flat contiguous runs of polyphase grids (`FlatWindows`), and
windows larger than 2×2 at stride 1 are separable — a max over the kw columns of each row,
then over the kh rows — so it loops kh + kw times instead of kh·kw.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ...device import array_module
from ..im2col import (
    Pair,
    compact,
    conv_output_size,
    copy_rows,
    from_cnhw,
    is_channels_first,
    tap_slices,
    to_cnhw,
)


class PoolGeometry:
    """Output size and padding of a pooling window over an (H, W) input."""

    def __init__(
        self, hw: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil_mode: bool
    ):
        self.hw, self.kernel, self.stride, self.padding, self.dilation = (
            tuple(hw),
            kernel,
            stride,
            padding,
            dilation,
        )
        self.out = tuple(
            conv_output_size(n, k, s, p, p, d, ceil_mode)
            for n, k, s, p, d in zip(hw, kernel, stride, padding, dilation, strict=True)
        )
        self.pads = tuple((p, p) for p in padding)
        # ceil_mode: the last window may run past the padding; pad that much more at the end
        self.extra = tuple(
            max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
            for o, n, k, s, p, d in zip(
                self.out, hw, kernel, stride, padding, dilation, strict=True
            )
        )

    def taps(self):
        kh, kw = self.kernel
        for t in range(kh * kw):
            yield t, tap_slices(t // kw, t % kw, self.out, self.stride, self.dilation)

    def crop(self, gp):
        (ph, pw), (H, W) = self.padding, self.hw
        return compact(gp[:, :, ph : ph + H, pw : pw + W])

    def padded(self, x, fill):
        """x with its padding (and ceil_mode overhang) filled; x itself when there is none.
        Pooling works per channel, so it stays NCHW: no channels-first copy is needed."""
        (H, W), (ph, pw), (eh, ew) = self.hw, self.padding, self.extra
        if not (ph or pw or eh or ew):
            return x
        shape = x.shape[:2] + (H + 2 * ph + eh, W + 2 * pw + ew)
        out = array_module(x).full(shape, fill, dtype=x.dtype)
        copy_rows(out[:, :, ph : ph + H, pw : pw + W], x)
        return out

    def zeros_padded(self, N, C, dtype, xp: ModuleType = np):
        (H, W), (ph, pw), (eh, ew) = self.hw, self.padding, self.extra
        return xp.zeros((N, C, H + 2 * ph + eh, W + 2 * pw + ew), dtype=dtype)


class FlatWindows:
    """Max-pool windows over the padded input split into polyphase grids laid flat (on
    the CPU; a device reads every tap in place from the padded input).

    Tap (i, j) of output (ho, wo) reads padded (sh·ho + i·dh, sw·wo + j·dw), which is
    phase (a, b) = ((i·dh) mod sh, (j·dw) mod sw) at (ho + ⌊i·dh/sh⌋, wo + ⌊j·dw/sw⌋).
    Each phase is an (N, C, Hb, Wb) grid, Hb = Ho + the largest row offset (Wb likewise),
    stored flat; then one tap over all outputs is ONE contiguous run, phase[o : o + T],
    o = ⌊i·dh/sh⌋·Wb + ⌊j·dw/sw⌋, T = N·C·Hb·Wb: outputs are computed on the whole
    Hb × Wb grid and cropped to Ho × Wo. NumPy runs a ufunc over one long run several
    times faster than over rows of Wo (3×3/2 over 64ch @56: a strided add of one tap's
    gradient took 2.7 ms, a flat one 0.3 ms).

    Separable windows take a max over each row's column taps first, then over the row
    taps: (sh·kw + kh) runs instead of kh·kw, used where that is fewer (3×3/1: 6 < 9).
    """

    def __init__(self, geo: PoolGeometry, shape):
        (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.stride, geo.dilation
        self.geo, self.shape = geo, tuple(shape)
        self.rows = [((i * dh) % sh, (i * dh) // sh) for i in range(kh)]  # (phase, offset)
        self.cols = [((j * dw) % sw, (j * dw) // sw) for j in range(kw)]
        (Ho, Wo) = geo.out
        self.Hb = Ho + max(o for _, o in self.rows)
        self.Wb = Wo + max(o for _, o in self.cols)
        self.T = shape[0] * shape[1] * self.Hb * self.Wb
        self.Tc = self.T + (self.Hb - Ho) * self.Wb  # a column stage's run, row shifts too
        self.size = self.Tc + self.Wb - Wo  # a phase buffer: every tap's run fits
        self.separable = sh * kw + kh < kh * kw
        self.row_phases = sorted({a for a, _ in self.rows})
        self.col_phases = sorted({b for b, _ in self.cols})
        self.phases = [(a, b) for a in self.row_phases for b in self.col_phases]

    def grid(self, flat: np.ndarray) -> np.ndarray:
        """The first T values of a flat buffer as the (N, C, Hb, Wb) grid."""
        return flat[: self.T].reshape(self.shape[:2] + (self.Hb, self.Wb))

    def crop(self, flat: np.ndarray) -> np.ndarray:
        Ho, Wo = self.geo.out
        return self.grid(flat)[:, :, :Ho, :Wo]

    def _row_spans(self):
        """Per row phase a: (input rows h0::sh it holds, where they start in it, how many),
        and how many input columns any window reads."""
        (H, W), (ph, pw), (sh, sw) = self.geo.hw, self.geo.padding, self.geo.stride
        nw = max(0, min(W, sw * self.Wb - pw))
        for a in self.row_phases:
            h0 = (a - ph) % sh
            r0 = (h0 + ph) // sh
            nh = max(0, min(len(range(h0, H, sh)), self.Hb - r0))
            yield a, slice(h0, h0 + sh * nh, sh), slice(r0, r0 + nh), nw

    def _row_grid(self, flat: np.ndarray) -> np.ndarray:
        """A row phase's flat buffer as (N, C, Hb, sw·Wb): its padded rows, columns of
        every column phase interleaved as in the input."""
        return flat.reshape(self.shape[:2] + (self.Hb, self.geo.stride[1] * self.Wb))

    def split(self, x: np.ndarray, fill: float) -> dict:
        """x (N, C, H, W) → {phase: flat buffer}, padding and margins = fill. In two long
        passes: the padded rows of each row phase (whole rows copied), then each column
        phase read out of them at stride sw as one 1-D run (a 2-D strided gather of runs
        of Wo ran 2x slower)."""
        sw, pw = self.geo.stride[1], self.geo.padding[1]
        phases = {}
        for a, hs, rs, nw in self._row_spans():
            rows = np.full(self.T * sw, fill, dtype=x.dtype)
            copy_rows(self._row_grid(rows)[:, :, rs, pw : pw + nw], x[:, :, hs, :nw])
            for b in self.col_phases:
                buf = np.empty(self.size, dtype=x.dtype)
                np.copyto(buf[: self.T], rows[b::sw])
                buf[self.T :] = fill
                phases[a, b] = buf
        return phases

    def merge(self, grads: dict) -> np.ndarray:
        """The adjoint of `split`: phase gradients back on the input grid (N, C, H, W); an
        input no window reads gets 0."""
        (H, W), (sw, pw) = self.geo.hw, (self.geo.stride[1], self.geo.padding[1])
        spans = list(self._row_spans())
        dtype = next(iter(grads.values())).dtype
        covered = sum(rs.stop - rs.start for _, _, rs, _ in spans) == H and spans[0][3] == W
        dx = (np.empty if covered else np.zeros)(self.shape, dtype=dtype)
        rows = (np.empty if len(self.col_phases) == sw else np.zeros)(self.T * sw, dtype=dtype)
        for a, hs, rs, nw in spans:
            for b in self.col_phases:
                np.copyto(rows[b::sw], grads[a, b][: self.T])
            copy_rows(dx[:, :, hs, :nw], self._row_grid(rows)[:, :, rs, pw : pw + nw])
        return dx

    def runs(self, bufs: dict, length: int):
        """Per column tap j: {row phase a: the run phase (a, b_j)[co_j : co_j + length]}."""
        return [{a: bufs[a, b][o : o + length] for a, _ in self.rows} for b, o in self.cols]

    def taps(self, bufs: dict):
        """Every tap (i, j) in row-major order: the run it reads over all T outputs."""
        return [
            bufs[a, b][ro * self.Wb + co : ro * self.Wb + co + self.T]
            for a, ro in self.rows
            for b, co in self.cols
        ]


class PoolArgmax:
    """Which tap each window maximum came from: `taps` = (tap index t = i·kw + j,) or,
    separable, (row tap i, then per row phase the column tap j of every row), as flat runs
    of `windows` — or, where windows tile the input (`windows` None), on the output grid.
    `shape` is the pooled array's, (C, N, H, W) when it was `channels_first`."""

    def __init__(self, windows, taps: tuple, shape, channels_first: bool):
        self.windows, self.taps = windows, taps
        self.shape, self.channels_first = shape, channels_first


def tiles(geo: PoolGeometry) -> bool:
    """Windows that tile the input (2×2 / stride 2, no padding): each tap is read in
    place, one strided view of x; splitting x into phase grids first cost more than it
    saved there (64ch @32: 15 vs 12 ms forward)."""
    return (
        geo.kernel == geo.stride
        and geo.padding == (0, 0)
        and geo.dilation == (1, 1)
        and geo.extra == (0, 0)
    )


def _running_max(views, with_arg: bool, nan_rule: bool):
    """(max over `views`, index of the first view reaching it — the last NaN under
    `nan_rule`, PyTorch's "take val if val > max or val is NaN" — or None)."""
    xp = array_module(views[0])
    y = xp.maximum(views[0], views[1]) if len(views) > 1 else views[0].copy()
    if not with_arg:
        for v in views[2:]:
            xp.maximum(y, v, out=y)
        return y, None
    if len(views) == 1:
        return y, xp.zeros(y.shape, dtype=np.uint8)
    arg = None
    for t, v in enumerate(views[1:], 1):
        upd = v > (views[0] if t == 1 else y)
        if nan_rule:
            upd |= xp.isnan(v)
        if arg is None:
            arg = upd.view(np.uint8) if len(views) <= 256 else upd.astype(np.int32)
            continue
        # taps come in increasing order, so "set to t where upd" is a max; this
        # branch-free arithmetic is ~20x faster than copyto(where=) on a random mask
        xp.maximum(arg, upd.view(np.uint8) * arg.dtype.type(t), out=arg)
        xp.maximum(y, v, out=y)
    return y, arg


def max_pool2d_forward(x: np.ndarray, geo: PoolGeometry, with_arg: bool):
    """(y, arg): y the window maxima (N, C, Ho, Wo); arg a `PoolArgmax` saying which tap
    of its window each maximum came from (the first one on ties; NaN propagates and wins,
    as in PyTorch), or None.

    Separable: c[h, wo] = max_j xpad[h, wo·sw + j·dw], then y = max_i c[ho·sh + i·dh, wo].
    Scanning columns first keeps PyTorch's tie rule: the first maximum in row-major order
    is the first row reaching the max, and in it the first column.

    On a device the taps are read in place from the padded input (no phase grids), and
    the NaN rule is applied from the start: testing y for NaN would wait on the device.
    """
    channels_first = is_channels_first(x)
    src = to_cnhw(x) if channels_first else x
    on_host = type(x) is np.ndarray
    if tiles(geo) or not on_host:
        padded = geo.padded(src, -np.inf)
        win, views = None, [padded[:, :, hs, ws] for _, (hs, ws) in geo.taps()]
    else:
        win = FlatWindows(geo, src.shape)
        phases = win.split(src, -np.inf)
    nan_rule = not on_host
    while True:
        if win is None:
            y, tap = _running_max(views, with_arg, nan_rule)
            taps = (tap,)
        elif win.separable:
            cs, ctaps = {}, []
            for a in win.row_phases:
                cs[a], ct = _running_max(
                    [r[a] for r in win.runs(phases, win.Tc)], with_arg, nan_rule
                )
                ctaps.append(ct)
            y, rtap = _running_max(
                [cs[a][o * win.Wb : o * win.Wb + win.T] for a, o in win.rows], with_arg, nan_rule
            )
            taps = (rtap, *ctaps)
        else:
            y, tap = _running_max(win.taps(phases), with_arg, nan_rule)
            taps = (tap,)
        y = y if win is None else compact(win.crop(y))
        # NaN propagates through the max, so a NaN-free y means no window held one
        if not with_arg or nan_rule or not np.isnan(y).any():
            break
        nan_rule = True
    arg = PoolArgmax(win, taps, src.shape, channels_first) if with_arg else None
    return (from_cnhw(y) if channels_first else y), arg


def _select(values: np.ndarray, mask: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = values where mask, else +0 — exact for ±inf and NaN (a multiply by the mask
    would turn inf·0 into NaN; np.where ran 16x slower on random masks): the float's bits
    ANDed with all-ones or all-zeros."""
    if type(values) is not np.ndarray:  # a device's where is one fused kernel
        out[...] = array_module(values).where(mask, values, values.dtype.type(0))
        return out
    bits = np.dtype(f"u{values.itemsize}")
    np.bitwise_and(
        values.view(bits), np.negative(mask.view(np.uint8), dtype=bits), out=out.view(bits)
    )
    return out


def _route(dy: np.ndarray, tap: np.ndarray, targets: list, written: set) -> None:
    """targets[t] (+)= dy where tap == t, over flat runs: the adjoint of one running max.
    A target's buffer (`written` holds those touched) is assigned on its first visit and
    added to after, so the zeroed buffers need no read-modify-write the first time."""
    tmp = None
    for t, (key, run) in enumerate(targets):
        if key not in written:
            written.add(key)
            _select(dy, tap == t, out=run)
        else:
            tmp = array_module(dy).empty_like(dy) if tmp is None else tmp
            run += _select(dy, tap == t, out=tmp)


def max_pool2d_backward(dy: np.ndarray, arg: PoolArgmax, geo: PoolGeometry) -> np.ndarray:
    """dx: each output gradient added to the input position of its window's maximum —
    max-unpooling by tap index (the adjoint of the forward's gather); for separable
    windows in the forward's two steps: rows first (dy → dc), then columns (dc → dx)."""
    win, dy = arg.windows, (to_cnhw(dy) if arg.channels_first else dy)
    xp = array_module(dy)
    if win is None and tiles(geo):  # every input position is in one window at most
        (kh, kw), (Ho, Wo) = geo.kernel, geo.out
        covered = geo.hw == (kh * Ho, kw * Wo)
        dx = (xp.empty if covered else xp.zeros)(arg.shape, dtype=dy.dtype)
        for t, (hs, ws) in geo.taps():
            _select(dy, arg.taps[0] == t, out=dx[:, :, hs, ws])
        return from_cnhw(dx) if arg.channels_first else dx
    if win is None:  # taps read in place from the padded input (a device): windows overlap
        gp = geo.zeros_padded(arg.shape[0], arg.shape[1], dy.dtype, xp)
        zero = dy.dtype.type(0)
        for t, (hs, ws) in geo.taps():
            gp[:, :, hs, ws] += xp.where(arg.taps[0] == t, dy, zero)
        dx = geo.crop(gp)
        return from_cnhw(dx) if arg.channels_first else dx
    g = np.zeros(win.T, dtype=dy.dtype)  # dy on the whole grid, 0 where no output is
    copy_rows(win.crop(g), dy)
    grads = {p: np.zeros(win.size, dtype=dy.dtype) for p in win.phases}
    written: set = set()
    if win.separable:
        rtap, ctaps = arg.taps[0], arg.taps[1:]
        dcs = {a: np.zeros(win.Tc, dtype=dy.dtype) for a in win.row_phases}
        _route(g, rtap, [(a, dcs[a][o * win.Wb : o * win.Wb + win.T]) for a, o in win.rows], set())
        for a, ct in zip(win.row_phases, ctaps, strict=True):
            _route(
                dcs[a], ct, [((a, b), grads[a, b][o : o + win.Tc]) for b, o in win.cols], written
            )
    else:
        keys = [(a, b) for a, _ in win.rows for b, _ in win.cols]
        _route(g, arg.taps[0], list(zip(keys, win.taps(grads), strict=True)), written)
    dx = win.merge(grads)
    return from_cnhw(dx) if arg.channels_first else dx


def tap_to_flat_index(arg: PoolArgmax, geo: PoolGeometry) -> np.ndarray:
    """PyTorch's indices: the argmax as h·W + w in the unpadded input plane, (N, C, Ho, Wo)."""
    win, kw = arg.windows, geo.kernel[1]
    (Ho, Wo), (sh, sw), (ph, pw), (dh, dw) = geo.out, geo.stride, geo.padding, geo.dilation
    if win is None:
        t = arg.taps[0].astype(np.intp)
    elif win.separable:
        rtap = win.crop(arg.taps[0]).astype(np.intp)
        phase_of = {a: k for k, a in enumerate(win.row_phases)}
        # the column tap chosen in the row each maximum came from
        ctap = np.zeros_like(rtap)
        for i, (a, o) in enumerate(win.rows):
            run = arg.taps[1 + phase_of[a]][o * win.Wb : o * win.Wb + win.T]
            np.copyto(ctap, win.crop(run), where=rtap == i)
        t = rtap * kw + ctap
    else:
        t = win.crop(arg.taps[0]).astype(np.intp)
    xp = array_module(t)
    h = (xp.arange(Ho) * sh - ph)[:, None] + (t // kw) * dh
    w = (xp.arange(Wo) * sw - pw)[None, :] + (t % kw) * dw
    idx = (h * geo.hw[1] + w).astype(np.int64)
    return from_cnhw(idx).copy() if arg.channels_first else idx


def avg_divisor(
    geo: PoolGeometry, count_include_pad: bool, divisor_override, dtype, xp: ModuleType = np
):
    """The (Ho, Wo) window sizes an average divides by, made by the array module `xp`
    (computed where it is used: no copy to a device).

    count_include_pad: the window clipped to the padded input, (min(s·o − p + k, n + p) −
    (s·o − p)); otherwise clipped to the input itself. PyTorch's rule, per axis, multiplied.
    """
    if divisor_override:
        return xp.full((), divisor_override, dtype=dtype)
    counts = []
    for n, o, k, s, p in zip(geo.hw, geo.out, geo.kernel, geo.stride, geo.padding, strict=True):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        counts.append(end - start)
    return xp.outer(counts[0], counts[1]).astype(dtype)


def avg_pool2d_forward(x: np.ndarray, geo: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """Window means: the sum over the window's taps, over each window's divisor."""
    xp = geo.padded(x, 0)
    y = None
    for _, (hs, ws) in geo.taps():
        if y is None:
            y = xp[:, :, hs, ws].copy()
        else:
            y += xp[:, :, hs, ws]
    y /= divisor
    return y


def avg_pool2d_backward(dy: np.ndarray, geo: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """dx: each window's dy / divisor added back to every tap it read (padding cropped)."""
    N, C = dy.shape[:2]
    gp = geo.zeros_padded(N, C, dy.dtype, array_module(dy))
    share = dy / divisor
    for _, (hs, ws) in geo.taps():
        gp[:, :, hs, ws] += share
    return geo.crop(gp)


def adaptive_bounds(n: int, out: int, xp: ModuleType = np):
    """(start, end) of the `out` adaptive windows over n: window i covers
    [⌊i·n/out⌋, ⌈(i+1)·n/out⌉)."""
    i = xp.arange(out)
    return (i * n) // out, -(-((i + 1) * n) // out)


def adaptive_avg_matrix(n: int, out: int, dtype, xp: ModuleType = np) -> np.ndarray:
    """(out, n) matrix averaging each adaptive window, so y = A_h · x · A_wᵀ (made by
    the array module `xp`)."""
    start, end = adaptive_bounds(n, out, xp)
    j = xp.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_taps(n: int, out: int, xp: ModuleType):
    """(out, k) positions read by each adaptive window, k the largest window; a shorter
    window repeats its last position, which changes neither its maximum nor the first
    position reaching it."""
    start, end = adaptive_bounds(n, out, xp)
    k = max(-(-((i + 1) * n) // out) - (i * n) // out for i in range(out))
    return xp.minimum(start[:, None] + xp.arange(k), end[:, None] - 1)


def adaptive_max_pool2d_forward(x: np.ndarray, out: Pair):
    """(y, flat indices h·W + w) for adaptive windows: every window gathered at once as
    (N, C, Ho, Wo, kh·kw), then np.argmax (the first maximum; NaN counts as the maximum)."""
    xp = array_module(x)
    N, C, H, W = x.shape
    (Ho, Wo) = out
    rows, cols = _adaptive_taps(H, Ho, xp), _adaptive_taps(W, Wo, xp)
    kh, kw = rows.shape[1], cols.shape[1]
    win = x[:, :, rows[:, :, None, None], cols[None, None, :, :]]  # (N, C, Ho, kh, Wo, kw)
    win = win.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho, Wo, kh * kw)
    a = xp.argmax(win, axis=-1)
    y = xp.take_along_axis(win, a[..., None], axis=-1)[..., 0]
    h = rows[xp.arange(Ho)[:, None], a // kw]
    w = cols[xp.arange(Wo), a % kw]
    return y, (h * W + w).astype(np.int64)


def unpool_scatter(
    values: np.ndarray, indices: np.ndarray, hw: Pair, accumulate: bool
) -> np.ndarray:
    """out[n, c].flat[indices[n, c, ...]] = values[n, c, ...] (added up if `accumulate`);
    values whose index lies outside the plane are dropped (into one extra slot past the
    end), as the compiled kernel skips them — the callers check indices on the CPU, and on
    a device a check would wait for it."""
    xp = array_module(values, indices)
    N, C = values.shape[:2]
    HW = hw[0] * hw[1]
    idx = indices.reshape(N * C, -1)
    flat = idx + (xp.arange(N * C) * HW)[:, None]
    flat = xp.where((idx >= 0) & (idx < HW), flat, N * C * HW).ravel()
    v = values.reshape(-1)
    size = N * C * HW + 1
    if accumulate:
        out = xp.bincount(flat, weights=v, minlength=size).astype(values.dtype, copy=False)
    else:
        out = xp.zeros(size, dtype=values.dtype)
        out[flat] = v
    return out[:-1].reshape(N, C, *hw)


def unpool_gather(g: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The adjoint of `unpool_scatter`: g[n, c].flat[indices[n, c, ...]] (0 for an index
    outside the plane)."""
    N, C = g.shape[:2]
    xp = array_module(g, indices)
    plane = g.reshape(N, C, -1)
    idx = indices.reshape(N, C, -1)
    inside = (idx >= 0) & (idx < plane.shape[2])
    taken = xp.take_along_axis(plane, xp.where(inside, idx, 0), axis=2)
    return xp.where(inside, taken, g.dtype.type(0)).reshape(indices.shape)
