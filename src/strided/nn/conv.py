"""Convolution layers: Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Tensor
from ..backend import Generator, get_default_dtype
from ..functional.arguments import (
    as_tensor,
    check_conv_padding,
    check_padding_mode,
    ntuple,
    positive_int,
)
from ..functional.batching import layouts
from ..functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..functional.conv3d import conv3d
from . import init
from .module import Module, Parameter


class _ConvNd(Module):
    """Shared body of the convolution layers (Conv1d/2d/3d, ConvTranspose1d/2d): PyTorch's
    constructor arguments, with ints or tuples per spatial dimension.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output (the number of filters).
    kernel_size : int or tuple
        Size of the convolution kernel.
    stride : int or tuple
        Stride of the convolution (default 1).
    padding : int, tuple or str
        Padding added on both sides of each spatial dimension, or 'same'/'valid' (default 0);
        for transposed convolutions, dilation·(kernel_size − 1) − padding zeros are added.
    dilation : int or tuple
        Spacing between the kernel elements (default 1).
    groups : int
        Blocked connections from input to output channels; both must be divisible by it (default
        1).
    bias : bool
        Learn an additive bias per output channel (default True).
    padding_mode : str
        'zeros' (default), 'reflect', 'replicate' or 'circular'.
    output_padding : int or tuple
        Transposed convolutions only: extra size added to one side of the output, to pick among
        the input sizes a strided convolution maps to the same size (default 0).
    dtype : dtype or None
        dtype of the weight and bias (the default dtype when None).
    generator : Generator or None
        Random stream of the initial weights (the global one when None).
    """

    nd = 2
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | str = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: int | tuple[int, ...] = 0,
        dtype: DTypeLike | None = None,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, v in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("groups", groups),
        ):
            positive_int(v, name, arg)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups={groups} must divide in_channels={in_channels}"
                f" and out_channels={out_channels}"
            )
        check_padding_mode(padding_mode, name)
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported")
        if self.transposed and isinstance(padding, str):
            raise ValueError(f"{name}: padding {padding!r} is not supported here")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, self.nd, name, "kernel_size", minimum=1)
        self.stride = ntuple(stride, self.nd, name, "stride", minimum=1)
        self.dilation = ntuple(dilation, self.nd, name, "dilation", minimum=1)
        self.padding = check_conv_padding(padding, self.nd, self.stride, name)
        self.output_padding = ntuple(output_padding, self.nd, name, "output_padding", minimum=0)
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or get_default_dtype())
        shape = (
            (in_channels, out_channels // groups)
            if self.transposed
            else (out_channels, in_channels // groups)
        ) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: kaiming_uniform with a=√5, i.e. U(−1/√fan_in, 1/√fan_in) for
        the weight, and the same bound for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * int(np.prod(self.kernel_size))
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator)

    def _describe(self) -> str:
        k = self.kernel_size[0] if len(set(self.kernel_size)) == 1 else self.kernel_size
        return f"{type(self).__name__}({self.in_channels}→{self.out_channels}, k={k})"

    def _check(self, x: Tensor) -> Tensor:
        x = as_tensor(x, type(self).__name__)
        if x.ndim not in (self.nd + 1, self.nd + 2):  # unbatched (C, ...) or (N, C, ...)
            raise ValueError(
                f"{self._describe()}: expected a {self.nd + 2}-D or "
                f"{self.nd + 1}-D input {layouts(self.nd + 2)}, "
                f"got shape {tuple(x.shape)}"
            )
        channels = x.shape[-self.nd - 1]
        if channels != self.in_channels:
            raise ValueError(
                f"{self._describe()}: input has {channels} channels, expected "
                f"{self.in_channels} (input shape {tuple(x.shape)})"
            )
        return x

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0,) * self.nd, "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution layer (cross-correlation) over (N, C_in, H, W) inputs; weight
    (out_channels, in_channels/groups, kh, kw), as torch.nn.Conv2d."""

    nd = 2

    def forward(self, input: Tensor) -> Tensor:
        x = self._check(input)
        return conv2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
        )


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C_in, L) inputs; weight (out, in/groups, k)."""

    nd = 1

    def forward(self, input: Tensor) -> Tensor:
        x = self._check(input)
        return conv1d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
        )


class Conv3d(_ConvNd):
    """3-D convolution layer (cross-correlation) over (N, C_in, D, H, W) or (C_in, D, H, W)
    inputs; weight (out_channels, in_channels/groups, kd, kh, kw), as torch.nn.Conv3d."""

    nd = 3

    def forward(self, input: Tensor) -> Tensor:
        x = self._check(input)
        return conv3d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
        )


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution, the adjoint of Conv2d; weight (in_channels,
    out_channels/groups, kh, kw). Output size (i−1)·s − 2p + d·(k−1) + output_padding + 1;
    `forward(x, output_size=(H, W))` picks the output_padding that reaches that size."""

    nd = 2
    transposed = True

    def forward(
        self, input: Tensor, output_size: int | tuple[int | None, ...] | None = None
    ) -> Tensor:
        x = self._check(input)
        return conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
            output_size,
        )


class ConvTranspose1d(_ConvNd):
    """1-D transposed convolution over (N, C_in, L); weight (in, out/groups, k)."""

    nd = 1
    transposed = True

    def forward(
        self, input: Tensor, output_size: int | tuple[int | None, ...] | None = None
    ) -> Tensor:
        x = self._check(input)
        return conv_transpose1d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
            output_size,
        )


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]
