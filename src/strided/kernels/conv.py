"""The three convolution kernels: forward, backward-data, backward-filter.

Everything is written for a 2-D cross-correlation of x (N, C, H, W) with a weight
(O, C/g, kh, kw), as PyTorch defines `conv2d`:

    y[n, o, ho, wo] = Σ_{c, i, j} w[o, c, i, j] · xpad[n, g(o)·C/g + c, ho·sh + i·dh, wo·sw + j·dw]

and the rest follows from it:

* forward            y = W · im2col(x)                           (one GEMM per group)
* backward-data      dx = col2im(Wᵀ · dy)   — the full correlation of the zero-inserted,
                     padded dy with the 180°-rotated kernel, written as the transpose of the
                     forward's matrix. It *is* `conv_transpose2d`'s forward.
* backward-filter    dW = dy · im2col(x)ᵀ   — dE/dw[o,c,i,j] = Σ_{n,ho,wo} dy[n,o,ho,wo] ·
                     xpad[n,c,ho·sh+i·dh,wo·sw+j·dw]: the correlation of the input with dy.

`conv_transpose2d` uses the same three with the roles swapped (its forward is backward-data,
its input gradient is forward, its weight gradient is backward-filter with x and dy swapped),
so there are three fast paths, not six.

Outputs are returned as NCHW views of channels-first (C, N, H, W) buffers: the GEMM writes
that order naturally, and the next layer's im2col reads it contiguously.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .im2col import (Pair, col2im_add, compact, conv_output_size, copy_rows, from_cnhw,
                     im2col_into, is_channels_first, pad_cnhw, to_cnhw)


# Column chunks of about this many bytes stay in the L2/L3 cache between the copy that
# builds them and the GEMM that reads them; one big column buffer made every step
# memory-bound (measured: 1.5-2x slower on ResNet-20 layers).
CHUNK_BYTES = 4 << 20
# ... and hold at most this many output positions: with few column rows a longer block
# left L2 and made the GEMM 2x slower (LeNet conv1, 25 rows: 5376 positions 0.37 ms fwd,
# 8064 or more: 0.73 ms); layers with more rows did not care (±3 %)
MAX_BLOCK = 6144
# ... and for a weight gradient dy · colᵀ with a tiny output, shorter still (LeNet conv1's
# 6×25 dW with 2 BLAS threads: 1.65 ms at 6144 positions, 1.42 ms at 3072; conv2's 16×150
# went 0.9 → 1.0 ms, so only below TINY_DW entries)
MAX_BLOCK_DW, TINY_DW = 3072, 1024
# ... but hold at least this many: with many column rows (C·k² in the thousands) a 4 MB
# block was a few hundred positions, and every block's GEMM re-packed the whole weight
# (forward) or re-wrote the whole weight gradient (dW) for that little work
MIN_BLOCK = 2048


def block_positions(K: int, itemsize: int, most: int = MAX_BLOCK) -> int:
    """Output positions per column block of K rows: about CHUNK_BYTES of columns, within
    [MIN_BLOCK, most]."""
    return min(max(CHUNK_BYTES // (K * itemsize), MIN_BLOCK), most)


# ---------------------------------------------------------------------------------------
# Stride 1: "flat shifts" over a padded, flattened channels-first buffer.
#
# Flatten the padded source per channel: (C, N, Hs, Ws) → one row of N·Hs·Ws values.
# Kernel tap (i, j) then reads the same flat row shifted by s_ij = i·dh·Ws + j·dw, so a
# column block is one strided view (C, kh, kw, images, rows·Ws) with long contiguous runs,
# copied in one call. Outputs are computed for whole rows of width Ws and cropped to the
# valid width afterwards: the Ws − Wo extra columns per row are wasted work (6 % at 32×32,
# 40 % at LeNet's 14×14) that buys copies several times faster than the small-run im2col.
# ---------------------------------------------------------------------------------------


class _FlatGeometry:
    """Where each output of a stride-1 correlation reads a flat (C, N, Hs, Ws) source.

    Output position (n, r, w), r < R, w < Ws, reads source offset
        origin + n·Hs·Ws + r·Ws + w + s_ij,    s_ij = i·dh·Ws + j·dw,
    with `origin` the flat offset of its first output (row r0 of image 0, less any shift
    back for the full correlation). Outputs come as (O, N, R, Ws), channels first.
    """

    def __init__(self, N, source_hw, R, origin, kernel, dilation):
        self.N, (self.Hs, self.Ws), self.R, self.origin = N, source_hw, R, origin
        self.plane = self.Hs * self.Ws
        self.kernel, self.dilation = kernel, dilation
        self.taps = [i * dilation[0] * self.Ws + j * dilation[1]
                     for i in range(kernel[0]) for j in range(kernel[1])]

    def buffer(self, C, dtype, front=0):
        """A zeroed flat buffer for C channels with `front` spare zeros and a tail margin
        (the largest shift, for the last row's reads past its end), and its (C, N, Hs, Ws)
        view."""
        L = self.N * self.plane
        buf = np.zeros(front + C * L + self.taps[-1] + self.Ws, dtype=dtype)
        return buf, buf[front:front + C * L].reshape(C, self.N, self.Hs, self.Ws)

    def chunks(self, K, itemsize, most=MAX_BLOCK):
        """Blocks of output positions, each about CHUNK_BYTES of K-row columns: whole
        images, or some rows of one image. Each block is (images, positions in an image,
        positions in the flat (…, N·R·Ws) outputs), as slices."""
        rows = max(1, block_positions(K, itemsize, most) // self.Ws)
        per = self.R * self.Ws
        if rows >= self.R:
            step = rows // self.R
            for n0 in range(0, self.N, step):
                n1 = min(self.N, n0 + step)
                yield slice(n0, n1), slice(0, per), slice(n0 * per, n1 * per)
        else:
            for n in range(self.N):
                for r in range(0, self.R, rows):
                    q = slice(r * self.Ws, min(self.R, r + rows) * self.Ws)
                    yield slice(n, n + 1), q, slice(n * per + q.start, n * per + q.stop)

    def view(self, buf, C, shift=0, taps=False, writeable=False):
        """buf's values at every output position (+ `shift`, or + every tap's shift), as a
        view (C, [kh, kw,] N, R·Ws) — no copy; a block's part is view[..., images, q].
        Writeable only to add back into (col2im): the taps' views overlap each other."""
        (kh, kw), (dh, dw), it = self.kernel, self.dilation, buf.itemsize
        shape, strides = (C, self.N, self.R * self.Ws), (self.N * self.plane * it,
                                                         self.plane * it, it)
        if taps:
            shape = shape[:1] + (kh, kw) + shape[1:]
            strides = strides[:1] + (dh * self.Ws * it, dw * it) + strides[1:]
        return as_strided(buf[self.origin + shift:], shape, strides, writeable=writeable)

    def column_buffer(self, K, dtype, most=MAX_BLOCK):
        """A reusable (K, block size) buffer: a fresh block per chunk would page-fault its
        way in every time (measured: 3 ms of the 4 ms LeNet conv1 forward)."""
        _, _, span = next(self.chunks(K, np.dtype(dtype).itemsize, most))
        return np.empty((K, span.stop - span.start), dtype=dtype)


