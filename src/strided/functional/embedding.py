"""`embedding`: rows of a weight table picked by integer indices, differentiable in the
table (the gradient of a row is the sum of the output gradients that read it)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..device import array_module, common_device, move
from .arguments import as_tensor


class Embedding(Function):
    """y = W[idx]; params idx, padding_idx, scale_grad_by_freq."""

    def forward(self, w: np.ndarray) -> np.ndarray:
        self.rows = w.shape[0]
        return w[self.idx]

    def backward(self, g: np.ndarray) -> Grads:
        flat = self.idx.reshape(-1)
        g = g.reshape(flat.size, -1)
        if self.scale_grad_by_freq:  # each row's gradient / how often the batch read it
            g = g / np.bincount(flat, minlength=self.rows)[flat, None].astype(g.dtype)
        gw = array_module(g).zeros((self.rows, g.shape[1]), dtype=g.dtype)
        np.add.at(gw, flat, g)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0  # the padding row is never trained
        return gw


def _renorm_(w: np.ndarray, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, the rows `idx` of w whose norm exceeds max_norm (as PyTorch)."""
    rows = np.unique(idx)
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of `weight` (num_embeddings, dim): output `input.shape + (dim,)`.

    Parameters
    ----------
    input : Tensor or array of int
        Indices in [0, num_embeddings).
    weight : Tensor
        The table.
    padding_idx : int, optional
        A row whose gradient stays zero (negative counts from the end).
    max_norm : float, optional
        Rows read whose `norm_type`-norm exceeds this are rescaled to it, in place.
    norm_type : float
        The p of that norm.
    scale_grad_by_freq : bool
        Divide each row's gradient by how often the mini-batch reads it.
    sparse : bool
        Only False: strided has no sparse gradients.
    """
    fn = "embedding"
    w = as_tensor(weight, fn, "weight")
    if w.ndim != 2:
        raise ValueError(
            f"{fn}: weight must be 2-D (num_embeddings, dim), got shape {tuple(w.shape)}"
        )
    idx = input.data if isinstance(input, Tensor) else input
    if isinstance(idx, np.generic) or not hasattr(idx, "shape"):
        idx = np.asarray(idx)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{fn}: indices must be integers, got dtype {idx.dtype}")
    if type(idx) is np.ndarray:  # host indices go where the table is, as getitem's do
        idx = move(idx, w.device)
    else:
        common_device((w.data, idx), fn)
    n = w.shape[0]
    # one read of the device (a device would otherwise wrap bad indices around silently)
    if idx.size and bool((idx.min() < 0) | (idx.max() >= n)):
        raise IndexError(
            f"{fn}: indices must lie in [0, {n}), got values from {idx.min()} to {idx.max()}"
        )
    if sparse:
        raise ValueError(f"{fn}: sparse=True is not supported (gradients are dense)")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"{fn}: padding_idx must be within [-{n}, {n}), got {padding_idx}")
        padding_idx = int(padding_idx) % n
    if max_norm is not None and idx.size:
        _renorm_(w.data, idx.reshape(-1), float(max_norm), float(norm_type))
        w._version += 1
    return Embedding.apply(
        w,
        idx=idx.astype(np.int64),
        padding_idx=padding_idx,
        scale_grad_by_freq=bool(scale_grad_by_freq),
    )


__all__ = ["embedding"]
