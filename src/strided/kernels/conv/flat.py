"""Stride 1 through BLAS: "flat shifts" over a padded, flattened channels-first buffer.

Flatten the padded source per channel: (C, N, Hs, Ws) → one row of N·Hs·Ws values.
Kernel tap (i, j) then reads the same flat row shifted by s_ij = i·dh·Ws + j·dw, so a
column block is one strided view (C, kh, kw, images, rows·Ws) with long contiguous runs,
copied in one call. Outputs are computed for whole rows of width Ws and cropped to the
valid width afterwards: the Ws − Wo extra columns per row are wasted work (6 % at 32×32,
40 % at LeNet's 14×14) that buys copies several times faster than the small-run im2col.

* forward        y = W · im2col(x), one GEMM per column block
* input grad     C ≥ O: the full correlation of the zero-padded dy with the 180°-rotated
                 kernel, channels swapped (copies O·kh·kw column rows); C < O:
                 col2im(Wᵀ · dy), adding back C·kh·kw rows
* weight grad    dW = dy · im2col(x)ᵀ, accumulated block by block
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...device import array_module
from ..im2col import compact, copy_rows, from_cnhw, strided_view, to_cnhw
from .blocks import (
    MAX_BLOCK,
    MAX_BLOCK_DW,
    TINY_DW,
    accumulate_dw,
    block_positions,
    flat_blocks,
    grouped,
    matmul_into,
    transposed_weight,
)
from .geometry import ConvGeometry


class FlatGeometry:
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
        self.taps = [
            i * dilation[0] * self.Ws + j * dilation[1]
            for i in range(kernel[0])
            for j in range(kernel[1])
        ]

    def buffer(self, C, like: Any, front=0):
        """A zeroed flat buffer for C channels with `front` spare zeros and a tail margin
        (the largest shift, for the last row's reads past its end), and its (C, N, Hs, Ws)
        view; of `like`'s dtype and array module."""
        L = self.N * self.plane
        size = front + C * L + self.taps[-1] + self.Ws
        buf = array_module(like).zeros(size, dtype=like.dtype)
        return buf, buf[front : front + C * L].reshape(C, self.N, self.Hs, self.Ws)

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
        shape: tuple[int, ...]
        strides: tuple[int, ...]
        shape, strides = (
            (C, self.N, self.R * self.Ws),
            (self.N * self.plane * it, self.plane * it, it),
        )
        if taps:
            shape = shape[:1] + (kh, kw) + shape[1:]
            strides = strides[:1] + (dh * self.Ws * it, dw * it) + strides[1:]
        return strided_view(buf[self.origin + shift :], shape, strides, writeable=writeable)

    def column_buffer(self, K, like: Any, most=MAX_BLOCK):
        """A reusable (K, block size) buffer like `like`: a fresh block per chunk would
        page-fault its way in every time (measured: 3 ms of the 4 ms LeNet conv1 forward)."""
        _, _, span = next(self.chunks(K, like.itemsize, most))
        return array_module(like).empty((K, span.stop - span.start), dtype=like.dtype)


def _depthwise_columns(geo: FlatGeometry, buf: np.ndarray, C: int):
    """(positions, column block (C, kh·kw, n)) over a whole-grid geometry: per channel, the
    k² shifted copies of its rows, copied into one reused buffer."""
    windows = geo.view(buf, C, taps=True)
    windows = windows.reshape(windows.shape[:3] + (-1,))  # whole grid: one run per channel
    taps = len(geo.taps)
    colbuf = None
    for l in flat_blocks(windows.shape[-1], C * taps * buf.itemsize):
        n = l.stop - l.start
        if colbuf is None:
            colbuf = array_module(buf).empty((C, taps, n), dtype=buf.dtype)
        col = colbuf[:, :, :n]
        col.reshape(windows.shape[:3] + (n,))[...] = windows[..., l]
        yield l, col


def _columns(windows: np.ndarray, block, out: np.ndarray) -> np.ndarray:
    """im2col of one block: col[(c, i, j), q] = buf[c·L + pos(q) + s_ij], copied from the
    taps' view (C, kh, kw, N, R·Ws) into the reusable buffer `out`; returns (C·kh·kw, n)."""
    imgs, q, span = block
    part = windows[..., imgs, q]
    col = out[:, : span.stop - span.start]
    col.reshape(part.shape)[...] = part
    return col


def _flat_correlate(
    geo: FlatGeometry, buf: np.ndarray, C: int, wmat: np.ndarray, groups: int
) -> np.ndarray:
    """out[o, q] = Σ_{c,i,j} wmat[o, (c,i,j)] · buf[c·L + pos(q) + s_ij], block by block;
    returns (O, N, R, Ws)."""
    O, K = wmat.shape
    out = array_module(buf).empty((O, geo.N, geo.R, geo.Ws), dtype=buf.dtype)
    flat: np.ndarray = out.reshape(O, geo.N, -1)
    if C == O == groups and K == len(geo.taps):
        # depthwise: one filter per channel, so the GEMM is a batch of C products
        # (1 × k²) · (k² × n), one per channel's column block (1.4x faster than k·k scaled
        # adds of shifted rows)
        acc = out.reshape(O, 1, -1)
        for l, col in _depthwise_columns(geo, buf, C):
            matmul_into(wmat[:, None, :], col, acc[:, :, l])
        return out
    wg = grouped(wmat, groups)
    rows = C * len(geo.taps)  # all groups' columns, copied together
    colbuf = geo.column_buffer(rows, buf)
    windows = geo.view(buf, C, taps=True)
    flat = out.reshape(O, -1)
    for block in geo.chunks(rows, buf.itemsize):
        col = _columns(windows, block, colbuf)
        dst = flat[:, block[2]]
        if groups == 1:
            matmul_into(wmat, col, dst)
        else:
            n = col.shape[1]
            matmul_into(wg, col.reshape(groups, K, n), dst.reshape(groups, O // groups, n))
    return out


def _flat_input(geo: FlatGeometry, x: np.ndarray, pads) -> np.ndarray:
    (pt, _), (pl, _) = pads
    H, W = x.shape[2:]
    buf, grid = geo.buffer(x.shape[1], x)
    copy_rows(grid[:, :, pt : pt + H, pl : pl + W], to_cnhw(x))
    return buf


def grad_output_grid(geo: FlatGeometry, dy: np.ndarray, rows: int, front: int = 0):
    """dy on a zeroed (O, N, rows, Ws) grid (rows ≥ Ho), after `front` zeros."""
    N, O, Ho, Wo = dy.shape
    size = front + O * N * rows * geo.Ws + geo.taps[-1] + geo.Ws
    buf = array_module(dy).zeros(size, dtype=dy.dtype)
    grid = buf[front : front + O * N * rows * geo.Ws].reshape(O, N, rows, geo.Ws)
    copy_rows(grid[:, :, :Ho, :Wo], to_cnhw(dy))
    return buf, grid


def _flat_col2im(geo: FlatGeometry, dyf: np.ndarray, wt: np.ndarray, C: int) -> np.ndarray:
    """dxpad[c, pos(q) + s_ij] += (Wᵀ · dy)[(c, i, j), q]: each column entry added back to
    the input position it was copied from (the adjoint of `_columns`), block by block over
    a whole-grid geometry; returns the padded (C, N, Hs, Ws) input gradient."""
    groups, K, Og = wt.shape
    taps = len(geo.taps)
    buf, grid = geo.buffer(C, dyf)
    targets = [geo.view(buf, C, s, writeable=True).reshape(C, -1) for s in geo.taps]
    dcol = None
    for l in flat_blocks(dyf.shape[1], C * taps * buf.itemsize):
        d = dyf[:, l]
        if dcol is None:  # reused: a fresh block per chunk would page-fault its way in
            dcol = array_module(dyf).empty((C * taps, d.shape[1]), dyf.dtype)
        block = dcol[:, : d.shape[1]]
        matmul_into(wt, d.reshape(groups, Og, -1), block.reshape(groups, K, -1))
        block = block.reshape(C, taps, -1)
        for t, target in enumerate(targets):
            target[:, l] += block[:, t]
    return grid


def _geometry(g: ConvGeometry, whole: bool = False) -> FlatGeometry:
    """Outputs of the forward correlation: rows 0..Ho−1 of the padded input's grid, or the
    whole grid (`whole`: no gaps between images, so every view is one long 2-D run; the
    depthwise products run there: elementwise loops over gapped 3-D views were 1.6x
    slower)."""
    Hp, Wp = g.padded_hw
    return FlatGeometry(
        g.N, (Hp, Wp), Hp if whole else Hp - g.dilation[0] * (g.kh - 1), 0, g.kernel, g.dilation
    )


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """y = W · im2col(x), (N, O, Ho, Wo) as a view of a channels-first buffer."""
    geo = _geometry(g, g.depthwise)
    y = _flat_correlate(geo, _flat_input(geo, x, g.pads), g.C, w.reshape(g.O, -1), g.groups)
    Ho, Wo = g.out_hw
    return from_cnhw(compact(y[:, :, :Ho, :Wo]))


def input_grad(dy: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx (N, C, H, W); also conv_transpose2d's forward."""
    N, C, H, W, O, kh, kw = g[:7]
    (pt, _), (pl, _) = g.pads
    groups, Cg = g.groups, C // g.groups
    if C >= O:
        geo = _geometry(g)
        # in the flat layout the (k−1)·d "full" padding in front of dy is a shift back by
        # the largest tap offset; outputs are the input's rows pt..pt+H−1
        back = geo.taps[-1]
        buf, _ = grad_output_grid(geo, dy, geo.Hs, front=back)
        r0, R = (0, geo.Hs) if g.depthwise else (pt, H)
        full = FlatGeometry(N, (geo.Hs, geo.Ws), R, r0 * geo.Ws, (kh, kw), g.dilation)
        # w (O, C/g, kh, kw) → rotated, per group (C/g, O/g·kh·kw)
        wr = w[:, :, ::-1, ::-1].reshape(groups, O // groups, Cg, kh, kw)
        wmat = wr.transpose(0, 2, 1, 3, 4).reshape(C, (O // groups) * kh * kw)
        wmat = array_module(w).ascontiguousarray(wmat)  # BLAS takes no negative strides
        dx = _flat_correlate(full, buf, O, wmat, groups)
        return from_cnhw(compact(dx[:, :, pt - r0 : pt - r0 + H, pl : pl + W]))
    # on the whole grid, so each tap's add is one long 2-D run (15 % faster than rows)
    geo = _geometry(g, whole=True)
    _, dyg = grad_output_grid(geo, dy, geo.R)
    dxp = _flat_col2im(geo, dyg.reshape(O, -1), transposed_weight(w, groups), C)
    return from_cnhw(compact(dxp[:, :, pt : pt + H, pl : pl + W]))


def weight_grad(x: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dW = dy · im2col(x)ᵀ, (O, C/g, kh, kw)."""
    N, C, H, W, O, kh, kw = g[:7]
    groups, xp = g.groups, array_module(x)
    Cg, Og, K = C // groups, O // groups, (C // groups) * kh * kw
    geo = _geometry(g, g.depthwise)
    xbuf = _flat_input(geo, x, g.pads)
    _, dyg = grad_output_grid(geo, dy, geo.R)  # zero in the wasted columns
    dyf = dyg.reshape(O, -1)
    if g.depthwise:  # dW[c, t] = Σ_q dy[c, q] · x[c, pos(q) + s_t]
        dw = xp.zeros((C, kh * kw, 1), dtype=x.dtype)
        for l, col in _depthwise_columns(geo, xbuf, C):
            dw += xp.matmul(col, dyf[:, l, None])
        return dw.reshape(O, 1, kh, kw)
    dw = xp.zeros((groups, Og, K), dtype=x.dtype)
    most = MAX_BLOCK_DW if O * K <= TINY_DW else MAX_BLOCK
    colbuf = geo.column_buffer(C * kh * kw, x, most)
    windows = geo.view(xbuf, C, taps=True)
    for block in geo.chunks(C * kh * kw, x.itemsize, most):
        accumulate_dw(dw, dyf[:, block[2]], _columns(windows, block, colbuf), groups)
    return dw.reshape(O, Cg, kh, kw)
