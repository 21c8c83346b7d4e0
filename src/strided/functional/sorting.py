"""Sorting and selection with indices, as PyTorch returns them: `sort`, `argsort`, `topk`,
and the (values, indices) of `max` / `min` along one dimension.

The values are a gather of the input at the indices, so the gradient of each value goes
back to the one element it was taken from (ties are not shared, as in PyTorch).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Axes, Function, Grads, Tensor, tensor_of
from ..device import array_module

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "(values, indices), as torch.return_types: unpack it or use the names."


class TakeAlongAxis(Function):
    """y = take_along_axis(x, idx, axis); the gradient is scattered back to idx (each index
    appears once per line, so a put suffices); params idx, axis."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return np.take_along_axis(x, self.idx, axis=self.axis)

    def backward(self, g: np.ndarray) -> Grads:
        gx = array_module(g).zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(gx, self.idx, g, axis=self.axis)
        return gx


def _axis(fn: str, x: Tensor, dim: Axes) -> int:
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{fn}: dim must be an int, got {dim!r}")
    n = max(x.ndim, 1)
    if not -n <= dim < n:
        raise ValueError(f"{fn}: dim {dim} is out of range for shape {tuple(x.shape)}")
    return int(dim) % n


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sort order along `axis`; NaN sorts as the largest value, as in PyTorch.
    Descending keeps equal elements in their original order too."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]  # sort the reversed line ascending, then read it backwards
    rev = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return np.flip(n - 1 - rev, axis)


def _gather(x: Tensor, idx: np.ndarray, axis: int) -> Tensor:
    return TakeAlongAxis.apply(x, idx=idx, axis=axis)


def _as_tensor(x: Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _zero_index(x: Tensor) -> Tensor:
    """The index of a 0-d tensor's one element, on its device."""
    return tensor_of(array_module(x.data).zeros((), np.int64))


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """The values of `x` sorted along `dim` and the indices they came from.

    Parameters
    ----------
    x : Tensor
    dim : int
        The axis to sort.
    descending : bool
        Largest first.
    stable : bool
        Accepted for PyTorch's signature; the sort is always stable.
    """
    x = _as_tensor(x)
    if x.ndim == 0:
        return ValuesIndices(x, _zero_index(x))
    axis = _axis("sort", x, dim)
    idx = _order(x.data, axis, descending)
    return ValuesIndices(_gather(x, idx, axis), tensor_of(idx))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort `x` along `dim` (as `sort(...).indices`).

    Parameters
    ----------
    descending : bool
        Sort from largest to smallest (default False).
    stable : bool
        Keep the order of equal elements (default False).
    """
    x = _as_tensor(x)
    if x.ndim == 0:
        return _zero_index(x)
    return tensor_of(_order(x.data, _axis("argsort", x, dim), descending))


def topk(
    x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> ValuesIndices:
    """The `k` largest (or smallest) elements of `x` along `dim` and their indices, largest
    first (smallest first when `largest=False`).

    Parameters
    ----------
    x : Tensor
    k : int
        How many, 0 ≤ k ≤ the size of `dim`.
    dim : int
    largest : bool
    sorted : bool
        Accepted for PyTorch's signature; the result is always sorted.
    """
    x = _as_tensor(x)
    axis = _axis("topk", x, dim)
    n = x.shape[axis] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= n:
        raise ValueError(
            f"topk: k must be an int in [0, {n}] for dim {dim} of shape {tuple(x.shape)}, got {k!r}"
        )
    if x.ndim == 0:
        return ValuesIndices(x, _zero_index(x))
    first_k = (slice(None),) * axis + (slice(0, k),)
    idx = _order(x.data, axis, largest)[first_k].copy()  # not a view of all n
    return ValuesIndices(_gather(x, idx, axis), tensor_of(idx))


def extremum(fn: str, x: Tensor, dim: int, keepdim: bool) -> ValuesIndices:
    """(values, indices) of the max or min along `dim`: the first extremum (a NaN counts as
    both), its gradient going to that element alone."""
    axis = _axis(fn, x, dim)
    if x.ndim and x.shape[axis] == 0:
        raise ValueError(f"{fn}: cannot reduce dim {dim} of size 0 (shape {tuple(x.shape)})")
    if x.ndim == 0:
        return ValuesIndices(x, _zero_index(x))
    idx = np.expand_dims((np.argmax if fn == "max" else np.argmin)(x.data, axis=axis), axis)
    values = _gather(x, idx, axis)
    if keepdim:
        return ValuesIndices(values, tensor_of(idx))
    return ValuesIndices(values.squeeze(axis), tensor_of(np.squeeze(idx, axis)))


__all__ = ["sort", "argsort", "topk", "ValuesIndices"]
