"""Activation functions and softmax, each with the derivative written out.

All are computed stably: sigmoid never evaluates e^{+large}, softplus uses
log(1 + eᶻ) = max(z, 0) + log1p(e^{−|z|}), and (log-)softmax subtract the row maximum,
so inputs of ±1000 give finite values and gradients.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Function, Grads, Tensor
from ..backend import is_floating
from ..device import array_module
from ..kernels.activation import relu_backward, relu_forward
from .stable import stable_log_softmax, stable_sigmoid, stable_softmax, stable_softplus


def _as_float(x: np.ndarray, name: str) -> np.ndarray:
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


# ---------------------------------------------------------------------------------------
# Rectifiers
# ---------------------------------------------------------------------------------------


class ReLU(Function):
    """max(x, 0); the gradient passes where x > 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # the mask only when a backward can come
        y, self.mask = relu_forward(x, with_mask=self.needs_input_grad[0])
        return y

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # d relu = 1 where x > 0 else 0 (0 at the kink, as torch)
        return relu_backward(g, self.mask)


def relu(x: Tensor) -> Tensor:
    """max(x, 0) elementwise."""
    return ReLU.apply(x)


class LeakyReLU(Function):
    """x where x > 0, else slope·x; the gradient is 1 or the slope."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, x * x.dtype.type(self.slope))

    def backward(self, g: np.ndarray) -> Grads:  # d = 1 where x > 0 else negative_slope
        return np.where(self.mask, g, g * g.dtype.type(self.slope))


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope·x elsewhere."""
    return LeakyReLU.apply(x, slope=float(negative_slope))


class ELU(Function):
    """x where x > 0, else α(eˣ − 1); the gradient is 1 or the output + α."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        _as_float(x, "elu")
        alpha = x.dtype.type(self.alpha)
        self.mask = x > 0
        self.out = np.where(self.mask, x, alpha * np.expm1(np.minimum(x, 0)))
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d = 1 for x > 0, α·eˣ = out + α otherwise
        return np.where(self.mask, g, g * (self.out + self.out.dtype.type(self.alpha)))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise.

    Parameters
    ----------
    alpha : float
        α: the value the negative side approaches (default 1.0).
    """
    return ELU.apply(x, alpha=float(alpha))


# ---------------------------------------------------------------------------------------
# Sigmoids
# ---------------------------------------------------------------------------------------


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e⁻ˣ), overflow-free; the gradient σ(1 − σ) from the output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = stable_sigmoid(_as_float(x, "sigmoid"))
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d σ = σ(1 − σ)
        return g * self.out * (1 - self.out)


def sigmoid(x: Tensor) -> Tensor:
    """The logistic function 1/(1 + e^{−x})."""
    return Sigmoid.apply(x)


logistic = sigmoid


class Tanh(Function):
    """tanh x; the gradient 1 − tanh² from the output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(_as_float(x, "tanh"))
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d tanh = 1 − tanh²
        return g * (1 - self.out * self.out)


def tanh(x: Tensor) -> Tensor:
    """The hyperbolic tangent.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    return Tanh.apply(x)


class Softplus(Function):
    """log(1 + e^{βx}) / β, linear above the threshold; the gradient σ(βx)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        _as_float(x, "softplus")
        z = x * x.dtype.type(self.beta)
        self.z, self.linear = z, z > self.threshold
        soft = stable_softplus(z) / x.dtype.type(self.beta)
        return np.where(self.linear, x, soft)

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # d softplus = σ(βx), exactly 1 in the linear region
        return np.where(self.linear, g, g * stable_sigmoid(self.z))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β)·log(1 + e^{βx}); reverts to x where βx > threshold (as torch).

    Parameters
    ----------
    beta : float
        β of softplus(x) = log(1 + exp(βx)) / β (default 1).
    """
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


