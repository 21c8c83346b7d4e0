"""3-D convolution (cross-correlation) kernels in NumPy: forward, backward-data and
backward-filter for x (N, C, D, H, W) and a weight (O, C/g, kd, kh, kw), as PyTorch's conv3d:

    y[n, o, p] = Σ_{c, t} w[o, c, t] · xpad[n, g(o)·C/g + c, p·s + t·d]     (p, t ∈ ℤ³)

Forward and weight gradient read the windows of the padded input as one strided view
(im2col without copying the taps one by one); the input gradient adds each tap's
contribution back at its offset (col2im), the adjoint of that view. NumPy or device
(CuPy) arrays alike: every product is a tensordot of the module the arrays come from.
"""

from __future__ import annotations

import numpy as np

from ..device import array_module
from .im2col import strided_view

Triple = tuple


def output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1."""
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _windows(
    xp: np.ndarray, kernel: Triple, stride: Triple, dilation: Triple, out: Triple
) -> np.ndarray:
    """The (N, C, *out, *kernel) view of xp's windows: view[..., p, t] = xp[..., p·s + t·d]."""
    lead, sp = xp.strides[:2], xp.strides[2:]
    shape = xp.shape[:2] + tuple(out) + tuple(kernel)
    strides = (
        lead
        + tuple(a * s for a, s in zip(sp, stride, strict=True))
        + tuple(a * d for a, d in zip(sp, dilation, strict=True))
    )
    return strided_view(xp, shape, strides)


def _padded(x: np.ndarray, padding: Triple) -> np.ndarray:
    if not any(padding):
        return x
    return array_module(x).pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))


def conv3d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: Triple,
    padding: Triple,
    dilation: Triple,
    groups: int,
) -> np.ndarray:
    """y = W · im2col(x) per group; returns (N, O, Do, Ho, Wo)."""
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    kernel = w.shape[2:]
    out = tuple(
        output_size(n, k, s, p, d)
        for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True)
    )
    win = _windows(_padded(x, padding), kernel, stride, dilation, out)
    Og, xp = O // groups, array_module(x)
    y = xp.empty((N, O) + out, dtype=x.dtype)
    for g in range(groups):
        cols = win[:, g * Cg : (g + 1) * Cg]  # (N, Cg, *out, *kernel)
        # y[n, o, p] = Σ_{c, t} cols[n, c, p, t] · w[o, c, t]
        y[:, g * Og : (g + 1) * Og] = xp.moveaxis(
            xp.tensordot(cols, w[g * Og : (g + 1) * Og], axes=([1, 5, 6, 7], [1, 2, 3, 4])), -1, 1
        )
    if b is not None:
        y += b.reshape(1, -1, 1, 1, 1)
    return y


def conv3d_backward_data(
    gy: np.ndarray,
    w: np.ndarray,
    x_shape: tuple,
    stride: Triple,
    padding: Triple,
    dilation: Triple,
    groups: int,
) -> np.ndarray:
    """dx[n, c, p·s + t·d] += Σ_o w[o, c, t]·dy[n, o, p]: per group one product Wᵀ·dy
    for every tap at once, then each tap's slice added back at its offset (col2im); the
    padded border is cropped at the end."""
    N, C = x_shape[:2]
    O, Cg = w.shape[:2]
    kernel = w.shape[2:]
    out = gy.shape[2:]
    Og, xp = O // groups, array_module(gy)
    dxp = xp.zeros(
        (N, C) + tuple(n + 2 * p for n, p in zip(x_shape[2:], padding, strict=True)), dtype=gy.dtype
    )
    taps = list(np.ndindex(*kernel))
    for g in range(groups):
        # (N, Og, *out) × (Og, k³, Cg) → (N, *out, k³, Cg): one GEMM for all taps
        wg = w[g * Og : (g + 1) * Og].reshape(Og, Cg, len(taps)).transpose(0, 2, 1)
        cols = xp.tensordot(gy[:, g * Og : (g + 1) * Og], wg, axes=([1], [0]))
        for k, t in enumerate(taps):
            dst = tuple(
                slice(i * d, i * d + (o - 1) * s + 1, s)
                for i, d, o, s in zip(t, dilation, out, stride, strict=True)
            )
            dxp[(slice(None), slice(g * Cg, (g + 1) * Cg)) + dst] += xp.moveaxis(
                cols[..., k, :], -1, 1
            )
    crop = tuple(slice(p, p + n) for p, n in zip(padding, x_shape[2:], strict=True))
    return xp.ascontiguousarray(dxp[(slice(None), slice(None)) + crop])


def conv3d_backward_weight(
    x: np.ndarray,
    gy: np.ndarray,
    kernel: Triple,
    stride: Triple,
    padding: Triple,
    dilation: Triple,
    groups: int,
) -> np.ndarray:
    """dW[o, c, t] = Σ_{n, p} dy[n, o, p] · xpad[n, c, p·s + t·d]."""
    N, C = x.shape[:2]
    O = gy.shape[1]
    Cg, Og = C // groups, O // groups
    win = _windows(_padded(x, padding), kernel, stride, dilation, gy.shape[2:])
    xp = array_module(x)
    gw = xp.empty((O, Cg) + tuple(kernel), dtype=gy.dtype)
    for g in range(groups):
        gw[g * Og : (g + 1) * Og] = xp.tensordot(
            gy[:, g * Og : (g + 1) * Og],
            win[:, g * Cg : (g + 1) * Cg],
            axes=([0, 2, 3, 4], [0, 2, 3, 4]),
        )
    return gw


__all__ = ["output_size", "conv3d_forward", "conv3d_backward_data", "conv3d_backward_weight"]
