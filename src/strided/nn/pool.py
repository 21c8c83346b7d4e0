"""Pooling, unpooling and upsampling layers (no parameters)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..functional import pool as P
from ..functional.pool3d import avg_pool3d, max_pool3d
from ..functional.upsample import interpolate
from .module import Module


class _Pool(Module):
    """Stores its constructor arguments and shows them in repr."""

    _args: tuple = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        for k, v in kwargs.items():
            setattr(self, k, v)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self._args)


class MaxPool2d(_Pool):
    """Max pooling over (N, C, H, W); stride defaults to kernel_size.

    Parameters
    ----------
    padding : int or tuple
        Implicit padding added on both sides of each spatial dimension (default 0).
    dilation : int or tuple
        Spacing between the elements of the window (default 1).
    return_indices : bool
        Also return the flat indices of the maxima (for MaxUnpool).
    ceil_mode : bool
        Use ceil instead of floor to compute the output shape (default False).
    """

    _args = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] | str = 0,
        dilation: int | tuple[int, ...] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(
            kernel_size=kernel_size,
            stride=stride or kernel_size,
            padding=padding,
            dilation=dilation,
            return_indices=return_indices,
            ceil_mode=ceil_mode,
        )

    def forward(self, input: Tensor) -> Tensor:
        return P.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class MaxPool1d(MaxPool2d):
    """Max pooling over (N, C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return P.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class MaxPool3d(MaxPool2d):
    """Max pooling over (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return max_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class AvgPool2d(_Pool):
    """Average pooling over (N, C, H, W).

    Parameters
    ----------
    kernel_size : int or tuple
        Size of the pooling window.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    padding : int or tuple
        Implicit padding added on both sides of each spatial dimension (default 0).
    ceil_mode : bool
        Use ceil instead of floor to compute the output shape (default False).
    count_include_pad : bool
        Count the zero padding in the averaging divisor (default True).
    divisor_override : int or None
        If given, the divisor of every window instead of its size.
    """

    _args = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] | str = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__(
            kernel_size=kernel_size,
            stride=stride or kernel_size,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )

    def forward(self, input: Tensor) -> Tensor:
        return P.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool3d(AvgPool2d):
    """Average pooling over (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool1d(_Pool):
    """Average pooling over (N, C, L).

    Parameters
    ----------
    kernel_size : int or tuple
        Size of the pooling window.
    stride : int or tuple or None
        Stride of the window; defaults to kernel_size.
    padding : int or tuple
        Implicit padding added on both sides of each spatial dimension (default 0).
    ceil_mode : bool
        Use ceil instead of floor to compute the output shape (default False).
    count_include_pad : bool
        Count the zero padding in the averaging divisor (default True).
    """

    _args = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] | str = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(
            kernel_size=kernel_size,
            stride=stride or kernel_size,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )

    def forward(self, input: Tensor) -> Tensor:
        return P.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class AdaptiveAvgPool2d(_Pool):
    """Average over adaptive windows to a fixed output size.

    Parameters
    ----------
    output_size : int or tuple
        Target spatial size of the output (None in a tuple keeps that input size).
    """

    _args = ("output_size",)

    def __init__(self, output_size: int | tuple[int | None, ...]) -> None:
        super().__init__(output_size=output_size)

    def forward(self, input: Tensor) -> Tensor:
        return P.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average over adaptive windows of (N, C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return P.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(_Pool):
    """Maximum over adaptive windows to a fixed output size.

    Parameters
    ----------
    output_size : int or tuple
        Target spatial size of the output (None in a tuple keeps that input size).
    return_indices : bool
        Also return the flat indices of the maxima (for MaxUnpool).
    """

    _args = ("output_size",)

    def __init__(
        self, output_size: int | tuple[int | None, ...], return_indices: bool = False
    ) -> None:
        super().__init__(output_size=output_size, return_indices=return_indices)

    def forward(self, input: Tensor) -> Tensor:
        return P.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Maximum over adaptive windows of (N, C, L) or (C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return P.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class GlobalAvgPool2d(_Pool):
    """Mean over all spatial positions: (N, C, H, W) → (N, C, 1, 1)."""

    def forward(self, input: Tensor) -> Tensor:
        return P.global_avg_pool2d(input)


class MaxUnpool2d(_Pool):
    """Partial inverse of MaxPool2d: `forward(x, indices, output_size=None)`.

    Parameters
    ----------
    kernel_size : int or tuple
        Size of the max-pooling window that is inverted.
    stride : int or tuple or None
        Stride of that max pooling; defaults to kernel_size.
    padding : int or tuple
        Padding of that max pooling (default 0).
    """

    _args = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] | str = 0,
    ) -> None:
        super().__init__(kernel_size=kernel_size, stride=stride or kernel_size, padding=padding)

    def forward(
        self,
        input: Tensor,
        indices: Tensor,
        output_size: int | tuple[int | None, ...] | None = None,
    ) -> Tensor:
        return P.max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxUnpool1d(MaxUnpool2d):
    """Partial inverse of MaxPool1d."""

    def forward(
        self,
        input: Tensor,
        indices: Tensor,
        output_size: int | tuple[int | None, ...] | None = None,
    ) -> Tensor:
        return P.max_unpool1d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class Upsample(_Pool):
    """Resizing by `size` or `scale_factor` with `interpolate`'s modes ('nearest',
    'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area', 'zeros').

    Parameters
    ----------
    mode : str
        'nearest' (default), 'linear', 'bilinear', 'bicubic' or 'trilinear'.
    align_corners : bool or None
        For the linear modes: align the corner pixels of input and output (PyTorch's meaning).
    recompute_scale_factor : bool or None
        Compute the interpolation from the output size instead of the given scale_factor.
    """

    _args = ("size", "scale_factor", "mode", "align_corners")

    def __init__(
        self,
        size: int | tuple[int, ...] | None = None,
        scale_factor: float | tuple[float, ...] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__(
            size=size,
            scale_factor=scale_factor,
            mode=mode,
            align_corners=align_corners,
            recompute_scale_factor=recompute_scale_factor,
        )

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            self.recompute_scale_factor,
        )


class UpsamplingNearest2d(Upsample):
    """Upsample with mode 'nearest' (as torch.nn.UpsamplingNearest2d)."""

    def __init__(
        self,
        size: int | tuple[int, ...] | None = None,
        scale_factor: float | tuple[float, ...] | None = None,
    ) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample with mode 'bilinear' and align_corners=True (as torch's)."""

    def __init__(
        self,
        size: int | tuple[int, ...] | None = None,
        scale_factor: float | tuple[float, ...] | None = None,
    ) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "GlobalAvgPool2d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
]
