"""Matrix products: `matmul` (NumPy/PyTorch semantics) and the fully connected `linear`.

For C = A·B the chain rule gives dL/dA = G·Bᵀ and dL/dB = Aᵀ·G (G = dL/dC): two more
matrix products of the same size as the forward one. Batch dimensions broadcast in the
forward pass, so their gradients are summed back (the engine does it, or we fold the batch
into one GEMM where one operand is a plain matrix).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Grads, Operand, Tensor, as_tensor_like
from .arithmetic import operand_pair


def _matmul_shapes_error(a_shape: tuple, b_shape: tuple) -> str | None:
    """Why `a @ b` is impossible, or None when it is fine."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        return (
            f"matmul: both operands need at least 1 dimension, got shapes {a_shape} and {b_shape}"
        )
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        return (
            f"matmul: shapes {a_shape} and {b_shape} are not aligned: "
            f"{k_a} (last dim of the first) != {k_b} "
            f"({'only' if len(b_shape) == 1 else 'second-to-last'} dim of the second)"
        )
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        return (
            f"matmul: batch dimensions {a_shape[:-2]} and {b_shape[:-2]} of shapes "
            f"{a_shape} and {b_shape} cannot be broadcast together"
        )
    return None


def _mT(a: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes: a view, BLAS reads it with its 'T' flag."""
    return a.swapaxes(-1, -2)


class MatMul(Function):
    """a @ b with NumPy's broadcasting; dA = G·Bᵀ, dB = Aᵀ·G."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        msg = _matmul_shapes_error(a.shape, b.shape)
        if msg:
            raise ValueError(msg)
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, g: np.ndarray) -> Grads:  # dA = G·Bᵀ, dB = Aᵀ·G
        a, b = self.a, self.b
        # A 1-D operand is a row (left) or column (right) vector, as NumPy treats it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        out_shape: tuple[int, ...] = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (
            a2.shape[-2],
            b2.shape[-1],
        )  # the shape of a2 @ b2
        g = np.reshape(g, out_shape)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = g @ _mT(b2)  # batch dims that a lacked are summed by the engine
            ga = ga[..., 0, :] if a.ndim == 1 else ga
        if self.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:  # a batch times one matrix (linear layers):
                # Σ_batch A_iᵀ·G_i is one GEMM over the stacked rows, not a batch of GEMMs
                gb = a2.reshape(-1, a2.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            else:
                gb = _mT(a2) @ g
            gb = gb[..., 0] if b.ndim == 1 else gb
        return ga, gb


def matmul(a: Operand, b: Operand) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics.

    1-D·1-D is the dot product, a 1-D left operand is a row vector and a 1-D right
    operand a column vector (the added dimension is removed again), and leading (batch)
    dimensions broadcast: (B, n, k) @ (k, m) → (B, n, m).

    Parameters
    ----------
    b : Tensor
        The right operand.
    """
    a, b = operand_pair(a, b)
    return MatMul.apply(a, b)


class Linear(Function):
    """x·Wᵀ + b; dx = G·W, dW = Gᵀ·x, db = Σ G over the batch."""

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
            raise ValueError(
                f"linear: input shape {x.shape} does not match weight shape {w.shape} "
                f"(expected input (..., {w.shape[-1] if w.ndim else '?'}) and weight (out, in))"
            )
        if b is not None and b.shape not in ((w.shape[0],), ()):
            raise ValueError(
                f"linear: bias shape {b.shape} does not match weight shape "
                f"{w.shape} (expected ({w.shape[0]},))"
            )
        self.x, self.w = x, w
        x2 = x.reshape(-1, x.shape[-1])  # fold all leading dims: one GEMM
        y = x2 @ w.T  # w.T is a view; BLAS reads it transposed, no copy
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g: np.ndarray) -> Grads:  # y = x·Wᵀ + b: dx = G·W, dW = Gᵀ·x, db = Σ_rows G
        g2 = g.reshape(-1, g.shape[-1])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = (g2 @ self.w).reshape(self.x.shape)
        if self.needs_input_grad[1]:
            gw = g2.T @ self.x.reshape(-1, self.x.shape[-1])
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = g2.sum(axis=0)
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b over the last dimension; `weight` is (out_features, in_features) as in
    PyTorch, `bias` (out_features,) or None. Any leading dimensions are kept."""
    if not isinstance(x, Tensor):
        x = as_tensor_like(x, weight)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)
