"""Shape operations: reshape, flatten, transpose/permute, squeeze/unsqueeze, expand,
cat/stack/split and indexing.

None of these changes a value, they only move values around; so each backward moves the
gradient back the same way: reshape it back, permute it back, scatter it back to where the
indexed elements came from (adding where an element was picked more than once).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..autograd import Axes, Function, Grads, Tensor
from ..device import array_module, common_device, device_of, move
from .reduce import normalize_axes


def _sizes(name: str, shape: tuple[int, ...]) -> tuple:
    """`f(2, 3)` and `f((2, 3))` both give (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, (int, np.integer)) for n in shape):
        raise TypeError(f"{name}: sizes must be ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _axis(name: str, axis: Axes, ndim: int) -> int:
    """One axis as a non-negative int (0 for a 0-d tensor, as torch allows)."""
    return normalize_axes(name, axis, ndim)[0] if ndim else 0


# ---------------------------------------------------------------------------------------
# reshape / flatten
# ---------------------------------------------------------------------------------------


class Reshape(Function):
    """x with a new shape (a view when NumPy can); the gradient is reshaped back."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} "
                f"({x.size} elements) into shape {self.shape}"
            ) from None

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # values are only renumbered: reshape the gradient back
        return g.reshape(self.in_shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same values in a new shape; one size may be -1 (inferred).
    `reshape(x, 2, 3)` and `reshape(x, (2, 3))` both work."""
    shape = _sizes("reshape", shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the dimensions start_dim..end_dim (inclusive) into one.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    if x.ndim == 0:
        return reshape(x, (1,))
    s = _axis("flatten", start_dim, x.ndim)
    e = _axis("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}"
        )
    return reshape(x, x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :])


# ---------------------------------------------------------------------------------------
# transpose / permute
# ---------------------------------------------------------------------------------------


class Permute(Function):
    """x with its axes permuted by `dims`; the gradient by the inverse permutation."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.transpose(self.dims)

    def backward(self, g: np.ndarray) -> Grads:  # move every axis back where it came from
        return g.transpose(tuple(np.argsort(self.dims).tolist()))


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the axes: output axis i is input axis dims[i].

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    dims = _sizes("permute", dims)
    if sorted(d % x.ndim if x.ndim else d for d in dims) != list(range(x.ndim)):
        raise ValueError(
            f"permute: dims {dims} are not a permutation of the axes of shape {x.shape}"
        )
    dims = tuple(d % x.ndim for d in dims)
    return Permute.apply(x, dims=dims)


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes (the last two by default).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    dim0 : int
        First dimension to swap (default -2).
    dim1 : int
        Second dimension to swap (default -1).
    """
    if x.ndim < 2 and (dim0, dim1) == (-2, -1):
        return x
    dims = list(range(x.ndim))
    a, b = _axis("transpose", dim0, x.ndim), _axis("transpose", dim1, x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, dims=tuple(dims))


def T(x: Tensor) -> Tensor:
    """All axes reversed (the matrix transpose for 2-D)."""
    return Permute.apply(x, dims=tuple(reversed(range(x.ndim))))


# ---------------------------------------------------------------------------------------
# squeeze / unsqueeze / expand
# ---------------------------------------------------------------------------------------


def squeeze(x: Tensor, axis: Axes | None = None, *, dim: Axes | None = None) -> Tensor:
    """Drop size-1 axes: all of them, or those in `axis` (an axis whose size is not 1 is
    left alone, as in torch).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    dim : int, tuple of int or None
        PyTorch's name for axis: the size-1 dimension(s) to remove (all when None).
    """
    axis = dim if dim is not None else axis
    axes = normalize_axes("squeeze", axis, x.ndim)
    drop = {a for a in axes if x.shape[a] == 1}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in drop))


def unsqueeze(x: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Insert a size-1 axis at position `axis` (of the result: -1 appends).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    dim : int or None
        PyTorch's name for axis: where the new size-1 dimension goes.
    """
    axis = dim if dim is not None else axis
    if axis is None:
        raise TypeError("unsqueeze: missing the axis (dim) argument")
    a = _axis("unsqueeze", axis, x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])


class BroadcastTo(Function):
    """x broadcast to `shape`; the gradient is summed back to x's shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(
                f"expand: shape {x.shape} cannot be broadcast to {self.shape}"
            ) from None

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # the engine sums the broadcast gradient back to x's shape
        return g


