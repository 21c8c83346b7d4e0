"""Reductions: sum, mean, var, std, max, min, logsumexp, argmax, argmin.

Every reduction takes `axis` (an int, a tuple of ints, or None for all axes) and
`keepdims`; PyTorch's spellings `dim=` and `keepdim=` are accepted as well.

The backward of a reduction spreads the output gradient back over the reduced axes:
the gradient is first given its size-1 axes back (as if keepdims=True), then broadcast.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Axes, Function, Grads, Tensor, tensor_of
from ..backend import get_default_dtype, is_floating


def normalize_axes(name: str, axis: Axes, ndim: int) -> tuple:
    """`axis` (int, tuple/list of ints, or None) as a sorted tuple of non-negative axes.

    Raises a ValueError naming `name` for an axis out of range or given twice.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of range for a {ndim}-d tensor")
        out.append(int(a) % builtins.max(ndim, 1) if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return tuple(sorted(out)) if ndim else ()


def resolve(
    name: str, x: Tensor, axis: Axes, keepdims: bool, dim: Axes, keepdim: bool
) -> tuple[tuple, bool]:
    """Merge the NumPy (`axis`, `keepdims`) and torch (`dim`, `keepdim`) spellings."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{name}: give axis or dim, not both")
        axis = dim
    return normalize_axes(name, axis, x.ndim), bool(keepdims or keepdim)


def _expand(g: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Give the reduced axes back as size 1, so that `g` broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


# This module defines sum/max/min/any/all; Python's own are reached through `builtins`.


class Sum(Function):
    """The sum over `axes`; the gradient is g broadcast back."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # d Σx / dx_i = 1: the gradient is copied to every summand
        return np.broadcast_to(_expand(g, self.axes, self.keepdims), self.shape)


def sum(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,  # noqa: A001
    keepdim: bool = False,
) -> Tensor:
    """Sum over `axis` (all axes when None).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("sum", x, axis, keepdims, dim, keepdim)
    return Sum.apply(x, axes=axes, keepdims=keep)


def _count(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Mean(Function):
    """The mean over `axes`; the gradient is g / n broadcast back."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g: np.ndarray) -> Grads:  # d mean / dx_i = 1/n
        n = _count(self.shape, self.axes)
        return np.broadcast_to(
            _expand(g, self.axes, self.keepdims) / g.dtype.type(n or 1), self.shape
        )


def _floating(x: Tensor) -> Tensor:
    """Integer tensors are averaged in the default float dtype, as torch requires a float."""
    return x if is_floating(x.dtype) else tensor_of(x.data.astype(get_default_dtype()))


def mean(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Arithmetic mean over `axis` (all axes when None).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("mean", x, axis, keepdims, dim, keepdim)
    return Mean.apply(_floating(x), axes=axes, keepdims=keep)


class Var(Function):
    """The variance over `axes` with `correction`; gradient 2(x − x̄)·g / (n − correction)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        self.dof = _count(x.shape, self.axes) - self.correction
        with np.errstate(divide="ignore", invalid="ignore"):  # dof ≤ 0 gives inf/nan, as torch
            return np.sum(
                self.centered * self.centered, axis=self.axes, keepdims=self.keepdims
            ) / x.dtype.type(builtins.max(self.dof, 0))

    def backward(self, g: np.ndarray) -> Grads:  # d var / dx_i = 2(x_i − mean)/(n − correction)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = g.dtype.type(2) / g.dtype.type(builtins.max(self.dof, 0))
        return _expand(g, self.axes, self.keepdims) * scale * self.centered


def _correction(name: str, unbiased: bool | None, correction: int | None) -> int:
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}: give unbiased or correction, not both")
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def var(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    unbiased: bool | None = None,
    correction: int | None = None,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Variance Σ(x − mean)²/(n − correction) over `axis`; correction=1 (Bessel's, the
    torch default) unless `correction=0` or `unbiased=False` is given.

    Parameters
    ----------
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("var", x, axis, keepdims, dim, keepdim)
    return Var.apply(
        _floating(x), axes=axes, keepdims=keep, correction=_correction("var", unbiased, correction)
    )


def std(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    unbiased: bool | None = None,
    correction: int | None = None,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Standard deviation √var, with the same arguments as `var`.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    axis : int, tuple of int or None
        Dimension(s) to reduce (all when None); NumPy's name for dim.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    unbiased : bool or None
        Divide by n − 1 (True) or n (False); PyTorch's older form of correction.
    correction : int or None
        Divide by n − correction (default 1, Bessel's correction).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    # d std = d var / (2·std), by the chain rule through sqrt
    from .elementwise import sqrt

    return sqrt(
        var(x, axis, keepdims, unbiased=unbiased, correction=correction, dim=dim, keepdim=keepdim)
    )


class _Extremum(Function):
    """max or min over axes; the gradient goes to the elements equal to the result.

    Tie rule (as torch.amax/amin): the gradient is split evenly between all elements
    that attain the extremum, so it sums to the output gradient.
    """

    reduce: Callable[..., np.ndarray] = staticmethod(np.max)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0 and self.axes:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        out = self.reduce(x, axis=self.axes, keepdims=True)
        if isinstance(out, np.generic):  # NumPy reduces a 0-d array to a scalar
            out = np.asarray(out)
        self.x, self.out_keep = x, out
        return out if self.keepdims else np.squeeze(out, self.axes)

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # d max = 1/(number of ties) at each argmax, 0 elsewhere
        hit = self.x == self.out_keep
        if is_floating(self.x.dtype):
            hit |= np.isnan(self.x) & np.isnan(self.out_keep)  # a NaN maximum came from NaNs
        ties = np.sum(hit, axis=self.axes, keepdims=True)
        return hit * (_expand(g, self.axes, self.keepdims) / ties.astype(g.dtype))


class Max(_Extremum):
    """The maximum over `axes`; the gradient is shared among the tied maxima."""

    name = "max"
    reduce = staticmethod(np.max)


class Min(_Extremum):
    """The minimum over `axes`; the gradient is shared among the tied minima."""

    name = "min"
    reduce = staticmethod(np.min)


def amax(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Largest value over `axis` (an int, a tuple, or None for all); values only. Ties
    share the gradient evenly.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("amax", x, axis, keepdims, dim, keepdim)
    return Max.apply(x, axes=axes, keepdims=keep)


def amin(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Smallest value over `axis` (an int, a tuple, or None for all); values only. Ties
    share the gradient evenly.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("amin", x, axis, keepdims, dim, keepdim)
    return Min.apply(x, axes=axes, keepdims=keep)


def _extremum(
    name: str, x: Tensor, dim: Axes | Tensor, keepdim: bool, axis: Axes, keepdims: bool
) -> Tensor | tuple[Tensor, Tensor]:
    """PyTorch's overloads of max / min: whole tensor, (values, indices) along one int
    `dim`, or elementwise against another tensor; NumPy's `axis=` gives values."""
    from . import elementwise, sorting

    if isinstance(dim, Tensor):
        return (elementwise.maximum if name == "max" else elementwise.minimum)(x, dim)
    if axis is None and isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
        return sorting.extremum(name, x, dim, bool(keepdim or keepdims))
    reduce = amax if name == "max" else amin
    return reduce(x, axis if axis is not None else dim, keepdims or keepdim)


def max(
    x: Tensor,
    dim: Axes | None = None,
    keepdim: bool = False,
    *,
    axis: Axes | None = None,  # noqa: A001
    keepdims: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """As torch.max: `max(x)` the largest value; `max(x, dim)` with an int dim the named
    tuple (values, indices) of the first maximum along it, its gradient going to that
    element; `max(x, other)` the elementwise maximum. NumPy's `axis=` (an int or a tuple)
    gives values only, as `amax`.

    Parameters
    ----------
    x : Tensor
    dim : int, Tensor, optional
    keepdim, keepdims : bool
        Keep the reduced axis with size 1.
    axis : int or tuple of int, optional
    """
    return _extremum("max", x, dim, keepdim, axis, keepdims)


def min(
    x: Tensor,
    dim: Axes | None = None,
    keepdim: bool = False,
    *,
    axis: Axes | None = None,  # noqa: A001
    keepdims: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """As `max`, for the smallest value: (values, indices) along an int `dim`.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdim : bool
        Keep the reduced dimension with size 1 (default False).
    axis : int or None
        NumPy's name for dim.
    keepdims : bool
        NumPy's name for keepdim.
    """
    return _extremum("min", x, dim, keepdim, axis, keepdims)


class LogSumExp(Function):
    """log Σ exp(x) over `axes`, shifted by the maximum; gradient g·softmax(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        m = np.max(x, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all −inf (or an inf) rows: shift by 0 instead
        with np.errstate(divide="ignore"):  # log 0 = −inf is the right answer for empty sums
            out = m + np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True))
        self.x, self.out_keep = x, out
        return out if self.keepdims else np.squeeze(out, self.axes)

    def backward(self, g: np.ndarray) -> Grads:  # d logsumexp / dx_i = e^{x_i − lse} = softmax(x)_i
        return _expand(g, self.axes, self.keepdims) * np.exp(self.x - self.out_keep)


def logsumexp(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """log Σ eˣ over `axis`, computed as m + log Σ e^{x − m} with m the maximum.

    Parameters
    ----------
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("logsumexp", x, axis, keepdims, dim, keepdim)
    return LogSumExp.apply(_floating(x), axes=axes, keepdims=keep)


def _arg(
    name: str,
    fn: Callable[..., Any],
    x: Tensor,
    axis: Axes,
    keepdims: bool,
    dim: Axes,
    keepdim: bool,
) -> Tensor:
    if dim is not None:
        axis = dim
    keep = bool(keepdims or keepdim)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int or None, got {axis!r}")
    if x.size == 0:
        raise ValueError(f"{name}: cannot reduce an empty tensor of shape {x.shape}")
    if axis is not None:
        normalize_axes(name, axis, x.ndim)  # validates the range
    return tensor_of(fn(x.data, axis=axis, keepdims=keep).astype(np.int64, copy=False))


def argmax(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Index of the largest value along `axis` (into the flattened tensor when None);
    the first one on ties. Not differentiable: returns int64.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    return _arg("argmax", np.argmax, x, axis, keepdims, dim, keepdim)


def argmin(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Index of the smallest value along `axis`; the first one on ties. Returns int64.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    return _arg("argmin", np.argmin, x, axis, keepdims, dim, keepdim)


def any(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,  # noqa: A001
    keepdim: bool = False,
) -> Tensor:
    """Whether any element (along `axis`) is nonzero; a bool tensor.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("any", x, axis, keepdims, dim, keepdim)
    return tensor_of(np.any(x.data, axis=axes, keepdims=keep))


def all(
    x: Tensor,
    axis: Axes | None = None,
    keepdims: bool = False,
    *,
    dim: Axes | None = None,  # noqa: A001
    keepdim: bool = False,
) -> Tensor:
    """Whether every element (along `axis`) is nonzero; a bool tensor.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    keepdims : bool
        Keep the reduced dimensions with size 1 (default False).
    dim : int, tuple of int or None
        PyTorch's name for axis; give one of the two.
    keepdim : bool
        PyTorch's name for keepdims.
    """
    axes, keep = resolve("all", x, axis, keepdims, dim, keepdim)
    return tensor_of(np.all(x.data, axis=axes, keepdims=keep))