def _flat_blocks(L: int, bytes_per_position: int):
    """Slices of range(L) about CHUNK_BYTES each: long runs, so the prefetcher keeps up
    (runs of one 34×34 image ran elementwise loops 2.4x slower than runs of four)."""
    step = max(4096, CHUNK_BYTES // bytes_per_position)
    for l0 in range(0, L, step):
        yield slice(l0, min(L, l0 + step))


def _depthwise_columns(geo: _FlatGeometry, buf: np.ndarray, C: int):
    """(positions, column block (C, kh·kw, n)) over a whole-grid geometry: per channel, the
    k² shifted copies of its rows, copied into one reused buffer."""
    windows = geo.view(buf, C, taps=True)
    windows = windows.reshape(windows.shape[:3] + (-1,))  # whole grid: one run per channel
    taps = len(geo.taps)
    colbuf = None
    for l in _flat_blocks(windows.shape[-1], C * taps * buf.itemsize):
        n = l.stop - l.start
        if colbuf is None:
            colbuf = np.empty((C, taps, n), dtype=buf.dtype)
        col = colbuf[:, :, :n]
        np.copyto(col.reshape(windows.shape[:3] + (n,)), windows[..., l])
        yield l, col


def _columns(windows: np.ndarray, block, out: np.ndarray) -> np.ndarray:
    """im2col of one block: col[(c, i, j), q] = buf[c·L + pos(q) + s_ij], copied from the
    taps' view (C, kh, kw, N, R·Ws) into the reusable buffer `out`; returns (C·kh·kw, n)."""
    imgs, q, span = block
    part = windows[..., imgs, q]
    col = out[:, :span.stop - span.start]
    np.copyto(col.reshape(part.shape), part)
    return col


def _grouped(w2: np.ndarray, groups: int) -> np.ndarray:
    """(O, K) weight matrix → (G, O/G, K)."""
    return w2.reshape(groups, w2.shape[0] // groups, w2.shape[1])


def _flat_correlate(geo: _FlatGeometry, buf: np.ndarray, C: int, wmat: np.ndarray,
                    groups: int) -> np.ndarray:
    """out[o, q] = Σ_{c,i,j} wmat[o, (c,i,j)] · buf[c·L + pos(q) + s_ij], block by block;
    returns (O, N, R, Ws)."""
    O, K = wmat.shape
    out = np.empty((O, geo.N, geo.R, geo.Ws), dtype=buf.dtype)
    flat = out.reshape(O, geo.N, -1)
    if _depthwise(C, O, groups) and K == len(geo.taps):
        # depthwise: one filter per channel, so the GEMM is a batch of C products
        # (1 × k²) · (k² × n), one per channel's column block (1.4x faster than k·k scaled
        # adds of shifted rows)
        acc = out.reshape(O, 1, -1)
        for l, col in _depthwise_columns(geo, buf, C):
            np.matmul(wmat[:, None, :], col, out=acc[:, :, l])
        return out
    wg = _grouped(wmat, groups)
    rows = C * len(geo.taps)  # all groups' columns, copied together
    colbuf = geo.column_buffer(rows, buf.dtype)
    windows = geo.view(buf, C, taps=True)
    flat = out.reshape(O, -1)
    for block in geo.chunks(rows, buf.itemsize):
        col = _columns(windows, block, colbuf)
        dst = flat[:, block[2]]
        if groups == 1:
            np.matmul(wmat, col, out=dst)
        else:
            n = col.shape[1]
            np.matmul(wg, col.reshape(groups, K, n), out=dst.reshape(groups, O // groups, n))
    return out


def _forward_geometry(x_shape, kernel, pads, dilation, whole=False) -> _FlatGeometry:
    """Outputs of the forward correlation: rows 0..Ho−1 of the padded input's grid, or the
    whole grid (`whole`: no gaps between images, so every view is one long 2-D run)."""
    N, _, H, W = x_shape
    ((pt, pb), (pl, pr)), (kh, _), (dh, _) = pads, kernel, dilation
    Hp, Wp = H + pt + pb, W + pl + pr
    return _FlatGeometry(N, (Hp, Wp), Hp if whole else Hp - dh * (kh - 1), 0, kernel,
                         dilation)


def _depthwise(C: int, O: int, groups: int) -> bool:
    """One filter per channel: the GEMM degenerates to k·k scaled adds. These run on the
    whole grid: elementwise loops over gapped 3-D views were measured 1.6x slower."""
    return groups == C == O


def _flat_input(geo: _FlatGeometry, x: np.ndarray, pads) -> np.ndarray:
    (pt, _), (pl, _) = pads
    H, W = x.shape[2:]
    buf, grid = geo.buffer(x.shape[1], x.dtype)
    copy_rows(grid[:, :, pt:pt + H, pl:pl + W], to_cnhw(x))
    return buf


def _flat_grad_output(geo: _FlatGeometry, dy: np.ndarray, rows: int, front: int = 0):
    """dy on a zeroed (O, N, rows, Ws) grid (rows ≥ Ho), after `front` zeros."""
    N, O, Ho, Wo = dy.shape
    buf = np.zeros(front + O * N * rows * geo.Ws + geo.taps[-1] + geo.Ws, dtype=dy.dtype)
    grid = buf[front:front + O * N * rows * geo.Ws].reshape(O, N, rows, geo.Ws)
    copy_rows(grid[:, :, :Ho, :Wo], to_cnhw(dy))
    return buf, grid


# ---------------------------------------------------------------------------------------
# Stride > 1: im2col / col2im block by block (whole images) through one reused buffer, so
# each column block is still in cache when the GEMM reads it (the unblocked 19 MB column
# matrix of ResNet-20's 16→32/2 layer ran its GEMM at half speed).
# ---------------------------------------------------------------------------------------


class _ImageBlocks:
    """Whole-image blocks for the strided im2col, each about CHUNK_BYTES (at most
    MAX_BLOCK positions) of C·kh·kw-row columns, and one reusable column buffer."""

    def __init__(self, C, kernel, N, out_hw, dtype):
        self.shape, self.out_hw = (C,) + tuple(kernel), tuple(out_hw)
        self.K, per = C * kernel[0] * kernel[1], out_hw[0] * out_hw[1]
        step = max(1, block_positions(self.K, np.dtype(dtype).itemsize) // per)
        self.images = [slice(n0, min(N, n0 + step)) for n0 in range(0, N, step)]
        self.buf = np.empty(self.K * min(step, N) * per, dtype=dtype)

    def columns(self, imgs: slice) -> np.ndarray:
        """The buffer as a contiguous (C, kh, kw, images, Ho, Wo) block."""
        shape = self.shape + (imgs.stop - imgs.start,) + self.out_hw
        return self.buf[:int(np.prod(shape))].reshape(shape)


def _gemm_into(a: np.ndarray, b: np.ndarray, groups: int, out: np.ndarray) -> None:
    """out = a (M, K) @ b (G·K, L), block-diagonal over groups: each group's rows of `a`
    meet only that group's rows of `b`."""
    if groups == 1:
        np.matmul(a, b, out=out)
    else:
        n = b.shape[-1]
        np.matmul(_grouped(a, groups), b.reshape(groups, -1, n),
                  out=out.reshape(groups, -1, n))


def _accumulate_dw(dw: np.ndarray, d: np.ndarray, col: np.ndarray, groups: int) -> None:
    """dw (G, O/G, K) += d (O, n) · col (G·K, n)ᵀ, per group."""
    G, Og, K = dw.shape
    n = col.shape[1]
    if groups == 1:
        # OpenBLAS is ~2x faster with the longer side first: dWᵀ = col · dyᵀ
        dw[0] += (col @ d.T).T if K >= Og else d @ col.T
    else:
        dw += np.matmul(d.reshape(G, Og, n), col.reshape(G, K, n).transpose(0, 2, 1))


# ---------------------------------------------------------------------------------------
# Stride > 1 via polyphase components: tap (i, j) of a stride-(sh, sw) correlation reads
#     xpad[sh·ho + i, sw·wo + j] = P_ab[ho + i//sh, wo + j//sw],  a = i mod sh, b = j mod sw,
# with P_ab = xpad[a::sh, b::sw]. So the layer is a sum of sh·sw stride-1 correlations, one
# per phase with the sub-kernel w[:, :, a::sh, b::sw], and each reads its phase through
# the flat-shift views above: long contiguous runs instead of stride-2 gathers of Wo values.
# The input gradient is the adjoint: col2im adds into the phases, which are then
# interleaved back into dx.
# ---------------------------------------------------------------------------------------


class _Polyphase:
    """sh·sw phase grids of Hs × Ws = (Ho + (kh−1)//sh) × (Wo + (kw−1)//sw) in one flat
    channels-first buffer, phase after phase; column rows ordered (phase, c, i', j').

    Input gradient: the strided col2im added back through stride-2 scatters of Wo values
    (6.3 ms of ResNet-20's 16→32/2 step, 2 threads); into the phases every tap's add is
    one long contiguous run (3.4 ms). Forward and weight gradient: the columns are copied
    from phase grids a row of Wo at a time instead of gathered at stride 2 (≈ 10 % faster
    each; splitting all of x up front into a fresh buffer was slower than no split)."""

    def __init__(self, N, C, kernel, stride, out_hw, whole=False):
        (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, out_hw
        self.N, self.C, self.kernel, self.stride, self.out_hw = N, C, kernel, stride, out_hw
        self.Hs, self.Ws = Ho + (kh - 1) // sh, Wo + (kw - 1) // sw
        self.L = N * self.Hs * self.Ws
        self.phases = [(a, b) for a in range(sh) for b in range(sw)]
        R = self.Hs if whole else Ho
        self.geos = [_FlatGeometry(N, (self.Hs, self.Ws), R, p * C * self.L,
                                   (len(range(a, kh, sh)), len(range(b, kw, sw))), (1, 1))
                     for p, (a, b) in enumerate(self.phases)]
        self.K = C * kh * kw
        # rows of each phase's taps inside a column block
        ends = np.cumsum([C * len(g.taps) for g in self.geos])
        self.rows = [slice(e - C * len(g.taps), e) for e, g in zip(ends, self.geos)]

    def buffer(self, dtype):
        """A zeroed flat buffer for all phases (+ a tail margin for the last reads) and its
        (phases, C, N, Hs, Ws) view."""
        size = len(self.phases) * self.C * self.L
        buf = np.zeros(size + self.geos[-1].taps[-1] + self.Ws, dtype=dtype)
        return buf, buf[:size].reshape(len(self.phases), self.C, self.N, self.Hs, self.Ws)

    def split(self, x: np.ndarray, pads, grid: np.ndarray) -> None:
        """x (n ≤ N, C, H, W) into the first n images of a zeroed (phases, C, N, Hs, Ws)
        grid: P_ab[r, c] = xpad[a + sh·r, b + sw·c]. Writes the same positions every
        time, so the zero border survives reuse."""
        (pt, _), (pl, _) = pads
        sh, sw = self.stride
        xc, g = to_cnhw(x), grid[:, :, :x.shape[0]]
        for p, (a, b) in enumerate(self.phases):
            # input row h lands in phase a = (h + pt) mod sh, at row (h + pt) // sh
            h0, w0 = (a - pt) % sh, (b - pl) % sw
            r0, c0 = (h0 + pt) // sh, (w0 + pl) // sw
            src = xc[:, :, h0::sh, w0::sw][:, :, :self.Hs - r0, :self.Ws - c0]
            g[p, :, :, r0:r0 + src.shape[2], c0:c0 + src.shape[3]] = src

    def merge(self, grid: np.ndarray, x_hw, pads) -> np.ndarray:
        """A (phases, C, N, Hs, Ws) gradient back on the input grid, dx (C, N, H, W):
        input (h, w) is P_ab[(h + pt) // sh, (w + pl) // sw], a = (h + pt) mod sh, ..."""
        (pt, _), (pl, _) = pads
        (sh, sw), (H, W) = self.stride, x_hw
        dx = np.zeros((self.C, self.N, H, W), dtype=grid.dtype)
        for p, (a, b) in enumerate(self.phases):
            h0, w0 = (a - pt) % sh, (b - pl) % sw
            dst = dx[:, :, h0::sh, w0::sw][:, :, :self.Hs, :self.Ws]
            r0, c0 = (h0 + pt) // sh, (w0 + pl) // sw
            dst = dst[:, :, :self.Hs - r0, :self.Ws - c0]
            dst[...] = grid[p, :, :, r0:r0 + dst.shape[2], c0:c0 + dst.shape[3]]
        return dx

    def weight(self, w: np.ndarray) -> np.ndarray:
        """w (O, C, kh, kw) → (O, K) with columns in phase order (phase, c, i', j')."""
        sh, sw = self.stride
        return np.concatenate([w[:, :, a::sh, b::sw].reshape(w.shape[0], -1)
                               for a, b in self.phases], axis=1)

    def weight_back(self, wp: np.ndarray) -> np.ndarray:
        """The inverse of `weight`: (O, K) in phase order → (O, C, kh, kw)."""
        (sh, sw), (kh, kw) = self.stride, self.kernel
        w = np.empty((wp.shape[0], self.C, kh, kw), dtype=wp.dtype)
        for (a, b), r, g in zip(self.phases, self.rows, self.geos):
            w[:, :, a::sh, b::sw] = wp[:, r].reshape((wp.shape[0], self.C) + g.kernel)
        return w


def _poly_columns(x: np.ndarray, kernel, stride, pads, out_hw):
    """(images, column block (K, n), phase layout) over whole-image blocks of x, rows in
    phase order, n = images·Ho·Wo. Each block's images are split into one small reused
    phase buffer (a full-size one page-faulted its way in: 1.6 ms of a 3.7 ms forward),
    and its taps' windows P_ab[c, n, ho + i', wo + j'] copied a row of Wo at a time."""
    N, C = x.shape[:2]
    (Ho, Wo), it = out_hw, x.itemsize
    blocks = _ImageBlocks(C, kernel, N, out_hw, x.dtype)
    pp = _Polyphase(blocks.images[0].stop, C, kernel, stride, out_hw)
    buf, grid = pp.buffer(x.dtype)
    windows = [as_strided(buf[g.origin:], (C,) + g.kernel + (pp.N, Ho, Wo),
                          (pp.L * it, pp.Ws * it, it, g.plane * it, pp.Ws * it, it))
               for g in pp.geos]
    for imgs in blocks.images:
        m = imgs.stop - imgs.start
        pp.split(x[imgs], pads, grid)
        col = blocks.buf[:pp.K * m * Ho * Wo].reshape(pp.K, -1)
        for win, r in zip(windows, pp.rows):
            part = win[:, :, :, :m]
            copy_rows(col[r].reshape(part.shape), part)
        yield imgs, col, pp


def _polyphase_ok(kernel, stride, dilation, groups) -> bool:
    """Every phase has at least one tap; plain dilation and groups."""
    return (dilation == (1, 1) and groups == 1 and kernel[0] >= stride[0]
            and kernel[1] >= stride[1])


def _poly_forward(x, w, pads, stride, out_hw):
    """y (O, N, Ho, Wo) = W (phase order) · columns of the phases, block by block."""
    O = w.shape[0]
    y = np.empty((O, x.shape[0]) + tuple(out_hw), dtype=x.dtype)
    wmat = None
    for imgs, col, pp in _poly_columns(x, w.shape[2:], stride, pads, out_hw):
        wmat = pp.weight(w) if wmat is None else wmat
        np.matmul(wmat, col, out=y[:, imgs].reshape(O, -1))
    return y


def _poly_backward_weight(x, dy, kernel, pads, stride):
    """dW = dy · (columns of the phases)ᵀ, accumulated block by block, back in tap order."""
    O = dy.shape[1]
    dyc = to_cnhw(dy)
    dw = None
    for imgs, col, pp in _poly_columns(x, kernel, stride, pads, dy.shape[2:]):
        dw = np.zeros((1, O, pp.K), dtype=x.dtype) if dw is None else dw
        _accumulate_dw(dw, dyc[:, imgs].reshape(O, -1), col, 1)
    return pp.weight_back(dw[0])


def _poly_backward_data(dy, w, x_hw, pads, stride):
    """dx (C, N, H, W) = merge(col2im_phases(Wᵀ · dy)): `_flat_col2im` with each column
    row added into its own phase, on whole phase grids (dy zero outside Ho × Wo)."""
    N, O, Ho, Wo = dy.shape
    C = w.shape[1]
    pp = _Polyphase(N, C, w.shape[2:], stride, (Ho, Wo), whole=True)
    _, dyg = _flat_grad_output(pp.geos[0], dy, pp.Hs)
    dyf = dyg.reshape(O, -1)
    wt = pp.weight(w).T  # (K, O)
    buf, grid = pp.buffer(dy.dtype)
    # every (phase, c, tap) row of the column block adds into its phase at its shift
    targets = [[g.view(buf, C, s, writeable=True).reshape(C, -1) for s in g.taps]
               for g in pp.geos]
    dcol = None
    for l in _flat_blocks(dyf.shape[1], pp.K * buf.itemsize):
        d = dyf[:, l]
        if dcol is None:
            dcol = np.empty((pp.K, d.shape[1]), dy.dtype)
        block = dcol[:, :d.shape[1]]
        np.matmul(wt, d, out=block)
        for ts, r in zip(targets, pp.rows):
            part = block[r].reshape(C, len(ts), -1)
            for t, target in enumerate(ts):
                target[:, l] += part[:, t]
    return pp.merge(grid, x_hw, pads)


# ---------------------------------------------------------------------------------------
# 1×1, no stride, no padding: a matrix product over channels at every pixel, y = W·x —
# no columns to build. Channels-first arrays are one (C, N·H·W) matrix; NCHW ones a
# stack of (C, H·W) matrices, one per image. (Through the flat-shift path a 64→256 layer's
# backward allocated 7x its 1.5 MB column buffer in copies of dy.)
# ---------------------------------------------------------------------------------------


def _pointwise(kernel, stride, pads, groups) -> bool:
    return (tuple(kernel) == (1, 1) and stride == (1, 1) and pads == ((0, 0), (0, 0))
            and groups == 1)


def _channel_matrix(a: np.ndarray):
    """(the (C, N·H·W) matrix of a channels-first `a`, True), or (a's (N, C, H·W) stack of
    matrices, False) — without a copy when `a` lies either way."""
    N, C, H, W = a.shape
    if is_channels_first(a):
        return to_cnhw(a).reshape(C, -1), True
    return np.ascontiguousarray(a).reshape(N, C, H * W), False


def _pointwise_apply(m: np.ndarray, a: np.ndarray) -> np.ndarray:
    """m (P, C) applied to every pixel of a (N, C, H, W): (N, P, H, W), channels-first when
    `a` is."""
    N, _, H, W = a.shape
    am, first = _channel_matrix(a)
    out = m @ am  # (P, N·H·W), or (N, P, H·W) as a stack of products
    return from_cnhw(out.reshape(-1, N, H, W)) if first else out.reshape(N, -1, H, W)


def _pointwise_weight_grad(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dW (O, C) = Σ over pixels of dy·xᵀ: one GEMM over channels-first matrices, else
    one per image, accumulated."""
    xm, x_first = _channel_matrix(x)
    dm, dy_first = _channel_matrix(dy)
    if x_first and dy_first:
        return dm @ xm.T
    if x_first:  # the (smaller) x in dy's per-image layout
        xm = np.ascontiguousarray(x).reshape(dm.shape[0], -1, dm.shape[2])
    elif dy_first:
        dm = np.ascontiguousarray(dy).reshape(xm.shape[0], -1, xm.shape[2])
    dw = np.zeros((dm.shape[1], xm.shape[1]), dtype=x.dtype)
    for n in range(xm.shape[0]):
        dw += dm[n] @ xm[n].T
    return dw


# ---------------------------------------------------------------------------------------
# The three kernels
# ---------------------------------------------------------------------------------------


def conv2d_forward(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Pair,
                   pads: tuple[Pair, Pair], dilation: Pair, groups: int) -> np.ndarray:
    """y = W · im2col(x) (+ b): the cross-correlation in the module doc, (N, O, Ho, Wo)."""
    O, Cg, kh, kw = w.shape
    C = x.shape[1]
    wmat = w.reshape(O, Cg * kh * kw)
    if _pointwise((kh, kw), stride, pads, groups):
        y = _pointwise_apply(wmat, x)
        if bias is not None:
            y += bias.reshape(1, O, 1, 1)
        return y
    if stride == (1, 1):
        geo = _forward_geometry(x.shape, (kh, kw), pads, dilation, _depthwise(C, O, groups))
        y = _flat_correlate(geo, _flat_input(geo, x, pads), C, wmat, groups)
        y = compact(y[:, :, :geo.Hs - dilation[0] * (kh - 1), :geo.Ws - dilation[1] * (kw - 1)])
    else:
        N, _, H, W = x.shape
        Ho = conv_output_size(H, kh, stride[0], *pads[0], dilation[0])
        Wo = conv_output_size(W, kw, stride[1], *pads[1], dilation[1])
        if _polyphase_ok((kh, kw), stride, dilation, groups):
            y = _poly_forward(x, w, pads, stride, (Ho, Wo))
            if bias is not None:
                y += bias.reshape(O, 1, 1, 1)
            return from_cnhw(y)
        xp = pad_cnhw(x, pads)
        y = np.empty((O, N, Ho, Wo), dtype=x.dtype)
        blocks = _ImageBlocks(C, (kh, kw), N, (Ho, Wo), x.dtype)
        for imgs in blocks.images:
            col = im2col_into(xp[:, imgs], stride, dilation, blocks.columns(imgs))
            _gemm_into(wmat, col.reshape(C * kh * kw, -1), groups, y[:, imgs].reshape(O, -1))
    if bias is not None:
        y += bias.reshape(O, 1, 1, 1)
    return from_cnhw(y)


def _transposed_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """w (O, C/g, kh, kw) → Wᵀ per group, (G, C/g·kh·kw, O/g)."""
    O = w.shape[0]
    return _grouped(w.reshape(O, -1), groups).transpose(0, 2, 1)


def conv2d_backward_data(dy: np.ndarray, w: np.ndarray, x_hw: Pair, stride: Pair,
                         pads: tuple[Pair, Pair], dilation: Pair, groups: int) -> np.ndarray:
    """dx for y = conv2d(x, w), x of spatial size x_hw; also conv_transpose2d's forward.

    Stride 1, C ≥ O: the full correlation of the zero-padded dy with the 180°-rotated
    kernel, channels swapped — dx[c,h,w] = Σ_{o,i,j} w[o,c,kh−1−i,kw−1−j] ·
    dypad[o, h+i·dh, w+j·dw]; it copies O·kh·kw column rows.
    Otherwise: dx = col2im(Wᵀ · dy), the transpose of the forward's matrix; it adds back
    C·kh·kw rows, fewer when C < O.
    """
    N, O, Ho, Wo = dy.shape
    _, Cg, kh, kw = w.shape
    C = Cg * groups
    (pt, _), (pl, _) = pads
    H, W = x_hw
    if _pointwise((kh, kw), stride, pads, groups):  # dx = Wᵀ·dy at every pixel
        return _pointwise_apply(w.reshape(O, C).T, dy)
    if stride == (1, 1):
        geo = _forward_geometry((N, C, H, W), (kh, kw), pads, dilation)
        if C >= O:
            # in the flat layout the (k−1)·d "full" padding in front of dy is a shift back
            # by the largest tap offset; outputs are the input's rows pt..pt+H−1
            back = geo.taps[-1]
            buf, _ = _flat_grad_output(geo, dy, geo.Hs, front=back)
            r0, R = (0, geo.Hs) if _depthwise(C, O, groups) else (pt, H)
            full = _FlatGeometry(N, (geo.Hs, geo.Ws), R, r0 * geo.Ws, (kh, kw), dilation)
            # w (O, C/g, kh, kw) → rotated, per group (C/g, O/g·kh·kw)
            wr = w[:, :, ::-1, ::-1].reshape(groups, O // groups, Cg, kh, kw)
            wmat = wr.transpose(0, 2, 1, 3, 4).reshape(C, (O // groups) * kh * kw)
            wmat = np.ascontiguousarray(wmat)  # BLAS takes no negative strides
            dx = _flat_correlate(full, buf, O, wmat, groups)
            return from_cnhw(compact(dx[:, :, pt - r0:pt - r0 + H, pl:pl + W]))
        # on the whole grid, so each tap's add is one long 2-D run (15 % faster than rows)
        geo = _forward_geometry((N, C, H, W), (kh, kw), pads, dilation, whole=True)
        _, dyg = _flat_grad_output(geo, dy, geo.R)
        dxp = _flat_col2im(geo, dyg.reshape(O, -1), _transposed_weight(w, groups), C)
        return from_cnhw(compact(dxp[:, :, pt:pt + H, pl:pl + W]))
    if _polyphase_ok((kh, kw), stride, dilation, groups):
        return from_cnhw(_poly_backward_data(dy, w, x_hw, pads, stride))
    wt = _transposed_weight(w, groups).reshape(C * kh * kw, O // groups)
    xp = np.zeros((C, N, H + sum(pads[0]), W + sum(pads[1])), dtype=dy.dtype)
    blocks = _ImageBlocks(C, (kh, kw), N, (Ho, Wo), dy.dtype)
    for imgs in blocks.images:
        col = blocks.columns(imgs)
        _gemm_into(wt, to_cnhw(dy)[:, imgs].reshape(O, -1), groups, col.reshape(C * kh * kw, -1))
        col2im_add(col, stride, dilation, xp[:, imgs])
    return from_cnhw(compact(xp[:, :, pt:pt + H, pl:pl + W]))


def _flat_col2im(geo: _FlatGeometry, dyf: np.ndarray, wt: np.ndarray, C: int) -> np.ndarray:
    """dxpad[c, pos(q) + s_ij] += (Wᵀ · dy)[(c, i, j), q]: each column entry added back to
    the input position it was copied from (the adjoint of `_columns`), block by block over
    a whole-grid geometry; returns the padded (C, N, Hs, Ws) input gradient."""
    groups, K, Og = wt.shape
    taps = len(geo.taps)
    buf, grid = geo.buffer(C, dyf.dtype)
    targets = [geo.view(buf, C, s, writeable=True).reshape(C, -1) for s in geo.taps]
    dcol = None
    for l in _flat_blocks(dyf.shape[1], C * taps * buf.itemsize):
        d = dyf[:, l]
        if dcol is None:  # reused: a fresh block per chunk would page-fault its way in
            dcol = np.empty((C * taps, d.shape[1]), dyf.dtype)
        block = dcol[:, :d.shape[1]]
        np.matmul(wt, d.reshape(groups, Og, -1), out=block.reshape(groups, K, -1))
        block = block.reshape(C, taps, -1)
        for t, target in enumerate(targets):
            target[:, l] += block[:, t]
    return grid


def conv2d_backward_weight(x: np.ndarray, dy: np.ndarray, kernel: Pair, stride: Pair,
                           pads: tuple[Pair, Pair], dilation: Pair,
                           groups: int) -> np.ndarray:
    """dW[o,c,i,j] = Σ_{n,ho,wo} dy[n,o,ho,wo] · xpad[n,c,ho·sh+i·dh,wo·sw+j·dw] = dy · colᵀ.

    Returns (O, C/g, kh, kw). Shared by conv2d (x, dy) and conv_transpose2d (dy, x).
    """
    N, C = x.shape[:2]
    O = dy.shape[1]
    kh, kw = kernel
    Cg, Og, K = C // groups, O // groups, (C // groups) * kh * kw
    if _pointwise(kernel, stride, pads, groups):
        return _pointwise_weight_grad(x, dy).reshape(O, C, 1, 1)
    if stride == (1, 1):
        geo = _forward_geometry(x.shape, kernel, pads, dilation, _depthwise(C, O, groups))
        xbuf = _flat_input(geo, x, pads)
        _, dyg = _flat_grad_output(geo, dy, geo.R)  # zero in the wasted columns
        dyf = dyg.reshape(O, -1)
        if _depthwise(C, O, groups):  # dW[c, t] = Σ_q dy[c, q] · x[c, pos(q) + s_t]
            dw = np.zeros((C, kh * kw, 1), dtype=x.dtype)
            for l, col in _depthwise_columns(geo, xbuf, C):
                dw += np.matmul(col, dyf[:, l, None])
            return dw.reshape(O, 1, kh, kw)
        dw = np.zeros((groups, Og, K), dtype=x.dtype)
        most = MAX_BLOCK_DW if O * K <= TINY_DW else MAX_BLOCK
        colbuf = geo.column_buffer(C * kh * kw, x.dtype, most)
        windows = geo.view(xbuf, C, taps=True)
        for block in geo.chunks(C * kh * kw, x.itemsize, most):
            _accumulate_dw(dw, dyf[:, block[2]], _columns(windows, block, colbuf), groups)
        return dw.reshape(O, Cg, kh, kw)
    if _polyphase_ok(kernel, stride, dilation, groups):
        return _poly_backward_weight(x, dy, kernel, pads, stride)
    Ho, Wo = dy.shape[2:]
    xp = pad_cnhw(x, pads)
    dw = np.zeros((groups, Og, K), dtype=x.dtype)
    blocks = _ImageBlocks(C, kernel, N, (Ho, Wo), x.dtype)
    for imgs in blocks.images:
        col = im2col_into(xp[:, imgs], stride, dilation, blocks.columns(imgs))
        _accumulate_dw(dw, to_cnhw(dy)[:, imgs].reshape(O, -1), col.reshape(C * kh * kw, -1),
                       groups)
    return dw.reshape(O, Cg, kh, kw)


def conv2d_backward_bias(dy: np.ndarray) -> np.ndarray:
    """db[o] = Σ_{n,h,w} dy[n, o, h, w]."""
    return to_cnhw(dy).sum(axis=(1, 2, 3))


def conv_transpose_output_size(size: int, kernel: int, stride: int, pad: int,
                               dilation: int, output_padding: int) -> int:
    """(i − 1)·s − 2p + d·(k − 1) + output_padding + 1."""
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


__all__ = ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight",
           "conv2d_backward_bias", "conv_output_size", "conv_transpose_output_size"]
