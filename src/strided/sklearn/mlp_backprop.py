"""The multilayer perceptron's forward pass, loss and backward pass on raw arrays.

The lean path behind `MLPClassifier`/`MLPRegressor`: a fully connected network of a few
small layers spends its time in per-batch overhead, not in arithmetic, so instead of a
graph of Tensors each step is a fixed sequence of in-place NumPy operations in the
network's own dtype (float32 by default, where scikit-learn computes in float64).

Conventions are scikit-learn's: ``coefs[i]`` is (fan_in, fan_out), so a layer is
``a[i+1] = f(a[i] @ coefs[i] + intercepts[i])``, and the loss is the mean data loss plus
``alpha / (2 n) · Σ‖W‖²`` (biases are not penalised).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "forward",
    "loss_and_gradients",
    "data_loss",
    "glorot_bound",
]


def _identity(z: np.ndarray) -> None:
    pass


def _logistic(z: np.ndarray) -> None:
    # σ(z) = 1 / (1 + e^−z): relative precision kept in the tail z ≪ 0 (tiny, not 0),
    # which e^−z overflowing to inf (giving exactly 0) only reaches where float64 does
    np.negative(z, out=z)
    with np.errstate(over="ignore"):
        np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)


def _tanh(z: np.ndarray) -> None:
    np.tanh(z, out=z)


def _relu(z: np.ndarray) -> None:
    np.maximum(z, 0, out=z)


def _softmax(z: np.ndarray) -> None:
    z -= z.max(axis=1, keepdims=True)  # softmax(z) = softmax(z − max z): no overflow
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)


def _exp(z: np.ndarray) -> None:
    np.exp(z, out=z)


# in-place activations, applied to a layer's pre-activation z
HIDDEN_ACTIVATIONS: dict[str, Callable[[np.ndarray], None]] = {
    "identity": _identity,
    "logistic": _logistic,
    "tanh": _tanh,
    "relu": _relu,
}
OUTPUT_ACTIVATIONS: dict[str, Callable[[np.ndarray], None]] = {
    **HIDDEN_ACTIVATIONS,
    "softmax": _softmax,
    "exp": _exp,
}


def _times_derivative(activation: str, a: np.ndarray, delta: np.ndarray) -> None:
    """delta ← delta · f'(z), with f'(z) written through the activation a = f(z)."""
    if activation == "relu":
        delta[a <= 0] = 0
    elif activation == "logistic":  # σ' = σ(1 − σ)
        delta *= a
        delta *= 1 - a
    elif activation == "tanh":  # tanh' = 1 − tanh²
        delta *= 1 - a * a


def glorot_bound(fan_in: int, fan_out: int, activation: str) -> float:
    """Half-width of the uniform initialisation, √(6 / (fan_in + fan_out)) (Glorot &
    Bengio 2010); √(2 / ...) for the logistic activation, as scikit-learn uses."""
    factor = 2.0 if activation == "logistic" else 6.0
    return float(np.sqrt(factor / (fan_in + fan_out)))


def forward(
    X: Any,
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    activation: str,
    out_activation: str,
) -> list[np.ndarray]:
    """The activations of every layer, the input first and the network's output last."""
    acts = [X]
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = acts[-1] @ W  # X may be a SciPy sparse matrix: `@`, not np.dot
        z += b
        (OUTPUT_ACTIVATIONS[out_activation] if i == last else HIDDEN_ACTIVATIONS[activation])(z)
        acts.append(z)
    return acts


def data_loss(loss: str, Y: np.ndarray, P: np.ndarray) -> float:
    """The mean loss of predictions P against targets Y (summed over output columns, as
    scikit-learn's log losses; averaged over them for the squared error).

    "log_loss" with a softmax output: −mean log p_true; "binary_log_loss" (logistic
    outputs, binary or multi-label): −Σ_j mean[y log p + (1 − y) log(1 − p)];
    "squared_error": mean (y − p)² / 2; "poisson": Σ_j mean[y log(y/p) − y + p].
    """
    n = P.shape[0]
    eps = np.finfo(P.dtype).eps
    if loss == "log_loss":
        p_true = np.clip(np.einsum("ij,ij->i", P, Y), eps, 1 - eps)  # Y is one-hot
        return float(-np.log(p_true, dtype=np.float64).sum() / n)
    if loss == "binary_log_loss":
        P = np.clip(P, eps, 1 - eps)
        q = np.where(Y > 0.5, P, 1 - P)
        return float(-np.log(q, dtype=np.float64).sum() / n)
    if loss == "squared_error":
        r = np.subtract(Y, P, dtype=np.float64)
        return float(0.5 * np.einsum("ij,ij->", r, r) / r.size)
    if loss == "poisson":
        Y64, P64 = Y.astype(np.float64), P.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(Y64 > 0, Y64 * np.log(Y64 / P64), 0.0)
        return float((ylogy - Y64 + P64).sum() / n)
    raise ValueError(f"mlp: unknown loss {loss!r}")


def loss_and_gradients(
    X: Any,
    Y: np.ndarray,
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    activation: str,
    out_activation: str,
    loss: str,
    alpha: float,
    coef_grads: list[np.ndarray],
    intercept_grads: list[np.ndarray],
) -> float:
    """Backpropagation: the regularised loss, with its gradients written into coef_grads
    and intercept_grads.

    Each output activation is paired with its canonical loss (softmax with log loss,
    logistic with binary log loss, identity with squared error, exp with Poisson), for
    which ∂loss/∂z = a − y at the output; the hidden deltas follow by the chain rule,
    δᵢ₋₁ = (δᵢ Wᵢᵀ) · f'(zᵢ₋₁), and ∂/∂Wᵢ = (aᵢᵀ δᵢ + α Wᵢ) / n.
    """
    n = X.shape[0]
    acts = forward(X, coefs, intercepts, activation, out_activation)
    value = data_loss(loss, Y, acts[-1])
    value += 0.5 * alpha * sum(float(np.dot(W.ravel(), W.ravel())) for W in coefs) / n
    delta = acts[-1]  # the output activation is not needed after the loss: reuse it
    delta -= Y
    for i in range(len(coefs) - 1, -1, -1):
        g = coef_grads[i]
        g[...] = acts[i].T @ delta
        if alpha:
            g += alpha * coefs[i]
        g /= n
        np.sum(delta, axis=0, out=intercept_grads[i])
        intercept_grads[i] /= n
        if i:
            delta = delta @ coefs[i].T
            _times_derivative(activation, acts[i], delta)
    return value
