"""Pooling and unpooling as differentiable functions: max / average pooling (1-D and 2-D),
adaptive average / max pooling, global average pooling, and max-unpooling from indices.

Backward: max pooling routes each output gradient to the position of its window's maximum
(max-unpooling); average pooling spreads it evenly over the window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..device import array_module, common_device
from ..kernels.pool import (
    PoolGeometry,
    adaptive_avg_matrix,
    adaptive_max_pool2d_forward,
    avg_divisor,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    tap_to_flat_index,
    unpool_gather,
    unpool_scatter,
)
from .arguments import (
    as_tensor,
    check_input,
    check_pool_padding,
    check_window_fits,
    drop_1d,
    layout,
    lift_1d,
    ntuple,
)
from .batching import batch_conventions


class MaxPool2d(Function):
    """params: geo, one_d, with_arg (also return the argmax of each window as h·W + w, a
    non-differentiable output)."""

    def forward(self, x: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        x = lift_1d(x, self.one_d)
        y, arg = max_pool2d_forward(x, self.geo, self.with_arg or self.needs_input_grad[0])
        self.arg = arg
        y = drop_1d(y, self.one_d)
        if not self.with_arg:
            return y
        indices = drop_1d(tap_to_flat_index(arg, self.geo), self.one_d)
        self.mark_non_differentiable(indices)
        return y, indices

    def backward(self, gy: np.ndarray) -> Grads:
        return drop_1d(max_pool2d_backward(lift_1d(gy, self.one_d), self.arg, self.geo), self.one_d)


class AvgPool2d(Function):
    """params: geo, divisor, one_d."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return drop_1d(
            avg_pool2d_forward(lift_1d(x, self.one_d), self.geo, self.divisor), self.one_d
        )

    def backward(self, gy: np.ndarray) -> Grads:
        return drop_1d(
            avg_pool2d_backward(lift_1d(gy, self.one_d), self.geo, self.divisor), self.one_d
        )


class AdaptiveAvgPool2d(Function):
    """y = A_h · x · A_wᵀ with A the (out, in) window-averaging matrices; params ah, aw."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.ah @ x @ self.aw.T

    def backward(self, gy: np.ndarray) -> Grads:
        return self.ah.T @ gy @ self.aw


class AdaptiveMaxPool2d(Function):
    """params: out, with_arg (also return the argmax indices, non-differentiable)."""

    def forward(self, x: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        self.hw = x.shape[2:]
        y, self.idx = adaptive_max_pool2d_forward(x, self.out)
        if not self.with_arg:
            return y
        indices = self.idx.copy()  # a user's in-place edit must not reach the backward
        self.mark_non_differentiable(indices)
        return y, indices

    def backward(self, gy: np.ndarray) -> Grads:
        return unpool_scatter(gy, self.idx, self.hw, accumulate=True)  # windows may overlap


class MaxUnpool2d(Function):
    """params: indices (int array), hw."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return unpool_scatter(x, self.indices, self.hw, accumulate=False)

    def backward(self, g: np.ndarray) -> Grads:
        return unpool_gather(g, self.indices)


def _pool_args(
    fn: str,
    x: Tensor,
    nd: int,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...] | str,
    dilation: int | tuple[int, ...],
) -> tuple[Pair, Pair, Pair, Pair]:
    check_input(x, nd + 2, fn, layout(nd))
    kernel = ntuple(kernel_size, nd, fn, "kernel_size", minimum=1)
    stride = (
        kernel if stride is None or stride == () else ntuple(stride, nd, fn, "stride", minimum=1)
    )
    padding = ntuple(padding, nd, fn, "padding", minimum=0)
    dilation = ntuple(dilation, nd, fn, "dilation", minimum=1)
    check_pool_padding(kernel, padding, dilation, fn, x.shape)
    check_window_fits(
        tuple(x.shape[2:]),
        kernel,
        tuple((p, p) for p in padding),
        dilation,
        fn,
        f"input shape {tuple(x.shape)}",
    )
    if nd == 1:
        kernel, stride, padding, dilation = (
            (1,) + kernel,
            (1,) + stride,
            (0,) + padding,
            (1,) + dilation,
        )
    return _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)


# the 2-D pooling kernels' geometry: one (height, width) pair per argument
Pair = tuple[int, int]


def _pair(t: tuple[int, ...]) -> Pair:
    a, b = t
    return a, b


def _max_pool(
    fn: str,
    nd: int,
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...] | str,
    dilation: int | tuple[int, ...],
    ceil_mode: bool,
    return_indices: bool,
) -> Tensor | tuple[Tensor, ...]:
    x = as_tensor(input, fn)
    kernel, stride, padding, dilation = _pool_args(
        fn, x, nd, kernel_size, stride, padding, dilation
    )
    hw = _pair((1,) + tuple(x.shape[2:]) if nd == 1 else tuple(x.shape[2:]))
    geo = PoolGeometry(hw, kernel, stride, padding, dilation, ceil_mode)
    if return_indices:
        return MaxPool2d.apply_multi(x, geo=geo, one_d=(nd == 1), with_arg=True)
    return MaxPool2d.apply(x, geo=geo, one_d=(nd == 1), with_arg=False)


