"""Stride > 1 through BLAS, via polyphase components.

Tap (i, j) of a stride-(sh, sw) correlation reads
    xpad[sh·ho + i, sw·wo + j] = P_ab[ho + i//sh, wo + j//sw],  a = i mod sh, b = j mod sw,
with P_ab = xpad[a::sh, b::sw]. So the layer is a sum of sh·sw stride-1 correlations, one
per phase with the sub-kernel w[:, :, a::sh, b::sw], and each reads its phase through the
flat-shift views of `flat`: long contiguous runs instead of stride-2 gathers of Wo values.
The input gradient is the adjoint: col2im adds into the phases, which are then interleaved
back into dx. Plain dilation and groups only, and every phase must hold a tap (k ≥ s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...device import array_module
from ..im2col import copy_rows, from_cnhw, strided_view, to_cnhw
from .blocks import accumulate_dw, flat_blocks, matmul_into
from .columns import ImageBlocks
from .flat import FlatGeometry, grad_output_grid
from .geometry import ConvGeometry


class Polyphase:
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
        self.geos = [
            FlatGeometry(
                N,
                (self.Hs, self.Ws),
                R,
                p * C * self.L,
                (len(range(a, kh, sh)), len(range(b, kw, sw))),
                (1, 1),
            )
            for p, (a, b) in enumerate(self.phases)
        ]
        self.K = C * kh * kw
        # rows of each phase's taps inside a column block
        ends = np.cumsum([C * len(g.taps) for g in self.geos])
        self.rows = [slice(e - C * len(g.taps), e) for e, g in zip(ends, self.geos, strict=True)]

    def buffer(self, like: Any):
        """A zeroed flat buffer for all phases (+ a tail margin for the last reads) and its
        (phases, C, N, Hs, Ws) view; of `like`'s dtype and array module."""
        size = len(self.phases) * self.C * self.L
        tail = self.geos[-1].taps[-1] + self.Ws
        buf = array_module(like).zeros(size + tail, dtype=like.dtype)
        return buf, buf[:size].reshape(len(self.phases), self.C, self.N, self.Hs, self.Ws)

    def split(self, x: np.ndarray, pads, grid: np.ndarray) -> None:
        """x (n ≤ N, C, H, W) into the first n images of a zeroed (phases, C, N, Hs, Ws)
        grid: P_ab[r, c] = xpad[a + sh·r, b + sw·c]. Writes the same positions every
        time, so the zero border survives reuse."""
        (pt, _), (pl, _) = pads
        sh, sw = self.stride
        xc, g = to_cnhw(x), grid[:, :, : x.shape[0]]
        for p, (a, b) in enumerate(self.phases):
            # input row h lands in phase a = (h + pt) mod sh, at row (h + pt) // sh
            h0, w0 = (a - pt) % sh, (b - pl) % sw
            r0, c0 = (h0 + pt) // sh, (w0 + pl) // sw
            src = xc[:, :, h0::sh, w0::sw][:, :, : self.Hs - r0, : self.Ws - c0]
            g[p, :, :, r0 : r0 + src.shape[2], c0 : c0 + src.shape[3]] = src

    def merge(self, grid: np.ndarray, x_hw, pads) -> np.ndarray:
        """A (phases, C, N, Hs, Ws) gradient back on the input grid, dx (C, N, H, W):
        input (h, w) is P_ab[(h + pt) // sh, (w + pl) // sw], a = (h + pt) mod sh, ..."""
        (pt, _), (pl, _) = pads
        (sh, sw), (H, W) = self.stride, x_hw
        dx = array_module(grid).zeros((self.C, self.N, H, W), dtype=grid.dtype)
        for p, (a, b) in enumerate(self.phases):
            h0, w0 = (a - pt) % sh, (b - pl) % sw
            dst = dx[:, :, h0::sh, w0::sw][:, :, : self.Hs, : self.Ws]
            r0, c0 = (h0 + pt) // sh, (w0 + pl) // sw
            dst = dst[:, :, : self.Hs - r0, : self.Ws - c0]
            dst[...] = grid[p, :, :, r0 : r0 + dst.shape[2], c0 : c0 + dst.shape[3]]
        return dx

    def weight(self, w: np.ndarray) -> np.ndarray:
        """w (O, C, kh, kw) → (O, K) with columns in phase order (phase, c, i', j')."""
        sh, sw = self.stride
        return array_module(w).concatenate(
            [w[:, :, a::sh, b::sw].reshape(w.shape[0], -1) for a, b in self.phases], axis=1
        )

    def weight_back(self, wp: np.ndarray) -> np.ndarray:
        """The inverse of `weight`: (O, K) in phase order → (O, C, kh, kw)."""
        (sh, sw), (kh, kw) = self.stride, self.kernel
        w = array_module(wp).empty((wp.shape[0], self.C, kh, kw), dtype=wp.dtype)
        for (a, b), r, g in zip(self.phases, self.rows, self.geos, strict=True):
            w[:, :, a::sh, b::sw] = wp[:, r].reshape((wp.shape[0], self.C) + g.kernel)
        return w


