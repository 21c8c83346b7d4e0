"""The reference convolution: im2col, one matrix product, col2im — the notes' formulas,
written plainly. The oracle every other strategy is tested against; not tuned.

For y = conv2d(x, w) with the column matrix col = im2col(x), (C/g·kh·kw, N·Ho·Wo) per group:

* forward        y = W · col
* input grad     dx = col2im(Wᵀ · dy): every column entry added back where it was copied
                 from — the full correlation of the zero-inserted, padded dy with the
                 180°-rotated kernel, written as the transpose of the forward's matrix
* weight grad    dW = dy · colᵀ
"""

from __future__ import annotations

import numpy as np

from ..im2col import col2im, from_cnhw, im2col, to_cnhw
from .geometry import ConvGeometry


def _columns(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """im2col(x) per group: (G, C/g·kh·kw, N·Ho·Wo)."""
    return im2col(x, g.kernel, g.stride, g.pads, g.dilation).reshape(
        g.groups, -1, g.N * np.prod(g.out_hw)
    )


def _per_group(a: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(N, O, Ho, Wo) → (G, O/g, N·Ho·Wo), channels first."""
    return to_cnhw(a).reshape(g.groups, a.shape[1] // g.groups, -1)


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """y = W · im2col(x), (N, O, Ho, Wo)."""
    y = w.reshape(g.groups, g.O // g.groups, -1) @ _columns(x, g)
    return from_cnhw(y.reshape((g.O, g.N) + g.out_hw))


def input_grad(dy: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx = col2im(Wᵀ · dy), (N, C, H, W)."""
    wt = w.reshape(g.groups, g.O // g.groups, -1).transpose(0, 2, 1)
    dcol = wt @ _per_group(dy, g)
    dcol = dcol.reshape((g.C, g.kh, g.kw, g.N) + g.out_hw)
    return col2im(dcol, (g.H, g.W), g.stride, g.pads, g.dilation)


def weight_grad(x: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dW = dy · im2col(x)ᵀ, (O, C/g, kh, kw)."""
    dw = _per_group(dy, g) @ _columns(x, g).transpose(0, 2, 1)
    return dw.reshape(g.O, g.C // g.groups, g.kh, g.kw)
