"""im2col / col2im: the column matrix that turns a convolution into one matrix product.

For a window of size (kh, kw) sliding over a zero-padded input with stride s and dilation d,
the column buffer holds, for every input channel c and kernel tap (i, j), the input values
that tap touches at every output position:

    col[c, i, j, n, ho, wo] = xpad[n, c, ho*sh + i*dh, wo*sw + j*dw]

Laid out as (C*kh*kw, N*Ho*Wo), each row is a long contiguous run along the output width, so
the copy is a few large strided slices (one per tap) instead of many tiny ones, and the
product W(O, C*kh*kw) @ col comes out as (O, N, Ho, Wo): channels-first in memory, which
the wrappers hand out as an NCHW *view* without a transposing copy (see `from_cnhw`).

col2im is the adjoint: it adds every column entry back to the input position it came from.

Every function here works on NumPy and on device (CuPy) arrays alike: buffers come from the
arrays' own module, and the NumPy-only tricks (rows copied as opaque items, writeable
strided views) are taken only for NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..device import array_module

Pair = tuple[int, int]


def strided_view(
    a: Any, shape: Sequence[int], strides: Sequence[int], writeable: bool = False
) -> Any:
    """A view of `a`'s memory with the given shape and byte strides (as_strided of `a`'s
    array module). Writeable only on request, and only where NumPy can refuse writes: a
    device array's views always are, so only the adjoints (col2im) write through them."""
    if type(a) is np.ndarray:
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=writeable)
    return array_module(a).lib.stride_tricks.as_strided(a, tuple(shape), tuple(strides))


