"""The three convolution kernels: forward, input gradient, weight gradient.

Everything is written for a 2-D cross-correlation of x (N, C, H, W) with a weight
(O, C/g, kh, kw), as PyTorch defines `conv2d`:

    y[n, o, ho, wo] = Σ_{c, i, j} w[o, c, i, j] · xpad[n, g(o)·C/g + c, ho·sh + i·dh, wo·sw + j·dw]

and the rest follows from it:

* forward        y = W · im2col(x)
* input grad     dx = col2im(Wᵀ · dy) — the full correlation of the zero-inserted, padded
                 dy with the 180°-rotated kernel. It *is* `conv_transpose2d`'s forward.
* weight grad    dW[o,c,i,j] = Σ_{n,ho,wo} dy[n,o,ho,wo] · xpad[n,c,ho·sh+i·dh,wo·sw+j·dw]
                 = dy · im2col(x)ᵀ: the correlation of the input with dy.

`conv_transpose2d` uses the same three with the roles swapped (its forward is the input
gradient, its input gradient the forward, its weight gradient the weight gradient with x
and dy swapped), so there are three kernels per strategy, not six.

`reference` is those formulas written plainly (the oracle of the tests). The strategies —
one module each, each the full trio — compute the same sums faster; `plan` picks one per
layer geometry, once. Outputs may be NCHW views of channels-first (C, N, H, W) buffers:
the GEMMs write that order naturally, and the next layer reads it contiguously.
"""

from __future__ import annotations

import numpy as np

from ...device import array_module
from ..im2col import Pair, conv_output_size, to_cnhw
from .geometry import ConvGeometry
from .plan import plan


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: Pair,
    pads: tuple[Pair, Pair],
    dilation: Pair,
    groups: int,
) -> np.ndarray:
    """y = W · im2col(x) (+ b): the cross-correlation in the module doc, (N, O, Ho, Wo)."""
    g = ConvGeometry.of(x.shape, w.shape, stride, pads, dilation, groups)
    y = plan(g, x).forward(x, w, g)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_backward_data(
    dy: np.ndarray,
    w: np.ndarray,
    x_hw: Pair,
    stride: Pair,
    pads: tuple[Pair, Pair],
    dilation: Pair,
    groups: int,
) -> np.ndarray:
    """dx (N, C, H, W) for y = conv2d(x, w), x of spatial size x_hw; also
    conv_transpose2d's forward."""
    x_shape = (dy.shape[0], w.shape[1] * groups) + tuple(x_hw)
    g = ConvGeometry.of(x_shape, w.shape, stride, pads, dilation, groups)
    if dy.shape[2:] != g.out_hw:
        # conv_transpose2d with output_padding ≥ stride (allowed below the dilation): the
        # conv onto its output would have more positions than its input holds; those read
        # nothing, so their gradient is zero
        full = array_module(dy).zeros(dy.shape[:2] + g.out_hw, dtype=dy.dtype)
        full[:, :, : dy.shape[2], : dy.shape[3]] = dy
        dy = full
    return plan(g, dy).input_grad(dy, w, g)


def conv2d_backward_weight(
    x: np.ndarray,
    dy: np.ndarray,
    kernel: Pair,
    stride: Pair,
    pads: tuple[Pair, Pair],
    dilation: Pair,
    groups: int,
) -> np.ndarray:
    """dW (O, C/g, kh, kw) = dy · im2col(x)ᵀ. Shared by conv2d (x, dy) and conv_transpose2d
    (dy, x)."""
    O = dy.shape[1]
    g = ConvGeometry.of(
        x.shape, (O, x.shape[1] // groups) + tuple(kernel), stride, pads, dilation, groups
    )
    return plan(g, x).weight_grad(x, dy, g)


def conv2d_backward_bias(dy: np.ndarray) -> np.ndarray:
    """db[o] = Σ_{n,h,w} dy[n, o, h, w]."""
    return to_cnhw(dy).sum(axis=(1, 2, 3))


def conv_transpose_output_size(
    size: int, kernel: int, stride: int, pad: int, dilation: int, output_padding: int
) -> int:
    """(i − 1)·s − 2p + d·(k − 1) + output_padding + 1."""
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


__all__ = [
    "ConvGeometry",
    "plan",
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "conv2d_backward_bias",
    "conv_output_size",
    "conv_transpose_output_size",
]
