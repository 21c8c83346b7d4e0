"""Cross-entropy from logits with class-index targets, compiled for (N, C) logits: one
pass per row where NumPy's form of `functional.loss.CrossEntropyIndex` (the reference)
makes a dozen array operations, which dominate at classifier sizes (128 × 10).

    log p_ic = x_ic − max_c x_ic − log Σ_c exp(x_ic − max_c x_ic)
    l_i      = (1−ε)·w[y_i]·(−log p_i[y_i]) + (ε/C)·Σ_c w_c·(−log p_ic),   0 if ignored
    ∂l_i/∂x_ic = p_ic·Σ_c q_ic − q_ic,   q_i = (1−ε)·w[y_i]·onehot(y_i) + (ε/C)·w

Rows are independent and each is reduced by one thread in order, so results do not depend
on the number of threads.
"""

from __future__ import annotations

import math

import numpy as np

from .compiled import compiled, jit


def applies(x: np.ndarray, *others: np.ndarray | None) -> bool:
    """Whether the compiled kernels take these logits (and the op's `others` arrays: the
    targets, their mask, the class weights): compiled kernels selected, all of them NumPy
    arrays, x (N, C) and C-contiguous float32/float64."""
    return (
        compiled(x, *others)
        and x.ndim == 2
        and x.flags.c_contiguous
        and x.dtype in (np.float32, np.float64)
    )


@jit()
def _forward(x, tgt, valid, weight, eps, logp, loss, wy):
    N, C = x.shape
    for i in range(N):
        row, out = x[i], logp[i]
        mx = row[0]
        for c in range(1, C):
            v = row[c]
            if v > mx or v != v:  # NaN propagates, as np.max
                mx = v
        s = 0.0
        for c in range(C):
            s += math.exp(row[c] - mx)
        lse = mx + math.log(s)
        smooth = 0.0
        for c in range(C):
            lp = row[c] - lse
            out[c] = lp
            smooth -= lp * weight[c] if weight.size else lp
        t = tgt[i]
        w = (weight[t] if weight.size else 1.0) if valid[i] else 0.0
        wy[i] = w
        li = (1 - eps) * w * -out[t]
        if eps > 0 and valid[i]:
            li += (eps / C) * smooth
        loss[i] = li


def cross_entropy_forward(x, tgt, valid, weight, eps: float):
    """(log p (N, C), per-sample losses (N,), w[y]·valid (N,)), all of x's dtype."""
    N, C = x.shape
    logp = np.empty_like(x)
    loss, wy = np.empty(N, x.dtype), np.empty(N, x.dtype)
    _forward(
        x,
        np.ascontiguousarray(tgt, dtype=np.int64),
        np.ascontiguousarray(valid),
        np.empty(0, x.dtype) if weight is None else np.ascontiguousarray(weight, x.dtype),
        float(eps),
        logp,
        loss,
        wy,
    )
    return logp, loss, wy


@jit()
def _backward(logp, tgt, valid, wy, weight, eps, scale, grad):
    N, C = logp.shape
    for i in range(N):
        lp, out = logp[i], grad[i]
        total = 0.0  # Σ_c q_ic
        if eps > 0 and valid[i]:
            for c in range(C):
                total += (eps / C) * (weight[c] if weight.size else 1.0)
        hit = (1 - eps) * wy[i]
        total += hit
        k = scale[i]
        for c in range(C):
            q = (eps / C) * (weight[c] if weight.size else 1.0) if eps > 0 and valid[i] else 0.0
            if c == tgt[i]:
                q += hit
            out[c] = (math.exp(lp[c]) * total - q) * k


def cross_entropy_backward(logp, tgt, valid, wy, weight, eps: float, scale) -> np.ndarray:
    """∂L/∂x (N, C): each row's ∂l_i/∂x_i times scale[i] (the upstream gradient, divided
    by the weight sum for a mean)."""
    grad = np.empty_like(logp)
    scale = np.ascontiguousarray(np.broadcast_to(scale, logp.shape[:1]), dtype=logp.dtype)
    _backward(
        logp,
        np.ascontiguousarray(tgt, dtype=np.int64),
        np.ascontiguousarray(valid),
        wy,
        np.empty(0, logp.dtype) if weight is None else np.ascontiguousarray(weight, logp.dtype),
        float(eps),
        scale,
        grad,
    )
    return grad
