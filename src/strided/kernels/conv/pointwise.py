"""1×1, no stride, no padding, no groups: a matrix product over channels at every pixel,
y = W·x — no columns to build. Channels-first arrays are one (C, N·H·W) matrix; NCHW ones a
stack of (C, H·W) matrices, one per image. (Through the flat-shift path a 64→256 layer's
backward allocated 7x its 1.5 MB column buffer in copies of dy.)
"""

from __future__ import annotations

import numpy as np

from ...device import array_module
from ..im2col import from_cnhw, is_channels_first, to_cnhw
from .geometry import ConvGeometry


def _channel_matrix(a: np.ndarray):
    """(the (C, N·H·W) matrix of a channels-first `a`, True), or (a's (N, C, H·W) stack of
    matrices, False) — without a copy when `a` lies either way."""
    N, C, H, W = a.shape
    if is_channels_first(a):
        return to_cnhw(a).reshape(C, -1), True
    return array_module(a).ascontiguousarray(a).reshape(N, C, H * W), False


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
    if type(x) is not np.ndarray:
        # a device: one GEMM over every image (tensordot lays both out as matrices), not a
        # loop of N small ones
        return array_module(x).tensordot(to_cnhw(dy), to_cnhw(x), axes=([1, 2, 3], [1, 2, 3]))
    if x_first:  # the (smaller) x in dy's per-image layout
        xm = np.ascontiguousarray(x).reshape(dm.shape[0], -1, dm.shape[2])
    elif dy_first:
        dm = np.ascontiguousarray(dy).reshape(xm.shape[0], -1, xm.shape[2])
    dw = np.zeros((dm.shape[1], xm.shape[1]), dtype=x.dtype)
    for n in range(xm.shape[0]):
        dw += dm[n] @ xm[n].T
    return dw


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """y = W·x at every pixel, channels-first when x is."""
    return _pointwise_apply(w.reshape(g.O, g.C), x)


def input_grad(dy: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx = Wᵀ·dy at every pixel."""
    return _pointwise_apply(w.reshape(g.O, g.C).T, dy)


def weight_grad(x: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dW = Σ over pixels of dy·xᵀ, (O, C, 1, 1)."""
    return _pointwise_weight_grad(x, dy).reshape(g.O, g.C, 1, 1)
