"""Optimiser updates as compiled kernels: one pass over each parameter, where the NumPy
updates in `strided.optim` (the reference) take one pass per arithmetic operation.

Each kernel reads and writes the parameter, its gradient and its state buffers element by
element over flat runs, in the order and with the formulas of the reference:

    SGD       g ← ±g + λθ;  b ← μb + (1 − τ)g (b₁ = g);  v = g + μb (Nesterov) or b;
              θ ← θ − lr·v
    Adam      g ← ±g + λθ (or θ ← θ(1 − lr·λ): AdamW);  m ← m + (1 − β₁)(g − m);
              v ← β₂v + (1 − β₂)g²;  θ ← θ − (lr/(1 − β₁ᵗ))·m / (√v̂/√(1 − β₂ᵗ) + ε)
    RMSprop   s ← αs + (1 − α)g²;  (ḡ ← ḡ + (1 − α)(g − ḡ);  s − ḡ²);  q = g/(√s + ε);
              b ← μb + q;  θ ← θ − lr·b  (or θ ← θ − lr·q without momentum)
    Adagrad   s ← s + g²;  θ ← θ − lr_t·g/(√s + ε)

Absent buffers are passed as empty arrays; the scalars in the parameter's dtype, so a
float32 parameter is updated in float32 arithmetic as in the reference. Elementwise, so
the result is the same for any number of threads.
"""

from __future__ import annotations

import numpy as np

from .compiled import compiled, jit
from .flat import CHUNK, chunks, prange


def flat_runs(*arrays):
    """The 1-D views of arrays (None: an empty array of the first one's dtype), or None
    when compiled kernels are off or some array is not C-contiguous (the NumPy reference
    then updates them)."""
    present = [a for a in arrays if a is not None]
    if (
        not compiled(*present)
        or present[0].dtype not in (np.float32, np.float64)
        or any(not a.flags.c_contiguous or a.dtype != present[0].dtype for a in present)
    ):
        return None
    empty = np.empty(0, dtype=present[0].dtype)
    return [empty if a is None else a.reshape(-1) for a in arrays]


def _split(n: int):
    k = chunks(n)
    return k if k else 1, (CHUNK if k else n)


@jit()
def _sgd_run(p, g, buf, first, lr, mu, damp, wd, nesterov, maximize, lo, hi):
    p, g = p[lo:hi], g[lo:hi]
    if mu != 0:
        buf = buf[lo:hi]
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        if mu != 0:
            b = d if first else buf[i] * mu + (d if damp == 1 else damp * d)
            buf[i] = b
            d = d + mu * b if nesterov else b
        p[i] -= lr * d


@jit(parallel=True)
def _sgd(p, g, buf, first, lr, mu, damp, wd, nesterov, maximize, n_chunks, size):
    for c in prange(n_chunks):
        _sgd_run(
            p,
            g,
            buf,
            first,
            lr,
            mu,
            damp,
            wd,
            nesterov,
            maximize,
            c * size,
            min(p.size, (c + 1) * size),
        )


def sgd_update(
    p, g, buf, first: bool, lr, momentum, dampening, weight_decay, nesterov, maximize
) -> bool:
    """SGD's update of p (and its momentum buffer) in place; False when the arrays cannot
    be updated by the compiled kernel (the caller then runs the reference)."""
    runs = flat_runs(p, g, buf)
    if runs is None:
        return False
    t = p.dtype.type
    k, size = _split(p.size)
    if k == 1:
        _sgd_run(
            *runs,
            bool(first),
            t(lr),
            t(momentum),
            t(1 - dampening),
            t(weight_decay),
            bool(nesterov),
            bool(maximize),
            0,
            p.size,
        )
    else:
        _sgd(
            *runs,
            bool(first),
            t(lr),
            t(momentum),
            t(1 - dampening),
            t(weight_decay),
            bool(nesterov),
            bool(maximize),
            k,
            size,
        )
    return True


