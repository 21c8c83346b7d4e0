"""Resizing (`interpolate`) in 1, 2 or 3 spatial dimensions, differentiable, with PyTorch's
modes and coordinate rules, and zero insertion ("bed of nails").

Every mode but 'nearest' is separable: along each spatial axis the output is a fixed
(out, in) matrix times the input, y = A·x, whose adjoint Aᵀ gives the gradient. 'nearest'
copies (so a NaN or ∞ stays where it was); its gradient is the one-hot matrix's transpose.
The matrices and index arrays are made by the input's array module, on its device: nothing
is copied between host and device.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import cast

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Function, Grads, Tensor
from ..device import array_module
from ..kernels.pool import adaptive_avg_matrix
from .arguments import as_tensor, ntuple

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area", "zeros")
_LINEAR_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _along(a: np.ndarray, m: np.ndarray, axis: int) -> np.ndarray:
    """m applied along `axis` of a: out[..., i, ...] = Σ_j m[i, j]·a[..., j, ...]."""
    xp = array_module(a)
    return xp.moveaxis(xp.tensordot(a, m, axes=([axis], [1])), -1, axis)


class Resample(Function):
    """y = A_1 ⊗ … ⊗ A_d applied to the spatial axes; params mats (one (out, in) matrix per
    spatial axis, None where the axis keeps its size)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        for k, m in enumerate(self.mats):
            if m is not None:
                x = _along(x, m, 2 + k)
        return array_module(x).ascontiguousarray(x)

    def backward(self, g: np.ndarray) -> Grads:
        for k, m in enumerate(self.mats):
            if m is not None:
                g = _along(g, m.T, 2 + k)
        return g


class UpsampleNearest(Function):
    """Nearest neighbour: y[..., i, j] = x[..., src_h[i], src_w[j]]; params src (one index
    array per spatial axis)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.n = x.shape[2:]
        return x[(slice(None), slice(None)) + array_module(x).ix_(*self.src)]

    def backward(self, g: np.ndarray) -> Grads:
        xp = array_module(g)
        for k, (idx, n) in enumerate(zip(self.src, self.n, strict=True)):
            g = _along(g, (idx[:, None] == xp.arange(n)).astype(g.dtype).T, 2 + k)
        return g


class UpsampleZeros(Function):
    """y[..., s·i, s·j] = x[..., i, j], zero elsewhere; params scale (per spatial axis)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = array_module(x).zeros(
            x.shape[:2] + tuple(n * s for n, s in zip(x.shape[2:], self.scale, strict=True)),
            dtype=x.dtype,
        )
        y[self._nails()] = x
        return y

    def backward(self, gy: np.ndarray) -> Grads:
        return gy[self._nails()]

    def _nails(self) -> tuple[slice, ...]:
        return (slice(None), slice(None)) + tuple(slice(None, None, s) for s in self.scale)