def _poly_columns(x: np.ndarray, kernel, stride, pads, out_hw):
    """(images, column block (K, n), phase layout) over whole-image blocks of x, rows in
    phase order, n = images·Ho·Wo. Each block's images are split into one small reused
    phase buffer (a full-size one page-faulted its way in: 1.6 ms of a 3.7 ms forward),
    and its taps' windows P_ab[c, n, ho + i', wo + j'] copied a row of Wo at a time."""
    N, C = x.shape[:2]
    (Ho, Wo), it = out_hw, x.itemsize
    blocks = ImageBlocks(C, kernel, N, out_hw, x)
    pp = Polyphase(blocks.images[0].stop, C, kernel, stride, out_hw)
    buf, grid = pp.buffer(x)
    windows = [
        strided_view(
            buf[g.origin :],
            (C,) + g.kernel + (pp.N, Ho, Wo),
            (pp.L * it, pp.Ws * it, it, g.plane * it, pp.Ws * it, it),
        )
        for g in pp.geos
    ]
    for imgs in blocks.images:
        m = imgs.stop - imgs.start
        pp.split(x[imgs], pads, grid)
        col = blocks.buf[: pp.K * m * Ho * Wo].reshape(pp.K, -1)
        for win, r in zip(windows, pp.rows, strict=True):
            part = win[:, :, :, :m]
            copy_rows(col[r].reshape(part.shape), part)
        yield imgs, col, pp


def _poly_forward(x, w, pads, stride, out_hw):
    """y (O, N, Ho, Wo) = W (phase order) · columns of the phases, block by block."""
    O = w.shape[0]
    y = array_module(x).empty((O, x.shape[0]) + tuple(out_hw), dtype=x.dtype)
    wmat = None
    for imgs, col, pp in _poly_columns(x, w.shape[2:], stride, pads, out_hw):
        wmat = pp.weight(w) if wmat is None else wmat
        matmul_into(wmat, col, y[:, imgs].reshape(O, -1))
    return y


def _poly_backward_weight(x, dy, kernel, pads, stride):
    """dW = dy · (columns of the phases)ᵀ, accumulated block by block, back in tap order."""
    O = dy.shape[1]
    dyc = to_cnhw(dy)
    dw = None
    for imgs, col, pp in _poly_columns(x, kernel, stride, pads, dy.shape[2:]):
        dw = array_module(x).zeros((1, O, pp.K), dtype=x.dtype) if dw is None else dw
        accumulate_dw(dw, dyc[:, imgs].reshape(O, -1), col, 1)
    assert dw is not None  # _poly_columns yields at least one block
    return pp.weight_back(dw[0])


def _poly_backward_data(dy, w, x_hw, pads, stride):
    """dx (C, N, H, W) = merge(col2im_phases(Wᵀ · dy)): `_flat_col2im` with each column
    row added into its own phase, on whole phase grids (dy zero outside Ho × Wo)."""
    N, O, Ho, Wo = dy.shape
    C = w.shape[1]
    pp = Polyphase(N, C, w.shape[2:], stride, (Ho, Wo), whole=True)
    _, dyg = grad_output_grid(pp.geos[0], dy, pp.Hs)
    dyf = dyg.reshape(O, -1)
    wt = pp.weight(w).T  # (K, O)
    buf, grid = pp.buffer(dy)
    # every (phase, c, tap) row of the column block adds into its phase at its shift
    targets = [[g.view(buf, C, s, writeable=True).reshape(C, -1) for s in g.taps] for g in pp.geos]
    dcol = None
    for l in flat_blocks(dyf.shape[1], pp.K * buf.itemsize):
        d = dyf[:, l]
        if dcol is None:
            dcol = array_module(dy).empty((pp.K, d.shape[1]), dy.dtype)
        block = dcol[:, : d.shape[1]]
        matmul_into(wt, d, block)
        for ts, r in zip(targets, pp.rows, strict=True):
            part = block[r].reshape(C, len(ts), -1)
            for t, target in enumerate(ts):
                target[:, l] += part[:, t]
    return pp.merge(grid, x_hw, pads)


def applies(g: ConvGeometry) -> bool:
    """Every phase has at least one tap; plain dilation and groups."""
    return g.dilation == (1, 1) and g.groups == 1 and g.kh >= g.stride[0] and g.kw >= g.stride[1]


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """y = Σ over phases of each phase's stride-1 correlation, (N, O, Ho, Wo)."""
    return from_cnhw(_poly_forward(x, w, g.pads, g.stride, g.out_hw))


def input_grad(dy: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx: col2im into the phases, interleaved back into (N, C, H, W)."""
    return from_cnhw(_poly_backward_data(dy, w, (g.H, g.W), g.pads, g.stride))


def weight_grad(x: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dW = dy · (columns of the phases)ᵀ, back in tap order, (O, C, kh, kw)."""
    return _poly_backward_weight(x, dy, g.kernel, g.pads, g.stride)
