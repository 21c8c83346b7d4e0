"""Ways to make a tensor: from data, filled with a constant, a range, or at random."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .autograd import Tensor
from .backend import Generator, get_default_dtype, rng_of
from .device import Device, backend_of, device_of
from .device import device as as_device

DeviceLike = str | Device | None


def _shape(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in size):
        raise ValueError(f"expected a shape of non-negative ints, got {size}")
    return tuple(int(n) for n in size)


def _dtype(dtype: DTypeLike | None) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def tensor(
    data: Any,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays or a Tensor).

    Python floats become the default dtype (float32); an ndarray keeps its dtype.

    Parameters
    ----------
    device : str, Device or None
        Where the tensor lives: that of `data` when it is a tensor or array on a device,
        else the default device (the CPU unless changed) when None.
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    if isinstance(data, Tensor):
        data = data.data
    if not isinstance(data, (np.ndarray, np.generic)) and backend_of(data).name != "cpu":
        # an array on a device (CuPy): copy it there, or move it
        copied = Tensor(data, dtype=dtype, device=device).data
        fresh = copied.copy() if copied is data else copied
        return Tensor(fresh, requires_grad=requires_grad, device=device_of(fresh))
    try:
        arr = np.array(data, dtype=dtype, copy=True)
    except ValueError as e:  # ragged nesting, or strings that are not numbers
        raise TypeError(
            f"tensor: cannot make a tensor from {type(data).__name__} data ({e})"
        ) from None
    if dtype is None and not isinstance(data, np.ndarray) and arr.dtype == np.float64:
        arr = arr.astype(get_default_dtype())
    return Tensor(arr, requires_grad=requires_grad, device=device)


def zeros(
    *size: Any,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`.

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype of the result (the default dtype, float32 unless changed, when None).
    device : str, Device or None
        Where the tensor lives (the default device, the CPU unless changed, when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    where = as_device(device)
    data = where.new("zeros", _shape(size), _dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=where)


def ones(
    *size: Any,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ones.

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype of the result (the default dtype, float32 unless changed, when None).
    device : str, Device or None
        Where the tensor lives (the default device, the CPU unless changed, when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    where = as_device(device)
    data = where.new("ones", _shape(size), _dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=where)


def full(
    size: int | tuple[int, ...],
    fill_value: float,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of `size` filled with `fill_value`.

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype of the result (the default dtype, float32 unless changed, when None).
    device : str, Device or None
        Where the tensor lives (the default device, the CPU unless changed, when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    where = as_device(device)
    data = where.new("full", _shape((size,)), fill_value, _dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=where)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from `start` to `end` (exclusive) by `step`; integers stay int64.

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype of the result; when None, int64 for integer arguments, else the default dtype.
    device : str, Device or None
        Where the tensor lives (the default device, the CPU unless changed, when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    if end is None:
        start, end = 0, start
    if dtype is None and all(isinstance(v, (int, np.integer)) for v in (start, end, step)):
        dtype = np.int64
    where = as_device(device)
    data = where.new("arange", start, end, step, dtype=_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=where)


def randn(
    *size: Any,
    dtype: DTypeLike | None = None,
    generator: Generator | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples, drawn from `generator` (or the default one).

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype of the result (the default dtype, float32 unless changed, when None).
    device : str, Device or None
        Where the tensor lives (the default device, the CPU unless changed, when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    # drawn on the host, so that a seed gives the same numbers on every device
    data = rng_of(generator).standard_normal(_shape(size)).astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=device)


def rand(
    *size: Any,
    dtype: DTypeLike | None = None,
    generator: Generator | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples on [0, 1), drawn from `generator` (or the default one).

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype of the result (the default dtype, float32 unless changed, when None).
    device : str, Device or None
        Where the tensor lives (the default device, the CPU unless changed, when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    data = rng_of(generator).random(_shape(size)).astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=device)


def _like(fill: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def like(
        t: Tensor,
        dtype: DTypeLike | None = None,
        device: DeviceLike = None,
        requires_grad: bool = False,
    ) -> Tensor:
        d = t.dtype if dtype is None else dtype
        where = t.device if device is None else device
        return fill(*t.shape, dtype=d, device=where, requires_grad=requires_grad)

    like.__name__ = fill.__name__ + "_like"
    like.__doc__ = (
        f"`{fill.__name__}` with the shape (and dtype, unless given) of `t`.\n\n"
        "Parameters\n----------\nt : Tensor\n    The tensor whose shape is taken.\n"
        "dtype : dtype or None\n    dtype of the result (that of `t` when None).\n"
        "device : str, Device or None\n    Where the result lives (that of `t` when None).\n"
        "requires_grad : bool\n    Record operations on the result for autograd "
        "(default False)."
    )
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)


def full_like(
    t: Tensor,
    fill_value: float,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """`full` with the shape (and dtype, unless given) of `t`.

    Parameters
    ----------
    fill_value : scalar
        Value every element is set to.
    device : str, Device or None
        Where the result lives (that of `t` when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    return full(
        t.shape,
        fill_value,
        dtype=t.dtype if dtype is None else dtype,
        device=t.device if device is None else device,
        requires_grad=requires_grad,
    )


def randn_like(
    t: Tensor,
    dtype: DTypeLike | None = None,
    generator: Generator | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """`randn` with the shape (and dtype, unless given) of `t`.

    Parameters
    ----------
    generator : Generator or None
        Random stream to draw from (the global one when None).
    device : str, Device or None
        Where the result lives (that of `t` when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    return randn(
        *t.shape,
        dtype=t.dtype if dtype is None else dtype,
        generator=generator,
        device=t.device if device is None else device,
        requires_grad=requires_grad,
    )


def rand_like(
    t: Tensor,
    dtype: DTypeLike | None = None,
    generator: Generator | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """`rand` with the shape (and dtype, unless given) of `t`.

    Parameters
    ----------
    generator : Generator or None
        Random stream to draw from (the global one when None).
    device : str, Device or None
        Where the result lives (that of `t` when None).
    requires_grad : bool
        Record operations on the result for autograd (default False).
    """
    return rand(
        *t.shape,
        dtype=t.dtype if dtype is None else dtype,
        generator=generator,
        device=t.device if device is None else device,
        requires_grad=requires_grad,
    )