def broadcast_to(x: Tensor, *shape: Any) -> Tensor:
    """A read-only view repeating x along broadcast axes (no copy); the gradient sums."""
    shape = _sizes("broadcast_to", shape)
    if shape == x.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """torch's expand: broadcast_to where a size of -1 keeps that axis.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    sizes = _sizes("expand", sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(
            f"expand: {len(sizes)} sizes {sizes} for a tensor of shape "
            f"{x.shape}; give at least one per axis"
        )
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    return broadcast_to(x, shape)


# ---------------------------------------------------------------------------------------
# cat / stack / split
# ---------------------------------------------------------------------------------------


def _tensors(name: str, tensors: Iterable[Tensor]) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


class Cat(Function):
    """The inputs joined along `axis`; each gets its slice of the gradient."""

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        ref = xs[0].shape
        for i, x in enumerate(xs):
            if (
                x.ndim != len(ref)
                or x.shape[: self.axis] + x.shape[self.axis + 1 :]
                != ref[: self.axis] + ref[self.axis + 1 :]
            ):
                raise ValueError(
                    f"cat: tensor {i} has shape {x.shape}, tensor 0 has shape {ref}; "
                    f"they must match except along axis {self.axis}"
                )
        self.ends = list(itertools.accumulate(x.shape[self.axis] for x in xs))[:-1]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g: np.ndarray) -> Grads:  # each input gets back its own slab of the gradient
        return tuple(np.split(g, self.ends, axis=self.axis))


def cat(tensors: Iterable[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis.

    Parameters
    ----------
    dim : int or None
        PyTorch's name for axis: the dimension to join along.
    """
    tensors = _tensors("cat", tensors)
    axis = _axis("cat", dim if dim is not None else axis, tensors[0].ndim)
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, axis=axis)


concatenate = concat = cat


class Stack(Function):
    """The inputs stacked along a new `axis`; each gets its slice of the gradient."""

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        for i, x in enumerate(xs):
            if x.shape != xs[0].shape:
                raise ValueError(
                    f"stack: tensor {i} has shape {x.shape}, tensor 0 has shape "
                    f"{xs[0].shape}; all must have the same shape"
                )
        return np.stack(xs, axis=self.axis)

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # input i gets the slice i of the gradient along the new axis
        return tuple(np.moveaxis(g, self.axis, 0))


def stack(tensors: Iterable[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis.

    Parameters
    ----------
    dim : int or None
        PyTorch's name for axis: the position of the new dimension.
    """
    tensors = _tensors("stack", tensors)
    axis = _axis("stack", dim if dim is not None else axis, tensors[0].ndim + 1)
    return Stack.apply(*tensors, axis=axis)


def split(
    x: Tensor, split_size_or_sections: int | Sequence[int], axis: int = 0, *, dim: int | None = None
) -> tuple[Tensor, ...]:
    """Cut x along `axis` into pieces: of `split_size` each (the last may be smaller), or
    of the sizes in the list `sections` (they must add up to the axis' length).

    Parameters
    ----------
    split_size_or_sections : int or sequence of int
        Size of each piece (the last may be smaller), or the list of sizes.
    dim : int or None
        PyTorch's name for axis: the dimension to split along.
    """
    a = _axis("split", dim if dim is not None else axis, x.ndim)
    n = x.shape[a]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(
                f"split: sections {sizes} do not add up to {n}, the size of "
                f"axis {a} of shape {x.shape}"
            )
    pieces, start = [], 0
    lead = (slice(None),) * a
    for s in sizes:
        pieces.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, axis: int = 0, *, dim: int | None = None) -> tuple[Tensor, ...]:
    """Split into `chunks` nearly equal pieces (torch.chunk: size ceil(n / chunks)).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    axis : int
        Dimension to split along (default 0).
    dim : int or None
        PyTorch's name for axis.
    """
    a = _axis("chunk", dim if dim is not None else axis, x.ndim)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    return split(x, max(1, -(-x.shape[a] // chunks)), axis=a)


# ---------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------


def index_arrays(index: Any, data: Any) -> tuple:
    """The index into the array `data`, with Tensors replaced by their arrays and lists by
    arrays, every index array on `data`'s device (copied there from the host if need be,
    as PyTorch does; an index on a device cannot index host data)."""
    if not isinstance(index, tuple):
        index = (index,)
    host = type(data) is np.ndarray
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if type(i) is np.ndarray:
            if not host:
                i = move(i, device_of(data))
        elif hasattr(i, "shape") and not isinstance(i, np.generic):  # an array on a device
            common_device((data, i), "getitem")
        out.append(i)
    return tuple(out)


def _is_basic(index: tuple) -> bool:
    """Only ints, slices, None and Ellipsis: the result is a view and no element repeats."""
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index)


class GetItem(Function):
    """x[index] (NumPy indexing); the gradient is scattered back, repeats summed."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor shape {x.shape})") from None

    def backward(self, g: np.ndarray) -> Grads:
        idx = self.index
        if _is_basic(idx) or (len(idx) == 1 and getattr(idx[0], "dtype", None) == np.bool_):
            # each input element appears at most once in the output: a plain scatter
            out = array_module(g).zeros(self.shape, self.dtype)
            out[idx] = g
            return out
        # Advanced indexing may pick an element several times, and its gradient is then
        # the sum. Index a table of flat positions the same way to learn where each output
        # element came from, then add up with bincount (about 2x faster than np.add.at).
        size = int(np.prod(self.shape))
        where = array_module(g).arange(size).reshape(self.shape)[idx]
        flat = np.bincount(
            where.reshape(-1), weights=np.broadcast_to(g, where.shape).reshape(-1), minlength=size
        )
        return flat.astype(self.dtype, copy=False).reshape(self.shape)


def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index] with NumPy semantics: ints, slices, None, Ellipsis, boolean masks and
    integer arrays (or Tensors). The gradient of an element picked twice is the sum."""
    return GetItem.apply(x, index=index_arrays(index, x.data))
