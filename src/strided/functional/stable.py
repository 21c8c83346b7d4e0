"""The numerically stable logistic, softplus, softmax and log-softmax on raw arrays, written
once for the activations, the losses and the command line's probabilities.

None of them evaluates e^{+large}: inputs of ±1000 give finite values.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stable_sigmoid", "stable_softplus", "stable_softmax", "stable_log_softmax"]


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1/(1 + e^{−x}) without overflow: e^{−|x|} ≤ 1 in both branches."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def stable_softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}): no overflow for large x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def stable_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^{x − max} / Σ e^{x − max} along `axis` (exponents ≤ 0: no overflow)."""
    if x.size == 0:  # an empty axis has no maximum; an empty result needs none
        return x.copy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def stable_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log p = x − max − log Σ exp(x − max): exact, and finite for any finite logits."""
    if x.size == 0:
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
