"""3-D max and average pooling as differentiable functions, with PyTorch's arguments:
`max_pool3d` routes each gradient to its window's maximum, `avg_pool3d` spreads it over
the window (`strided.kernels.pool3d`)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..backend import is_floating
from ..device import array_module
from ..kernels.pool3d import (
    Pool3dGeometry,
    avg_divisor,
    avg_pool3d_backward,
    avg_pool3d_forward,
    max_pool3d_backward,
    max_pool3d_forward,
)
from .arguments import as_tensor, check_pool_padding, check_window_fits, ntuple
from .batching import batch_conventions


class MaxPool3d(Function):
    """params geo, with_arg (also return the argmax indices, non-differentiable)."""

    def forward(self, x: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        y, self.index = max_pool3d_forward(x, self.geo)
        if not self.with_arg:
            return y
        indices = self.index.copy()  # a user's in-place edit must not reach the backward
        self.mark_non_differentiable(indices)
        return y, indices

    def backward(self, gy: np.ndarray) -> Grads:
        return max_pool3d_backward(gy, self.index, self.geo.spatial)


class AvgPool3d(Function):
    """params geo, divisor."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return avg_pool3d_forward(x, self.geo, self.divisor)

    def backward(self, gy: np.ndarray) -> Grads:
        return avg_pool3d_backward(gy, self.geo, self.divisor)


def _geometry(
    fn: str,
    x: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...] | str,
    dilation: int | tuple[int, ...],
    ceil_mode: bool,
) -> Pool3dGeometry:
    if not is_floating(x.dtype):
        raise TypeError(f"{fn}: input must be floating point, got dtype {x.dtype}")
    kernel = ntuple(kernel_size, 3, fn, "kernel_size", minimum=1)
    stride = (
        kernel if stride is None or stride == () else ntuple(stride, 3, fn, "stride", minimum=1)
    )
    padding = ntuple(padding, 3, fn, "padding", minimum=0)
    dilation = ntuple(dilation, 3, fn, "dilation", minimum=1)
    check_pool_padding(kernel, padding, dilation, fn, tuple(x.shape))
    check_window_fits(
        tuple(x.shape[2:]),
        kernel,
        tuple((p, p) for p in padding),
        dilation,
        fn,
        f"input shape {tuple(x.shape)}",
    )
    return Pool3dGeometry(tuple(x.shape[2:]), kernel, stride, padding, dilation, bool(ceil_mode))


@batch_conventions(5)
def max_pool3d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, ...]:
    """Maximum over each (dilated) kernel window of `input` (N, C, D, H, W) or (C, D, H, W).

    Parameters
    ----------
    kernel_size, stride, padding, dilation : int or tuple of 3 ints
        The window; stride defaults to kernel_size; padding counts as −∞ and is at most
        half the window.
    ceil_mode : bool
        Round the output size up (a last, partial window that starts inside the input).
    return_indices : bool
        Also return each maximum's flat index z·H·W + y·W + x in its input plane.
    """
    x = as_tensor(input, "max_pool3d")
    geo = _geometry("max_pool3d", x, kernel_size, stride, padding, dilation, ceil_mode)
    if return_indices:
        return MaxPool3d.apply_multi(x, geo=geo, with_arg=True)
    return MaxPool3d.apply(x, geo=geo, with_arg=False)


@batch_conventions(5)
def avg_pool3d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each kernel window of `input` (N, C, D, H, W) or (C, D, H, W).

    Parameters
    ----------
    kernel_size, stride, padding : int or tuple of 3 ints
        The window; stride defaults to kernel_size.
    ceil_mode : bool
        Round the output size up.
    count_include_pad : bool
        Count the zero padding in the divisor (never the part of a ceil_mode window that
        runs past the padding).
    divisor_override : int, optional
        Divide every window's sum by this instead.
    """
    fn = "avg_pool3d"
    x = as_tensor(input, fn)
    geo = _geometry(fn, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (
        not isinstance(divisor_override, (int, np.integer)) or divisor_override <= 0
    ):
        raise ValueError(f"{fn}: divisor_override must be a positive int, got {divisor_override!r}")
    divisor = avg_divisor(geo, count_include_pad, divisor_override, x.dtype, array_module(x.data))
    return AvgPool3d.apply(x, geo=geo, divisor=divisor)


__all__ = ["max_pool3d", "avg_pool3d"]
