"""Numerical gradient checking: backward against float64 central differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .autograd import Tensor, enable_grad, no_grad
from .device import array_module, move, to_numpy


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def _scalar_of(out: Tensor, weights: list) -> float:
    """<out, w> for fixed random weights, so that every output element is checked."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0.0
    for o, w in zip(outs, weights, strict=True):
        total += float((o.data.astype(np.float64) * w).sum())
    return total


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check `fn`'s backward against central differences on every input that requires grad.

    `inputs` are float64 Tensors (others pass through unchanged). The check compares the
    gradient of L = <fn(inputs), R> for a fixed random R, so every output element counts:
    dL/dx_i ≈ (L(x + eps·e_i) − L(x − eps·e_i)) / (2·eps).
    Returns True, or raises `GradcheckError` naming the input, the worst element and both
    values. NaN or inf anywhere is an error, not a pass.

    Parameters
    ----------
    atol : float
        Absolute tolerance of the comparison.
    rtol : float
        Relative tolerance of the comparison.
    seed : int
        Seed of the random weights that sum the outputs into a scalar for backward.
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 "
                "(central differences in float32 are too coarse)"
            )
    rng = np.random.default_rng(seed)
    with enable_grad():
        out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        # drawn on the host, so that every device checks against the same weights
        weights = [move(rng.standard_normal(o.shape), o.device) for o in outs]
        for t in inputs:
            if isinstance(t, Tensor):
                t.grad = None
        diff = [o for o in outs if o.requires_grad]
        if not diff:
            raise GradcheckError("gradcheck: the output does not require grad")
        for o, w in zip(outs, weights, strict=True):
            if o.requires_grad:
                o.backward(w.astype(o.dtype), retain_graph=True)
    for i in checked:
        x = inputs[i]
        # contiguous, so that the flat view below perturbs x itself
        x.data = array_module(x.data).ascontiguousarray(x.data)
        analytic = np.zeros(x.shape) if x.grad is None else to_numpy(x.grad.data).astype(np.float64)
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: perturb in place, restore after
        num_flat = numeric.reshape(-1)
        with no_grad():
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                plus = _scalar_of(fn(*inputs), weights)
                flat[j] = orig - eps
                minus = _scalar_of(fn(*inputs), weights)
                flat[j] = orig
                num_flat[j] = (plus - minus) / (2 * eps)
        if not (np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric))):
            raise GradcheckError(
                f"gradcheck: non-finite gradient for input {i} (shape {x.shape}): "
                f"analytic has {np.sum(~np.isfinite(analytic))} NaN/inf, "
                f"numeric has {np.sum(~np.isfinite(numeric))}"
            )
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0):
            k = np.unravel_index(np.argmax(err), x.shape)
            raise GradcheckError(
                f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at index "
                f"{tuple(int(v) for v in k)}: analytic {analytic[k]:.8g}, "
                f"numeric {numeric[k]:.8g} (atol={atol}, rtol={rtol})"
            )
    return True
