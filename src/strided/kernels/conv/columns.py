"""Any geometry through BLAS: im2col / col2im block by block (whole images) through one
reused buffer, so each column block is still in cache when the GEMM reads it (the unblocked
19 MB column matrix of ResNet-20's 16→32/2 layer ran its GEMM at half speed). The NumPy
path for strided layers that `polyphase` does not take (dilation, groups, k < s).

Also the strategy for device (CuPy) arrays, with blocks of DEVICE_CHUNK_BYTES: there each
pass is im2col as one strided copy per block, one cuBLAS GEMM per block (per group batch),
and col2im as kh·kw strided adds — a few large kernels, whatever the geometry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...device import array_module
from ..im2col import col2im_add, compact, from_cnhw, im2col_into, pad_cnhw, to_cnhw
from .blocks import (
    accumulate_dw,
    block_positions,
    device_block_positions,
    gemm_into,
    transposed_weight,
)
from .geometry import ConvGeometry


class ImageBlocks:
    """Whole-image blocks for the strided im2col, each about CHUNK_BYTES (at most
    MAX_BLOCK positions; DEVICE_CHUNK_BYTES for device arrays) of C·kh·kw-row columns, and
    one reusable column buffer, made in the array module of `like`."""

    def __init__(self, C, kernel, N, out_hw, like: Any):
        self.shape, self.out_hw = (C,) + tuple(kernel), tuple(out_hw)
        self.K, per = C * kernel[0] * kernel[1], out_hw[0] * out_hw[1]
        itemsize = np.dtype(like.dtype).itemsize
        if type(like) is np.ndarray:
            positions = block_positions(self.K, itemsize)
        else:
            positions = device_block_positions(self.K, itemsize)
        step = max(1, positions // per)
        self.images = [slice(n0, min(N, n0 + step)) for n0 in range(0, N, step)]
        self.buf = array_module(like).empty(self.K * min(step, N) * per, dtype=like.dtype)

    def columns(self, imgs: slice) -> np.ndarray:
        """The buffer as a contiguous (C, kh, kw, images, Ho, Wo) block."""
        shape = self.shape + (imgs.stop - imgs.start,) + self.out_hw
        return self.buf[: int(np.prod(shape))].reshape(shape)


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """y = W · im2col(x), one block of whole images at a time."""
    N, C, O, groups = g.N, g.C, g.O, g.groups
    Ho, Wo = g.out_hw
    xp = pad_cnhw(x, g.pads)
    y = array_module(x).empty((O, N, Ho, Wo), dtype=x.dtype)
    blocks = ImageBlocks(C, g.kernel, N, (Ho, Wo), x)
    wmat = w.reshape(O, -1)
    for imgs in blocks.images:
        col = im2col_into(xp[:, imgs], g.stride, g.dilation, blocks.columns(imgs))
        gemm_into(wmat, col.reshape(blocks.K, -1), groups, y[:, imgs].reshape(O, -1))
    return from_cnhw(y)


def input_grad(dy: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx = col2im(Wᵀ · dy), one block of whole images at a time."""
    N, C, H, W, O = g[:5]
    (pt, _), (pl, _) = g.pads
    Hp, Wp = g.padded_hw
    wt = transposed_weight(w, g.groups).reshape(-1, O // g.groups)
    xp = array_module(dy).zeros((C, N, Hp, Wp), dtype=dy.dtype)
    blocks = ImageBlocks(C, g.kernel, N, g.out_hw, dy)
    for imgs in blocks.images:
        col = blocks.columns(imgs)
        gemm_into(wt, to_cnhw(dy)[:, imgs].reshape(O, -1), g.groups, col.reshape(blocks.K, -1))
        col2im_add(col, g.stride, g.dilation, xp[:, imgs])
    return from_cnhw(compact(xp[:, :, pt : pt + H, pl : pl + W]))


def weight_grad(x: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dW = dy · im2col(x)ᵀ, accumulated over blocks of whole images."""
    N, C, O, groups = g.N, g.C, g.O, g.groups
    xp = pad_cnhw(x, g.pads)
    dw = array_module(x).zeros((groups, O // groups, (C // groups) * g.kh * g.kw), dtype=x.dtype)
    blocks = ImageBlocks(C, g.kernel, N, g.out_hw, x)
    for imgs in blocks.images:
        col = im2col_into(xp[:, imgs], g.stride, g.dilation, blocks.columns(imgs))
        accumulate_dw(dw, to_cnhw(dy)[:, imgs].reshape(O, -1), col.reshape(blocks.K, -1), groups)
    return dw.reshape(O, C // groups, g.kh, g.kw)