@jit()
def _adam_run(
    p, g, m, v, vmax, lr, b1, b2, eps, wd, step, bc2_sqrt, maximize, decoupled, amsgrad, lo, hi
):
    p, g, m, v = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
    if amsgrad:
        vmax = vmax[lo:hi]
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            if decoupled:
                p[i] *= 1 - lr * wd
            else:
                d = d + wd * p[i]
        mi = m[i] + (d - m[i]) * (1 - b1)
        vi = v[i] * b2 + (d * d) * (1 - b2)
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vm = vmax[i]
            if vi > vm or vi != vi:  # np.maximum: NaN wins
                vm = vi
            vmax[i] = vm
            vi = vm
        p[i] -= (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step


@jit(parallel=True)
def _adam(
    p,
    g,
    m,
    v,
    vmax,
    lr,
    b1,
    b2,
    eps,
    wd,
    step,
    bc2_sqrt,
    maximize,
    decoupled,
    amsgrad,
    n_chunks,
    size,
):
    for c in prange(n_chunks):
        _adam_run(
            p,
            g,
            m,
            v,
            vmax,
            lr,
            b1,
            b2,
            eps,
            wd,
            step,
            bc2_sqrt,
            maximize,
            decoupled,
            amsgrad,
            c * size,
            min(p.size, (c + 1) * size),
        )


def adam_update(
    p,
    g,
    m,
    v,
    vmax,
    lr,
    betas,
    eps,
    weight_decay,
    bias_correction1,
    bias_correction2_sqrt,
    maximize,
    decoupled,
) -> bool:
    """Adam's (AdamW's with `decoupled`) update of p, m, v (and vmax for AMSGrad, else
    None) in place; False when the compiled kernel cannot take the arrays."""
    runs = flat_runs(p, g, m, v, vmax)
    if runs is None:
        return False
    t = p.dtype.type
    args = (
        t(lr),
        t(betas[0]),
        t(betas[1]),
        t(eps),
        t(weight_decay),
        t(lr / bias_correction1),
        t(bias_correction2_sqrt),
        bool(maximize),
        bool(decoupled),
        vmax is not None,
    )
    k, size = _split(p.size)
    if k == 1:
        _adam_run(*runs, *args, 0, p.size)
    else:
        _adam(*runs, *args, k, size)
    return True


@jit()
def _rmsprop_run(p, g, s, ga, buf, lr, alpha, eps, wd, mu, centered, maximize, lo, hi):
    p, g, s = p[lo:hi], g[lo:hi], s[lo:hi]
    if centered:
        ga = ga[lo:hi]
    if mu > 0:
        buf = buf[lo:hi]
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        si = s[i] * alpha + (d * d) * (1 - alpha)
        s[i] = si
        if centered:
            gi = ga[i] + (d - ga[i]) * (1 - alpha)
            ga[i] = gi
            si = si - gi * gi
        q = d / (np.sqrt(si) + eps)
        if mu > 0:
            q = buf[i] * mu + q
            buf[i] = q
        p[i] -= q * lr


@jit(parallel=True)
def _rmsprop(p, g, s, ga, buf, lr, alpha, eps, wd, mu, centered, maximize, n_chunks, size):
    for c in prange(n_chunks):
        _rmsprop_run(
            p,
            g,
            s,
            ga,
            buf,
            lr,
            alpha,
            eps,
            wd,
            mu,
            centered,
            maximize,
            c * size,
            min(p.size, (c + 1) * size),
        )


def rmsprop_update(
    p, g, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum, maximize
) -> bool:
    """RMSprop's update in place (grad_avg None unless centred, momentum_buffer None
    without momentum); False when the compiled kernel cannot take the arrays."""
    runs = flat_runs(p, g, square_avg, grad_avg, momentum_buffer)
    if runs is None:
        return False
    t = p.dtype.type
    args = (
        t(lr),
        t(alpha),
        t(eps),
        t(weight_decay),
        t(momentum),
        grad_avg is not None,
        bool(maximize),
    )
    k, size = _split(p.size)
    if k == 1:
        _rmsprop_run(*runs, *args, 0, p.size)
    else:
        _rmsprop(*runs, *args, k, size)
    return True


@jit()
def _adagrad_run(p, g, s, lr, eps, wd, maximize, lo, hi):
    p, g, s = p[lo:hi], g[lo:hi], s[lo:hi]
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        si = s[i] + d * d
        s[i] = si
        p[i] -= (d / (np.sqrt(si) + eps)) * lr


@jit(parallel=True)
def _adagrad(p, g, s, lr, eps, wd, maximize, n_chunks, size):
    for c in prange(n_chunks):
        _adagrad_run(p, g, s, lr, eps, wd, maximize, c * size, min(p.size, (c + 1) * size))


def adagrad_update(p, g, state_sum, lr, eps, weight_decay, maximize) -> bool:
    """Adagrad's update in place with the step's learning rate `lr`; False when the
    compiled kernel cannot take the arrays."""
    runs = flat_runs(p, g, state_sum)
    if runs is None:
        return False
    t = p.dtype.type
    args = (t(lr), t(eps), t(weight_decay), bool(maximize))
    k, size = _split(p.size)
    if k == 1:
        _adagrad_run(*runs, *args, 0, p.size)
    else:
        _adagrad(*runs, *args, k, size)
    return True