@batch_conventions(4)
def max_pool2d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, ...]:
    """Maximum over each (dilated) kernel window of `input` (N, C, H, W); stride defaults to
    the kernel size, padding counts as −∞. With `return_indices`, also the argmax of each
    window as h·W + w in its input plane (for `max_unpool2d`).

    Parameters
    ----------
    kernel_size : int or tuple
        Size of the pooling window.
    dilation : int or tuple
        Spacing between the elements of the window (default 1).
    ceil_mode : bool
        Use ceil instead of floor to compute the output shape (default False).
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


@batch_conventions(3)
def max_pool1d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, ...]:
    """max_pool2d for (N, C, L) inputs; indices index L.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    kernel_size : int or tuple
        Size of the pooling window.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    padding : int or tuple
        Implicit padding on both sides of each spatial dimension (default 0).
    dilation : int or tuple
        Spacing between the elements of the window (default 1).
    ceil_mode : bool
        Use ceil instead of floor to compute the output shape (default False).
    return_indices : bool
        Also return the flat indices of the maxima (for MaxUnpool).
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    fn: str,
    nd: int,
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...] | str,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    x = as_tensor(input, fn)
    kernel, stride, padding, dilation = _pool_args(fn, x, nd, kernel_size, stride, padding, 1)
    if divisor_override is not None and (
        not isinstance(divisor_override, (int, np.integer)) or divisor_override <= 0
    ):
        raise ValueError(f"{fn}: divisor_override must be a positive int, got {divisor_override!r}")
    hw = _pair((1,) + tuple(x.shape[2:]) if nd == 1 else tuple(x.shape[2:]))
    geo = PoolGeometry(hw, kernel, stride, padding, dilation, ceil_mode)
    divisor = avg_divisor(geo, count_include_pad, divisor_override, x.dtype, array_module(x.data))
    return AvgPool2d.apply(x, geo=geo, divisor=divisor, one_d=(nd == 1))


@batch_conventions(4)
def avg_pool2d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each kernel window of `input` (N, C, H, W). The divisor is the window size,
    counting zero padding when `count_include_pad` (windows that ceil_mode lets run past the
    padding never count the overrun), or `divisor_override`.

    Parameters
    ----------
    kernel_size : int or tuple
        Size of the pooling window.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


@batch_conventions(3)
def avg_pool1d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """avg_pool2d for (N, C, L) inputs.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    kernel_size : int or tuple
        Size of the pooling window.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    padding : int or tuple
        Implicit padding on both sides of each spatial dimension (default 0).
    ceil_mode : bool
        Use ceil instead of floor to compute the output shape (default False).
    count_include_pad : bool
        Count the zero padding in the averaging divisor (default True).
    """
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def _adaptive_size(
    fn: str, output_size: int | Sequence[int | None] | None, spatial: tuple[int, ...]
) -> tuple[int, ...]:
    nd = len(spatial)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    if not isinstance(output_size, (tuple, list)) or len(output_size) != nd:
        raise TypeError(f"{fn}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    out = tuple(s if o is None else int(o) for o, s in zip(output_size, spatial, strict=True))
    if any(o < 1 for o in out):
        raise ValueError(f"{fn}: output_size must be positive, got {output_size!r}")
    return out


def _adaptive_avg(
    fn: str, nd: int, input: Tensor, output_size: int | Sequence[int | None] | None
) -> Tensor:
    x = as_tensor(input, fn)
    check_input(x, nd + 2, fn, layout(nd))
    out = _adaptive_size(fn, output_size, tuple(x.shape[2:]))
    xp = array_module(x.data)
    if nd == 1:
        aw = adaptive_avg_matrix(x.shape[2], out[0], x.dtype, xp)
        return AdaptiveAvgPool1d.apply(x, aw=aw)
    ah = adaptive_avg_matrix(x.shape[2], out[0], x.dtype, xp)
    aw = adaptive_avg_matrix(x.shape[3], out[1], x.dtype, xp)
    return AdaptiveAvgPool2d.apply(x, ah=ah, aw=aw)


class AdaptiveAvgPool1d(Function):
    """y = x · Aᵀ; params aw."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x @ self.aw.T

    def backward(self, gy: np.ndarray) -> Grads:
        return gy @ self.aw


@batch_conventions(4)
def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Average over adaptive windows so the output is `output_size` (an int, a pair, with
    None keeping that input size): window i covers [⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


@batch_conventions(3)
def adaptive_avg_pool1d(input: Tensor, output_size: int | tuple[int | None, ...]) -> Tensor:
    """adaptive_avg_pool2d for (N, C, L) inputs.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    output_size : int
        Target length of the output.
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


@batch_conventions(4)
def global_avg_pool2d(input: Tensor) -> Tensor:
    """Mean over all spatial positions: (N, C, H, W) → (N, C, 1, 1).

    Parameters
    ----------
    input : Tensor
        The input tensor.
    """
    return _adaptive_avg("global_avg_pool2d", 2, input, 1)


@batch_conventions(4)
def adaptive_max_pool2d(
    input: Tensor, output_size: int | Sequence[int | None], return_indices: bool = False
) -> Tensor | tuple[Tensor, ...]:
    """Maximum over adaptive windows (see adaptive_avg_pool2d); with `return_indices`, the
    argmax of each window as h·W + w.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    output_size : int or tuple
        Target (H, W) of the output (None in a tuple keeps that input size).
    """
    x = as_tensor(input, "adaptive_max_pool2d")
    check_input(x, 4, "adaptive_max_pool2d", "(N, C, H, W)")
    out = _adaptive_size("adaptive_max_pool2d", output_size, tuple(x.shape[2:]))
    if return_indices:
        return AdaptiveMaxPool2d.apply_multi(x, out=out, with_arg=True)
    return AdaptiveMaxPool2d.apply(x, out=out, with_arg=False)


@batch_conventions(3)
def adaptive_max_pool1d(
    input: Tensor, output_size: int | tuple[int | None, ...], return_indices: bool = False
) -> Tensor | tuple[Tensor, ...]:
    """adaptive_max_pool2d for (N, C, L) inputs; indices index L.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    output_size : int
        Target length of the output.
    return_indices : bool
        Also return the flat indices of the maxima (for MaxUnpool).
    """
    x = as_tensor(input, "adaptive_max_pool1d")
    check_input(x, 3, "adaptive_max_pool1d", "(N, C, L)")
    out = _adaptive_size("adaptive_max_pool1d", output_size, tuple(x.shape[2:]))
    lifted = x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])
    if not return_indices:
        return _Squeeze1d.apply(AdaptiveMaxPool2d.apply(lifted, out=(1,) + out, with_arg=False))
    y, indices = AdaptiveMaxPool2d.apply_multi(lifted, out=(1,) + out, with_arg=True)
    return _Squeeze1d.apply(y), Tensor(indices.data[:, :, 0, :])


