"""Compiled pooling kernels: every window read where it lies, one image plane per thread.

The input is seen as P = N·C planes (H, W) — NCHW, or the channels-first buffer a
convolution returns — so no padded copy is made: taps that fall in the padding are skipped,
which is what reading them as −∞ (max) or 0 (average) would give. For each output row, the
taps (i, j) are the outer loops and the output columns the inner one, a strided run of the
input row that LLVM vectorises.

    max      y = max over taps,  arg = the tap t = i·kw + j it came from: the first one
             reaching the maximum, the last NaN if the window holds one (PyTorch's rule
             "take v if v > max or v is NaN"); a window of padding only keeps tap 0
    avg      y = Σ_t x[tap t] / divisor
    adaptive window [⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉), arg = the first maximum (np.argmax's rule:
             the first NaN)
    backward dx[argmax] += dy (max, unpooling),  dx[tap t] += dy / divisor (avg)

Each plane is summed by one thread in a fixed order, so results do not depend on the
number of threads.
"""

from __future__ import annotations

import numpy as np

from ..compiled import jit
from ..flat import prange


@jit()
def _columns(ow_count, off, sw, W):
    """The output columns ow whose tap column ow·sw + off lies in [0, W): [lo, hi)."""
    lo = 0 if off >= 0 else (-off + sw - 1) // sw
    hi = 0 if W - 1 - off < 0 else min(ow_count, (W - 1 - off) // sw + 1)
    return lo, max(lo, hi)


@jit(parallel=True)
def max_forward(x, y, arg, kh, kw, sh, sw, ph, pw, dh, dw):
    """y, arg (P, Ho, Wo) ← the maximum of each window of x (P, H, W) and its tap."""
    P, H, W = x.shape
    Ho, Wo = y.shape[1], y.shape[2]
    for p in prange(P):
        for oh in range(Ho):
            yr, ar = y[p, oh], arg[p, oh]
            yr[:] = -np.inf
            ar[:] = 0
            for i in range(kh):
                h = oh * sh - ph + i * dh
                if h < 0 or h >= H:
                    continue
                xr = x[p, h]
                for j in range(kw):
                    off = j * dw - pw
                    lo, hi = _columns(Wo, off, sw, W)
                    if hi <= lo:
                        continue
                    xs = xr[lo * sw + off : (hi - 1) * sw + off + 1 : sw]
                    ys, As = yr[lo:hi], ar[lo:hi]
                    t = i * kw + j
                    for k in range(hi - lo):
                        v = xs[k]
                        if v > ys[k] or v != v:
                            ys[k] = v
                            As[k] = t


@jit(parallel=True)
def max_backward(dy, arg, dx, kw, sh, sw, ph, pw, dh, dw):
    """dx (P, H, W) ← each dy added at its window's argmax tap (unpooling)."""
    P, H, W = dx.shape
    Ho, Wo = dy.shape[1], dy.shape[2]
    for p in prange(P):
        dx[p] = 0
        for oh in range(Ho):
            for ow in range(Wo):
                t = arg[p, oh, ow]
                h = oh * sh - ph + (t // kw) * dh
                w = ow * sw - pw + (t % kw) * dw
                if 0 <= h < H and 0 <= w < W:
                    dx[p, h, w] += dy[p, oh, ow]


@jit(parallel=True)
def avg_forward(x, y, divisor, kh, kw, sh, sw, ph, pw):
    """y (P, Ho, Wo) ← the sum of each window of x divided by divisor (Ho, Wo)."""
    P, H, W = x.shape
    Ho, Wo = y.shape[1], y.shape[2]
    for p in prange(P):
        for oh in range(Ho):
            yr = y[p, oh]
            yr[:] = 0
            for i in range(kh):
                h = oh * sh - ph + i
                if h < 0 or h >= H:
                    continue
                xr = x[p, h]
                for j in range(kw):
                    lo, hi = _columns(Wo, j - pw, sw, W)
                    if hi <= lo:
                        continue
                    xs = xr[lo * sw + j - pw : (hi - 1) * sw + j - pw + 1 : sw]
                    ys = yr[lo:hi]
                    for k in range(hi - lo):
                        ys[k] += xs[k]
            dr = divisor[oh]
            for k in range(Wo):
                yr[k] /= dr[k]


@jit(parallel=True)
def avg_backward(dy, dx, divisor, kh, kw, sh, sw, ph, pw):
    """dx (P, H, W) ← dy / divisor added over each window."""
    P, H, W = dx.shape
    Ho, Wo = dy.shape[1], dy.shape[2]
    for p in prange(P):
        dx[p] = 0
        share = np.empty(Wo, dtype=dy.dtype)
        for oh in range(Ho):
            dr, gr = divisor[oh], dy[p, oh]
            for k in range(Wo):
                share[k] = gr[k] / dr[k]
            for i in range(kh):
                h = oh * sh - ph + i
                if h < 0 or h >= H:
                    continue
                xr = dx[p, h]
                for j in range(kw):
                    lo, hi = _columns(Wo, j - pw, sw, W)
                    if hi <= lo:
                        continue
                    xs = xr[lo * sw + j - pw : (hi - 1) * sw + j - pw + 1 : sw]
                    ss = share[lo:hi]
                    for k in range(hi - lo):
                        xs[k] += ss[k]


@jit(parallel=True)
def adaptive_max_forward(x, y, idx):
    """y, idx (P, Ho, Wo) ← the maximum of each adaptive window and its h·W + w."""
    P, H, W = x.shape
    Ho, Wo = y.shape[1], y.shape[2]
    for p in prange(P):
        for i in range(Ho):
            hs, he = (i * H) // Ho, -(-((i + 1) * H) // Ho)
            for j in range(Wo):
                ws, we = (j * W) // Wo, -(-((j + 1) * W) // Wo)
                best = x[p, hs, ws]
                at = hs * W + ws
                for h in range(hs, he):
                    for w in range(ws, we):
                        v = x[p, h, w]
                        # np.argmax: the first maximum, a NaN counting as one
                        if best == best and (v > best or v != v):
                            best = v
                            at = h * W + w
                y[p, i, j] = best
                idx[p, i, j] = at


@jit(parallel=True)
def unpool_scatter(values, indices, out, accumulate):
    """out[p].flat[indices[p, k]] (+)= values[p, k]; indices outside the plane are
    skipped (the callers have checked them)."""
    P, K = values.shape
    HW = out.shape[1]
    for p in prange(P):
        out[p] = 0
        for k in range(K):
            at = indices[p, k]
            if 0 <= at < HW:
                if accumulate:
                    out[p, at] += values[p, k]
                else:
                    out[p, at] = values[p, k]


@jit(parallel=True)
def unpool_gather(g, indices, out):
    """out[p, k] ← g[p, indices[p, k]] (0 outside the plane)."""
    P, K = indices.shape
    HW = g.shape[1]
    for p in prange(P):
        for k in range(K):
            at = indices[p, k]
            out[p, k] = g[p, at] if 0 <= at < HW else 0
