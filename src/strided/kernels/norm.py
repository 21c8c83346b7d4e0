"""Batch normalisation kernels on an (A, C, B) array, each channel c the values v[:, c, :]
(m = A·B of them), with the NumPy reference and a compiled kernel for each pass.

    forward    μ = Σ v / m,  x_c = v − μ,  σ² = Σ x_c² / m,  invstd = 1/√(σ² + ε),
               y = x_c·(γ·invstd) + β                       (eval: μ, σ² the running ones)
    backward   a = γ·invstd,  dγ = invstd·Σ g·x_c,  dβ = Σ g,
               dx = a·g − x_c·(a·invstd²·Σ g·x_c / m) − a·Σ g / m     (eval: dx = a·g)

The compiled kernels take one channel per thread (prange over C) and sum each channel in
float64 in a fixed order, so the result does not depend on the number of threads. Arrays
on a device take the reference, in their array module's reductions.
"""

from __future__ import annotations

import math

import numpy as np

from ..device import array_module
from .compiled import compiled, jit
from .flat import prange


def _per_channel_dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ u·v over axes 0 and 2 of two (A, C, B) arrays: one BLAS dot per channel when each
    channel is one run (A = 1), else a pairwise sum of the product."""
    if u.shape[0] == 1:
        return array_module(u).matmul(u[0][:, None, :], v[0][:, :, None]).reshape(-1)
    return (u * v).sum(axis=(0, 2))


@jit(parallel=True)
def _forward(v, weight, bias, mean, var, use_batch, eps, out, xc, invstd):
    A, C, B = v.shape
    m = A * B
    for c in prange(C):
        if use_batch:
            s = 0.0
            for a in range(A):
                for b in range(B):
                    s += v[a, c, b]
            mean[c] = s / m
        mu = mean[c]
        ss = 0.0
        for a in range(A):
            for b in range(B):
                d = v[a, c, b] - mu
                xc[a, c, b] = d
                ss += d * d
        if use_batch:
            var[c] = ss / m
        inv = 1.0 / math.sqrt(var[c] + eps)
        invstd[c] = inv
        scale = inv * weight[c] if weight.size else inv
        shift = bias[c] if bias.size else 0.0
        for a in range(A):
            for b in range(B):
                out[a, c, b] = xc[a, c, b] * scale + shift


def batch_norm_forward(v: np.ndarray, weight, bias, running_mean, running_var, eps: float):
    """(y, x_c, invstd, μ, σ²) for an (A, C, B) array v; the batch's statistics when
    `running_mean`/`running_var` are None, else those (eval). μ, σ², invstd: (C,) of v's
    dtype; weight/bias (C,) or None."""
    col = (1, -1, 1)
    dtype = v.dtype
    use_batch = running_mean is None
    if (
        compiled(v, running_mean, running_var, weight, bias)
        and v.flags.c_contiguous
        and v.dtype in (np.float32, np.float64)
    ):
        C = v.shape[1]
        empty = np.empty(0, dtype=dtype)
        mean = np.empty(C, dtype) if use_batch else np.asarray(running_mean, dtype)
        var = np.empty(C, dtype) if use_batch else np.asarray(running_var, dtype)
        out, xc, invstd = np.empty_like(v), np.empty_like(v), np.empty(C, dtype)
        _forward(
            v,
            empty if weight is None else np.asarray(weight, dtype),
            empty if bias is None else np.asarray(bias, dtype),
            mean,
            var,
            use_batch,
            float(eps),
            out,
            xc,
            invstd,
        )
        return out, xc, invstd, mean, var
    m = v.shape[0] * v.shape[2]
    if use_batch:
        mean = v.sum(axis=(0, 2)) / m
        xc = v - mean.reshape(col)
        var = _per_channel_dot(xc, xc) / m  # biased, for normalising
    else:
        mean, var = running_mean, running_var
        xc = v - running_mean.reshape(col)
    invstd = (1.0 / array_module(var).sqrt(var + eps)).astype(dtype, copy=False)
    scale = invstd if weight is None else invstd * weight
    out = xc * scale.reshape(col).astype(dtype, copy=False)
    if bias is not None:
        out += bias.reshape(col).astype(dtype, copy=False)
    return out, xc, invstd, mean, var


@jit(parallel=True)
def _backward(g, xc, invstd, weight, use_batch, want_x, gx, sum_g, sum_gxc):
    A, C, B = g.shape
    m = A * B
    for c in prange(C):
        sg = 0.0
        sgx = 0.0
        for a in range(A):
            for b in range(B):
                gi = g[a, c, b]
                sg += gi
                sgx += gi * xc[a, c, b]
        sum_g[c] = sg
        sum_gxc[c] = sgx
        if want_x:
            inv = invstd[c]
            k0 = inv * weight[c] if weight.size else inv
            k1 = k0 * inv * inv * sgx / m if use_batch else 0.0
            k2 = k0 * sg / m if use_batch else 0.0
            for a in range(A):
                for b in range(B):
                    gx[a, c, b] = g[a, c, b] * k0 - xc[a, c, b] * k1 - k2


def batch_norm_backward(
    g: np.ndarray, xc: np.ndarray, invstd: np.ndarray, weight, use_batch: bool, needs: tuple
):
    """(dx, dγ, dβ) for output gradient g in x_c's (A, C, B) layout; `needs` says which
    of the three are wanted (the others come back None)."""
    col = (1, -1, 1)
    m = xc.shape[0] * xc.shape[2]
    if (
        compiled(g, xc, invstd, weight)
        and g.flags.c_contiguous
        and xc.flags.c_contiguous
        and g.dtype == xc.dtype
        and g.dtype in (np.float32, np.float64)
    ):
        C, dtype = xc.shape[1], g.dtype
        gx: np.ndarray | None = np.empty_like(g) if needs[0] else np.empty((0, 0, 0), dtype)
        sum_g, sum_gxc = np.empty(C, dtype), np.empty(C, dtype)
        _backward(
            g,
            xc,
            invstd.astype(dtype, copy=False),
            np.empty(0, dtype) if weight is None else np.asarray(weight, dtype),
            use_batch,
            needs[0],
            gx,
            sum_g,
            sum_gxc,
        )
        gx = gx if needs[0] else None
    else:
        sum_g = g.sum(axis=(0, 2))
        sum_gxc = _per_channel_dot(g, xc)
        gx = None
        if needs[0]:
            a = invstd if weight is None else invstd * weight
            gx = g * a.reshape(col)
            if use_batch:
                k = a * invstd * invstd * sum_gxc / m
                gx -= xc * k.reshape(col).astype(gx.dtype, copy=False)
                gx -= (a * sum_g / m).reshape(col).astype(gx.dtype, copy=False)
    gw = sum_gxc * invstd if needs[1] else None
    gb = sum_g if needs[2] else None
    return gx, gw, gb
