"""Upsampling: nearest neighbour and zero insertion ("bed of nails"), differentiable."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from .arguments import as_tensor, check_input, ntuple


class UpsampleNearest2d(Function):
    """y[..., i, j] = x[..., ⌊i·H/Ho⌋, ⌊j·W/Wo⌋]; params ih, iw (source rows / columns)."""

    def forward(self, x):
        self.hw = x.shape[2:]
        return x[:, :, self.ih[:, None], self.iw[None, :]]

    def backward(self, gy):
        N, C = gy.shape[:2]
        (H, W), (Ho, Wo) = self.hw, gy.shape[2:]
        if Ho % H == 0 and Wo % W == 0:  # integer factors: each source pixel owns a block
            return gy.reshape(N, C, H, Ho // H, W, Wo // W).sum(axis=(3, 5))
        # otherwise sum through one-hot matrices: dx = Mhᵀ · dy · Mw
        mh = (self.ih[:, None] == np.arange(H)).astype(gy.dtype)
        mw = (self.iw[:, None] == np.arange(W)).astype(gy.dtype)
        return mh.T @ gy @ mw


class UpsampleZeros2d(Function):
    """Bed of nails: y[..., s·i, s·j] = x[..., i, j], zero elsewhere; params sh, sw."""

    def forward(self, x):
        N, C, H, W = x.shape
        y = np.zeros((N, C, H * self.sh, W * self.sw), dtype=x.dtype)
        y[:, :, ::self.sh, ::self.sw] = x
        return y

    def backward(self, gy):
        return gy[:, :, ::self.sh, ::self.sw]


def _target_size(fn, x, size, scale_factor):
    H, W = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{fn}: give exactly one of size and scale_factor")
    if size is not None:
        return ntuple(size, 2, fn, "size", minimum=1)
    sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
    if len(sf) != 2 or any(f <= 0 for f in sf):
        raise ValueError(f"{fn}: scale_factor must be positive, got {scale_factor!r}")
    return int(np.floor(H * sf[0])), int(np.floor(W * sf[1]))


def upsample_nearest(input, size=None, scale_factor=None) -> Tensor:
    """Nearest-neighbour upsampling of (N, C, H, W) to `size` or by `scale_factor`, with
    PyTorch's 'nearest' rule: output pixel i copies input pixel ⌊i·H/Ho⌋."""
    x = as_tensor(input, "upsample_nearest")
    check_input(x, 4, "upsample_nearest", "(N, C, H, W)")
    Ho, Wo = _target_size("upsample_nearest", x, size, scale_factor)
    H, W = x.shape[2:]
    if scale_factor is not None:
        sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
        ih = np.minimum(np.floor(np.arange(Ho) / sf[0]).astype(np.int64), H - 1)
        iw = np.minimum(np.floor(np.arange(Wo) / sf[1]).astype(np.int64), W - 1)
    else:
        ih = (np.arange(Ho) * H) // Ho
        iw = (np.arange(Wo) * W) // Wo
    return UpsampleNearest2d.apply(x, ih=ih, iw=iw)


def upsample_zeros(input, scale_factor=2) -> Tensor:
    """"Bed of nails" unpooling: each input pixel goes to the top-left corner of its
    s×s block of an otherwise zero output (N, C, s·H, s·W)."""
    x = as_tensor(input, "upsample_zeros")
    check_input(x, 4, "upsample_zeros", "(N, C, H, W)")
    sh, sw = ntuple(scale_factor, 2, "upsample_zeros", "scale_factor", minimum=1)
    return UpsampleZeros2d.apply(x, sh=sh, sw=sw)


def interpolate(input, size=None, scale_factor=None, mode="nearest") -> Tensor:
    """Resize (N, C, H, W); mode 'nearest' (as PyTorch) or 'zeros' (bed of nails)."""
    if mode == "nearest":
        return upsample_nearest(input, size, scale_factor)
    if mode == "zeros":
        if size is not None or not isinstance(scale_factor, (int, tuple, list)):
            raise ValueError("interpolate: mode='zeros' needs an integer scale_factor")
        return upsample_zeros(input, scale_factor)
    raise ValueError(f"interpolate: mode must be 'nearest' or 'zeros', got {mode!r}")


__all__ = ["upsample_nearest", "upsample_zeros", "interpolate"]
