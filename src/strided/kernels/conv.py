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

from .im2col import Pair, col2im, conv_output_size, from_cnhw, im2col, to_cnhw


def _as_rows(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → the (C, N·H·W) matrix; free when `a` is channels-first in memory."""
    return to_cnhw(a).reshape(a.shape[1], -1)


# Column chunks of about this many bytes stay in the L2/L3 cache between the copy that
# builds them and the GEMM that reads them; one big column buffer made every step
# memory-bound (measured: 1.5-2x slower on ResNet-20 layers).
CHUNK_BYTES = 4 << 20


# ---------------------------------------------------------------------------------------
# Stride 1: "flat shifts" over a padded, flattened channels-first buffer.
#
# Flatten the padded input per channel to (C, N·Hp·Wp). Kernel tap (i, j) then reads the
# same flat array shifted by s_ij = i·dh·Wp + j·dw, so a column block is one strided view
# (C, kh, kw, L) with strides (N·Hp·Wp, dh·Wp, dw, 1) — long contiguous runs, copied in one
# call. Outputs are computed on the whole padded grid (Hp, Wp) and cropped to (Ho, Wo):
# the positions past the edge are wasted work (Hp·Wp/(Ho·Wo): 13 % at 32×32, 27 % at 16×16)
# that buys copies several times faster than the small-run im2col.
# ---------------------------------------------------------------------------------------


class _FlatGeometry:
    """Sizes of the flat layout for an (N, C, H, W) input, kernel, pads and dilation."""

    def __init__(self, shape, kernel, pads, dilation):
        N, C, H, W = shape
        (kh, kw), ((pt, pb), (pl, pr)), (dh, dw) = kernel, pads, dilation
        self.N, self.H, self.W = N, H, W
        self.Hp, self.Wp = H + pt + pb, W + pl + pr
        self.Ho, self.Wo = self.Hp - dh * (kh - 1), self.Wp - dw * (kw - 1)
        self.L = N * self.Hp * self.Wp
        self.margin = (kh - 1) * dh * self.Wp + (kw - 1) * dw  # the largest shift
        self.kernel, self.dilation, self.pads = kernel, dilation, pads

    def buffer(self, C, dtype, front=0):
        """A zeroed flat buffer for C channels with `front` spare zeros and a tail margin,
        and its (C, N, Hp, Wp) view."""
        buf = np.zeros(front + C * self.L + self.margin, dtype=dtype)
        grid = buf[front:front + C * self.L].reshape(C, self.N, self.Hp, self.Wp)
        return buf, grid

    def columns(self, buf, C, l0, l1, out):
        """Column block col[c, i, j, l] = buf[c·L + l0 + l + s_ij], copied into the
        reusable (C·kh·kw, ≥ l1−l0) buffer `out` (a fresh block per chunk would page-fault
        its way in every time: measured 3 ms of the 4 ms LeNet conv1 forward)."""
        (kh, kw), (dh, dw), it = self.kernel, self.dilation, buf.itemsize
        n = l1 - l0
        view = as_strided(buf[l0:], (C, kh, kw, n),
                          (self.L * it, dh * self.Wp * it, dw * it, it), writeable=False)
        block = out[:, :n]
        np.copyto(block.reshape(C, kh, kw, n), view)
        return block

    def column_buffer(self, K, dtype):
        step = next(self.chunks(K, np.dtype(dtype).itemsize))[1]
        return np.empty((K, step), dtype=dtype)

    def shifted(self, buf, C, t, l0, l1):
        """Tap t's rows: buf[c·L + l0 + s_t + l] for all c, a (C, l1−l0) view, no copy."""
        kw = self.kernel[1]
        shift = (t // kw) * self.dilation[0] * self.Wp + (t % kw) * self.dilation[1]
        it = buf.itemsize
        return as_strided(buf[l0 + shift:], (C, l1 - l0), (self.L * it, it), writeable=False)

    def chunks(self, K, itemsize):
        step = max(1024, CHUNK_BYTES // max(1, K * itemsize))
        for l0 in range(0, self.L, step):
            yield l0, min(self.L, l0 + step)


def _grouped(w2: np.ndarray, groups: int) -> np.ndarray:
    """(O, K) weight matrix → (G, O/G, K)."""
    return w2.reshape(groups, w2.shape[0] // groups, w2.shape[1])


def _flat_correlate(geo: _FlatGeometry, buf: np.ndarray, C: int, wmat: np.ndarray,
                    groups: int) -> np.ndarray:
    """out[o, l] = Σ_{c,i,j} wmat[o, (c,i,j)] · buf[c·L + l + s_ij], chunk by chunk."""
    O, K = wmat.shape
    out = np.empty((O, geo.L), dtype=buf.dtype)
    if groups == C == O and K == geo.kernel[0] * geo.kernel[1]:
        # depthwise: one output per channel, so the "GEMM" is k·k scaled adds of shifted
        # rows (a batch of 1×k² products wastes BLAS); chunked to stay in cache
        for l0, l1 in geo.chunks(2 * C, buf.itemsize):
            acc = out[:, l0:l1]
            np.multiply(wmat[:, :1], geo.shifted(buf, C, 0, l0, l1), out=acc)
            for t in range(1, K):
                acc += wmat[:, t:t + 1] * geo.shifted(buf, C, t, l0, l1)
        return out
    wg = _grouped(wmat, groups)
    rows = C * geo.kernel[0] * geo.kernel[1]  # all groups' columns, copied together
    colbuf = geo.column_buffer(rows, buf.dtype)
    for l0, l1 in geo.chunks(rows, buf.itemsize):
        col = geo.columns(buf, C, l0, l1, colbuf)
        if groups == 1:
            np.matmul(wmat, col, out=out[:, l0:l1])
        else:
            np.matmul(wg, col.reshape(groups, K, l1 - l0),
                      out=out[:, l0:l1].reshape(groups, O // groups, l1 - l0))
    return out


def _flat_input(geo: _FlatGeometry, x: np.ndarray):
    (pt, _), (pl, _) = geo.pads
    buf, grid = geo.buffer(x.shape[1], x.dtype)
    grid[:, :, pt:pt + geo.H, pl:pl + geo.W] = to_cnhw(x)
    return buf


def _flat_grad_output(geo: _FlatGeometry, dy: np.ndarray, front: int):
    """dy on the padded output grid, zero where the grid is past the valid outputs."""
    buf, grid = geo.buffer(dy.shape[1], dy.dtype, front=front)
    grid[:, :, :geo.Ho, :geo.Wo] = to_cnhw(dy)
    return buf, grid


# ---------------------------------------------------------------------------------------
# The three kernels
# ---------------------------------------------------------------------------------------


def conv2d_forward(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Pair,
                   pads: tuple[Pair, Pair], dilation: Pair, groups: int) -> np.ndarray:
    """y = W · im2col(x) (+ b): the cross-correlation in the module doc, (N, O, Ho, Wo)."""
    O, Cg, kh, kw = w.shape
    C = x.shape[1]
    wmat = w.reshape(O, Cg * kh * kw)
    if stride == (1, 1):
        geo = _FlatGeometry(x.shape, (kh, kw), pads, dilation)
        y = _flat_correlate(geo, _flat_input(geo, x), C, wmat, groups)
        y = y.reshape(O, geo.N, geo.Hp, geo.Wp)[:, :, :geo.Ho, :geo.Wo]
    else:
        col = im2col(x, (kh, kw), stride, pads, dilation)
        N, Ho, Wo = col.shape[3:]
        y = _gemm(wmat, col.reshape(C * kh * kw, -1), groups).reshape(O, N, Ho, Wo)
    if bias is not None:
        y += bias.reshape(O, 1, 1, 1)
    return from_cnhw(y)


def _gemm(a: np.ndarray, b: np.ndarray, groups: int) -> np.ndarray:
    """a (M, K) @ b (G·K, L), block-diagonal over groups: each group's rows of `a` meet only
    that group's rows of `b`; returns (M, L)."""
    if groups == 1:
        return a @ b
    return np.matmul(_grouped(a, groups), b.reshape(groups, -1, b.shape[-1])).reshape(
        a.shape[0], -1)


def conv2d_backward_data(dy: np.ndarray, w: np.ndarray, x_hw: Pair, stride: Pair,
                         pads: tuple[Pair, Pair], dilation: Pair, groups: int) -> np.ndarray:
    """dx for y = conv2d(x, w), x of spatial size x_hw; also conv_transpose2d's forward.

    Stride 1: the full correlation of the zero-padded dy with the 180°-rotated kernel,
    channels swapped — dx[c,h,w] = Σ_{o,i,j} w[o,c,kh−1−i,kw−1−j] · dypad[o, h+i·dh, w+j·dw].
    Stride > 1: dx = col2im(Wᵀ · dy), the transpose of the forward's matrix.
    """
    N, O, Ho, Wo = dy.shape
    _, Cg, kh, kw = w.shape
    C = Cg * groups
    if stride == (1, 1):
        geo = _FlatGeometry((N, C) + tuple(x_hw), (kh, kw), pads, dilation)
        # in the flat layout the (k−1)·d "full" padding in front of dy is `margin` zeros
        buf, _ = _flat_grad_output(geo, dy, front=geo.margin)
        # w (O, C/g, kh, kw) → rotated, per group (C/g, O/g·kh·kw)
        wr = w[:, :, ::-1, ::-1].reshape(groups, O // groups, Cg, kh, kw)
        wmat = wr.transpose(0, 2, 1, 3, 4).reshape(C, (O // groups) * kh * kw)
        dxp = _flat_correlate(geo, buf, O, wmat, groups).reshape(C, N, geo.Hp, geo.Wp)
        (pt, _), (pl, _) = pads
        return from_cnhw(dxp[:, :, pt:pt + x_hw[0], pl:pl + x_hw[1]])
    wt = _grouped(w.reshape(O, Cg * kh * kw), groups).transpose(0, 2, 1)
    wt = wt.reshape(C * kh * kw, O // groups)
    dcol = _gemm(wt, _as_rows(dy), groups)
    return col2im(dcol.reshape(C, kh, kw, N, Ho, Wo), x_hw, stride, pads, dilation)


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
    if stride == (1, 1):
        geo = _FlatGeometry(x.shape, kernel, pads, dilation)
        xbuf = _flat_input(geo, x)
        dbuf, _ = _flat_grad_output(geo, dy, front=0)
        dyf = dbuf[:O * geo.L].reshape(O, geo.L)
        if groups == C == O:  # depthwise: dW[c, t] = Σ_l dy[c, l] · x[c, l + s_t]
            dw = np.zeros((C, kh * kw), dtype=x.dtype)
            for l0, l1 in geo.chunks(2 * C, x.itemsize):
                for t in range(kh * kw):
                    dw[:, t] += np.einsum("cl,cl->c", dyf[:, l0:l1],
                                          geo.shifted(xbuf, C, t, l0, l1))
            return dw.reshape(O, 1, kh, kw)
        dw = np.zeros((groups, Og, K), dtype=x.dtype)
        colbuf = geo.column_buffer(C * kh * kw, x.dtype)
        for l0, l1 in geo.chunks(C * kh * kw, x.itemsize):
            col = geo.columns(xbuf, C, l0, l1, colbuf).reshape(groups, K, l1 - l0)
            dw += np.matmul(dyf[:, l0:l1].reshape(groups, Og, l1 - l0),
                            col.transpose(0, 2, 1))
        return dw.reshape(O, Cg, kh, kw)
    col = im2col(x, kernel, stride, pads, dilation)
    dy_rows = _as_rows(dy)
    if groups == 1:
        dw = dy_rows @ col.reshape(C * kh * kw, -1).T
    else:
        dw = np.matmul(dy_rows.reshape(groups, Og, -1),
                       col.reshape(groups, K, -1).transpose(0, 2, 1))
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