def conv_output_size(
    size: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window: ⌊(W + P_lo + P_hi − d·(F−1) − 1) / S⌋ + 1."""
    span = size + pad_lo + pad_hi - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        # PyTorch's rule: the last window must start inside the input or the left padding
        if (out - 1) * stride >= size + pad_lo:
            out -= 1
        return out
    return span // stride + 1


def to_cnhw(x: np.ndarray) -> np.ndarray:
    """`x` (N, C, H, W) as a (C, N, H, W) view; contiguous when x came from `from_cnhw`."""
    return x.transpose(1, 0, 2, 3)


def from_cnhw(y: np.ndarray) -> np.ndarray:
    """A (C, N, H, W) array as the (N, C, H, W) view the public API speaks."""
    return y.transpose(1, 0, 2, 3)


def is_channels_first(a: np.ndarray) -> bool:
    """`a` (N, C, ...) is a view of a contiguous (C, N, ...) buffer, as convolutions
    return: kernels then work on that buffer as it lies (mixing the two layouts in one
    ufunc ran 3x slower)."""
    return not a.flags.c_contiguous and a.swapaxes(0, 1).flags.c_contiguous


def copy_rows(dst: np.ndarray, src: np.ndarray) -> None:
    """dst[...] = src, a whole row (last axis) at a time: rows seen as opaque items of
    W·itemsize bytes copy ~2x faster than element by element when W is short (16×128
    32×32 images into a padded buffer: 0.30 → 0.17 ms). Same shape and dtype."""
    W = src.shape[-1]
    if type(dst) is not np.ndarray or type(src) is not np.ndarray:
        dst[...] = src  # a device array: no structured dtypes there, one copy kernel anyway
    elif W and src.strides[-1] == dst.strides[-1] == src.itemsize and src.dtype == dst.dtype:
        row = np.dtype((np.void, W * src.itemsize))
        np.copyto(dst.view(row), src.view(row))
    else:
        np.copyto(dst, src)


def compact(a: np.ndarray) -> np.ndarray:
    """`a` (a crop of a bigger buffer) copied into its own C-order buffer, a row at a time;
    `a` itself when already contiguous. Elementwise ops downstream (bias, ReLU, norms) ran
    1.4-8x slower on cropped views than the copy costs (LeNet conv1's bias: 0.18 vs
    0.02 ms after a 0.05 ms copy)."""
    if a.flags.c_contiguous:
        return a
    if type(a) is not np.ndarray:
        return array_module(a).ascontiguousarray(a)
    out = np.empty(a.shape, dtype=a.dtype)
    copy_rows(out, a)
    return out


def pad_cnhw(
    x: np.ndarray, pads: tuple[Pair, Pair], extra: Pair = (0, 0), fill: float = 0.0
) -> np.ndarray:
    """`x` (N, C, H, W) copied into a (C, N, H+pads, W+pads) buffer, borders set to `fill`.

    `extra` adds rows/columns at the bottom/right (ceil_mode windows that run past the
    padding). Without any padding and with x already channels-first in memory, no copy.
    """
    (pt, pb), (pl, pr) = pads
    pb += extra[0]
    pr += extra[1]
    N, C, H, W = x.shape
    xc = to_cnhw(x)
    if pt == pb == pl == pr == 0 and xc.flags.c_contiguous:
        return xc
    out = array_module(x).empty((C, N, H + pt + pb, W + pl + pr), dtype=x.dtype)
    # only the border needs the fill value; the interior is overwritten by the copy
    if pt:
        out[:, :, :pt] = fill
    if pb:
        out[:, :, H + pt :] = fill
    if pl:
        out[:, :, :, :pl] = fill
    if pr:
        out[:, :, :, W + pl :] = fill
    copy_rows(out[:, :, pt : pt + H, pl : pl + W], xc)
    return out


def tap_slices(
    i: int, j: int, out_hw: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> tuple[slice, slice]:
    """Index of the (Ho, Wo) grid of padded-input positions kernel tap (i, j) reads."""
    (Ho, Wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return (
        slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
        slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw),
    )


def im2col_into(xp: np.ndarray, stride: Pair, dilation: Pair, out: np.ndarray) -> np.ndarray:
    """out[c, i, j, n, ho, wo] = xp[c, n, ho·sh + i·dh, wo·sw + j·dw] for a padded,
    channels-first xp (C, N, Hp, Wp) and out (C, kh, kw, N, Ho, Wo): one copy per tap.

    On a device, one copy from the strided view of all windows instead: one kernel launch
    rather than kh·kw (on the CPU the per-tap copies, each a few long runs, are faster)."""
    _, kh, kw, _, Ho, Wo = out.shape
    if type(xp) is not np.ndarray:
        (sh, sw), (dh, dw) = stride, dilation
        sc, sn, sy, sx = xp.strides
        out[...] = strided_view(xp, out.shape, (sc, dh * sy, dw * sx, sn, sh * sy, sw * sx))
        return out
    for i in range(kh):
        for j in range(kw):
            hs, ws = tap_slices(i, j, (Ho, Wo), stride, dilation)
            out[:, i, j] = xp[:, :, hs, ws]
    return out


def col2im_add(col: np.ndarray, stride: Pair, dilation: Pair, xp: np.ndarray) -> np.ndarray:
    """The adjoint of `im2col_into`: xp[c, n, ho·sh + i·dh, wo·sw + j·dw] += col[c, i, j,
    n, ho, wo], every column entry added back to the input position it was copied from."""
    _, kh, kw, _, Ho, Wo = col.shape
    for i in range(kh):
        for j in range(kw):
            hs, ws = tap_slices(i, j, (Ho, Wo), stride, dilation)
            xp[:, :, hs, ws] += col[:, i, j]
    return xp


def im2col(
    x: np.ndarray, kernel: Pair, stride: Pair, pads: tuple[Pair, Pair], dilation: Pair
) -> np.ndarray:
    """The column buffer (C, kh, kw, N, Ho, Wo) of `x` (N, C, H, W); see the module doc."""
    N, C, H, W = x.shape
    kh, kw = kernel
    Ho = conv_output_size(H, kh, stride[0], *pads[0], dilation[0])
    Wo = conv_output_size(W, kw, stride[1], *pads[1], dilation[1])
    col = array_module(x).empty((C, kh, kw, N, Ho, Wo), dtype=x.dtype)
    return im2col_into(pad_cnhw(x, pads), stride, dilation, col)


def col2im(
    col: np.ndarray, x_hw: Pair, stride: Pair, pads: tuple[Pair, Pair], dilation: Pair
) -> np.ndarray:
    """The adjoint of `im2col`: x[n, c, h, w] = Σ over taps that read (h, w) of col[...].

    `col` is (C, kh, kw, N, Ho, Wo); returns (N, C, H, W) as a view of a channels-first
    buffer (cropped from the padded one).
    """
    C, kh, kw, N, Ho, Wo = col.shape
    H, W = x_hw
    (pt, pb), (pl, pr) = pads
    xp = array_module(col).zeros((C, N, H + pt + pb, W + pl + pr), dtype=col.dtype)
    col2im_add(col, stride, dilation, xp)
    return from_cnhw(compact(xp[:, :, pt : pt + H, pl : pl + W]))