def _cubic(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution kernel with PyTorch's a = −0.75, at distances |t| < 2."""
    xp = array_module(t)
    t = xp.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return xp.where(t <= 1, near, xp.where(t < 2, far, 0.0))


def _source(
    mode: str, n_in: int, n_out: int, scale: float, align_corners: bool, xp: ModuleType
) -> np.ndarray:
    """Source coordinate of each output position along one axis (PyTorch's
    area_pixel_compute_source_index): half-pixel centres unless align_corners."""
    dst = xp.arange(n_out, dtype=np.float64)
    if align_corners:
        return dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    src = (dst + 0.5) * scale - 0.5
    return src if mode == "bicubic" else xp.maximum(src, 0.0)


def _matrix(
    mode: str,
    n_in: int,
    n_out: int,
    scale: float,
    align_corners: bool,
    dtype: DTypeLike,
    xp: ModuleType = np,
) -> np.ndarray:
    """The (n_out, n_in) resampling matrix of one axis, made by the array module `xp`."""
    if mode == "area":
        return adaptive_avg_matrix(n_in, n_out, dtype, xp)
    src = _source(mode, n_in, n_out, scale, align_corners, xp)
    m = xp.zeros((n_out, n_in), dtype=np.float64)
    rows = xp.arange(n_out)
    base = xp.floor(src).astype(np.int64)
    t = src - base
    if mode == "bicubic":  # 4 taps at base−1 … base+2, clamped at the edges
        for off in (-1, 0, 1, 2):
            xp.add.at(m, (rows, xp.clip(base + off, 0, n_in - 1)), _cubic(t - off))
    else:  # linear: (1 − t)·x[base] + t·x[base + 1]
        base = xp.minimum(base, n_in - 1)
        t = xp.clip(src - base, 0.0, 1.0)
        xp.add.at(m, (rows, base), 1 - t)
        xp.add.at(m, (rows, xp.minimum(base + 1, n_in - 1)), t)
    return m.astype(dtype)


def _nearest_source(
    mode: str, n_in: int, n_out: int, scale: float, xp: ModuleType = np
) -> np.ndarray:
    """nearest: ⌊i·scale⌋; nearest-exact: ⌊(i + ½)·scale⌋ (both clamped to the input)."""
    dst = xp.arange(n_out, dtype=np.float64) + (0.5 if mode == "nearest-exact" else 0.0)
    # float32 arithmetic as PyTorch's kernel, so ⌊i·scale⌋ rounds the same way
    src = xp.floor(dst.astype(np.float32) * np.float32(scale)).astype(np.int64)
    return xp.minimum(src, n_in - 1)


def _sizes(
    fn: str,
    spatial: tuple,
    size: int | tuple[int, ...] | None,
    scale_factor: float | tuple[float, ...] | None,
    recompute: bool,
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Output sizes and the scale (input per output) each axis maps coordinates with."""
    d = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{fn}: give exactly one of size and scale_factor")
    if size is not None:
        out = ntuple(size, d, fn, "size", minimum=1)
        return out, tuple(i / o for i, o in zip(spatial, out, strict=True))
    sf: tuple[float | None, ...] = (
        tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
    )
    if len(sf) == 1:
        sf = sf * d
    if len(sf) != d or not all(isinstance(f, (int, float, np.number)) and f > 0 for f in sf):
        raise ValueError(
            f"{fn}: scale_factor must be a positive number or {d} of them, got {scale_factor!r}"
        )
    out = tuple(int(math.floor(i * f)) for i, f in zip(spatial, sf, strict=True))
    if any(o < 1 for o in out):
        raise ValueError(
            f"{fn}: scale_factor {scale_factor!r} gives an empty output "
            f"{out} for input size {spatial}"
        )
    if recompute:
        return out, tuple(i / o for i, o in zip(spatial, out, strict=True))
    return out, tuple(1.0 / f for f in cast(tuple[float, ...], sf))  # numbers, checked above


def interpolate(
    input: Tensor,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial axes of `input`, as torch.nn.functional.interpolate: a 3-D input
    is (N, C, L), 4-D (N, C, H, W), 5-D (N, C, D, H, W).

    Parameters
    ----------
    input : Tensor
        (N, C, L), (N, C, H, W) or (N, C, D, H, W).
    size : int or tuple of int, optional
        The output's spatial size.
    scale_factor : float or tuple of float, optional
        Multiplier of the spatial size (output size ⌊size·factor⌋); give this or `size`.
    mode : str
        'nearest' (copies x[⌊i·in/out⌋]), 'nearest-exact' (x[⌊(i + ½)·in/out⌋]), 'linear'
        (3-D input), 'bilinear' / 'bicubic' (4-D), 'trilinear' (5-D), 'area' (adaptive
        average pooling), or 'zeros' (bed of nails: each value at the corner of its
        scale_factor block, zeros elsewhere; integer factors).
    align_corners : bool, optional
        Linear and cubic modes only: map the corner pixels' centres onto each other
        (default False: half-pixel centres).
    recompute_scale_factor : bool, optional
        With `scale_factor`, map coordinates by in/out sizes instead of the given factor.
    antialias : bool
        Only False is supported.
    """
    fn = "interpolate"
    x = as_tensor(input, fn)
    if mode not in MODES:
        raise ValueError(f"{fn}: mode must be one of {MODES}, got {mode!r}")
    if x.ndim not in (3, 4, 5):
        raise ValueError(
            f"{fn}: expected a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D "
            f"(N, C, D, H, W) input, got shape {tuple(x.shape)}"
        )
    d = x.ndim - 2
    if mode in _LINEAR_RANK and _LINEAR_RANK[mode] != d:
        raise ValueError(
            f"{fn}: mode {mode!r} needs a {_LINEAR_RANK[mode] + 2}-D input, "
            f"got shape {tuple(x.shape)}"
        )
    if align_corners is not None and mode not in _LINEAR_RANK:
        raise ValueError(
            f"{fn}: align_corners applies only to the linear and cubic modes "
            f"{tuple(_LINEAR_RANK)}, not to mode {mode!r}"
        )
    if antialias:
        raise ValueError(f"{fn}: antialias=True is not supported")
    if mode == "zeros":
        if size is not None or recompute_scale_factor or scale_factor is None:
            raise ValueError(f"{fn}: mode='zeros' takes an integer scale_factor, not a size")
        return upsample_zeros(x, scale_factor)
    if mode == "area" and recompute_scale_factor is False and scale_factor is not None:
        raise ValueError(f"{fn}: mode='area' always recomputes the scale from the sizes")
    spatial = tuple(x.shape[2:])
    out, scale = _sizes(fn, spatial, size, scale_factor, bool(recompute_scale_factor))
    xp = array_module(x.data)
    if mode in ("nearest", "nearest-exact"):
        src = [
            _nearest_source(mode, i, o, s, xp) for i, o, s in zip(spatial, out, scale, strict=True)
        ]
        return UpsampleNearest.apply(x, src=src)
    mats = [
        None
        if (i == o and mode != "bicubic" and (s == 1 or mode == "area"))
        else _matrix(mode, i, o, s, bool(align_corners), x.dtype, xp)
        for i, o, s in zip(spatial, out, scale, strict=True)
    ]
    return Resample.apply(x, mats=mats)


def upsample_nearest(
    input: Tensor,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
) -> Tensor:
    """Nearest-neighbour resizing to `size` or by `scale_factor`, PyTorch's 'nearest' rule:
    output pixel i copies input pixel ⌊i·in/out⌋ (interpolate with mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_zeros(input: Tensor, scale_factor: float | tuple[float, ...] = 2) -> Tensor:
    """ "Bed of nails" unpooling: each input value goes to the first corner of its
    s×s(×s) block of an otherwise zero output (N, C, s·H, s·W).

    Parameters
    ----------
    scale_factor : int
        Spacing of the input values in the output: scale_factor − 1 zeros between neighbours
        (default 2).
    """
    x = as_tensor(input, "upsample_zeros")
    if x.ndim not in (3, 4, 5):
        raise ValueError(
            f"upsample_zeros: expected a 3-D, 4-D or 5-D input (N, C, ...), "
            f"got shape {tuple(x.shape)}"
        )
    if not isinstance(scale_factor, (int, np.integer, tuple, list)):
        raise ValueError(
            f"upsample_zeros: scale_factor must be an int or a tuple of ints, got {scale_factor!r}"
        )
    scale = ntuple(scale_factor, x.ndim - 2, "upsample_zeros", "scale_factor", minimum=1)
    return UpsampleZeros.apply(x, scale=scale)


__all__ = ["upsample_nearest", "upsample_zeros", "interpolate"]