# ---------------------------------------------------------------------------------------
# GELU
# ---------------------------------------------------------------------------------------


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to ~1e-15, vectorised (NumPy has none).

    |x| < 3: erf x = (2/√π)·e^{−x²}·Σ_n 2ⁿx^{2n+1}/(1·3···(2n+1)), a series of
    positive terms (no cancellation). |x| ≥ 3: erfc from its continued fraction
    erfc x = (e^{−x²}/√π) / (x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
    On the CPU each formula runs on its own part of x; on a device both run on all of it
    (clamped into their ranges) and `where` picks: selecting the parts would wait for it.
    """
    x64 = x.astype(np.float64)
    xp = array_module(x)
    a = abs(x64)
    if xp is np:
        out = np.empty_like(x64)
        small = a < 3
        out[small] = _erf_series(a[small])
        out[~small] = _erf_far(a[~small])
    else:
        out = xp.where(a < 3, _erf_series(xp.minimum(a, 3.0)), _erf_far(xp.maximum(a, 3.0)))
    return (xp.sign(x64) * out).astype(x.dtype, copy=False)


def _erf_series(s: np.ndarray) -> np.ndarray:
    """erf s for 0 ≤ s < 3, by the series of `_erf`."""
    term = s.copy()
    total = s.copy()
    for n in range(1, 70):
        term *= 2 * s * s / (2 * n + 1)
        total += term
    return 2 / math.sqrt(math.pi) * array_module(s).exp(-s * s) * total


def _erf_far(b: np.ndarray) -> np.ndarray:
    """erf b for b ≥ 3, by the continued fraction of `_erf`."""
    t = b.copy()
    for k in range(60, 0, -1):
        t = b + (k / 2) / t
    return 1 - array_module(b).exp(-b * b) / math.sqrt(math.pi) / t


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class GELU(Function):
    """x·Φ(x) (or its tanh approximation); the gradient Φ(x) + x·φ(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        _as_float(x, "gelu")
        self.x = x
        if self.approximate == "tanh":
            # 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))
            self.t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)).astype(x.dtype)
            return 0.5 * x * (1 + self.t)
        self.cdf = (0.5 * (1 + _erf(x / x.dtype.type(math.sqrt(2))))).astype(x.dtype)
        return x * self.cdf

    def backward(self, g: np.ndarray) -> Grads:
        x = self.x
        if self.approximate == "tanh":
            # d = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
            dt = (1 - self.t**2) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + self.t) + 0.5 * x * dt)
        # d (x·Φ(x)) = Φ(x) + x·φ(x), φ the standard normal density
        pdf = np.exp(-0.5 * x * x) / x.dtype.type(math.sqrt(2 * math.pi))
        return g * (self.cdf + x * pdf)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x), Φ the standard normal CDF; approximate='tanh' uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


# ---------------------------------------------------------------------------------------
# Softmax
# ---------------------------------------------------------------------------------------


def _check_axis(name: str, x: np.ndarray, axis: int) -> int:
    if not isinstance(axis, (int, np.integer)) or not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise ValueError(f"{name}: axis {axis!r} out of range for shape {x.shape}")
    return int(axis) % max(x.ndim, 1)


class Softmax(Function):
    """e^{x_i} / Σ_j e^{x_j} along `axis`; the gradient g·s − s·Σ(g·s)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = stable_softmax(_as_float(x, "softmax"), self.axis)
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d softmax: g·s − s·Σ(g·s)
        s = self.out
        gs = g * s
        gs -= s * gs.sum(axis=self.axis, keepdims=True)
        return gs


class LogSoftmax(Function):
    """x − log Σ e^x along `axis`; the gradient g − softmax·Σg."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = stable_log_softmax(_as_float(x, "log_softmax"), self.axis)
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d log_softmax: g − softmax·Σg
        return g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


def _axis_kw(axis: int, dim: int | None) -> int:
    return dim if dim is not None else axis


def _cast(name: str, x: Tensor, dtype: DTypeLike | None) -> Tensor:
    """`x` converted to `dtype` before a softmax (PyTorch's `dtype=`: guards against
    overflow in low precision); the conversion is differentiable."""
    if dtype is None:
        return x
    dt = np.dtype(dtype)
    if not is_floating(dt):
        raise TypeError(f"{name}: dtype must be a floating type, got {dt}")
    return x.to(dt) if x.dtype != dt else x


def softmax(
    x: Tensor, axis: int = -1, *, dim: int | None = None, dtype: DTypeLike | None = None
) -> Tensor:
    """e^{x_i} / Σ_j e^{x_j} along `axis` (torch's `dim=` is accepted too).

    Parameters
    ----------
    x : Tensor
        The scores.
    axis, dim : int
        The axis to normalise over (`dim` is PyTorch's name for it).
    dtype : numpy dtype, optional
        Convert `x` to this floating type first, as PyTorch's `dtype=`.
    """
    x = _cast("softmax", x, dtype)
    axis = _check_axis("softmax", x.data, _axis_kw(axis, dim))
    if x.ndim == 0:
        return Softmax.apply(x.reshape(1), axis=0).reshape(())
    return Softmax.apply(x, axis=axis)


def log_softmax(
    x: Tensor, axis: int = -1, *, dim: int | None = None, dtype: DTypeLike | None = None
) -> Tensor:
    """log softmax along `axis`, computed as x − max − log Σ e^{x − max} (never log of a
    softmax that underflowed to 0); `dtype` converts `x` first, as in softmax.

    Parameters
    ----------
    dim : int or None
        PyTorch's name for axis: the dimension the probabilities sum over.
    """
    x = _cast("log_softmax", x, dtype)
    axis = _check_axis("log_softmax", x.data, _axis_kw(axis, dim))
    if x.ndim == 0:
        return LogSoftmax.apply(x.reshape(1), axis=0).reshape(())
    return LogSoftmax.apply(x, axis=axis)