def _max_unpool(
    fn: str,
    nd: int,
    input: Tensor,
    indices: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...] | str,
    output_size: Sequence[int] | None,
) -> Tensor:
    x = as_tensor(input, fn)
    check_input(x, nd + 2, fn, layout(nd))
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    common_device((x.data, idx), fn)
    if idx.shape != x.shape or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(
            f"{fn}: indices must be integers of the input's shape "
            f"{tuple(x.shape)}, got {idx.dtype} {tuple(idx.shape)}"
        )
    kernel = ntuple(kernel_size, nd, fn, "kernel_size", minimum=1)
    stride = kernel if stride is None else ntuple(stride, nd, fn, "stride", minimum=1)
    padding = ntuple(padding, nd, fn, "padding", minimum=0)
    if output_size is None:
        size = tuple(
            (i - 1) * s - 2 * p + k
            for i, s, p, k in zip(x.shape[2:], stride, padding, kernel, strict=True)
        )
    else:
        size = tuple(int(v) for v in output_size)[-nd:]
    plane = int(np.prod(size))
    # checked on the CPU only: on a device the check would wait for it (as PyTorch's
    # CUDA kernel, which asserts inside the kernel instead)
    if type(idx) is np.ndarray and idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise ValueError(
            f"{fn}: indices must lie in [0, {plane}) for output size {size}, "
            f"got values from {idx.min()} to {idx.max()}"
        )
    hw = (1,) + size if nd == 1 else size
    y = MaxUnpool2d.apply(x, indices=idx, hw=hw)  # 1-D: (N, C, L) → (N, C, 1, L)
    if nd == 1:
        return _Squeeze1d.apply(y)
    return y


class _Squeeze1d(Function):
    """(N, C, 1, L) → (N, C, L)."""

    def forward(self, y: np.ndarray) -> np.ndarray:
        return y[:, :, 0, :]

    def backward(self, g: np.ndarray) -> Grads:
        return g[:, :, None, :]


@batch_conventions(4, extra=("indices",))
def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The partial inverse of max_pool2d: each value put back at its index (h·W + w) in a
    zero image of size `output_size` (default (H−1)·s − 2p + k); the gradient gathers.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    indices : Tensor
        Indices of the maxima, as max pooling with return_indices=True gives them.
    kernel_size : int or tuple
        Size of the max-pooling window that is inverted.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    padding : int or tuple
        Implicit padding on both sides of each spatial dimension (default 0).
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


@batch_conventions(3, extra=("indices",))
def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] | str = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """max_unpool2d for (N, C, L) inputs.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    indices : Tensor
        Indices of the maxima, as max pooling with return_indices=True gives them.
    kernel_size : int
        Size of the max-pooling window that is inverted.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    padding : int or tuple
        Implicit padding on both sides of each spatial dimension (default 0).
    output_size : tuple or None
        Exact output size, to choose among the possible sizes.
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "global_avg_pool2d",
    "max_unpool1d",
    "max_unpool2d",
]
